namespace PSContainers.Tests.Module;

/// <summary>The tests run on the real tools the repository pins, not on whatever a machine happens to have.</summary>
public class ToolchainTests
{
    [Fact]
    public void ThePwshOfTheTests_IsThePinnedTool_AndFindsTheBuiltModuleByName()
    {
        ShellResult r = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
            "$PSVersionTable.PSVersion.ToString(); $PSHOME; (Get-Module -ListAvailable PSContainers).ModuleBase"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        string[] lines = Pwsh.Lines(r.StdOut);
        Assert.Equal(Pwsh.PinnedVersion, lines[0]);
        Assert.Equal(Pwsh.Home, lines[1]);
        Assert.Equal(Repo.ModuleDir, lines[2]);
    }

    [Theory]
    [InlineData("5.9.1")]
    [InlineData("6.2.0")]
    public void ThePesterVersionsTheSuiteRunsWith_AreInTheNuGetCache(string version)
    {
        ShellResult r = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
            $"$p = if ($env:NUGET_PACKAGES) {{ $env:NUGET_PACKAGES }} else {{ Join-Path $HOME .nuget/packages }}; " +
            $"(Import-Module (Join-Path $p pester/{version}/tools/Pester.psd1) -PassThru).Version.ToString()"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(version, Pwsh.Lines(r.StdOut).Last());
    }
}
