# What a container with a root gets inside (New-Container -RootPath): /proc, a minimal /dev, a read-only /sys, /tmp and
# its own /etc files, mounted in its own mount namespace; the folder gains only the mount points it lacked.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:HasBusybox = [System.IO.File]::Exists('/usr/bin/busybox')

    function New-BusyboxRoot {
        # A root with only /bin: the static busybox and a link per applet.
        $rootfs = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "psc-rootfs-$([guid]::NewGuid().ToString('N').Substring(0, 8))")
        $bin = [System.IO.Path]::Combine($rootfs, 'bin')
        $null = [System.IO.Directory]::CreateDirectory($bin)
        [System.IO.File]::Copy('/usr/bin/busybox', [System.IO.Path]::Combine($bin, 'busybox'))
        foreach ($applet in (& /usr/bin/busybox --list)) {
            if ($applet -ne 'busybox') { $null = [System.IO.File]::CreateSymbolicLink([System.IO.Path]::Combine($bin, $applet), 'busybox') }
        }
        $rootfs
    }

    function Get-Listing([string]$Path) {
        [System.IO.Directory]::GetFileSystemEntries($Path, '*', [System.IO.SearchOption]::AllDirectories) |
            ForEach-Object { [System.IO.Path]::GetRelativePath($Path, $_) } | Sort-Object
    }
}

AfterAll {
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'A container with -RootPath' {
    BeforeEach {
        if (-not $HasBusybox) { Set-ItResult -Skipped -Because 'needs /usr/bin/busybox (the busybox-static package)'; return }
        $script:rootfs = New-BusyboxRoot
    }

    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
        if ($script:rootfs) { [System.IO.Directory]::Delete($script:rootfs, $true); $script:rootfs = $null }
    }

    It 'gets /proc, /dev, a read-only /sys, /tmp and its own /etc files in a root that has only /bin' {
        $before = Get-Listing $rootfs
        $script = 'cat /proc/1/comm; echo x > /dev/null && echo null-ok; (echo x > /dev/full) 2>&1; readlink /dev/ptmx; ' +
            'touch /dev/shm/x && echo shm-ok; (touch /sys/x) 2>&1; stat -c %a /tmp; cat /etc/hostname; grep -c web1 /etc/hosts'
        $out = New-Container -Name web1 /bin/sh -ArgumentList '-c', $script -RootPath $rootfs | Start-Container -Wait 2>&1 | ForEach-Object { "$_" }
        $out | Should -Contain 'psc-init'
        $out | Should -Contain 'null-ok'
        $out | Where-Object { $_ -like '*No space left on device*' } | Should -Not -BeNullOrEmpty
        $out | Should -Contain 'pts/ptmx'
        $out | Should -Contain 'shm-ok'
        $out | Where-Object { $_ -like '*/sys/x*Read-only file system*' } | Should -Not -BeNullOrEmpty
        $out | Should -Contain '1777'
        $out | Should -Contain 'web1'
        $out[-1] | Should -Be '1'
        # On the host: only the mount points it lacked, and nothing mounted there.
        Compare-Object $before (Get-Listing $rootfs) | ForEach-Object InputObject | Sort-Object |
            Should -Be @('dev', 'etc', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf', 'proc', 'sys', 'tmp')
        [System.IO.File]::ReadAllText('/proc/self/mountinfo') | Should -Not -Match ([regex]::Escape($rootfs))
    }

    It 'gives a terminal process from Start-ContainerProcess -Tty a pty of the container''s own devpts' {
        $null = New-Container -Name tty1 /bin/sleep -ArgumentList 300 -RootPath $rootfs | Start-Container
        $p = Start-ContainerProcess -Name tty1 /bin/sh -ArgumentList '-c', 'tty; ls -1 /dev/pts' -Tty
        $p = $p | Wait-ContainerProcess
        $p.ExitCode | Should -Be 0
        (Get-ContainerLog -Name tty1 -ProcessId $p.Id | ForEach-Object { "$_".Trim() }) | Should -Be @('/dev/pts/0', '0', 'ptmx')
    }

    It 'still works with a user namespace, /sys read-only' {
        $out = New-Container -Name userns1 /bin/sh -ArgumentList '-c', '(touch /sys/x) 2>&1; echo x > /dev/null && echo null-ok' -RootPath $rootfs -Isolation Pid, Mount, Uts, Ipc, User |
            Start-Container -Wait 2>&1 | ForEach-Object { "$_" }
        $out | Where-Object { $_ -like '*Read-only file system*' } | Should -Not -BeNullOrEmpty
        $out | Should -Contain 'null-ok'
    }
}
