# The main job, until containers land: a real process tree placed in a cgroup with memory, pids and CPU
# limits, observed, then stopped as a whole. Run it in real pwsh (the PowerShell
# tool this repository pins; no pwsh on PATH needed):
#   dotnet pwsh -NoProfile -File examples/limited-job.ps1          (or any pwsh 7.4+)
# It cleans up after itself: the cgroup, and every process of the tree, grandchildren included.
param([string]$Name = 'limited-job')

$ErrorActionPreference = 'Stop'
# The module this checkout built (dotnet build), else an installed one (Install-PSResource PSContainers).
$built = [System.IO.Path]::Combine($PSScriptRoot, '..', 'out', 'PSContainers')
if (Test-Path -LiteralPath $built) { Import-Module $built } else { Import-Module PSContainers }
$cg = New-CGroup -Path $Name -MemoryLimit 64MB -PidsLimit 20 -CpuLimit 0.5 -CpuWeight 50 -PassThru
try {
    # A shell that waits for "go", then starts a busy loop, a double-forked daemon and a sleeper.
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
    $psi.ArgumentList.Add('-c')
    $psi.ArgumentList.Add('read go; (while :; do :; done) & setsid sh -c "sleep 300" & sleep 300 & echo started; wait')
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $job = [System.Diagnostics.Process]::Start($psi)

    # Into the cgroup before it forks anything, so every descendant is born inside.
    Move-Process -Id $job.Id -Path $Name
    $job.StandardInput.WriteLine('go')
    $null = $job.StandardOutput.ReadLine()
    [System.Threading.Thread]::Sleep(1000)

    Write-Host "The job's processes, limited and measured:"
    Get-CGroup -Path $Name | Out-Host
    $now = Get-CGroup -Path $Name
    Write-Host "$($now.ProcessIds.Count) processes; CPU capped at $($now.CpuLimit) CPUs; pids $($now.PidsCurrent)/$($now.PidsLimit); memory $([math]::Round($now.MemoryUsage / 1MB, 1)) MB of $($now.MemoryLimit / 1MB) MB"
} finally {
    # -Force kills the whole tree (the daemon that left the shell's session too), then removes the cgroup.
    Remove-CGroup -Path $Name -Force -Confirm:$false
    Write-Host "Stopped and removed $($cg.Path)."
    # Leave the machine as it was: drop the project's root cgroup too when nothing else uses it.
    $projectRoot = $cg.Path.Substring(0, $cg.Path.LastIndexOf('/'))
    if (-not (Get-CGroup)) { Remove-CGroup -Path $projectRoot -Confirm:$false }
}
