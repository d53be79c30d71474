# A small Pester 5 compatible runtime for the PSContainers test suite (see README.md).
#
# It is loaded by PSContainers.PesterRunner (C#) as an in-memory module named 'Pester' into a fresh
# runspace per test file, and only uses the core cmdlets that the bare System.Management.Automation
# package ships with (plus .NET). The runtime lives in this module's session state; test code lives
# in the global ("user") session state. As in Pester 5, user code is dot-sourced into scopes created
# in the user session state, so the runtime's own variables are never visible to test code:
#
#   & { # file (root) block: . root BeforeAll
#       & { # Describe: . BeforeAll
#           & { # Context: . BeforeAll
#               & { # one test: . BeforeEach (outer first); . It; . AfterEach (inner first) }
#           } . AfterAll
#       } . AfterAll
#   }
#
# Discovery runs the test file and the Describe/Context bodies (collecting blocks, tests and
# setups); the run phase then executes setups and tests. Code directly in a Describe body runs
# only during discovery, exactly as in Pester 5.

Set-StrictMode -Off

$script:State = $null          # per-file state, set by Invoke-PesterRunnerFile
$script:UserState = $null      # the user (global) SessionState
$script:InUserScope = $null    # { & $args[0] $args[1] } bound to the user session state

# --------------------------------------------------------------------------------------------
# Entry point used by the C# runner
# --------------------------------------------------------------------------------------------

function Invoke-PesterRunnerFile {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)] [string] $Path,
        # The session state test code runs in; by default the caller's (the global one when the
        # host invokes this command directly).
        [System.Management.Automation.SessionState] $SessionState = $PSCmdlet.SessionState,
        [Parameter(Mandatory = $true)] [System.Action[object]] $Report,
        [string[]] $Tag,
        [string[]] $ExcludeTag
    )

    $script:UserState = $SessionState
    # A script block literal evaluated in the user session state is bound to it: invoking it with &
    # creates a new scope there, inside which the runtime callback ($args[0]) runs.
    $created = $SessionState.InvokeCommand.InvokeScript($SessionState, [scriptblock]::Create('{ & $args[0] $args[1] }, { $null = & $args[0] }'), @())
    $script:InUserScope = [scriptblock] $created[0].PSObject.BaseObject
    $invokeFile = [scriptblock] $created[1].PSObject.BaseObject

    $root = New-PesterBlock -Name ([IO.Path]::GetFileName($Path)) -Parent $null -IsRoot
    $script:State = [pscustomobject]@{
        Discovery  = $true
        Running    = $false
        Current    = $root
        Root       = $root
        File       = $Path
        Report     = $Report
        TestDrive  = $null
        CurrentTest = $null
    }

    # ---- discovery ----
    try {
        # The file runs in its own script scope, a child of the global scope; what it defines at
        # the top level exists during discovery only.
        & $invokeFile $Path
        if ($root.BeforeEach.Count -gt 0 -or $root.AfterEach.Count -gt 0) {
            throw 'BeforeEach and AfterEach are not supported in the root of a test file (outside of Describe), as in Pester 5.'
        }
    }
    catch {
        Send-PesterReport -Kind 'FileError' -Name "$($root.Name) (discovery)" -Outcome 'Failed' `
            -Message ("Discovery in '$Path' failed:`n" + (Format-PesterError $_))
        return
    }
    finally {
        $script:State.Discovery = $false
    }

    # ---- filters ----
    foreach ($t in (Get-PesterTests $root)) {
        $tags = Get-PesterEffectiveTags $t
        $include = $true
        if ($Tag -and $Tag.Count -gt 0) {
            $include = Test-PesterTagMatch -Tags $tags -Patterns $Tag
        }
        if ($include -and $ExcludeTag -and $ExcludeTag.Count -gt 0) {
            $include = -not (Test-PesterTagMatch -Tags $tags -Patterns $ExcludeTag)
        }
        $t.Included = $include
    }
    Update-PesterBlockFlags $root

    if (-not $root.AnyIncluded) {
        Send-PesterReport -Kind 'NoTests' -Name $root.Name -Outcome 'None' -Message $null
        return
    }

    # ---- run ----
    $script:State.Running = $true
    New-PesterTestDrive
    try {
        & $script:InUserScope ${function:Invoke-PesterBlockRun} $root
    }
    catch {
        # Only runtime defects get here: user errors are caught where they happen.
        Send-PesterReport -Kind 'FileError' -Name "$($root.Name) (run)" -Outcome 'Failed' -Message (Format-PesterError $_)
    }
    finally {
        $script:State.Running = $false
        Remove-PesterTestDrive
    }
}

# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------

function New-PesterBlock {
    param($Name, $Parent, [scriptblock] $ScriptBlock, [string[]] $Tag, [bool] $Skip, $Data, [bool] $HasData, [switch] $IsRoot, [int] $Line)
    [pscustomobject]@{
        ItemType     = 'Block'
        Name         = $Name
        ExpandedName = $Name
        Parent       = $Parent
        ScriptBlock  = $ScriptBlock
        Tag          = @($Tag | Where-Object { $_ })
        Skip         = $Skip -or ($null -ne $Parent -and $Parent.Skip)
        Data         = $Data
        HasData      = $HasData
        IsRoot       = [bool] $IsRoot
        Line         = $Line
        Order        = [System.Collections.Generic.List[object]]::new()
        BeforeAll    = [System.Collections.Generic.List[scriptblock]]::new()
        AfterAll     = [System.Collections.Generic.List[scriptblock]]::new()
        BeforeEach   = [System.Collections.Generic.List[scriptblock]]::new()
        AfterEach    = [System.Collections.Generic.List[scriptblock]]::new()
        AnyIncluded  = $false
        AnyRunnable  = $false
        TestDriveSnapshot = $null
    }
}

function Get-PesterPath ($Item) {
    # "Describe > Context > It" (the file-level root block is not part of the name)
    $names = [System.Collections.Generic.List[string]]::new()
    $b = if ($Item.ItemType -eq 'Test') { $Item.Block } else { $Item }
    while ($null -ne $b -and -not $b.IsRoot) {
        $names.Insert(0, $b.ExpandedName)
        $b = $b.Parent
    }
    if ($Item.ItemType -eq 'Test') { $names.Add($Item.ExpandedName) }
    $names -join ' > '
}

function Get-PesterTests ($Block) {
    foreach ($i in $Block.Order) {
        if ($i.ItemType -eq 'Test') { $i } else { Get-PesterTests $i }
    }
}

function Get-PesterEffectiveTags ($Test) {
    $tags = [System.Collections.Generic.List[string]]::new()
    foreach ($x in $Test.Tag) { $tags.Add($x) }
    $b = $Test.Block
    while ($null -ne $b) {
        foreach ($x in $b.Tag) { $tags.Add($x) }
        $b = $b.Parent
    }
    , $tags.ToArray()
}

function Test-PesterTagMatch ([string[]] $Tags, [string[]] $Patterns) {
    foreach ($p in $Patterns) {
        foreach ($t in $Tags) {
            if ($t -like $p) { return $true }
        }
    }
    $false
}

function Update-PesterBlockFlags ($Block) {
    $anyIncluded = $false
    $anyRunnable = $false
    foreach ($i in $Block.Order) {
        if ($i.ItemType -eq 'Test') {
            if ($i.Included) {
                $anyIncluded = $true
                if (-not $i.Skip) { $anyRunnable = $true }
            }
        }
        else {
            Update-PesterBlockFlags $i
            if ($i.AnyIncluded) { $anyIncluded = $true }
            if ($i.AnyRunnable) { $anyRunnable = $true }
        }
    }
    $Block.AnyIncluded = $anyIncluded
    $Block.AnyRunnable = $anyRunnable
}

function Send-PesterReport ([string] $Kind, [string] $Name, [string] $Outcome, [string] $Message, [double] $Milliseconds = 0) {
    $script:State.Report.Invoke(@{
            Kind         = $Kind
            Name         = $Name
            Outcome      = $Outcome
            Message      = $Message
            Milliseconds = $Milliseconds
        })
}

function Assert-PesterDiscovery ([string] $CommandName) {
    if ($null -eq $script:State -or -not $script:State.Discovery) {
        if ($null -ne $script:State -and $script:State.Running) {
            throw "$CommandName cannot be used while tests run: it may only be used in the body of a test file, Describe or Context (Pester 5 discovers tests before running them)."
        }
        throw "$CommandName may only be used in a test file run by the Pester runner."
    }
}

# Sets the variables of a data item (a -ForEach / -TestCases entry) in the current user scope:
# every key of a dictionary becomes a variable, and $_ is the item itself.
function Set-PesterData ($Item) {
    if (-not $Item.HasData) { return }
    $data = $Item.Data
    $script:UserState.PSVariable.Set('_', $data)
    if ($data -is [System.Collections.IDictionary]) {
        foreach ($k in @($data.Keys)) {
            $script:UserState.PSVariable.Set([string] $k, $data[$k])
        }
    }
}

function Get-PesterSplat ($Item) {
    $splat = @{}
    if ($Item.HasData -and $Item.Data -is [System.Collections.IDictionary]) {
        foreach ($k in @($Item.Data.Keys)) {
            if ('_' -ne $k) { $splat[[string] $k] = $Item.Data[$k] }
        }
    }
    $splat
}

# Expands <name> templates ("<name>" -> "$($name)", "<user.Name>" -> "$($user.Name)") in the
# current user scope, where the data variables are set. A template escaped as `<name`> is kept
# literally (without the backticks).
function Expand-PesterName ([string] $Name) {
    if ($Name -notlike '*<*') { return $Name }
    $expression = [System.Text.StringBuilder]::new('"')
    $position = 0
    foreach ($m in [regex]::Matches($Name, '(?<!`)<([^<>`]+)>')) {
        $null = $expression.Append((ConvertTo-PesterStringLiteral $Name.Substring($position, $m.Index - $position)))
        $null = $expression.Append('$($' + $m.Groups[1].Value + ')')
        $position = $m.Index + $m.Length
    }
    $null = $expression.Append((ConvertTo-PesterStringLiteral $Name.Substring($position))).Append('"')
    try {
        $result = $script:UserState.InvokeCommand.InvokeScript($script:UserState, [scriptblock]::Create($expression.ToString()), @())
        ($result | ForEach-Object { "$_" }) -join ''
    }
    catch {
        $Name
    }
}

# Text that reads as itself inside a double-quoted PowerShell string.
function ConvertTo-PesterStringLiteral ([string] $Text) {
    $Text.Replace('`<', '<').Replace('`>', '>').Replace('`', '``').Replace('$', '`$').Replace('"', '`"')
}

# --------------------------------------------------------------------------------------------
# Public DSL: blocks, tests, setups
# --------------------------------------------------------------------------------------------

function Describe {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Name,
        [Alias('Tags')] [string[]] $Tag = @(),
        [Parameter(Position = 1)] [scriptblock] $Fixture,
        [switch] $Skip,
        $ForEach,
        [switch] $AllowNullOrEmptyForEach
    )
    Assert-PesterDiscovery 'Describe'
    Add-PesterBlock -Name $Name -Tag $Tag -ScriptBlock $Fixture -Skip $Skip.IsPresent -HasForEach $PSBoundParameters.ContainsKey('ForEach') `
        -ForEach $ForEach -AllowNullOrEmptyForEach $AllowNullOrEmptyForEach.IsPresent -Line $MyInvocation.ScriptLineNumber -Command 'Describe'
}

function Context {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Name,
        [Alias('Tags')] [string[]] $Tag = @(),
        [Parameter(Position = 1)] [scriptblock] $Fixture,
        [switch] $Skip,
        $ForEach,
        [switch] $AllowNullOrEmptyForEach
    )
    Assert-PesterDiscovery 'Context'
    Add-PesterBlock -Name $Name -Tag $Tag -ScriptBlock $Fixture -Skip $Skip.IsPresent -HasForEach $PSBoundParameters.ContainsKey('ForEach') `
        -ForEach $ForEach -AllowNullOrEmptyForEach $AllowNullOrEmptyForEach.IsPresent -Line $MyInvocation.ScriptLineNumber -Command 'Context'
}

function Get-PesterDataItems ($HasForEach, $ForEach, $AllowNullOrEmptyForEach, $Command, $Name) {
    if (-not $HasForEach) { return , @($null) }
    $items = @($ForEach)
    if ($null -eq $ForEach -or $items.Count -eq 0) {
        if ($AllowNullOrEmptyForEach) { return , @() }
        throw "$Command '$Name': -ForEach/-TestCases value cannot be `$null or an empty array. If this is expected, use -AllowNullOrEmptyForEach."
    }
    , $items
}

function Add-PesterBlock ($Name, $Tag, $ScriptBlock, $Skip, $HasForEach, $ForEach, $AllowNullOrEmptyForEach, $Line, $Command) {
    if ($null -eq $ScriptBlock) {
        throw "No script block is provided for $Command '$Name'. (Have you put the open curly brace on the next line?)"
    }
    $parent = $script:State.Current
    $items = Get-PesterDataItems $HasForEach $ForEach $AllowNullOrEmptyForEach $Command $Name
    foreach ($d in $items) {
        $block = New-PesterBlock -Name $Name -Parent $parent -ScriptBlock $ScriptBlock -Tag $Tag -Skip $Skip -Data $d -HasData $HasForEach -Line $Line
        $parent.Order.Add($block)
        $script:State.Current = $block
        try {
            & $script:InUserScope ${function:Invoke-PesterBlockDiscovery} $block
        }
        finally {
            $script:State.Current = $parent
        }
    }
}

# Runs in a new user scope: data variables, name expansion, then the body (discovery only).
function Invoke-PesterBlockDiscovery ($Block) {
    Set-PesterData $Block
    $Block.ExpandedName = Expand-PesterName $Block.Name
    $null = . $Block.ScriptBlock
}

function It {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $Name,
        [Parameter(Position = 1)] [scriptblock] $Test,
        [Alias('TestCases')] [object[]] $ForEach,
        [Alias('Tags')] [string[]] $Tag = @(),
        [switch] $Skip,
        [switch] $AllowNullOrEmptyForEach
    )
    Assert-PesterDiscovery 'It'
    $block = $script:State.Current
    $skipIt = $Skip.IsPresent -or $block.Skip
    if ($null -eq $Test) {
        # Pester 5: an It without a body is reported as skipped.
        $Test = {}
        $skipIt = $true
    }
    $hasForEach = $PSBoundParameters.ContainsKey('ForEach')
    $items = Get-PesterDataItems $hasForEach $ForEach $AllowNullOrEmptyForEach.IsPresent 'It' $Name
    foreach ($d in $items) {
        $t = [pscustomobject]@{
            ItemType     = 'Test'
            Name         = $Name
            ExpandedName = $Name
            ScriptBlock  = $Test
            Block        = $block
            Tag          = @($Tag | Where-Object { $_ })
            Skip         = $skipIt
            Data         = $d
            HasData      = $hasForEach
            Line         = $MyInvocation.ScriptLineNumber
            Included     = $true
        }
        if ($Name -like '*<*') {
            & $script:InUserScope ${function:Expand-PesterTestName} $t
        }
        $block.Order.Add($t)
    }
}

# Runs in a new user scope (child of the block body scope) during discovery.
function Expand-PesterTestName ($Test) {
    Set-PesterData $Test
    $Test.ExpandedName = Expand-PesterName $Test.Name
}

function Add-PesterSetup ([string] $Kind, [scriptblock] $ScriptBlock) {
    Assert-PesterDiscovery $Kind
    $list = $script:State.Current.$Kind
    if ($list.Count -gt 0) {
        # Pester 5 keeps only the last one; say so instead of silently dropping the first.
        Send-PesterReport -Kind 'Warning' -Name (Get-PesterPath $script:State.Current) -Outcome 'None' `
            -Message "$Kind is defined more than once in the same block; as in Pester 5 only the last one is used."
        $list.Clear()
    }
    $list.Add($ScriptBlock)
}

function BeforeAll {
    param([Parameter(Mandatory = $true, Position = 0)] [scriptblock] $Scriptblock)
    Add-PesterSetup 'BeforeAll' $Scriptblock
}

function AfterAll {
    param([Parameter(Mandatory = $true, Position = 0)] [scriptblock] $Scriptblock)
    Add-PesterSetup 'AfterAll' $Scriptblock
}

function BeforeEach {
    param([Parameter(Mandatory = $true, Position = 0)] [scriptblock] $Scriptblock)
    Add-PesterSetup 'BeforeEach' $Scriptblock
}

function AfterEach {
    param([Parameter(Mandatory = $true, Position = 0)] [scriptblock] $Scriptblock)
    Add-PesterSetup 'AfterEach' $Scriptblock
}

# Runs during discovery only, in the caller's scope: what it defines can feed -ForEach/-TestCases.
function BeforeDiscovery {
    param([Parameter(Mandatory = $true, Position = 0)] [scriptblock] $ScriptBlock)
    Assert-PesterDiscovery 'BeforeDiscovery'
    $null = . $ScriptBlock
}

function Set-ItResult {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true, ParameterSetName = 'Inconclusive')] [switch] $Inconclusive,
        [Parameter(Mandatory = $true, ParameterSetName = 'Pending')] [switch] $Pending,
        [Parameter(Mandatory = $true, ParameterSetName = 'Skipped')] [switch] $Skipped,
        [string] $Because
    )
    if ($null -eq $script:State -or $null -eq $script:State.CurrentTest) {
        throw 'Set-ItResult can only be used inside an It block.'
    }
    $result = $PSCmdlet.ParameterSetName
    $message = "is $($result.ToLowerInvariant())$(Format-PesterBecause $Because)".TrimEnd(',')
    $record = [System.Management.Automation.ErrorRecord]::new(
        [Exception]::new($message), "PesterTest$result", [System.Management.Automation.ErrorCategory]::InvalidResult, $null)
    throw $record
}

function InModuleScope {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true, Position = 0)] [string] $ModuleName,
        [Parameter(Mandatory = $true, Position = 1)] [scriptblock] $ScriptBlock,
        [hashtable] $Parameters = @{},
        [object[]] $ArgumentList = @()
    )
    $module = @(Get-Module -Name $ModuleName -All)
    if ($module.Count -eq 0) { throw "No modules named '$ModuleName' are currently loaded." }
    if ($module.Count -gt 1) { throw "Multiple modules named '$ModuleName' are currently loaded. Make sure to remove any extra copies of the module from your session before testing." }
    $bound = $module[0].NewBoundScriptBlock($ScriptBlock)
    & $bound @Parameters @ArgumentList
}

# --------------------------------------------------------------------------------------------
# Run phase
# --------------------------------------------------------------------------------------------

# Runs inside a new user scope created for this block.
function Invoke-PesterBlockRun ($Block) {
    if (-not $Block.IsRoot) { Set-PesterData $Block }

    if (-not $Block.AnyRunnable) {
        # Everything selected in here is skipped: report it, run no setup.
        foreach ($t in (Get-PesterTests $Block)) {
            if ($t.Included) { Send-PesterReport -Kind 'Test' -Name (Get-PesterPath $t) -Outcome 'Skipped' -Message $null }
        }
        return
    }

    if (-not $Block.IsRoot) { $Block.TestDriveSnapshot = Get-PesterTestDriveEntries }

    $setupError = $null
    try {
        foreach ($sb in $Block.BeforeAll) { $null = . $sb }
    }
    catch {
        $setupError = $_
    }

    try {
        if ($null -ne $setupError) {
            $message = "BeforeAll failed$(if (-not $Block.IsRoot) { " in '$(Get-PesterPath $Block)'" }):`n" + (Format-PesterError $setupError)
            foreach ($t in (Get-PesterTests $Block)) {
                if (-not $t.Included) { continue }
                if ($t.Skip) { Send-PesterReport -Kind 'Test' -Name (Get-PesterPath $t) -Outcome 'Skipped' -Message $null }
                else { Send-PesterReport -Kind 'Test' -Name (Get-PesterPath $t) -Outcome 'Failed' -Message $message }
            }
        }
        else {
            foreach ($item in $Block.Order) {
                if ($item.ItemType -eq 'Test') {
                    if (-not $item.Included) { continue }
                    if ($item.Skip) {
                        Send-PesterReport -Kind 'Test' -Name (Get-PesterPath $item) -Outcome 'Skipped' -Message $null
                        continue
                    }
                    & $script:InUserScope ${function:Invoke-PesterTestRun} $item
                }
                else {
                    if (-not $item.AnyIncluded) { continue }
                    & $script:InUserScope ${function:Invoke-PesterBlockRun} $item
                }
            }
        }
    }
    finally {
        foreach ($sb in $Block.AfterAll) {
            try {
                $null = . $sb
            }
            catch {
                $where = if ($Block.IsRoot) { $Block.Name } else { Get-PesterPath $Block }
                Send-PesterReport -Kind 'BlockError' -Name "$where (AfterAll)" -Outcome 'Failed' -Message ("AfterAll failed:`n" + (Format-PesterError $_))
            }
        }
        if (-not $Block.IsRoot) { Clear-PesterTestDrive $Block.TestDriveSnapshot }
    }
}

# Runs inside a new user scope created for this test: BeforeEach, It and AfterEach share it.
function Invoke-PesterTestRun ($Test) {
    Set-PesterData $Test
    $splat = Get-PesterSplat $Test

    $beforeEach = [System.Collections.Generic.List[scriptblock]]::new()
    $afterEach = [System.Collections.Generic.List[scriptblock]]::new()
    $b = $Test.Block
    while ($null -ne $b) {
        # BeforeEach: outermost block first; AfterEach: innermost block first.
        for ($i = $b.BeforeEach.Count - 1; $i -ge 0; $i--) { $beforeEach.Insert(0, $b.BeforeEach[$i]) }
        foreach ($sb in $b.AfterEach) { $afterEach.Add($sb) }
        $b = $b.Parent
    }

    $errors = [System.Collections.Generic.List[System.Management.Automation.ErrorRecord]]::new()
    $script:State.CurrentTest = $Test
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        foreach ($sb in $beforeEach) { $null = . $sb @splat }
        $null = . $Test.ScriptBlock @splat
    }
    catch {
        $errors.Add($_)
    }
    finally {
        foreach ($sb in $afterEach) {
            try {
                $null = . $sb @splat
            }
            catch {
                $errors.Add($_)
            }
        }
        $sw.Stop()
        $script:State.CurrentTest = $null
    }

    $name = Get-PesterPath $Test
    $ms = $sw.Elapsed.TotalMilliseconds
    if ($errors.Count -eq 0) {
        Send-PesterReport -Kind 'Test' -Name $name -Outcome 'Passed' -Message $null -Milliseconds $ms
    }
    elseif ($errors.Count -eq 1 -and $errors[0].FullyQualifiedErrorId -in 'PesterTestSkipped', 'PesterTestPending', 'PesterTestInconclusive') {
        Send-PesterReport -Kind 'Test' -Name $name -Outcome 'Skipped' -Message $errors[0].Exception.Message -Milliseconds $ms
    }
    else {
        $message = ($errors | ForEach-Object { Format-PesterError $_ }) -join "`n"
        Send-PesterReport -Kind 'Test' -Name $name -Outcome 'Failed' -Message $message -Milliseconds $ms
    }
}

# "<message>" then "at <where>, <file>:<line>" lines, like Pester 5 prints a failed test.
function Format-PesterError ($ErrorRecord) {
    $target = $ErrorRecord.TargetObject
    if ($ErrorRecord.FullyQualifiedErrorId -eq 'PesterAssertionFailed' -and $target -is [System.Collections.IDictionary]) {
        return "$($ErrorRecord.Exception.Message)`nat $("$($target.LineText)".Trim()), $($target.File):$($target.Line)"
    }
    $ex = $ErrorRecord.Exception
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add("$($ex.GetType().Name): $($ex.Message)")
    # Script frames that have a file (the runtime itself has none), e.g.
    # "at <ScriptBlock>, /path/x.Tests.ps1: line 5" -> "at <ScriptBlock>, /path/x.Tests.ps1:5"
    foreach ($frame in ("$($ErrorRecord.ScriptStackTrace)" -split '\r?\n')) {
        if ($frame -match '^at (?<where>.+), (?<file>(?!<No file>).+): line (?<line>\d+)$') {
            $lines.Add("at $($Matches.where), $($Matches.file):$($Matches.line)")
        }
    }
    $info = $ErrorRecord.InvocationInfo
    if ($lines.Count -eq 1 -and $null -ne $info -and $info.ScriptName) {
        $lines.Add("at $("$($info.Line)".Trim()), $($info.ScriptName):$($info.ScriptLineNumber)")
    }
    $lines -join "`n"
}

# --------------------------------------------------------------------------------------------
# TestDrive (as in Pester 5: one directory per test file, and every Describe/Context removes
# what was created inside it when it ends)
# --------------------------------------------------------------------------------------------

function New-PesterTestDrive {
    $path = [IO.Path]::Combine([IO.Path]::GetTempPath(), [Guid]::NewGuid().ToString())
    $null = [IO.Directory]::CreateDirectory($path)
    $script:State.TestDrive = $path
    $global:TestDrive = $path
    try {
        $provider = $ExecutionContext.SessionState.Provider.GetOne('FileSystem')
        $drive = [System.Management.Automation.PSDriveInfo]::new('TestDrive', $provider, $path, 'Pester test drive', $null)
        $null = $ExecutionContext.SessionState.Drive.New($drive, 'Global')
    }
    catch {
        Send-PesterReport -Kind 'Warning' -Name $script:State.Root.Name -Outcome 'None' -Message "Could not create the TestDrive: drive: $($_.Exception.Message)"
    }
}

function Remove-PesterTestDrive {
    $path = $script:State.TestDrive
    if (-not $path) { return }
    try { $ExecutionContext.SessionState.Drive.Remove('TestDrive', $true, 'Global') } catch { }
    if ([IO.Directory]::Exists($path)) {
        try { [IO.Directory]::Delete($path, $true) }
        catch { Send-PesterReport -Kind 'Warning' -Name $script:State.Root.Name -Outcome 'None' -Message "Could not remove the TestDrive '$path': $($_.Exception.Message)" }
    }
    $global:TestDrive = $null
    $script:State.TestDrive = $null
}

function Get-PesterTestDriveEntries {
    $path = $script:State.TestDrive
    if ($path -and [IO.Directory]::Exists($path)) {
        , [System.Collections.Generic.HashSet[string]]::new([string[]] [IO.Directory]::GetFileSystemEntries($path, '*', [IO.SearchOption]::AllDirectories))
    }
}

function Clear-PesterTestDrive ($Snapshot) {
    $path = $script:State.TestDrive
    if (-not $path -or -not [IO.Directory]::Exists($path)) { return }
    foreach ($entry in [IO.Directory]::GetFileSystemEntries($path, '*', [IO.SearchOption]::TopDirectoryOnly)) {
        Clear-PesterTestDriveEntry $entry $Snapshot
    }
}

function Clear-PesterTestDriveEntry ([string] $Entry, $Snapshot) {
    $known = $null -ne $Snapshot -and $Snapshot.Contains($Entry)
    $isDirectory = [IO.Directory]::Exists($Entry) -and -not ([IO.File]::GetAttributes($Entry) -band [IO.FileAttributes]::ReparsePoint)
    try {
        if (-not $known) {
            if ($isDirectory) { [IO.Directory]::Delete($Entry, $true) } else { [IO.File]::Delete($Entry) }
        }
        elseif ($isDirectory) {
            foreach ($child in [IO.Directory]::GetFileSystemEntries($Entry)) { Clear-PesterTestDriveEntry $child $Snapshot }
        }
    }
    catch { }
}

# --------------------------------------------------------------------------------------------
# Should
# --------------------------------------------------------------------------------------------

function Should {
    [CmdletBinding(DefaultParameterSetName = 'NoOperator')]
    param(
        [Parameter(ValueFromPipeline = $true)]
        [object] $ActualValue,

        [switch] $Not,

        [Parameter(ParameterSetName = 'Be')] [Alias('EQ')] [switch] $Be,
        [Parameter(ParameterSetName = 'BeExactly')] [Alias('CEQ')] [switch] $BeExactly,
        [Parameter(ParameterSetName = 'BeGreaterThan')] [Alias('GT')] [switch] $BeGreaterThan,
        [Parameter(ParameterSetName = 'BeLessThan')] [Alias('LT')] [switch] $BeLessThan,
        [Parameter(ParameterSetName = 'BeGreaterOrEqual')] [Alias('GE')] [switch] $BeGreaterOrEqual,
        [Parameter(ParameterSetName = 'BeLessOrEqual')] [Alias('LE')] [switch] $BeLessOrEqual,
        [Parameter(ParameterSetName = 'BeIn')] [switch] $BeIn,
        [Parameter(ParameterSetName = 'BeLike')] [switch] $BeLike,
        [Parameter(ParameterSetName = 'BeLikeExactly')] [switch] $BeLikeExactly,
        [Parameter(ParameterSetName = 'BeOfType')] [Alias('HaveType')] [switch] $BeOfType,
        [Parameter(ParameterSetName = 'Contain')] [switch] $Contain,
        [Parameter(ParameterSetName = 'HaveCount')] [switch] $HaveCount,
        [Parameter(ParameterSetName = 'Match')] [switch] $Match,
        [Parameter(ParameterSetName = 'MatchExactly')] [Alias('CMATCH')] [switch] $MatchExactly,
        [Parameter(ParameterSetName = 'BeNullOrEmpty')] [switch] $BeNullOrEmpty,
        [Parameter(ParameterSetName = 'BeTrue')] [switch] $BeTrue,
        [Parameter(ParameterSetName = 'BeFalse')] [switch] $BeFalse,
        [Parameter(ParameterSetName = 'Exist')] [switch] $Exist,
        [Parameter(ParameterSetName = 'Throw')] [switch] $Throw,

        [Parameter(ParameterSetName = 'Be', Position = 0)]
        [Parameter(ParameterSetName = 'BeExactly', Position = 0)]
        [Parameter(ParameterSetName = 'BeGreaterThan', Position = 0)]
        [Parameter(ParameterSetName = 'BeLessThan', Position = 0)]
        [Parameter(ParameterSetName = 'BeGreaterOrEqual', Position = 0)]
        [Parameter(ParameterSetName = 'BeLessOrEqual', Position = 0)]
        [Parameter(ParameterSetName = 'BeIn', Position = 0)]
        [Parameter(ParameterSetName = 'BeLike', Position = 0)]
        [Parameter(ParameterSetName = 'BeLikeExactly', Position = 0)]
        [Parameter(ParameterSetName = 'BeOfType', Position = 0)]
        [Parameter(ParameterSetName = 'Contain', Position = 0)]
        [Parameter(ParameterSetName = 'HaveCount', Position = 0)]
        [Parameter(ParameterSetName = 'Match', Position = 0)]
        [Parameter(ParameterSetName = 'MatchExactly', Position = 0)]
        [Alias('ExpectedType', 'RegularExpression')]
        [object] $ExpectedValue,

        [Parameter(ParameterSetName = 'Throw', Position = 0)] [string] $ExpectedMessage,
        [Parameter(ParameterSetName = 'Throw', Position = 1)] [string] $ErrorId,
        [Parameter(ParameterSetName = 'Throw', Position = 2)] [type] $ExceptionType,
        [Parameter(ParameterSetName = 'Throw')] [switch] $PassThru,
        [Parameter(ParameterSetName = 'Exist')] [switch] $LiteralPath,

        [Parameter(ParameterSetName = 'Be', Position = 1)]
        [Parameter(ParameterSetName = 'BeExactly', Position = 1)]
        [Parameter(ParameterSetName = 'BeGreaterThan', Position = 1)]
        [Parameter(ParameterSetName = 'BeLessThan', Position = 1)]
        [Parameter(ParameterSetName = 'BeGreaterOrEqual', Position = 1)]
        [Parameter(ParameterSetName = 'BeLessOrEqual', Position = 1)]
        [Parameter(ParameterSetName = 'BeIn', Position = 1)]
        [Parameter(ParameterSetName = 'BeLike', Position = 1)]
        [Parameter(ParameterSetName = 'BeLikeExactly', Position = 1)]
        [Parameter(ParameterSetName = 'BeOfType', Position = 1)]
        [Parameter(ParameterSetName = 'Contain', Position = 1)]
        [Parameter(ParameterSetName = 'HaveCount', Position = 1)]
        [Parameter(ParameterSetName = 'Match', Position = 1)]
        [Parameter(ParameterSetName = 'MatchExactly', Position = 1)]
        [Parameter(ParameterSetName = 'BeNullOrEmpty', Position = 0)]
        [Parameter(ParameterSetName = 'BeTrue', Position = 0)]
        [Parameter(ParameterSetName = 'BeFalse', Position = 0)]
        [Parameter(ParameterSetName = 'Exist', Position = 0)]
        [Parameter(ParameterSetName = 'Throw', Position = 3)]
        [string] $Because
    )

    begin {
        $inputValues = [System.Collections.Generic.List[object]]::new()
    }

    process {
        $inputValues.Add($ActualValue)
    }

    end {
        $operator = $PSCmdlet.ParameterSetName
        if ('NoOperator' -eq $operator) {
            throw 'Should requires an operator, for example: $actual | Should -Be $expected'
        }
        $negate = $Not.IsPresent
        $arrayInput = $operator -in 'Be', 'BeExactly', 'BeNullOrEmpty', 'HaveCount', 'Contain'

        $values = if ($inputValues.Count -eq 0) { , @($null) }
        elseif ($arrayInput) { , @(, $inputValues.ToArray()) }
        else { , $inputValues.ToArray() }

        foreach ($value in $values) {
            $result = switch ($operator) {
                'Be' { Test-ShouldBe $value $ExpectedValue $negate $Because $false }
                'BeExactly' { Test-ShouldBe $value $ExpectedValue $negate $Because $true }
                'BeGreaterThan' { Test-ShouldCompare $value $ExpectedValue $(if ($negate) { 'le' } else { 'gt' }) $Because }
                'BeLessOrEqual' { Test-ShouldCompare $value $ExpectedValue $(if ($negate) { 'gt' } else { 'le' }) $Because }
                'BeLessThan' { Test-ShouldCompare $value $ExpectedValue $(if ($negate) { 'ge' } else { 'lt' }) $Because }
                'BeGreaterOrEqual' { Test-ShouldCompare $value $ExpectedValue $(if ($negate) { 'lt' } else { 'ge' }) $Because }
                'BeIn' { Test-ShouldBeIn $value $ExpectedValue $negate $Because }
                'BeLike' { Test-ShouldBeLike $value $ExpectedValue $negate $Because $false }
                'BeLikeExactly' { Test-ShouldBeLike $value $ExpectedValue $negate $Because $true }
                'BeOfType' { Test-ShouldBeOfType $value $ExpectedValue $negate $Because }
                'Contain' { Test-ShouldContain $value $ExpectedValue $negate $Because }
                'HaveCount' { Test-ShouldHaveCount $value $ExpectedValue $negate $Because }
                'Match' { Test-ShouldMatch $value $ExpectedValue $negate $Because $false }
                'MatchExactly' { Test-ShouldMatch $value $ExpectedValue $negate $Because $true }
                'BeNullOrEmpty' { Test-ShouldBeNullOrEmpty $value $negate $Because }
                'BeTrue' { Test-ShouldBeTrue $value $(-not $negate) $Because }
                'BeFalse' { Test-ShouldBeTrue $value $negate $Because }
                'Exist' { Test-ShouldExist $value $negate $Because $LiteralPath.IsPresent }
                'Throw' { Test-ShouldThrow $value $ExpectedMessage $ErrorId $ExceptionType $negate $Because }
            }

            if (-not $result.Succeeded) {
                $target = @{
                    Message  = $result.FailureMessage
                    File     = $MyInvocation.ScriptName
                    Line     = $MyInvocation.ScriptLineNumber
                    LineText = "$($MyInvocation.Line)".TrimEnd("`r", "`n")
                }
                $record = [System.Management.Automation.ErrorRecord]::new(
                    [Exception]::new($result.FailureMessage), 'PesterAssertionFailed',
                    [System.Management.Automation.ErrorCategory]::InvalidResult, $target)
                throw $record
            }
            if ($PassThru -and 'Throw' -eq $operator) { $result.Data }
        }
    }
}

function New-ShouldResult ([bool] $Succeeded, [string] $FailureMessage, $Data) {
    [pscustomobject]@{ Succeeded = $Succeeded; FailureMessage = $FailureMessage; Data = $Data }
}

# " because <reason>," or nothing; a leading "because" in the reason is not repeated.
function Format-PesterBecause ([string] $Because) {
    if ([string]::IsNullOrWhiteSpace($Because)) { return '' }
    ' because ' + ($Because.Trim() -replace '^because\s+', '') + ','
}

function Format-PesterValue ($Value, [int] $Depth = 0) {
    if ($null -eq $Value) { return '$null' }
    if ($Value -is [bool]) { return '$' + "$Value".ToLowerInvariant() }
    if ($Value -is [string]) { if ('' -eq $Value) { return '<empty>' } return "'$Value'" }
    if ($Value -is [datetime]) { return $Value.ToString('o') }
    if ($Value -is [type]) { return '[' + [string] $Value + ']' }
    if ($Value -is [scriptblock]) { return '{' + $Value + '}' }
    if ($Value -is [ValueType]) { return [string] $Value }
    if ($Value -is [System.Collections.IDictionary]) { return [string] $Value }
    if ($Value -is [System.Collections.IEnumerable] -and $Depth -lt 3) {
        $items = @($Value)
        if ($items.Count -eq 1 -and $Depth -eq 0 -and $Value -is [array]) { return Format-PesterValue $items[0] ($Depth + 1) }
        $limit = 10
        $shown = for ($i = 0; $i -lt [Math]::Min($items.Count, $limit); $i++) { Format-PesterValue $items[$i] ($Depth + 1) }
        $more = if ($items.Count -gt $limit) { ", ...$($items.Count - $limit) more" } else { '' }
        return '@(' + (@($shown) -join ', ') + $more + ')'
    }
    [string] $Value
}

function Test-PesterIsNullOrEmptyCollection ($Value) {
    $items = @($Value)
    $items.Count -eq 0 -or ($items.Count -eq 1 -and $null -eq $items[0])
}

# Element-wise equality like Pester's -Be: PowerShell's -eq (or -ceq) with the expected value on
# the left, recursing into nested arrays; $null, @() and @($null) are all equal to each other.
function Test-PesterEqual ($Actual, $Expected, [bool] $CaseSensitive, [int] $Depth = 0) {
    if ($Depth -gt 100) { throw 'Reached the recursion depth limit of 100 when comparing arrays. Is one of the arrays cyclic?' }
    $a = [object[]] @($Actual)
    $e = [object[]] @($Expected)
    $aEmpty = Test-PesterIsNullOrEmptyCollection $a
    $eEmpty = Test-PesterIsNullOrEmptyCollection $e
    if ($aEmpty -or $eEmpty) { return $aEmpty -and $eEmpty }
    if ($a.Count -ne $e.Count) { return $false }
    for ($i = 0; $i -lt $a.Count; $i++) {
        $x = $a[$i]; $y = $e[$i]
        if ($x -is [array] -or $y -is [array]) {
            if (-not (Test-PesterEqual $x $y $CaseSensitive ($Depth + 1))) { return $false }
        }
        elseif ($CaseSensitive) {
            if (-not ($y -ceq $x)) { return $false }
        }
        else {
            if (-not ($y -eq $x)) { return $false }
        }
    }
    $true
}

function Get-PesterStringDifference ([string] $Expected, [string] $Actual, [bool] $CaseSensitive, [string] $Because) {
    $max = [Math]::Max($Expected.Length, $Actual.Length)
    $index = -1
    for ($i = 0; $i -lt $max; $i++) {
        $ce = if ($i -lt $Expected.Length) { [string] $Expected[$i] } else { $null }
        $ca = if ($i -lt $Actual.Length) { [string] $Actual[$i] } else { $null }
        $different = if ($CaseSensitive) { $ce -cne $ca } else { $ce -ne $ca }
        if ($different) { $index = $i; break }
    }
    if ($index -lt 0) { return $null }
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add("Expected strings to be the same,$(Format-PesterBecause $Because) but they were different.")
    if ($Expected.Length -ne $Actual.Length) {
        $lines.Add("Expected length: $($Expected.Length)")
        $lines.Add("Actual length:   $($Actual.Length)")
    }
    else {
        $lines.Add("String lengths are both $($Expected.Length).")
    }
    $lines.Add("Strings differ at index $index.")
    $e = Get-PesterExcerpt (ConvertTo-PesterVisibleString $Expected) $index
    $a = Get-PesterExcerpt (ConvertTo-PesterVisibleString $Actual) $index
    $lines.Add("Expected: '$($e.Text)'")
    $lines.Add("But was:  '$($a.Text)'")
    $lines.Add((' ' * 11) + ('-' * $a.Index) + '^')
    $lines -join "`n"
}

# Control characters become their Unicode "control picture" (e.g. a newline shows as U+240A).
function ConvertTo-PesterVisibleString ([string] $Text) {
    $sb = [System.Text.StringBuilder]::new($Text.Length)
    foreach ($c in $Text.ToCharArray()) {
        if ([int] $c -lt 32) { $null = $sb.Append([char] (0x2400 + [int] $c)) }
        elseif ([int] $c -eq 127) { $null = $sb.Append([char] 0x2421) }
        else { $null = $sb.Append($c) }
    }
    $sb.ToString()
}

# Cuts long strings around the first difference so the marker line stays readable.
function Get-PesterExcerpt ([string] $Text, [int] $Index) {
    $width = 100
    $context = 15
    if ($Text.Length -le $width) { return @{ Text = $Text; Index = $Index } }
    $start = [Math]::Max(0, $Index - ($width - $context - 3))
    $excerpt = $Text.Substring($start)
    $shift = $start
    if ($start -gt 0) { $excerpt = '...' + $excerpt.Substring([Math]::Min(3, $excerpt.Length)) }
    if ($excerpt.Length -gt $width) { $excerpt = $excerpt.Substring(0, $width - 3) + '...' }
    @{ Text = $excerpt; Index = $Index - $shift }
}

function Get-PesterSingle ($Value) {
    # unrolls a one-element array so "-is [string]" checks see the element
    if ($Value -is [array] -and $Value.Count -eq 1) { return , $Value[0] }
    , $Value
}

function Test-ShouldBe ($Actual, $Expected, [bool] $Negate, [string] $Because, [bool] $CaseSensitive) {
    $ok = Test-PesterEqual $Actual $Expected $CaseSensitive
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    $exactly = if ($CaseSensitive) { 'exactly ' } else { '' }
    if ($Negate) {
        $same = if ($CaseSensitive) { 'exactly the same value' } else { 'the same value' }
        return New-ShouldResult $false "Expected $(Format-PesterValue $Expected) to be different from the actual value,$(Format-PesterBecause $Because) but got $same."
    }
    $a = Get-PesterSingle $Actual
    $e = Get-PesterSingle $Expected
    if ($a -is [string] -and $e -is [string]) {
        $diff = Get-PesterStringDifference $e $a $CaseSensitive $Because
        if ($diff) { return New-ShouldResult $false $diff }
    }
    New-ShouldResult $false "Expected $exactly$(Format-PesterValue $e),$(Format-PesterBecause $Because) but got $(Format-PesterValue $a)."
}

function Test-ShouldCompare ($Actual, $Expected, [string] $Op, [string] $Because) {
    $ok = switch ($Op) {
        'gt' { $Actual -gt $Expected }
        'lt' { $Actual -lt $Expected }
        'ge' { $Actual -ge $Expected }
        'le' { $Actual -le $Expected }
    }
    if ($ok) { return New-ShouldResult $true }
    $what = switch ($Op) {
        'gt' { 'greater than' }
        'lt' { 'less than' }
        'ge' { 'greater than or equal to' }
        'le' { 'less than or equal to' }
    }
    New-ShouldResult $false "Expected the actual value to be $what $(Format-PesterValue $Expected),$(Format-PesterBecause $Because) but got $(Format-PesterValue $Actual)."
}

function Test-ShouldBeIn ($Actual, $Expected, [bool] $Negate, [string] $Because) {
    $ok = $Expected -contains $Actual
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    if ($Negate) {
        return New-ShouldResult $false "Expected collection $(Format-PesterValue $Expected) to not contain $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it was found."
    }
    New-ShouldResult $false "Expected collection $(Format-PesterValue $Expected) to contain $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it was not found."
}

function Test-ShouldBeLike ($Actual, $Expected, [bool] $Negate, [string] $Because, [bool] $CaseSensitive) {
    $ok = if ($CaseSensitive) { $Actual -clike $Expected } else { $Actual -like $Expected }
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    $kind = if ($CaseSensitive) { 'case sensitive like wildcard' } else { 'like wildcard' }
    if ($Negate) {
        return New-ShouldResult $false "Expected $kind $(Format-PesterValue $Expected) to not match $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it did match."
    }
    New-ShouldResult $false "Expected $kind $(Format-PesterValue $Expected) to match $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it did not match."
}

function Test-ShouldBeOfType ($Actual, $Expected, [bool] $Negate, [string] $Because) {
    if ($Expected -is [string]) {
        $parsed = ($Expected -replace '^\[(.*)\]$', '$1') -as [type]
        if ($null -eq $parsed) {
            throw [ArgumentException] "Could not find type [$Expected]. Make sure that the assembly that contains that type is loaded."
        }
        $Expected = $parsed
    }
    $ok = $Actual -is $Expected
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    $actualType = if ($null -ne $Actual) { $Actual.GetType() } else { $null }
    $not = if ($Negate) { 'not ' } else { '' }
    New-ShouldResult $false "Expected the value to $($not)have type $(Format-PesterValue $Expected) or any of its subtypes,$(Format-PesterBecause $Because) but got $(Format-PesterValue $Actual) with type $(Format-PesterValue $actualType)."
}

function Test-ShouldContain ($Actual, $Expected, [bool] $Negate, [string] $Because) {
    $ok = $Actual -contains $Expected
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    if ($Negate) {
        return New-ShouldResult $false "Expected $(Format-PesterValue $Expected) to not be found in collection $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it was found."
    }
    New-ShouldResult $false "Expected $(Format-PesterValue $Expected) to be found in collection $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it was not found."
}

function Test-ShouldHaveCount ($Actual, $Expected, [bool] $Negate, [string] $Because) {
    $expectedCount = [int] $Expected
    if ($expectedCount -lt 0) { throw [ArgumentException] 'Expected collection size must be greater than or equal to 0.' }
    $count = if ($null -eq $Actual) { 0 } else { @($Actual).Count }
    $ok = $count -eq $expectedCount
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    $b = Format-PesterBecause $Because
    if ($Negate) {
        $expect = if ($expectedCount -eq 0) { 'Expected a non-empty collection' } else { "Expected a collection with size different from $expectedCount" }
        $but = if ($count -ne 0) { "but got collection with that size $(Format-PesterValue $Actual 1)." } else { 'but got an empty collection.' }
    }
    else {
        $expect = if ($expectedCount -eq 0) { 'Expected an empty collection' } else { "Expected a collection with size $expectedCount" }
        $but = if ($count -ne 0) { "but got collection with size $count $(Format-PesterValue $Actual 1)." } else { 'but got an empty collection.' }
    }
    New-ShouldResult $false "$expect,$b $but"
}

function Test-ShouldMatch ($Actual, $Expected, [bool] $Negate, [string] $Because, [bool] $CaseSensitive) {
    $ok = if ($CaseSensitive) { $Actual -cmatch $Expected } else { $Actual -match $Expected }
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    $how = if ($CaseSensitive) { 'case sensitively ' } else { '' }
    if ($Negate) {
        return New-ShouldResult $false "Expected regular expression $(Format-PesterValue $Expected) to not $($how)match $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it did match."
    }
    New-ShouldResult $false "Expected regular expression $(Format-PesterValue $Expected) to $($how)match $(Format-PesterValue $Actual),$(Format-PesterBecause $Because) but it did not match."
}

function Test-ShouldBeNullOrEmpty ($Actual, [bool] $Negate, [string] $Because) {
    $items = @($Actual)
    $ok = if ($null -eq $Actual -or $items.Count -eq 0) { $true }
    elseif ($items.Count -eq 1) {
        $single = $items[0]
        if ($single -is [hashtable]) { $single.Count -eq 0 }
        elseif ($null -eq $single) { $true }
        else { [string]::IsNullOrEmpty($single) }
    }
    else { $false }
    if ($Negate) { $ok = -not $ok }
    if ($ok) { return New-ShouldResult $true }
    if ($Negate) {
        return New-ShouldResult $false "Expected a value,$(Format-PesterBecause $Because) but got `$null or empty."
    }
    New-ShouldResult $false "Expected `$null or empty,$(Format-PesterBecause $Because) but got $(Format-PesterValue $Actual)."
}

# -BeTrue is Test-ShouldBeTrue $v $true; -BeFalse (and -Not -BeTrue) is Test-ShouldBeTrue $v $false.
function Test-ShouldBeTrue ($Actual, [bool] $WantTrue, [string] $Because) {
    $truthy = [bool] $Actual
    if ($truthy -eq $WantTrue) { return New-ShouldResult $true }
    $expected = if ($WantTrue) { '$true' } else { '$false' }
    New-ShouldResult $false "Expected $expected,$(Format-PesterBecause $Because) but got $(Format-PesterValue $Actual)."
}

function Test-ShouldExist ($Actual, [bool] $Negate, [string] $Because, [bool] $LiteralPath) {
    $exists = $false
    if ($null -ne $Actual -and '' -ne "$Actual") {
        # What Test-Path does: ask the provider (file system, TestDrive:, Env:, Function:, ...).
        try { $exists = $script:UserState.InvokeProvider.Item.Exists([string] $Actual, $false, $LiteralPath) }
        catch { $exists = $false }
    }
    $ok = if ($Negate) { -not $exists } else { $exists }
    if ($ok) { return New-ShouldResult $true }
    if ($Negate) {
        return New-ShouldResult $false "Expected path $(Format-PesterValue $Actual) to not exist,$(Format-PesterBecause $Because) but it did exist."
    }
    New-ShouldResult $false "Expected path $(Format-PesterValue $Actual) to exist,$(Format-PesterBecause $Because) but it did not exist."
}

function Join-PesterAnd ([string[]] $Items) {
    if ($Items.Count -lt 2) { return $Items -join ', ' }
    ($Items[0..($Items.Count - 2)] -join ', ') + ' and ' + $Items[-1]
}

function Test-ShouldThrow ($Actual, [string] $ExpectedMessage, [string] $ErrorId, [type] $ExceptionType, [bool] $Negate, [string] $Because) {
    if ($Actual -isnot [scriptblock]) {
        throw [ArgumentException] "Input is missing or not a ScriptBlock. Input to '-Throw' and '-Not -Throw' must be enclosed in curly braces."
    }
    $thrown = $false
    $record = $null
    try {
        $null = & $Actual
    }
    catch {
        $thrown = $true
        $record = $_
    }
    $where = ''
    if ($thrown -and $null -ne $record.InvocationInfo -and $record.InvocationInfo.ScriptName) {
        $where = "from $($record.InvocationInfo.ScriptName):$($record.InvocationInfo.ScriptLineNumber) char:$($record.InvocationInfo.OffsetInLine)"
    }

    if ($Negate) {
        if (-not $thrown) { return New-ShouldResult $true }
        return New-ShouldResult $false ("Expected no exception to be thrown,$(Format-PesterBecause $Because) but an exception `"$($record.Exception.Message)`" was thrown $where.").Replace(' .', '.')
    }

    $filters = [System.Collections.Generic.List[string]]::new()
    $buts = [System.Collections.Generic.List[string]]::new()
    if ($null -ne $ExceptionType) {
        $filters.Add("type $(Format-PesterValue $ExceptionType)")
        if ($thrown -and $record.Exception -isnot $ExceptionType) {
            $buts.Add("the exception type was $(Format-PesterValue $record.Exception.GetType())")
        }
    }
    if (-not [string]::IsNullOrWhiteSpace($ExpectedMessage)) {
        $filters.Add("message like $(Format-PesterValue ([System.Management.Automation.WildcardPattern]::Unescape($ExpectedMessage)))")
        if ($thrown -and -not ("$($record.Exception.Message)" -like $ExpectedMessage)) {
            $buts.Add("the message was $(Format-PesterValue $record.Exception.Message)")
        }
    }
    if (-not [string]::IsNullOrWhiteSpace($ErrorId)) {
        $filters.Add("FullyQualifiedErrorId $(Format-PesterValue $ErrorId)")
        if ($thrown -and -not ("$($record.FullyQualifiedErrorId)" -like $ErrorId)) {
            $buts.Add("the FullyQualifiedErrorId was $(Format-PesterValue $record.FullyQualifiedErrorId)")
        }
    }
    if (-not $thrown) { $buts.Add('no exception was thrown') }

    if ($buts.Count -gt 0) {
        $with = if ($filters.Count -gt 0) { " with $(Join-PesterAnd $filters)" } else { '' }
        return New-ShouldResult $false ("Expected an exception$with to be thrown,$(Format-PesterBecause $Because) but $(Join-PesterAnd $buts). $where".Trim())
    }
    New-ShouldResult $true $null $record
}

Export-ModuleMember -Function Describe, Context, It, BeforeAll, AfterAll, BeforeEach, AfterEach, BeforeDiscovery, Should, Set-ItResult, InModuleScope, Invoke-PesterRunnerFile
