#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, packages or cleans PSContainers.
.DESCRIPTION
    Runs in pwsh 7.4 or later: the project's own (the local .NET tool, `dotnet pwsh`, restored by `dotnet tool
    restore`) or any other. Nothing needs to be installed globally.
      Build    dotnet build: the module folder out/PSContainers/<version>/
      Test     dotnet test: the xunit suites and the Pester suite (tests/pester/*.Tests.ps1, run by real Pester)
      Package  a Release build of the module in the Gallery layout out/package/PSContainers/<version>/ (psc-init
               for linux-x64 and linux-arm64, built with cc and Debian's cross compiler and checked with file(1)),
               zipped as out/PSContainers-<version>.zip, and packed by PSResourceGet's Compress-PSResource (what
               Publish-PSResource pushes) as out/package/PSContainers.<version>.nupkg
      Clean    removes out/ and every bin/ and obj/ folder
.EXAMPLE
    dotnet pwsh -File build.ps1 -Task Package

    Makes the package with the pwsh the repository pins (.config/dotnet-tools.json).
.EXAMPLE
    ./build.ps1 -Task Package -ProjectUri https://github.com/<owner>/PSContainers

    The same from a pwsh session, with the package's ProjectUri and LicenseUri.
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
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$solution = Join-Path $root 'PSContainers.sln'

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-ModuleVersion {
    (Import-PowerShellDataFile -Path (Join-Path $root 'module' 'PSContainers.psd1')).ModuleVersion
}

# ---- Package: the Gallery layout and its .nupkg ---------------------------------------------------------------------

# The architectures the package serves: each gets runtimes/<rid>/ with Tmds.LibC and psc-init.
$script:PackageRids = [ordered]@{
    'linux-x64'   = @{ Triple = 'x86_64-linux-gnu'; Machine = 'x86-64'; Arch = 'X64'; Debian = 'amd64' }
    'linux-arm64' = @{ Triple = 'aarch64-linux-gnu'; Machine = 'ARM aarch64'; Arch = 'Arm64'; Debian = 'arm64' }
}

function Get-ProjectUri {
    if ($ProjectUri) { return $ProjectUri.TrimEnd('/') }
    if (-not (Get-Command git -CommandType Application -ErrorAction SilentlyContinue)) { return $null }
    $origin = & git -C $root remote get-url origin 2>$null
    if ($LASTEXITCODE -eq 0 -and $origin -match '^https://') { return ($origin -replace '\.git$', '').TrimEnd('/') }
    $null
}

function Build-PscInit([string]$Rid, [string]$Output) {
    # Same flags as the normal build (src/PSContainers.Engine/PSContainers.Engine.csproj, target PscBuildInit), read
    # from there so they have one source; the compiler is the machine's own for its architecture and Debian's cross
    # compiler (gcc-<triple>) for the other one.
    $csproj = Get-Content -Raw -Path (Join-Path $root 'src' 'PSContainers.Engine' 'PSContainers.Engine.csproj')
    if ($csproj -notmatch '\$\(PscCC\) (?<flags>[^"&]*?) -o ') {
        throw 'The psc-init compiler flags were not found in PSContainers.Engine.csproj (target PscBuildInit).'
    }
    $flags = -split $Matches['flags']
    $info = $script:PackageRids[$Rid]
    $native = [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString() -eq $info.Arch
    $cc = if ($native) { if ($env:CC) { $env:CC } else { 'cc' } } else { "$($info.Triple)-gcc" }
    if (-not (Get-Command $cc -CommandType Application -ErrorAction SilentlyContinue)) {
        throw "$cc is needed to build psc-init for $Rid (Debian: apt-get install gcc-$($info.Triple) libc6-dev-$($info.Debian)-cross)."
    }
    $sources = Get-ChildItem -Path (Join-Path $root 'src' 'psc-init') -Filter '*.c' | Sort-Object Name | ForEach-Object FullName
    & $cc @flags -o $Output @sources
    if ($LASTEXITCODE -ne 0) { throw "$cc failed to build psc-init for $Rid" }
    # Checked with file(1): the right machine, statically linked (no loader needed on the target).
    $described = (& file -b $Output) -join ' '
    if ($described -notlike "ELF 64-bit*$($info.Machine)*" -or $described -notmatch 'statically linked|static-pie linked') {
        throw "psc-init for $Rid is not a static $($info.Machine) ELF: $described"
    }
    Write-Host "psc-init $Rid`: $described"
}

function New-GalleryLayout([string]$Version) {
    # out/package/PSContainers/<version>/: what Install-PSResource puts on PSModulePath. The built folder is
    # for this machine (its psc-init at the top, beside the engine); here psc-init goes per architecture under
    # runtimes/<rid>/ with Tmds.LibC, and the module's initializer points the engine at the one for the running
    # architecture (ModuleInitializer.UsePackagedInit).
    $built = Join-Path $root 'out' 'PSContainers' $Version
    if (-not (Test-Path -LiteralPath (Join-Path $built 'PSContainers.psd1'))) {
        throw "$built holds no built module: run build.ps1 -Task Package without -NoBuild, or dotnet build first."
    }
    $out = Join-Path $root 'out' 'package'
    if (Test-Path -LiteralPath $out) { Remove-Item -LiteralPath $out -Recurse -Force }
    $target = Join-Path $out 'PSContainers' $Version
    $null = New-Item -ItemType Directory -Path $target
    foreach ($file in Get-ChildItem -LiteralPath $built -File -Recurse) {
        $relative = [System.IO.Path]::GetRelativePath($built, $file.FullName)
        if ($relative -eq 'psc-init' -or $relative.StartsWith('runtimes/')) { continue }
        $dest = Join-Path $target $relative
        $null = New-Item -ItemType Directory -Path (Split-Path -Parent $dest) -Force
        Copy-Item -LiteralPath $file.FullName -Destination $dest
    }
    # The license travels with the module (the manifest says MIT; LicenseUri points at the same file).
    Copy-Item -LiteralPath (Join-Path $root 'LICENSE') -Destination (Join-Path $target 'LICENSE')
    foreach ($rid in $script:PackageRids.Keys) {
        $dir = New-Item -ItemType Directory -Path (Join-Path $target 'runtimes' $rid)
        Copy-Item -LiteralPath (Join-Path $built 'runtimes' $rid 'Tmds.LibC.dll') -Destination $dir.FullName
        Build-PscInit -Rid $rid -Output (Join-Path $dir.FullName 'psc-init')
    }
    # The manifest with the project's addresses, when known.
    $psd1 = Join-Path $target 'PSContainers.psd1'
    $uri = Get-ProjectUri
    if ($uri) {
        $text = Get-Content -Raw -LiteralPath $psd1
        $text = [regex]::Replace($text, '(?m)^(\s*)PSData\s*=\s*@\{\s*$', "`$0`n`$1    ProjectUri   = '$uri'`n`$1    LicenseUri   = '$uri/blob/main/LICENSE'", 1)
        [System.IO.File]::WriteAllText($psd1, $text)
    } else {
        Write-Host 'No project address (-ProjectUri, $env:PSCONTAINERS_PROJECT_URI or an https git remote): the package has no ProjectUri or LicenseUri.'
    }
    $null = Test-ModuleManifest -Path $psd1
    $target
}

function New-ModuleNupkg([string]$ModuleDir) {
    # PSResourceGet's own packer (the one Publish-PSResource uses, since PSResourceGet 1.1; pwsh 7.6 ships 1.2):
    # <id>.nuspec from the manifest, the module's files at the root, NuGet's OPC parts. NuGet stores no Unix modes,
    # so psc-init arrives without its executable bit; the module gives it back when imported.
    if (-not (Get-Command Compress-PSResource -ErrorAction SilentlyContinue)) {
        throw "Compress-PSResource (Microsoft.PowerShell.PSResourceGet 1.1 or later) is needed to make the .nupkg; this pwsh has $(@(Get-Module -ListAvailable Microsoft.PowerShell.PSResourceGet | ForEach-Object Version) -join ', '). Run 'dotnet pwsh -File build.ps1 -Task Package' (the pinned pwsh 7.6), or Install-PSResource Microsoft.PowerShell.PSResourceGet."
    }
    $destination = Split-Path -Parent (Split-Path -Parent $ModuleDir)
    Compress-PSResource -Path $ModuleDir -DestinationPath $destination -PassThru | ForEach-Object FullName
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
            # The module project and what it references; the tests are not part of the package.
            if (-not $NoBuild) {
                Invoke-Dotnet build (Join-Path $root 'src' 'PSContainers' 'PSContainers.csproj') -c Release --nologo
            }
            $version = Get-ModuleVersion
            $package = New-GalleryLayout -Version $version
            $zip = Join-Path $root 'out' "PSContainers-$version.zip"
            if (Test-Path -LiteralPath $zip) { Remove-Item -LiteralPath $zip }
            # The zip holds PSContainers/<version>/..., the layout PSModulePath expects.
            [System.IO.Compression.ZipFile]::CreateFromDirectory((Join-Path $root 'out' 'package'), $zip)
            $nupkg = New-ModuleNupkg -ModuleDir $package
            Write-Host "Packaged $package"
            Write-Host "Packaged $zip"
            Write-Host "Packaged $nupkg"
        }
        'Clean' {
            $out = Join-Path $root 'out'
            if (Test-Path -LiteralPath $out) { Remove-Item -LiteralPath $out -Recurse -Force }
            $found = @(Get-ChildItem -LiteralPath $root -Directory -Recurse -Include bin, obj |
                    Where-Object FullName -NotLike '*/.git/*' | Sort-Object { $_.FullName.Length })
            # Outer folders first; a folder inside one already removed is gone with it.
            $found | Where-Object { Test-Path -LiteralPath $_.FullName } | Remove-Item -Recurse -Force
        }
    }
}
