@{
    RootModule           = 'PSContainers.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b8f39-2d7e-4c39-9a43-3a5e7c1f5b21'
    Author               = 'PSContainers contributors'
    CompanyName          = 'PSContainers'
    Copyright            = '(c) PSContainers contributors. MIT License.'
    Description          = 'Linux containers and cgroups as PowerShell pipeline objects: isolated, limited, measured and stoppable process trees.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PSContainers.Format.ps1xml')
    TypesToProcess       = @('PSContainers.Types.ps1xml')
    CmdletsToExport      = @(
        'Get-CGroup'
        'New-CGroup'
        'Remove-CGroup'
        'Set-CGroupLimit'
        'Move-Process'
        'New-Container'
        'Start-Container'
        'Stop-Container'
        'Wait-Container'
        'Get-Container'
        'Remove-Container'
        'Get-ContainerLog'
        'Invoke-ContainerCommand'
        'Get-ContainerStats'
        'Suspend-Container'
        'Resume-Container'
        'Set-ContainerProperty'
        'Remove-ContainerProperty'
        'Get-ContainerEvent'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Linux', 'cgroups', 'containers', 'namespaces')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
