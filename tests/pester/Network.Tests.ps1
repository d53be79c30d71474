# Networks of containers, on the real kernel inside a lab of two network namespaces (tests/net/netlab.sh): -Network
# None and Private, bridged containers reaching the outside through NAT, published ports (from the outside, from the
# lab's host at 127.0.0.1 and from another container), the port pool and its cursor across sessions, egress rules and
# the network counters of Get-ContainerStats. Each Describe block has a lab, a depot and a cgroup root of its own,
# removed in AfterAll even when a test fails. Every wait is bounded.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Why = Get-NetLabSkipReason
    if (-not $Why) {
        foreach ($tool in 'nft', 'tc') {
            if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $script:Why = "bridged containers need $tool (nftables, iproute2)"; break }
        }
    }
    if (-not $Why -and -not [System.IO.File]::Exists('/usr/bin/busybox')) { $script:Why = 'the servers and clients are busybox-static''s nc and httpd: needs /usr/bin/busybox' }
    $script:Busybox = '/usr/bin/busybox'
    $script:Ip = (Get-Command ip -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source

    function New-NetFixture {
        # A lab, a depot and a cgroup root of the block's own; none where the tests cannot run (each It says why).
        if ($Why) { return $null }
        @{ Lab = New-TestNetLab -Prefix psc-net-pester; Depot = New-TestDepot; Root = New-TestRoot }
    }

    function Remove-NetFixture($F) {
        if (-not $F) { return }
        Stop-TestProcesses
        Remove-TestDepot $F.Depot
        Remove-TestRoot $F.Root
        Remove-TestNetLab $F.Lab
    }

    function Invoke-Client {
        # A TCP request to an address and port from inside a bridged container (busybox nc, bounded); returns the reply.
        param([string]$Container, [string]$Address, [int]$Port)
        # nc's complaints go to stdout too: a refused connection is a reply like any other here.
        $out = Invoke-ContainerCommand -Name $Container $Busybox -ArgumentList sh, '-c', "echo ping | timeout 5 $Busybox nc -w 2 $Address $Port 2>&1" -ErrorAction Continue
        "$out"
    }

    function Start-OutsideServer([int]$Port, [string]$Reply) {
        # A TCP server in the lab's outside namespace that answers every connection with the peer's address and $Reply.
        $script:ServerLog = [System.IO.Path]::GetTempFileName()
        $py = "import socketserver, sys`nclass H(socketserver.BaseRequestHandler):`n    def handle(self):`n        self.request.sendall(('%s $Reply\n' % self.client_address[0]).encode())`nsocketserver.TCPServer.allow_reuse_address = True`nsocketserver.TCPServer(('0.0.0.0', $Port), H).serve_forever()`n"
        $null = Start-NetLabProcess $Lab -In outside -FilePath python3 -ArgumentList '-c', $py
        Wait-NetLabListener $Lab -In outside -Port $Port
    }

    function Wait-Until([scriptblock]$Condition, [int]$TimeoutSec = 10) {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { return $false }
            Start-Sleep -Milliseconds 50
        }
        $true
    }
}

Describe 'None and Private' {
    BeforeAll { $script:F = New-NetFixture }
    AfterAll { Remove-NetFixture $F }

    It '-Network None has no link up, not even loopback' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name none -Network None /bin/sleep -ArgumentList 60 | Start-Container
        $links = Invoke-ContainerCommand -Name none $Ip -ArgumentList '-o', 'link', 'show'
        @($links) | Should -HaveCount 1
        "$links" | Should -Match '^\d+: lo: <LOOPBACK>'
        "$links" | Should -Match 'state DOWN'
        (Get-Container -Name none).Network | Should -Be 'None'
    }

    It '-Network Private has loopback up and no other link' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        New-Container -Name private -Network Private /bin/sleep -ArgumentList 60 | Start-Container
        $links = Invoke-ContainerCommand -Name private $Ip -ArgumentList '-o', 'link', 'show'
        @($links) | Should -HaveCount 1
        "$links" | Should -Match '^\d+: lo: <LOOPBACK,UP,LOWER_UP>'
        (Get-Container -Name private).IPAddress | Should -BeNullOrEmpty
    }
}

Describe 'Bridge: outbound NAT' {
    BeforeAll {
        $script:F = New-NetFixture
        $script:Lab = $F.Lab
    }
    AfterAll { Remove-NetFixture $F }

    It 'gives the container an address and a gateway on the bridge, and the outside sees the host''s address' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = New-Container -Name out1 -Network Bridge $Busybox -ArgumentList sleep, 120
        $c.IPAddress | Should -Match '^10\.254\.\d+\.\d+$'
        $c.Gateway | Should -Be '10.254.0.1'
        $c | Start-Container
        "$(Invoke-ContainerCommand -Name out1 $Ip -ArgumentList '-o', '-4', 'addr', 'show', 'eth0')" | Should -Match ([regex]::Escape($c.IPAddress))
        Start-OutsideServer -Port 7001 -Reply outside
        $reply = Invoke-Client -Container out1 -Address $Lab.OutsideAddress -Port 7001
        $reply | Should -Match "^$([regex]::Escape($Lab.HostAddress)) outside" -Because 'the server sees the host''s uplink address (masquerade), not 10.254.x'
    }
}

Describe 'Bridge: published ports' {
    BeforeAll {
        $script:F = New-NetFixture
        $script:Lab = $F.Lab
        if (-not $Why) {
            # A server that answers every connection with a line (busybox nc -ll: listen again after each client).
            New-Container -Name srv -Network Bridge $Busybox -ArgumentList nc, '-ll', '-p', 80, '-e', echo, 'hello from srv' | Start-Container
            New-Container -Name peer -Network Bridge $Busybox -ArgumentList sleep, 300 | Start-Container
        }
    }
    AfterAll { Remove-NetFixture $F }

    It 'answers a port published on a Running container from the outside, from the host at 127.0.0.1 and from another container' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $m = Publish-ContainerPort -Name srv -ContainerPort 80 -HostPort 8080
        "$m" | Should -Be '8080:80/tcp'
        $m.ContainerName | Should -Be 'srv'
        $fromOutside = Invoke-NetLab $Lab -In outside -FilePath $Busybox -ArgumentList nc, '-w', 2, $Lab.HostAddress, 8080 -TimeoutSec 10
        $fromOutside | Should -Match 'hello from srv'
        $fromHost = Invoke-NetLab $Lab -In host -FilePath $Busybox -ArgumentList nc, '-w', 2, 127.0.0.1, 8080 -TimeoutSec 10
        $fromHost | Should -Match 'hello from srv'
        Invoke-Client -Container peer -Address (Get-Container -Name peer).Gateway -Port 8080 | Should -Match 'hello from srv'
        (Get-Container -Name srv).MappedPorts.HostPort | Should -Contain 8080
    }

    It 'refuses the port after Unpublish-ContainerPort (piped from MappedPorts)' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $gone = (Get-Container -Name srv).MappedPorts | Where-Object HostPort -eq 8080 | Unpublish-ContainerPort -PassThru
        "$gone" | Should -Be '8080:80/tcp'
        $null = Invoke-NetLab $Lab -In outside -FilePath $Busybox -ArgumentList nc, '-w', 2, $Lab.HostAddress, 8080 -TimeoutSec 10
        $LASTEXITCODE | Should -Not -Be 0 -Because 'nothing answers on the host port any more'
        (Get-Container -Name srv).MappedPorts | Should -BeNullOrEmpty
    }

    It 'takes host port 0 from the pool, a second one differs, and a new session does not hand the same port out' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $a = Publish-ContainerPort -Name srv -ContainerPort 80
        $b = Publish-ContainerPort -Name srv -ContainerPort 80
        $a.HostPort | Should -BeGreaterOrEqual 61001
        $a.HostPort | Should -BeLessOrEqual 65000
        $b.HostPort | Should -Not -Be $a.HostPort
        Invoke-NetLab $Lab -In outside -FilePath $Busybox -ArgumentList nc, '-w', 2, $Lab.HostAddress, $a.HostPort -TimeoutSec 10 | Should -Match 'hello from srv'
        Unpublish-ContainerPort -Name srv -HostPort $a.HostPort
        Unpublish-ContainerPort -Name srv -HostPort $b.HostPort
        # A new session through the same module and depot: the cursor is on disk, so the freed ports are not next.
        $r = Invoke-Shell @('-NoProfile', '-NonInteractive', '-Command', "`$env:PSCONTAINERS_DEPOT = '$($F.Depot)'; `$env:PSCONTAINERS_HOST_NETNS = '$($Lab.HostNetns)'; `$env:PSCONTAINERS_CGROUP_ROOT = '$($F.Root)'; Import-Module '$ModuleManifest'; (Publish-ContainerPort -Name srv -ContainerPort 80 -ErrorAction Stop).HostPort")
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $c = [int]($r.Output.Trim() -split "`n")[-1]
        $c | Should -Not -BeIn @($a.HostPort, $b.HostPort)
        $c | Should -BeGreaterThan $b.HostPort -Because 'the pool is handed out round-robin from the cursor'
        Unpublish-ContainerPort -Name srv -HostPort $c
    }
}

Describe 'Bridge: egress rules' {
    BeforeAll {
        $script:F = New-NetFixture
        $script:Lab = $F.Lab
        if (-not $Why) {
            Start-OutsideServer -Port 7001 -Reply seven-one
            # A second server on another port (started directly: Start-OutsideServer keeps one log).
            $py = "import socketserver`nclass H(socketserver.BaseRequestHandler):`n    def handle(self):`n        self.request.sendall(b'seven-two\n')`nsocketserver.TCPServer.allow_reuse_address = True`nsocketserver.TCPServer(('0.0.0.0', 7002), H).serve_forever()`n"
            $null = Start-NetLabProcess $Lab -In outside -FilePath python3 -ArgumentList '-c', $py
            Wait-NetLabListener $Lab -In outside -Port 7002
            New-Container -Name walled -Network Bridge -DenyNetwork 0.0.0.0/0 $Busybox -ArgumentList sleep, 300 | Start-Container
        }
    }
    AfterAll { Remove-NetFixture $F }

    It 'denies everything with -DenyNetwork 0.0.0.0/0, then lets one port through with Add-ContainerNetRule' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7001 | Should -Not -Match 'seven-one'
        $rule = Add-ContainerNetRule -Name walled -Protocol Tcp -Network "$($Lab.OutsideAddress)/32" -Port 7001
        $rule.Id | Should -Be 1
        $rule.ContainerName | Should -Be 'walled'
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7001 | Should -Match 'seven-one'
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7002 | Should -Not -Match 'seven-two' -Because 'the rule allows port 7001 only'
    }

    It 'lists the rules newest first, and removing a rule takes its access away' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $null = Add-ContainerNetRule -Name walled -Protocol Tcp -Network 198.51.100.0/24 -Port 7002 -Log
        $rules = @(Get-ContainerNetRule -Name walled)
        $rules.Id | Should -Be @(2, 1)
        $rules[0].Log | Should -BeTrue
        @(Get-ContainerNetRule -Name 'wall*' -Id 2) | Should -HaveCount 1
        (Get-Container -Name walled).NetworkRules.Id | Should -Be @(2, 1)
        # The chain in the lab's host holds the rules in that order, the logged one with its prefix.
        $chain = Invoke-NetLab $Lab -In host -FilePath nft -ArgumentList list, chain, inet, psc0, container-walled
        $chain | Should -Match '(?s)log prefix "psc walled rule 2: ".*dport 7001'
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7002 | Should -Match 'seven-two'

        Get-ContainerNetRule -Name walled -Id 2 | Remove-ContainerNetRule
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7002 | Should -Not -Match 'seven-two'
        Remove-ContainerNetRule -Name walled -Id 1 -PassThru | Select-Object -ExpandProperty Id | Should -Be 1
        Invoke-Client -Container walled -Address $Lab.OutsideAddress -Port 7001 | Should -Not -Match 'seven-one'
        @(Get-ContainerNetRule -Name walled) | Should -HaveCount 0
    }
}

Describe 'Bridge: bandwidth and counters' {
    BeforeAll {
        $script:F = New-NetFixture
        $script:Lab = $F.Lab
        if (-not $Why) {
            Start-OutsideServer -Port 7001 -Reply counted
            New-Container -Name counted -Network Bridge $Busybox -ArgumentList sleep, 300 | Start-Container
        }
    }
    AfterAll { Remove-NetFixture $F }

    It 'Get-ContainerStats'' Network counters grow after traffic' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $before = Get-ContainerStats -Name counted
        foreach ($i in 1..3) { Invoke-Client -Container counted -Address $Lab.OutsideAddress -Port 7001 | Should -Match 'counted' }
        $after = Get-ContainerStats -Name counted
        $after.NetworkRxBytes | Should -BeGreaterThan $before.NetworkRxBytes
        $after.NetworkTxBytes | Should -BeGreaterThan $before.NetworkTxBytes
        $after.NetworkRxPackets | Should -BeGreaterThan $before.NetworkRxPackets
        $after.NetworkTxPackets | Should -BeGreaterThan $before.NetworkTxPackets
        $after.NetworkRxDropped | Should -Not -BeNullOrEmpty
        $after.NetworkTxDropped | Should -Not -BeNullOrEmpty
    }

    It 'Set-ContainerBandwidth puts a tbf on the veth and on an ifb, and -Unlimited takes both away' {
        if ($Why) { Set-ItResult -Skipped -Because $Why; return }
        $c = Set-ContainerBandwidth -Name counted -BandwidthLimit 1MB -BandwidthBurst 128KB -PassThru
        $c.BandwidthLimit | Should -Be 1MB
        $qdiscs = Invoke-NetLab $Lab -In host -FilePath tc -ArgumentList qdisc, show
        ($qdiscs -split "`n" | Where-Object { $_ -match '^qdisc tbf .* dev psc[0-9a-f]{8} ' }) | Should -Not -BeNullOrEmpty
        ($qdiscs -split "`n" | Where-Object { $_ -match '^qdisc tbf .* dev psi[0-9a-f]{8} ' }) | Should -Not -BeNullOrEmpty
        Invoke-Client -Container counted -Address $Lab.OutsideAddress -Port 7001 | Should -Match 'counted' -Because 'traffic still flows under the limit'
        (Set-ContainerBandwidth -Name counted -Unlimited -PassThru).BandwidthLimit | Should -BeNullOrEmpty
        $qdiscs = Invoke-NetLab $Lab -In host -FilePath tc -ArgumentList qdisc, show
        "$qdiscs" | Should -Not -Match 'qdisc tbf'
        "$(Invoke-NetLab $Lab -In host -FilePath ip -ArgumentList '-o', 'link', 'show')" | Should -Not -Match 'psi[0-9a-f]{8}'
    }
}
