# The network lab itself (tests/net/netlab.sh through Common.ps1's New-TestNetLab): two namespaces joined by a veth
# pair, reachable from each other, and nothing left behind by Remove-TestNetLab.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Why = Get-NetLabSkipReason
    $script:HasBusybox = [System.IO.File]::Exists('/usr/bin/busybox')
}

Describe 'The network lab' {
    BeforeEach {
        $script:Lab = $null
        if (-not $Why) { $script:Lab = New-TestNetLab -Prefix psc-netlab-pester }
    }

    AfterEach {
        Stop-TestProcesses
        Remove-TestNetLab $Lab
    }

    It 'gives "host" an uplink with a default route to "outside", and points the module at it' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $env:PSCONTAINERS_HOST_NETNS | Should -Be $Lab.HostNetns
        (Invoke-NetLab $Lab -In host -FilePath ip -ArgumentList '-o', '-4', 'addr', 'show', 'uplink0') | Should -Match '198\.51\.100\.1/24'
        (Invoke-NetLab $Lab -In host -FilePath ip -ArgumentList 'route', 'show', 'default') | Should -Match 'default via 198\.51\.100\.2 dev uplink0'
        (Invoke-NetLab $Lab -In outside -FilePath ip -ArgumentList '-o', '-4', 'addr', 'show', 'eth0') | Should -Match '198\.51\.100\.2/24'
        (Invoke-NetLab $Lab -In outside -FilePath ip -ArgumentList '-o', 'link', 'show', 'lo') | Should -Match 'UP'
        # Only lo and the veth end in each: nothing of the machine's.
        (Invoke-NetLab $Lab -In host -FilePath ip -ArgumentList '-o', 'link', 'show') -split "`n" | Where-Object { $_ } | Should -HaveCount 2
    }

    It 'reaches "outside" from "host": ping, and a TCP connect the other way' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        if (-not $HasBusybox) { Set-ItResult -Skipped -Because 'needs /usr/bin/busybox (busybox-static) for ping and nc'; return }
        Invoke-NetLab $Lab -In host -FilePath /usr/bin/busybox -ArgumentList ping, '-c1', '-W1', $Lab.OutsideAddress | Out-Null
        $LASTEXITCODE | Should -Be 0
        $null = Start-NetLabProcess $Lab -In host -FilePath /usr/bin/busybox -ArgumentList nc, '-l', '-p', '5000', '-e', 'echo', 'hello from host'
        Wait-NetLabListener $Lab -In host -Port 5000
        $reply = Invoke-NetLab $Lab -In outside -FilePath /usr/bin/busybox -ArgumentList nc, '-w', '2', $Lab.HostAddress, '5000' -TimeoutSec 10
        $reply | Should -Match 'hello from host'
    }

    It 'leaves no mount, process or folder after Remove-TestNetLab, even with a process still inside' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $previous = $Lab.PreviousHostNetns
        $p = Start-NetLabProcess $Lab -In outside -FilePath sleep -ArgumentList 600
        Remove-TestNetLab $Lab
        $p.WaitForExit(5000) | Should -BeTrue
        [System.IO.File]::ReadAllText('/proc/self/mountinfo') | Should -Not -Match ([regex]::Escape($Lab.Dir))
        [System.IO.Directory]::Exists($Lab.Dir) | Should -BeFalse
        $env:PSCONTAINERS_HOST_NETNS | Should -Be $previous
        $script:Lab = $null
    }
}
