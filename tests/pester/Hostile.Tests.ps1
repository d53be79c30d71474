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

Describe 'Hostile workloads' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'holds a fork bomb at -PidsLimit 50 while the host still starts processes, and Stop clears it' {
        $bomb = 'b() { b & b & }; b; sleep 300'
        $c = New-Container -Name bomb /bin/sh -ArgumentList '-c', $bomb -PidsLimit 50 -CpuLimit 0.5 | Start-Container -PassThru
        $max = 0
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        while ($sw.Elapsed.TotalSeconds -lt 2) {
            $n = (Get-CGroup -Path $c.CGroupPath).PidsCurrent
            if ($n -gt $max) { $max = $n }
            [System.Threading.Thread]::Sleep(20)
        }
        $max | Should -BeGreaterThan 10
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
        Remove-Container -Name nest -Force
        Test-CGroupDirectory $c.CGroupPath | Should -BeFalse
        Test-ProcessAlive $p.Id | Should -BeFalse
    }

    It 'reports a container whose init was SIGKILLed from outside as Exited, and Remove cleans up' {
        $c = New-Container -Name orphan /bin/sh -ArgumentList '-c', 'sleep 300 & sleep 300' -Isolation Mount, Uts, Ipc | Start-Container -PassThru
        $pids = (Get-CGroup -Path $c.CGroupPath).ProcessIds
        [System.Diagnostics.Process]::GetProcessById($c.InitPid).Kill()
        [System.Threading.Thread]::Sleep(200)
        (Get-Container orphan).State | Should -Be 'Exited'
        Remove-Container -Name orphan -Force
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse }
        Test-CGroupDirectory $c.CGroupPath | Should -BeFalse
    }
}

Describe 'A damaged depot' {
    It 'lists the other containers with a warning for the damaged one, and Remove-Container -Force still cleans it' {
        New-Container -Name good /bin/true
        $bad = New-Container -Name bad /bin/sleep -ArgumentList 300 | Start-Container -PassThru
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($Depot, 'bad', 'spec.json'), '{ "Name": "bad", trunc')
        $warn = $null
        $list = Get-Container -WarningVariable warn -WarningAction SilentlyContinue
        $list.Name | Should -Be 'good'
        "$warn" | Should -BeLike '*bad*damaged*'
        Remove-Container -Name bad -Force
        [System.IO.Directory]::Exists([System.IO.Path]::Combine($Depot, 'bad')) | Should -BeFalse
        Test-CGroupDirectory $bad.CGroupPath | Should -BeFalse
        Test-ProcessAlive $bad.Pid | Should -BeFalse
        Remove-Container -Name good
    }
}
