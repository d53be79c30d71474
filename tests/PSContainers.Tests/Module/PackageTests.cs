using System.Diagnostics;
using System.IO.Compression;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace PSContainers.Tests.Module;

/// <summary>
/// Runs `build.ps1 -Task Package` once in real pwsh (-NoBuild: it lays out what the build made, so the assemblies other
/// tests have loaded are not rebuilt under them) and gives the tests its output. The build runs with a scratch HOME,
/// so PSResourceGet (Compress-PSResource makes the .nupkg) writes its settings there and not in the machine's HOME.
/// </summary>
public sealed class PackageFixture : IDisposable
{
    public const string ProjectUri = "https://example.invalid/pscontainers";

    private readonly string buildHome = Path.Combine(Path.GetTempPath(), "psc-pkg-build-" + Guid.NewGuid().ToString("N")[..8]);

    public PackageFixture()
    {
        // What the machine's PSResourceGet settings were before any test here ran pwsh.
        MachineRepositories = PackageTests.ReadIfExists(PackageTests.MachineRepositoryFile);
        Directory.CreateDirectory(buildHome);
        Build = Pwsh.Run(
            ["-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), "-Task", "Package", "-NoBuild", "-ProjectUri", ProjectUri],
            environment: PackageTests.ScratchHome(buildHome), workingDirectory: Repo.Root, timeout: TimeSpan.FromMinutes(3));
        string psd1 = File.ReadAllText(Path.Combine(Repo.Root, "module", "PSContainers.psd1"));
        Version = System.Text.RegularExpressions.Regex.Match(psd1, @"ModuleVersion\s*=\s*'([0-9.]+)'").Groups[1].Value;
        Layout = Path.Combine(Repo.Out, "package", "PSContainers", Version);
        Nupkg = Path.Combine(Repo.Out, "package", $"PSContainers.{Version}.nupkg");
    }

    public ShellResult Build { get; }

    public string Version { get; }

    /// <summary>out/package/PSContainers/&lt;version&gt;/</summary>
    public string Layout { get; }

    /// <summary>out/package/PSContainers.&lt;version&gt;.nupkg</summary>
    public string Nupkg { get; }

    /// <summary>The machine's PSResourceRepository.xml before the tests (null when there was none).</summary>
    public string? MachineRepositories { get; }

    public void AssertBuilt() => Assert.True(Build.ExitCode == 0 && File.Exists(Nupkg), Build.ToString());

    public void Dispose()
    {
        if (Directory.Exists(buildHome))
        {
            Directory.Delete(buildHome, true);
        }
    }
}

/// <summary>
/// The Gallery package: its layout, its manifest, its .nupkg, and the module installed from it by PSResourceGet
/// (Install-PSResource from a folder repository into a scratch HOME) and run from there.
/// </summary>
public sealed class PackageTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    private static readonly string[] Rids = ["linux-x64", "linux-arm64"];

    private static string ThisRid => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

    /// <summary>Where PSResourceGet keeps the registered repositories of this machine's user (XDG_DATA_HOME, else ~/.local/share).</summary>
    internal static string MachineRepositoryFile =>
        Path.Combine(
            Environment.GetEnvironmentVariable("XDG_DATA_HOME") is { Length: > 0 } data
                ? data
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share"),
            "PSResourceGet", "PSResourceRepository.xml");

    internal static string? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    /// <summary>
    /// The environment of a pwsh whose user folders are all under <paramref name="home"/>: PSResourceGet's repository
    /// list and its CurrentUser scope (~/.local/share/PSResourceGet, ~/.local/share/powershell/Modules), pwsh's cache.
    /// </summary>
    internal static Dictionary<string, string?> ScratchHome(string home) => new()
    {
        ["HOME"] = home,
        ["XDG_DATA_HOME"] = null,
        ["XDG_CONFIG_HOME"] = null,
        ["XDG_CACHE_HOME"] = null,
    };

    [Fact]
    public void TheLayoutHasTheModuleAndPscInitForBothArchitectures_StaticAndForTheRightMachine()
    {
        package.AssertBuilt();
        foreach (string f in new[] { "PSContainers.psd1", "PSContainers.dll", "PSContainers.Format.ps1xml", "PSContainers.Types.ps1xml",
                     "en-US/PSContainers.dll-Help.xml", "en-US/about_PSContainers.help.txt", "LICENSE" })
        {
            Assert.True(File.Exists(Path.Combine(package.Layout, f)), $"{f} is missing from the package");
        }
        // The license the manifest names (Copyright: MIT) is the repository's own file.
        Assert.Equal(File.ReadAllText(Path.Combine(Repo.Root, "LICENSE")), File.ReadAllText(Path.Combine(package.Layout, "LICENSE")));
        Assert.StartsWith("MIT License", File.ReadAllText(Path.Combine(package.Layout, "LICENSE")), StringComparison.Ordinal);
        // The per-architecture files live only under runtimes/<rid>/ (the top-level psc-init of a build is this machine's);
        // the engine is the same for every architecture.
        Assert.False(File.Exists(Path.Combine(package.Layout, "psc-init")));
        Assert.True(File.Exists(Path.Combine(package.Layout, "PSContainers.Engine.dll")));
        foreach (string rid in Rids)
        {
            foreach (string f in new[] { "psc-init", "Tmds.LibC.dll" })
            {
                Assert.True(File.Exists(Path.Combine(package.Layout, "runtimes", rid, f)), $"runtimes/{rid}/{f} is missing");
            }
        }
        // The arm64 one is built by Debian's cross compiler: both are static ELF files for their machine.
        Assert.Matches("ELF 64-bit LSB .*x86-64.*statically linked", FileDescription(Path.Combine(package.Layout, "runtimes", "linux-x64", "psc-init")));
        Assert.Matches("ELF 64-bit LSB .*ARM aarch64.*statically linked", FileDescription(Path.Combine(package.Layout, "runtimes", "linux-arm64", "psc-init")));
    }

    [Fact]
    public void TheZipHoldsTheLayoutUnderPSContainersVersion_WithPscInitExecutable()
    {
        package.AssertBuilt();
        using var zip = ZipFile.OpenRead(Path.Combine(Repo.Out, $"PSContainers-{package.Version}.zip"));
        var expected = Directory.GetFiles(package.Layout, "*", SearchOption.AllDirectories)
            .Select(f => $"PSContainers/{package.Version}/" + Path.GetRelativePath(package.Layout, f)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, zip.Entries.Select(e => e.FullName).Where(n => !n.EndsWith('/')).Order(StringComparer.Ordinal));
        foreach (string rid in Rids)
        {
            var init = zip.GetEntry($"PSContainers/{package.Version}/runtimes/{rid}/psc-init")!;
            Assert.True(((init.ExternalAttributes >> 16) & 0b001_000_000) != 0, $"runtimes/{rid}/psc-init is not executable in the zip");
        }
    }

    [Fact]
    public void TestModuleManifestPassesOnTheProducedManifest_WithTheGalleryFields()
    {
        package.AssertBuilt();
        using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
        ps.AddCommand("Test-ModuleManifest").AddParameter("Path", Path.Combine(package.Layout, "PSContainers.psd1"));
        var info = Assert.Single(ps.Invoke());
        Assert.False(ps.HadErrors, string.Join("\n", ps.Streams.Error));
        var module = (PSModuleInfo)info.BaseObject;
        Assert.Equal(package.Version, module.Version.ToString(3));
        Assert.Equal(["Core"], module.CompatiblePSEditions);
        Assert.Equal(new Version(7, 4), module.PowerShellVersion);
        Assert.Equal(34, module.ExportedCmdlets.Count);
        Assert.Empty(module.ExportedFunctions);
        Assert.Empty(module.ExportedAliases);
        Assert.Equal(new Uri(PackageFixture.ProjectUri), module.ProjectUri);
        Assert.Equal(new Uri(PackageFixture.ProjectUri + "/blob/main/LICENSE"), module.LicenseUri);
        Assert.Contains("cgroups", module.Tags);
        Assert.False(string.IsNullOrWhiteSpace(module.ReleaseNotes));

        // The manifest text itself: FunctionsToExport is an empty list, not '*' or missing.
        string text = File.ReadAllText(Path.Combine(package.Layout, "PSContainers.psd1"));
        Assert.Matches(@"FunctionsToExport\s*=\s*@\(\)", text);
        Assert.Matches(@"AliasesToExport\s*=\s*@\(\)", text);
    }

    [Fact]
    public void TheNupkgHoldsTheModuleAtItsRootAndANuspecFromTheManifest()
    {
        package.AssertBuilt();
        using var zip = ZipFile.OpenRead(package.Nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToList();

        // The module's files at the root, exactly those of the layout, beside NuGet's own parts.
        var moduleFiles = Directory.GetFiles(package.Layout, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(package.Layout, f)).Order(StringComparer.Ordinal).ToList();
        var packageParts = names.Where(n => n is "PSContainers.nuspec" or "_rels/.rels" or "[Content_Types].xml" || n.StartsWith("package/services/metadata/", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, packageParts.Count);
        Assert.Equal(moduleFiles, names.Except(packageParts).Order(StringComparer.Ordinal).ToList());

        // The nuspec: what the Gallery and Install-PSResource read, taken from the manifest.
        XNamespace ns = "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd";
        var nuspec = XDocument.Load(zip.GetEntry("PSContainers.nuspec")!.Open());
        var meta = nuspec.Root!.Element(ns + "metadata")!;
        Assert.Equal("PSContainers", meta.Element(ns + "id")!.Value);
        Assert.Equal(package.Version, meta.Element(ns + "version")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "authors")!.Value));
        Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")!.Value));
        Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "releaseNotes")!.Value));
        Assert.Equal(PackageFixture.ProjectUri, meta.Element(ns + "projectUrl")!.Value);
        Assert.Equal(PackageFixture.ProjectUri + "/blob/main/LICENSE", meta.Element(ns + "licenseUrl")!.Value);
        Assert.Equal("false", meta.Element(ns + "requireLicenseAcceptance")!.Value);
        var tags = meta.Element(ns + "tags")!.Value.Split(' ');
        Assert.Contains("PSModule", tags);
        Assert.Contains("Linux", tags);
        Assert.Contains("cgroups", tags);
        Assert.Equal(tags.Length, tags.Distinct().Count());
    }

    [SkippableFact]
    public void InstallPSResourceFromAFolderRepository_ImportsByNameInANewPwshRunsAContainerAndUninstalls()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        package.AssertBuilt();
        string tag = Guid.NewGuid().ToString("N")[..8];
        string tmp = Path.Combine(Path.GetTempPath(), "psc-pkg-" + tag);
        string home = Path.Combine(tmp, "home");
        string repository = Path.Combine(tmp, "repository");
        string published = Path.Combine(tmp, "published");
        string depot = Path.Combine(tmp, "depot");
        string cgroupRoot = "psc-xunit-pkg-" + tag;
        string local = "PscLocal" + tag;
        string second = "PscPublish" + tag;
        // The user's own module folder in the scratch HOME: Install-PSResource's CurrentUser scope on Linux.
        string userModules = Path.Combine(home, ".local", "share", "powershell", "Modules");
        string installed = Path.Combine(userModules, "PSContainers", package.Version);
        string nupkgName = Path.GetFileName(package.Nupkg);
        var env = ScratchHome(home);
        env["PSCONTAINERS_DEPOT"] = depot;
        env["PSCONTAINERS_CGROUP_ROOT"] = cgroupRoot;
        env["PSCONTAINERS_INIT"] = null;
        // pwsh's own default module path: the scratch HOME's folder, the shared one, $PSHOME/Modules (not out/).
        env["PSModulePath"] = null;
        try
        {
            Directory.CreateDirectory(home);
            Directory.CreateDirectory(repository);
            Directory.CreateDirectory(published);
            File.Copy(package.Nupkg, Path.Combine(repository, nupkgName));

            // Register, find, install, and publish the same .nupkg to a second folder repository.
            ShellResult install = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", $$"""
                $ErrorActionPreference = 'Stop'
                Register-PSResourceRepository -Name {{local}} -Uri '{{repository}}' -Trusted
                Register-PSResourceRepository -Name {{second}} -Uri '{{published}}' -Trusted
                "repositories=" + ((Get-PSResourceRepository | Where-Object Name -Like 'Psc*' | ForEach-Object Name | Sort-Object) -join ',')
                $found = Find-PSResource -Name PSContainers -Repository {{local}}
                "found=$($found.Name) $($found.Version)"
                "tags=" + ($found.Tags -join ',')
                "cmdlets=" + $found.Includes.Cmdlet.Count
                "project=$($found.ProjectUri)"
                Install-PSResource -Name PSContainers -Repository {{local}}
                $i = Get-InstalledPSResource -Name PSContainers
                "installed=$($i.Version) $($i.InstalledLocation) $($i.Repository)"
                Publish-PSResource -NupkgPath '{{Path.Combine(repository, nupkgName)}}' -Repository {{second}}
                $p = Find-PSResource -Name PSContainers -Repository {{second}}
                "published=$($p.Name) $($p.Version)"
                """], environment: env, timeout: TimeSpan.FromMinutes(2));
            Assert.True(install.ExitCode == 0, install.ToString());
            var lines = KeyValues(install.StdOut);
            Assert.Equal($"{local},{second}", lines["repositories"]);
            Assert.Equal($"PSContainers {package.Version}", lines["found"]);
            Assert.All(new[] { "Linux", "cgroups", "containers" }, t => Assert.Contains(t, lines["tags"].Split(',')));
            Assert.Equal("34", lines["cmdlets"]);
            Assert.Equal(PackageFixture.ProjectUri, lines["project"]);
            Assert.Equal($"{package.Version} {userModules} {local}", lines["installed"]);
            Assert.Equal($"PSContainers {package.Version}", lines["published"]);
            Assert.True(File.Exists(Path.Combine(published, nupkgName)), "Publish-PSResource put no .nupkg in the second repository");

            // The repositories are registered in the scratch HOME only.
            string scratchRepositories = File.ReadAllText(Path.Combine(home, ".local", "share", "PSResourceGet", "PSResourceRepository.xml"));
            Assert.Contains(local, scratchRepositories);
            Assert.Contains(second, scratchRepositories);

            // What Install-PSResource left: the module files, without the package's own parts; psc-init for both
            // machines, without its executable bit (NuGet stores no Unix modes).
            Assert.True(File.Exists(Path.Combine(installed, "PSContainers.psd1")), $"{installed} holds no manifest");
            foreach (string gone in new[] { "PSContainers.nuspec", "[Content_Types].xml", "_rels", "package" })
            {
                Assert.False(File.Exists(Path.Combine(installed, gone)) || Directory.Exists(Path.Combine(installed, gone)), $"{gone} was left in the module folder");
            }
            foreach (string rid in Rids)
            {
                string init = Path.Combine(installed, "runtimes", rid, "psc-init");
                Assert.Matches($"ELF 64-bit LSB .*{(rid == "linux-x64" ? "x86-64" : "ARM aarch64")}.*statically linked", FileDescription(init));
            }

            // A new pwsh with the same HOME finds the module by name, and it runs containers with its own psc-init:
            // the one for this machine's architecture, from runtimes/<rid>/.
            ShellResult run = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", """
                $ErrorActionPreference = 'Stop'
                $m = Import-Module PSContainers -PassThru
                "base=$($m.ModuleBase)"
                "version=$($m.Version)"
                "cmdlets=$($m.ExportedCmdlets.Count)"
                $out = New-Container -Name pkg-wait /bin/sh -ArgumentList '-c', 'echo installed-and-running; cat /proc/1/comm; exit 3' | Start-Container -Wait
                "output=" + ($out -join '|')
                "exit=$LASTEXITCODE"
                $c = New-Container -Name pkg /bin/sleep -ArgumentList 30 -MemoryLimit 64MB | Start-Container -PassThru
                "state=$($c.State)"
                "init=" + [System.IO.File]::ResolveLinkTarget("/proc/$($c.InitPid)/exe", $false).FullName
                "limit=" + (Get-CGroup -Path pkg).MemoryLimit
                # Loaded by the first container: the copy for this architecture.
                "libc=" + ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Tmds.LibC' } | ForEach-Object Location)
                "stopped=" + (Stop-Container -Name pkg -Force -PassThru).State
                Get-Container | Remove-Container -Force -Confirm:$false
                "left=" + @(Get-Container).Count
                """], environment: env, timeout: TimeSpan.FromSeconds(90));
            Assert.True(run.ExitCode == 0, run.ToString());
            lines = KeyValues(run.StdOut);
            Assert.Equal(installed, lines["base"]);
            Assert.Equal(package.Version, lines["version"]);
            Assert.Equal("34", lines["cmdlets"]);
            Assert.Equal(Path.Combine(installed, "runtimes", ThisRid, "Tmds.LibC.dll"), lines["libc"]);
            Assert.Equal("installed-and-running|psc-init", lines["output"]);
            Assert.Equal("3", lines["exit"]);
            Assert.Equal("Running", lines["state"]);
            Assert.Equal(Path.Combine(installed, "runtimes", ThisRid, "psc-init"), lines["init"]);
            Assert.Equal((64L << 20).ToString(), lines["limit"]);
            Assert.Equal("Exited", lines["stopped"]);
            Assert.Equal("0", lines["left"]);

            // Uninstall-PSResource in a new pwsh: the module folder is gone and pwsh no longer finds the module.
            ShellResult uninstall = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", """
                $ErrorActionPreference = 'Stop'
                Uninstall-PSResource -Name PSContainers
                "installed=" + @(Get-InstalledPSResource -Name PSContainers -ErrorAction SilentlyContinue).Count
                "available=" + @(Get-Module -ListAvailable -Name PSContainers).Count
                """], environment: env, timeout: TimeSpan.FromSeconds(60));
            Assert.True(uninstall.ExitCode == 0, uninstall.ToString());
            lines = KeyValues(uninstall.StdOut);
            Assert.Equal("0", lines["installed"]);
            Assert.Equal("0", lines["available"]);
            Assert.False(Directory.Exists(installed), $"{installed} is still there after Uninstall-PSResource");

            // Nothing of the machine's PSResourceGet settings changed: the repositories exist in the scratch HOME only.
            string? machine = ReadIfExists(MachineRepositoryFile);
            if (package.MachineRepositories is not null)
            {
                Assert.Equal(package.MachineRepositories, machine);
            }
            Assert.DoesNotContain(tag, machine ?? "");
        }
        finally
        {
            // Containers and cgroups of this test's depot and root, with the built module (the installed one may be gone).
            Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
                $"Get-Container | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue; Remove-CGroup -Path /{cgroupRoot} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue"],
                environment: new Dictionary<string, string?> { ["PSCONTAINERS_DEPOT"] = depot, ["PSCONTAINERS_CGROUP_ROOT"] = cgroupRoot, ["PSCONTAINERS_INIT"] = null },
                timeout: TimeSpan.FromSeconds(60));
            foreach (string h in Directory.GetDirectories("/sys/fs/cgroup").Select(d => Path.Combine(d, cgroupRoot)).Where(Directory.Exists))
            {
                Directory.Delete(h);
            }
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, true);
            }
        }
    }

    /// <summary>The "key=value" lines of a script's output.</summary>
    private static Dictionary<string, string> KeyValues(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Contains('=')).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);

    private static string FileDescription(string path)
    {
        var psi = new ProcessStartInfo("file", ["-b", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.Trim();
    }
}
