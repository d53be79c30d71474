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
        'Start-ContainerProcess'
        'Get-ContainerProcess'
        'Wait-ContainerProcess'
        'Stop-ContainerProcess'
        'Enter-Container'
        'Copy-ContainerItem'
        'Import-ContainerImage'
        'Get-ContainerImage'
        'Remove-ContainerImage'
        'Publish-ContainerPort'
        'Unpublish-ContainerPort'
        'Add-ContainerNetRule'
        'Get-ContainerNetRule'
        'Remove-ContainerNetRule'
        'Set-ContainerBandwidth'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Linux', 'cgroups', 'containers', 'namespaces')
            # ProjectUri and LicenseUri (<ProjectUri>/blob/main/LICENSE) are written into the package by
            # `build.ps1 -Task Package -ProjectUri <public repository URL>` (or $env:PSCONTAINERS_PROJECT_URI, or the
            # git remote 'origin' when it is an https URL): the repository has no public address here yet.
            ReleaseNotes = @'
0.1.0: containers (PID, mount, UTS, IPC, network and user namespaces) under a static init, limited by cgroups on v1,
hybrid and v2 hosts; stats, events, logs, exec, suspend/resume; the cgroup toolkit (New/Get/Set/Remove-CGroup,
Move-Process); help, views, completion and a package for linux-x64 and linux-arm64.
'@
        }
    }
}
