# The scripts in examples/ find the module the way their header says: the build of this checkout when there is one,
# else an installed PSContainers (Install-PSResource). Import-Module and Test-Path are mocked (the seam: no build
# folder, no install); everything else runs for real: a process tree in a limited cgroup, measured and removed.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Example = [System.IO.Path]::Combine($RepoRoot, 'examples', 'limited-job.ps1')
}

AfterAll {
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
}

Describe 'examples/limited-job.ps1' {
    It 'imports the build of this checkout when there is one' {
        Mock Import-Module { }
        $out = & $Example -Name built 6>&1 | Out-String
        Should -Invoke Import-Module -Times 1 -Exactly -ParameterFilter { "$Name" -like '*out*PSContainers' }
        Should -Invoke Import-Module -Times 0 -Exactly -ParameterFilter { "$Name" -eq 'PSContainers' }
        $out | Should -Match 'Stopped and removed /[^ ]+/built\.'
        Test-CGroupDirectory "/$Root/built" | Should -BeFalse
    }

    It 'imports an installed PSContainers by name when this checkout has no build' {
        Mock Test-Path { $false } -ParameterFilter { $LiteralPath -like '*out*PSContainers' }
        Mock Import-Module { }
        $out = & $Example -Name installed 6>&1 | Out-String
        Should -Invoke Test-Path -Times 1 -Exactly
        Should -Invoke Import-Module -Times 1 -Exactly -ParameterFilter { "$Name" -eq 'PSContainers' }
        $out | Should -Match '\d+ processes; CPU capped at 0\.5 CPUs; pids \d+/20'
        Test-CGroupDirectory "/$Root/installed" | Should -BeFalse
    }
}
