# Sandboxes and tracked processes through the built module: a container without a program, held open until
# Stop-Container; processes started in it with Start-ContainerProcess, found, waited for, signalled and read back,
# also from another pwsh than the one that started them; the main program of a normal container as process "main".

BeforeDiscovery {
    # Refused calls: each must end in an ErrorRecord with its id, category and the offending value in the message,
    # and change nothing. The Call blocks run in the tests, where the fixtures of 'Refused process calls' exist.
    $script:BadCases = @(
        @{ Cmdlet = 'Get-ContainerProcess'; Case = 'an unknown process id'; Id = 'ProcessNotFound'; Category = 'ObjectNotFound'; Shows = "'99'"
            Call = { Get-ContainerProcess -Name live -Id 99 } }
        @{ Cmdlet = 'Get-ContainerProcess'; Case = 'process main of a sandbox, which has no program'; Id = 'ProcessNotFound'; Category = 'ObjectNotFound'; Shows = "'main'"
            Call = { Get-ContainerProcess -Name live -Id main } }
        @{ Cmdlet = 'Wait-ContainerProcess'; Case = 'an unknown process id'; Id = 'ProcessNotFound'; Category = 'ObjectNotFound'; Shows = "'99'"
            Call = { Wait-ContainerProcess -Name live -Id 99 -Timeout 5 } }
        @{ Cmdlet = 'Stop-ContainerProcess'; Case = 'an unknown process id'; Id = 'ProcessNotFound'; Category = 'ObjectNotFound'; Shows = "'99'"
            Call = { Stop-ContainerProcess -Name live -Id 99 -Timeout 1 } }
        @{ Cmdlet = 'Get-ContainerLog'; Case = 'an unknown process id'; Id = 'ProcessNotFound'; Category = 'ObjectNotFound'; Shows = "'99'"
            Call = { Get-ContainerLog -Name live -ProcessId 99 } }
        @{ Cmdlet = 'Start-ContainerProcess'; Case = 'a Created container'; Id = 'ContainerNotRunning'; Category = 'InvalidOperation'; Shows = "'created'"
            Call = { Start-ContainerProcess -Name created /bin/true } }
        @{ Cmdlet = 'Start-ContainerProcess'; Case = 'an Exited container'; Id = 'ContainerNotRunning'; Category = 'InvalidOperation'; Shows = "'ended'"
            Call = { Start-ContainerProcess -Name ended /bin/true } }
        @{ Cmdlet = 'Start-ContainerProcess'; Case = 'a program that does not exist'; Id = 'ProgramNotFound'; Category = 'ObjectNotFound'; Shows = '/no/such/program'
            Call = { Start-ContainerProcess -Name live /no/such/program } }
        @{ Cmdlet = 'Stop-ContainerProcess'; Case = 'a signal name that is none'; Id = 'InvalidSignal'; Category = 'InvalidArgument'; Shows = "'BOGUS'"
            Call = { Stop-ContainerProcess -Name live -Id 1 -Signal BOGUS } }
        @{ Cmdlet = 'Stop-ContainerProcess'; Case = 'SIG and a name that is none'; Id = 'InvalidSignal'; Category = 'InvalidArgument'; Shows = "'SIGNOPE'"
            Call = { Stop-ContainerProcess -Name live -Id 1 -Signal SIGNOPE } }
        @{ Cmdlet = 'Stop-ContainerProcess'; Case = 'signal 0'; Id = 'InvalidSignal'; Category = 'InvalidArgument'; Shows = "'0'"
            Call = { Stop-ContainerProcess -Name live -Id 1 -Signal 0 } }
        @{ Cmdlet = 'Stop-ContainerProcess'; Case = 'signal 65'; Id = 'InvalidSignal'; Category = 'InvalidArgument'; Shows = "'65'"
            Call = { Stop-ContainerProcess -Name live -Id 1 -Signal 65 -PassThru } }
        @{ Cmdlet = 'Wait-ContainerProcess'; Case = '-Timeout 0 on a Running process'; Id = 'WaitTimeout'; Category = 'OperationTimeout'; Shows = "'live'"
            Call = { Wait-ContainerProcess -Name live -Id 1 -Timeout 0 } }
        @{ Cmdlet = 'New-Container'; Case = 'arguments without a program'; Id = 'SandboxTakesNoProgram'; Category = 'InvalidArgument'; Shows = "'a b'"
            Call = { New-Container -Name fresh -ArgumentList a, b } }
    )
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Temp = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-proc-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = [System.IO.Directory]::CreateDirectory($Temp)
    # Containers (their namespaces and cgroups) need root here; each test says so when it is skipped.
    $script:Why = if (-not $IsRoot) { 'the suite is not running as root, so it cannot make containers' }

    function Wait-Until([scriptblock]$Condition, [int]$Seconds = 20) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(20) }
        & $Condition
    }

    function Get-TableCell([object]$InputObject, [string]$Row, [string]$Column) {
        # The text of one cell of the default table view: the row that starts with $Row, from where $Column's header
        # starts to the end of the line (the last column), or to the next column.
        $lines = ($InputObject | Format-Table | Out-String -Width 250) -replace "`e\[[0-9;]*m", '' -split "`r?`n"
        $header = $lines | Where-Object { $_ -match "(^|\s)$Column(\s|$)" } | Select-Object -First 1
        $line = $lines | Where-Object { $_ -match "^$([regex]::Escape($Row))\s" } | Select-Object -First 1
        $at = $header.IndexOf($Column)
        if ($null -eq $line -or $line.Length -le $at) { return $null }
        $line.Substring($at).Trim()
    }
}

AfterAll {
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
    if ($script:Temp -and [System.IO.Directory]::Exists($script:Temp)) { & rm -rf $script:Temp }
}

Describe 'A sandbox' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'is made without a program, runs until Stop-Container, shows (sandbox) as its command and exits with 0' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name sbx
        $c.State | Should -Be 'Created'
        $c.FilePath | Should -Be ''
        $c.ArgumentList | Should -HaveCount 0
        Get-TableCell $c sbx Command | Should -Be '(sandbox)'

        $c = Start-Container -Name sbx -PassThru
        $c.State | Should -Be 'Running'
        $c.Pid | Should -BeGreaterThan 0
        [System.Threading.Thread]::Sleep(500)
        $c = Get-Container -Name sbx
        $c.State | Should -Be 'Running' -Because 'a sandbox has no program whose end would end it'
        Test-ProcessAlive $c.Pid | Should -BeTrue
        Get-TableCell $c sbx Command | Should -Be '(sandbox)'
        Get-TableCell $c sbx State | Should -BeLike 'Running*'
        @(Get-ContainerProcess -Name sbx) | Should -HaveCount 0 -Because 'a sandbox has no main process'

        $stopped = Stop-Container -Name sbx -PassThru -Timeout 5
        $stopped.State | Should -Be 'Exited'
        $stopped.ExitCode | Should -Be 0
        $stopped.Signal | Should -BeNullOrEmpty
        (Get-Container -Name sbx).State | Should -Be 'Exited'
        Test-ProcessAlive $c.Pid | Should -BeFalse
        (Get-CGroup -Path $c.CGroupPath).ProcessIds | Should -HaveCount 0
    }

    It 'ends the processes in it when it is stopped, and they stay listed as Exited by SIGTERM' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name sbx2 | Start-Container
        $p = Start-ContainerProcess -Name sbx2 /bin/sleep 300
        $p.State | Should -Be 'Running'
        Test-ProcessAlive $p.Pid | Should -BeTrue
        (Stop-Container -Name sbx2 -PassThru -Timeout 5).State | Should -Be 'Exited'
        Test-ProcessAlive $p.Pid | Should -BeFalse
        $after = Get-ContainerProcess -Name sbx2 -Id $p.Id
        $after.State | Should -Be 'Exited'
        $after.Signal | Should -Be 15
        $after.ExitCode | Should -Be 143
    }
}

Describe 'Start-ContainerProcess' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'returns processes numbered 1 then 2; Wait-ContainerProcess gives the exit; Get-ContainerLog -ProcessId their lines' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name box | Start-Container
        $script = 'echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; exit 3'
        $p1 = Start-ContainerProcess -Name box /bin/sh -ArgumentList '-c', $script
        $p1 | Should -BeOfType [PSContainers.Containers.ContainerProcess]
        $p1.ContainerName | Should -Be 'box'
        $p1.Id | Should -BeOfType [string]
        $p1.Id | Should -Be '1'
        $p1.FilePath | Should -Be '/bin/sh'
        $p1.ArgumentList | Should -Be @('-c', $script)
        $p1.State | Should -Be 'Running'
        $p1.Pid | Should -BeGreaterThan 0
        $p1.ExitCode | Should -BeNullOrEmpty
        $p1.StartTime | Should -Not -BeNullOrEmpty
        $p1.Tty | Should -BeFalse
        # The arguments after the program bind by position.
        $p2 = Start-ContainerProcess -Name box /bin/echo second
        $p2.Id | Should -Be '2'
        $p2.ArgumentList | Should -Be @('second')

        $done = Wait-ContainerProcess -Name box -Id 1 -Timeout 20
        $done.Id | Should -Be '1'
        $done.State | Should -Be 'Exited'
        $done.ExitCode | Should -Be 3
        $done.Signal | Should -BeNullOrEmpty
        $done.ExitTime | Should -BeGreaterOrEqual $done.StartTime
        Test-ProcessAlive $p1.Pid | Should -BeFalse
        (Wait-ContainerProcess -Name box -Id 2 -Timeout 20).ExitCode | Should -Be 0

        Get-ContainerLog -Name box -ProcessId 1 | Should -Be @('out1', 'err1', 'out2')
        Get-ContainerLog -Name box -ProcessId 1 -Stream Stdout | Should -Be @('out1', 'out2')
        Get-ContainerLog -Name box -ProcessId 1 -Stream Stderr | Should -Be @('err1')
        Get-ContainerLog -Name box -ProcessId 1 -Tail 1 | Should -Be 'out2'
        Get-ContainerLog -Name box -ProcessId 1 -Stream Stdout -Tail 1 | Should -Be 'out2'
        Get-ContainerLog -Name box -ProcessId 2 | Should -Be 'second'
        # The sandbox itself wrote nothing: its processes' output is kept apart from the container's log.
        @(Get-ContainerLog -Name box) | Should -HaveCount 0
        (Get-Container -Name box).State | Should -Be 'Running'
    }

    It 'applies -Environment, -WorkingDirectory, -User and -ResourceLimit, and records the directory and user' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name opts | Start-Container
        $p = Start-ContainerProcess -Name opts /bin/sh -ArgumentList '-c', 'id -u; id -g; pwd; echo "$GREETING"; ulimit -n' `
            -Environment @{ GREETING = 'hello there' } -WorkingDirectory /tmp -User 65534:65534 -ResourceLimit @{ nofile = 64 }
        $done = $p | Wait-ContainerProcess -Timeout 20
        $done.ExitCode | Should -Be 0
        $done.WorkingDirectory | Should -Be '/tmp'
        $done.User | Should -Be '65534:65534'
        Get-ContainerLog -Name opts -ProcessId $p.Id | Should -Be @('65534', '65534', '/tmp', 'hello there', '64')
    }
}

Describe 'A process started by another pwsh' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'runs on after that pwsh exits: this session sees it Running with its Pid, follows its whole log to its end and gets its exit code' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name xs | Start-Container
        $go = [System.IO.Path]::Combine($Temp, 'go-xs')
        # One line at once; the rest only once this session creates $go (the first pwsh is gone by then), a line every
        # 0.5 s. Bounded: without $go it goes on after 30 s.
        $script = "echo before; i=0; while [ ! -e '$go' ] && [ `$i -lt 600 ]; do sleep 0.05; i=`$((i+1)); done; " +
            'echo after1; sleep 0.5; echo after2 >&2; sleep 0.5; echo after3; exit 5'
        $cmd = "`$env:PSCONTAINERS_CGROUP_ROOT = '$Root'; `$env:PSCONTAINERS_DEPOT = '$Depot'; " +
            "`$p = Start-ContainerProcess -Name xs /bin/sh -ArgumentList '-c', '$($script.Replace("'", "''"))' -ErrorAction Stop; " +
            """started `$(`$p.Id) `$(`$p.Pid) `$(`$p.State) `$PID"""
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -TimeoutSec 120
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $started = $r.Output.Trim().Split("`n") | Where-Object { $_ -like 'started *' }
        $started | Should -HaveCount 1 -Because $r.Output
        $null, $id, $processId, $state, $shellPid = $started.Trim().Split(' ')
        $id | Should -Be '1'
        $state | Should -Be 'Running'
        Test-ProcessAlive ([int]$shellPid) | Should -BeFalse -Because 'the pwsh that started it has exited'

        # This session: the same process, still running, with what it wrote so far.
        $seen = Get-ContainerProcess -Name xs -Id 1
        $seen.State | Should -Be 'Running'
        $seen.Pid | Should -Be ([int]$processId)
        $seen.FilePath | Should -Be '/bin/sh'
        Test-ProcessAlive $seen.Pid | Should -BeTrue
        Wait-Until { @(Get-ContainerLog -Name xs -ProcessId 1) -contains 'before' } | Should -BeTrue
        @(Get-ContainerLog -Name xs -ProcessId 1) | Should -Be @('before')

        # -Follow replays what was written, streams each new line as it is written and ends when the process exits.
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        [System.IO.File]::WriteAllText($go, '')
        $got = @(Get-ContainerLog -Name xs -ProcessId 1 -Follow | ForEach-Object { [pscustomobject]@{ Line = $_; At = $sw.Elapsed.TotalSeconds } })
        $sw.Stop()
        $got.Line | Should -Be @('before', 'after1', 'after2', 'after3')
        ($got[3].At - $got[1].At) | Should -BeGreaterThan 0.5 -Because 'the lines came as they were written, 0.5 s apart, not all at the end'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 20
        (Get-ContainerProcess -Name xs -Id 1).State | Should -Be 'Exited' -Because '-Follow ends when the process has exited'

        $done = Wait-ContainerProcess -Name xs -Id 1 -Timeout 20
        $done.State | Should -Be 'Exited'
        $done.ExitCode | Should -Be 5
        $done.Signal | Should -BeNullOrEmpty
        Test-ProcessAlive ([int]$processId) | Should -BeFalse
        Get-ContainerLog -Name xs -ProcessId 1 -Stream Stderr | Should -Be 'after2'
    }
}

Describe 'Processes through the pipeline' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'stops a piped process with SIGTERM: Exited, Signal 15, ExitCode 143' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name pipe | Start-Container
        $stopped = Start-ContainerProcess -Name pipe /bin/sleep 300 | Stop-ContainerProcess -PassThru -Timeout 10
        $stopped.ContainerName | Should -Be 'pipe'
        $stopped.Id | Should -Be '1'
        $stopped.State | Should -Be 'Exited'
        $stopped.Signal | Should -Be 15
        $stopped.ExitCode | Should -Be 143
        (Get-ContainerProcess -Name pipe -Id 1).State | Should -Be 'Exited'
        (Get-Container -Name pipe).State | Should -Be 'Running' -Because 'stopping a process leaves its sandbox running'
    }

    It 'kills with SIGKILL after -Timeout a process that ignores SIGTERM, and at once with -Force' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name pipe | Start-Container
        $p = Start-ContainerProcess -Name pipe /bin/sh -ArgumentList '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'
        Wait-Until { @(Get-ContainerLog -Name pipe -ProcessId $p.Id) -contains 'ready' } | Should -BeTrue
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $stopped = $p | Stop-ContainerProcess -Timeout 1 -PassThru
        $sw.Stop()
        $stopped.Signal | Should -Be 9
        $stopped.ExitCode | Should -Be 137
        $sw.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 0.9 -Because 'SIGTERM was given -Timeout 1 to work'
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 10

        $q = Start-ContainerProcess -Name pipe /bin/sleep 300
        $sw.Restart()
        $killed = $q | Stop-ContainerProcess -Force -PassThru -Timeout 30
        $sw.Stop()
        $killed.Signal | Should -Be 9
        $killed.ExitCode | Should -Be 137
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because '-Force does not wait for -Timeout'
    }

    It 'delivers -Signal <Signal> as given: the trap exits 7, which Wait-ContainerProcess returns' -TestCases @(
        @{ Signal = 'USR1' }, @{ Signal = 'SIGUSR1' }, @{ Signal = '10' }
    ) {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name sig | Start-Container
        $p = Start-ContainerProcess -Name sig /bin/sh -ArgumentList '-c', 'trap "exit 7" USR1; echo ready; while :; do sleep 0.05; done'
        # The trap is set once 'ready' is written; a USR1 before it would end sh by the signal.
        Wait-Until { @(Get-ContainerLog -Name sig -ProcessId $p.Id) -contains 'ready' } | Should -BeTrue
        $p | Stop-ContainerProcess -Signal $Signal
        $done = $p | Wait-ContainerProcess -Timeout 20
        $done.State | Should -Be 'Exited'
        $done.ExitCode | Should -Be 7
        $done.Signal | Should -BeNullOrEmpty
    }

    It 'lists a container''s processes from Get-Container, numbered per container, and finds one from its object' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name lista | Start-Container
        New-Container -Name listb | Start-Container
        $a1 = Start-ContainerProcess -Name lista /bin/sleep 300
        $a2 = Start-ContainerProcess -Name lista /bin/sh -ArgumentList '-c', 'exit 2'
        $b1 = Start-ContainerProcess -Name listb /bin/sleep 300
        $null = $a2 | Wait-ContainerProcess -Timeout 20

        $list = @(Get-Container -Name lista | Get-ContainerProcess)
        $list | Should -HaveCount 2
        $list.ContainerName | Should -Be @('lista', 'lista')
        $list.Id | Should -Be @('1', '2')
        $list.State | Should -Be @('Running', 'Exited')
        $list[0].Pid | Should -Be $a1.Pid
        $list[1].ExitCode | Should -Be 2

        $both = @(Get-Container -Name lista, listb | Get-ContainerProcess)
        $both | ForEach-Object { "$($_.ContainerName)/$($_.Id)" } | Should -Be @('lista/1', 'lista/2', 'listb/1')
        $b1.Id | Should -Be '1'
        @(Get-ContainerProcess -Name 'list*' -Id 1).Pid | Should -Be @($a1.Pid, $b1.Pid)
        ($b1 | Get-ContainerProcess).Pid | Should -Be $b1.Pid
        ($a2 | Get-ContainerProcess).ExitCode | Should -Be 2
    }
}

Describe 'The main program of a container' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'is listed as process main, and Wait-ContainerProcess -Id main gives its exit code' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name m /bin/sh -ArgumentList '-c', 'echo hi; sleep 0.3; exit 4' | Start-Container -PassThru
        $list = @(Get-ContainerProcess -Name m)
        $list | Should -HaveCount 1
        $list[0].ContainerName | Should -Be 'm'
        $list[0].Id | Should -Be 'main'
        $list[0].FilePath | Should -Be '/bin/sh'
        $list[0].ArgumentList | Should -Be @('-c', 'echo hi; sleep 0.3; exit 4')
        $done = Wait-ContainerProcess -Name m -Id main -Timeout 20
        $done.Id | Should -Be 'main'
        $done.State | Should -Be 'Exited'
        $done.ExitCode | Should -Be 4
        $done.Signal | Should -BeNullOrEmpty
        Get-ContainerLog -Name m -ProcessId main | Should -Be 'hi'
        $c = Get-Container -Name m
        $c.State | Should -Be 'Exited'
        $c.ExitCode | Should -Be 4
    }
}

Describe 'Refused process calls' {
    BeforeAll {
        if (-not $Why) {
            New-Container -Name live | Start-Container
            $script:Sleeper = Start-ContainerProcess -Name live /bin/sleep 300
            $null = New-Container -Name created
            New-Container -Name ended | Start-Container
            Stop-Container -Name ended -Timeout 5
        }

        function Get-ProcessState {
            # What a refused call must not change: the containers, every process listed (with its pid and state),
            # the processes in the running sandbox's cgroup, and the depot's entries and process records.
            $lines = [System.Collections.Generic.List[string]]::new()
            foreach ($c in Get-Container) { $lines.Add("container $($c.Name) $($c.State) $($c.Pid) $($c.ExitCode)") }
            foreach ($p in Get-ContainerProcess) { $lines.Add("process $($p.ContainerName)/$($p.Id) $($p.State) $($p.Pid) $($p.ExitCode) $($p.Signal)") }
            $lines.Add('cgroup ' + (((Get-CGroup -Path (Get-Container -Name live).CGroupPath).ProcessIds | Sort-Object) -join ' '))
            foreach ($dir in [System.IO.Directory]::GetDirectories($Depot, '*', [System.IO.SearchOption]::AllDirectories)) { $lines.Add("depot $dir") }
            $lines -join "`n"
        }
    }
    AfterAll {
        Remove-Container -Name live, created, ended, fresh -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It '<Cmdlet>, <Case>: <Id>' -ForEach $BadCases {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $before = Get-ProcessState
        $err = $null
        $ErrorActionPreference = 'Stop'
        $ConfirmPreference = 'None'
        try { $null = & $Call } catch { $err = $_ }
        $ErrorActionPreference = 'Continue'
        $after = Get-ProcessState

        $err | Should -Not -BeNullOrEmpty -Because 'the call must be refused'
        $err.FullyQualifiedErrorId | Should -Be "$Id,PSContainers.Commands.$($Cmdlet.Replace('-', ''))Command"
        "$($err.CategoryInfo.Category)" | Should -Be $Category
        $err.Exception.Message | Should -BeLike "*$([System.Management.Automation.WildcardPattern]::Escape($Shows))*" -Because 'the message names the offending value'
        $after | Should -Be $before -Because 'a refused call changes nothing'
        $p = Get-ContainerProcess -Name live -Id 1
        $p.State | Should -Be 'Running'
        $p.Pid | Should -Be $Sleeper.Pid
    }
}
