using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace PSContainers.Tests.Module;

/// <summary>
/// Two PowerShell remoting endpoints over SSH on this machine, named `a` and `b` as docs/remoting.md names its hosts.
/// Each is Debian's OpenSSH server (/usr/sbin/sshd), started by the test in the foreground on 127.0.0.1 at a free
/// high port, with a throwaway host key, the test's own authorized key, and `Subsystem powershell &lt;pwsh&gt; -sshs
/// -NoLogo`; `SetEnv` gives each its own depot and cgroup root and puts the built module on PSModulePath. Nothing of
/// the machine's ssh configuration is read or changed: the client side reaches `a` and `b` through an ssh_config of the
/// test's own (Host entries, as a user's ~/.ssh/config would have them; host keys checked against a known_hosts file of
/// the test's own), passed to the `ssh` that pwsh starts by an `ssh` wrapper first on PATH.
/// Dispose removes every container and cgroup the tests left on either host, kills both servers and deletes the files.
/// </summary>
public sealed class SshHosts : IDisposable
{
    private const string Sshd = "/usr/sbin/sshd";
    private const string PrivSepDir = "/run/sshd";

    private static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(30);

    private readonly List<SshEndpoint> _endpoints = new();
    private readonly bool _madePrivSepDir;

    public SshHosts()
    {
        Dir = Path.Combine(Path.GetTempPath(), "psc-ssh-" + Guid.NewGuid().ToString("N")[..8]);
        string tag = Path.GetFileName(Dir)[8..];
        LocalDepot = Path.Combine(Dir, "local-depot");
        LocalRoot = "psc-xunit-ssh-local-" + tag;
        SkipReason = Missing();
        if (SkipReason is not null)
        {
            return;
        }

        Directory.CreateDirectory(Dir);
        try
        {
            if (!Directory.Exists(PrivSepDir))
            {
                // sshd's privilege separation directory; the machine's own ssh service would make it at its start.
                Directory.CreateDirectory(PrivSepDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                _madePrivSepDir = true;
            }

            UserKey = Path.Combine(Dir, "user_key");
            Tool("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "psc-test-user", "-f", UserKey);
            var config = new StringBuilder();
            var knownHosts = new StringBuilder();
            foreach (string name in new[] { "a", "b" })
            {
                var endpoint = SshEndpoint.Start(name, Path.Combine(Dir, name), $"psc-xunit-ssh-{name}-{tag}", UserKey + ".pub");
                _endpoints.Add(endpoint);
                config.Append($"""
                    Host {name}
                      HostName 127.0.0.1
                      Port {endpoint.Port}
                      User {Environment.UserName}
                      IdentityFile {UserKey}
                      IdentitiesOnly yes
                      UserKnownHostsFile {Path.Combine(Dir, "known_hosts")}
                      GlobalKnownHostsFile /dev/null
                      StrictHostKeyChecking yes
                      BatchMode yes
                      ConnectTimeout 10
                      LogLevel ERROR

                    """);
                knownHosts.Append($"[127.0.0.1]:{endpoint.Port} {endpoint.HostPublicKey}\n");
            }

            File.WriteAllText(Path.Combine(Dir, "known_hosts"), knownHosts.ToString());
            SshConfig = Path.Combine(Dir, "ssh_config");
            File.WriteAllText(SshConfig, config.ToString());
            string bin = Path.Combine(Dir, "bin");
            Directory.CreateDirectory(bin);
            string wrapper = Path.Combine(bin, "ssh");
            File.WriteAllText(wrapper, $"#!/bin/sh\nexec '{Which("ssh")}' -F '{SshConfig}' \"$@\"\n");
            File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            WrapperDir = bin;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Why the tests cannot run here (not root, or the OpenSSH server or client is not installed), or null.</summary>
    public string? SkipReason { get; }

    public string Dir { get; }

    public SshEndpoint A => _endpoints[0];

    public SshEndpoint B => _endpoints[1];

    public IReadOnlyList<SshEndpoint> Endpoints => _endpoints;

    /// <summary>The private key the endpoints accept.</summary>
    public string UserKey { get; } = "";

    /// <summary>The client configuration with the Host entries `a` and `b`.</summary>
    public string SshConfig { get; } = "";

    /// <summary>The known_hosts file that holds both endpoints' host keys.</summary>
    public string KnownHosts => Path.Combine(Dir, "known_hosts");

    private string WrapperDir { get; } = "";

    /// <summary>The depot and cgroup root of "your machine", the local session the tests run Invoke-Command from.</summary>
    public string LocalDepot { get; }

    public string LocalRoot { get; }

    /// <summary>
    /// Runs a script in a new local pwsh, the client: PSContainers imported unless <paramref name="import"/> is false
    /// (its views render the copies), the local depot and cgroup root its own, and with <paramref name="hostNames"/>
    /// the names `a` and `b` reachable over SSH.
    /// </summary>
    public ShellResult Run(string script, TimeSpan? timeout = null, bool hostNames = true, bool import = true)
    {
        var env = new Dictionary<string, string?>
        {
            ["PSCONTAINERS_DEPOT"] = LocalDepot,
            ["PSCONTAINERS_CGROUP_ROOT"] = LocalRoot,
        };
        if (hostNames)
        {
            env["PATH"] = WrapperDir + ":" + Environment.GetEnvironmentVariable("PATH");
        }
        return Pwsh.Run(
            ["-NoProfile", "-NonInteractive", "-Command", "$ErrorActionPreference = 'Stop'\n" + (import ? "Import-Module PSContainers\n" : "") + script],
            environment: env, timeout: timeout ?? TimeSpan.FromSeconds(120));
    }

    /// <summary>Removes every container and cgroup on both hosts and on the local side (each seen locally, through its depot and root).</summary>
    public ShellResult Clean()
    {
        var script = new StringBuilder();
        foreach (var (depot, root) in _endpoints.Select(e => (e.Depot, e.CGroupRoot)).Append((LocalDepot, LocalRoot)))
        {
            script.Append($$"""
                $env:PSCONTAINERS_DEPOT = '{{depot}}'; $env:PSCONTAINERS_CGROUP_ROOT = '{{root}}'
                Get-Container | Remove-Container -Force -Confirm:$false
                if (Get-CGroup -Path /{{root}} -ErrorAction SilentlyContinue) { Remove-CGroup -Path /{{root}} -Recurse -Force -Confirm:$false }

                """);
        }
        return Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", script.ToString()], timeout: TimeSpan.FromSeconds(90));
    }

    public void Dispose()
    {
        try
        {
            if (_endpoints.Count > 0)
            {
                Clean();
            }
        }
        finally
        {
            foreach (var e in _endpoints)
            {
                e.Dispose();
            }
            if (_madePrivSepDir)
            {
                try
                {
                    Directory.Delete(PrivSepDir);
                }
                catch (IOException)
                {
                    // Not empty any more: something else uses it now; leave it.
                }
            }
            if (Directory.Exists(Dir))
            {
                Directory.Delete(Dir, recursive: true);
            }
        }
    }

    private static string? Missing()
    {
        if (Environment.UserName != "root")
        {
            return "needs root: the endpoints start containers and make cgroups, and sshd runs as root";
        }
        if (!File.Exists(Sshd))
        {
            return $"{Sshd} is missing: install Debian's openssh-server (the test starts its own sshd; the machine's ssh service is not used)";
        }
        foreach (string tool in new[] { "ssh", "ssh-keygen" })
        {
            if (Which(tool) is null)
            {
                return $"{tool} is missing: install Debian's openssh-client";
            }
        }
        return null;
    }

    internal static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);

    /// <summary>Runs a tool to its end, within <see cref="ToolTimeout"/>; a failure throws with its output.</summary>
    internal static string Tool(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(Which(tool) ?? tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(ToolTimeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(ToolTimeout);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {ToolTimeout.TotalSeconds} s");
        }
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        }
        return stdout.Result;
    }

    internal static string SshdPath => Sshd;
}

/// <summary>One sshd of the test's own: a PowerShell remoting endpoint with its own depot and cgroup root.</summary>
public sealed class SshEndpoint : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);

    private readonly StringBuilder _log = new();
    private Process? _sshd;

    private SshEndpoint(string name, string dir, string cgroupRoot)
    {
        Name = name;
        Dir = dir;
        Depot = Path.Combine(dir, "depot");
        CGroupRoot = cgroupRoot;
    }

    /// <summary>The name the client uses (`a`, `b`): the Host entry, and the PSComputerName of what comes back.</summary>
    public string Name { get; }

    public string Dir { get; }

    public int Port { get; private set; }

    /// <summary>PSCONTAINERS_DEPOT of the remote sessions.</summary>
    public string Depot { get; }

    /// <summary>PSCONTAINERS_CGROUP_ROOT of the remote sessions, without the leading '/'.</summary>
    public string CGroupRoot { get; }

    /// <summary>The host key's public half, as known_hosts holds it.</summary>
    public string HostPublicKey { get; private set; } = "";

    /// <summary>What sshd wrote (-e: its log on stderr).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    internal static SshEndpoint Start(string name, string dir, string cgroupRoot, string authorizedKey)
    {
        var e = new SshEndpoint(name, dir, cgroupRoot);
        try
        {
            e.Start(authorizedKey);
            return e;
        }
        catch
        {
            e.Dispose();
            throw;
        }
    }

    private void Start(string authorizedKey)
    {
        Directory.CreateDirectory(Dir);
        string hostKey = Path.Combine(Dir, "host_key");
        SshHosts.Tool("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "psc-test-host-" + Name, "-f", hostKey);
        string[] pub = File.ReadAllText(hostKey + ".pub").Trim().Split(' ');
        HostPublicKey = pub[0] + " " + pub[1];
        File.Copy(authorizedKey, Path.Combine(Dir, "authorized_keys"));

        // What the remote pwsh needs from its environment: the built module, the depot and root of this host, and the
        // .NET runtime the pwsh apphost runs on (sshd passes on almost nothing of the test's environment).
        var env = new List<(string, string)>
        {
            ("PSModulePath", Pwsh.OutDir),
            ("PSCONTAINERS_DEPOT", Depot),
            ("PSCONTAINERS_CGROUP_ROOT", CGroupRoot),
            ("POWERSHELL_TELEMETRY_OPTOUT", "1"),
            ("POWERSHELL_UPDATECHECK", "Off"),
        };
        string dotnetRoot = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        if (File.Exists(Path.Combine(dotnetRoot, "dotnet")))
        {
            env.Add(("DOTNET_ROOT", dotnetRoot));
        }

        for (int attempt = 1; ; attempt++)
        {
            Port = FreePort();
            string config = Path.Combine(Dir, "sshd_config");
            File.WriteAllText(config, $"""
                ListenAddress 127.0.0.1
                Port {Port}
                HostKey {hostKey}
                PidFile {Path.Combine(Dir, "sshd.pid")}
                AuthorizedKeysFile {Path.Combine(Dir, "authorized_keys")}
                AuthenticationMethods publickey
                PubkeyAuthentication yes
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                PermitRootLogin prohibit-password
                StrictModes no
                AllowTcpForwarding no
                X11Forwarding no
                PrintMotd no
                LoginGraceTime 30
                SetEnv {string.Join(' ', env.Select(v => $"\"{v.Item1}={v.Item2}\""))}
                Subsystem powershell {Pwsh.Executable} -sshs -NoLogo

                """);

            var psi = new ProcessStartInfo(SshHosts.SshdPath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { "-D", "-e", "-f", config })
            {
                psi.ArgumentList.Add(a);
            }
            _sshd = new Process { StartInfo = psi };
            _sshd.OutputDataReceived += (_, d) => Append(d.Data);
            _sshd.ErrorDataReceived += (_, d) => Append(d.Data);
            _sshd.Start();
            _sshd.BeginOutputReadLine();
            _sshd.BeginErrorReadLine();
            _sshd.StandardInput.Close();

            var deadline = DateTime.UtcNow + StartTimeout;
            while (DateTime.UtcNow < deadline && !_sshd.HasExited && !Log.Contains("Server listening on", StringComparison.Ordinal))
            {
                Thread.Sleep(50);
            }
            if (!_sshd.HasExited && Log.Contains("Server listening on", StringComparison.Ordinal))
            {
                return;
            }
            Stop();
            // The port was taken between probing and binding: another port, a few times.
            if (attempt >= 5 || !Log.Contains("bind", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"sshd for '{Name}' did not start within {StartTimeout.TotalSeconds} s:\n{Log}");
            }
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.Append(line).Append('\n');
            }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private void Stop()
    {
        if (_sshd is null)
        {
            return;
        }
        try
        {
            if (!_sshd.HasExited)
            {
                // The listener and what it forked for connections still open (their sshd and remote pwsh).
                _sshd.Kill(entireProcessTree: true);
            }
            _sshd.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _sshd.Dispose();
            _sshd = null;
        }
    }

    public void Dispose() => Stop();
}
