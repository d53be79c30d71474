# Every cgroup behaviour the module relies on, end to end through the built module, on whichever layout this kernel
# has: natively on the build machines' hybrid host, and through tests/vm/lane.sh on a pure cgroup v2 and a pure v1
# kernel. Each test checks the kernel's own files for the layout at hand; what a layout lacks is skipped with the
# reason printed.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    New-CGroup -Path "/$Root"

    $script:Layout = (Get-CGroup -Path "/$Root").Version.ToString()
    $script:Unified = $null
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $f = $line.Split(' ')
        if ($f[[array]::IndexOf($f, '-') + 1] -eq 'cgroup2') { $script:Unified = $f[4]; break }
    }
    $script:V2Controllers = @()
    if ($Unified) {
        $script:V2Controllers = [System.IO.File]::ReadAllText("$Unified/cgroup.controllers").Trim().Split(' ', [StringSplitOptions]::RemoveEmptyEntries)
    }
    "cgroup layout: $Layout; cgroup2: $(if ($Unified) { "$Unified, controllers '$($V2Controllers -join ' ')'" } else { 'not mounted' })" | Out-Host

    function CGFile([string]$Controller, [string]$Path, [string]$Name) {
        # The file of a controller for a cgroup, in whichever hierarchy serves the controller.
        "$(Get-MountPoint $Controller)$Path/$Name"
    }
    function ReadCG([string]$Controller, [string]$Path, [string]$Name) {
        [System.IO.File]::ReadAllText((CGFile $Controller $Path $Name)).Trim()
    }
    function Test-V2Serves([string]$Controller) {
        # True when cgroup2 serves the controller (a pure v2 host).
        $Unified -and ($V2Controllers -contains $Controller) -and (Get-MountPoint $Controller) -eq $Unified
    }
    function Test-SwapAccounting([string]$Path) {
        [System.IO.File]::Exists((CGFile memory $Path 'memory.memsw.limit_in_bytes')) -or [System.IO.File]::Exists((CGFile memory $Path 'memory.swap.max'))
    }
    function Start-Inside([string]$Path, [string]$Command) {
        # A shell moved into the cgroup before it runs the command (it waits for a line first).
        $p = Start-TestProcess "read x; $Command"
        Move-Process -Id $p.Id -Path $Path
        $p.StandardInput.WriteLine('go')
        $p.StandardInput.Flush()
        $p
    }
    function Wait-Until([scriptblock]$Condition, [int]$Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(50) }
    }
    function Get-BlockDevice {
        # A whole disk to read from: @{ Path = '/dev/vda'; MajMin = '254:0' }, or $null.
        if (-not [System.IO.Directory]::Exists('/sys/block')) { return $null }
        $dirs = [System.IO.Directory]::GetDirectories('/sys/block')
        [Array]::Sort($dirs)
        foreach ($dir in $dirs) {
            $name = [System.IO.Path]::GetFileName($dir)
            if ($name -match '^(vd[a-z]+|sd[a-z]+|nvme\d+n\d+)$' -and [System.IO.File]::Exists("/dev/$name")) {
                return @{ Path = "/dev/$name"; MajMin = [System.IO.File]::ReadAllText("$dir/dev").Trim() }
            }
        }
        $null
    }
}

AfterAll {
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'Cgroups on this kernel''s layout' {
    AfterEach {
        Stop-TestProcesses
        foreach ($c in Get-CGroup) { Remove-CGroup -Path $c.Path -Recurse -Force -Confirm:$false }
    }

    It 'creates a cgroup with every limit, and the kernel holds each in the layout''s own file' {
        $cg = New-CGroup -Path all -MemoryLimit 64MB -CpuLimit 0.5 -CpuWeight 300 -CpuSet 0 -PidsLimit 50 -PassThru
        $cg.MemoryLimit | Should -Be 64MB
        $cg.CpuLimit | Should -Be 0.5
        $cg.CpuWeight | Should -Be 300
        $cg.CpuSet | Should -Be '0'
        $cg.PidsLimit | Should -Be 50
        $p = "/$Root/all"
        ReadCG pids $p pids.max | Should -Be '50'
        ReadCG cpuset $p cpuset.cpus | Should -Be '0'
        if (Test-V2Serves memory) {
            ReadCG memory $p memory.max | Should -Be '67108864'
            ReadCG cpu $p cpu.max | Should -Be '50000 100000'
            ReadCG cpu $p cpu.weight | Should -Be '300'
        } else {
            ReadCG memory $p memory.limit_in_bytes | Should -Be '67108864'
            ReadCG cpu $p cpu.cfs_quota_us | Should -Be '50000'
            ReadCG cpu $p cpu.cfs_period_us | Should -Be '100000'
            # runc's conversion (weight = 1 + (shares - 2) * 9999 / 262142) maps the shares back to the weight.
            $shares = [long](ReadCG cpu $p cpu.shares)
            [math]::Floor(1 + ($shares - 2) * 9999 / 262142) | Should -Be 300
            ReadCG cpuset $p cpuset.mems | Should -Not -BeNullOrEmpty -Because 'a v1 cpuset child starts without memory nodes'
        }
    }

    It 'limits memory plus swap as runc does (v2 memory.swap.max = swap only; v1 memory.memsw.limit_in_bytes)' {
        New-CGroup -Path swap
        if (-not (Test-SwapAccounting "/$Root/swap")) { Set-ItResult -Skipped -Because 'the kernel has no swap accounting (memory.swap.max / memory.memsw.limit_in_bytes missing)'; return }
        Set-CGroupLimit -Path swap -MemoryLimit 64MB -MemorySwapLimit 96MB
        (Get-CGroup -Path swap).MemorySwapLimit | Should -Be 96MB
        if (Test-V2Serves memory) {
            ReadCG memory "/$Root/swap" memory.swap.max | Should -Be ([string](32MB))
            Set-CGroupLimit -Path swap -MemorySwapLimit -1
            ReadCG memory "/$Root/swap" memory.swap.max | Should -Be 'max'
        } else {
            ReadCG memory "/$Root/swap" memory.memsw.limit_in_bytes | Should -Be ([string](96MB))
            Set-CGroupLimit -Path swap -MemoryLimit -1 -MemorySwapLimit -1
            (Get-CGroup -Path swap).MemorySwapLimit | Should -Be -1
        }
    }

    It 'removes CPU limits with -1: the kernel''s defaults come back' {
        New-CGroup -Path cpu -CpuLimit 1 -CpuWeight 50
        Set-CGroupLimit -Path cpu -CpuLimit -1 -CpuWeight -1
        $cg = Get-CGroup -Path cpu
        $cg.CpuLimit | Should -Be -1
        if (Test-V2Serves cpu) {
            $cg.CpuWeight | Should -Be 100
            ReadCG cpu "/$Root/cpu" cpu.max | Should -Be 'max 100000'
            ReadCG cpu "/$Root/cpu" cpu.weight | Should -Be '100'
        } else {
            ReadCG cpu "/$Root/cpu" cpu.cfs_quota_us | Should -Be '-1'
            ReadCG cpu "/$Root/cpu" cpu.shares | Should -Be '1024'
            $cg.CpuWeight | Should -Be 39 -Because 'runc''s conversion maps the default 1024 shares to weight 39'
        }
    }

    It 'enables the controllers for children in cgroup.subtree_control (v2)' {
        if (-not (Test-V2Serves memory)) { Set-ItResult -Skipped -Because "cgroup.subtree_control governs controllers only on pure v2 (this host: $Layout)"; return }
        New-CGroup -Path a/b -PidsLimit 5
        foreach ($parent in "/$Root", "/$Root/a") {
            $enabled = [System.IO.File]::ReadAllText("$Unified$parent/cgroup.subtree_control").Trim().Split(' ')
            foreach ($c in 'cpu', 'memory', 'pids', 'io', 'cpuset') {
                if ($V2Controllers -contains $c) { $enabled | Should -Contain $c -Because "$parent must hand $c to its children" }
            }
        }
        [System.IO.File]::ReadAllText("$Unified/$Root/a/b/cgroup.subtree_control").Trim() | Should -Be '' -Because 'a leaf enables nothing, so processes may live in it'
    }

    It 'keeps the no-internal-process rule of v2, and names it; v1 has no such rule' {
        New-CGroup -Path inner
        $p = Start-Inside inner 'echo up; exec sleep 300'
        $p.StandardOutput.ReadLine() | Should -Be 'up'
        $err = $null
        New-CGroup -Path inner/child -PidsLimit 5 -ErrorAction SilentlyContinue -ErrorVariable err
        if (Test-V2Serves pids) {
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'CGroupWrite,EBUSY,*'
            $err[0].Exception.Message | Should -BeLike '*no-internal-process rule*'
            Test-CGroupDirectory "/$Root/inner/child" | Should -BeFalse
        } else {
            # v1 (and a hybrid host's controller-less cgroup2) let a cgroup with processes have children.
            $err | Should -HaveCount 0
            (Get-CGroup -Path inner/child).PidsLimit | Should -Be 5
        }
        Test-ProcessAlive $p.Id | Should -BeTrue
    }

    It 'holds forks at pids.max' {
        New-CGroup -Path forks -PidsLimit 1
        # The kernel lets a migration exceed pids.max; the limit bites on fork.
        $p = Start-Inside forks '/bin/true; echo "status $?"'
        $p.WaitForExit(60000) | Should -BeTrue
        $out = $p.StandardOutput.ReadToEnd() + $p.StandardError.ReadToEnd()
        $out | Should -Not -Match 'status 0'
        $out | Should -Match 'fork'
    }

    It 'pins a process to -CpuSet' {
        New-CGroup -Path pinned -CpuSet 0
        $p = Start-Inside pinned 'grep Cpus_allowed_list /proc/self/status; exec sleep 300'
        $p.StandardOutput.ReadLine() | Should -Match '^Cpus_allowed_list:\s+0$'
    }

    It 'moves a process into every hierarchy the project uses, and Get-CGroup finds it there' {
        New-CGroup -Path moved -PidsLimit 10
        $p = Start-TestProcess 'exec sleep 300'
        Move-Process -Id $p.Id -Path moved
        $lines = [System.IO.File]::ReadAllLines("/proc/$($p.Id)/cgroup")
        foreach ($c in 'memory', 'pids', 'cpu') {
            $mount = Get-MountPoint $c
            if ($mount -eq $Unified) { $lines | Should -Contain "0::/$Root/moved" }
            else { @($lines | Where-Object { $_ -match ":(.*,)?$c(,.*)?:/$Root/moved$" }) | Should -HaveCount 1 -Because "the $c hierarchy" }
        }
        $cg = Get-CGroup -Path moved
        $cg.ProcessIds | Should -Contain $p.Id
        $cg.PidsCurrent | Should -Be 1
        (Get-CGroup -ProcessId $p.Id).Path | Should -Contain "/$Root/moved"
    }

    It 'kills a double-forked tree with Remove-CGroup -Force (cgroup.kill where the kernel has it)' {
        New-CGroup -Path doomed -PidsLimit 100
        $p = Start-Inside doomed 'for i in 1 2 3; do (setsid sh -c "trap \"\" TERM; exec sleep 300" &); done; sleep 300 & echo started; wait'
        $p.StandardOutput.ReadLine() | Should -Be 'started'
        Wait-Until { (Get-CGroup -Path doomed).ProcessIds.Count -ge 5 }
        $pids = (Get-CGroup -Path doomed).ProcessIds
        $pids.Count | Should -BeGreaterOrEqual 5
        $verbose = Remove-CGroup -Path doomed -Force -Confirm:$false -Verbose 4>&1 | ForEach-Object { "$_" }
        Test-CGroupDirectory "/$Root/doomed" | Should -BeFalse
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse -Because "process $id was in the cgroup" }
        if ($Unified -and [System.IO.File]::Exists("$Unified/$Root/cgroup.kill")) {
            ($verbose -join "`n") | Should -Match 'cgroup\.kill'
        } else {
            ($verbose -join "`n") | Should -Match 'sent SIGKILL'
        }
    }

    It 'limits and counts reads from a block device (v2 io.max, v1 blkio.throttle)' {
        $dev = Get-BlockDevice
        if (-not $dev) { Set-ItResult -Skipped -Because 'no block device (/dev/vd*, /dev/sd*, /dev/nvme*) on this machine'; return }
        New-CGroup -Path io
        if (Test-V2Serves io) {
            $file = "$Unified/$Root/io/io.max"
            $value = "$($dev.MajMin) rbps=1048576"
        } elseif (Get-MountPoint blkio) {
            $file = CGFile blkio "/$Root/io" blkio.throttle.read_bps_device
            $value = "$($dev.MajMin) 1048576"
        } else { Set-ItResult -Skipped -Because 'neither the io (v2) nor the blkio (v1) controller is served'; return }
        [System.IO.File]::Exists($file) | Should -BeTrue -Because 'the project''s cgroup must have the IO controller'
        [System.IO.File]::WriteAllText($file, $value)
        # 3 MiB with O_DIRECT at 1 MiB/s: the reads reach the device and are charged to this cgroup.
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $p = Start-Inside io "dd if=$($dev.Path) of=/dev/null bs=65536 count=48 iflag=direct 2>&1; echo status `$?"
        $p.WaitForExit(60000) | Should -BeTrue
        $sw.Stop()
        $out = $p.StandardOutput.ReadToEnd()
        if ($out -notmatch 'status 0') { Set-ItResult -Skipped -Because "dd with O_DIRECT cannot read $($dev.Path) here: $out"; return }
        $sw.Elapsed.TotalSeconds | Should -BeGreaterThan 1.5 -Because "3 MiB at 1 MiB/s ($file = $value)"
        $s = Get-ContainerStats -CGroupPath io
        $s.IoReadBytes | Should -BeGreaterOrEqual 3145728
        $s.IoReadOps | Should -BeGreaterOrEqual 48
    }

    It 'reports pressure (PSI) for a cgroup, where cgroup2 is mounted' {
        if (-not $Unified) { Set-ItResult -Skipped -Because 'cgroup v1 has no per-cgroup pressure files (PSI needs a cgroup2 mount)'; return }
        New-CGroup -Path psi
        if (-not [System.IO.File]::Exists("$Unified/$Root/psi/cpu.pressure")) { Set-ItResult -Skipped -Because 'the kernel reports no pressure (boot with psi=1)'; return }
        $p = Start-Inside psi 'echo up; exec sleep 300'
        $p.StandardOutput.ReadLine() | Should -Be 'up'
        $s = Get-ContainerStats -CGroupPath psi
        foreach ($name in 'CpuPressure', 'MemoryPressure', 'IoPressure') {
            $s.$name | Should -Not -BeNullOrEmpty -Because "$name comes from the kernel's file"
            $s.$name.SomeAvg10 | Should -BeGreaterOrEqual 0
        }
        $s.MemoryPressure.FullTotal | Should -Not -BeNullOrEmpty
    }
}

Describe 'A container''s life on this kernel''s layout' {
    AfterEach {
        Stop-TestProcesses
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'starts, is measured, freezes through the layout''s freezer, and a second pwsh finds it and stops its double-forked tree' {
        $tree = '(setsid sh -c "trap \"\" TERM; exec sleep 300" &); sleep 300 & (sleep 300 &); trap "" TERM; echo up; wait'
        $c = New-Container -Name life /bin/sh -ArgumentList '-c', $tree -MemoryLimit 64MB -PidsLimit 50 | Start-Container -PassThru
        $c.State | Should -Be 'Running'
        # Steady state: init, sh and three sleeps (the subshells that forked two of them are gone). Five processes alone
        # can be a moment before the last fork (a subshell still there, a sleep not yet): wait for the three sleeps too.
        Wait-Until {
            $now = @((Get-CGroup -Path $c.CGroupPath).ProcessIds)
            $sleeps = @($now | Where-Object { (Get-Content "/proc/$_/comm" -ErrorAction Ignore) -eq 'sleep' })
            $now.Count -eq 5 -and $sleeps.Count -eq 3
        }
        $pids = (Get-CGroup -Path $c.CGroupPath).ProcessIds
        $pids | Should -HaveCount 5 -Because 'init, sh and three sleeps'

        # A subshell that has exited is uncharged from pids.current only once it is reaped: wait for that moment.
        Wait-Until { (Get-ContainerStats -Name life).PidsCurrent -eq $pids.Count }
        $s = Get-ContainerStats -Name life
        $s.MemoryUsage | Should -BeGreaterThan 0
        $s.MemoryLimit | Should -Be 64MB
        $s.PidsCurrent | Should -Be $pids.Count
        $s.PidsLimit | Should -Be 50
        $s.CpuUsage | Should -BeOfType [TimeSpan]

        (Suspend-Container -Name life -PassThru).State | Should -Be 'Paused'
        if ($Unified -and [System.IO.File]::Exists("$Unified$($c.CGroupPath)/cgroup.freeze")) {
            [System.IO.File]::ReadAllText("$Unified$($c.CGroupPath)/cgroup.freeze").Trim() | Should -Be '1'
            [System.IO.File]::ReadAllText("$Unified$($c.CGroupPath)/cgroup.events") | Should -Match 'frozen 1'
        } else {
            ReadCG freezer $c.CGroupPath freezer.state | Should -Be 'FROZEN'
        }
        (Resume-Container -Name life -PassThru).State | Should -Be 'Running'

        # A second session: finds the container in the depot, measures it and stops the whole tree.
        $cmd = "`$env:PSCONTAINERS_CGROUP_ROOT = '$Root'; `$env:PSCONTAINERS_DEPOT = '$Depot'; " +
            "`$c = Get-Container -Name life; ""state `$(`$c.State) `$(`$c.Pid)""; " +
            """pids `$((Get-ContainerStats -Name life).PidsCurrent)""; " +
            "Stop-Container -Name life -Timeout 1; ""after `$((Get-Container -Name life).State)"""
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -TimeoutSec 300
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output.Trim().Split("`n")
        $lines | Should -Contain "state Running $($c.Pid)"
        $lines | Should -Contain "pids $($pids.Count)"
        $lines | Should -Contain 'after Exited'
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse -Because "process $id was in the container" }
        (Get-CGroup -Path $c.CGroupPath).ProcessIds | Should -HaveCount 0
    }

    It 'shows a container with -Isolation CGroup its own cgroup as the root in every hierarchy' {
        $out = New-Container -Name cgns /bin/cat -ArgumentList /proc/self/cgroup -Isolation Pid, Mount, CGroup | Start-Container -Wait
        @($out).Count | Should -BeGreaterThan 0
        foreach ($l in $out) { $l | Should -Match ':/$' -Because 'the namespace''s root is the container''s cgroup' }
        ($out -join "`n") | Should -Not -Match $Root
    }

    It 'OOM-kills a memory hog and the kernel''s counter shows it (v2 memory.events, v1 memory.oom_control)' {
        $c = New-Container -Name hog /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 32MB -PidsLimit 10
        if (Test-SwapAccounting $c.CGroupPath) { Set-CGroupLimit -Container hog -MemoryLimit 32MB -MemorySwapLimit 32MB }
        $c = Start-Container -Name hog -PassThru | Wait-Container -Timeout 120
        $c.OomKilled | Should -BeTrue
        $c.Signal | Should -Be 9
        $file = if (Test-V2Serves memory) { 'memory.events' } else { 'memory.oom_control' }
        $text = ReadCG memory $c.CGroupPath $file
        $text | Should -Match 'oom_kill [1-9]'
        (Get-ContainerStats -Name hog).OomKills | Should -BeGreaterOrEqual 1
    }
}

Describe 'Rootless on a delegated cgroup v2 subtree' {
    BeforeAll {
        $script:Why = $null
        if (-not $IsRoot) { $script:Why = 'setting up a delegated subtree needs root' }
        elseif (-not ((Test-V2Serves memory) -and (Test-V2Serves pids))) {
            $script:Why = "needs pure cgroup v2 with the memory and pids controllers (this host: $Layout; cgroup2 controllers '$($V2Controllers -join ' ')'): v1 cannot be delegated"
        }
        elseif (-not [System.IO.File]::Exists('/usr/bin/setpriv')) { $script:Why = 'setpriv (util-linux) is missing' }
        if (-not $Why) {
            # An unused uid with no account: nothing of the machine's can be touched through it.
            $used = @{}
            foreach ($l in [System.IO.File]::ReadAllLines('/etc/passwd')) { $used[$l.Split(':')[2]] = 1 }
            $script:Uid = 61000 + [System.Random]::new().Next(0, 3000)
            while ($used.ContainsKey("$Uid")) { $script:Uid++ }
            # What systemd's Delegate= does: the subtree and its cgroup.procs, cgroup.subtree_control and
            # cgroup.threads belong to the user, and the user's session runs in a leaf below it.
            New-CGroup -Path deleg/session
            New-CGroup -Path sibling
            foreach ($dir in "$Unified/$Root/deleg", "$Unified/$Root/deleg/session") {
                & chown "$Uid`:$Uid" $dir "$dir/cgroup.procs" "$dir/cgroup.subtree_control" "$dir/cgroup.threads"
                if ($LASTEXITCODE -ne 0) { throw "chown of $dir failed" }
            }
            $script:UserDepot = "/tmp/psc-rl-depot-$Uid"
        }
    }
    AfterAll {
        if (-not $Why) {
            Remove-CGroup -Path deleg -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue
            Remove-CGroup -Path sibling -Recurse -Force -Confirm:$false -ErrorAction SilentlyContinue
            if ([System.IO.Directory]::Exists($UserDepot)) { [System.IO.Directory]::Delete($UserDepot, $true) }
        }
    }

    It 'lets the user create a container with memory and pids limits, and its process cannot leave the subtree' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $cg = "$Unified/$Root/deleg/rl"
        $inside = "cat /proc/self/cgroup; cat $cg/memory.max $cg/pids.max; " +
            "{ echo 0 > $Unified/cgroup.procs; } 2>/dev/null && echo root-escape-succeeded || echo root-escape-refused; " +
            "{ echo 0 > $Unified/$Root/sibling/cgroup.procs; } 2>/dev/null && echo sibling-escape-succeeded || echo sibling-escape-refused; " +
            "cat /proc/self/cgroup"
        $user = "`$env:PSCONTAINERS_DEPOT = '$UserDepot'; `$env:PSCONTAINERS_CGROUP_ROOT = '$Root/deleg'; " +
            "New-Container -Name rl /bin/sh -ArgumentList '-c', '$inside' -Isolation User, Pid, Mount -MemoryLimit 64MB -PidsLimit 20 | Start-Container -Wait; " +
            "`$g = Get-CGroup -Path rl; ""limits `$(`$g.MemoryLimit) `$(`$g.PidsLimit)""; Remove-Container -Name rl"
        # The session is moved into its leaf by root, then drops to the user (as a login through systemd would).
        $r = Invoke-Process /bin/sh @('-c', 'echo $$ > "$0/cgroup.procs" && exec setpriv --reuid="$1" --regid="$1" --clear-groups -- "$2" -NoProfile -NonInteractive -Command "$3"',
            "$Unified/$Root/deleg/session", "$Uid", (Get-PwshForAnyUser), $user) @{ HOME = '/tmp'; DOTNET_CLI_HOME = '/tmp'; PSModulePath = $ModuleBase } 300
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output.Trim().Split("`n") | ForEach-Object { $_.Trim() }
        $lines[0] | Should -Be "0::/$Root/deleg/rl" -Because $r.Output
        $lines[1] | Should -Be '67108864'
        $lines[2] | Should -Be '20'
        $lines | Should -Contain 'root-escape-refused'
        $lines | Should -Contain 'sibling-escape-refused'
        $lines | Should -Not -Contain 'root-escape-succeeded'
        $lines | Should -Not -Contain 'sibling-escape-succeeded'
        $lines[-2] | Should -Be "0::/$Root/deleg/rl" -Because 'the process is still in its own cgroup'
        $lines[-1] | Should -Be 'limits 67108864 20'
        Test-CGroupDirectory "/$Root/deleg/rl" | Should -BeFalse -Because 'Remove-Container removed it'
        [System.IO.File]::ReadAllText("$Unified/$Root/sibling/cgroup.procs").Trim() | Should -Be ''
    }
}
