# Invoke-ContainerCommand through the built module: one more program inside a running container, its stdout as
# output, its stderr as errors, its exit code in $LASTEXITCODE, as a job, stopped with the pipeline.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot

    function Get-ExecProcessCount([string]$Name) {
        # Processes in the container's cgroup besides its init and main process.
        (Get-CGroup -Path (Get-Container -Name $Name).CGroupPath).ProcessIds.Count - 2
    }

    function Wait-Until([scriptblock]$Condition, [int]$Seconds = 20) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while (-not (& $Condition) -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(20) }
        & $Condition
    }
}

AfterAll {
    Get-Job | Where-Object { $_.PSJobTypeName -eq 'ContainerCommandJob' } | Remove-Job -Force
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'Invoke-ContainerCommand' {
    BeforeAll {
        New-Container -Name box /bin/sleep -ArgumentList 300 -Hostname box1 -Environment @{ FROM_CONTAINER = 'yes' } | Start-Container
        New-Container -Name box2 /bin/sleep -ArgumentList 300 -Hostname box2 | Start-Container
    }
    AfterAll {
        Remove-Container -Name box, box2 -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'writes the program''s stdout lines to the output stream' {
        Invoke-ContainerCommand -Name box hostname | Should -Be 'box1'
        Invoke-ContainerCommand -Name box -FilePath /bin/sh -ArgumentList '-c', 'echo one; echo; echo "two  spaced"' | Should -Be @('one', '', 'two  spaced')
        $LASTEXITCODE | Should -Be 0
    }

    It 'runs inside the container: init is pid 1, only its processes are visible, its cgroup' {
        $out = Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'cat /proc/1/comm; echo $$; ls /proc | grep -cE "^[0-9]+$"; cat /proc/self/cgroup'
        $out[0] | Should -Be 'psc-init'
        [int]$out[1] | Should -BeGreaterThan 2
        [int]$out[2] | Should -BeLessOrEqual 6    # init, sleep, sh, ls, grep
        $out | Should -Contain ('0::/' + $Root + '/box')
    }

    It 'writes stderr lines as errors, apart from the output, and sets $LASTEXITCODE' {
        $err = $null
        $out = Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'echo out1; echo err1 >&2; echo out2; exit 3' -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be @('out1', 'out2')
        $err | Should -HaveCount 1
        "$($err[0])" | Should -Be 'err1'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerStderr,*'
        $err[0].CategoryInfo.Category | Should -Be 'FromStdErr'
        $LASTEXITCODE | Should -Be 3
    }

    It 'returns the exit code <Code> in $LASTEXITCODE' -TestCases @(
        @{ Script = 'exit 0'; Code = 0 }, @{ Script = 'exit 3'; Code = 3 }, @{ Script = 'exit 255'; Code = 255 }, @{ Script = 'kill -KILL $$'; Code = 137 }
    ) {
        Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', $Script
        $LASTEXITCODE | Should -Be $Code
        (Get-Container box).State | Should -Be 'Running'
    }

    It 'takes containers from the pipeline, by object and by property name' {
        Get-Container box | Invoke-ContainerCommand hostname | Should -Be 'box1'
        Get-Container box, box2 | Invoke-ContainerCommand hostname | Should -Be @('box1', 'box2')
        $c = Get-Container box2
        Invoke-ContainerCommand -InputObject $c -FilePath hostname | Should -Be 'box2'
    }

    It 'takes the arguments after the program as they come, and everything after --' {
        Invoke-ContainerCommand -Name box sh -c 'echo "$0 $1"' first second | Should -Be 'first second'
        Invoke-ContainerCommand -Name box -- id -u | Should -Be '0'
        Invoke-ContainerCommand -Name box ls -ArgumentList '-d', '/tmp' | Should -Be '/tmp'
    }

    It 'applies -Environment over the container''s, -WorkingDirectory and -User' {
        $script = 'id -u; id -g; pwd; echo "$FROM_CONTAINER $GREETING"'
        $out = Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', $script -Environment @{ GREETING = 'hello there' } -WorkingDirectory /tmp -User 65534:65534
        $out | Should -Be @('65534', '65534', '/tmp', 'yes hello there')
        Invoke-ContainerCommand -Name box id -ArgumentList '-un' -User nobody | Should -Be 'nobody'
        Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'id -u; pwd' | Should -Be @('0', '/')
    }

    It 'kills the program and its children when the pipeline is stopped (Ctrl+C)' {
        # A second runspace of this process runs the command; Stop() is what Ctrl+C does to a pipeline.
        $rs = [runspacefactory]::CreateRunspace([initialsessionstate]::CreateDefault2())
        $rs.Open()
        $ps = [powershell]::Create()
        $ps.Runspace = $rs
        try {
            $null = $ps.AddScript("Import-Module '$ModuleManifest'; Invoke-ContainerCommand -Name box /bin/sh -ArgumentList '-c', 'sleep 306 & echo started; wait'")
            $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $in = [System.Management.Automation.PSDataCollection[psobject]]::new()
            $in.Complete()
            $handle = $ps.BeginInvoke($in, $output)
            Wait-Until { $output.Count -ge 1 } | Should -BeTrue
            Wait-Until { (Get-ExecProcessCount box) -ge 2 } | Should -BeTrue
            $sw = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
            $handle.IsCompleted | Should -BeTrue
            "$($output[0])" | Should -Be 'started'
            Get-ExecProcessCount box | Should -Be 0
        } finally {
            $ps.Dispose()
            $rs.Dispose()
        }
    }
}

Describe 'Invoke-ContainerCommand stdin, exit status and bytes' {
    BeforeAll {
        New-Container -Name feed | Start-Container
    }
    AfterAll {
        Remove-Container -Name feed -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'takes pipeline input as the program''s stdin, strings as lines, and closes it at the end of input' {
        'one', 'two', 'three' | Invoke-ContainerCommand -Name feed /bin/sh -c 'cat -n; echo eof' |
            Should -Be @("     1`tone", "     2`ttwo", "     3`tthree", 'eof')
        $LASTEXITCODE | Should -Be 0
    }

    It 'with -AsJob, starts one job whose stdin is the whole pipeline input' {
        $jobs = @('one', 'two', 'three' | Invoke-ContainerCommand -Name feed /bin/sh -c 'cat -n; echo eof' -AsJob)
        $many = @(1..20000 | Invoke-ContainerCommand -Name feed /bin/sh -c 'sleep 0.3; wc -l' -AsJob)
        try {
            $jobs | Should -HaveCount 1
            $many | Should -HaveCount 1
            @(Get-Job | Where-Object { $_.PSJobTypeName -eq 'ContainerCommandJob' }) | Should -HaveCount 2
            $null = Wait-Job -Job ($jobs + $many) -Timeout 60
            $jobs[0].State | Should -Be 'Completed'
            Receive-Job -Job $jobs[0] | Should -Be @("     1`tone", "     2`ttwo", "     3`tthree", 'eof')
            $many[0].State | Should -Be 'Completed'
            (Receive-Job -Job $many[0]).Trim() | Should -Be '20000'
        } finally {
            Remove-Job -Job ($jobs + $many) -Force
        }
    }

    It 'passes bytes as bytes, a byte[] whole, and returns bytes unmangled with -AsByteStream' {
        [byte[]](0, 1, 255, 10) | Invoke-ContainerCommand -Name feed /bin/sh -c 'od -An -tx1' | ForEach-Object Trim | Should -Be '00 01 ff 0a'
        , [byte[]](0, 200, 13, 10) | Invoke-ContainerCommand -Name feed /bin/sh -c 'od -An -tx1' | ForEach-Object Trim | Should -Be '00 c8 0d 0a'
        $out = @(Invoke-ContainerCommand -Name feed /bin/sh -c 'printf "\000\001\377\r\nabc"' -AsByteStream)
        $bytes = [byte[]]@($out | ForEach-Object { $_ })
        $out[0].GetType() | Should -Be ([byte[]])
        $bytes | Should -Be ([byte[]](0, 1, 255, 13, 10, 97, 98, 99))
    }

    It 'streams a large input to a slow reader without buffering it whole, and stops feeding a program that quit' {
        $lines = 1..50000 | ForEach-Object { "line $_" }
        ($lines | Invoke-ContainerCommand -Name feed /bin/sh -c 'sleep 0.5; wc -l').Trim() | Should -Be '50000'
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        1..200000 | Invoke-ContainerCommand -Name feed -- head -n 2 | Should -Be @('1', '2')
        $LASTEXITCODE | Should -Be 0
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 60
    }

    It 'sets $LASTEXITCODE and makes $? false on a non-zero exit, as a native command, without an error record' {
        $Error.Clear()
        Invoke-ContainerCommand -Name feed /bin/sh -c 'exit 3'
        $ok = $?
        $ok | Should -BeFalse
        $LASTEXITCODE | Should -Be 3
        $Error.Count | Should -Be 0
        Invoke-ContainerCommand -Name feed /bin/true
        $ok = $?
        $ok | Should -BeTrue
        $LASTEXITCODE | Should -Be 0
    }

    It 'raises ProgramExitedWithNonZeroCode under $PSNativeCommandUseErrorActionPreference' {
        $PSNativeCommandUseErrorActionPreference = $true
        { Invoke-ContainerCommand -Name feed /bin/sh -c 'exit 4' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ProgramExitedWithNonZeroCode,PSContainers.Commands.InvokeContainerCommandCommand'
        $LASTEXITCODE | Should -Be 4
    }

    It 'applies -ResourceLimit over the container''s rlimits' {
        Invoke-ContainerCommand -Name feed /bin/sh -c 'ulimit -n; ulimit -Hn' -ResourceLimit @{ nofile = '50:60' } | Should -Be @('50', '60')
    }

    It 'refuses a bad -ResourceLimit before anything runs' {
        { Invoke-ContainerCommand -Name feed /bin/true -ResourceLimit @{ nofile = 'lots' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidResourceLimit,*'
    }
}

Describe 'Invoke-ContainerCommand -AsJob' {
    BeforeAll {
        New-Container -Name jobbox /bin/sleep -ArgumentList 300 | Start-Container
    }
    AfterAll {
        Remove-Container -Name jobbox -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'returns a job whose output and errors Receive-Job returns, Completed on exit 0' {
        $job = Invoke-ContainerCommand -Name jobbox /bin/sh -ArgumentList '-c', 'echo one; echo two >&2; echo three' -AsJob
        try {
            $job.PSJobTypeName | Should -Be 'ContainerCommandJob'
            $job.Location | Should -Be 'jobbox'
            $null = $job | Wait-Job -Timeout 30
            $job.State | Should -Be 'Completed'
            $job.ExitCode | Should -Be 0
            $jerr = $null
            $out = Receive-Job -Job $job -ErrorVariable jerr -ErrorAction SilentlyContinue
            $out | Should -Be @('one', 'three')
            "$($jerr[0])" | Should -Be 'two'
            $job.HasMoreData | Should -BeFalse
        } finally {
            Remove-Job -Job $job -Force
        }
    }

    It 'is Failed with the exit code when the program exits non-zero' {
        $job = Invoke-ContainerCommand -Name jobbox -FilePath /bin/sh -ArgumentList '-c', 'echo partial; exit 5' -AsJob
        try {
            $null = Wait-Job -Job $job -Timeout 30
            $job.State | Should -Be 'Failed'
            $job.ExitCode | Should -Be 5
            Receive-Job -Job $job | Should -Be 'partial'
        } finally {
            Remove-Job -Job $job -Force
        }
    }

    It 'is Stopped by Stop-Job, which kills the program and its children' {
        $job = Invoke-ContainerCommand -Name jobbox /bin/sh -ArgumentList '-c', 'sleep 307 & echo started; wait' -AsJob
        try {
            Wait-Until { $job.Output.Count -ge 1 } | Should -BeTrue
            Wait-Until { (Get-ExecProcessCount jobbox) -ge 2 } | Should -BeTrue
            Stop-Job -Job $job
            $job.State | Should -Be 'Stopped'
            Get-ExecProcessCount jobbox | Should -Be 0
        } finally {
            Remove-Job -Job $job -Force
        }
    }

    It 'reports bad input at once, not in a job' {
        { Invoke-ContainerCommand -Name jobbox /no/such/program -AsJob -ErrorAction Stop } | Should -Throw -ErrorId 'ProgramNotFound,*'
        @(Get-Job | Where-Object { $_.PSJobTypeName -eq 'ContainerCommandJob' }) | Should -HaveCount 0
    }
}

Describe 'Invoke-ContainerCommand refuses bad input' {
    BeforeAll {
        New-Container -Name live /bin/sleep -ArgumentList 300 | Start-Container
        New-Container -Name ended /bin/true | Start-Container -PassThru | Wait-Container | Out-Null
        New-Container -Name created /bin/true | Out-Null
    }
    AfterAll {
        Remove-Container -Name live, ended, created -Force -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'refuses <What> with <Id>' -TestCases @(
        @{ What = 'a container that does not exist'; Params = @{ Name = 'ghost'; FilePath = '/bin/true' }; Id = 'ContainerNotFound' }
        @{ What = 'an exited container'; Params = @{ Name = 'ended'; FilePath = '/bin/true' }; Id = 'ContainerNotRunning' }
        @{ What = 'a container never started'; Params = @{ Name = 'created'; FilePath = '/bin/true' }; Id = 'ContainerNotRunning' }
        @{ What = 'a missing program'; Params = @{ Name = 'live'; FilePath = '/no/such/program' }; Id = 'ProgramNotFound' }
        @{ What = 'a name not in PATH'; Params = @{ Name = 'live'; FilePath = 'no-such-program-x' }; Id = 'ProgramNotFound' }
        @{ What = 'a program that is not executable'; Params = @{ Name = 'live'; FilePath = '/etc/passwd' }; Id = 'ProgramNotExecutable' }
        @{ What = 'an empty program'; Params = @{ Name = 'live'; FilePath = '' }; Id = 'InvalidFilePath' }
        @{ What = 'a missing working directory'; Params = @{ Name = 'live'; FilePath = '/bin/true'; WorkingDirectory = '/no/such/dir' }; Id = 'WorkingDirectoryNotFound' }
        @{ What = 'an unknown user'; Params = @{ Name = 'live'; FilePath = '/bin/true'; User = 'no-such-user-x' }; Id = 'UserNotFound' }
        @{ What = 'a bad environment name'; Params = @{ Name = 'live'; FilePath = '/bin/true'; Environment = @{ 'A=B' = 'x' } }; Id = 'InvalidEnvironment' }
        @{ What = 'a bad container name'; Params = @{ Name = '../x'; FilePath = '/bin/true' }; Id = 'InvalidContainerName' }
    ) {
        { Invoke-ContainerCommand @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*"
        Get-ExecProcessCount live | Should -Be 0
    }

    It 'reports a failed exec with its errno' {
        $dir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-exec-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $null = [System.IO.Directory]::CreateDirectory($dir)
        $file = [System.IO.Path]::Combine($dir, 'prog')
        [System.IO.File]::WriteAllText($file, "#!/no/such/interpreter`n")
        [System.IO.File]::SetUnixFileMode($file, 'UserRead, UserWrite, UserExecute')
        try {
            { Invoke-ContainerCommand -Name live $file -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerExec,ENOENT,*'
            Get-ExecProcessCount live | Should -Be 0
        } finally {
            [System.IO.Directory]::Delete($dir, $true)
        }
    }

    It 'writes a non-terminating error and goes on with the next piped container' {
        $err = $null
        $out = Get-Container -Name ended, live | Invoke-ContainerCommand hostname -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be 'live'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*'
    }
}
