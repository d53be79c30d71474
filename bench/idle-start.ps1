# bench/idle-start.ps1: what a user typing commands sees. Start-Container, Invoke-ContainerCommand and
# Start-ContainerProcess, each after 200 ms without any cgroup migration on the machine (the first writer into
# cgroup.procs after a quiet spell waits for an RCU grace period: docs/performance.md, "Issue 17").
#
#   sudo dotnet pwsh -NoProfile -File bench/idle-start.ps1 [-Init <psc-init>] [-Rounds 25]
#
# -Init runs another psc-init ($PSCONTAINERS_INIT), to compare two builds on the same machine. Everything it makes
# lives in a depot of its own under /tmp and a cgroup root of its own, both removed at the end, also on failure.
param([string]$Init, [int]$Rounds = 25)
$ErrorActionPreference = 'Stop'
if ($Init) { $env:PSCONTAINERS_INIT = (Resolve-Path $Init).Path }
$module = Get-ChildItem -Path (Join-Path $PSScriptRoot '../out/PSContainers') -Filter PSContainers.psd1 -Recurse | Select-Object -First 1
Import-Module $module.FullName
$env:PSCONTAINERS_DEPOT = Join-Path ([System.IO.Path]::GetTempPath()) "psc-idle-$PID"
$env:PSCONTAINERS_CGROUP_ROOT = "psc-idle-$PID"   # a cgroup root of its own, removed at the end
function P([double[]]$ms, [double]$q) { $s = $ms | Sort-Object; $s[[Math]::Min($s.Count - 1, [int]($s.Count * $q))] }
$start = [System.Collections.Generic.List[double]]::new()
$invoke = [System.Collections.Generic.List[double]]::new()
$tracked = [System.Collections.Generic.List[double]]::new()
try {
    New-Container -Name idle-box -MemoryLimit 64MB -PidsLimit 50 | Start-Container
    foreach ($i in 1..$Rounds) {
        New-Container -Name idle-$i /bin/true -MemoryLimit 64MB -PidsLimit 50 | Out-Null
        Start-Sleep -Milliseconds 200
        $start.Add((Measure-Command { Start-Container -Name idle-$i }).TotalMilliseconds)
        Wait-Container -Name idle-$i | Out-Null
        Remove-Container -Name idle-$i -Force -Confirm:$false
        Start-Sleep -Milliseconds 200
        $invoke.Add((Measure-Command { Invoke-ContainerCommand -Name idle-box /bin/true }).TotalMilliseconds)
        Start-Sleep -Milliseconds 200
        $tracked.Add((Measure-Command { $p = Start-ContainerProcess -Name idle-box /bin/true }).TotalMilliseconds)
        Wait-ContainerProcess -Name idle-box -Id $p.Id | Out-Null
    }
} finally {
    Get-Container | Remove-Container -Force -Confirm:$false
    Remove-Item -Recurse -Force -LiteralPath $env:PSCONTAINERS_DEPOT -ErrorAction SilentlyContinue
    Remove-CGroup -Path "/psc-idle-$PID" -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue
}
$init = if ($Init) { $Init } else { 'the build' }
foreach ($row in @(('Start-Container', $start), ('Invoke-ContainerCommand', $invoke), ('Start-ContainerProcess', $tracked))) {
    $ms = $row[1] | Select-Object -Skip 3     # the first calls load code
    '{0,-24} after 200 ms idle ({1}): p50 {2:N2} ms, p90 {3:N2} ms, n={4}' -f $row[0], $init, (P $ms 0.5), (P $ms 0.9), $ms.Count
}
