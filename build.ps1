<#
.SYNOPSIS
    Builds, tests, packages or cleans PSContainers.
.DESCRIPTION
    Uses only the core language, .NET APIs and the dotnet CLI, so it runs under pwsh and under the project's
    own host (out/shell/pscsh) alike.
      Build    dotnet build: the module folder out/PSContainers/<version>/ and the Shell out/shell/pscsh
      Test     dotnet test: the xunit suites and the Pester suite (tests/pester/*.Tests.ps1)
      Package  a Release build of the module in the Gallery layout out/package/PSContainers/<version>/ (psc-init
               for linux-x64 and linux-arm64, built with cc and Debian's cross compiler and checked with file(1)),
               zipped as out/PSContainers-<version>.zip, and as the .nupkg Publish-PSResource would make of it,
               out/package/PSContainers.<version>.nupkg
      Clean    removes out/ and every bin/ and obj/ folder
.EXAMPLE
    ./out/shell/pscsh -File build.ps1 -Task Package
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string[]]$Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Debug',

    # The public repository, for the package's ProjectUri and LicenseUri (else $env:PSCONTAINERS_PROJECT_URI, else
    # the git remote 'origin' when it is an https URL).
    [string]$ProjectUri = $env:PSCONTAINERS_PROJECT_URI,

    # Package: lay out what out/PSContainers/<version>/ holds now instead of making a Release build first (tests use
    # it while other tests have that folder's assemblies loaded).
    [switch]$NoBuild
)

$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$solution = [System.IO.Path]::Combine($root, 'PSContainers.sln')

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    $text = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($root, 'module', 'PSContainers.psd1'))
    $m = [regex]::Match($text, "ModuleVersion\s*=\s*'([0-9.]+)'")
    if (-not $m.Success) { throw 'ModuleVersion not found in module/PSContainers.psd1' }
    $m.Groups[1].Value
}

# ---- Package: the Gallery layout and its .nupkg ---------------------------------------------------------------------

# The architectures the package serves: each gets runtimes/<rid>/ with Tmds.LibC and psc-init.
$script:PackageRids = [ordered]@{
    'linux-x64'   = @{ Triple = 'x86_64-linux-gnu'; Machine = 'x86-64'; Arch = 'X64' }
    'linux-arm64' = @{ Triple = 'aarch64-linux-gnu'; Machine = 'ARM aarch64'; Arch = 'Arm64' }
}

function Read-Manifest([string]$Path) {
    # A data-only hashtable literal, read by the language's restricted evaluation (Import-PowerShellDataFile is a
    # Utility cmdlet, absent from the project's host).
    $sb = [scriptblock]::Create([System.IO.File]::ReadAllText($Path))
    $sb.CheckRestrictedLanguage([string[]]@(), [string[]]@(), $false)
    & $sb
}

function Get-ProjectUri {
    if ($ProjectUri) { return $ProjectUri.TrimEnd('/') }
    $origin = & git -C $root remote get-url origin 2>$null
    if ($LASTEXITCODE -eq 0 -and $origin -match '^https://') { return ($origin -replace '\.git$', '').TrimEnd('/') }
    $null
}

function Build-PscInit([string]$Rid, [string]$Output) {
    # Same flags as the normal build (src/PSContainers.Engine/PSContainers.Engine.csproj, target PscBuildInit), read
    # from there so they have one source; the compiler is the machine's own for its architecture and Debian's cross
    # compiler (gcc-<triple>) for the other one.
    $csproj = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($root, 'src', 'PSContainers.Engine', 'PSContainers.Engine.csproj'))
    $m = [regex]::Match($csproj, '\$\(PscCC\) (?<flags>[^"&]*?) -o ')
    if (-not $m.Success) { throw 'The psc-init compiler flags were not found in PSContainers.Engine.csproj (target PscBuildInit).' }
    $flags = $m.Groups['flags'].Value.Split(' ', [System.StringSplitOptions]::RemoveEmptyEntries)
    $info = $script:PackageRids[$Rid]
    $native = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString() -eq $info.Arch
    $cc = if ($native) { if ($env:CC) { $env:CC } else { 'cc' } } else { "$($info.Triple)-gcc" }
    if (-not (Get-Command $cc -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "$cc is needed to build psc-init for $Rid (Debian: apt-get install gcc-$($info.Triple) libc6-dev-$(if ($Rid -eq 'linux-arm64') { 'arm64' } else { 'amd64' })-cross)."
    }
    $source = [System.IO.Path]::Combine($root, 'src', 'psc-init', 'psc-init.c')
    & $cc @flags -o $Output $source
    if ($LASTEXITCODE -ne 0) { throw "$cc failed to build psc-init for $Rid" }
    # Checked with file(1): the right machine, statically linked (no loader needed on the target).
    $described = (& file -b $Output) -join ' '
    if ($described -notlike "ELF 64-bit*$($info.Machine)*" -or $described -notmatch 'statically linked|static-pie linked') {
        throw "psc-init for $Rid is not a static $($info.Machine) ELF: $described"
    }
    $host.UI.WriteLine("psc-init $Rid`: $described")
}

function New-GalleryLayout([string]$Version) {
    # out/package/PSContainers/<version>/: what Install-PSResource puts on PSModulePath. The built folder is
    # for this machine (its psc-init at the top, beside the engine); here psc-init goes per architecture under
    # runtimes/<rid>/ with Tmds.LibC, and the module's initializer points the engine at the one for the running
    # architecture (ModuleInitializer.UsePackagedInit).
    $built = [System.IO.Path]::Combine($root, 'out', 'PSContainers', $Version)
    $out = [System.IO.Path]::Combine($root, 'out', 'package')
    if ([System.IO.Directory]::Exists($out)) { [System.IO.Directory]::Delete($out, $true) }
    $target = [System.IO.Path]::Combine($out, 'PSContainers', $Version)
    $null = [System.IO.Directory]::CreateDirectory($target)
    foreach ($file in [System.IO.Directory]::GetFiles($built, '*', [System.IO.SearchOption]::AllDirectories)) {
        $relative = [System.IO.Path]::GetRelativePath($built, $file)
        if ($relative -eq 'psc-init' -or $relative.StartsWith('runtimes/')) { continue }
        $dest = [System.IO.Path]::Combine($target, $relative)
        $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($dest))
        [System.IO.File]::Copy($file, $dest)
    }
    # The license travels with the module (the manifest says MIT; LicenseUri points at the same file).
    [System.IO.File]::Copy([System.IO.Path]::Combine($root, 'LICENSE'), [System.IO.Path]::Combine($target, 'LICENSE'))
    foreach ($rid in $script:PackageRids.Keys) {
        $dir = [System.IO.Path]::Combine($target, 'runtimes', $rid)
        $null = [System.IO.Directory]::CreateDirectory($dir)
        [System.IO.File]::Copy([System.IO.Path]::Combine($built, 'runtimes', $rid, 'Tmds.LibC.dll'), [System.IO.Path]::Combine($dir, 'Tmds.LibC.dll'))
        Build-PscInit -Rid $rid -Output ([System.IO.Path]::Combine($dir, 'psc-init'))
    }
    # The manifest with the project's addresses, when known.
    $psd1 = [System.IO.Path]::Combine($target, 'PSContainers.psd1')
    $uri = Get-ProjectUri
    if ($uri) {
        $text = [System.IO.File]::ReadAllText($psd1)
        $text = [regex]::Replace($text, '(?m)^(\s*)PSData\s*=\s*@\{\s*$', "`$0`n`$1    ProjectUri   = '$uri'`n`$1    LicenseUri   = '$uri/blob/main/LICENSE'", 1)
        [System.IO.File]::WriteAllText($psd1, $text)
    } else {
        $host.UI.WriteLine('No project address (-ProjectUri, $env:PSCONTAINERS_PROJECT_URI or an https git remote): the package has no ProjectUri or LicenseUri.')
    }
    $null = Test-ModuleManifest -Path $psd1 -ErrorAction Stop
    $target
}

function Get-RelationshipId([string]$PartPath) {
    # As NuGet's PackageBuilder: 'R' and the first 16 hex digits of the SHA-512 of the part's path.
    $hash = [System.Security.Cryptography.SHA512]::HashData([System.Text.Encoding]::UTF8.GetBytes($PartPath))
    'R' + [System.Convert]::ToHexString($hash).Substring(0, 16)
}

function Write-ZipText($Zip, [string]$Name, [string]$Text) {
    $entry = $Zip.CreateEntry($Name, [System.IO.Compression.CompressionLevel]::Optimal)
    $stream = $entry.Open()
    try {
        $bytes = [System.Text.UTF8Encoding]::new($true).GetPreamble() + [System.Text.Encoding]::UTF8.GetBytes($Text)
        $stream.Write($bytes, 0, $bytes.Length)
    } finally { $stream.Dispose() }
}

function ConvertTo-XmlText([string]$Text) { [System.Security.SecurityElement]::Escape($Text) }

function New-ModuleNupkg([string]$ModuleDir, [string]$Version) {
    # The .nupkg Publish-PSResource makes of a module folder (PSResourceGet PublishHelper.CreateNuspec, packed by
    # NuGet's PackageBuilder): <id>.nuspec, the module's files at the root, and the OPC parts _rels/.rels,
    # [Content_Types].xml and package/services/metadata/core-properties/<guid>.psmdcp, in that order. Tags as
    # PowerShellGet writes them: PSData.Tags, PSModule, PSIncludes_Cmdlet, PSCmdlet_<name> and PSCommand_<name>.
    $m = Read-Manifest ([System.IO.Path]::Combine($ModuleDir, 'PSContainers.psd1'))
    $psData = $m.PrivateData.PSData
    $tags = [System.Collections.Generic.List[string]]::new()
    foreach ($t in @($psData.Tags)) { $tags.Add($t) }
    $tags.Add('PSModule')
    $tags.Add('PSIncludes_Cmdlet')
    foreach ($c in $m.CmdletsToExport) { $tags.Add("PSCmdlet_$c") }
    foreach ($c in $m.CmdletsToExport) { $tags.Add("PSCommand_$c") }
    $tagText = $tags -join ' '

    $id = 'PSContainers'
    $metadata = [System.Text.StringBuilder]::new()
    $null = $metadata.Append("    <id>$id</id>`n    <version>$Version</version>`n")
    $null = $metadata.Append("    <authors>$(ConvertTo-XmlText $m.Author)</authors>`n    <owners>$(ConvertTo-XmlText $m.CompanyName)</owners>`n")
    $null = $metadata.Append("    <requireLicenseAcceptance>false</requireLicenseAcceptance>`n")
    if ($psData.LicenseUri) { $null = $metadata.Append("    <licenseUrl>$(ConvertTo-XmlText $psData.LicenseUri)</licenseUrl>`n") }
    if ($psData.ProjectUri) { $null = $metadata.Append("    <projectUrl>$(ConvertTo-XmlText $psData.ProjectUri)</projectUrl>`n") }
    $null = $metadata.Append("    <description>$(ConvertTo-XmlText $m.Description)</description>`n")
    $null = $metadata.Append("    <releaseNotes>$(ConvertTo-XmlText $psData.ReleaseNotes.Trim())</releaseNotes>`n")
    $null = $metadata.Append("    <copyright>$(ConvertTo-XmlText $m.Copyright)</copyright>`n")
    $null = $metadata.Append("    <tags>$(ConvertTo-XmlText $tagText)</tags>`n")
    $nuspec = "<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<package xmlns=`"http://schemas.microsoft.com/packaging/2011/08/nuspec.xsd`">`n  <metadata>`n$metadata  </metadata>`n</package>"

    $nupkg = [System.IO.Path]::Combine($root, 'out', 'package', "$id.$Version.nupkg")
    $psmdcp = "package/services/metadata/core-properties/$([guid]::NewGuid().ToString('N')).psmdcp"
    $stream = [System.IO.File]::Create($nupkg)
    $zip = [System.IO.Compression.ZipArchive]::new($stream, [System.IO.Compression.ZipArchiveMode]::Create)
    try {
        Write-ZipText $zip '_rels/.rels' ("<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<Relationships xmlns=`"http://schemas.openxmlformats.org/package/2006/relationships`">" +
            "<Relationship Type=`"http://schemas.microsoft.com/packaging/2010/07/manifest`" Target=`"/$id.nuspec`" Id=`"$(Get-RelationshipId "/$id.nuspec")`" />" +
            "<Relationship Type=`"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties`" Target=`"/$psmdcp`" Id=`"$(Get-RelationshipId "/$psmdcp")`" /></Relationships>")
        Write-ZipText $zip "$id.nuspec" $nuspec
        $extensions = [System.Collections.Generic.SortedSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
        $noExtension = [System.Collections.Generic.List[string]]::new()
        foreach ($file in [System.IO.Directory]::GetFiles($ModuleDir, '*', [System.IO.SearchOption]::AllDirectories)) {
            $relative = [System.IO.Path]::GetRelativePath($ModuleDir, $file)
            # NuGet escapes each path segment of a part name; none of the module's names needs it.
            $entryName = ($relative.Split('/') | ForEach-Object { [System.Uri]::EscapeDataString($_) }) -join '/'
            # Like PackageBuilder, no Unix modes are stored: psc-init's executable bit is restored by the module.
            $entry = $zip.CreateEntry($entryName, [System.IO.Compression.CompressionLevel]::Optimal)
            $entry.LastWriteTime = [System.IO.File]::GetLastWriteTimeUtc($file)
            $out = $entry.Open()
            try { $in = [System.IO.File]::OpenRead($file); try { $in.CopyTo($out) } finally { $in.Dispose() } } finally { $out.Dispose() }
            $ext = [System.IO.Path]::GetExtension($relative)
            if ($ext) { $null = $extensions.Add($ext.Substring(1)) } else { $noExtension.Add("/$entryName") }
        }
        $null = $extensions.Add('nuspec')
        $types = [System.Text.StringBuilder]::new("<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<Types xmlns=`"http://schemas.openxmlformats.org/package/2006/content-types`">")
        $null = $types.Append('<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />')
        $null = $types.Append('<Default Extension="psmdcp" ContentType="application/vnd.openxmlformats-package.core-properties+xml" />')
        foreach ($e in $extensions) { $null = $types.Append("<Default Extension=`"$e`" ContentType=`"application/octet`" />") }
        foreach ($p in $noExtension) { $null = $types.Append("<Override PartName=`"$p`" ContentType=`"application/octet`" />") }
        $null = $types.Append('</Types>')
        Write-ZipText $zip '[Content_Types].xml' $types.ToString()
        Write-ZipText $zip $psmdcp ("<?xml version=`"1.0`" encoding=`"utf-8`"?>`n<coreProperties xmlns:dc=`"http://purl.org/dc/elements/1.1/`" xmlns:dcterms=`"http://purl.org/dc/terms/`" " +
            "xmlns:xsi=`"http://www.w3.org/2001/XMLSchema-instance`" xmlns=`"http://schemas.openxmlformats.org/package/2006/metadata/core-properties`">" +
            "<dc:creator>$(ConvertTo-XmlText $m.Author)</dc:creator><dc:description>$(ConvertTo-XmlText $m.Description)</dc:description>" +
            "<dc:identifier>$id</dc:identifier><version>$Version</version><keywords>$(ConvertTo-XmlText $tagText)</keywords>" +
            "<lastModifiedBy>PSContainers build.ps1</lastModifiedBy></coreProperties>")
    } finally {
        $zip.Dispose()
        $stream.Dispose()
    }
    $nupkg
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' {
            Invoke-Dotnet build $solution -c $Configuration --nologo
        }
        'Test' {
            Invoke-Dotnet test $solution -c $Configuration --nologo
        }
        'Package' {
            # The module project only: the Shell may be the very process running this script.
            if (-not $NoBuild) {
                Invoke-Dotnet build ([System.IO.Path]::Combine($root, 'src', 'PSContainers', 'PSContainers.csproj')) -c Release --nologo
            }
            $version = Get-ModuleVersion
            $package = New-GalleryLayout -Version $version
            $zip = [System.IO.Path]::Combine($root, 'out', "PSContainers-$version.zip")
            if ([System.IO.File]::Exists($zip)) { [System.IO.File]::Delete($zip) }
            # The zip holds PSContainers/<version>/..., the layout PSModulePath expects.
            [System.IO.Compression.ZipFile]::CreateFromDirectory([System.IO.Path]::Combine($root, 'out', 'package'), $zip)
            $nupkg = New-ModuleNupkg -ModuleDir $package -Version $version
            $host.UI.WriteLine("Packaged $package")
            $host.UI.WriteLine("Packaged $zip")
            $host.UI.WriteLine("Packaged $nupkg")
        }
        'Clean' {
            $out = [System.IO.Path]::Combine($root, 'out')
            if ([System.IO.Directory]::Exists($out)) { [System.IO.Directory]::Delete($out, $true) }
            foreach ($dir in [System.IO.Directory]::GetDirectories($root, '*', [System.IO.SearchOption]::AllDirectories)) {
                $name = [System.IO.Path]::GetFileName($dir)
                if (($name -eq 'bin' -or $name -eq 'obj') -and [System.IO.Directory]::Exists($dir) -and -not $dir.Contains('/.git/')) {
                    [System.IO.Directory]::Delete($dir, $true)
                }
            }
        }
    }
}
