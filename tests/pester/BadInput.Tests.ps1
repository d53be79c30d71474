# Bad input, table-driven over every cmdlet and parameter: each case must end in an ErrorRecord with a stable
# error id, the right category and the offending value in its message, and must change nothing on the machine
# (the file's cgroups and their limits, its depot, and the processes in them or started by this session).
# A last test checks that every parameter of every exported cmdlet has a case here, or a stated reason why no
# value of it can be bad.

# --- the table (built in BeforeDiscovery, so -ForEach sees it; the script blocks run in the tests, where the fixtures below exist) ---------
BeforeDiscovery {
    $cases = [System.Collections.Generic.List[hashtable]]::new()
    # A case's Call runs in its test, where the case's Value, Runner and Splat are variables (as Pester sets them).
    function Case([string]$Cmdlet, [string]$Parameter, [string]$Case, [string]$Id, [string]$Category, [string]$Shows, [scriptblock]$Call, [hashtable]$With = @{}) {
        $cases.Add(@{ Cmdlet = $Cmdlet; Parameter = $Parameter; Case = $Case; Id = $Id; Category = $Category; Shows = $Shows; Call = $Call
                Value = $With.Value; Runner = $With.Runner; Splat = $With.Splat; NeedsLab = [bool]$With.Lab })
    }
    $badNames = @(
        @{ Case = 'empty'; Value = '' ; Shows = "''" }
        @{ Case = '..'; Value = '..'; Shows = "'..'" }
        @{ Case = 'a slash'; Value = 'a/b'; Shows = 'a/b' }
        @{ Case = 'a NUL'; Value = "a`0b"; Shows = 'a\0b' }
        @{ Case = '64 characters'; Value = 'x' * 64; Shows = 'x' * 64 }
        @{ Case = 'a Cyrillic look-alike'; Value = "w$([char]0x435)b"; Shows = "w$([char]0x435)b" }
    )

    # Names of containers: every cmdlet that takes one, every kind of bad name; then a name nobody has.
    $byName = @{
        'Get-Container'            = { param($n) Get-Container -Name $n }
        'Get-ContainerEvent'       = { param($n) Get-ContainerEvent -Name $n }
        'Get-ContainerLog'         = { param($n) Get-ContainerLog -Name $n }
        'Get-ContainerStats'       = { param($n) Get-ContainerStats -Name $n }
        'Start-Container'          = { param($n) Start-Container -Name $n }
        'Stop-Container'           = { param($n) Stop-Container -Name $n }
        'Wait-Container'           = { param($n) Wait-Container -Name $n }
        'Remove-Container'         = { param($n) Remove-Container -Name $n }
        'Suspend-Container'        = { param($n) Suspend-Container -Name $n }
        'Resume-Container'         = { param($n) Resume-Container -Name $n }
        'Set-ContainerProperty'    = { param($n) Set-ContainerProperty -Name $n -Key k -Value v }
        'Remove-ContainerProperty' = { param($n) Remove-ContainerProperty -Name $n -Key k }
        'Invoke-ContainerCommand'  = { param($n) Invoke-ContainerCommand -Name $n /bin/true }
        'New-Container'            = { param($n) New-Container -Name $n /bin/true }
        'Start-ContainerProcess'   = { param($n) Start-ContainerProcess -Name $n /bin/true }
        'Get-ContainerProcess'     = { param($n) Get-ContainerProcess -Name $n }
        'Wait-ContainerProcess'    = { param($n) Wait-ContainerProcess -Name $n -Id main }
        'Stop-ContainerProcess'    = { param($n) Stop-ContainerProcess -Name $n -Id main }
        'Enter-Container'          = { param($n) Enter-Container -Name $n }
        'Publish-ContainerPort'    = { param($n) Publish-ContainerPort -Name $n -ContainerPort 80 }
        'Unpublish-ContainerPort'  = { param($n) Unpublish-ContainerPort -Name $n -HostPort 8080 }
        'Add-ContainerNetRule'     = { param($n) Add-ContainerNetRule -Name $n -Protocol All -Network 0.0.0.0/0 }
        'Get-ContainerNetRule'     = { param($n) Get-ContainerNetRule -Name $n }
        'Remove-ContainerNetRule'  = { param($n) Remove-ContainerNetRule -Name $n -Id 1 }
        'Set-ContainerBandwidth'   = { param($n) Set-ContainerBandwidth -Name $n -BandwidthLimit 1MB }
    }
    foreach ($cmdlet in $byName.Keys) {
        foreach ($b in $badNames) {
            Case $cmdlet Name $b.Case InvalidContainerName InvalidArgument $b.Shows { & $Runner $Value } @{ Runner = $byName[$cmdlet]; Value = $b.Value }
        }
        if ($cmdlet -ne 'New-Container') {
            Case $cmdlet Name 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { & $Runner nobody } @{ Runner = $byName[$cmdlet] }
        }
    }
    foreach ($cmdlet in 'Set-CGroupLimit', 'Move-Process') {
        $call = if ($cmdlet -eq 'Set-CGroupLimit') { { Set-CGroupLimit -Container $Value -PidsLimit 5 } } else { { Move-Process -Id $Sleeper.Id -Container $Value } }
        foreach ($b in $badNames[1..2]) {
            Case $cmdlet Container $b.Case InvalidContainerName InvalidArgument $b.Shows $call @{ Value = $b.Value }
        }
        # -Container is a plain name (no wildcards), so PowerShell's own validation refuses an empty one.
        Case $cmdlet Container 'empty' ParameterArgumentValidationErrorEmptyStringNotAllowed InvalidData "'Container'" $call @{ Value = '' }
    }
    Case Set-CGroupLimit Container 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Set-CGroupLimit -Container nobody -PidsLimit 5 }
    Case Move-Process Container 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Move-Process -Id $Sleeper.Id -Container nobody }
    Case Move-Process Container 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Move-Process -Id $Sleeper.Id -Container exited }

    # A container object whose container was removed meanwhile (e.g. by another session).
    foreach ($cmdlet in 'Get-ContainerLog', 'Get-ContainerStats', 'Start-Container', 'Stop-Container', 'Wait-Container', 'Remove-Container',
        'Suspend-Container', 'Resume-Container', 'Set-ContainerProperty', 'Remove-ContainerProperty', 'Invoke-ContainerCommand') {
        $call = switch ($cmdlet) {
            'Set-ContainerProperty' { { $Gone | Set-ContainerProperty -Key k -Value v } }
            'Remove-ContainerProperty' { { $Gone | Remove-ContainerProperty -Key k } }
            'Invoke-ContainerCommand' { { $Gone | Invoke-ContainerCommand /bin/true } }
            default { { $Gone | & $Value } }
        }
        # Stats read the object's cgroup without the depot: what is gone is the container's cgroup.
        $id = if ($cmdlet -eq 'Get-ContainerStats') { 'ContainerGone' } else { 'ContainerNotFound' }
        Case $cmdlet InputObject 'a container removed meanwhile' $id ObjectNotFound 'gone' $call @{ Value = $cmdlet }
    }

    # Wrong states.
    Case Start-Container Name 'a Running container' ContainerAlreadyStarted InvalidOperation 'running' { Start-Container -Name running }
    Case Start-Container Name 'an Exited container' ContainerAlreadyStarted InvalidOperation 'exited' { Start-Container -Name exited }
    Case Start-Container Wait 'a Running container' ContainerAlreadyStarted InvalidOperation 'running' { Start-Container -Name running -Wait }
    Case Start-Container AsJob 'a Running container' ContainerAlreadyStarted InvalidOperation 'running' { Start-Container -Name running -AsJob }
    Case Start-Container PassThru 'an Exited container' ContainerAlreadyStarted InvalidOperation 'exited' { Start-Container -Name exited -PassThru }
    Case Resume-Container Name 'a Running container' ContainerNotPaused InvalidOperation 'running' { Resume-Container -Name running }
    Case Resume-Container PassThru 'an Exited container' ContainerNotPaused InvalidOperation 'exited' { Resume-Container -Name exited -PassThru }
    Case Suspend-Container Name 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Suspend-Container -Name exited }
    Case Suspend-Container PassThru 'a Created container' ContainerNotRunning InvalidOperation 'created' { Suspend-Container -Name created -PassThru }
    Case Wait-Container Name 'a Created container' ContainerNotStarted InvalidOperation 'created' { Wait-Container -Name created }
    Case Remove-Container Name 'a Running container' ContainerRunning ResourceBusy 'running' { Remove-Container -Name running }
    Case Invoke-ContainerCommand Name 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Invoke-ContainerCommand -Name exited /bin/true }
    Case Invoke-ContainerCommand AsJob 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Invoke-ContainerCommand -Name exited /bin/true -AsJob }
    Case New-Container Name 'a name that is taken' ContainerExists ResourceExists 'exited' { New-Container -Name exited /bin/true }
    Case New-Container Name 'the name of a control file' InvalidCGroupPath InvalidArgument 'cpu.x' { New-Container -Name cpu.x /bin/true }

    # Numbers, times and other values.
    Case Stop-Container Timeout 'negative' ParameterArgumentValidationError InvalidData '-1' { Stop-Container -Name running -Timeout -1 }
    Case Stop-Container Timeout 'not a number' CannotConvertArgumentNoMessage InvalidArgument 'soon' { Stop-Container -Name running -Timeout soon }
    Case Stop-Container Force 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Stop-Container -Name nobody -Force }
    Case Stop-Container PassThru 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Stop-Container -Name nobody -PassThru }
    Case Remove-Container Force 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Remove-Container -Name nobody -Force }
    Case Wait-Container Timeout 'negative' ParameterArgumentValidationError InvalidData '-1' { Wait-Container -Name running -Timeout -1 }
    Case Wait-Container Timeout 'zero on a Running container' WaitTimeout OperationTimeout 'running' { Wait-Container -Name running -Timeout 0 }
    Case Get-ContainerLog Tail 'negative' ParameterArgumentValidationError InvalidData '-1' { Get-ContainerLog -Name exited -Tail -1 }
    Case Get-ContainerLog Stream 'not a stream' CannotConvertArgumentNoMessage InvalidArgument 'Bogus' { Get-ContainerLog -Name exited -Stream Bogus }
    Case Get-ContainerEvent Since 'not a date' CannotConvertArgumentNoMessage InvalidArgument 'notadate' { Get-ContainerEvent -Name exited -Since notadate }
    Case Get-ContainerStats Count 'zero' ParameterArgumentValidationError InvalidData '0' { Get-ContainerStats -Name running -Count 0 }
    Case Get-ContainerStats Count 'overflow' CannotConvertArgumentNoMessage InvalidArgument '99999999999' { Get-ContainerStats -Name running -Count 99999999999 }
    Case Get-ContainerStats Interval 'negative' InvalidInterval InvalidArgument '-1' { Get-ContainerStats -Name running -Interval -1 }
    Case Get-ContainerStats Watch 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Get-ContainerStats -Name nobody -Watch }
    Case Get-ContainerStats CGroupPath '..' InvalidCGroupPath InvalidArgument '..' { Get-ContainerStats -CGroupPath .. }
    Case Get-ContainerStats CGroupPath 'a cgroup nobody made' CGroupNotFound ObjectNotFound 'nothere' { Get-ContainerStats -CGroupPath nothere }
    Case Set-ContainerProperty Key 'empty' InvalidPropertyKey InvalidArgument "''" { Set-ContainerProperty -Name exited -Key '' -Value v }
    Case Set-ContainerProperty Key 'a NUL' InvalidPropertyKey InvalidArgument 'a\0b' { Set-ContainerProperty -Name exited -Key "a`0b" -Value v }
    Case Set-ContainerProperty PassThru 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Set-ContainerProperty -Name nobody -Key k -Value v -PassThru }
    Case Remove-ContainerProperty Key 'empty' InvalidPropertyKey InvalidArgument "''" { Remove-ContainerProperty -Name exited -Key '' }
    Case Remove-ContainerProperty Key 'a key it does not have' PropertyNotFound ObjectNotFound 'nokey' { Remove-ContainerProperty -Name exited -Key nokey }
    Case Remove-ContainerProperty PassThru 'a key it does not have' PropertyNotFound ObjectNotFound 'nokey' { Remove-ContainerProperty -Name exited -Key nokey -PassThru }

    # Invoke-ContainerCommand: what runs, and how.
    Case Invoke-ContainerCommand FilePath 'empty' InvalidFilePath InvalidArgument 'empty' { Invoke-ContainerCommand -Name running '' }
    Case Invoke-ContainerCommand FilePath 'a program that does not exist' ProgramNotFound ObjectNotFound '/no/such' { Invoke-ContainerCommand -Name running /no/such }
    Case Invoke-ContainerCommand ArgumentList 'a NUL' InvalidArgument InvalidArgument 'a\0b' { Invoke-ContainerCommand -Name running /bin/echo "a`0b" }
    Case Invoke-ContainerCommand Environment 'a name with =' InvalidEnvironment InvalidArgument 'A=B' { Invoke-ContainerCommand -Name running /bin/true -Environment @{ 'A=B' = 'c' } }
    Case Invoke-ContainerCommand WorkingDirectory 'a directory that does not exist' WorkingDirectoryNotFound ObjectNotFound '/nothere' { Invoke-ContainerCommand -Name running /bin/true -WorkingDirectory /nothere }
    Case Invoke-ContainerCommand User 'a user that does not exist' UserNotFound ObjectNotFound 'nosuchuser' { Invoke-ContainerCommand -Name running /bin/true -User nosuchuser }

    # Processes of a container: Start/Get/Wait/Stop-ContainerProcess, Enter-Container, Get-ContainerLog -ProcessId, and
    # Invoke-ContainerCommand's stdin and output. ('running' runs a program: its process 'main' has no terminal.)
    Case Start-ContainerProcess Name 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Start-ContainerProcess -Name exited /bin/true }
    Case Start-ContainerProcess Name 'a Created container' ContainerNotRunning InvalidOperation 'created' { Start-ContainerProcess -Name created /bin/true }
    Case Start-ContainerProcess FilePath 'a program that does not exist' ProgramNotFound ObjectNotFound '/no/such' { Start-ContainerProcess -Name running /no/such }
    Case Start-ContainerProcess ArgumentList 'a NUL' InvalidArgument InvalidArgument 'a\0b' { Start-ContainerProcess -Name running /bin/echo "a`0b" }
    Case Start-ContainerProcess Environment 'a name with =' InvalidEnvironment InvalidArgument 'A=B' { Start-ContainerProcess -Name running /bin/true -Environment @{ 'A=B' = 'c' } }
    Case Start-ContainerProcess Environment 'a name with NUL' InvalidEnvironment InvalidArgument 'A\0B' { Start-ContainerProcess -Name running /bin/true -Environment @{ "A`0B" = 'c' } }
    Case Start-ContainerProcess WorkingDirectory 'a directory that does not exist' WorkingDirectoryNotFound ObjectNotFound '/nothere' { Start-ContainerProcess -Name running /bin/true -WorkingDirectory /nothere }
    Case Start-ContainerProcess User 'a user that does not exist' UserNotFound ObjectNotFound 'nosuchuser' { Start-ContainerProcess -Name running /bin/true -User nosuchuser }
    Case Start-ContainerProcess ResourceLimit 'not an rlimit' InvalidResourceLimit InvalidArgument 'bogus' { Start-ContainerProcess -Name running /bin/true -ResourceLimit @{ bogus = 1 } }
    Case Start-ContainerProcess Tty 'a width of 0' InvalidTerminalSize InvalidArgument '-Width 0' { Start-ContainerProcess -Name running /bin/true -Tty -Width 0 }
    Case Start-ContainerProcess Width 'above 9999' InvalidTerminalSize InvalidArgument '-Width 10000' { Start-ContainerProcess -Name running /bin/true -Tty -Width 10000 }
    Case Start-ContainerProcess Height 'zero' InvalidTerminalSize InvalidArgument '-Height 0' { Start-ContainerProcess -Name running /bin/true -Tty -Height 0 }
    Case Start-ContainerProcess Height 'without -Tty' TerminalSizeNeedsTty InvalidArgument '24' { Start-ContainerProcess -Name running /bin/true -Height 24 }
    Case Get-ContainerProcess Id 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Get-ContainerProcess -Name running -Id 7 }
    Case Get-ContainerProcess IncludeUntracked 'a container nobody made' ContainerNotFound ObjectNotFound 'nobody' { Get-ContainerProcess -Name nobody -IncludeUntracked }
    Case Get-ContainerProcess Id 'a path' ProcessNotFound ObjectNotFound "'../x'" { Get-ContainerProcess -Name running -Id ../x }
    Case Wait-ContainerProcess Id 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Wait-ContainerProcess -Name running -Id 7 }
    Case Wait-ContainerProcess Timeout 'negative' ParameterArgumentValidationError InvalidData '-1' { Wait-ContainerProcess -Name running -Id main -Timeout -1 }
    Case Stop-ContainerProcess Id 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Stop-ContainerProcess -Name running -Id 7 }
    Case Stop-ContainerProcess Signal 'a name that is no signal' InvalidSignal InvalidArgument 'SIGNOPE' { Stop-ContainerProcess -Name running -Id main -Signal SIGNOPE }
    Case Stop-ContainerProcess Signal 'number 65' InvalidSignal InvalidArgument "'65'" { Stop-ContainerProcess -Name running -Id main -Signal 65 }
    Case Stop-ContainerProcess Timeout 'negative' ParameterArgumentValidationError InvalidData '-1' { Stop-ContainerProcess -Name running -Id main -Timeout -1 }
    Case Stop-ContainerProcess Force 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Stop-ContainerProcess -Name running -Id 7 -Force }
    Case Stop-ContainerProcess PassThru 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Stop-ContainerProcess -Name running -Id 7 -PassThru }
    Case Get-ContainerLog ProcessId 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Get-ContainerLog -Name running -ProcessId 7 }
    Case Get-ContainerLog Follow 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Get-ContainerLog -Name running -ProcessId 7 -Follow }
    Case Invoke-ContainerCommand ResourceLimit 'not an rlimit' InvalidResourceLimit InvalidArgument 'bogus' { Invoke-ContainerCommand -Name running /bin/true -ResourceLimit @{ bogus = 1 } }
    Case Invoke-ContainerCommand AsByteStream 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Invoke-ContainerCommand -Name exited /bin/true -AsByteStream }
    Case Invoke-ContainerCommand StandardInput 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { 'x' | Invoke-ContainerCommand -Name exited /bin/cat }
    Case Enter-Container Name 'an Exited container' ContainerNotRunning InvalidOperation 'exited' { Enter-Container -Name exited }
    Case Enter-Container FilePath 'a program that does not exist' ProgramNotFound ObjectNotFound '/no/such' { Enter-Container -Name running /no/such }
    Case Enter-Container ArgumentList 'a NUL' InvalidArgument InvalidArgument 'a\0b' { Enter-Container -Name running /bin/sh -ArgumentList "a`0b" }
    Case Enter-Container User 'a user that does not exist' UserNotFound ObjectNotFound 'nosuchuser' { Enter-Container -Name running -User nosuchuser }
    Case Enter-Container WorkingDirectory 'a directory that does not exist' WorkingDirectoryNotFound ObjectNotFound '/nothere' { Enter-Container -Name running -WorkingDirectory /nothere }
    Case Enter-Container Environment 'a name with =' InvalidEnvironment InvalidArgument 'A=B' { Enter-Container -Name running -Environment @{ 'A=B' = 'c' } }
    Case Enter-Container ProcessId 'an id it does not have' ProcessNotFound ObjectNotFound "'7'" { Enter-Container -Name running -ProcessId 7 }
    Case Enter-Container ProcessId 'a process without a terminal' ProcessNotTty InvalidOperation 'main' { Enter-Container -Name running -ProcessId main }

    # New-Container: the program, its process and its container.
    Case New-Container FilePath 'empty' InvalidFilePath InvalidArgument 'empty' { New-Container -Name fresh '' }
    Case New-Container FilePath 'a program that does not exist' ProgramNotFound ObjectNotFound '/no/such' { New-Container -Name fresh /no/such }
    Case New-Container FilePath 'a file that is not executable' ProgramNotExecutable PermissionDenied '/etc/passwd' { New-Container -Name fresh /etc/passwd }
    Case New-Container ArgumentList 'a NUL' InvalidArgument InvalidArgument 'a\0b' { New-Container -Name fresh /bin/echo -ArgumentList "a`0b" }
    Case New-Container Group 'empty' InvalidGroupName InvalidArgument "''" { New-Container -Name fresh /bin/true -Group '' }
    Case New-Container Group 'a slash' InvalidGroupName InvalidArgument 'x/y' { New-Container -Name fresh /bin/true -Group x/y }
    Case New-Container Group 'the name of an ungrouped container' GroupNameTaken ResourceExists 'exited' { New-Container -Name fresh /bin/true -Group exited }
    Case New-Container Isolation 'not an isolation' CannotConvertArgumentNoMessage InvalidArgument 'Bogus' { New-Container -Name fresh /bin/true -Isolation Bogus }
    Case New-Container Hostname 'without Uts' HostnameNeedsUts InvalidArgument 'web' { New-Container -Name fresh /bin/true -Isolation Pid -Hostname web }
    Case New-Container Hostname '65 characters' InvalidHostname InvalidArgument ('h' * 65) { New-Container -Name fresh /bin/true -Hostname ('h' * 65) }
    Case New-Container Hostname 'empty' InvalidHostname InvalidArgument "''" { New-Container -Name fresh /bin/true -Hostname '' }
    Case New-Container Hostname 'a NUL' InvalidHostname InvalidArgument 'a\0b' { New-Container -Name fresh /bin/true -Hostname "a`0b" }
    Case New-Container WorkingDirectory 'relative' WorkingDirectoryNotFound ObjectNotFound 'relative' { New-Container -Name fresh /bin/true -WorkingDirectory relative }
    Case New-Container WorkingDirectory 'a file' WorkingDirectoryNotFound ObjectNotFound '/etc/passwd' { New-Container -Name fresh /bin/true -WorkingDirectory /etc/passwd }
    Case New-Container Environment 'an empty name' InvalidEnvironment InvalidArgument "''" { New-Container -Name fresh /bin/true -Environment @{ '' = '1' } }
    Case New-Container Environment 'a NUL in a value' InvalidEnvironment InvalidArgument "'A'" { New-Container -Name fresh /bin/true -Environment @{ A = "x`0y" } }
    Case New-Container User 'a user that does not exist' UserNotFound ObjectNotFound 'nosuchuser' { New-Container -Name fresh /bin/true -User nosuchuser }
    Case New-Container User 'three fields' InvalidUser InvalidArgument 'root:root:x' { New-Container -Name fresh /bin/true -User root:root:x }
    Case New-Container RootPath 'a directory that does not exist' RootPathNotFound ObjectNotFound '/nothere' { New-Container -Name fresh /bin/true -RootPath /nothere }
    Case New-Container RootPath 'without Mount' RootPathNeedsMount InvalidArgument '/' { New-Container -Name fresh /bin/true -RootPath / -Isolation Pid }
    Case New-Container RootPath 'a root without pwsh for -ScriptBlock' PowerShellNotInRoot ObjectNotFound "'/dev'" { New-Container -Name fresh -ScriptBlock { 1 } -RootPath /dev }
    Case New-Container ResourceLimit 'not an rlimit' InvalidResourceLimit InvalidArgument 'bogus' { New-Container -Name fresh /bin/true -ResourceLimit @{ bogus = 1 } }
    Case New-Container ResourceLimit 'soft above hard' InvalidResourceLimit InvalidArgument '5:3' { New-Container -Name fresh /bin/true -ResourceLimit @{ nofile = '5:3' } }
    Case New-Container ResourceLimit 'negative' InvalidResourceLimit InvalidArgument '-5' { New-Container -Name fresh /bin/true -ResourceLimit @{ nofile = -5 } }
    Case New-Container Property 'an empty key' InvalidPropertyKey InvalidArgument "''" { New-Container -Name fresh /bin/true -Property @{ '' = 1 } }
    Case New-Container KeepCGroup 'with a bad name' InvalidContainerName InvalidArgument 'a/b' { New-Container -Name a/b /bin/true -KeepCGroup }

    # Limits, through every cmdlet that sets them.
    $limitCases = @(
        @{ Parameter = 'MemoryLimit'; Case = 'zero'; Value = 0; Id = 'InvalidLimit,MemoryLimit' }
        @{ Parameter = 'MemoryLimit'; Case = 'negative'; Value = -2; Id = 'InvalidLimit,MemoryLimit' }
        @{ Parameter = 'MemoryLimit'; Case = 'not a number'; Value = 'lots'; Id = 'CannotConvertArgumentNoMessage' }
        @{ Parameter = 'MemoryLimit'; Case = 'overflow'; Value = '99999999999999999999999'; Id = 'CannotConvertArgumentNoMessage' }
        @{ Parameter = 'MemorySwapLimit'; Case = 'negative'; Value = -2; Id = 'InvalidLimit,MemorySwapLimit' }
        @{ Parameter = 'CpuLimit'; Case = 'zero'; Value = 0; Id = 'InvalidLimit,CpuLimit' }
        @{ Parameter = 'CpuLimit'; Case = 'more CPUs than the machine has'; Value = 1000; Id = 'InvalidLimit,CpuLimit' }
        @{ Parameter = 'CpuLimit'; Case = 'NaN'; Value = [double]::NaN; Id = 'InvalidLimit,CpuLimit' }
        @{ Parameter = 'CpuWeight'; Case = 'zero'; Value = 0; Id = 'InvalidLimit,CpuWeight' }
        @{ Parameter = 'CpuWeight'; Case = 'above 10000'; Value = 10001; Id = 'InvalidLimit,CpuWeight' }
        @{ Parameter = 'CpuSet'; Case = 'not a list'; Value = 'abc'; Id = 'InvalidLimit,CpuSet' }
        @{ Parameter = 'CpuSet'; Case = 'a CPU the machine lacks'; Value = '999'; Id = 'InvalidLimit,CpuSet' }
        @{ Parameter = 'CpuSet'; Case = 'a reversed range'; Value = '1-0'; Id = 'InvalidLimit,CpuSet' }
        @{ Parameter = 'PidsLimit'; Case = 'zero'; Value = 0; Id = 'InvalidLimit,PidsLimit' }
        @{ Parameter = 'PidsLimit'; Case = 'negative'; Value = -3; Id = 'InvalidLimit,PidsLimit' }
        @{ Parameter = 'PidsLimit'; Case = 'above the kernel''s maximum'; Value = 99999999999; Id = 'InvalidLimit,PidsLimit' }
    )
    foreach ($l in $limitCases) {
        $with = @{ Splat = @{ $l.Parameter = $l.Value } }
        $shows = if ($l.Value -is [double] -and [double]::IsNaN($l.Value)) { 'NaN' } else { "$($l.Value)" }
        Case New-CGroup $l.Parameter $l.Case $l.Id InvalidArgument $shows { New-CGroup -Path fresh @Splat } $with
        Case New-Container $l.Parameter $l.Case $l.Id InvalidArgument $shows { New-Container -Name fresh /bin/true @Splat } $with
        Case Set-CGroupLimit $l.Parameter $l.Case $l.Id InvalidArgument $shows { Set-CGroupLimit -Path grp @Splat } $with
    }
    Case New-CGroup MemorySwapLimit 'below the memory limit' 'InvalidLimit,MemorySwapLimit' InvalidArgument '1048576' { New-CGroup -Path fresh -MemoryLimit 2MB -MemorySwapLimit 1MB }
    Case Set-CGroupLimit Path 'no limit given' NoLimitGiven InvalidArgument 'MemoryLimit' { Set-CGroupLimit -Path grp }
    Case Set-CGroupLimit PassThru 'no limit given' NoLimitGiven InvalidArgument 'MemoryLimit' { Set-CGroupLimit -Path grp -PassThru }

    # cgroup paths, through every cmdlet that takes one.
    $badPaths = @(
        @{ Case = '..'; Value = '..'; Id = 'InvalidCGroupPath'; Category = 'InvalidArgument'; Shows = '..' }
        @{ Case = 'climbing out'; Value = 'a/../..'; Id = 'InvalidCGroupPath'; Category = 'InvalidArgument'; Shows = 'a/../..' }
        @{ Case = 'a NUL'; Value = "a`0b"; Id = 'InvalidCGroupPath'; Category = 'InvalidArgument'; Shows = 'a\0b' }
        @{ Case = 'an empty component'; Value = 'a//b'; Id = 'InvalidCGroupPath'; Category = 'InvalidArgument'; Shows = 'a//b' }
        @{ Case = 'a 300-byte name'; Value = 'x' * 300; Id = 'InvalidCGroupPath'; Category = 'InvalidArgument'; Shows = 'x' * 255 }
        @{ Case = 'a cgroup nobody made'; Value = 'nothere'; Id = 'CGroupNotFound'; Category = 'ObjectNotFound'; Shows = 'nothere' }
    )
    foreach ($p in $badPaths) {
        $with = @{ Value = $p.Value }
        Case Get-CGroup Path $p.Case $p.Id $p.Category $p.Shows { Get-CGroup -Path $Value } $with
        Case Remove-CGroup Path $p.Case $p.Id $p.Category $p.Shows { Remove-CGroup -Path $Value } $with
        Case Set-CGroupLimit Path $p.Case $p.Id $p.Category $p.Shows { Set-CGroupLimit -Path $Value -PidsLimit 5 } $with
        Case Move-Process Path $p.Case $p.Id $p.Category $p.Shows { Move-Process -Id $Sleeper.Id -Path $Value } $with
        if ($p.Id -ne 'CGroupNotFound') {
            Case New-CGroup Path $p.Case $p.Id $p.Category $p.Shows { New-CGroup -Path $Value } $with
        }
    }
    Case New-CGroup Path 'empty' InvalidCGroupPath InvalidArgument 'empty' { New-CGroup -Path '' }
    Case New-CGroup Path 'a control file''s name' InvalidCGroupPath InvalidArgument 'cgroup.procs' { New-CGroup -Path cgroup.procs }
    Case New-CGroup Path 'one that exists' CGroupExists ResourceExists 'grp' { New-CGroup -Path grp }
    Case New-CGroup PassThru 'one that exists' CGroupExists ResourceExists 'grp' { New-CGroup -Path grp -PassThru }
    Case Get-CGroup Path 'empty' ParameterArgumentValidationError InvalidData 'Path' { Get-CGroup -Path '' }
    Case Get-CGroup Recurse 'a cgroup nobody made' CGroupNotFound ObjectNotFound 'nothere' { Get-CGroup -Path nothere -Recurse }
    Case Get-CGroup ProcessId 'negative' InvalidProcessId InvalidArgument '-1' { Get-CGroup -ProcessId -1 }
    Case Get-CGroup ProcessId 'a process that does not exist' ProcessNotFound ObjectNotFound '99999999' { Get-CGroup -ProcessId 99999999 }
    Case Get-CGroup ProcessId 'not a number' CannotConvertArgumentNoMessage InvalidArgument 'abc' { Get-CGroup -ProcessId abc }
    Case Get-CGroup Controller 'a controller this host does not have' UnknownController InvalidArgument "'nosuch'" { Get-CGroup -Controller memory, nosuch }
    Case Get-CGroup Controller 'empty' ParameterArgumentValidationError InvalidData 'Controller' { Get-CGroup -Controller '' }
    Case Set-CGroupLimit Path 'the hierarchy root' CGroupOutsideRoot PermissionDenied "'/'" { Set-CGroupLimit -Path / -PidsLimit 5 }
    Case Remove-CGroup Path 'the hierarchy root' CGroupOutsideRoot PermissionDenied "'/'" { Remove-CGroup -Path / }
    Case Remove-CGroup Path 'one with a process in it' CGroupNotEmpty ResourceBusy 'busy' { Remove-CGroup -Path busy }
    Case Remove-CGroup Path 'one with children' CGroupHasChildren ResourceBusy 'grp' { Remove-CGroup -Path grp }
    Case Remove-CGroup Recurse 'one with a process in it' CGroupNotEmpty ResourceBusy 'busy' { Remove-CGroup -Path busy -Recurse }
    Case Remove-CGroup Force 'the hierarchy root' CGroupOutsideRoot PermissionDenied "'/'" { Remove-CGroup -Path / -Force -Recurse }
    Case Remove-CGroup TimeoutSec 'negative' ParameterArgumentValidationError InvalidData '-1' { Remove-CGroup -Path busy -TimeoutSec -1 }
    Case Set-CGroupLimit InputObject 'a cgroup removed meanwhile' CGroupNotFound ObjectNotFound 'gonecg' { $GoneCGroup | Set-CGroupLimit -PidsLimit 5 }
    Case Move-Process CGroup 'a cgroup removed meanwhile' CGroupNotFound ObjectNotFound 'gonecg' { Move-Process -Id $Sleeper.Id -CGroup $GoneCGroup }
    Case Move-Process Path 'the hierarchy root' CGroupOutsideRoot PermissionDenied "'/'" { Move-Process -Id $Sleeper.Id -Path / }
    Case Move-Process Id 'negative' InvalidProcessId InvalidArgument '-5' { Move-Process -Id -5 -Path grp }
    Case Move-Process Id 'a process that does not exist' ProcessNotFound ObjectNotFound '99999999' { Move-Process -Id 99999999 -Path grp }
    Case Move-Process Id 'the machine''s init' MoveInitProcess InvalidOperation 'process 1' { Move-Process -Id 1 -Path grp }
    Case Move-Process Id 'a kernel thread' MoveKernelThread InvalidArgument 'process 2' { Move-Process -Id 2 -Path grp }
    Case Move-Process PassThru 'a process that does not exist' ProcessNotFound ObjectNotFound '99999999' { Move-Process -Id 99999999 -Path grp -PassThru }

    # Images (their store is the depot's path + '-store'; Images.Tests.ps1 checks a refused import leaves it empty).
    Case Import-ContainerImage Name 'a slash' ImageNameInvalid InvalidArgument 'a/b' { Import-ContainerImage -Path /etc/passwd -Name a/b }
    Case Import-ContainerImage Name 'a NUL' ImageNameInvalid InvalidArgument 'a\0b' { Import-ContainerImage -Path /etc/passwd -Name "a`0b" }
    Case Import-ContainerImage Name '..' ImageNameInvalid InvalidArgument "'..'" { Import-ContainerImage -Path /etc/passwd -Name '..' }
    Case Import-ContainerImage Path 'a path that does not exist' ImageSourceNotFound ObjectNotFound '/nothere' { Import-ContainerImage -Path /nothere -Name fresh }
    Case Import-ContainerImage Path 'a file that is no archive' ImageArchiveInvalid InvalidData '/etc/passwd' { Import-ContainerImage -Path /etc/passwd -Name fresh }
    Case Import-ContainerImage PassThru 'a path that does not exist' ImageSourceNotFound ObjectNotFound '/nothere' { Import-ContainerImage -Path /nothere -Name fresh -PassThru }
    Case Get-ContainerImage Name 'an image nobody made' ImageNotFound ObjectNotFound "'nothere'" { Get-ContainerImage -Name nothere }
    Case Get-ContainerImage Name 'empty' ParameterArgumentValidationError InvalidData 'Name' { Get-ContainerImage -Name '' }
    Case Remove-ContainerImage Name 'an image nobody made' ImageNotFound ObjectNotFound "'nothere'" { Remove-ContainerImage -Name nothere }
    Case New-Container Image 'an image nobody made' ImageNotFound ObjectNotFound "'nothere'" { New-Container -Name fresh -Image nothere }
    Case New-Container DiskLimit 'below 1 MiB' DiskLimitTooSmall InvalidArgument '1000' { New-Container -Name fresh -Image nothere -DiskLimit 1000 }
    Case New-Container InodeLimit '0' InvalidInodeLimit InvalidArgument '-InodeLimit 0' { New-Container -Name fresh -Image nothere -DiskLimit 4MB -InodeLimit 0 }

    # Copies ('running' has no root: it sees the host's files through its own mount namespace; nothing is written).
    Case Copy-ContainerItem Path 'a host path that does not exist' CopySourceNotFound ObjectNotFound '/nothere' { Copy-ContainerItem -Path /nothere -Destination /tmp -ToContainer running }
    Case Copy-ContainerItem Path 'a container path that does not exist' CopySourceNotFound ObjectNotFound '/nothere' { Copy-ContainerItem -Path /nothere -Destination $Depot -FromContainer running }
    Case Copy-ContainerItem Path 'a folder without -Recurse' CopyFolderNeedsRecurse InvalidArgument "'/etc'" { Copy-ContainerItem -Path /etc -Destination $Depot -FromContainer running }
    Case Copy-ContainerItem Destination 'a name ending in ..' CopyDestinationInvalid InvalidArgument "'/psc-nothere/..'" { Copy-ContainerItem -Path /etc/hostname -Destination /psc-nothere/.. -ToContainer running }
    Case Copy-ContainerItem ToContainer 'a container nobody made' ContainerNotFound ObjectNotFound 'nothere' { Copy-ContainerItem -Path /etc/hostname -Destination /tmp -ToContainer nothere }
    Case Copy-ContainerItem FromContainer 'a stopped container without a root' ContainerNotRunning InvalidOperation 'exited' { Copy-ContainerItem -Path /etc/hostname -Destination $Depot -FromContainer exited }
    Case Copy-ContainerItem Recurse 'a container nobody made' ContainerNotFound ObjectNotFound 'nothere' { Copy-ContainerItem -Path /etc -Destination /tmp -ToContainer nothere -Recurse }
    Case Copy-ContainerItem Force 'a container nobody made' ContainerNotFound ObjectNotFound 'nothere' { Copy-ContainerItem -Path /etc/hostname -Destination /tmp -ToContainer nothere -Force }
    Case Copy-ContainerItem User 'a user the container does not have' UserNotFound ObjectNotFound "'psc-nobody'" { Copy-ContainerItem -Path /etc/hostname -Destination /tmp/psc-bad-user -ToContainer running -User psc-nobody }
    Case Copy-ContainerItem PassThru 'a container nobody made' ContainerNotFound ObjectNotFound 'nothere' { Copy-ContainerItem -Path /etc/hostname -Destination /tmp -ToContainer nothere -PassThru }
    # Networks. Cases marked Lab need a bridged container ('bridged', with 8080:80 published, in the file's network lab)
    # or the lab's host: they are skipped where the lab cannot be made. The lab's links, nftables ruleset and qdiscs
    # are part of what a refused call must not change.
    $lab = @{ Lab = $true }
    Case New-Container Network 'not a mode' CannotConvertArgumentNoMessage InvalidArgument 'Bogus' { New-Container -Name fresh /bin/true -Network Bogus }
    Case New-Container Network 'Host with -Isolation Network' NetworkConflictsWithIsolation InvalidArgument 'Host' { New-Container -Name fresh /bin/true -Network Host -Isolation Pid, Network }
    Case New-Container Network 'a subnet that overlaps the host''s routes' SubnetOverlapsRoute InvalidArgument '198.51.100.0/24' { $env:PSCONTAINERS_BRIDGE = 'pscbad0'; $env:PSCONTAINERS_SUBNET = '198.51.100.0/24'; try { New-Container -Name fresh /bin/true -Network Bridge } finally { $env:PSCONTAINERS_BRIDGE = $null; $env:PSCONTAINERS_SUBNET = $null } } $lab
    Case New-Container Network 'a subnet that does not parse' InvalidSubnet InvalidArgument '10.0.0.0/40' { $env:PSCONTAINERS_SUBNET = '10.0.0.0/40'; try { New-Container -Name fresh /bin/true -Network Bridge } finally { $env:PSCONTAINERS_SUBNET = $null } } $lab
    Case New-Container PublishPort 'malformed' InvalidPortMapping InvalidArgument '80:x' { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '80:x' }
    Case New-Container PublishPort 'a port above 65535' PortOutOfRange InvalidArgument '70000' { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '70000:80' }
    Case New-Container PublishPort 'a host port given twice' DuplicateHostPort InvalidArgument '8081' { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '8081:80', '8081:81' }
    Case New-Container PublishPort 'without -Network Bridge' NetworkNotBridged InvalidOperation '-PublishPort' { New-Container -Name fresh /bin/true -PublishPort '8081:80' }
    Case New-Container PublishPort 'a host port another container published' HostPortTaken ResourceExists '8080' { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '8080:80' } $lab
    Case New-Container PublishPort 'a host port a host process listens on' HostPortInUse ResourceBusy '9090' { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '9090:80' } $lab
    Case New-Container PublishPort 'an exhausted pool' PortPoolExhausted LimitsExceeded '8080-8080' { $env:PSCONTAINERS_PORT_POOL = '8080-8080'; try { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '0:80' } finally { $env:PSCONTAINERS_PORT_POOL = $null } } $lab
    Case New-Container PublishPort 'a pool that does not parse' InvalidPortPool InvalidArgument '9-1' { $env:PSCONTAINERS_PORT_POOL = '9-1'; try { New-Container -Name fresh /bin/true -Network Bridge -PublishPort '0:80' } finally { $env:PSCONTAINERS_PORT_POOL = $null } } $lab
    Case New-Container DenyNetwork 'a prefix of 33' InvalidNetwork InvalidArgument '10.0.0.0/33' { New-Container -Name fresh /bin/true -Network Bridge -DenyNetwork 10.0.0.0/33 }
    Case New-Container BandwidthLimit '0' InvalidBandwidth InvalidArgument '-BandwidthLimit 0' { New-Container -Name fresh /bin/true -Network Bridge -BandwidthLimit 0 }
    Case New-Container BandwidthBurst 'without -BandwidthLimit' BurstWithoutLimit InvalidArgument '-BandwidthBurst 1000' { New-Container -Name fresh /bin/true -Network Bridge -BandwidthBurst 1000 }
    foreach ($cmdlet in 'Publish-ContainerPort', 'Unpublish-ContainerPort', 'Add-ContainerNetRule', 'Get-ContainerNetRule', 'Remove-ContainerNetRule', 'Set-ContainerBandwidth') {
        Case $cmdlet Name 'a container without a bridge' NetworkNotBridged InvalidOperation "'created'" { & $Runner created } @{ Runner = $byName[$cmdlet] }
    }
    Case Publish-ContainerPort ContainerPort '0' PortOutOfRange InvalidArgument 'container port 0' { Publish-ContainerPort -Name created -ContainerPort 0 }
    Case Publish-ContainerPort HostPort 'above 65535' PortOutOfRange InvalidArgument 'host port 70000' { Publish-ContainerPort -Name created -ContainerPort 80 -HostPort 70000 }
    Case Publish-ContainerPort HostPort 'one another mapping has' HostPortTaken ResourceExists '8080' { Publish-ContainerPort -Name bridged -ContainerPort 81 -HostPort 8080 } $lab
    Case Publish-ContainerPort Protocol 'not a protocol' CannotConvertArgumentNoMessage InvalidArgument 'Sctp' { Publish-ContainerPort -Name bridged -ContainerPort 80 -Protocol Sctp }
    Case Unpublish-ContainerPort HostPort 'a port it has not published' PortNotPublished ObjectNotFound '9999' { Unpublish-ContainerPort -Name bridged -HostPort 9999 } $lab
    Case Unpublish-ContainerPort Protocol 'the other protocol' PortNotPublished ObjectNotFound '8080/udp' { Unpublish-ContainerPort -Name bridged -HostPort 8080 -Protocol Udp } $lab
    Case Unpublish-ContainerPort PassThru 'a port it has not published' PortNotPublished ObjectNotFound '9999' { Unpublish-ContainerPort -Name bridged -HostPort 9999 -PassThru } $lab
    Case Add-ContainerNetRule Protocol 'not a protocol' CannotConvertArgumentNoMessage InvalidArgument 'Sctp' { Add-ContainerNetRule -Name bridged -Protocol Sctp -Network 0.0.0.0/0 }
    Case Add-ContainerNetRule Network 'none' NetworkRequired InvalidArgument '-Network' { Add-ContainerNetRule -Name bridged -Protocol All -Network @() } $lab
    Case Add-ContainerNetRule Network 'an address that does not parse' InvalidNetwork InvalidArgument '300.1.1.1' { Add-ContainerNetRule -Name bridged -Protocol All -Network 300.1.1.1 } $lab
    Case Add-ContainerNetRule Port 'a range backwards' InvalidPortRange InvalidArgument '90-80' { Add-ContainerNetRule -Name bridged -Protocol Tcp -Network 0.0.0.0/0 -Port 90-80 } $lab
    Case Add-ContainerNetRule Port 'with -Protocol Icmp' PortsNeedTcpOrUdp InvalidArgument '-Port 80' { Add-ContainerNetRule -Name bridged -Protocol Icmp -Network 0.0.0.0/0 -Port 80 } $lab
    Case Add-ContainerNetRule IcmpType 'with -Protocol Tcp' IcmpTypeNeedsIcmp InvalidArgument '-IcmpType 8' { Add-ContainerNetRule -Name bridged -Protocol Tcp -Network 0.0.0.0/0 -IcmpType 8 } $lab
    Case Add-ContainerNetRule IcmpType '256' InvalidIcmpType InvalidArgument '-IcmpType 256' { Add-ContainerNetRule -Name bridged -Protocol Icmp -Network 0.0.0.0/0 -IcmpType 256 } $lab
    Case Add-ContainerNetRule Log 'a container without a bridge' NetworkNotBridged InvalidOperation "'created'" { Add-ContainerNetRule -Name created -Protocol All -Network 0.0.0.0/0 -Log }
    Case Get-ContainerNetRule Id 'a rule it does not have' NetRuleNotFound ObjectNotFound 'rule 99' { Get-ContainerNetRule -Name bridged -Id 99 } $lab
    Case Remove-ContainerNetRule Id 'a rule it does not have' NetRuleNotFound ObjectNotFound 'rule 99' { Remove-ContainerNetRule -Name bridged -Id 99 } $lab
    Case Remove-ContainerNetRule PassThru 'a rule it does not have' NetRuleNotFound ObjectNotFound 'rule 99' { Remove-ContainerNetRule -Name bridged -Id 99 -PassThru } $lab
    Case Set-ContainerBandwidth BandwidthLimit '0' InvalidBandwidth InvalidArgument '-BandwidthLimit 0' { Set-ContainerBandwidth -Name created -BandwidthLimit 0 }
    Case Set-ContainerBandwidth BandwidthBurst 'negative' InvalidBandwidth InvalidArgument '-BandwidthBurst -1' { Set-ContainerBandwidth -Name created -BandwidthLimit 1MB -BandwidthBurst -1 }
    Case Set-ContainerBandwidth Unlimited 'a container without a bridge' NetworkNotBridged InvalidOperation "'created'" { Set-ContainerBandwidth -Name created -Unlimited }
    Case Set-ContainerBandwidth PassThru 'a container without a bridge' NetworkNotBridged InvalidOperation "'created'" { Set-ContainerBandwidth -Name created -BandwidthLimit 1MB -PassThru }
}


BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $null = New-Container -Name exited /bin/true | Start-Container -Wait
    $null = New-Container -Name running /bin/sleep -ArgumentList 300 | Start-Container
    $null = New-Container -Name created /bin/true
    $script:Gone = New-Container -Name gone /bin/true
    Remove-Container -Name gone
    $null = New-CGroup -Path grp
    $null = New-CGroup -Path grp/child
    $null = New-CGroup -Path busy
    $script:GoneCGroup = New-CGroup -Path gonecg -PassThru
    Remove-CGroup -Path gonecg
    $script:Sleeper = Start-TestProcess 'exec sleep 300'
    $script:BusyProcess = Start-TestProcess 'exec sleep 300'
    Move-Process -Id $BusyProcess.Id -Path busy
    # A network lab for the network cases: a bridged container with a published port, and a host process on 9090.
    $script:NoLab = Get-NetLabSkipReason
    $script:Lab = $null
    if (-not $NoLab) {
        $script:Lab = New-TestNetLab -Prefix psc-badinput
        $null = New-Container -Name bridged -Network Bridge -PublishPort '8080:80' /bin/sleep -ArgumentList 300 | Start-Container
        $null = Start-NetLabProcess $Lab -In host -FilePath /usr/bin/busybox -ArgumentList nc, '-l', '-p', '9090'
        Wait-NetLabListener $Lab -In host -Port 9090
    }

    function Get-MachineState {
        # What a bad call must not change: the file's cgroups (their processes and limits) in every hierarchy,
        # its depot (every file, byte for byte), and this session's child processes (launchers aside).
        $lines = [System.Collections.Generic.List[string]]::new()
        foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/mountinfo')) {
            $f = $line.Split(' ')
            $dash = [array]::IndexOf($f, '-')
            if ($f[$dash + 1] -notin 'cgroup', 'cgroup2') { continue }
            $top = "$($f[4])/$Root"
            if (-not [System.IO.Directory]::Exists($top)) { continue }
            foreach ($dir in @($top) + [System.IO.Directory]::GetDirectories($top, '*', [System.IO.SearchOption]::AllDirectories)) {
                $lines.Add("cgroup $dir")
                foreach ($file in 'cgroup.procs', 'pids.max', 'memory.limit_in_bytes', 'memory.max', 'memory.memsw.limit_in_bytes', 'memory.swap.max',
                    'cpu.cfs_quota_us', 'cpu.max', 'cpu.shares', 'cpu.weight', 'cpuset.cpus', 'freezer.state', 'cgroup.freeze') {
                    $path = [System.IO.Path]::Combine($dir, $file)
                    if ([System.IO.File]::Exists($path)) { $lines.Add("  $file=" + [System.IO.File]::ReadAllText($path).Trim().Replace("`n", ' ')) }
                }
            }
        }
        foreach ($file in [System.IO.Directory]::GetFiles($Depot, '*', [System.IO.SearchOption]::AllDirectories)) {
            if ([System.IO.Path]::GetFileName($file) -eq '.lock') { continue }
            # A bridged container's network namespace (a bind mount of nsfs: not readable as a file).
            if ([System.IO.Path]::GetFileName($file) -eq 'netns') { $lines.Add("netns $file"); continue }
            $lines.Add("depot $file " + [Convert]::ToBase64String([System.Security.Cryptography.SHA256]::HashData([System.IO.File]::ReadAllBytes($file))))
        }
        foreach ($dir in [System.IO.Directory]::GetDirectories($Depot)) { $lines.Add("entry $dir") }
        if ($script:Lab) {
            # The lab's host: its links (no half-made veth or ifb), its nftables ruleset and its qdiscs.
            $lines.Add('links ' + ((Invoke-NetLab $script:Lab -In host -FilePath ip -ArgumentList '-o', 'link', 'show') -replace '\s+', ' '))
            $lines.Add('nft ' + (Invoke-NetLab $script:Lab -In host -FilePath nft -ArgumentList 'list', 'ruleset'))
            $lines.Add('qdiscs ' + (Invoke-NetLab $script:Lab -In host -FilePath tc -ArgumentList 'qdisc', 'show'))
        }
        foreach ($proc in [System.IO.Directory]::GetDirectories('/proc', '[0-9]*')) {
            try {
                $stat = [System.IO.File]::ReadAllText("$proc/stat")
                $ppid = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[1]
                if ($ppid -ne "$PID") { continue }
                $cmdline = [System.IO.File]::ReadAllText("$proc/cmdline").Replace("`0", ' ').Trim()
                if ($cmdline -notlike '*psc-init --serve*') { $lines.Add("child $proc $cmdline") }
            } catch { }
        }
        $lines -join "`n"
    }
}

AfterAll {
    Stop-TestProcesses
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
    Remove-TestNetLab $script:Lab
}

Describe 'Bad input' {
    It '<Cmdlet> -<Parameter>, <Case>: <Id>' -ForEach $cases {
        if ($NeedsLab -and $NoLab) { Set-ItResult -Skipped -Because $NoLab; return }
        $before = Get-MachineState
        $err = $null
        $ErrorActionPreference = 'Stop'
        $ConfirmPreference = 'None'
        try { $null = & $Call } catch { $err = $_ }
        $ErrorActionPreference = 'Continue'
        $after = Get-MachineState

        $err | Should -Not -BeNullOrEmpty -Because 'bad input must be refused'
        $err.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        "$($err.CategoryInfo.Category)" | Should -Be $Category
        $err.Exception.Message | Should -BeLike "*$([System.Management.Automation.WildcardPattern]::Escape($Shows))*" -Because 'the message names the offending value'
        $after | Should -Be $before -Because 'a refused call changes nothing'
    }

    It 'has a case for every parameter of every cmdlet, or says why none can be bad' -ForEach @(@{ Covered = @($cases | ForEach-Object { "$($_.Cmdlet)/$($_.Parameter)" }) }) {
        # Parameters where no value is bad; each with the reason.
        $NoBadValue = @{
            'New-Container/ScriptBlock'   = 'any script block is a valid program for pwsh'
            'Set-ContainerProperty/Value' = 'any string is stored as given'
        }
        $common = [System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters
        $seen = @{}
        foreach ($key in $Covered) { $seen[$key] = $true }
        $missing = foreach ($cmd in Get-Command -Module PSContainers) {
            foreach ($p in $cmd.Parameters.Keys) {
                $key = "$($cmd.Name)/$p"
                if ($p -notin $common -and -not $seen[$key] -and -not $NoBadValue[$key]) { $key }
            }
        }
        @($missing) -join ', ' | Should -Be '' -Because 'every parameter needs a bad-input case'
    }
}

Describe 'Calls that look wrong but are not errors' {
    It 'Stop-Container of a Created or Exited container changes nothing (for an Exited one it would kill leftovers)' {
        $before = Get-MachineState
        Stop-Container -Name created, exited -ErrorAction Stop
        Get-MachineState | Should -Be $before
    }

    It 'a wildcard that matches no container is not an error, as with Get-Process' {
        $before = Get-MachineState
        @(Get-Container -Name 'nobody*' -ErrorAction Stop) | Should -HaveCount 0
        Stop-Container -Name 'nobody*' -ErrorAction Stop
        Remove-Container -Name 'nobody*' -ErrorAction Stop
        Get-MachineState | Should -Be $before
    }
}
