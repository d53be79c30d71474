# Image containers end to end through the built module in real pwsh: a copy-on-write root over an image imported
# from a busybox folder into the test's store ($env:PSCONTAINERS_STORE), a disk limit that fails writes (and copies)
# inside with ENOSPC, the layer's usage in Get-ContainerStats, bad input that changes nothing, and a removal that
# leaves no mount, loop device or folder.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Store = $env:PSCONTAINERS_STORE
    $script:Why = if (-not $IsRoot) { 'the suite is not running as root, so it cannot make containers' }
    elseif (-not [System.IO.File]::Exists('/usr/bin/busybox')) { 'needs /usr/bin/busybox (busybox-static) for the test image' }
    elseif (-not [System.IO.File]::Exists('/dev/loop-control')) { 'needs loop devices' }

    function New-TestImage([string]$Name) {
        # A busybox root folder, imported as it is (psc-init gives the container its /dev, /proc, /sys and /tmp).
        $rootfs = "$Depot-rootfs-$Name"
        foreach ($d in 'bin', 'etc') { $null = [System.IO.Directory]::CreateDirectory("$rootfs/$d") }
        [System.IO.File]::Copy('/usr/bin/busybox', "$rootfs/bin/busybox", $true)
        foreach ($t in 'sh', 'cat', 'echo', 'dd', 'rm', 'touch', 'test', 'ls') { $null = [System.IO.File]::CreateSymbolicLink("$rootfs/bin/$t", 'busybox') }
        [System.IO.File]::WriteAllText("$rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh`n")
        [System.IO.File]::WriteAllText("$rootfs/etc/motd", "from the image`n")
        try { Import-ContainerImage -Path $rootfs -Name $Name | Out-Null } finally { [System.IO.Directory]::Delete($rootfs, $true) }
    }

    function Get-LoopDevicesUnder([string]$Dir) {
        Get-ChildItem /sys/block -Filter 'loop*' | ForEach-Object {
            $f = "$($_.FullName)/loop/backing_file"
            if ([System.IO.File]::Exists($f)) { $b = [System.IO.File]::ReadAllText($f).Trim(); if ($b.StartsWith("$Dir/")) { $b } }
        }
    }

    function Get-MountsUnder([string]$Dir) {
        [System.IO.File]::ReadAllLines('/proc/self/mountinfo') | ForEach-Object { $_.Split(' ')[4] } | Where-Object { $_ -eq $Dir -or $_.StartsWith("$Dir/") }
    }

    if (-not $Why) { New-TestImage busy }
}

AfterAll {
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'New-Container -Image' {
    AfterEach {
        if (-not $Why) { Get-Container | Remove-Container -Force -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'runs in a copy-on-write root: writes land in its layer, the image never changes' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name cow -Image busy /bin/sh -ArgumentList '-c', 'echo new > /note; rm /etc/motd; cat /note'
        $c.Spec.Image | Should -Be 'busy'
        $c.Spec.RootPath | Should -Be "$Store/layers/cow/merged"
        $done = $c | Start-Container -PassThru | Wait-Container
        $done.ExitCode | Should -Be 0
        Get-ContainerLog -Name cow | Should -Be 'new'
        [System.IO.File]::Exists("$Store/images/busy/rootfs/note") | Should -BeFalse
        [System.IO.File]::ReadAllText("$Store/images/busy/rootfs/etc/motd") | Should -Be "from the image`n"
        [System.IO.File]::ReadAllText("$Store/layers/cow/merged/note") | Should -Be "new`n"  # reachable while stopped
        [System.IO.File]::Exists("$Store/layers/cow/merged/etc/motd") | Should -BeFalse
        $s = Get-ContainerStats -Name cow
        $s.InodesUsed | Should -BeGreaterOrEqual 2  # /note and the whiteout of /etc/motd (/etc is in the empty layer: its mount points)
        $s.DiskLimit | Should -BeNullOrEmpty
    }

    It 'fails writes past -DiskLimit inside with ENOSPC, reports the usage, and removes everything' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name full -Image busy -DiskLimit 8MB /bin/sh -ArgumentList '-c', 'dd if=/dev/zero of=/big bs=64k count=1000; echo dd=$?'
        (Get-ContainerStats -Name full).DiskUsage | Should -Be 0
        $c | Start-Container -PassThru | Wait-Container | Select-Object -ExpandProperty ExitCode | Should -Be 0
        Get-ContainerLog -Name full -Stream Stdout | Should -Contain 'dd=1'
        (Get-ContainerLog -Name full -Stream Stderr) -join "`n" | Should -Match 'No space left on device'
        $s = Get-ContainerStats -Name full
        $s.DiskLimit | Should -Be 8MB
        $s.DiskUsage | Should -BeGreaterThan (8MB * 0.85)
        $s.DiskUsage | Should -BeLessOrEqual 8MB
        @(Get-LoopDevicesUnder "$Store/layers/full").Count | Should -Be 1
        Remove-Container -Name full -Confirm:$false
        @(Get-MountsUnder "$Store/layers/full").Count | Should -Be 0
        @(Get-LoopDevicesUnder "$Store/layers/full").Count | Should -Be 0
        [System.IO.Directory]::Exists("$Store/layers/full") | Should -BeFalse
    }

    It 'refuses a copy bigger than the disk limit with the error from inside, and leaves nothing of it' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name small -Image busy -DiskLimit 4MB | Out-Null
        $big = "$Depot-big"
        [System.IO.File]::WriteAllBytes($big, [byte[]]::new(8MB))
        try {
            { Copy-ContainerItem -Path $big -Destination /data/big -ToContainer small -ErrorAction Stop } |
                Should -Throw -ErrorId 'CopyWrite,ENOSPC,PSContainers.Commands.CopyContainerItemCommand'
        } finally { [System.IO.File]::Delete($big) }
        # Nothing half-written is visible: no /data/big, no temporary; the layer is as good as empty again.
        $left = [System.IO.Directory]::GetFileSystemEntries("$Store/layers/small/merged", '*', [System.IO.SearchOption]::AllDirectories) |
            Where-Object { $_ -like '*big*' -or $_ -like '*.psc-copy-*' }
        $left | Should -BeNullOrEmpty
        (Get-ContainerStats -Name small).DiskUsage | Should -BeLessThan 64KB
    }

    It 'limits inodes with -InodeLimit and reports the real limit' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name few -Image busy -DiskLimit 4MB -InodeLimit 30 /bin/sh -ArgumentList '-c', 'i=0; while touch /f$i 2>/dev/null; do i=$((i+1)); done; echo $i'
        $c.Spec.InodeLimit | Should -BeGreaterOrEqual 30
        $c | Start-Container -PassThru | Wait-Container | Out-Null
        [int](Get-ContainerLog -Name few) | Should -Be $c.Spec.InodeLimit
        (Get-ContainerStats -Name few).InodeLimit | Should -Be $c.Spec.InodeLimit
    }

    It 'refuses <Case> with <Id>, and makes nothing' -ForEach @(
        @{ Case = 'a disk limit below 1 MiB'; Id = 'DiskLimitTooSmall'; Category = 'InvalidArgument'; Shows = '1000'; Call = { New-Container -Name bad -Image busy -DiskLimit 1000 /bin/true } }
        @{ Case = 'an inode limit of 0'; Id = 'InvalidInodeLimit'; Category = 'InvalidArgument'; Shows = '0'; Call = { New-Container -Name bad -Image busy -DiskLimit 4MB -InodeLimit 0 /bin/true } }
        @{ Case = 'an unknown image'; Id = 'ImageNotFound'; Category = 'ObjectNotFound'; Shows = "'nosuch'"; Call = { New-Container -Name bad -Image nosuch /bin/true } }
        @{ Case = '-Image with -RootPath'; Id = 'ImageWithRootPath'; Category = 'InvalidArgument'; Shows = "'busy'"; Call = { New-Container -Name bad -Image busy -RootPath / /bin/true } }
        @{ Case = '-DiskLimit without -Image'; Id = 'DiskLimitNeedsImage'; Category = 'InvalidArgument'; Shows = '4194304'; Call = { New-Container -Name bad -DiskLimit 4MB /bin/true } }
    ) {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $loops = @(Get-ChildItem /sys/block -Filter 'loop*' | Where-Object { Test-Path "$($_.FullName)/loop/backing_file" }).Count
        $err = $null
        $ErrorActionPreference = 'Stop'
        try { $null = & $Call } catch { $err = $_ }
        $ErrorActionPreference = 'Continue'
        $err | Should -Not -BeNullOrEmpty -Because 'the call must be refused'
        $err.FullyQualifiedErrorId | Should -Be "$Id,PSContainers.Commands.NewContainerCommand"
        "$($err.CategoryInfo.Category)" | Should -Be $Category
        $err.Exception.Message | Should -BeLike "*$Shows*" -Because 'the message names the offending value'
        @(Get-ChildItem /sys/block -Filter 'loop*' | Where-Object { Test-Path "$($_.FullName)/loop/backing_file" }).Count | Should -BeLessOrEqual $loops
        Get-Container -Name bad -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        [System.IO.Directory]::Exists("$Store/layers/bad") | Should -BeFalse
        @(Get-MountsUnder $Store).Count | Should -Be 0
    }
}
