# Hostile and broken workloads, and faults around them: nothing escapes, nothing is lost.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
}

AfterAll {
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

# Each scenario runs five times in one run: a promise that holds only most of the time is not kept.
Describe 'Hostile workloads, run <_> of 5' -ForEach 1, 2, 3, 4, 5 {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'holds a fork bomb at -PidsLimit 50 while the host still starts processes, and Stop clears it' {
        $bomb = 'b() { b & b & }; b; sleep 300'
        $c = New-Container -Name bomb /bin/sh -ArgumentList '-c', $bomb -PidsLimit 50 -CpuLimit 0.5 | Start-Container -PassThru
        # The proof that the limit held the bomb: the kernel refused forks at pids.max ("max N" in pids.events, v1 and
        # v2 alike), while no sample ever saw more than 50. The bomb may burst and die back between two samples on a
        # busy machine, so the count of refused forks is what is waited for (at most 10 s), not a sampled peak.
        $events = [System.IO.Path]::Combine((Get-MountPoint pids) + $c.CGroupPath, 'pids.events')
        $refused = 0
        $max = 0
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        while ($sw.Elapsed.TotalSeconds -lt 2 -or ($refused -eq 0 -and $sw.Elapsed.TotalSeconds -lt 10)) {
            $n = (Get-CGroup -Path $c.CGroupPath).PidsCurrent
            if ($n -gt $max) { $max = $n }
            $refused = [long](([System.IO.File]::ReadAllText($events) -split '\s+')[1])
            [System.Threading.Thread]::Sleep(20)
        }
        $refused | Should -BeGreaterThan 0 -Because 'the bomb must reach pids.max and have forks refused'
        $max | Should -BeLessOrEqual 50
        $onHost = [System.Diagnostics.Stopwatch]::StartNew()
        & /bin/true
        $onHost.Elapsed.TotalSeconds | Should -BeLessThan 2 -Because 'the host must still start a process while the bomb runs'
        Stop-Container -Name bomb -Force
        (Get-CGroup -Path $c.CGroupPath).ProcessIds | Should -HaveCount 0
    }

    It 'removes a container whose workload made and froze its own sub-cgroups' {
        $c = New-Container -Name nest /bin/sleep -ArgumentList 300 -Isolation Pid, Uts, Ipc | Start-Container -PassThru
        # The "workload" (played by the test, with the same rights root inside has) nests and freezes a child.
        $mem = Get-MountPoint freezer
        $sub = "$mem$($c.CGroupPath)/inner"
        $null = [System.IO.Directory]::CreateDirectory($sub)
        $p = Start-TestProcess 'exec sleep 300'
        [System.IO.File]::WriteAllText("$sub/cgroup.procs", "$($p.Id)")
        [System.IO.File]::WriteAllText("$sub/freezer.state", 'FROZEN')
        Remove-Container -Name nest -Force -Confirm:$false
        Test-CGroupDirectory $c.CGroupPath | Should -BeFalse
        Test-ProcessAlive $p.Id | Should -BeFalse
    }

    It 'reports a container whose init was SIGKILLed from outside as Exited, and Remove cleans up' {
        $c = New-Container -Name orphan /bin/sh -ArgumentList '-c', 'sleep 300 & sleep 300' -Isolation Mount, Uts, Ipc | Start-Container -PassThru
        $pids = (Get-CGroup -Path $c.CGroupPath).ProcessIds
        [System.Diagnostics.Process]::GetProcessById($c.InitPid).Kill()
        [System.Threading.Thread]::Sleep(200)
        (Get-Container orphan).State | Should -Be 'Exited'
        Remove-Container -Name orphan -Force -Confirm:$false
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse }
        Test-CGroupDirectory $c.CGroupPath | Should -BeFalse
    }

    It 'OOM-kills a memory hog and reports it, while the session and the host keep working' {
        $c = New-Container -Name hog /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 24MB -MemorySwapLimit 24MB | Start-Container -PassThru | Wait-Container -Timeout 60
        $c.OomKilled | Should -BeTrue
        $c.Signal | Should -Be 9
        @(Get-ContainerEvent -Name hog | Where-Object Event -eq 'oom-killed') | Should -HaveCount 1
        # The same session goes on: another container starts, runs and is measured.
        $next = New-Container -Name after /bin/sh -ArgumentList '-c', 'echo still here' -MemoryLimit 24MB | Start-Container -PassThru | Wait-Container -Timeout 20
        $next.ExitCode | Should -Be 0
        Get-ContainerLog -Name after | Should -Be 'still here'
        & /bin/true
        $LASTEXITCODE | Should -Be 0
    }

    It 'keeps a workload running as an unprivileged -User from leaving its cgroup' {
        $leave = 'for h in /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/cgroup.procs; do [ -f "$h" ] && { echo $$ > "$h" 2>/dev/null && echo "left through $h"; }; done; exec sleep 300'
        $c = New-Container -Name stay /bin/sh -ArgumentList '-c', $leave -User 65534 -PidsLimit 20 | Start-Container -PassThru
        [System.Threading.Thread]::Sleep(300)
        $log = @(Get-ContainerLog -Name stay)
        @($log | Where-Object { $_ -like 'left through*' }) | Should -HaveCount 0 -Because 'cgroup.procs of the root is root''s alone'
        @($log | Where-Object { $_ -like '*Permission denied*' }).Count | Should -BeGreaterThan 0 -Because 'it did try'
        (Get-CGroup -Path $c.CGroupPath).ProcessIds | Should -Contain $c.Pid
        Stop-Container -Name stay -Force
        Test-ProcessAlive $c.Pid | Should -BeFalse
    }

    It 'ends a Remove-CGroup -Force whose process cannot die (frozen in a cgroup of someone else) with CGroupKillTimeout within its bound, and removes it after the thaw' {
        $ice = "$(Get-MountPoint freezer)/$Root-ice"
        $null = [System.IO.Directory]::CreateDirectory($ice)
        try {
            $null = New-CGroup -Path stuck
            $p = Start-TestProcess 'exec sleep 300'
            Move-Process -Id $p.Id -Path stuck
            [System.IO.File]::WriteAllText("$ice/cgroup.procs", "$($p.Id)") # the freezer hierarchy only
            [System.IO.File]::WriteAllText("$ice/freezer.state", 'FROZEN')
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            { Remove-CGroup -Path stuck -Force -Confirm:$false -TimeoutSec 1 -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupKillTimeout,*'
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 3 -Because 'a bounded retry, never a hang'
            Test-CGroupDirectory "/$Root/stuck" | Should -BeTrue
            [System.IO.File]::WriteAllText("$ice/freezer.state", 'THAWED')
            Remove-CGroup -Path stuck -Force -Confirm:$false -TimeoutSec 5
            Test-CGroupDirectory "/$Root/stuck" | Should -BeFalse
            Test-ProcessAlive $p.Id | Should -BeFalse
        } finally {
            if ([System.IO.Directory]::Exists($ice)) {
                [System.IO.File]::WriteAllText("$ice/freezer.state", 'THAWED')
                Stop-TestProcesses
                for ($i = 0; $i -lt 50 -and [System.IO.File]::ReadAllText("$ice/cgroup.procs").Trim(); $i++) { [System.Threading.Thread]::Sleep(20) }
                [System.IO.Directory]::Delete($ice)
            }
        }
    }
}

Describe 'What a root workload can do' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'leaves its cgroup by writing its pid into the root''s cgroup.procs, in every hierarchy, even with User and CGroup namespaces (docs/security.md); <Outcome>' -ForEach @(
        @{ Isolation = 'Pid', 'Mount', 'Uts', 'Ipc', 'User', 'CGroup'; Outcome = 'its PID namespace still dies with the container'; Survives = $false }
        @{ Isolation = 'Mount', 'Uts', 'Ipc'; Outcome = 'without a PID namespace, Stop-Container misses it'; Survives = $true }
    ) {
        if (-not [System.IO.File]::Exists('/sys/fs/cgroup/pids/cgroup.procs')) {
            Set-ItResult -Skipped -Because 'this layout has no v1 pids hierarchy at /sys/fs/cgroup/pids'
            return
        }
        # Out of every hierarchy, as an escape must be: a cgroup it stays in would still be killed.
        $leave = 'for h in /sys/fs/cgroup/*/cgroup.procs; do echo $$ > "$h" || exit 1; done; echo left; exec sleep 300'
        $c = New-Container -Name leaver /bin/sh -ArgumentList '-c', $leave -Isolation $Isolation -PidsLimit 20 | Start-Container -PassThru
        try {
            for ($i = 0; $i -lt 100 -and -not (Get-ContainerLog -Name leaver); $i++) { [System.Threading.Thread]::Sleep(20) }
            Get-ContainerLog -Name leaver | Should -Be 'left'
            [System.IO.File]::ReadAllText("/proc/$($c.Pid)/cgroup") | Should -Match '(?m)^\d+:pids:/$'
            Stop-Container -Name leaver -Force
            for ($i = 0; $i -lt 50 -and (Test-ProcessAlive $c.Pid) -ne $Survives; $i++) { [System.Threading.Thread]::Sleep(20) }
            Test-ProcessAlive $c.Pid | Should -Be $Survives
        } finally {
            if (Test-ProcessAlive $c.Pid) { [System.Diagnostics.Process]::GetProcessById($c.Pid).Kill() }
        }
    }
}

Describe 'A damaged depot, run <_> of 5' -ForEach 1, 2, 3, 4, 5 {
    It 'lists the other containers with a warning for the damaged one, and Remove-Container -Force still cleans it' {
        New-Container -Name good /bin/true
        $bad = New-Container -Name bad /bin/sleep -ArgumentList 300 | Start-Container -PassThru
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($Depot, 'bad', 'spec.json'), '{ "Name": "bad", trunc')
        $warn = $null
        $list = Get-Container -WarningVariable warn -WarningAction SilentlyContinue
        $list.Name | Should -Be 'good'
        "$warn" | Should -BeLike '*bad*damaged*'
        Remove-Container -Name bad -Force -Confirm:$false
        [System.IO.Directory]::Exists([System.IO.Path]::Combine($Depot, 'bad')) | Should -BeFalse
        Test-CGroupDirectory $bad.CGroupPath | Should -BeFalse
        Test-ProcessAlive $bad.Pid | Should -BeFalse
        Remove-Container -Name good
    }
}
