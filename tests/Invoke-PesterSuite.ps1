<#
.SYNOPSIS
Runs Pester test files with a named version of real Pester from the NuGet cache, writing NUnit XML and counts.

.DESCRIPTION
The test project's restore brings Pester 5.9.1 and 6.2.0 into the NuGet global packages folder (the module is under
each package's tools/). This script imports the version asked for from there, runs the given files with Detailed
output (Pester's own discovery and summary lines), and writes, for each run, <Name>.xml (NUnit 2.5, for CI systems
to read) and <Name>.counts ("passed failed skipped") into -ResultsDir. It exits with 1 when a test failed or the run
itself failed (a file that does not parse, no test discovered), else 0.

.EXAMPLE
dotnet pwsh -NoProfile -File tests/Invoke-PesterSuite.ps1 -PesterVersion 6.2.0
#>
param(
    [string[]]$Path = @([System.IO.Path]::Combine($PSScriptRoot, 'pester')),
    [string]$PesterVersion = '5.9.1',
    [string]$ResultsDir = [System.IO.Path]::Combine($PSScriptRoot, '..', 'out', 'test-results', 'pester'),
    [string]$Name = 'pester'
)

$ErrorActionPreference = 'Stop'
$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { [System.IO.Path]::Combine($HOME, '.nuget', 'packages') }
$manifest = [System.IO.Path]::Combine($packages, 'pester', $PesterVersion, 'tools', 'Pester.psd1')
if (-not (Test-Path -LiteralPath $manifest)) {
    throw "Pester $PesterVersion is not in the NuGet cache ($manifest): build the test project (dotnet build PSContainers.sln) first."
}
Import-Module $manifest -Force

$null = New-Item -ItemType Directory -Force -Path $ResultsDir
$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = [System.IO.Path]::Combine($ResultsDir, "$Name.xml")
$config.TestResult.TestSuiteName = "PSContainers ($Name, Pester $PesterVersion)"

$result = Invoke-Pester -Configuration $config
"$($result.PassedCount) $($result.FailedCount) $($result.SkippedCount)" |
    Set-Content -LiteralPath ([System.IO.Path]::Combine($ResultsDir, "$Name.counts")) -NoNewline

# Not the failed count as the exit code: exit codes wrap at 256. A failed container (a file that does not parse) fails
# the run with no test failed.
if ($result.TotalCount -eq 0) { Write-Error "No test was discovered in $Path"; exit 1 }
if ($result.FailedCount -gt 0 -or $result.Result -ne 'Passed') { exit 1 }
exit 0
