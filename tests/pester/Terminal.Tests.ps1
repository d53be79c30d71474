# Enter-Container in a real terminal, driven through tmux (Debian's tmux, a server of this file's own): the pty has
# the terminal's size and follows a resize, Ctrl+C reaches the container's foreground process, the shell's exit code
# comes back as $LASTEXITCODE, Ctrl+P Ctrl+Q detaches and -ProcessId attaches again, and 200 Enter/exit cycles leak
# no pty and no descriptor. Without a terminal, Enter-Container says so.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:HaveTmux = [bool](Get-Command tmux -CommandType Application -ErrorAction SilentlyContinue)
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Server = "psc-pester-$PID"

    $script:TmuxPath = (Get-Command tmux -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
    function Invoke-Tmux { & $script:TmuxPath -L $script:Server -f /dev/null @args }

    # What the pane shows now, its lines joined.
    function Get-Screen { (Invoke-Tmux capture-pane -t t -p) -join "`n" }

    # Waits (at most $Seconds) until the pane matches $Pattern; returns the match, else $null.
    function Wait-Screen([string]$Pattern, [int]$Seconds = 30) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        do {
            $m = [regex]::Match((Get-Screen), $Pattern)
            if ($m.Success) { return $m }
            [System.Threading.Thread]::Sleep(50)
        } while ([DateTime]::UtcNow -lt $deadline)
        $null
    }

    # Waits until the pane's last line is a prompt: PowerShell's ('PS ...>') or the container shell's ('# ').
    function Wait-Prompt([ValidateSet('PS', 'Shell')][string]$Of, [int]$Seconds = 30) {
        $pattern = if ($Of -eq 'PS') { '^PS [^\n]*> ?$' } else { '^# ?$' }
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        do {
            $last = @((Get-Screen) -split "`n" | Where-Object { $_.Trim() }) | Select-Object -Last 1
            if ($last -match $pattern) { return $true }
            [System.Threading.Thread]::Sleep(50)
        } while ([DateTime]::UtcNow -lt $deadline)
        throw "no $Of prompt within $Seconds s; the pane shows:`n$(Get-Screen)"
    }

    # Types a line, as a person would.
    function Send-Line([string]$Text) {
        Invoke-Tmux send-keys -t t -l $Text
        Invoke-Tmux send-keys -t t Enter
    }

    function Clear-Pane {
        Wait-Prompt PS
        Send-Line 'Clear-Host'
        Wait-Prompt PS
        Invoke-Tmux clear-history -t t
    }

    # Enter-Container, then its shell's prompt.
    function Enter-Shell([string]$Line = 'Enter-Container -Name term') {
        Send-Line $Line
        Wait-Prompt Shell
    }

    # Leaves the shell with an exit code, then PowerShell's prompt.
    function Exit-Shell([int]$Code) {
        Send-Line "exit $Code"
        Wait-Prompt PS
    }
}

AfterAll {
    if ($script:TmuxPath) {
        Invoke-Tmux kill-server 2>$null
        # The server's socket file, which it may leave behind.
        $dir = if ($env:TMUX_TMPDIR) { $env:TMUX_TMPDIR } else { '/tmp' }
        Remove-Item -LiteralPath "$dir/tmux-$(id -u)/$script:Server" -Force -ErrorAction SilentlyContinue
    }
    Remove-Container -Name term -Force -Confirm:$false -ErrorAction SilentlyContinue
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'Enter-Container in a terminal' {
    BeforeAll {
        if (-not $script:HaveTmux -or -not $IsRoot) { return }
        New-Container -Name term -Isolation Pid, Mount, Uts, Ipc | Start-Container
        # The session in the pane gets this file's depot and cgroup root and the built module, as a user's would.
        $vars = "PSCONTAINERS_DEPOT=$env:PSCONTAINERS_DEPOT PSCONTAINERS_CGROUP_ROOT=$env:PSCONTAINERS_CGROUP_ROOT PSModulePath=$script:ModuleBase NO_COLOR=1 TERM=xterm"
        Invoke-Tmux new-session -d -s t -x 100 -y 30 "env $vars $script:Shell -NoProfile -NoLogo"
        Invoke-Tmux set-option -t t status off
        $script:Ready = [bool](Wait-Screen 'PS [^\n]*>')
        Send-Line 'Import-Module PSContainers'
    }

    BeforeEach {
        if (-not $script:HaveTmux) { Set-ItResult -Skipped -Because 'tmux is not installed (apt-get install tmux)' }
        elseif (-not $IsRoot) { Set-ItResult -Skipped -Because 'needs root to create namespaces and cgroups' }
        else { $script:Ready | Should -BeTrue -Because 'pwsh started in the tmux pane' }
    }

    It 'opens a shell on a pty of the terminal''s size, follows a resize, and returns the exit code as $LASTEXITCODE' {
        Clear-Pane
        Enter-Shell
        Send-Line 'echo "size=$(stty size) tty=$(tty) pid=$$"'
        $m = Wait-Screen 'size=(\d+) (\d+) tty=(\S+) pid=(\d+)'
        $m | Should -Not -BeNullOrEmpty
        "$($m.Groups[1].Value) $($m.Groups[2].Value)" | Should -Be '30 100'
        $m.Groups[3].Value | Should -Be '/dev/pts/0'   # the container's own devpts
        Invoke-Tmux resize-window -t t -x 120 -y 40
        [System.Threading.Thread]::Sleep(500)
        Send-Line 'echo "resized=$(stty size)"'
        (Wait-Screen 'resized=(\d+ \d+)').Groups[1].Value | Should -Be '40 120'
        Exit-Shell 3
        Send-Line '"code=$LASTEXITCODE ok=$?"'
        (Wait-Screen 'code=(\d+) ok=(\w+)').Value | Should -Be 'code=3 ok=False'
        Invoke-Tmux resize-window -t t -x 100 -y 30
        Wait-Prompt PS
    }

    It 'delivers Ctrl+C to the container''s foreground process, and the shell and the session go on' {
        Clear-Pane
        Enter-Shell
        Send-Line 'sleep 100'
        [System.Threading.Thread]::Sleep(700)
        Invoke-Tmux send-keys -t t C-c
        Send-Line 'echo "after-interrupt=$?"'
        (Wait-Screen 'after-interrupt=(\d+)').Groups[1].Value | Should -Be '130'
        Exit-Shell 0
        Send-Line '"back=$LASTEXITCODE"'
        (Wait-Screen 'back=(\d+)').Groups[1].Value | Should -Be '0'
    }

    It 'detaches on Ctrl+P Ctrl+Q, leaving the shell running, and -ProcessId attaches again with the recent screen' {
        Clear-Pane
        Enter-Shell
        Send-Line 'echo remember-$((6*7))'
        Wait-Screen 'remember-42' | Should -Not -BeNullOrEmpty
        Invoke-Tmux send-keys -t t C-p C-q
        $m = Wait-Screen 'Detached from process (\d+) of .term.'
        Wait-Prompt PS
        $m | Should -Not -BeNullOrEmpty
        $id = $m.Groups[1].Value
        (Get-ContainerProcess -Name term -Id $id).State | Should -Be 'Running'
        Clear-Pane
        (Get-Screen) | Should -Not -Match 'remember-42'
        Send-Line "Enter-Container -Name term -ProcessId $id"
        Wait-Screen 'remember-42' | Should -Not -BeNullOrEmpty   # replayed
        Exit-Shell 5
        Send-Line '"reattached=$LASTEXITCODE"'
        (Wait-Screen 'reattached=(\d+)').Groups[1].Value | Should -Be '5'
        (Get-ContainerProcess -Name term -Id $id).ExitCode | Should -Be 5
    }

    It 'leaks no pty and no descriptor over 200 Enter/exit cycles' {
        Clear-Pane
        # Warm up (the first cycles load code), then count; pipes of ended child processes go at the next GC.
        $script = Join-Path $TestDrive 'cycles.ps1'
        Set-Content -LiteralPath $script -Value @'
function Count-Fd { [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect(); @(Get-ChildItem /proc/$PID/fd).Count }
1..5 | ForEach-Object { Enter-Container -Name term /bin/sh -ArgumentList '-c', 'exit 7' }
$fd0 = Count-Fd
$pty0 = [int](Get-Content /proc/sys/kernel/pty/nr)
$codes = 1..200 | ForEach-Object { Enter-Container -Name term /bin/sh -ArgumentList '-c', 'exit 7'; $LASTEXITCODE }
$fd1 = Count-Fd
"cycles=$(@($codes | Where-Object { $_ -eq 7 }).Count) fd=$fd0,$fd1 pty=$pty0,$([int](Get-Content /proc/sys/kernel/pty/nr))"
'@
        Send-Line ". '$script'"
        $m = Wait-Screen 'cycles=(\d+) fd=(\d+),(\d+) pty=(\d+),(\d+)' -Seconds 240
        Wait-Prompt PS
        $m | Should -Not -BeNullOrEmpty
        [int]$m.Groups[1].Value | Should -Be 200
        [int]$m.Groups[3].Value | Should -BeLessOrEqual ([int]$m.Groups[2].Value + 8)
        [int]$m.Groups[5].Value | Should -Be ([int]$m.Groups[4].Value)
        @(Get-ContainerProcess -Name term | Where-Object State -eq Running).Count | Should -Be 0
    }
}

Describe 'Enter-Container without a terminal' {
    It 'says so clearly and starts nothing' {
        if (-not $IsRoot) { Set-ItResult -Skipped -Because 'needs root to create namespaces and cgroups' }
        New-Container -Name noterm | Start-Container
        try {
            $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command',
                'Import-Module PSContainers; Enter-Container -Name noterm; $e = $Error[0]; "id=$($e.FullyQualifiedErrorId) cat=$($e.CategoryInfo.Category)"')
            $r.Output | Should -Match 'id=NoTerminal,PSContainers.Commands.EnterContainerCommand cat=InvalidOperation'
            $r.Output | Should -Match 'needs a terminal'
            @(Get-ContainerProcess -Name noterm).Count | Should -Be 0
        } finally {
            Remove-Container -Name noterm -Force -Confirm:$false
        }
    }
}
