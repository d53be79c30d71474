# -ScriptBlock containers: the block runs in real pwsh, the one running the session, however that session was started.

BeforeDiscovery {
    # The four ways a user starts pwsh; each is a session of its own that makes a -ScriptBlock container.
    $script:Ways = @(
        @{ Way = 'the apphost $PSHOME/pwsh'; Name = 'apphost' }
        @{ Way = 'dotnet $PSHOME/pwsh.dll'; Name = 'dll' }
        @{ Way = 'the .NET tool shim (dotnet tool run pwsh)'; Name = 'shim' }
        @{ Way = 'a pwsh on PATH (a symlink)'; Name = 'onpath' }
    )
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Temp = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-sb-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $null = [System.IO.Directory]::CreateDirectory($Temp)

    # The dotnet that runs this session's runtime: the process itself under `dotnet pwsh.dll` or the tool shim, else
    # the one of the shared install the runtime came from.
    $runtime = [System.Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()
    $script:DotnetRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($runtime, '..', '..', '..'))
    $script:Dotnet = if ([System.IO.Path]::GetFileName([Environment]::ProcessPath) -eq 'dotnet') { [Environment]::ProcessPath } else { [System.IO.Path]::Combine($DotnetRoot, 'dotnet') }

    function Invoke-Session([string]$File, [string[]]$Arguments, [hashtable]$Environment = @{}, [string]$WorkingDirectory = $script:RepoRoot) {
        # A second PowerShell session started as asked, the built module first on its PSModulePath; it inherits
        # this file's depot and cgroup root. Returns @{ ExitCode; Output } (stdout, then stderr).
        $vars = @{ PSModulePath = $script:ModuleBase; NO_COLOR = '1' }
        foreach ($k in $Environment.Keys) { $vars[$k] = $Environment[$k] }
        Invoke-Process $File $Arguments $vars 120 $WorkingDirectory
    }

    # What each session runs: how it was started, what the container ran, and what the block said.
    $script:Probe = 'try { ' +
        '$c = New-Container -Name $env:SB_NAME -ScriptBlock { "inside $PID $($PSVersionTable.PSVersion)" } -ErrorAction Stop; ' +
        '"process " + [Environment]::ProcessPath; "program " + $c.Spec.FilePath; "first " + $c.Spec.ArgumentList[0]; ' +
        '$c | Start-Container -Wait ' +
        '} finally { Remove-Container -Name $env:SB_NAME -Force -Confirm:$false -ErrorAction SilentlyContinue }'
}

AfterAll {
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
    if ($script:Temp -and [System.IO.Directory]::Exists($script:Temp)) { & rm -rf $script:Temp }
}

Describe 'A script block runs in real pwsh' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'when the session was started as <Way>' -ForEach $Ways {
        $apphost = [System.IO.Path]::Combine($PSHOME, 'pwsh')
        $vars = @{ SB_NAME = $Name }
        $pwshArgs = @('-NoProfile', '-NonInteractive', '-Command', $Probe)
        switch -Wildcard ($Way) {
            'the apphost*' {
                $r = Invoke-Session $apphost $pwshArgs $vars
                $expectProcess = $apphost
            }
            'dotnet*' {
                $r = Invoke-Session $Dotnet (@([System.IO.Path]::Combine($PSHOME, 'pwsh.dll')) + $pwshArgs) $vars
                $expectProcess = $Dotnet
            }
            '*tool shim*' {
                # The repository's local tool manifest pins the PowerShell this suite runs in; the shim loads pwsh.dll
                # into the dotnet process, so the process path says nothing about where PowerShell is.
                $shim = [System.IO.Path]::Combine($PSHOME, '..', 'Microsoft.PowerShell.GlobalTool.Shim.dll')
                if (-not [System.IO.File]::Exists($shim)) {
                    Set-ItResult -Skipped -Because "this session's pwsh ($PSHOME) is not the repository's local .NET tool"
                    return
                }
                $r = Invoke-Session $Dotnet (@('tool', 'run', 'pwsh', '--') + $pwshArgs) ($vars + @{ DOTNET_CLI_TELEMETRY_OPTOUT = '1'; DOTNET_NOLOGO = '1' })
                $expectProcess = $Dotnet
            }
            '*PATH*' {
                $bin = [System.IO.Path]::Combine($Temp, 'bin')
                $null = [System.IO.Directory]::CreateDirectory($bin)
                $link = [System.IO.Path]::Combine($bin, 'pwsh')
                if (-not [System.IO.File]::Exists($link)) { $null = [System.IO.File]::CreateSymbolicLink($link, $apphost) }
                $r = Invoke-Session '/bin/sh' (@('-c', 'exec pwsh "$@"', 'sh') + $pwshArgs) ($vars + @{ PATH = "${bin}:$env:PATH" })
                $expectProcess = (& realpath $apphost)   # /proc/self/exe: the symlink resolved
            }
        }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output.Trim().Split("`n")
        $lines[0] | Should -Be "process $expectProcess" -Because 'the session is started the way the test says'
        $lines[1] | Should -Be "program $apphost" -Because 'the block runs in the apphost of the running PowerShell'
        $lines[-1] | Should -Be "inside 2 $($PSVersionTable.PSVersion)"
        Test-CGroupDirectory "/$Root/$Name" | Should -BeFalse
    }

    It 'runs `dotnet pwsh.dll` when $PSHOME has no apphost, with the runtime of the session' {
        # A $PSHOME without the apphost: a copy of this one (hard links where the file system allows).
        $home2 = [System.IO.Path]::Combine($Temp, 'home-no-apphost')
        & cp -al $PSHOME $home2 2>$null
        if ($LASTEXITCODE -ne 0) { & rm -rf $home2; & cp -a $PSHOME $home2 }
        [System.IO.File]::Delete([System.IO.Path]::Combine($home2, 'pwsh'))
        $r = Invoke-Session $Dotnet (@([System.IO.Path]::Combine($home2, 'pwsh.dll'), '-NoProfile', '-NonInteractive', '-Command', $Probe)) @{ SB_NAME = 'dll' }
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $lines = $r.Output.Trim().Split("`n")
        $lines[1] | Should -Be "program $Dotnet"
        $lines[2] | Should -Be "first $([System.IO.Path]::Combine($home2, 'pwsh.dll'))"
        $lines[-1] | Should -Be "inside 2 $($PSVersionTable.PSVersion)"
    }

    It 'can use the Utility and Management cmdlets, and its output comes back as plain text lines' {
        $dir = [System.IO.Path]::Combine($Temp, 'files')
        $null = [System.IO.Directory]::CreateDirectory($dir)
        [System.IO.File]::WriteAllLines([System.IO.Path]::Combine($dir, 'b.txt'), [string[]]@('line one', 'line two'))
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($dir, 'a.txt'), 'x')
        $block = [scriptblock]::Create(@"
(Get-Date -Year 2001 -Month 2 -Day 3 -Hour 4 -Minute 5 -Second 6).ToString('yyyy-MM-dd HH:mm:ss')
Get-Date -Year 2001 -Month 2 -Day 3 -Format 'yyyy-MM-dd'
[ordered]@{ name = 'x'; n = 1; list = @(1, 2) } | ConvertTo-Json -Compress
(Get-ChildItem -LiteralPath '$dir' | Sort-Object Name).Name -join ','
Get-Content -LiteralPath '$dir/b.txt' | Select-Object -Last 1
(Get-Process | Sort-Object Id | ForEach-Object { "`$(`$_.Id):`$(`$_.ProcessName)" }) -join ' '
Get-Item -LiteralPath '$dir/a.txt' | Format-Table Name, Length -HideTableHeaders | Out-String -Stream | Where-Object { `$_ } | ForEach-Object { `$_ -replace ' +', ' ' }
'a,b' | ConvertFrom-Csv -Header p, q | ConvertTo-Csv -NoTypeInformation | Select-Object -Last 1
Measure-Object -InputObject 1 | Select-Object -ExpandProperty Count
Write-Error 'went wrong'
"@)
        $err = $null
        $out = New-Container -Name tools -ScriptBlock $block | Start-Container -Wait -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be @(
            '2001-02-03 04:05:06'
            '2001-02-03'
            '{"name":"x","n":1,"list":[1,2]}'
            'a.txt,b.txt'
            'line two'
            '1:psc-init 2:pwsh'
            'a.txt 1'
            '"a","b"'
            '1'
        )
        $err | Should -HaveCount 1
        "$($err[0])" | Should -Be 'Write-Error: went wrong' -Because 'errors come back as plain text, not CLIXML or colour codes'
    }

    It 'gets the environment pwsh needs, and -Environment wins over it' {
        $out = New-Container -Name envs -ScriptBlock { "$env:NO_COLOR|$env:DOTNET_ROOT|$($PSStyle.OutputRendering)" } -Environment @{ NO_COLOR = 'mine' } | Start-Container -Wait
        $selfContained = [System.IO.File]::Exists([System.IO.Path]::Combine($PSHOME, 'libcoreclr.so'))
        $out | Should -Be "mine|$(if ($selfContained) { '' } else { $DotnetRoot })|PlainText"
    }
}

Describe 'A script block with -RootPath' {
    AfterEach {
        foreach ($c in Get-Container) { Remove-Container -Name $c.Name -Force -Confirm:$false }
    }

    It 'refuses a root without pwsh with PowerShellNotInRoot naming the path, and creates nothing' {
        $rootfs = [System.IO.Path]::Combine($Temp, 'rootfs-empty')
        foreach ($d in 'bin', 'usr/bin', 'tmp') { $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($rootfs, $d)) }
        $e = { New-Container -Name noroot -RootPath $rootfs -ScriptBlock { 'never' } -ErrorAction Stop } | Should -Throw -ErrorId 'PowerShellNotInRoot,*' -PassThru
        $e.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e.Exception.Message | Should -BeLike "*not reachable inside the root '$rootfs'*"
        $e.Exception.Message | Should -BeLike "*$rootfs$PSHOME*"
        @(Get-Container) | Should -HaveCount 0
        [System.IO.Directory]::Exists([System.IO.Path]::Combine($Depot, 'noroot')) | Should -BeFalse
        Test-CGroupDirectory "/$Root/noroot" | Should -BeFalse
    }

    It 'says which part is missing when the root has this pwsh but not the .NET runtime it needs' {
        if ([System.IO.File]::Exists([System.IO.Path]::Combine($PSHOME, 'libcoreclr.so'))) {
            Set-ItResult -Skipped -Because 'this pwsh is self-contained: it needs no .NET runtime besides its own'
            return
        }
        $rootfs = [System.IO.Path]::Combine($Temp, 'rootfs-pwsh-only')
        $inside = [System.IO.Path]::Combine($rootfs, $PSHOME.TrimStart('/'))
        $null = [System.IO.Directory]::CreateDirectory($inside)
        [System.IO.File]::Copy([System.IO.Path]::Combine($PSHOME, 'pwsh'), [System.IO.Path]::Combine($inside, 'pwsh'))
        $e = { New-Container -Name nodotnet -RootPath $rootfs -ScriptBlock { 'never' } -ErrorAction Stop } | Should -Throw -ErrorId 'PowerShellNotInRoot,*' -PassThru
        $e.Exception.Message | Should -BeLike "*the .NET runtime at '$DotnetRoot'*"
        @(Get-Container) | Should -HaveCount 0
        Test-CGroupDirectory "/$Root/nodotnet" | Should -BeFalse
    }

    It 'runs the block in a root that holds this PowerShell and its runtime at the same paths' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'bind mounts need root'; return }
        # A root of bind mounts of the host's system folders, $PSHOME and the .NET install (read-only but /dev).
        $rootfs = [System.IO.Path]::Combine($Temp, 'rootfs-bound')
        $mounts = [System.Collections.Generic.List[string]]::new()
        try {
            # /dev too: .NET reads /dev/urandom.
            foreach ($d in 'usr', 'etc', 'dev', $PSHOME.TrimStart('/'), $DotnetRoot.TrimStart('/')) {
                $target = [System.IO.Path]::Combine($rootfs, $d)
                $null = [System.IO.Directory]::CreateDirectory($target)
                & mount --bind -o $(if ($d -eq 'dev') { 'rw' } else { 'ro' }) "/$d" $target
                if ($LASTEXITCODE -ne 0) { throw "mount --bind /$d failed" }
                $mounts.Insert(0, $target)
            }
            foreach ($l in 'bin', 'lib', 'lib64', 'sbin') {
                if ([System.IO.Directory]::Exists("/usr/$l")) { $null = [System.IO.File]::CreateSymbolicLink([System.IO.Path]::Combine($rootfs, $l), "usr/$l") }
            }
            foreach ($d in 'proc', 'tmp', 'root') { $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($rootfs, $d)) }
            $c = New-Container -Name bound -RootPath $rootfs -ScriptBlock { "$PID $((Get-ChildItem / -Name | Sort-Object) -join ',')" }
            $c.Spec.FilePath | Should -Be ([System.IO.Path]::Combine($PSHOME, 'pwsh'))
            $out = $c | Start-Container -Wait
            $out | Should -Be "2 $((Get-ChildItem $rootfs -Name | Sort-Object) -join ',')" -Because 'the block sees the root, not the host'
        }
        finally {
            Remove-Container -Name bound -Force -Confirm:$false -ErrorAction SilentlyContinue
            foreach ($m in $mounts) { & umount $m }
        }
    }
}
