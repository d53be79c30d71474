using System.Text;
using PSContainers.Containers;
using PSContainers.Engine.Tests.Support;
using PSContainers.Native;

namespace PSContainers.Engine.Tests.Containers;

/// <summary>
/// Which program runs a -ScriptBlock container, on real files: a $PSHOME, a shared .NET install and roots made by
/// the test (the programs in them are empty files; nothing is run here, the Pester suite runs real pwsh).
/// </summary>
public sealed class PowerShellProgramTests : IDisposable
{
    private readonly TempDir _dir = new();

    private string Home => Path.Combine(_dir.Path, "pshome");

    private string DotnetRoot => Path.Combine(_dir.Path, "dotnet");

    private string RuntimeDir => Path.Combine(DotnetRoot, "shared", "Microsoft.NETCore.App", "10.0.1") + "/";

    public PowerShellProgramTests()
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(RuntimeDir);
        Directory.CreateDirectory(Path.Combine(DotnetRoot, "host", "fxr"));
        Touch(Path.Combine(DotnetRoot, "dotnet"), executable: true);
        Touch(Path.Combine(Home, "pwsh.dll"));
    }

    public void Dispose() => _dir.Dispose();

    private static void Touch(string path, bool executable = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, executable ? (UnixFileMode)0x1ED /* 0755 */ : (UnixFileMode)0x1A4 /* 0644 */);
    }

    private PowerShellProgram For(string? root = null, string? processPath = null, string? path = "", string? optOut = null) =>
        PowerShellProgram.For("'hi'", Home, root, RuntimeDir, processPath ?? "/usr/bin/pwsh-elsewhere", path, optOut);

    [Fact]
    public void The_apphost_in_PSHOME_runs_the_block_with_the_runtime_of_the_session()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        var p = For(processPath: Path.Combine(DotnetRoot, "dotnet"));
        Assert.Equal(Path.Combine(Home, "pwsh"), p.FilePath);
        Assert.Equal(new[] { "-NoProfile", "-NonInteractive", "-OutputFormat", "Text", "-EncodedCommand" }, p.ArgumentList[..^1]);
        Assert.Equal("'hi'", Encoding.Unicode.GetString(Convert.FromBase64String(p.ArgumentList[^1])));
        Assert.Equal(DotnetRoot, p.Environment["DOTNET_ROOT"]);
        Assert.Equal("1", p.Environment["NO_COLOR"]);
        Assert.False(p.Environment.ContainsKey("POWERSHELL_TELEMETRY_OPTOUT"));
    }

    [Fact]
    public void Without_an_apphost_the_dotnet_of_the_process_runs_pwsh_dll()
    {
        string muxer = Path.Combine(_dir.Path, "elsewhere", "dotnet");
        var p = For(processPath: muxer);
        Assert.Equal(muxer, p.FilePath);
        Assert.Equal(Path.Combine(Home, "pwsh.dll"), p.ArgumentList[0]);
        Assert.Equal("-NoProfile", p.ArgumentList[1]);
    }

    [Fact]
    public void Without_an_apphost_and_not_under_dotnet_the_dotnet_of_the_shared_install_runs_pwsh_dll()
    {
        Touch(Path.Combine(Home, "pwsh")); // there, but not executable
        var p = For();
        Assert.Equal(Path.Combine(DotnetRoot, "dotnet"), p.FilePath);
        Assert.Equal(Path.Combine(Home, "pwsh.dll"), p.ArgumentList[0]);
    }

    [Fact]
    public void A_pwsh_on_PATH_is_the_last_resort_and_its_absence_is_NoPowerShellForScriptBlock()
    {
        File.Delete(Path.Combine(Home, "pwsh.dll"));
        string bin = Path.Combine(_dir.Path, "bin");
        Touch(Path.Combine(bin, "pwsh"), executable: true);
        Assert.Equal(Path.Combine(bin, "pwsh"), For(path: "/nonexistent:" + bin).FilePath);
        var e = Assert.Throws<PscException>(() => For(path: "/nonexistent"));
        Assert.Equal("NoPowerShellForScriptBlock", e.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains(Home, e.Message);
    }

    [Fact]
    public void A_self_contained_PowerShell_gets_no_DOTNET_ROOT()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        var p = PowerShellProgram.For("1", Home, null, Home + "/", Path.Combine(Home, "pwsh"), "", "1");
        Assert.Equal(Path.Combine(Home, "pwsh"), p.FilePath);
        Assert.False(p.Environment.ContainsKey("DOTNET_ROOT"));
        Assert.Equal("1", p.Environment["POWERSHELL_TELEMETRY_OPTOUT"]);
    }

    [Theory]
    [InlineData("/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/", "/usr/share/dotnet")]
    [InlineData("/home/a/.dotnet/shared/Microsoft.NETCore.App/8.0.1", "/home/a/.dotnet")]
    [InlineData("/opt/microsoft/powershell/7/", null)]
    [InlineData("/shared/Microsoft.AspNetCore.App/10.0.1/", null)]
    public void The_shared_install_is_found_from_the_runtime_directory(string runtimeDir, string? expected) =>
        Assert.Equal(expected, PowerShellProgram.SharedRuntimeRoot(runtimeDir));

    [Fact]
    public void A_root_without_pwsh_is_PowerShellNotInRoot_naming_the_path()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        string root = Path.Combine(_dir.Path, "root");
        Directory.CreateDirectory(Path.Combine(root, "usr", "bin"));
        var e = Assert.Throws<PscException>(() => For(root: root));
        Assert.Equal("PowerShellNotInRoot", e.ErrorId);
        Assert.Equal(ErrorKind.ObjectNotFound, e.Kind);
        Assert.Contains($"'{root}'", e.Message);
        Assert.Contains(root + Path.Combine(Home, "pwsh"), e.Message);
    }

    [Fact]
    public void A_root_with_this_pwsh_but_without_the_runtime_names_the_runtime()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        string root = Path.Combine(_dir.Path, "root");
        Touch(root + Path.Combine(Home, "pwsh"), executable: true);
        var e = Assert.Throws<PscException>(() => For(root: root));
        Assert.Equal("PowerShellNotInRoot", e.ErrorId);
        Assert.Contains($"the .NET runtime at '{DotnetRoot}'", e.Message);

        Directory.CreateDirectory(root + Path.Combine(DotnetRoot, "host", "fxr"));
        var p = For(root: root);
        Assert.Equal(Path.Combine(Home, "pwsh"), p.FilePath);
        Assert.Equal(DotnetRoot, p.Environment["DOTNET_ROOT"]);
    }

    [Fact]
    public void A_root_with_a_pwsh_of_its_own_on_PATH_runs_that_one_without_the_session_runtime()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        string root = Path.Combine(_dir.Path, "root");
        Touch(Path.Combine(root, "usr", "bin", "pwsh"), executable: true);
        var p = For(root: root);
        Assert.Equal("/usr/bin/pwsh", p.FilePath);
        Assert.Equal("-NoProfile", p.ArgumentList[0]);
        Assert.False(p.Environment.ContainsKey("DOTNET_ROOT"));
    }

    [Fact]
    public void A_root_that_does_not_exist_is_left_to_New_Container_to_report()
    {
        Touch(Path.Combine(Home, "pwsh"), executable: true);
        Assert.Equal(Path.Combine(Home, "pwsh"), For(root: Path.Combine(_dir.Path, "nowhere")).FilePath);
    }

    [Theory]
    [InlineData("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n", true)]
    [InlineData("CapEff:\t0000000000000000\n", false)]
    [InlineData("CapEff:\t0000000000200000\n", true)]
    [InlineData("CapEff:\t00000000001fffff\n", false)]
    [InlineData("Name:\tx\n", null)]
    public void CAP_SYS_ADMIN_is_read_from_CapEff(string status, bool? expected) =>
        Assert.Equal(expected, Capabilities.Has(status, Capabilities.SysAdmin));

    [Fact]
    public void This_process_reads_its_own_capabilities()
    {
        Assert.NotNull(Capabilities.Has(Capabilities.SysAdmin));
        if (Sys.EffectiveUid == 0)
        {
            Assert.True(Capabilities.Has(Capabilities.SysAdmin));
        }
    }
}
