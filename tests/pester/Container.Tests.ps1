# Containers through the built module: isolated, reaped, limited process trees, found again from other sessions.

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

Describe 'A container''s life' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'is Created by New-Container with its cgroup and limits, before anything runs' {
        $c = New-Container -Name life /bin/sh -ArgumentList '-c', 'exit 0' -MemoryLimit 64MB -PidsLimit 20
        $c.Name | Should -Be 'life'
        $c.State | Should -Be 'Created'
        $c.Pid | Should -BeNullOrEmpty
        $c.CGroupPath | Should -Be "/$Root/life"
        $cg = Get-CGroup -Path $c.CGroupPath
        $cg.MemoryLimit | Should -Be 64MB
        $cg.PidsLimit | Should -Be 20
        [System.IO.Directory]::Exists([System.IO.Path]::Combine($Depot, 'life')) | Should -BeTrue
    }

    It 'runs, and Wait-Container returns the exit code <Code> exactly' -TestCases @(
        @{ Code = 0 }, @{ Code = 1 }, @{ Code = 42 }, @{ Code = 255 }
    ) {
        $c = New-Container -Name "code$Code" /bin/sh -ArgumentList '-c', "exit $Code" | Start-Container -PassThru | Wait-Container
        $c.State | Should -Be 'Exited'
        $c.ExitCode | Should -Be $Code
        $c.Signal | Should -BeNullOrEmpty
    }

    It 'reports a signal as 128+n with the signal number' {
        $c = New-Container -Name sig /bin/sh -ArgumentList '-c', 'kill -9 $$' | Start-Container -PassThru | Wait-Container
        $c.ExitCode | Should -Be 137
        $c.Signal | Should -Be 9
    }

    It 'streams stdout to output and stderr to errors with -Wait' {
        New-Container -Name talk /bin/sh -ArgumentList '-c', 'echo out1; echo err1 >&2; echo out2; exit 3'
        $err = $null
        $out = Start-Container -Name talk -Wait -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be @('out1', 'out2')
        $err | Should -HaveCount 1
        "$($err[0])" | Should -Be 'err1'
        $LASTEXITCODE | Should -Be 3
        Get-ContainerLog -Name talk -Stream Stdout | Should -Be @('out1', 'out2')
        Get-ContainerLog -Name talk -Stream Stderr | Should -Be @('err1')
        Get-ContainerLog -Name talk -Stream Stdout -Tail 1 | Should -Be 'out2'
    }

    It 'keeps the two streams of the program in the order written, bounded, for -Stream All, -Tail and -Follow' {
        # Each write waits long enough for the init to have read the one before.
        New-Container -Name order /bin/sh -ArgumentList '-c', 'for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done' |
            Start-Container -PassThru | Wait-Container | Out-Null
        $all = @('out1', 'err1', 'out2', 'err2', 'out3', 'err3')
        Get-ContainerLog -Name order | Should -Be $all
        Get-ContainerLog -Name order -Tail 3 | Should -Be @('err2', 'out3', 'err3')
        Get-ContainerLog -Name order -Follow | Should -Be $all
        $dir = Join-Path $Depot order
        (Get-ChildItem -LiteralPath $dir -Name) | Should -Not -Contain 'stdout.log'
        (Get-Item -LiteralPath (Join-Path $dir output.log)).Length | Should -BeGreaterThan 0
    }

    It 'does not block a program that writes 20 MiB nobody reads, and keeps the newest part' {
        $c = New-Container -Name flood /bin/sh -ArgumentList '-c', 'i=0; while [ $i -lt 20 ]; do head -c 1048576 /dev/zero | tr "\0" "x"; echo; i=$((i+1)); done; echo last-line' |
            Start-Container -PassThru | Wait-Container -Timeout 60
        $c.State | Should -Be Exited
        $c.ExitCode | Should -Be 0
        $dir = Join-Path $Depot flood
        (Get-Item -LiteralPath (Join-Path $dir output.log)).Length | Should -BeLessOrEqual (8MB + 64KB + 32)
        (Get-Item -LiteralPath (Join-Path $dir output.log.1)).Length | Should -BeGreaterOrEqual 8MB
        Get-ContainerLog -Name flood -Tail 1 | Should -Be 'last-line'
    }

    It 'is isolated: the main process is pid 2 under init as 1, /proc shows only the container, the hostname is its own' {
        $script = 'echo "pid $$"; echo "ppid $PPID"; hostname; ls /proc | grep -cE "^[0-9]+$"'
        New-Container -Name iso /bin/sh -ArgumentList '-c', $script -Hostname box1 | Start-Container
        Wait-Container -Name iso | Out-Null
        $log = Get-ContainerLog -Name iso -Stream Stdout
        $log[0] | Should -Be 'pid 2'
        $log[1] | Should -Be 'ppid 1'
        $log[2] | Should -Be 'box1'
        [int]$log[3] | Should -BeLessOrEqual 4   # init, sh, ls, and grep while it starts
    }

    It 'has no fd of the session but 0-2 in the main process' {
        New-Container -Name fds /bin/sh -ArgumentList '-c', 'ls /proc/self/fd' | Start-Container -Wait | Should -Be @('0', '1', '2', '3')
    }

    It 'keeps a tree of nested background processes in its cgroup and Stop-Container leaves none alive' {
        $tree = 'sleep 300 & (sleep 300 & (sleep 300 & wait) & wait) & setsid sh -c "trap \"\" TERM; sleep 300" & trap "" TERM; echo up; wait'
        $c = New-Container -Name tree /bin/sh -ArgumentList '-c', $tree -Isolation Mount, Uts, Ipc | Start-Container -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-CGroup $c.CGroupPath).ProcessIds.Count -lt 7 -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(50) }
        $pids = (Get-CGroup $c.CGroupPath).ProcessIds
        $pids.Count | Should -BeGreaterOrEqual 7
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        Stop-Container -Name tree -Timeout 1
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 3
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse -Because "process $id was in the container" }
        (Get-Container tree).State | Should -Be 'Exited'
        (Get-CGroup $c.CGroupPath).ProcessIds | Should -HaveCount 0
    }

    It 'runs a script block in a fresh PowerShell inside the container' {
        $out = New-Container -Name sb -ScriptBlock { "inside: $([Environment]::ProcessId)" } | Start-Container -Wait
        $out | Should -Be 'inside: 2'
    }

    It 'is found, stopped and removed from a second session after the first has exited' {
        $env:PSCONTAINERS_CGROUP_ROOT = $Root
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', "New-Container -Name other /bin/sleep -ArgumentList 300 | Start-Container")
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $c = Get-Container -Name other
        $c.State | Should -Be 'Running'
        $c.Pid | Should -BeGreaterThan 0
        Test-ProcessAlive $c.Pid | Should -BeTrue
        $r2 = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', "Stop-Container -Name other -Force; Remove-Container -Name other; if (Get-Container -Name other -ErrorAction SilentlyContinue) { exit 9 }")
        $r2.ExitCode | Should -Be 0 -Because $r2.Output
        Test-ProcessAlive $c.Pid | Should -BeFalse
        Test-CGroupDirectory "/$Root/other" | Should -BeFalse
    }

    It 'tells the truth to a new session after the first was killed with SIGKILL during Start-Container -Wait' {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($Shell)
        $psi.Environment['PSModulePath'] = $ModuleBase
        foreach ($a in '-NoProfile', '-NonInteractive', '-Command', 'New-Container -Name mid /bin/sh -ArgumentList ''-c'', ''trap "" TERM; sleep 300 & wait'' | Start-Container -Wait') { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $session = [System.Diagnostics.Process]::Start($psi)
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not [System.IO.File]::Exists([System.IO.Path]::Combine($Depot, 'mid', 'state.json')) -and [DateTime]::UtcNow -lt $deadline) { [System.Threading.Thread]::Sleep(20) }
            [System.Threading.Thread]::Sleep(300)
            $session.Kill()
            $session.WaitForExit()
        } finally { if (-not $session.HasExited) { $session.Kill($true) } }
        $c = Get-Container -Name mid
        $c.State | Should -Be 'Running'
        $pids = (Get-CGroup -Path $c.CGroupPath).ProcessIds
        $pids.Count | Should -BeGreaterOrEqual 3
        Stop-Container -Name mid -Timeout 1
        Remove-Container -Name mid
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse }
        Test-CGroupDirectory $c.CGroupPath | Should -BeFalse
        [System.IO.Directory]::Exists([System.IO.Path]::Combine($Depot, 'mid')) | Should -BeFalse
    }

    It 'shares a group''s parent cgroup' {
        $a = New-Container -Name ga /bin/true -Group grp
        $b = New-Container -Name gb /bin/true -Group grp
        $a.CGroupPath | Should -Be "/$Root/grp/ga"
        (Get-CGroup -Path grp -Recurse).Path | Should -Be @("/$Root/grp", "/$Root/grp/ga", "/$Root/grp/gb")
        Set-CGroupLimit -Path grp -PidsLimit 30
        (Get-CGroup -Path grp).PidsLimit | Should -Be 30
        Remove-Container -Name ga, gb
        Remove-CGroup -Path grp
    }

    It 'takes an outside process into a running container with Move-Process -Container' {
        New-Container -Name host1 /bin/sleep -ArgumentList 300 | Start-Container
        $p = Start-TestProcess 'exec sleep 60'
        Move-Process -Id $p.Id -Container host1
        (Get-CGroup -ProcessId $p.Id).Path | Should -Be "/$Root/host1"
        Stop-Container -Name host1 -Force
        Test-ProcessAlive $p.Id | Should -BeFalse
    }

    It 'refuses Move-Process -Container into an exited container with the engine''s error, once, and moves nothing' {
        New-Container -Name done1 /bin/true | Start-Container -Wait
        $a = Start-TestProcess 'exec sleep 60'
        $b = Start-TestProcess 'exec sleep 60'
        $before = (Get-Content "/proc/$($a.Id)/cgroup"), (Get-Content "/proc/$($b.Id)/cgroup")
        $a.Id, $b.Id | Move-Process -Container done1 -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotRunning,*'
        $failed[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $failed[0].Exception.Message | Should -Be "Container 'done1' is Exited; only a running container takes processes."
        (Get-Content "/proc/$($a.Id)/cgroup"), (Get-Content "/proc/$($b.Id)/cgroup") | Should -Be $before
    }

    It 'lists with wildcards, and a literal name that does not exist is an error' {
        New-Container -Name list-a /bin/true
        New-Container -Name list-b /bin/true
        (Get-Container -Name 'list-*').Name | Should -Be @('list-a', 'list-b')
        Get-Container -Name 'zz*' | Should -BeNullOrEmpty
        { Get-Container -Name nothere -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,*'
        Get-Container -Name 'list-*' | Remove-Container
        Get-Container -Name 'list-*' | Should -BeNullOrEmpty
    }

    It 'refuses to remove a running container without -Force' {
        New-Container -Name busy1 /bin/sleep -ArgumentList 300 | Start-Container
        { Remove-Container -Name busy1 -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerRunning,*'
        (Get-Container busy1).State | Should -Be 'Running'
        Remove-Container -Name busy1 -Force -Confirm:$false
        Test-CGroupDirectory "/$Root/busy1" | Should -BeFalse
    }
}

Describe 'What a container is given' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'applies rlimits, user, environment and working directory to the main process' {
        $script = 'ulimit -n; id -u; id -g; echo "$GREETING"; pwd; echo "$PATH"'
        $out = New-Container -Name given /bin/sh -ArgumentList '-c', $script -ResourceLimit @{ nofile = 256 } -User 65534:65534 `
            -Environment @{ GREETING = 'hello there' } -WorkingDirectory /tmp | Start-Container -Wait
        $out | Should -Be @('256', '65534', '65534', 'hello there', '/tmp', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
    }

    It 'keeps user properties in the depot' {
        New-Container -Name props /bin/true -Property @{ tier = 'web'; owner = 'ops' }
        (Get-Container | Where-Object { $_.Properties.tier -eq 'web' }).Name | Should -Be 'props'
        (Get-Container props).Properties.owner | Should -Be 'ops'
    }

    It 'leaves the cgroup in place with -KeepCGroup' {
        $c = New-Container -Name keep /bin/true -KeepCGroup -PidsLimit 5
        Remove-Container -Name keep
        (Get-CGroup -Path $c.CGroupPath).PidsLimit | Should -Be 5
        Remove-CGroup -Path $c.CGroupPath
    }

    It 'shares the host''s PID namespace with -Isolation None' {
        $out = New-Container -Name nons /bin/sh -ArgumentList '-c', 'echo $$' -Isolation None | Start-Container -Wait
        [int]$out | Should -BeGreaterThan 2
    }

    It 'runs a -RootPath program that is an absolute link to a path that exists only inside the root' {
        $rootfs = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "psc-root-$([guid]::NewGuid().ToString('N').Substring(0, 8))")
        try {
            foreach ($d in 'proc', 'bin', 'opt/real') { $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($rootfs, $d)) }
            $source = [System.IO.Path]::Combine($rootfs, 'prog.c')
            [System.IO.File]::WriteAllText($source, "#include <stdio.h>`nint main(void){printf(""real\n"");return 0;}`n")
            $cc = Invoke-Process cc -Arguments '-static', '-O2', '-o', ([System.IO.Path]::Combine($rootfs, 'opt/real/prog')), $source
            if ($cc.ExitCode -ne 0) { Set-ItResult -Skipped -Because "cc cannot build a static program: $($cc.Output)"; return }
            $null = [System.IO.File]::CreateSymbolicLink([System.IO.Path]::Combine($rootfs, 'bin/prog'), '/opt/real/prog')
            [System.IO.File]::Exists('/opt/real/prog') | Should -BeFalse
            New-Container -Name linked /bin/prog -RootPath $rootfs | Start-Container -Wait | Should -Be 'real'
            (New-Container -Name searched prog -RootPath $rootfs).FilePath | Should -Be '/bin/prog'
            Start-Container -Name searched -Wait | Should -Be 'real'
        } finally {
            foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
            [System.IO.Directory]::Delete($rootfs, $true)
        }
    }

    It 'has only a loopback interface with -Isolation Network' {
        # /proc/net/dev lists the interfaces of the reader's network namespace.
        $out = New-Container -Name nonet /bin/sh -ArgumentList '-c', 'tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " "' -Isolation Pid, Mount, Network | Start-Container -Wait
        $out | Should -Be 'lo'
    }
}

Describe 'Rootless, as a real unprivileged user made for this run' {
    BeforeAll {
        $script:User = 'psc-rl-' + [guid]::NewGuid().ToString('N').Substring(0, 6)
        $script:Made = $false
        if ($IsRoot) {
            & useradd --system --no-create-home --shell /usr/sbin/nologin $User
            $script:Made = $LASTEXITCODE -eq 0
            $script:Uid = [int](& id -u $User)
        }
        $script:UserDepot = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "psc-rl-depot-$User")
    }
    AfterAll {
        if ($Made) {
            & pkill -KILL -u $User 2>$null
            & userdel $User
        }
        if ([System.IO.Directory]::Exists($UserDepot)) { [System.IO.Directory]::Delete($UserDepot, $true) }
    }

    It 'runs a container in a user namespace: root inside, pid 2, its own hostname' {
        if (-not $Made) { Set-ItResult -Skipped -Because 'creating a user needs root and useradd'; return }
        $cmd = "`$env:PSCONTAINERS_DEPOT = '$UserDepot'; " +
            "New-Container -Name rl /bin/sh -ArgumentList '-c', 'id -u; echo `$`$; hostname' -Isolation User, Pid, Mount, Uts, Ipc -Hostname inside | Start-Container -Wait; " +
            "Remove-Container -Name rl"
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -AsUser $Uid
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output.Trim().Split("`n") | Should -Be @('0', '2', 'inside')
    }

    It 'refuses the default isolation at New-Container with IsolationNeedsRoot and the -Isolation User hint, and leaves nothing' {
        if (-not $Made) { Set-ItResult -Skipped -Because 'creating a user needs root and useradd'; return }
        $cmd = "`$env:PSCONTAINERS_DEPOT = '$UserDepot'; " +
            "foreach (`$iso in @(`$null, @('Pid', 'Network'))) { " +
            "`$p = @{ Name = 'nr' }; if (`$iso) { `$p.Isolation = `$iso }; " +
            "try { New-Container @p /bin/true -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId; `$_.CategoryInfo.Category; `$_.Exception.Message } }; " +
            "@(Get-Container).Count"
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -AsUser $Uid
        $lines = $r.Output.Trim().Split("`n")
        $lines[0] | Should -Be 'IsolationNeedsRoot,PSContainers.Commands.NewContainerCommand' -Because $r.Output
        $lines[1] | Should -Be 'PermissionDenied'
        $lines[2] | Should -BeLike "The isolation Pid, Mount, Uts, Ipc needs root (CAP_SYS_ADMIN), which this process (uid $Uid) does not have.*-Isolation User*(e.g. -Isolation User, Pid, Mount, Uts, Ipc)."
        $lines[3] | Should -Be 'IsolationNeedsRoot,PSContainers.Commands.NewContainerCommand'
        $lines[5] | Should -BeLike '*Pid, Network needs root*'
        $lines[-1] | Should -Be '0'
        Test-CGroupDirectory "/$Root/nr" | Should -BeFalse
    }

    It 'judges by CAP_SYS_ADMIN, not uid: root without it is refused at New-Container, and at Start-Container for a container made with it' {
        if (-not $IsRoot -or -not [System.IO.File]::Exists('/usr/bin/setpriv')) { Set-ItResult -Skipped -Because 'needs root and setpriv (util-linux)'; return }
        $null = New-Container -Name capmade /bin/true
        try {
            # The same uid 0, with CAP_SYS_ADMIN dropped from every set.
            $cmd = 'foreach ($step in { New-Container -Name capnew /bin/true -ErrorAction Stop }, { Start-Container -Name capmade -ErrorAction Stop }) { ' +
                'try { & $step } catch { $_.FullyQualifiedErrorId; $_.CategoryInfo.Category; $_.Exception.Message } }'
            $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -Through '/usr/bin/setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin', '--'
            $out = $r.Output
            $lines = $out.Trim().Split("`n")
            $lines[0] | Should -Be 'IsolationNeedsRoot,PSContainers.Commands.NewContainerCommand' -Because $out
            $lines[1] | Should -Be 'PermissionDenied'
            $lines[2] | Should -BeLike '*(uid 0) does not have. Run as root, or add -Isolation User*'
            $lines[3] | Should -Be 'IsolationNeedsRoot,PSContainers.Commands.StartContainerCommand'
            $lines[4] | Should -Be 'PermissionDenied'
            $lines[5] | Should -BeLike '*-Isolation User*(*EPERM*'
            Get-Container -Name capnew -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Get-Container -Name capmade).State | Should -Be 'Created'
        }
        finally { Remove-Container -Name capmade -Force -Confirm:$false }
    }

    It 'runs a script block in a user namespace' {
        if (-not $Made) { Set-ItResult -Skipped -Because 'creating a user needs root and useradd'; return }
        $cmd = "`$env:PSCONTAINERS_DEPOT = '$UserDepot'; " +
            "New-Container -Name rlsb -ScriptBlock { `"`$PID `$([Environment]::UserName)`" } -Isolation User, Pid, Mount | Start-Container -Wait; " +
            "Remove-Container -Name rlsb"
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -AsUser $Uid
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output.Trim() | Should -Be '2 root'
    }

    It 'refuses limits without a delegated cgroup with PermissionDenied naming what is missing, and leaves nothing' {
        if (-not $Made) { Set-ItResult -Skipped -Because 'creating a user needs root and useradd'; return }
        $cmd = "`$env:PSCONTAINERS_DEPOT = '$UserDepot'; " +
            "try { New-Container -Name rlim /bin/true -Isolation User, Pid, Mount -MemoryLimit 64MB -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId; `$_.CategoryInfo.Category; `$_.Exception.Message }; " +
            "@(Get-Container).Count"
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $cmd) -AsUser $Uid
        $lines = $r.Output.Trim().Split("`n")
        $lines[0] | Should -BeLike 'CGroupCreate,EACCES,*'
        $lines[1] | Should -Be 'PermissionDenied'
        $lines[2] | Should -BeLike '*delegated to uid*'
        $lines[-1] | Should -Be '0'
        Test-CGroupDirectory "/$Root/rlim" | Should -BeFalse
    }
}

Describe 'Bad input leaves nothing behind' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    # <Shown> names the name in the test's name: a NUL in a name cannot go into the NUnit XML report.
    It 'refuses the name <Shown> with InvalidContainerName' -TestCases @(
        @{ Name = '..' }, @{ Name = 'a/b' }, @{ Name = '' }, @{ Name = "nul`0"; Shown = 'nul\0' }, @{ Name = ('x' * 64) }, @{ Name = '-dash' }
    ).ForEach({ if (-not $_.Shown) { $_.Shown = $_.Name }; $_ }) {
        { New-Container -Name $Name /bin/true -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidContainerName,*'
        @(Get-Container) | Should -HaveCount 0
        @(Get-CGroup) | Should -HaveCount 0
    }

    It 'refuses an existing name' {
        New-Container -Name twice /bin/true
        { New-Container -Name twice /bin/true -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerExists,*'
        @(Get-Container) | Should -HaveCount 1
    }

    It 'refuses <What> with <Id>' -TestCases @(
        @{ What = 'a missing program'; Params = @{ FilePath = '/no/such/program' }; Id = 'ProgramNotFound' }
        @{ What = 'a program that is not executable'; Params = @{ FilePath = '/etc/passwd' }; Id = 'ProgramNotExecutable' }
        @{ What = 'a RootPath that does not exist'; Params = @{ FilePath = '/bin/true'; RootPath = '/no/such/root' }; Id = 'RootPathNotFound' }
        @{ What = 'an unknown user'; Params = @{ FilePath = '/bin/true'; User = 'no-such-user-x' }; Id = 'UserNotFound' }
        @{ What = 'an unknown rlimit'; Params = @{ FilePath = '/bin/true'; ResourceLimit = @{ bogus = 1 } }; Id = 'InvalidResourceLimit' }
        @{ What = 'an rlimit that is not a number'; Params = @{ FilePath = '/bin/true'; ResourceLimit = @{ nofile = 'lots' } }; Id = 'InvalidResourceLimit' }
        @{ What = 'a bad limit'; Params = @{ FilePath = '/bin/true'; PidsLimit = 0 }; Id = 'InvalidLimit,PidsLimit' }
    ) {
        { New-Container -Name bad @Params -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*"
        Get-Container -Name 'bad*' | Should -BeNullOrEmpty
        Test-CGroupDirectory "/$Root/bad" | Should -BeFalse
    }

    It 'reports a failed exec with its errno and leaves the container Created with no process' {
        $dir = [System.IO.Path]::Combine($Depot, '..', 'psc-exec-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        $null = [System.IO.Directory]::CreateDirectory($dir)
        $file = [System.IO.Path]::Combine($dir, 'prog')
        [System.IO.File]::WriteAllText($file, "#!/no/such/interpreter`n")
        [System.IO.File]::SetUnixFileMode($file, 'UserRead, UserWrite, UserExecute')
        try {
            New-Container -Name noexec $file
            { Start-Container -Name noexec -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerExec,ENOENT,*'
            (Get-Container noexec).State | Should -Be 'Created'
            (Get-CGroup -Path noexec).ProcessIds | Should -HaveCount 0
        } finally {
            [System.IO.Directory]::Delete($dir, $true)
        }
    }

    It 'reports <Verb> of a container that does not exist' -TestCases @(
        @{ Verb = 'Stop-Container' }, @{ Verb = 'Wait-Container' }, @{ Verb = 'Remove-Container' }, @{ Verb = 'Start-Container' }, @{ Verb = 'Get-ContainerLog' }
    ) {
        { & $Verb -Name ghost -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,*'
    }
}

Describe 'Names that would collide' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'refuses a group named like an ungrouped container, since they would share one cgroup' {
        New-Container -Name db /bin/true
        { New-Container -Name cache /bin/true -Group db -ErrorAction Stop } | Should -Throw -ErrorId 'GroupNameTaken,*'
        Get-Container -Name cache -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'takes names and containers from the pipeline, and limits a grouped container''s own cgroup' {
        $c = New-Container -Name piped /bin/sleep -ArgumentList 300 -Group pg
        'piped' | Start-Container
        (Get-Container piped).State | Should -Be 'Running'
        $c | Set-CGroupLimit -PidsLimit 4
        (Get-CGroup -Path $c.CGroupPath).PidsLimit | Should -Be 4
        'piped' | Stop-Container -Force
        'piped' | Remove-Container
        Remove-CGroup -Path pg
    }
}
