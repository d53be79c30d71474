# Shared setup for the Pester suite: dot-source it from BeforeAll. It imports the built module (from
# $env:PSCONTAINERS_MODULE_PATH or the repository's out/ folder) and gives each test file a cgroup root of its
# own, so files never see each other's cgroups and AfterAll can remove everything the file created.

$script:RepoRoot = [System.IO.Path]::GetFullPath([System.IO.Path]::Combine($PSScriptRoot, '..', '..'))
$moduleBase = if ($env:PSCONTAINERS_MODULE_PATH) { $env:PSCONTAINERS_MODULE_PATH } else { [System.IO.Path]::Combine($script:RepoRoot, 'out') }
$manifests = [System.IO.Directory]::GetFiles([System.IO.Path]::Combine($moduleBase, 'PSContainers'), 'PSContainers.psd1', [System.IO.SearchOption]::AllDirectories)
if ($manifests.Count -ne 1) { throw "Expected one built module under $moduleBase/PSContainers, found $($manifests.Count). Run 'dotnet build' first." }
$script:ModuleManifest = $manifests[0]
Import-Module $script:ModuleManifest -Force -ErrorAction Stop

$script:ModuleBase = $moduleBase
# A second PowerShell process is real pwsh: the one running these tests ($PSHOME's apphost, whether it was started as
# pwsh, `dotnet pwsh.dll` or the .NET tool shim).
$script:Shell = [System.IO.Path]::Combine($PSHOME, 'pwsh')
$script:IsRoot = [Environment]::UserName -eq 'root'

function New-TestRoot {
    # A root of our own below the hierarchy root; returned without the leading '/'.
    $name = 'psc-pester-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    $env:PSCONTAINERS_CGROUP_ROOT = $name
    $name
}

function Remove-TestRoot([string]$Name) {
    if ($Name) {
        Remove-CGroup -Path "/$Name" -Recurse -Force -ErrorAction SilentlyContinue -Confirm:$false
    }
    $env:PSCONTAINERS_CGROUP_ROOT = $null
}

$script:TestProcesses = [System.Collections.Generic.List[System.Diagnostics.Process]]::new()

function Start-TestProcess([string]$Command) {
    # A child the test owns: `sh -c <Command>` with stdin/stdout redirected (killed by Stop-TestProcesses).
    $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
    $psi.ArgumentList.Add('-c')
    $psi.ArgumentList.Add($Command)
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $script:TestProcesses.Add($p)
    $p
}

function Stop-TestProcesses {
    foreach ($p in $script:TestProcesses) {
        try { if (-not $p.HasExited) { $p.Kill($true); $null = $p.WaitForExit(5000) } } catch { }
    }
    $script:TestProcesses.Clear()
}

function Get-MountPoint([string]$Controller) {
    # The v1 mount of a controller, else the cgroup2 mount when it serves the controller, else $null.
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $f = $line.Split(' ')
        $dash = [array]::IndexOf($f, '-')
        if ($f[$dash + 1] -eq 'cgroup' -and ($f[$dash + 3].Split(',') -contains $Controller)) { return $f[4] }
    }
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $f = $line.Split(' ')
        $dash = [array]::IndexOf($f, '-')
        if ($f[$dash + 1] -eq 'cgroup2') {
            $controllers = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($f[4], 'cgroup.controllers')).Trim().Split(' ')
            if ($controllers -contains $Controller) { return $f[4] }
        }
    }
    $null
}

function Read-CGroupFile([string]$Controller, [string]$Path, [string]$V1File, [string]$V2File) {
    # Reads a control file straight from cgroupfs, whichever layout serves the controller.
    $mount = Get-MountPoint $Controller
    $isV1 = [System.IO.File]::Exists("$mount$Path/$V1File")
    $file = if ($isV1) { "$mount$Path/$V1File" } else { "$mount$Path/$V2File" }
    [System.IO.File]::ReadAllText($file).Trim()
}

function Test-CGroupDirectory([string]$Path) {
    # True when the cgroup directory exists in any mounted hierarchy.
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $f = $line.Split(' ')
        $dash = [array]::IndexOf($f, '-')
        if ($f[$dash + 1] -in 'cgroup', 'cgroup2' -and [System.IO.Directory]::Exists("$($f[4])$Path")) { return $true }
    }
    $false
}

function Get-PwshForAnyUser {
    # A pwsh another user can run. $PSHOME often lies below a folder only its owner may enter (the .NET tool under
    # /root/.nuget): then a copy of $PSHOME under out/ (its files readable and the apphost executable by all) is made
    # once and used. Returns the path of its pwsh.
    $self = [System.IO.Path]::Combine($PSHOME, 'pwsh')
    $dir = $PSHOME
    $open = $true
    while ($dir) {
        if (-not ([System.IO.File]::GetUnixFileMode($dir) -band [System.IO.UnixFileMode]::OtherExecute)) { $open = $false; break }
        $dir = [System.IO.Path]::GetDirectoryName($dir)
    }
    if ($open -and ([System.IO.File]::GetUnixFileMode($self) -band [System.IO.UnixFileMode]::OtherExecute)) { return $self }
    $copy = [System.IO.Path]::Combine($script:RepoRoot, 'out', 'pwsh-any-user', $PSVersionTable.PSVersion.ToString())
    $done = [System.IO.Path]::Combine($copy, '.complete')
    if (-not [System.IO.File]::Exists($done)) {
        $tmp = "$copy.$PID"
        [System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($copy)) | Out-Null
        & cp -a $PSHOME $tmp
        & chmod -R 'a+rX' $tmp
        & chmod 'a+x' ([System.IO.Path]::Combine($tmp, 'pwsh'))
        if ($LASTEXITCODE -ne 0) { throw "Could not copy $PSHOME to $tmp for other users" }
        [System.IO.File]::WriteAllText([System.IO.Path]::Combine($tmp, '.complete'), '')
        try { [System.IO.Directory]::Move($tmp, $copy) } catch { & rm -rf $tmp }  # another file made it first
    }
    [System.IO.Path]::Combine($copy, 'pwsh')
}

function Invoke-Process([string]$File, [string[]]$Arguments, [hashtable]$Environment = @{}, [int]$TimeoutSec = 120,
    [string]$WorkingDirectory) {
    # Runs a program to its end, within a bound; returns @{ ExitCode; Output } (stdout, then stderr).
    $psi = [System.Diagnostics.ProcessStartInfo]::new($File)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    if ($WorkingDirectory) { $psi.WorkingDirectory = $WorkingDirectory }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $stdout = $p.StandardOutput.ReadToEndAsync()
    $stderr = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit($TimeoutSec * 1000)) { $p.Kill($true); $null = $p.WaitForExit(5000); throw "$File did not finish within $TimeoutSec s: $Arguments" }
    @{ ExitCode = $p.ExitCode; Output = $stdout.Result + $stderr.Result }
}

function Invoke-Shell([string[]]$Arguments, [string]$AsUser, [string[]]$Through = @(), [int]$TimeoutSec = 60) {
    # Runs real pwsh as a separate process, the built module first on its PSModulePath; returns @{ ExitCode; Output }.
    # -AsUser runs it as that uid (through setpriv, with a pwsh that uid can run); -Through puts a command line before
    # pwsh (e.g. setpriv dropping a capability).
    $pwsh = if ($AsUser) { Get-PwshForAnyUser } else { $script:Shell }
    $vars = @{ PSModulePath = $script:ModuleBase; NO_COLOR = '1' }
    $prefix = @($Through)
    if ($AsUser) {
        $prefix = @('setpriv', "--reuid=$AsUser", "--regid=$AsUser", '--clear-groups', '--') + $prefix
        $vars.HOME = '/tmp'
        $vars.DOTNET_CLI_HOME = '/tmp'
    }
    $line = $prefix + @($pwsh) + $Arguments
    Invoke-Process $line[0] @($line | Select-Object -Skip 1) $vars $TimeoutSec
}

function Test-ProcessAlive([int]$Id) {
    # True while the process exists and is not a zombie.
    try {
        $stat = [System.IO.File]::ReadAllText("/proc/$Id/stat")
        $stat.Substring($stat.LastIndexOf(')') + 2, 1) -ne 'Z'
    } catch { $false }
}

function New-TestDepot {
    # A depot and an image store of the test file's own (PSCONTAINERS_DEPOT, PSCONTAINERS_STORE = the depot's
    # path + '-store'), removed by Remove-TestDepot.
    $dir = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-depot-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $env:PSCONTAINERS_DEPOT = $dir
    $env:PSCONTAINERS_STORE = "$dir-store"
    $dir
}

function Remove-TestDepot([string]$Dir) {
    # Removes every container left in the depot (killing what runs), then the depot itself.
    if ($Dir -and [System.IO.Directory]::Exists($Dir)) {
        foreach ($entry in [System.IO.Directory]::GetDirectories($Dir)) {
            Remove-Container -Name ([System.IO.Path]::GetFileName($entry)) -Force -Confirm:$false -ErrorAction SilentlyContinue
        }
        [System.IO.Directory]::Delete($Dir, $true)
    }
    if ($Dir -and [System.IO.Directory]::Exists("$Dir-store")) {
        [System.IO.Directory]::Delete("$Dir-store", $true)
    }
    $env:PSCONTAINERS_DEPOT = $null
    $env:PSCONTAINERS_STORE = $null
}

# ------------------------------------------------------------------ network lab (tests/net/netlab.sh)
# Network tests run in a lab of two network namespaces made by tests/net/netlab.sh: "host" (what the module is pointed
# at through $env:PSCONTAINERS_HOST_NETNS; an uplink0 198.51.100.1/24 with a default route) and "outside" (eth0
# 198.51.100.2/24, the world beyond the uplink). Nothing in it reaches the machine's real interfaces.
$script:NetLabScript = [System.IO.Path]::Combine($script:RepoRoot, 'tests', 'net', 'netlab.sh')
$script:NetLabSkipReason = $null
$script:NetLabProbed = $false

function Get-NetLabSkipReason {
    # $null when this machine can make the lab (root; unshare, nsenter and ip; a veth pair in a new namespace), else
    # why not: tests skip with it (Set-ItResult -Skipped -Because). Probed once per file.
    if ($script:NetLabProbed) { return $script:NetLabSkipReason }
    $script:NetLabProbed = $true
    $why = $null
    if (-not $script:IsRoot) { $why = 'the network lab needs root (network namespaces, veth)' }
    else {
        foreach ($tool in 'unshare', 'nsenter', 'ip', 'bash') {
            if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $why = "the network lab needs $tool (util-linux, iproute2)"; break }
        }
    }
    if (-not $why) {
        $probe = Invoke-Process 'unshare' @('--net', '--', 'ip', 'link', 'add', 'psc-probe0', 'type', 'veth', 'peer', 'name', 'psc-probe1') -TimeoutSec 10
        if ($probe.ExitCode -ne 0) { $why = "this machine cannot make a veth pair in a new network namespace: $($probe.Output.Trim())" }
    }
    $script:NetLabSkipReason = $why
    $why
}

function New-TestNetLab([string]$Prefix = 'psc-netlab') {
    # Makes a lab in a fresh folder /tmp/<Prefix>-<random>, points $env:PSCONTAINERS_HOST_NETNS at its "host"
    # namespace and returns it (Dir, HostNetns, OutsideNetns, HostAddress, OutsideAddress). Remove-TestNetLab undoes it.
    $dir = [System.IO.Path]::Combine('/tmp', "$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $r = Invoke-Process 'bash' @($script:NetLabScript, 'up', $dir) -TimeoutSec 30
    if ($r.ExitCode -ne 0) { throw "netlab.sh up $dir failed (exit $($r.ExitCode)): $($r.Output)" }
    $lab = [pscustomobject]@{
        Dir                = $dir
        HostNetns          = "$dir/host"
        OutsideNetns       = "$dir/outside"
        HostAddress        = '198.51.100.1'
        OutsideAddress     = '198.51.100.2'
        PreviousHostNetns  = $env:PSCONTAINERS_HOST_NETNS
    }
    $env:PSCONTAINERS_HOST_NETNS = $lab.HostNetns
    $lab
}

function Remove-TestNetLab($Lab) {
    # Restores $env:PSCONTAINERS_HOST_NETNS and tears the lab down (every process still in it is killed). Safe to call
    # with $null or twice.
    if (-not $Lab) { return }
    $env:PSCONTAINERS_HOST_NETNS = $Lab.PreviousHostNetns
    $r = Invoke-Process 'bash' @($script:NetLabScript, 'down', $Lab.Dir) -TimeoutSec 30
    if ($r.ExitCode -ne 0) { Write-Warning "netlab.sh down $($Lab.Dir) failed (exit $($r.ExitCode)): $($r.Output)" }
}

function Get-NetLabFile($Lab, [string]$In) {
    switch ($In) {
        'host' { $Lab.HostNetns }
        'outside' { $Lab.OutsideNetns }
        default { throw "-In must be host or outside, not '$In'" }
    }
}

function Invoke-NetLab {
    # Runs a native command inside one of the lab's namespaces to its end (within -TimeoutSec) and returns its output
    # (stdout, then stderr); its exit code is left in $LASTEXITCODE, as for any native command.
    param(
        [Parameter(Mandatory, Position = 0)] $Lab,
        [Parameter(Mandatory)][ValidateSet('host', 'outside')][string]$In,
        [Parameter(Mandatory)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [int]$TimeoutSec = 30
    )
    $r = Invoke-Process 'nsenter' (@("--net=$(Get-NetLabFile $Lab $In)", '--', $FilePath) + $ArgumentList) -TimeoutSec $TimeoutSec
    $global:LASTEXITCODE = $r.ExitCode
    $r.Output
}

function Start-NetLabProcess {
    # Starts a native command inside one of the lab's namespaces and returns its process without waiting (a server);
    # Stop-TestProcesses kills it, and so does Remove-TestNetLab.
    param(
        [Parameter(Mandatory, Position = 0)] $Lab,
        [Parameter(Mandatory)][ValidateSet('host', 'outside')][string]$In,
        [Parameter(Mandatory)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )
    $psi = [System.Diagnostics.ProcessStartInfo]::new('nsenter')
    foreach ($a in @("--net=$(Get-NetLabFile $Lab $In)", '--', $FilePath) + $ArgumentList) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $p = [System.Diagnostics.Process]::Start($psi)
    $script:TestProcesses.Add($p)
    $p
}

function Wait-NetLabListener {
    # Waits (bounded) until something listens on a TCP (or UDP) port inside one of the lab's namespaces; throws after
    # -TimeoutSec.
    param(
        [Parameter(Mandatory, Position = 0)] $Lab,
        [Parameter(Mandatory)][ValidateSet('host', 'outside')][string]$In,
        [Parameter(Mandatory)][int]$Port,
        [ValidateSet('Tcp', 'Udp')][string]$Protocol = 'Tcp',
        [int]$TimeoutSec = 10
    )
    $flag = if ($Protocol -eq 'Tcp') { '-Hltn' } else { '-Hlun' }
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSec)
    while ($true) {
        $out = Invoke-NetLab $Lab -In $In -FilePath ss -ArgumentList $flag, "sport = :$Port" -TimeoutSec 5
        if ($LASTEXITCODE -eq 0 -and $out.Trim()) { return }
        if ([DateTime]::UtcNow -gt $deadline) { throw "nothing listens on $Protocol port $Port in the lab's $In namespace after $TimeoutSec s" }
        Start-Sleep -Milliseconds 20
    }
}
