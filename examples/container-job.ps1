# The main job: a real container with limits. A process tree (a busy loop, a double-forked daemon and a
# sleeper) runs isolated (PID, mount, UTS and IPC namespaces) under memory, pids and CPU limits, is measured,
# then stopped as a whole and removed. Run it in real pwsh (the PowerShell tool this repository pins; no pwsh on PATH needed):
#   dotnet pwsh -NoProfile -File examples/container-job.ps1        (or any pwsh 7.4+)
param([string]$Name = 'demo-job')

$ErrorActionPreference = 'Stop'
# The module this checkout built (dotnet build), else an installed one (Install-PSResource PSContainers).
$built = [System.IO.Path]::Combine($PSScriptRoot, '..', 'out', 'PSContainers')
if (Test-Path -LiteralPath $built) { Import-Module $built } else { Import-Module PSContainers }
$tree = 'echo "I am pid $$ on $(hostname)"; (while :; do :; done) & setsid sh -c "trap \"\" TERM; sleep 300" & sleep 300 & wait'
$c = New-Container -Name $Name /bin/sh -ArgumentList '-c', $tree -Hostname $Name -MemoryLimit 64MB -PidsLimit 20 -CpuLimit 0.5 |
    Start-Container -PassThru
try {
    [System.Threading.Thread]::Sleep(1000)
    Write-Host 'The container:'
    Get-Container -Name $Name | Out-Host
    Write-Host 'Its cgroup, limited and measured:'
    Get-CGroup -Path $c.CGroupPath | Out-Host
    Write-Host "Its output: $(Get-ContainerLog -Name $Name)"
} finally {
    # SIGTERM, then after 2 s SIGKILL to every process in the cgroup (the daemon that ignores SIGTERM too).
    $stopped = Stop-Container -Name $Name -Timeout 2 -PassThru
    Write-Host "Stopped: exit code $($stopped.ExitCode) (signal $($stopped.Signal)); processes left: $((Get-CGroup -Path $c.CGroupPath).ProcessIds.Count)"
    Remove-Container -Name $Name
    # Leave the machine as it was: drop the project's root cgroup too when nothing else uses it.
    $projectRoot = $c.CGroupPath.Substring(0, $c.CGroupPath.LastIndexOf('/'))
    if (-not (Get-CGroup)) { Remove-CGroup -Path $projectRoot -Confirm:$false }
}
