# bench/files.ps1: images, copy-on-write roots and copies, side by side with the peers on the same machine (issue 18).
#
#   sudo dotnet pwsh -NoProfile -File bench/files.ps1 [-Rounds 20] [-Smoke]
#
# Rows (medians of -Rounds; ratios are ours / the peer's, below 1 is faster):
#   create+start+wait+remove of /bin/true in an image container (copy-on-write root), with and without a disk limit,
#     next to `podman run --rm` of the same rootfs (`podman import`, no registry) and `runc run` of a bundle of it
#     (runc runs in the bundle's folder as it is: the fair row for it is a -RootPath container of the same folder);
#   copy-in and copy-out of one 100 MiB file and of 10,000 small files with a running image container, next to
#     `tar -c | nsenter -t <init> -m tar -x` (raw tar into the container's mount namespace; busybox's tar inside) and
#     `podman cp` (into and out of a podman container of the same image).
# The root filesystem is busybox-static's /usr/bin/busybox. Peers that are missing are left out with a note.
# Everything it makes (a depot and an image store under /tmp, a cgroup root named psc-fbench-<pid>, the podman image
# and container, the runc bundle) is removed at the end, also on failure.
param([int]$Rounds = 20, [switch]$Smoke)
$ErrorActionPreference = 'Stop'
if ($Smoke) { $Rounds = 2 }
$module = Get-ChildItem -Path (Join-Path $PSScriptRoot '../out/PSContainers') -Filter PSContainers.psd1 -Recurse | Select-Object -First 1
Import-Module $module.FullName
$tag = "psc-fbench-$PID"
$work = Join-Path ([System.IO.Path]::GetTempPath()) $tag
$env:PSCONTAINERS_DEPOT = "$work/depot"
$env:PSCONTAINERS_STORE = "$work/store"
$env:PSCONTAINERS_CGROUP_ROOT = $tag              # a cgroup root of its own, removed at the end
$env:CONTAINERS_CONF = "$work/containers.conf"   # podman's default ulimits cannot be raised on these machines
$have = @{ podman = [bool](Get-Command podman -ErrorAction Ignore); runc = [bool](Get-Command runc -ErrorAction Ignore); jq = [bool](Get-Command jq -ErrorAction Ignore) }
$rows = [System.Collections.Generic.List[object]]::new()
# podman (cgroupfs manager) leaves libpod_parent/ and its conmon/ cgroups behind: removed at the end when this run made them
$libpodBefore = @(Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction Ignore | ForEach-Object { Get-Item "$($_.FullName)/libpod_parent" -ErrorAction Ignore }).Count

function Median([double[]]$ms) { $s = $ms | Sort-Object; $s[[int][Math]::Floor(($s.Count - 1) / 2)] }
function Time([scriptblock]$run, [scriptblock]$before = {}, [scriptblock]$after = {}) {
    $ms = foreach ($i in 1..$Rounds) { & $before; $t = (Measure-Command $run).TotalMilliseconds; & $after; $t }
    Median $ms
}
function Row([string]$what, [double]$ours, [string]$peer, [double]$theirs) {
    $rows.Add([pscustomobject]@{ Row = $what; 'PSContainers ms' = [Math]::Round($ours, 1); Peer = $peer; 'Peer ms' = [Math]::Round($theirs, 1); Ratio = if ($theirs) { [Math]::Round($ours / $theirs, 2) } else { $null } })
}
function Native([string]$file, [string[]]$arguments) {
    & $file @arguments | Out-Null
    if ($LASTEXITCODE) { throw "$file $arguments exited $LASTEXITCODE" }
}

try {
    # ------------------------------------------------------------ a busybox root, its tar, the image
    $rootfs = "$work/rootfs"
    foreach ($d in 'bin', 'etc', 'proc', 'dev', 'sys', 'tmp', 'srv') { [System.IO.Directory]::CreateDirectory("$rootfs/$d") | Out-Null }
    [System.IO.File]::Copy('/usr/bin/busybox', "$rootfs/bin/busybox")
    foreach ($t in 'sh', 'true', 'tar', 'cat', 'sleep') { [System.IO.File]::CreateSymbolicLink("$rootfs/bin/$t", 'busybox') | Out-Null }
    [System.IO.File]::WriteAllText("$rootfs/etc/passwd", "root:x:0:0:root:/:/bin/sh`n")
    [System.IO.File]::WriteAllText("$rootfs/etc/group", "root:x:0:`n")
    Native tar @('-C', $rootfs, '-cf', "$work/rootfs.tar", '.')
    Import-ContainerImage -Path "$work/rootfs.tar" -Name bench | Out-Null
    [System.IO.File]::WriteAllText($env:CONTAINERS_CONF, "[containers]`ndefault_ulimits = []`n")

    # ------------------------------------------------------------ create -> start -> exit -> remove
    $n = 0
    $ours = Time { New-Container -Name "r$n" -Image bench /bin/true | Start-Container -Wait | Out-Null; Remove-Container -Name "r$n" -Force -Confirm:$false } -before { $script:n++ }
    $oursRoot = Time { New-Container -Name "p$n" -RootPath $rootfs /bin/true | Start-Container -Wait | Out-Null; Remove-Container -Name "p$n" -Force -Confirm:$false } -before { $script:n++ }
    $oursDisk = Time { New-Container -Name "d$n" -Image bench -DiskLimit 64MB /bin/true | Start-Container -Wait | Out-Null; Remove-Container -Name "d$n" -Force -Confirm:$false } -before { $script:n++ }
    if ($have.podman) {
        Native podman @('import', '-q', "$work/rootfs.tar", "localhost/$tag-img")
        $pod = Time { Native podman @('run', '--rm', '--network', 'none', "localhost/$tag-img", '/bin/true') }
        Row 'image container: create, start, exit, remove' $ours 'podman run --rm' $pod
        Row 'the same with a 64 MiB disk limit' $oursDisk 'podman run --rm' $pod
    } else { Row 'image container: create, start, exit, remove' $ours 'podman (not installed)' 0 }
    if ($have.runc -and $have.jq) {
        $bundle = "$work/bundle"
        [System.IO.Directory]::CreateDirectory($bundle) | Out-Null
        Push-Location $bundle
        try { Native runc @('spec') } finally { Pop-Location }
        $spec = Get-Content "$bundle/config.json" -Raw | ConvertFrom-Json
        $spec.root.path = $rootfs; $spec.process.args = @('/bin/true'); $spec.process.terminal = $false
        $spec | ConvertTo-Json -Depth 20 | Set-Content "$bundle/config.json"
        $runc = Time { Native runc @('run', '-b', $bundle, "$tag-runc") }
        Row 'image container: create, start, exit, remove' $ours 'runc run (a bundle)' $runc
        Row 'the same with -RootPath (no copy-on-write, as runc)' $oursRoot 'runc run (a bundle)' $runc
    }

    # ------------------------------------------------------------ copies
    $big = "$work/big"; $small = "$work/small"
    [System.IO.Directory]::CreateDirectory($big) | Out-Null
    [System.IO.Directory]::CreateDirectory($small) | Out-Null
    $bytes = [byte[]]::new(1MB); [System.Random]::new(1).NextBytes($bytes)
    $fs = [System.IO.File]::Create("$big/data"); try { foreach ($i in 1..100) { $fs.Write($bytes, 0, $bytes.Length) } } finally { $fs.Dispose() }
    $count = if ($Smoke) { 200 } else { 10000 }
    foreach ($i in 1..$count) { [System.IO.File]::WriteAllBytes("$small/f$i", $bytes[0..99]) }
    New-Container -Name box -Image bench | Start-Container | Out-Null
    $init = (Get-Container -Name box).InitPid
    $k = 0
    foreach ($case in @(('one 100 MiB file', $big), ("$count small files", $small))) {
        $label, $src = $case
        $copied = "/srv/in$($k + 1)"   # what the first round writes, copied out below
        $in = Time { Copy-ContainerItem -Path $src -Destination "/srv/in$k" -ToContainer box -Recurse } -before { $script:k++ }
        $tarIn = Time { bash -c "tar -C '$src' -cf - . | nsenter -t $init -m sh -c 'mkdir -p /srv/t$k && tar -C /srv/t$k -xf -'"; if ($LASTEXITCODE) { throw 'tar in failed' } } -before { $script:k++ }
        Row "copy in, $label" $in 'tar | nsenter tar' $tarIn
        $out = Time { Copy-ContainerItem -Path $copied -Destination "$work/out$k" -FromContainer box -Recurse } -before { $script:k++ } -after { Remove-Item -Recurse -Force "$work/out$k" }
        $tarOut = Time { bash -c "mkdir -p '$work/o$k' && nsenter -t $init -m tar -C $copied -cf - . | tar -C '$work/o$k' -xf -"; if ($LASTEXITCODE) { throw 'tar out failed' } } -before { $script:k++ } -after { Remove-Item -Recurse -Force "$work/o$k" }
        Row "copy out, $label" $out 'nsenter tar | tar' $tarOut
        Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'rm -rf /srv/*' | Out-Null
    }
    if ($have.podman) {
        Native podman @('run', '-d', '--network', 'none', '--name', "$tag-pod", "localhost/$tag-img", '/bin/sleep', '3600')
        foreach ($case in @(('one 100 MiB file', $big), ("$count small files", $small))) {
            $label, $src = $case
            $in = Time { Copy-ContainerItem -Path $src -Destination "/srv/in$k" -ToContainer box -Recurse } -before { $script:k++ } -after { Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'rm -rf /srv/*' | Out-Null }
            $pin = Time { Native podman @('cp', $src, "$tag-pod:/srv/in$k") } -before { $script:k++ } -after { Native podman @('exec', "$tag-pod", '/bin/sh', '-c', 'rm -rf /srv/*') }
            Row "copy in, $label" $in 'podman cp' $pin
            Copy-ContainerItem -Path $src -Destination /srv/src -ToContainer box -Recurse
            Native podman @('cp', $src, "$tag-pod:/srv/src")
            $out = Time { Copy-ContainerItem -Path /srv/src -Destination "$work/out$k" -FromContainer box -Recurse } -before { $script:k++ } -after { Remove-Item -Recurse -Force "$work/out$k" }
            $pout = Time { Native podman @('cp', "$tag-pod:/srv/src", "$work/out$k") } -before { $script:k++ } -after { Remove-Item -Recurse -Force "$work/out$k" }
            Row "copy out, $label" $out 'podman cp' $pout
            Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'rm -rf /srv/*' | Out-Null
            Native podman @('exec', "$tag-pod", '/bin/sh', '-c', 'rm -rf /srv/*')
        }
    }
} finally {
    if ($have.podman) {
        & podman rm -f "$tag-pod" 2>$null | Out-Null
        & podman rmi -f "localhost/$tag-img" 2>$null | Out-Null
    }
    if ($have.runc) { & runc delete -f "$tag-runc" 2>$null | Out-Null }
    if ($libpodBefore -eq 0) {
        foreach ($top in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction Ignore) {
            $lp = "$($top.FullName)/libpod_parent"
            if ([System.IO.Directory]::Exists($lp)) {
                # deepest first; rmdir of an empty cgroup is all the kernel needs
                [System.IO.Directory]::GetDirectories($lp, '*', [System.IO.SearchOption]::AllDirectories) + $lp |
                    Sort-Object Length -Descending | ForEach-Object { & rmdir $_ 2>$null }
            }
        }
    }
    Get-Container | Remove-Container -Force -Confirm:$false -ErrorAction Continue
    Get-ContainerImage | Remove-ContainerImage -Confirm:$false -ErrorAction Continue
    Remove-CGroup -Path "/$tag" -Recurse -Force -Confirm:$false -ErrorAction Continue
    Remove-Item -Recurse -Force -LiteralPath $work -ErrorAction Continue
}
$rows | Format-Table -AutoSize | Out-String -Width 200
