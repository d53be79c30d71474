<#
.SYNOPSIS
    Builds, tests, packages or cleans PSContainers.
.DESCRIPTION
    Uses only the core language, .NET APIs and the dotnet CLI, so it runs under pwsh and under the project's
    own host (out/shell/pscsh) alike.
      Build    dotnet build: the module folder out/PSContainers/<version>/ and the Shell out/shell/pscsh
      Test     dotnet test: the xunit suites and the Pester suite (tests/pester/*.Tests.ps1)
      Package  a Release build of the module, zipped as out/PSContainers-<version>.zip (the module folder as it installs)
      Clean    removes out/ and every bin/ and obj/ folder
.EXAMPLE
    ./out/shell/pscsh -File build.ps1 -Task Package
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Clean')]
    [string[]]$Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Debug'
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
            Invoke-Dotnet build ([System.IO.Path]::Combine($root, 'src', 'PSContainers', 'PSContainers.csproj')) -c Release --nologo
            $version = Get-ModuleVersion
            $moduleDir = [System.IO.Path]::Combine($root, 'out', 'PSContainers', $version)
            $zip = [System.IO.Path]::Combine($root, 'out', "PSContainers-$version.zip")
            if ([System.IO.File]::Exists($zip)) { [System.IO.File]::Delete($zip) }
            # The zip holds PSContainers/<version>/..., the layout Install-Module and PSModulePath expect.
            $staging = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-package-' + [guid]::NewGuid().ToString('N'))
            try {
                $target = [System.IO.Path]::Combine($staging, 'PSContainers', $version)
                $null = [System.IO.Directory]::CreateDirectory($target)
                foreach ($file in [System.IO.Directory]::GetFiles($moduleDir, '*', [System.IO.SearchOption]::AllDirectories)) {
                    $relative = [System.IO.Path]::GetRelativePath($moduleDir, $file)
                    $dest = [System.IO.Path]::Combine($target, $relative)
                    $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($dest))
                    [System.IO.File]::Copy($file, $dest)
                }
                [System.IO.Compression.ZipFile]::CreateFromDirectory($staging, $zip)
            } finally {
                [System.IO.Directory]::Delete($staging, $true)
            }
            $host.UI.WriteLine("Packaged $zip")
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
