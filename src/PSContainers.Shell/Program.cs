namespace PSContainers.Shell;

/// <summary>
/// pscsh: a minimal PowerShell host on the System.Management.Automation engine, for machines
/// without pwsh. The command line follows pwsh's (-Command/-c, -File/-f, -EncodedCommand/-e/-ec,
/// -NoProfile, -NonInteractive, -NoLogo, -NoExit, -WorkingDirectory, -Version, -Help); see
/// <see cref="CommandLine"/> and <see cref="ShellSession"/>.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        CommandLine commandLine = CommandLine.Parse(args, Console.IsInputRedirected);

        if (commandLine.Error is not null)
        {
            Console.Error.WriteLine(commandLine.Error);
            if (commandLine.ShowUsageWithError)
            {
                Console.Out.WriteLine();
                Console.Out.Write(CommandLine.Synopsis);
            }

            return commandLine.ExitCode;
        }

        if (commandLine.ShowVersion)
        {
            Console.Out.WriteLine($"pscsh {ShellHost.ShellVersion} (PowerShell {ShellHost.EngineVersion})");
            return 0;
        }

        if (commandLine.ShowHelp)
        {
            Console.Out.WriteLine();
            Console.Out.Write(CommandLine.Usage);
            return 0;
        }

        using var session = new ShellSession(commandLine);
        try
        {
            return session.Run();
        }
        finally
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }
    }
}
