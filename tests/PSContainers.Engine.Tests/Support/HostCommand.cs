using System.Diagnostics;

namespace PSContainers.Engine.Tests.Support;

/// <summary>Runs a command of the machine's (mount, umount) for a test's setup; a failure fails the test with its stderr.</summary>
public static class HostCommand
{
    public static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {string.Join(' ', args)}: {err}");
    }
}
