using System.Diagnostics;
using System.IO.Compression;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace PSContainers.Tests.Module;

/// <summary>
/// Runs `build.ps1 -Task Package` once (through the project's own host, -NoBuild: it lays out what the build made, so
/// the assemblies other tests have loaded are not rebuilt under them) and gives the tests its output.
/// </summary>
public sealed class PackageFixture
{
    public const string ProjectUri = "https://example.invalid/pscontainers";

    public PackageFixture()
    {
        Build = Pwsh.Run(
            ["-NoProfile", "-NonInteractive", "-File", Path.Combine(Repo.Root, "build.ps1"), "-Task", "Package", "-NoBuild", "-ProjectUri", ProjectUri],
            workingDirectory: Repo.Root, timeout: TimeSpan.FromMinutes(3));
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

    public void AssertBuilt() => Assert.True(Build.ExitCode == 0 && File.Exists(Nupkg), Build.ToString());
}

/// <summary>The Gallery package: its layout, its manifest, its .nupkg, and the module installed from it.</summary>
public sealed class PackageTests(PackageFixture package) : IClassFixture<PackageFixture>
{
    private static readonly string[] Rids = ["linux-x64", "linux-arm64"];

    private static string ThisRid => RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";

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
        Assert.Matches("ELF 64-bit LSB .*x86-64.*statically linked", FileDescription(Path.Combine(package.Layout, "runtimes", "linux-x64", "psc-init")));
        Assert.Matches("ELF 64-bit LSB .*ARM aarch64.*statically linked", FileDescription(Path.Combine(package.Layout, "runtimes", "linux-arm64", "psc-init")));
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
        Assert.Equal(19, module.ExportedCmdlets.Count);
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
    public void TheNupkgIsWhatPublishPSResourceMakes_NuspecOpcPartsAndTheModuleAtTheRoot()
    {
        package.AssertBuilt();
        using var zip = ZipFile.OpenRead(package.Nupkg);
        var names = zip.Entries.Select(e => e.FullName).ToList();

        // NuGet's PackageBuilder order: the relationships, the nuspec, the files, the content types, the core properties.
        Assert.Equal("_rels/.rels", names[0]);
        Assert.Equal("PSContainers.nuspec", names[1]);
        Assert.Equal("[Content_Types].xml", names[^2]);
        Assert.Matches(@"^package/services/metadata/core-properties/[0-9a-f]{32}\.psmdcp$", names[^1]);

        // The module's files at the root, exactly those of the layout.
        var moduleFiles = Directory.GetFiles(package.Layout, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(package.Layout, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(moduleFiles, names.Skip(2).Take(names.Count - 4).Order(StringComparer.Ordinal).ToList());

        // The nuspec: what the Gallery and Install-PSResource read.
        XNamespace ns = "http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd";
        var nuspec = XDocument.Load(zip.GetEntry("PSContainers.nuspec")!.Open());
        var meta = nuspec.Root!.Element(ns + "metadata")!;
        Assert.Equal("PSContainers", meta.Element(ns + "id")!.Value);
        Assert.Equal(package.Version, meta.Element(ns + "version")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "authors")!.Value));
        Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")!.Value));
        Assert.Equal(PackageFixture.ProjectUri, meta.Element(ns + "projectUrl")!.Value);
        Assert.Equal(PackageFixture.ProjectUri + "/blob/main/LICENSE", meta.Element(ns + "licenseUrl")!.Value);
        Assert.Equal("false", meta.Element(ns + "requireLicenseAcceptance")!.Value);
        var tags = meta.Element(ns + "tags")!.Value.Split(' ');
        Assert.Contains("PSModule", tags);
        Assert.Contains("PSIncludes_Cmdlet", tags);
        Assert.Contains("Linux", tags);
        string[] cmdlets = ["Get-CGroup", "New-Container", "Start-Container", "Stop-Container", "Get-ContainerStats", "Move-Process"];
        Assert.All(cmdlets, c => Assert.Contains("PSCmdlet_" + c, tags));
        Assert.All(cmdlets, c => Assert.Contains("PSCommand_" + c, tags));
        Assert.Equal(19, tags.Count(t => t.StartsWith("PSCmdlet_", StringComparison.Ordinal)));
        Assert.Equal(tags.Length, tags.Distinct().Count());

        // The relationships name the nuspec and the core properties that are there.
        XNamespace rel = "http://schemas.openxmlformats.org/package/2006/relationships";
        var targets = XDocument.Load(zip.GetEntry("_rels/.rels")!.Open()).Root!.Elements(rel + "Relationship")
            .ToDictionary(r => r.Attribute("Type")!.Value, r => r.Attribute("Target")!.Value);
        Assert.Equal("/PSContainers.nuspec", targets["http://schemas.microsoft.com/packaging/2010/07/manifest"]);
        Assert.Equal("/" + names[^1], targets["http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"]);

        // Every part has a content type: by extension, or an override for the files without one (psc-init).
        XNamespace ct = "http://schemas.openxmlformats.org/package/2006/content-types";
        var types = XDocument.Load(zip.GetEntry("[Content_Types].xml")!.Open()).Root!;
        var extensions = types.Elements(ct + "Default").Select(d => d.Attribute("Extension")!.Value).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var overrides = types.Elements(ct + "Override").Select(d => d.Attribute("PartName")!.Value).ToHashSet();
        foreach (string name in names.Where(n => n != "[Content_Types].xml"))
        {
            string ext = Path.GetExtension(name).TrimStart('.');
            Assert.True(ext.Length > 0 ? extensions.Contains(ext) : overrides.Contains("/" + name), $"{name} has no content type");
        }

        // The core properties carry the id and version again.
        XNamespace dc = "http://purl.org/dc/elements/1.1/";
        var core = XDocument.Load(zip.GetEntry(names[^1])!.Open()).Root!;
        Assert.Equal("PSContainers", core.Element(dc + "identifier")!.Value);
    }

    [SkippableFact]
    public void InstalledTheWayInstallPSResourceDoes_ItImportsInAFreshShellAndRunsAContainerWithItsOwnPscInit()
    {
        Skip.IfNot(Environment.UserName == "root", "needs root to create containers and cgroups");
        package.AssertBuilt();
        string tmp = Path.Combine(Path.GetTempPath(), "psc-pkg-" + Guid.NewGuid().ToString("N")[..8]);
        string modules = Path.Combine(tmp, "Modules");
        string depot = Path.Combine(tmp, "depot");
        string cgroupRoot = "psc-xunit-pkg-" + Guid.NewGuid().ToString("N")[..8];
        var env = new Dictionary<string, string?>
        {
            ["PSCONTAINERS_MODULE_PATH"] = modules,
            ["PSCONTAINERS_DEPOT"] = depot,
            ["PSCONTAINERS_CGROUP_ROOT"] = cgroupRoot,
            ["PSCONTAINERS_INIT"] = null,
        };
        try
        {
            string installed = InstallLikePSResourceGet(package.Nupkg, modules, "PSContainers", package.Version);

            // What Install-PSResource leaves: the module files, without the package's own parts.
            Assert.True(File.Exists(Path.Combine(installed, "PSContainers.psd1")));
            foreach (string gone in new[] { "PSContainers.nuspec", "[Content_Types].xml", "_rels", "package" })
            {
                Assert.False(File.Exists(Path.Combine(installed, gone)) || Directory.Exists(Path.Combine(installed, gone)), $"{gone} was left in the module folder");
            }
            foreach (string rid in Rids)
            {
                string init = Path.Combine(installed, "runtimes", rid, "psc-init");
                Assert.Matches($"ELF 64-bit LSB .*{(rid == "linux-x64" ? "x86-64" : "ARM aarch64")}.*statically linked", FileDescription(init));
                // A zip keeps no executable bit here (NuGet packs none): the module must give it back.
                Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(init) & UnixFileMode.UserExecute);
            }

            // A fresh shell whose PSModulePath starts with the clean module path: the module is found there by name.
            ShellResult r = Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command", """
                $ErrorActionPreference = 'Stop'
                $m = Import-Module PSContainers -PassThru
                "base=$($m.ModuleBase)"
                "cmdlets=$($m.ExportedCmdlets.Count)"
                "root=" + (Get-CGroup -Path / | ForEach-Object Path)
                "libc=" + ([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'Tmds.LibC' } | ForEach-Object Location)
                $c = New-Container -Name pkg /bin/sleep -ArgumentList 30 -MemoryLimit 64MB -PidsLimit 10 | Start-Container -PassThru
                "state=$($c.State)"
                "init=" + [System.IO.File]::ResolveLinkTarget("/proc/$($c.InitPid)/exe", $false).FullName
                "limit=" + (Get-CGroup -Path pkg).MemoryLimit
                $s = Stop-Container -Name pkg -Force -PassThru
                "stopped=$($s.State)"
                Remove-Container -Name pkg
                "left=" + @(Get-Container).Count
                """], environment: env, timeout: TimeSpan.FromSeconds(90));
            Assert.True(r.ExitCode == 0, r.ToString());
            var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.Contains('=')).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
            Assert.Equal(installed, lines["base"]);
            Assert.Equal("19", lines["cmdlets"]);
            Assert.Equal(Path.Combine(installed, "runtimes", ThisRid, "Tmds.LibC.dll"), lines["libc"]);
            Assert.Equal("/", lines["root"]);
            Assert.Equal("Running", lines["state"]);
            Assert.Equal(Path.Combine(installed, "runtimes", ThisRid, "psc-init"), lines["init"]);
            Assert.Equal((64L << 20).ToString(), lines["limit"]);
            Assert.Equal("Exited", lines["stopped"]);
            Assert.Equal("0", lines["left"]);
            Assert.NotEqual(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(installed, "runtimes", ThisRid, "psc-init")) & UnixFileMode.UserExecute);
        }
        finally
        {
            if (Directory.Exists(Path.Combine(modules, "PSContainers")))
            {
                Pwsh.Run(["-NoProfile", "-NonInteractive", "-Command",
                    $"Get-Container | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue; Remove-CGroup -Path /{cgroupRoot} -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue"],
                    environment: env, timeout: TimeSpan.FromSeconds(60));
            }
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

    /// <summary>
    /// What Install-PSResource does with a module's .nupkg (PSResourceGet InstallHelper: TryExtractToDirectory, then
    /// DeleteExtraneousFiles, then the move to &lt;path&gt;/&lt;name&gt;/&lt;version&gt;): extract every entry with content, drop
    /// &lt;name&gt;.nuspec, [Content_Types].xml, _rels/ and package/, and put the rest under the module path.
    /// </summary>
    internal static string InstallLikePSResourceGet(string nupkg, string modulePath, string name, string version)
    {
        string temp = Path.Combine(modulePath, ".install-" + Guid.NewGuid().ToString("N")[..8]);
        string extractPath = Path.GetFullPath(temp) + Path.DirectorySeparatorChar;
        using (var zip = ZipFile.OpenRead(nupkg))
        {
            foreach (var entry in zip.Entries.Where(e => e.CompressedLength > 0))
            {
                string destination = Path.GetFullPath(Path.Combine(extractPath, entry.FullName));
                Assert.StartsWith(extractPath, destination, StringComparison.Ordinal);
                Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                entry.ExtractToFile(destination, overwrite: true);
            }
        }
        File.Delete(Path.Combine(temp, name + ".nuspec"));
        File.Delete(Path.Combine(temp, "[Content_Types].xml"));
        Directory.Delete(Path.Combine(temp, "_rels"), true);
        Directory.Delete(Path.Combine(temp, "package"), true);
        string installed = Path.Combine(modulePath, name, version);
        Directory.CreateDirectory(Path.GetDirectoryName(installed)!);
        Directory.Move(temp, installed);
        return installed;
    }

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
