# bench/network.ps1: bridged networking, side by side with a bare veth pair (the floor) and podman's bridge network on
# the same machine (issue 19). Everything runs inside network namespaces this script makes (tests/net/netlab.sh): a
# "host" with an uplink and an "outside" (198.51.100.0/24, TEST-NET-2); no packet reaches the machine's real
# interfaces.
#
#   sudo dotnet pwsh -NoProfile -File bench/network.ps1 [-Runs 3] [-Seconds 3] [-Connects 200] [-Cycles 20] [-Smoke]
#
# Measures (iperf3 for throughput; medians):
#   the floor    iperf3 over the lab's bare veth pair: host -> outside and outside -> host (-R), Gbit/s; connect()
#                latency from outside (python3) to a server listening in host (no NAT), median and p95 ms (the
#                server, the same in every column, is a small accept-and-close program built with `cc -static`);
#   podman       podman 4 with netavark, run INSIDE the lab's host namespace and a private mount namespace (a tmpfs
#                over /run, its --root/--runroot/--tmpdir and network config under this run's folder, so nothing of
#                the machine's podman is touched): a container from --rootfs of busybox-static plus iperf3 and its
#                libraries, on the default bridge with published ports; throughput container -> outside and outside
#                -> published port; connect() latency through the published port; `podman create --network bridge`
#                + `podman rm`, and `podman run --rm --network bridge /bin/true`, median ms (hyperfine when present);
#   PSContainers the module in this session, its bridge in the lab's host namespace: a bridged sandbox running the
#                host's iperf3 and the accept server as tracked processes, published ports; New-Container -Network
#                Bridge + Remove-Container, and the same with Start-Container and Wait-Container of /bin/true.
# Ratios are ours / floor and ours / podman: for throughput above 1 is better, for latency and times below 1 is.
# -Smoke runs each measure once and short (CI: under 60 s). Everything it makes (the lab's namespaces, podman's
# storage, containers and processes, a cgroup root psc-nbench-<pid>, podman's libpod_parent cgroups when this run
# made them, the folder /tmp/psc-nbench-<pid>) is removed at the end, also on failure.
param([int]$Runs = 3, [int]$Seconds = 3, [int]$Connects = 200, [int]$Cycles = 20, [switch]$Smoke)
$ErrorActionPreference = 'Stop'
if ($Smoke) { $Runs = 1; $Seconds = 1; $Connects = 20; $Cycles = 1 }
if ([Environment]::UserName -ne 'root') { throw 'bench/network.ps1 needs root (network namespaces, veth, podman)' }
$started = [System.Diagnostics.Stopwatch]::StartNew()
$tag = "psc-nbench-$PID"
$work = Join-Path ([System.IO.Path]::GetTempPath()) $tag
$netlab = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../tests/net/netlab.sh'))
$env:PSCONTAINERS_CGROUP_ROOT = $tag              # a cgroup root of its own for the module's rows, removed at the end
$notes = [System.Collections.Generic.List[string]]::new()
$processes = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()
$libpodBefore = @(Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction Ignore | Where-Object { [System.IO.Directory]::Exists("$($_.FullName)/libpod_parent") }).Count
$podmanIds = [System.Collections.Generic.List[string]]::new()

# ------------------------------------------------------------------ the table
# One row per measure: the floor's, podman's and ours (filled by Set-Ours / Measure-Ours), in one unit.
$measures = [ordered]@{}
function Add-Measure([string]$Key, [string]$Label, [string]$Unit, [bool]$HigherIsBetter) {
    $measures[$Key] = [pscustomobject]@{ Label = $Label; Unit = $Unit; Higher = $HigherIsBetter; Floor = $null; Podman = $null; Ours = $null }
}
Add-Measure 'to-outside' 'throughput container -> outside' 'Gbit/s' $true
Add-Measure 'from-outside' 'throughput outside -> published port' 'Gbit/s' $true
Add-Measure 'connect-median' 'connect() through a published port, median' 'ms' $false
Add-Measure 'connect-p95' 'connect() through a published port, p95' 'ms' $false
Add-Measure 'create-remove' 'create + remove a bridged container' 'ms' $false
Add-Measure 'run-remove' 'run /bin/true bridged (create, start, exit, remove)' 'ms' $false

# ------------------------------------------------------------------ helpers
function Median([double[]]$xs) { $s = @($xs | Sort-Object); $s[[int][Math]::Floor(($s.Count - 1) / 2)] }
function Percentile([double[]]$xs, [double]$p) { $s = @($xs | Sort-Object); $s[[int][Math]::Min($s.Count - 1, [Math]::Ceiling($p * $s.Count) - 1)] }

function Invoke-Native([string[]]$Argv, [int]$TimeoutSec = 60, [switch]$AllowFail) {
    # Runs a program to its end within a bound; returns @{ Exit; Out; Err }; throws on a non-zero exit unless -AllowFail.
    $psi = [System.Diagnostics.ProcessStartInfo]::new($Argv[0])
    foreach ($a in $Argv | Select-Object -Skip 1) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.RedirectStandardInput = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $p.StandardInput.Close()
    $out = $p.StandardOutput.ReadToEndAsync(); $err = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit($TimeoutSec * 1000)) {
        $p.Kill($true); $null = $p.WaitForExit(5000)
        throw "$($Argv -join ' ') did not finish within $TimeoutSec s"
    }
    $p.WaitForExit()
    $r = @{ Exit = $p.ExitCode; Out = $out.Result; Err = $err.Result }
    if ($r.Exit -ne 0 -and -not $AllowFail) { throw "$($Argv -join ' ') exited $($r.Exit): $($r.Err.Trim()) $($r.Out.Trim())" }
    $r
}

function Start-Native([string[]]$Argv) {
    # Starts a program without waiting (a server); killed at the end.
    $psi = [System.Diagnostics.ProcessStartInfo]::new($Argv[0])
    foreach ($a in $Argv | Select-Object -Skip 1) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true; $psi.RedirectStandardInput = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $processes.Add($p)
    $p
}

function In([string]$Side) { @('nsenter', "--net=$work/lab/$Side", '--') }   # a command line prefix: run in host|outside

function Wait-Listener([string]$Side, [int]$Port, [int]$TimeoutSec = 15) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ($true) {
        $r = Invoke-Native ((In $Side) + @('ss', '-Hltn', "sport = :$Port")) -AllowFail
        if ($r.Exit -eq 0 -and $r.Out.Trim()) { return }
        if ([DateTime]::UtcNow -gt $deadline) { throw "nothing listens on TCP port $Port in the lab's $Side namespace after $TimeoutSec s" }
        Start-Sleep -Milliseconds 20
    }
}

function Measure-Iperf([string[]]$Client, [string]$Address, [int]$Port, [switch]$Reverse) {
    # Median Gbit/s of -Runs iperf3 runs of -Seconds each; $Client is the command line prefix that puts the client
    # where it must run (a namespace, a container).
    $gbps = foreach ($i in 1..$Runs) {
        $argv = $Client + @('iperf3', '-c', $Address, '-p', "$Port", '-t', "$Seconds", '-J')
        if ($Reverse) { $argv += '-R' }
        $r = Invoke-Native $argv -TimeoutSec ($Seconds + 30) -AllowFail
        $j = $null
        try { $j = $r.Out | ConvertFrom-Json } catch { }
        if (-not $j -or $j.error -or -not $j.end.sum_received) { throw "iperf3 failed ($($argv -join ' ')): $(if ($j.error) { $j.error } else { $r.Err + $r.Out })" }
        $j.end.sum_received.bits_per_second / 1e9
    }
    Median $gbps
}

$connectClient = @'
import socket, sys, time, json
addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ms = []
for _ in range(n):
    t0 = time.perf_counter()
    s = socket.create_connection((addr, port), timeout=5)
    ms.append((time.perf_counter() - t0) * 1000)
    s.close()
print(json.dumps(ms))
'@

# The server the connects go to, the same binary beside the floor and inside the containers: accept and close, with a
# deep backlog (busybox httpd listens with a backlog of 9, so a burst of connects loses SYNs and waits 1 s for the
# retransmit, which would measure the server, not the network).
$acceptSource = @'
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_ANY) };
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (argc < 2 || bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 4096)) return 1;
    for (;;) { int c = accept(s, 0, 0); if (c >= 0) close(c); }
}
'@

function Measure-Connects([string]$From, [string]$Address, [int]$Port) {
    # -Connects TCP connects (connect() until established, then close) from one side of the lab; returns @(median, p95) ms.
    $r = Invoke-Native ((In $From) + @('python3', '-c', $connectClient, $Address, "$Port", "$Connects")) -TimeoutSec 120
    [double[]]$ms = $r.Out | ConvertFrom-Json
    @((Median $ms), (Percentile $ms 0.95))
}

function Measure-Cycles([string[]]$Argv, [scriptblock]$Fallback) {
    # Median ms of -Cycles runs of a command line: hyperfine (-N) when present, else a Stopwatch around $Fallback.
    if (Get-Command hyperfine -CommandType Application -ErrorAction Ignore) {
        $json = "$work/hyperfine-$([guid]::NewGuid().ToString('N').Substring(0, 6)).json"
        $line = ($Argv | ForEach-Object { if ($_ -match '[\s''"$]') { "'" + ($_ -replace "'", "'\''") + "'" } else { $_ } }) -join ' '
        $warm = if ($Smoke) { 0 } else { 2 }
        $null = Invoke-Native @('hyperfine', '-N', '--style', 'none', '--runs', "$([Math]::Max(2, $Cycles))", '--warmup', "$warm", '--export-json', $json, $line) -TimeoutSec 600
        return (Get-Content $json -Raw | ConvertFrom-Json).results[0].median * 1000
    }
    $ms = foreach ($i in 1..$Cycles) { (Measure-Command $Fallback).TotalMilliseconds }
    Median $ms
}

# The module's rows: Set-Ours puts a number in; Measure-Ours runs a script block that returns it (given $ctx, the
# lab and the helpers' settings) and says so when it fails, without stopping the rest of the benchmark.
function Set-Ours([string]$Key, [double]$Value) { $measures[$Key].Ours = $Value }
function Measure-Ours([string]$Key, [scriptblock]$Measure) {
    try { Set-Ours $Key ([double](& $Measure $ctx | Select-Object -Last 1)) }
    catch { $notes.Add("PSContainers, $($measures[$Key].Label): failed: $($_.Exception.Message)") }
}

# ------------------------------------------------------------------ podman, inside the lab
$podmanWhy = $null
$holder = $null
$podman = $null
function Invoke-Podman([string[]]$Arguments, [int]$TimeoutSec = 120, [switch]$AllowFail) { Invoke-Native ($podman + $Arguments) -TimeoutSec $TimeoutSec -AllowFail:$AllowFail }

function Start-PodmanHolder {
    # A process in the lab's host network namespace and a private mount namespace with a tmpfs over /run: every
    # podman command joins both (nsenter -t <it> -m -n), so podman's mounts, its /run/netns and netavark's rules live
    # there and go with the lab.
    $p = Start-Native @('nsenter', "--net=$work/lab/host", '--', 'unshare', '--mount', '--propagation', 'private', '--',
        'sh', '-c', "mount -t tmpfs -o mode=755 $tag /run && exec sleep 100000")
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ((Get-Content "/proc/$($p.Id)/comm" -ErrorAction Ignore) -ne 'sleep') {
        if ($p.HasExited) { throw "the private mount namespace for podman could not be made: $($p.StandardError.ReadToEnd().Trim())" }
        if ([DateTime]::UtcNow -gt $deadline) { throw 'the private mount namespace for podman was not ready after 10 s' }
        Start-Sleep -Milliseconds 20
    }
    $p
}

function New-IperfRootfs([string]$Dir) {
    # busybox-static plus iperf3 and the shared libraries ldd names.
    foreach ($d in 'bin', 'usr/bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'run') { [System.IO.Directory]::CreateDirectory("$Dir/$d") | Out-Null }
    [System.IO.File]::Copy('/usr/bin/busybox', "$Dir/bin/busybox")
    foreach ($t in 'sh', 'true', 'sleep') { [System.IO.File]::CreateSymbolicLink("$Dir/bin/$t", 'busybox') | Out-Null }
    $iperf = (Get-Command iperf3 -CommandType Application | Select-Object -First 1).Source
    [System.IO.File]::Copy($iperf, "$Dir/usr/bin/iperf3")
    foreach ($lib in ((Invoke-Native @('ldd', $iperf)).Out | Select-String -Pattern '(/\S+)' -AllMatches).Matches.Value) {
        [System.IO.Directory]::CreateDirectory("$Dir$([System.IO.Path]::GetDirectoryName($lib))") | Out-Null
        if (-not [System.IO.File]::Exists("$Dir$lib")) { Invoke-Native @('cp', '-L', $lib, "$Dir$lib") | Out-Null }
    }
    [System.IO.File]::WriteAllText("$Dir/etc/passwd", "root:x:0:0:root:/:/bin/sh`n")
    [System.IO.File]::WriteAllText("$Dir/etc/group", "root:x:0:`n")
}

try {
    # ------------------------------------------------------------ tools
    if (-not (Get-Command iperf3 -CommandType Application -ErrorAction Ignore)) {
        Write-Host '== installing iperf3'
        $env:DEBIAN_FRONTEND = 'noninteractive'
        & apt-get update -qq *> $null
        & apt-get install -y -qq iperf3 *> $null
        if (-not (Get-Command iperf3 -CommandType Application -ErrorAction Ignore)) { throw 'iperf3 is missing and apt-get could not install it' }
    }
    foreach ($tool in 'python3', 'nsenter', 'unshare', 'ip', 'ss') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { throw "bench/network.ps1 needs $tool" }
    }
    [System.IO.Directory]::CreateDirectory($work) | Out-Null
    $null = Invoke-Native @('bash', $netlab, 'up', "$work/lab") -TimeoutSec 30
    $ctx = [pscustomobject]@{ Lab = "$work/lab"; HostNetns = "$work/lab/host"; OutsideNetns = "$work/lab/outside"
        HostAddress = '198.51.100.1'; OutsideAddress = '198.51.100.2'; Work = $work; Tag = $tag }

    # ------------------------------------------------------------ (a) the floor: the bare veth pair
    Write-Host "== the floor: iperf3 over a bare veth pair ($Runs x $Seconds s each way)"
    $null = Start-Native ((In 'outside') + @('iperf3', '-s', '-p', '5201'))
    Wait-Listener outside 5201
    $measures['to-outside'].Floor = Measure-Iperf (In 'host') $ctx.OutsideAddress 5201
    $measures['from-outside'].Floor = Measure-Iperf (In 'host') $ctx.OutsideAddress 5201 -Reverse
    [System.IO.File]::WriteAllText("$work/acceptd.c", $acceptSource)
    $cc = Invoke-Native @('cc', '-static', '-O2', '-o', "$work/acceptd", "$work/acceptd.c") -AllowFail
    $acceptd = if ($cc.Exit -eq 0) { "$work/acceptd" } else { $null }
    if ($acceptd) {
        Write-Host "   $Connects connects to a server in host"
        $null = Start-Native ((In 'host') + @($acceptd, '8081'))
        Wait-Listener host 8081
        $measures['connect-median'].Floor, $measures['connect-p95'].Floor = Measure-Connects outside $ctx.HostAddress 8081
    } else { $notes.Add("connect latency left out: cc -static could not build the accept server: $($cc.Err.Trim())") }

    # ------------------------------------------------------------ (b) podman's bridge network, inside the lab
    if (-not (Get-Command podman -CommandType Application -ErrorAction Ignore)) { $podmanWhy = 'podman is not installed' }
    else {
        try {
            Write-Host '== podman: bridge network inside the lab'
            $rootfs = "$work/rootfs"
            New-IperfRootfs $rootfs
            if ($acceptd) { [System.IO.File]::Copy($acceptd, "$rootfs/bin/acceptd") }
            [System.IO.Directory]::CreateDirectory("$work/podman/networks") | Out-Null
            # No default ulimits (these machines cannot raise them), cgroupfs, events to a file, its network config
            # in this run's folder.
            [System.IO.File]::WriteAllText("$work/podman/containers.conf", @"
[containers]
default_ulimits = []
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
network_config_dir = "$work/podman/networks"
"@)
            $holder = Start-PodmanHolder
            # $podman[0..5] enters the namespaces, the rest is podman's own command line
            $podman = @('nsenter', '-t', "$($holder.Id)", '-m', '-n', '--', 'env', "CONTAINERS_CONF=$work/podman/containers.conf",
                'podman', '--root', "$work/podman/root", '--runroot', "$work/podman/run", '--tmpdir', "$work/podman/tmp")
            $id = (Invoke-Podman @('run', '-d', '--name', "$tag-srv", '--network', 'bridge', '-p', '8201:5201', '-p', '8080:80', '--rootfs', $rootfs,
                    '/bin/sh', '-c', "/usr/bin/iperf3 -s -p 5201 -D && exec $(if ($acceptd) { '/bin/acceptd 80' } else { '/bin/sleep 100000' })")).Out.Trim()
            $podmanIds.Add($id)
            Wait-Listener host 8201
            $inCtr = $podman + @('exec', "$tag-srv")
            Write-Host "   iperf3 container -> outside, outside -> published port ($Runs x $Seconds s each)"
            $measures['to-outside'].Podman = Measure-Iperf $inCtr $ctx.OutsideAddress 5201
            # conmon holds the published ports open on the host side at once; the servers inside listen a moment later
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (($listening = (Invoke-Native ($inCtr + @('/bin/busybox', 'netstat', '-ltn')) -AllowFail).Out) -notmatch ':5201 ' -or ($acceptd -and $listening -notmatch ':80 ')) {
                if ([DateTime]::UtcNow -gt $deadline) { throw "the servers did not listen inside the podman container: $listening" }
                Start-Sleep -Milliseconds 50
            }
            $measures['from-outside'].Podman = Measure-Iperf (In 'outside') $ctx.HostAddress 8201
            if ($acceptd) {
                Write-Host "   $Connects connects through the published port"
                $measures['connect-median'].Podman, $measures['connect-p95'].Podman = Measure-Connects outside $ctx.HostAddress 8080
            }
            Write-Host "   create + remove, run --rm ($Cycles cycles each)"
            # one shell in podman's namespaces per cycle, so both commands are timed without two nsenter starts
            $podmanLine = ($podman[6..($podman.Count - 1)]) -join ' '
            $createRm = @($podman[0..5]) + @('sh', '-c', "id=`$($podmanLine create --network bridge --rootfs $rootfs /bin/true) && $podmanLine rm `$id >/dev/null")
            $measures['create-remove'].Podman = Measure-Cycles $createRm { Invoke-Native $createRm | Out-Null }
            $runRm = $podman + @('run', '--rm', '--network', 'bridge', '--rootfs', $rootfs, '/bin/true')
            $measures['run-remove'].Podman = Measure-Cycles $runRm { Invoke-Native $runRm | Out-Null }
        } catch {
            $podmanWhy = "podman could not run inside the lab's namespace: $($_.Exception.Message)"
        }
    }
    if ($podmanWhy) { $notes.Add("podman left out: $podmanWhy") }

    # ============================================================ PSContainers rows ==================================
    # The module in this session (as a user's script runs it), its bridge in the lab's host namespace
    # ($env:PSCONTAINERS_HOST_NETNS) and a depot of this run's. A bridged container without a root sees the host's
    # files, so the host's iperf3 and the accept server run in it as tracked processes.
    Write-Host '== PSContainers: bridge network inside the lab'
    $module = Get-ChildItem -Path (Join-Path $PSScriptRoot '../out/PSContainers') -Filter PSContainers.psd1 -Recurse | Select-Object -First 1
    Import-Module $module.FullName
    $env:PSCONTAINERS_HOST_NETNS = $ctx.HostNetns
    $env:PSCONTAINERS_DEPOT = "$work/depot"
    $env:PSCONTAINERS_STORE = "$work/store"
    try {
        $srv = New-Container -Name "$tag-srv" -Network Bridge -PublishPort '9201:5201', '9080:80' | Start-Container -PassThru
        $inOurs = @('nsenter', '-t', "$($srv.InitPid)", '-n', '--')   # the container's network namespace
        $null = Start-ContainerProcess -Name $srv.Name (Get-Command iperf3 -CommandType Application | Select-Object -First 1).Source -ArgumentList '-s', '-p', '5201'
        if ($acceptd) { $null = Start-ContainerProcess -Name $srv.Name $acceptd -ArgumentList '80' }
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while (($listening = (Invoke-Native ($inOurs + @('ss', '-Hltn')) -AllowFail).Out) -notmatch ':5201\b' -or ($acceptd -and $listening -notmatch ':80\b')) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "the servers did not listen inside the container: $listening" }
            Start-Sleep -Milliseconds 20
        }
        Write-Host "   iperf3 container -> outside, outside -> published port ($Runs x $Seconds s each)"
        Measure-Ours 'to-outside' { param($ctx) Measure-Iperf $inOurs $ctx.OutsideAddress 5201 }
        Measure-Ours 'from-outside' { param($ctx) Measure-Iperf (In 'outside') $ctx.HostAddress 9201 }
        if ($acceptd) {
            Write-Host "   $Connects connects through the published port"
            $ours = Measure-Connects outside $ctx.HostAddress 9080
            Set-Ours 'connect-median' $ours[0]; Set-Ours 'connect-p95' $ours[1]
        }
        Write-Host "   create + remove, run /bin/true ($Cycles cycles each, in this session)"
        Measure-Ours 'create-remove' {
            $n = 0
            $ms = foreach ($i in 1..$Cycles) {
                $name = "$tag-c$(($n++))"
                (Measure-Command { New-Container -Name $name -Network Bridge /bin/true | Out-Null; Remove-Container -Name $name }).TotalMilliseconds
            }
            Median $ms
        }
        Measure-Ours 'run-remove' {
            $n = 0
            $ms = foreach ($i in 1..$Cycles) {
                $name = "$tag-r$(($n++))"
                (Measure-Command { New-Container -Name $name -Network Bridge /bin/true | Start-Container -PassThru | Wait-Container | Out-Null; Remove-Container -Name $name }).TotalMilliseconds
            }
            Median $ms
        }
    } catch {
        $notes.Add("PSContainers: $($_.Exception.Message)")
    } finally {
        Get-Container -ErrorAction Ignore | Remove-Container -Force -Confirm:$false -ErrorAction Continue
        $env:PSCONTAINERS_HOST_NETNS = $null
    }
    # ===================================================================================================================
} finally {
    # ------------------------------------------------------------ clean up, also on failure
    if ($podman) {
        try { $null = Invoke-Podman @('rm', '-f', '-t', '0', '-a') -TimeoutSec 60 -AllowFail } catch { $notes.Add("podman rm: $($_.Exception.Message)") }
    }
    # anything of podman's still alive (the container's processes by its cgroup, conmon by its command line)
    foreach ($id in $podmanIds) {
        foreach ($procs in Get-ChildItem -Path "/sys/fs/cgroup/*/libpod_parent/libpod-$id*/cgroup.procs", "/sys/fs/cgroup/unified/libpod_parent/libpod-$id*/cgroup.procs" -ErrorAction Ignore) {
            foreach ($p in Get-Content $procs.FullName -ErrorAction Ignore) { & kill -9 $p 2>$null }
        }
    }
    foreach ($dir in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -match '^\d+$') {
        $cmd = try { [System.IO.File]::ReadAllText("$($dir.FullName)/cmdline") } catch { '' }
        if ($cmd.Contains($work) -and [int]$dir.Name -ne $PID) { & kill -9 $dir.Name 2>$null }
    }
    foreach ($p in $processes) { try { if (-not $p.HasExited) { $p.Kill($true); $null = $p.WaitForExit(5000) } } catch { } }
    if ([System.IO.Directory]::Exists("$work/lab")) {
        $down = Invoke-Native @('bash', $netlab, 'down', "$work/lab") -TimeoutSec 30 -AllowFail
        if ($down.Exit -ne 0) { $notes.Add("netlab.sh down: $($down.Err.Trim())") }
    }
    # cgroups: the module's root, and podman's libpod_parent when this run made it (deepest first; empty ones only)
    $cgs = @(Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction Ignore | ForEach-Object {
            if ([System.IO.Directory]::Exists("$($_.FullName)/$tag")) { "$($_.FullName)/$tag" }
            if ($libpodBefore -eq 0 -and [System.IO.Directory]::Exists("$($_.FullName)/libpod_parent")) { "$($_.FullName)/libpod_parent" }
        })
    foreach ($cg in $cgs) {
        @([System.IO.Directory]::GetDirectories($cg, '*', [System.IO.SearchOption]::AllDirectories)) + $cg |
            Sort-Object Length -Descending | ForEach-Object { & rmdir $_ 2>$null }
    }
    $env:PSCONTAINERS_CGROUP_ROOT = $null
    if ([System.IO.Directory]::Exists($work)) {
        if ([System.IO.File]::ReadAllText('/proc/self/mountinfo').Contains($work)) { $notes.Add("$work still has mounts; left in place") }
        else { & rm -rf -- $work }   # rm, not Remove-Item: it follows the root's etc/mtab link to /proc/mounts
    }
}

# ------------------------------------------------------------------ the table and the ratios
function Fmt($v, [string]$unit) { if ($null -eq $v) { '' } elseif ($unit -eq 'Gbit/s') { '{0:N2}' -f $v } else { '{0:N3}' -f $v } }
function Ratio($a, $b) { if ($null -eq $a -or -not $b) { '' } else { '{0:N2}' -f ($a / $b) } }
$table = foreach ($m in $measures.Values) {
    [pscustomobject]@{
        Measure = $m.Label; Unit = $m.Unit
        'Floor (veth)' = Fmt $m.Floor $m.Unit; Podman = Fmt $m.Podman $m.Unit; PSContainers = Fmt $m.Ours $m.Unit
        'ours/floor' = Ratio $m.Ours $m.Floor; 'ours/podman' = Ratio $m.Ours $m.Podman
    }
}
$table | Format-Table -AutoSize | Out-String -Width 220
foreach ($n in $notes) { Write-Host "note: $n" }
Write-Host ("Machine: nproc {0}, kernel {1}; iperf3 {2}; {3}; bench/network.ps1{4} took {5:N0} s" -f [Environment]::ProcessorCount,
    [System.IO.File]::ReadAllText('/proc/sys/kernel/osrelease').Trim(), ((& iperf3 --version 2>$null | Select-Object -First 1) -replace '^iperf\s*', ''),
    $(if (Get-Command podman -CommandType Application -ErrorAction Ignore) { (& (Get-Command podman -CommandType Application | Select-Object -First 1).Source --version 2>$null) } else { 'no podman' }), $(if ($Smoke) { ' -Smoke' } else { '' }), $started.Elapsed.TotalSeconds)
