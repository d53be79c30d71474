using System.Diagnostics;
using PSContainers.Native;

namespace PSContainers.Containers;

/// <summary>
/// Debian's network tools (ip and tc from iproute2, nft from nftables, conntrack, util-linux's unshare and nsenter)
/// run as child processes; with a host namespace file, inside it through nsenter. Each call waits at most 30 s.
/// </summary>
internal static class NetTools
{
    private static readonly string[] Dirs = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

    /// <summary>The tool's full path, or null.</summary>
    public static string? Find(string tool) =>
        Dirs.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>The tool's full path, else NetworkToolNotFound naming the package.</summary>
    public static string Require(string tool, string package) => Find(tool)
        ?? throw new PscException("NetworkToolNotFound", ErrorKind.ObjectNotFound,
            $"Bridge networking needs '{tool}' (Debian's {package} package), which was not found.", tool);

    /// <summary>Runs the tool (in <paramref name="netns"/> when given) and returns its exit code, stdout and stderr.</summary>
    public static (int Exit, string Out, string Err) Run(string? netns, string tool, string package, IEnumerable<string> args, string? stdin = null)
    {
        string path = Require(tool, package);
        var psi = new ProcessStartInfo(netns is null ? path : Require("nsenter", "util-linux"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        if (netns is not null)
        {
            psi.ArgumentList.Add("--net=" + netns);
            psi.ArgumentList.Add(path);
        }
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["LC_ALL"] = "C";
        using var p = Process.Start(psi) ?? throw new PscException("NetworkCommandFailed", ErrorKind.NotSpecified, $"Could not start {path}.", path);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }
        if (!p.WaitForExit(30_000))
        {
            ContainerManager.TryQuietly(() => p.Kill());
            throw new PscException("NetworkCommandTimeout", ErrorKind.OperationTimeout, $"{tool} {string.Join(' ', args)} did not end within 30 s.", tool);
        }
        p.WaitForExit();
        return (p.ExitCode, output.Result, error.Result);
    }

    /// <summary>Runs the tool and returns its stdout; a failure is NetworkCommandFailed with the command and what it said.</summary>
    public static string Check(string? netns, string tool, string package, IEnumerable<string> args, string? stdin = null)
    {
        var list = args.ToList();
        var (exit, output, error) = Run(netns, tool, package, list, stdin);
        if (exit != 0)
        {
            string said = (error.Trim() + " " + output.Trim()).Trim();
            string command = tool + " " + string.Join(' ', list) + (stdin is null ? "" : " <<< " + stdin.Trim().Replace("\n", "; ", StringComparison.Ordinal));
            throw new PscException("NetworkCommandFailed", ErrorKind.NotSpecified, $"'{command}' failed (exit {exit}): {said}", tool);
        }
        return output;
    }
}
