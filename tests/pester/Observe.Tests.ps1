# Observing and controlling running containers: stats, OOM kills, freeze/thaw, properties, events, live limits.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
}

AfterAll {
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'Observing containers' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'OOM-kills a memory hog under -MemoryLimit 32MB, reports OomKilled and logs the event; the host keeps working' {
        $c = New-Container -Name hog /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 32MB | Start-Container -PassThru | Wait-Container -Timeout 60
        $c.OomKilled | Should -BeTrue
        $c.Signal | Should -Be 9
        $c.ExitCode | Should -Be 137
        $oom = Get-ContainerEvent -Name hog | Where-Object Event -eq 'oom-killed'
        $oom | Should -Not -BeNullOrEmpty
        ($oom[0].Time - $c.ExitTime).Duration().TotalSeconds | Should -BeLessThan 1
        (Get-ContainerStats -Name hog).OomKills | Should -BeGreaterOrEqual 1
        (Get-Container hog).OomKilled | Should -BeTrue
        & /bin/true
        $LASTEXITCODE | Should -Be 0
    }

    It 'measures a busy loop under -CpuLimit 0.5 close to half a CPU, and throttles it' {
        New-Container -Name busy /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
        $samples = Get-ContainerStats -Name busy -Count 2 -Interval 00:00:03
        $samples | Should -HaveCount 2
        $samples[0].CpuPercent | Should -BeNullOrEmpty
        $samples[1].CpuPercent | Should -BeGreaterThan 35
        $samples[1].CpuPercent | Should -BeLessThan 65
        $samples[1].CpuThrottledPeriods | Should -BeGreaterThan $samples[0].CpuThrottledPeriods
        $samples[1].Name | Should -Be 'busy'
        $samples[1].MemoryUsage | Should -BeGreaterThan 0
        $samples[1].PidsCurrent | Should -Be 2
        $samples[1].CpuUsage | Should -BeOfType [TimeSpan]
    }

    It 'freezes a container: its CPU time does not move while paused, and does after Resume' {
        New-Container -Name frozen /bin/sh -ArgumentList '-c', 'while :; do :; done' -CpuLimit 0.5 | Start-Container
        $c = Suspend-Container -Name frozen -PassThru
        $c.State | Should -Be 'Paused'
        $before = (Get-ContainerStats -Name frozen).CpuUsage
        [System.Threading.Thread]::Sleep(1000)
        (Get-ContainerStats -Name frozen).CpuUsage | Should -Be $before
        (Resume-Container -Name frozen -PassThru).State | Should -Be 'Running'
        [System.Threading.Thread]::Sleep(500)
        (Get-ContainerStats -Name frozen).CpuUsage | Should -BeGreaterThan $before
        $events = (Get-ContainerEvent -Name frozen).Event
        $events | Should -Contain 'paused'
        $events | Should -Contain 'resumed'
    }

    It 'stops and removes a paused container' {
        New-Container -Name pstop /bin/sleep -ArgumentList 300 | Start-Container
        Suspend-Container -Name pstop
        $c = Stop-Container -Name pstop -Timeout 1 -PassThru
        $c.State | Should -Be 'Exited'
        Remove-Container -Name pstop
        Test-CGroupDirectory "/$Root/pstop" | Should -BeFalse
    }

    It 'changes limits of a running container live with Set-CGroupLimit -Container' {
        New-Container -Name live /bin/sleep -ArgumentList 300 -PidsLimit 10 | Start-Container
        Set-CGroupLimit -Container live -PidsLimit 3 -MemoryLimit 100MB
        $cg = Get-Container live | Get-CGroup
        $cg.PidsLimit | Should -Be 3
        $cg.MemoryLimit | Should -Be 100MB
    }

    It 'keeps properties in the depot, filterable, and removes them' {
        New-Container -Name meta /bin/true | Set-ContainerProperty -Key tier -Value web
        (Get-Container | Where-Object { $_.Properties.tier -eq 'web' }).Name | Should -Be 'meta'
        Remove-ContainerProperty -Name meta -Key tier
        (Get-Container meta).Properties.Count | Should -Be 0
        { Set-ContainerProperty -Name meta -Key '' -Value x -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidPropertyKey,*'
        { Remove-ContainerProperty -Name meta -Key nothere -ErrorAction Stop } | Should -Throw -ErrorId 'PropertyNotFound,*'
    }

    It 'lists a container''s life in Get-ContainerEvent' {
        New-Container -Name ev /bin/sh -ArgumentList '-c', 'exit 4' | Start-Container -PassThru | Wait-Container | Out-Null
        $e = Get-ContainerEvent -Name ev
        $e.Event | Should -Be @('created', 'started', 'exited')
        $e[2].Details | Should -Be 'code=4 signal=0'
        Get-ContainerEvent -Name ev -Since ([DateTime]::UtcNow.AddMinutes(1)) | Should -BeNullOrEmpty
    }
}

Describe 'Start-Container -AsJob' {
    AfterEach {
        Get-Job | Remove-Job -Force
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'gives a job whose output is the container''s stdout and whose errors are its stderr' {
        $job = New-Container -Name job1 /bin/sh -ArgumentList '-c', 'echo one; echo two >&2; echo three' | Start-Container -AsJob
        $job.PSJobTypeName | Should -Be 'ContainerJob'
        $null = Wait-Job -Job $job -Timeout 30
        $job.State | Should -Be 'Completed'
        $err = $null
        $out = Receive-Job -Job $job -ErrorVariable err -ErrorAction SilentlyContinue
        @($out | Where-Object { $_ -is [string] }) | Should -Be @('one', 'three')
        ($out | Where-Object { $_ -isnot [string] }).ExitCode | Should -Be 0
        "$($err[0])" | Should -Be 'two'
    }

    It 'fails the job when the container exits non-zero, with the reason' {
        $job = New-Container -Name job2 /bin/sh -ArgumentList '-c', 'exit 5' | Start-Container -AsJob
        $null = Wait-Job -Job $job -Timeout 30
        $job.State | Should -Be 'Failed'
        $err = $null
        $null = Receive-Job -Job $job -ErrorVariable err -ErrorAction SilentlyContinue
        $err[-1].FullyQualifiedErrorId | Should -Be 'ContainerExitedNonZero'
    }

    It 'stops the container with Stop-Job' {
        $job = New-Container -Name job3 /bin/sleep -ArgumentList 300 | Start-Container -AsJob
        Stop-Job -Job $job
        $job.State | Should -Be 'Stopped'
        (Get-Container job3).State | Should -Be 'Exited'
    }
}

Describe 'Bad input to the observing cmdlets' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'refuses to suspend an exited container and to resume a running one' {
        New-Container -Name done /bin/true | Start-Container -PassThru | Wait-Container | Out-Null
        { Suspend-Container -Name done -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning,*'
        New-Container -Name runs /bin/sleep -ArgumentList 300 | Start-Container
        { Resume-Container -Name runs -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotPaused,*'
        (Get-Container runs).State | Should -Be 'Running'
    }

    It 'reports stats of a container that is gone as an error, not zeros' {
        { Get-ContainerStats -Name vanished -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,*'
        $err = $null
        $out = Get-ContainerStats -CGroupPath "/$Root/none" -ErrorAction SilentlyContinue -ErrorVariable err
        $out | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CGroupNotFound,*'
    }
}

Describe 'Convenient input to the observing cmdlets' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'reads a bare -Interval as seconds and takes names from the pipeline' {
        New-Container -Name conv /bin/sleep -ArgumentList 300 | Start-Container
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $samples = 'conv' | Get-ContainerStats -Count 2 -Interval 0.5
        $sw.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.45
        $samples | Should -HaveCount 2
        ('conv' | Get-ContainerEvent).Event | Should -Contain 'started'
    }

    It 'refuses a blank property key when the container is created' {
        { New-Container -Name blank /bin/true -Property @{ ' ' = 'x' } -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidPropertyKey,*'
        Get-Container -Name blank -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Reading a container writes nothing' {
    BeforeAll {
        function Get-EntrySnapshot([string]$Name) {
            # Every file of the depot entry: name, size, modification time and bytes; and the directory's own time.
            $dir = [System.IO.Path]::Combine($Depot, $Name)
            @("dir $([System.IO.Directory]::GetLastWriteTimeUtc($dir).Ticks)") + @(
                foreach ($f in [System.IO.Directory]::GetFiles($dir) | Sort-Object) {
                    $i = [System.IO.FileInfo]::new($f)
                    "$($i.Name) $($i.Length) $($i.LastWriteTimeUtc.Ticks) $([Convert]::ToBase64String([System.IO.File]::ReadAllBytes($f)))"
                })
        }
        function Start-OomKilled([string]$Name) {
            # A memory hog run into the OOM killer; returns once psc-init recorded its exit, without reading it through the module.
            $c = New-Container -Name $Name /usr/bin/tail -ArgumentList /dev/zero -MemoryLimit 24MB
            if (Test-Path "/sys/fs/cgroup/memory$($c.CGroupPath)/memory.memsw.limit_in_bytes") { Set-CGroupLimit -Container $Name -MemoryLimit 24MB -MemorySwapLimit 24MB }
            Start-Container -Name $Name
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            while (-not [System.IO.File]::Exists([System.IO.Path]::Combine($Depot, $Name, 'exit'))) {
                if ($sw.Elapsed.TotalSeconds -gt 60) { throw "$Name was not killed within 60 s" }
                Start-Sleep -Milliseconds 20
            }
        }
    }

    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'Get-Container, Get-ContainerStats and Wait-Container change nothing in the depot of a running and an OOM-killed container' {
        New-Container -Name live /bin/sleep -ArgumentList 300 | Start-Container
        Start-OomKilled hog
        $before = foreach ($n in 'live', 'hog') { Get-EntrySnapshot $n }
        Start-Sleep -Milliseconds 20  # a write now would show in the times too
        $null = Get-Container
        foreach ($n in 'live', 'hog') {
            $null = Get-Container -Name $n
            $null = Get-ContainerStats -Name $n
            $null = Wait-Container -Name $n -Timeout 0.2 -ErrorAction SilentlyContinue
        }
        $null = Get-ContainerStats
        (Get-Container hog).OomKilled | Should -BeTrue
        (Get-Container live).State | Should -Be 'Running'
        $after = foreach ($n in 'live', 'hog') { Get-EntrySnapshot $n }
        $after | Should -Be $before
    }

    It 'the init logs the OOM kill of the main process before its exit, and two sessions stopping a container whose init could not log it log it once' {
        Start-OomKilled hog
        $events = @(Get-ContainerEvent -Name hog)
        $kills = (Get-ContainerStats -Name hog).OomKills
        $kills | Should -BeGreaterOrEqual 1
        ($events | Where-Object Event -eq 'oom-killed').Details | Should -Be @(1..$kills | ForEach-Object { "count=$_" })
        [array]::LastIndexOf([string[]]$events.Event, 'oom-killed') | Should -BeLessThan ([array]::IndexOf([string[]]$events.Event, 'exited'))

        # A child OOM-killed while the main process lives on: nobody has seen an exit yet, and Stop kills the init with
        # the whole cgroup before it can log anything. Two runspaces stop it at the same time.
        $c = New-Container -Name parent /bin/sh -ArgumentList '-c', "sh -c 'exec tail /dev/zero'; exec sleep 300" -MemoryLimit 24MB
        if (Test-Path "/sys/fs/cgroup/memory$($c.CGroupPath)/memory.memsw.limit_in_bytes") { Set-CGroupLimit -Container parent -MemoryLimit 24MB -MemorySwapLimit 24MB }
        Start-Container -Name parent
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        while (-not (Get-Container parent).OomKilled) {
            if ($sw.Elapsed.TotalSeconds -gt 60) { throw 'the child was not OOM-killed within 60 s' }
            Start-Sleep -Milliseconds 20
        }
        Get-ContainerEvent -Name parent | Where-Object Event -eq 'oom-killed' | Should -BeNullOrEmpty
        $module = (Get-Module PSContainers).Path
        $shells = foreach ($i in 1..2) {
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                param($Module)
                Import-Module $Module
                Stop-Container -Name parent -Force -PassThru
            }).AddArgument($module)
            $ps
        }
        $running = foreach ($ps in $shells) { $ps.BeginInvoke() }
        $stopped = for ($i = 0; $i -lt 2; $i++) { $shells[$i].EndInvoke($running[$i]); $shells[$i].Dispose() }
        $stopped.State | Should -Be @('Exited', 'Exited')
        $kills = (Get-ContainerStats -Name parent).OomKills
        $kills | Should -BeGreaterOrEqual 1
        (Get-ContainerEvent -Name parent | Where-Object Event -eq 'oom-killed').Details | Should -Be @(1..$kills | ForEach-Object { "count=$_" })
    }
}
