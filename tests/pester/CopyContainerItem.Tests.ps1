# Copy-ContainerItem through the built module in real pwsh: files and folders in and out of a container with a
# busybox root, wildcards, -WhatIf, -PassThru, and the errors with their ids and categories.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Root = New-TestRoot
    $script:Depot = New-TestDepot
    $script:Work = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), 'psc-copy-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $r = $script:RootFs = "$script:Work/rootfs"
    foreach ($d in 'bin', 'etc', 'proc', 'tmp') { [System.IO.Directory]::CreateDirectory("$r/$d") | Out-Null }
    [System.IO.File]::Copy('/usr/bin/busybox', "$r/bin/busybox", $true)
    foreach ($t in 'sh', 'cat', 'ls', 'sleep', 'stat') { $null = [System.IO.File]::CreateSymbolicLink("$r/bin/$t", 'busybox') }
    [System.IO.File]::WriteAllText("$r/etc/passwd", "root:x:0:0:root:/:/bin/sh`napp:x:1000:1000:app:/tmp:/bin/sh`n")
    [System.IO.File]::WriteAllText("$r/etc/group", "root:x:0:`napp:x:1000:`n")
    $null = [System.IO.File]::CreateSymbolicLink("$r/escape", '/')
    $s = "$script:Work/src"
    [System.IO.Directory]::CreateDirectory("$s/tree/sub") | Out-Null
    [System.IO.File]::WriteAllText("$s/one.txt", 'one'); [System.IO.File]::WriteAllText("$s/two.txt", 'two')
    [System.IO.File]::WriteAllText("$s/tree/sub/deep.txt", 'deep')
    $null = [System.IO.File]::CreateSymbolicLink("$s/tree/link", 'sub/deep.txt')
    New-Container -Name copybox /bin/sleep -ArgumentList 300 -RootPath $r | Start-Container
    Push-Location $s
}

AfterAll {
    Pop-Location
    Remove-TestDepot $script:Depot
    Remove-TestRoot $script:Root
    if ($script:Work) { [System.IO.Directory]::Delete($script:Work, $true) }
}

Describe 'Copy-ContainerItem' {
    It 'copies files a wildcard matches into a running container, relative to the current location' {
        $items = Copy-ContainerItem -Path *.txt -Destination /data/text -ToContainer copybox -User app -PassThru
        $items.Path | Should -Be @('/data/text/one.txt', '/data/text/two.txt')
        $items[0].PSObject.TypeNames[0] | Should -Be 'PSContainers.Containers.ContainerItem'
        Invoke-ContainerCommand -Name copybox -FilePath /bin/cat -ArgumentList /data/text/two.txt | Should -Be 'two'
        Invoke-ContainerCommand -Name copybox -FilePath /bin/stat -ArgumentList '-c', '%u:%g', /data/text | Should -Be '1000:1000'
    }

    It 'copies a folder in and out with -Recurse, links as links' {
        Copy-ContainerItem -Path ./tree -Destination /srv/tree -ToContainer copybox -Recurse
        $back = "$script:Work/back"
        $out = Copy-ContainerItem -Path /srv/tree -Destination $back -FromContainer copybox -Recurse -PassThru
        $out | Should -BeOfType System.IO.DirectoryInfo
        [System.IO.File]::ReadAllText("$back/sub/deep.txt") | Should -Be 'deep'
        (Get-Item "$back/link").LinkTarget | Should -Be 'sub/deep.txt'
    }

    It 'keeps a path through a link to / inside the container' {
        Copy-ContainerItem -Path ./one.txt -Destination /escape/tmp/escaped.txt -ToContainer copybox
        [System.IO.File]::Exists("$script:RootFs/tmp/escaped.txt") | Should -BeTrue
        [System.IO.File]::Exists('/tmp/escaped.txt') | Should -BeFalse
    }

    It 'shows with -WhatIf and copies nothing' {
        Copy-ContainerItem -Path ./one.txt -Destination /whatif.txt -ToContainer copybox -WhatIf | Should -BeNullOrEmpty
        [System.IO.File]::Exists("$script:RootFs/whatif.txt") | Should -BeFalse
    }

    It 'reports <Case> as <Id> (<Category>) and changes nothing' -ForEach @(
        @{ Case = 'a missing host file'; Id = 'CopySourceNotFound'; Category = 'ObjectNotFound'; Run = { Copy-ContainerItem -Path ./nothere.txt -Destination /tmp -ToContainer copybox } }
        @{ Case = 'a missing container file'; Id = 'CopySourceNotFound'; Category = 'ObjectNotFound'; Run = { Copy-ContainerItem -Path /nothere -Destination $script:Work -FromContainer copybox } }
        @{ Case = 'a folder without -Recurse'; Id = 'CopyFolderNeedsRecurse'; Category = 'InvalidArgument'; Run = { Copy-ContainerItem -Path ./tree -Destination /tmp -ToContainer copybox } }
        @{ Case = 'an existing file without -Force'; Id = 'CopyItemExists'; Category = 'ResourceExists'; Run = { Copy-ContainerItem -Path ./one.txt -Destination /data/text/two.txt -ToContainer copybox } }
        @{ Case = 'an unknown container'; Id = 'ContainerNotFound'; Category = 'ObjectNotFound'; Run = { Copy-ContainerItem -Path ./one.txt -Destination /tmp -ToContainer nosuchbox } }
        @{ Case = 'an unknown user'; Id = 'UserNotFound'; Category = 'ObjectNotFound'; Run = { Copy-ContainerItem -Path ./one.txt -Destination /tmp/u.txt -ToContainer copybox -User nobody } }
    ) {
        $err = $null
        $ErrorActionPreference = 'Stop'
        try { & $Run } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err.CategoryInfo.Category | Should -Be $Category
        Invoke-ContainerCommand -Name copybox -FilePath /bin/cat -ArgumentList /data/text/two.txt | Should -Be 'two'
        @(Get-ChildItem -Recurse -Force $script:RootFs -Filter '.psc-copy-*').Count | Should -Be 0
    }

    It 'replaces a file with -Force' {
        Copy-ContainerItem -Path ./one.txt -Destination /data/text/two.txt -ToContainer copybox -Force
        Invoke-ContainerCommand -Name copybox -FilePath /bin/cat -ArgumentList /data/text/two.txt | Should -Be 'one'
    }

    It 'copies into and out of a stopped container with a root' {
        Stop-Container -Name copybox -Force
        Copy-ContainerItem -Path ./two.txt -Destination /stopped.txt -ToContainer copybox
        Copy-ContainerItem -Path /stopped.txt -Destination "$script:Work/stopped.txt" -FromContainer copybox
        [System.IO.File]::ReadAllText("$script:Work/stopped.txt") | Should -Be 'two'
    }
}

Describe 'Copy-ContainerItem cut short by a killed session' {
    BeforeAll {
        # 10,000 empty files (made on /dev/shm, a tmpfs: fast to make): long enough a copy to be killed in the middle of.
        $script:BigTree = "/dev/shm/psc-copy-kill-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
        sh -c "mkdir -p $script:BigTree && cd $script:BigTree && for d in 0 1 2 3 4 5 6 7 8 9; do mkdir d`$d && (cd d`$d && seq 1 1000 | xargs touch); done"

        function New-KillRoot([string]$Path) {
            # A busybox root with sleep, for a container to copy into.
            foreach ($d in 'bin', 'etc', 'proc', 'tmp') { [System.IO.Directory]::CreateDirectory("$Path/$d") | Out-Null }
            [System.IO.File]::Copy('/usr/bin/busybox', "$Path/bin/busybox", $true)
            $null = [System.IO.File]::CreateSymbolicLink("$Path/bin/sleep", 'busybox')
        }

        function Stop-CopyMidway([string]$Root, [string]$Container) {
            # Copies the big tree into the container in a child pwsh and SIGKILLs it once a temporary shows in the root.
            $child = Start-Process -FilePath $script:Shell -PassThru -ArgumentList '-NoProfile', '-NonInteractive', '-Command',
                "Import-Module '$script:ModuleManifest'; Copy-ContainerItem -Path '$script:BigTree' -Destination /big -ToContainer $Container -Recurse"
            try {
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                while (-not (Get-ChildItem -Force $Root -Filter '.psc-copy-*') -and -not $child.HasExited -and [DateTime]::UtcNow -lt $deadline) {
                    Start-Sleep -Milliseconds 5
                }
                $child.HasExited | Should -BeFalse -Because 'the copy is killed before it ends'
                kill -KILL $child.Id
                $child.WaitForExit()
            }
            finally {
                if (-not $child.HasExited) { $child.Kill() }
            }
        }
    }

    AfterAll {
        if ($script:BigTree) { [System.IO.Directory]::Delete($script:BigTree, $true) }
    }

    It 'leaves temporaries that the next copy into the container removes, with their journal' {
        $r = "$script:Work/killroot"
        New-KillRoot $r
        New-Container -Name killbox /bin/sleep -ArgumentList 300 -RootPath $r | Start-Container
        Stop-CopyMidway $r killbox
        $entry = [System.IO.Path]::Combine($env:PSCONTAINERS_DEPOT, 'killbox')
        @(Get-ChildItem -Force $r -Filter '.psc-copy-*').Count | Should -Be 1
        @(Get-ChildItem -Force $entry -Filter 'copy-*.journal').Count | Should -Be 1

        # A new session's next copy into the container sweeps them.
        Copy-ContainerItem -Path ./one.txt -Destination /one.txt -ToContainer killbox
        @(Get-ChildItem -Recurse -Force $r -Filter '.psc-copy-*').Count | Should -Be 0
        @(Get-ChildItem -Force $entry -Filter '*copy-*').Count | Should -Be 0
        Test-Path "$r/big" | Should -BeFalse
        Test-Path "$r/one.txt" | Should -BeTrue
        Remove-Container killbox -Force -Confirm:$false
    }

    It 'leaves temporaries that Remove-Container removes' {
        $r = "$script:Work/killroot2"
        New-KillRoot $r
        New-Container -Name killbox2 /bin/sleep -ArgumentList 300 -RootPath $r | Out-Null # created, never started: its root folder
        Stop-CopyMidway $r killbox2
        @(Get-ChildItem -Force $r -Filter '.psc-copy-*').Count | Should -Be 1
        Remove-Container killbox2 -Confirm:$false
        @(Get-ChildItem -Recurse -Force $r -Filter '.psc-copy-*').Count | Should -Be 0
    }
}

