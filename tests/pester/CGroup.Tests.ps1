# The cgroup cmdlets through the built module, on this machine's real hierarchy.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    New-CGroup -Path "/$Root"
}

AfterAll {
    Stop-TestProcesses
    Remove-TestRoot $script:Root
}

Describe 'New-CGroup' {
    AfterEach {
        Stop-TestProcesses
        foreach ($c in Get-CGroup) { Remove-CGroup -Path $c.Path -Recurse -Force -Confirm:$false }
    }

    It 'creates a cgroup with every limit, written to the kernel' {
        $cg = New-CGroup -Path web -MemoryLimit 256MB -MemorySwapLimit 256MB -CpuLimit 1.5 -CpuWeight 200 -CpuSet 0 -PidsLimit 100 -PassThru
        $cg.Path | Should -BeExactly "/$Root/web"
        $cg.MemoryLimit | Should -Be 268435456
        $cg.CpuLimit | Should -Be 1.5
        $cg.CpuWeight | Should -Be 200
        $cg.CpuSet | Should -Be '0'
        $cg.PidsLimit | Should -Be 100
        $cg.PidsCurrent | Should -Be 0
        $cg.IsManaged | Should -BeTrue
        Read-CGroupFile memory "/$Root/web" memory.limit_in_bytes memory.max | Should -Be '268435456'
        Read-CGroupFile pids "/$Root/web" pids.max pids.max | Should -Be '100'
        Read-CGroupFile cpu "/$Root/web" cpu.cfs_quota_us cpu.max | Should -Match '^150000'
    }

    It 'returns nothing without -PassThru and creates missing parents below the root' {
        New-CGroup -Path app/worker | Should -BeNullOrEmpty
        (Get-CGroup -Path app/worker).Path | Should -BeExactly "/$Root/app/worker"
    }

    It 'takes paths from the pipeline' {
        'p1', 'p2' | New-CGroup
        (Get-CGroup -Path p*) | Should -HaveCount 2
    }

    It 'refuses a cgroup that exists' {
        New-CGroup -Path twice
        { New-CGroup -Path twice -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupExists,*'
    }

    # <Shown> names the path in the test's name: a NUL in a name cannot go into the NUnit XML report.
    It 'refuses the bad path <Shown> with <Id> and creates nothing' -TestCases @(
        @{ Path = '..'; Id = 'InvalidCGroupPath' }
        @{ Path = 'a/../../escape'; Id = 'InvalidCGroupPath' }
        @{ Path = ''; Id = 'InvalidCGroupPath' }
        @{ Path = "nul`0byte"; Id = 'InvalidCGroupPath'; Shown = 'nul\0byte' }
        @{ Path = ('x' * 256); Id = 'InvalidCGroupPath' }
        @{ Path = 'a//b'; Id = 'InvalidCGroupPath' }
        @{ Path = '/psc-not-ours'; Id = 'CGroupOutsideRoot' }
    ).ForEach({ if (-not $_.Shown) { $_.Shown = $_.Path }; $_ }) {
        $err = $null
        New-CGroup -Path $Path -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        if ($Id -eq 'CGroupOutsideRoot') {
            $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            Test-CGroupDirectory '/psc-not-ours' | Should -BeFalse
        } else {
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        }
        @(Get-CGroup) | Should -HaveCount 0
    }

    It 'refuses <Name> = <Value> with InvalidLimit and creates nothing' -TestCases @(
        @{ Name = 'MemoryLimit'; Value = -5 }
        @{ Name = 'MemoryLimit'; Value = 0 }
        @{ Name = 'MemorySwapLimit'; Value = -2 }
        @{ Name = 'PidsLimit'; Value = 0 }
        @{ Name = 'PidsLimit'; Value = -3 }
        @{ Name = 'CpuLimit'; Value = 0 }
        @{ Name = 'CpuLimit'; Value = 1000 }
        @{ Name = 'CpuWeight'; Value = 0 }
        @{ Name = 'CpuWeight'; Value = 10001 }
        @{ Name = 'CpuSet'; Value = '0-4095' }
        @{ Name = 'CpuSet'; Value = 'zero' }
    ) {
        $params = @{ Path = 'bad'; $Name = $Value }
        $err = $null
        New-CGroup @params -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "InvalidLimit,$Name,*"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -BeLike "*$Value*"
        Test-CGroupDirectory "/$Root/bad" | Should -BeFalse
    }

    It 'refuses a non-numeric limit at binding, before anything is created' {
        { New-CGroup -Path bad -MemoryLimit 'lots' -ErrorAction Stop } | Should -Throw -ErrorId 'CannotConvertArgumentNoMessage,*'
        Test-CGroupDirectory "/$Root/bad" | Should -BeFalse
    }

    It 'supports -WhatIf without creating anything' {
        New-CGroup -Path dry -WhatIf
        Test-CGroupDirectory "/$Root/dry" | Should -BeFalse
    }
}

Describe 'Get-CGroup' {
    BeforeAll {
        New-CGroup -Path g1 -PidsLimit 10
        New-CGroup -Path g1/child
        New-CGroup -Path g2
    }
    AfterAll {
        Stop-TestProcesses
        Remove-CGroup -Path g1, g2 -Recurse -Force -Confirm:$false
    }

    It 'lists the project''s cgroups without -Path' {
        $all = Get-CGroup
        $all | Should -HaveCount 2
        $all.Path | Should -Be @("/$Root/g1", "/$Root/g2")
    }

    It 'adds descendants with -Recurse' {
        (Get-CGroup -Recurse).Path | Should -Be @("/$Root/g1", "/$Root/g1/child", "/$Root/g2")
    }

    It 'expands wildcards' {
        (Get-CGroup -Path 'g*').Path | Should -Be @("/$Root/g1", "/$Root/g2")
        (Get-CGroup -Path '*/chi*').Path | Should -Be @("/$Root/g1/child")
        Get-CGroup -Path 'nomatch*' | Should -BeNullOrEmpty
    }

    It 'reads cgroups the project did not create' {
        $top = Get-CGroup -Path /
        $top.Path | Should -Be '/'
        $top.IsManaged | Should -BeFalse
        $top.Controllers | Should -Not -BeNullOrEmpty
    }

    It 'answers which cgroup a process is in' {
        $p = Start-TestProcess 'exec sleep 60'
        Move-Process -Id $p.Id -Path g2
        $cg = Get-CGroup -ProcessId $p.Id
        $cg.Path | Should -Be "/$Root/g2"
        $cg.ProcessIds | Should -Contain $p.Id
        ([pscustomobject]@{ Id = $p.Id } | Get-CGroup).Path | Should -Be "/$Root/g2"
    }

    It 'reports a missing cgroup as ObjectNotFound' {
        $err = $null
        Get-CGroup -Path missing -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CGroupNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -BeLike "*/$Root/missing*"
    }

    It 'reports a missing process as ObjectNotFound' {
        { Get-CGroup -ProcessId 99999999 -ErrorAction Stop } | Should -Throw -ErrorId 'ProcessNotFound,*'
    }
}

Describe 'Set-CGroupLimit' {
    BeforeEach { New-CGroup -Path lim -PidsLimit 50 -MemoryLimit 512MB }
    AfterEach {
        Stop-TestProcesses
        Remove-CGroup -Path lim -Recurse -Force -Confirm:$false
    }

    It 'changes a limit and -1 removes it' {
        Set-CGroupLimit -Path lim -PidsLimit 7 -CpuLimit 0.25
        (Get-CGroup lim).PidsLimit | Should -Be 7
        (Get-CGroup lim).CpuLimit | Should -Be 0.25
        Set-CGroupLimit -Path lim -PidsLimit -1 -MemoryLimit -1 -CpuLimit -1
        $cg = Get-CGroup lim
        $cg.PidsLimit | Should -Be -1
        $cg.MemoryLimit | Should -Be -1
        $cg.CpuLimit | Should -Be -1
    }

    It 'takes cgroups from the pipeline and passes them on' {
        $cg = Get-CGroup lim | Set-CGroupLimit -PidsLimit 9 -PassThru
        $cg.PidsLimit | Should -Be 9
    }

    It 'names each file with its old and new value under -WhatIf, and changes nothing' {
        $r = Invoke-Shell @('-NoProfile', '-Command', "`$env:PSCONTAINERS_CGROUP_ROOT = '$Root'; Set-CGroupLimit -Path lim -PidsLimit 8 -WhatIf")
        $r.ExitCode | Should -Be 0
        $r.Output | Should -Match 'What if: .*pids\.max: 50 -> 8'
        (Get-CGroup lim).PidsLimit | Should -Be 50
    }

    It 'refuses a cgroup outside the root' {
        { Set-CGroupLimit -Path / -PidsLimit 5 -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupOutsideRoot,*'
    }

    It 'asks for at least one limit' {
        { Set-CGroupLimit -Path lim -ErrorAction Stop } | Should -Throw -ErrorId 'NoLimitGiven,*'
    }

    It 'reports the kernel''s EBUSY for a memory limit below usage and rolls every value back' {
        $mem = Get-MountPoint memory
        if (-not [System.IO.File]::Exists("$mem/memory.limit_in_bytes")) {
            Set-ItResult -Skipped -Because 'cgroup v2 reclaims or OOM-kills instead of refusing the limit'
            return
        }
        $p = Start-TestProcess 'read x; v=$(head -c 40000000 /dev/zero | tr "\0" a); echo ready; sleep 60'
        Move-Process -Id $p.Id -Path lim
        $p.StandardInput.WriteLine('go')
        $p.StandardInput.Flush()
        $p.StandardOutput.ReadLine() | Should -Be 'ready'
        $err = $null
        Set-CGroupLimit -Path lim -PidsLimit 5 -MemoryLimit 1MB -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CGroupWrite,EBUSY,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceBusy'
        $err[0].Exception.Message | Should -BeLike '*1048576*memory.limit_in_bytes*'
        $cg = Get-CGroup lim
        $cg.PidsLimit | Should -Be 50
        $cg.MemoryLimit | Should -Be 512MB
    }
}

Describe 'Move-Process' {
    BeforeEach {
        New-CGroup -Path src
        New-CGroup -Path dst
    }
    AfterEach {
        Stop-TestProcesses
        Remove-CGroup -Path src, dst -Recurse -Force -Confirm:$false
    }

    It 'moves a process into every hierarchy' {
        $p = Start-TestProcess 'exec sleep 60'
        Move-Process -Id $p.Id -Path dst
        $lines = [System.IO.File]::ReadAllLines("/proc/$($p.Id)/cgroup")
        ($lines | Where-Object { $_ -like "*:memory:*" -or $_ -like '0::*' }) | ForEach-Object { $_ | Should -BeLike "*:/$Root/dst" }
        (Get-CGroup dst).ProcessIds | Should -Be @($p.Id)
    }

    It 'binds Id by property name, so processes and cgroups pipe in' {
        $a = Start-TestProcess 'exec sleep 60'
        $b = Start-TestProcess 'exec sleep 60'
        $a, $b | Move-Process -Path src
        (Get-CGroup src).ProcessIds | Should -HaveCount 2
        Get-CGroup src | Move-Process -Path dst
        (Get-CGroup dst).ProcessIds | Should -HaveCount 2
        (Get-CGroup src).ProcessIds | Should -HaveCount 0
        $moved = [pscustomobject]@{ ProcessId = $a.Id } | Move-Process -CGroup (Get-CGroup src) -PassThru
        $moved.ProcessIds | Should -Be @($a.Id)
    }

    It 'reports a pid that does not exist (ESRCH) as ObjectNotFound and changes nothing' {
        $err = $null
        Move-Process -Id 99999999 -Path dst -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProcessNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -BeLike '*99999999*'
        (Get-CGroup dst).ProcessIds | Should -HaveCount 0
    }

    It 'refuses a kernel thread (EINVAL) as InvalidArgument' {
        $err = $null
        Move-Process -Id 2 -Path dst -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MoveKernelThread,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        (Get-CGroup dst).ProcessIds | Should -HaveCount 0
    }

    It 'refuses a destination outside the root' {
        $p = Start-TestProcess 'exec sleep 60'
        { Move-Process -Id $p.Id -Path / -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupOutsideRoot,*'
    }
}

Describe 'Remove-CGroup' {
    AfterEach {
        Stop-TestProcesses
        foreach ($c in Get-CGroup) { Remove-CGroup -Path $c.Path -Recurse -Force -Confirm:$false }
    }

    It 'refuses a cgroup with processes unless -Force, which kills a double-forked tree' {
        New-CGroup -Path busy
        $p = Start-TestProcess 'read x; setsid sh -c "trap \"\" TERM; sleep 300" & sleep 300 & echo started; wait'
        Move-Process -Id $p.Id -Path busy
        $p.StandardInput.WriteLine('go')
        $p.StandardInput.Flush()
        $p.StandardOutput.ReadLine() | Should -Be 'started'
        { Remove-CGroup -Path busy -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupNotEmpty,*'
        Test-CGroupDirectory "/$Root/busy" | Should -BeTrue
        $pids = (Get-CGroup busy).ProcessIds
        $pids.Count | Should -BeGreaterOrEqual 3
        Remove-CGroup -Path busy -Force -Confirm:$false
        Test-CGroupDirectory "/$Root/busy" | Should -BeFalse
        foreach ($id in $pids) { Test-ProcessAlive $id | Should -BeFalse -Because "process $id was in the cgroup" }
    }

    It 'refuses child cgroups unless -Recurse' {
        New-CGroup -Path tree/leaf
        { Remove-CGroup -Path tree -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupHasChildren,*'
        Remove-CGroup -Path tree -Recurse
        Test-CGroupDirectory "/$Root/tree" | Should -BeFalse
    }

    It 'refuses cgroups outside the root and leaves them alone' {
        { Remove-CGroup -Path / -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupOutsideRoot,*'
        { Remove-CGroup -Path ../x -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCGroupPath,*'
    }

    It 'reports a missing cgroup' {
        { Remove-CGroup -Path nothing-here -ErrorAction Stop } | Should -Throw -ErrorId 'CGroupNotFound,*'
    }

    It 'takes CGroup objects from the pipeline' {
        New-CGroup -Path r1
        New-CGroup -Path r2
        Get-CGroup -Path 'r*' | Remove-CGroup
        Get-CGroup -Path 'r*' | Should -BeNullOrEmpty
    }
}

Describe 'Without root privileges' {
    BeforeAll {
        New-CGroup -Path unpriv
    }
    AfterAll {
        Remove-CGroup -Path unpriv -Recurse -Force -Confirm:$false
    }

    It 'refuses changes with PermissionDenied and an errno id, and can still read' {
        if (-not $IsRoot) {
            Set-ItResult -Skipped -Because 'the suite is not running as root, so it cannot drop to another user'
            return
        }
        $script = "`$env:PSCONTAINERS_CGROUP_ROOT = '$Root'; " +
            "try { New-CGroup -Path nobody -ErrorAction Stop } catch { 'NEW ' + `$_.FullyQualifiedErrorId + ' ' + `$_.CategoryInfo.Category }; " +
            "try { Set-CGroupLimit -Path unpriv -PidsLimit 3 -ErrorAction Stop } catch { 'SET ' + `$_.FullyQualifiedErrorId + ' ' + `$_.CategoryInfo.Category }; " +
            "'READ ' + (Get-CGroup -Path unpriv).Path"
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', $script) -AsUser 65534
        $r.Output | Should -Match 'NEW CGroupCreate,EACCES,\S+ PermissionDenied'
        $r.Output | Should -Match 'SET CGroupWrite,EACCES,\S+ PermissionDenied'
        $r.Output | Should -Match "READ /$Root/unpriv"
        Test-CGroupDirectory "/$Root/nobody" | Should -BeFalse
        (Get-CGroup unpriv).PidsLimit | Should -Be -1
    }
}
