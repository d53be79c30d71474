# Import-ContainerImage, Get-ContainerImage and Remove-ContainerImage end to end in real pwsh: a busybox root as a
# folder and as tar archives, wildcards, -WhatIf, the errors with their ids and categories, and an image in use.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Depot = New-TestDepot
    $script:Work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-images-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:Tree = "$Work/root"
    $null = New-Item -ItemType Directory -Path "$Tree/bin", "$Tree/etc"
    Copy-Item /usr/bin/busybox "$Tree/bin/busybox"
    foreach ($tool in 'sh', 'ls', 'cat') { $null = New-Item -ItemType SymbolicLink -Path "$Tree/bin/$tool" -Target busybox }
    Set-Content -Path "$Tree/etc/passwd" -Value 'root:x:0:0:root:/root:/bin/sh'
    & tar -C $Tree -czf "$Work/busybox.tar.gz" .
    & tar -C $Tree --zstd -cf "$Work/busybox.tar.zst" .
    function Get-Staging { @(if ([System.IO.Directory]::Exists("$env:PSCONTAINERS_STORE/staging")) { [System.IO.Directory]::GetFileSystemEntries("$env:PSCONTAINERS_STORE/staging") }) }
}

AfterAll {
    Remove-TestDepot $script:Depot
    if ($script:Work) { & rm -rf $script:Work }
}

Describe 'Import-ContainerImage' {
    It 'imports a folder and archives, and -PassThru returns the image' {
        $image = Import-ContainerImage -Path $Tree -Name bb-folder -PassThru
        $image.Name | Should -Be 'bb-folder'
        $image.Layers | Should -Be 1
        $image.Source | Should -Be $Tree
        $image.Size | Should -BeGreaterThan (Get-Item /usr/bin/busybox).Length
        Import-ContainerImage -Path "$Work/busybox.tar.gz" -Name bb-gz | Should -BeNullOrEmpty
        Import-ContainerImage "$Work/busybox.tar.zst" bb-zst
        (Get-ContainerImage bb-zst).Source | Should -Be "$Work/busybox.tar.zst"
        (Get-Item "$env:PSCONTAINERS_STORE/images/bb-gz/rootfs/bin/sh").LinkTarget | Should -Be 'busybox'
        Get-Staging | Should -BeNullOrEmpty
    }

    It 'refuses a name in use, a bad name, a missing path and a damaged archive, leaving nothing' -ForEach @(
        @{ Path = '$Tree'; Name = 'bb-folder'; Id = 'ImageExists'; Category = 'ResourceExists' }
        @{ Path = '$Tree'; Name = 'a/b'; Id = 'ImageNameInvalid'; Category = 'InvalidArgument' }
        @{ Path = '$Work/none.tar'; Name = 'fresh'; Id = 'ImageSourceNotFound'; Category = 'ObjectNotFound' }
        @{ Path = '/etc/passwd'; Name = 'fresh'; Id = 'ImageArchiveInvalid'; Category = 'InvalidData' }
    ) {
        $before = @(Get-ContainerImage).Name -join ','
        $source = $ExecutionContext.InvokeCommand.ExpandString($Path)
        Import-ContainerImage -Path $source -Name $Name -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -Be "$Id,PSContainers.Commands.ImportContainerImageCommand"
        "$($failed[0].CategoryInfo.Category)" | Should -Be $Category
        (@(Get-ContainerImage).Name -join ',') | Should -Be $before
        Get-Staging | Should -BeNullOrEmpty
    }

    It 'asks before importing with -WhatIf and imports nothing' {
        Import-ContainerImage -Path $Tree -Name bb-whatif -WhatIf
        Get-ContainerImage bb-whatif -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }
}

Describe 'Import-ContainerImage stopped with Ctrl+C' {
    It 'leaves no image and no staging folder' {
        # 40 files of 10 MiB of zeros, zstd-compressed: small to make, about a second to import.
        $null = New-Item -ItemType Directory -Path "$Work/zeros"
        foreach ($i in 1..40) { & truncate -s 10M "$Work/zeros/f$i" }
        & tar -C "$Work/zeros" --zstd -cf "$Work/zeros.tar.zst" .
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$ModuleManifest'; Import-ContainerImage -Path '$Work/zeros.tar.zst' -Name stopped")
        $async = $ps.BeginInvoke()
        # Stopped once the import has begun writing (what Ctrl+C does: StopProcessing).
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ([DateTime]::UtcNow -lt $deadline -and -not @(Get-Staging | Where-Object { [System.IO.Directory]::Exists("$_/rootfs/f1") -or [System.IO.File]::Exists("$_/rootfs/f1") })) { Start-Sleep -Milliseconds 10 }
        $ps.Stop()
        $ps.Dispose()
        Get-ContainerImage -Name stopped -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Staging | Should -BeNullOrEmpty
    }
}

Describe 'Get-ContainerImage' {
    It 'lists every image, by wildcard, and by name from the pipeline' {
        (Get-ContainerImage).Name | Should -Be 'bb-folder', 'bb-gz', 'bb-zst'
        (Get-ContainerImage -Name 'bb-*z*').Name | Should -Be 'bb-gz', 'bb-zst'
        Get-ContainerImage -Name 'nothing*' | Should -BeNullOrEmpty
        ('bb-gz' | Get-ContainerImage).Layers | Should -Be 1
    }

    It 'shows Name, Size(MB), Created, Layers and Source' {
        $text = Get-ContainerImage bb-gz | Out-String -Width 200
        $text | Should -Match 'Name\s+Size\(MB\)\s+Created\s+Layers\s+Source'
        $text | Should -Match 'bb-gz\s+\d+\.\d\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+1 '
    }

    It 'reports a missing literal name as ImageNotFound and goes on' {
        $found = Get-ContainerImage -Name nothere, bb-gz -ErrorVariable failed -ErrorAction SilentlyContinue
        $found.Name | Should -Be 'bb-gz'
        $failed[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,PSContainers.Commands.GetContainerImageCommand'
        "$($failed[0].CategoryInfo.Category)" | Should -Be 'ObjectNotFound'
    }

    It 'sweeps the staging folder a killed import left' {
        $null = New-Item -ItemType Directory -Path "$env:PSCONTAINERS_STORE/staging/import-killed00001/rootfs" -Force
        $null = Get-ContainerImage
        Get-Staging | Should -BeNullOrEmpty
    }

    It 'completes image names' {
        $r = TabExpansion2 -inputScript 'Get-ContainerImage bb-z' -cursorColumn 'Get-ContainerImage bb-z'.Length
        $r.CompletionMatches.CompletionText | Should -Be 'bb-zst'
    }
}

Describe 'Remove-ContainerImage' {
    It 'changes nothing with -WhatIf' {
        Remove-ContainerImage -Name 'bb-*' -WhatIf
        (Get-ContainerImage).Count | Should -Be 3
    }

    It 'is refused with ImageInUse while a container uses the image' {
        # A depot entry whose spec names the image, as New-Container -Image writes it.
        $null = New-Container -Name user /bin/true
        $spec = Get-Content -Raw "$env:PSCONTAINERS_DEPOT/user/spec.json" | ConvertFrom-Json -AsHashtable
        $spec.Image = 'bb-gz'
        $spec | ConvertTo-Json -Depth 10 | Set-Content "$env:PSCONTAINERS_DEPOT/user/spec.json"
        Remove-ContainerImage -Name bb-gz -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -Be 'ImageInUse,PSContainers.Commands.RemoveContainerImageCommand'
        "$($failed[0].CategoryInfo.Category)" | Should -Be 'ResourceBusy'
        $failed[0].Exception.Message | Should -BeLike "*'user'*"
        Get-ContainerImage bb-gz | Should -Not -BeNullOrEmpty
        Remove-Container -Name user
    }

    It 'removes images from the pipeline, leaving no staging folder' {
        Get-ContainerImage 'bb-*' | Remove-ContainerImage -Confirm:$false
        Get-ContainerImage | Should -BeNullOrEmpty
        Get-Staging | Should -BeNullOrEmpty
        Remove-ContainerImage -Name bb-gz -ErrorVariable failed -ErrorAction SilentlyContinue
        $failed[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,PSContainers.Commands.RemoveContainerImageCommand'
    }
}
