# The module as the gallery ships it: the package checks build.ps1 Package runs
# (tools/PackageTools.psm1), publishing and installing by name, and the native libraries of
# every platform read from their headers.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    # Every file the module ships but the binaries: each must work in Windows PowerShell 5.1.
    $moduleRoot = Get-ModuleUnderTest
    $script:ShippedFiles = @(Get-ChildItem -Path $moduleRoot -Recurse -File |
            Where-Object { $_.Extension -notin '.dll', '.pdb', '.so', '.dylib' } |
            ForEach-Object { @{ File = [System.IO.Path]::GetRelativePath($moduleRoot, $_.FullName); FullName = $_.FullName } })

    # PowerShell 7 syntax, commands, parameters and variables the check must find...
    $script:CoreOnly = @(
        @{ Construct = 'the ternary operator'; Script = '$a = $b ? 1 : 2' }
        @{ Construct = 'null-coalescing'; Script = '$a = $b ?? 1' }
        @{ Construct = 'null-coalescing assignment'; Script = '$a ??= 1' }
        @{ Construct = 'null-conditional member access'; Script = '${a}?.Length' }
        @{ Construct = 'null-conditional index'; Script = '${a}?[0]' }
        @{ Construct = 'a pipeline chain with &&'; Script = 'Get-Item x && Get-Item y' }
        @{ Construct = 'a pipeline chain with ||'; Script = 'Get-Item x || Get-Item y' }
        @{ Construct = 'a background pipeline'; Script = 'Start-Sleep 1 &' }
        @{ Construct = 'a clean block'; Script = 'function f { process { } clean { } }' }
        @{ Construct = 'ForEach-Object -Parallel'; Script = '1..3 | ForEach-Object -Parallel { $_ }' }
        @{ Construct = 'ForEach-Object -Parallel through the % alias'; Script = '1..3 | % -Parallel { $_ }' }
        @{ Construct = 'ConvertFrom-Json -AsHashtable'; Script = '$x | ConvertFrom-Json -AsHashtable' }
        @{ Construct = 'an abbreviated -AsHashtable'; Script = '$x | ConvertFrom-Json -AsHash' }
        @{ Construct = 'Get-Content -AsByteStream'; Script = 'Get-Content x -AsByteStream' }
        @{ Construct = 'Join-String'; Script = '$x | Join-String -Separator ", "' }
        @{ Construct = 'Get-Error'; Script = 'Get-Error' }
        @{ Construct = '$IsWindows'; Script = 'if ($IsWindows) { }' }
        @{ Construct = '$PSStyle'; Script = '$PSStyle.Reset' }
        @{ Construct = 'a `u{} escape'; Script = '"`u{2014}"' }
        @{ Construct = '-Encoding utf8NoBOM'; Script = 'Set-Content x -Value 1 -Encoding utf8NoBOM' }
        @{ Construct = '-replace with a script block'; Script = '"a" -replace "a", { "b" }' }
    )
    # ...and what Windows PowerShell 5.1 has, which it must let through.
    $script:Desktop = @(
        @{ Construct = 'if as an expression'; Script = '$a = if ($b) { 1 } else { 2 }' }
        @{ Construct = 'ConvertFrom-Json'; Script = '$x | ConvertFrom-Json' }
        @{ Construct = '-Encoding UTF8'; Script = 'Get-Content x -Encoding UTF8' }
        @{ Construct = '$PSVersionTable.PSEdition'; Script = '$PSVersionTable.PSEdition' }
        @{ Construct = '-replace with a string'; Script = '"a" -replace "a", "b"' }
        @{ Construct = 'a variable ending in ?'; Script = '"$a?"' }
        @{ Construct = 'ForEach-Object'; Script = '1..3 | % { $_ }' }
        @{ Construct = 'a `u{} in single quotes'; Script = "'``u{2014}'" }
        @{ Construct = '-and and -or'; Script = 'if ($a -and $b -or $c) { }' }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:RepoRoot = Split-Path $PSScriptRoot -Parent
    Import-Module (Join-Path $RepoRoot 'tools/PackageTools.psm1') -Force
    $script:ModulePath = Get-ModuleUnderTest
    $script:Version = (Import-PowerShellDataFile (Join-Path $ModulePath 'MailAccessForensics.psd1')).ModuleVersion
    $script:HostRuntime = Get-HostRuntimeIdentifier
    $script:HostLibrary = Join-Path $ModulePath "runtimes/$HostRuntime/native/$(Get-NativeLibraryFileName -Runtime $HostRuntime)"
    $script:ManagedAssembly = Join-Path $ModulePath 'bin/net472/MailAccessForensics.dll'

    function New-ModuleCopy {
        $copy = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Copy-Item -Path $ModulePath -Destination $copy -Recurse
        $copy
    }

    # The verdict on the bundled sample, one line per finding, as a child process prints it.
    $script:VerdictScript = {
        param([string] $Import)
        "Import-Module $Import; " +
        "(Get-Module MailAccessForensics).ModuleBase; " +
        "Import-Csv (Join-Path (Get-Module MailAccessForensics).ModuleBase 'Samples/ContosoBreach.purview.csv') | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 | " +
        "ForEach-Object { '{0}|{1}|{2}|{3}|{4}|{5}' -f `$_.Kind, `$_.Mailbox, `$_.FolderPath, `$_.InternetMessageId, `$_.Start.ToString('o'), (`$_.EvidenceRecordIds -join ',') }"
    }
}

Describe 'The gallery package' {
    It 'is complete for this platform: manifest, licence, changelog, help, assemblies, native library, scripts for 5.1' {
        @(Test-ModulePackage -ModulePath $ModulePath -Runtime $HostRuntime) | Should -BeNullOrEmpty
    }

    It 'publishes to a local PSResource repository, installs by name into a temporary path, and imports by name in a fresh pwsh' {
        $repository = Join-Path $TestDrive 'repository'
        $installed = Join-Path $TestDrive 'installed'
        # Linux: the repository registration goes to a store of its own, not the user's. (The
        # folder must exist: .NET ignores an XDG_DATA_HOME that does not, and PSResourceGet
        # then writes its store below the current directory.)
        $store = New-Item -ItemType Directory (Join-Path $TestDrive 'psresourceget')
        $publish = Invoke-ChildPwsh -Script "& '$RepoRoot/tools/Publish-LocalPackage.ps1' -ModulePath '$ModulePath' -RepositoryPath '$repository' -InstallPath '$installed'" `
            -Environment @{ XDG_DATA_HOME = $store.FullName } -WorkingDirectory $TestDrive
        $publish.ExitCode | Should -Be 0 -Because $publish.Output
        if ($IsLinux) {
            Test-Path (Join-Path $store 'PSResourceGet/PSResourceRepository.xml') | Should -BeTrue -Because 'the registration went to the store of its own'
        }
        Test-Path (Join-Path $TestDrive 'PSResourceGet') | Should -BeFalse
        Test-Path (Join-Path $repository "MailAccessForensics.$Version.nupkg") | Should -BeTrue

        # Every file of the module folder arrived, and nothing else.
        $installedRoot = Join-Path $installed "MailAccessForensics/$Version"
        $relative = { param($root) @(Get-ChildItem $root -Recurse -File | ForEach-Object { [System.IO.Path]::GetRelativePath($root, $_.FullName).Replace('\', '/') } | Sort-Object) }
        & $relative $installedRoot | Should -Be (& $relative $ModulePath)

        # Imported by name from there, it gives the verdict the built module gives.
        $fromGallery = Invoke-ChildPwsh -Script (& $VerdictScript 'MailAccessForensics') -Environment @{ PSModulePath = "$installed$([System.IO.Path]::PathSeparator)$env:PSModulePath" }
        $fromGallery.ExitCode | Should -Be 0 -Because $fromGallery.Output
        $lines = $fromGallery.Output -split "`n"
        [System.IO.Path]::GetFullPath($lines[0]) | Should -Be ([System.IO.Path]::GetFullPath($installedRoot))
        $fromBuild = Invoke-ChildPwsh -Script (& $VerdictScript "'$ModulePath'")
        $fromBuild.ExitCode | Should -Be 0 -Because $fromBuild.Output
        $lines.Count | Should -BeGreaterThan 5
        $lines[1..($lines.Count - 1)] | Should -Be (($fromBuild.Output -split "`n") | Select-Object -Skip 1)
    }

    It 'has one version in the manifest, the cmdlet assembly and the Rust workspace' {
        $csproj = [xml](Get-Content (Join-Path $RepoRoot 'dotnet-shim/MailAccessForensics.csproj') -Raw)
        @($csproj.Project.PropertyGroup.Version | Where-Object { $_ }) | Should -Be $Version
        $cargo = Get-Content (Join-Path $RepoRoot 'Cargo.toml') -Raw
        $cargo -match '(?ms)^\[workspace\.package\][^\[]*?^version = "([^"]+)"' | Should -BeTrue -Because 'Cargo.toml sets workspace.package.version'
        $Matches[1] | Should -Be $Version
    }

    It 'has a changelog section for its version' {
        Get-ChangelogSection -Path (Join-Path $ModulePath 'CHANGELOG.md') -Version $Version | Should -Not -BeNullOrEmpty
        Get-ChangelogSection -Path (Join-Path $ModulePath 'CHANGELOG.md') -Version '99.0.0' | Should -BeNullOrEmpty
    }
}

Describe 'Package checks find what is wrong' {
    It 'finds a missing native library, a platform it should not carry and a stray file' {
        $copy = New-ModuleCopy
        Remove-Item (Join-Path $copy "runtimes/$HostRuntime") -Recurse
        New-Item -ItemType Directory (Join-Path $copy 'runtimes/linux-musl-x64/native') | Out-Null
        $problems = @(Test-ModulePackage -ModulePath $copy -Runtime $HostRuntime, 'win-x64')
        $problems | Should -Contain "the module has no native library for $HostRuntime"
        $problems | Should -Contain 'the module has no native library for win-x64'
        $problems | Should -Contain 'the module has runtimes/linux-musl-x64, which the package should not carry'

        $copy = New-ModuleCopy
        Set-Content (Join-Path $copy "runtimes/$HostRuntime/native/notes.txt") 'x'
        @(Test-ModulePackage -ModulePath $copy -Runtime $HostRuntime) | Should -Be "runtimes/$HostRuntime holds a stray file: notes.txt"
    }

    It 'finds a library built for another platform under a platform folder' {
        $copy = New-ModuleCopy
        $other = if ($HostRuntime -eq 'linux-arm64') { 'linux-x64' } else { 'linux-arm64' }
        New-Item -ItemType Directory (Join-Path $copy "runtimes/$other/native") | Out-Null
        Copy-Item $HostLibrary (Join-Path $copy "runtimes/$other/native/libmaf_native.so")
        $problems = @(Test-ModulePackage -ModulePath $copy -Runtime $HostRuntime, $other)
        $problems | Should -HaveCount 1
        $problems[0] | Should -Match "^${other}: libmaf_native.so is (built for|PE|Mach-O)"
    }

    It 'finds missing gallery fields, licence and changelog section' {
        $copy = New-ModuleCopy
        $manifest = Join-Path $copy 'MailAccessForensics.psd1'
        (Get-Content $manifest -Raw) -replace "(?m)^\s*ProjectUri\s*=.*$", '' -replace "(?m)^\s*ReleaseNotes\s*=.*$", '' | Set-Content $manifest
        Remove-Item (Join-Path $copy 'LICENSE')
        Set-Content (Join-Path $copy 'CHANGELOG.md') "# Changelog`n`n## [0.0.1] - 2020-01-01`n`n- old"
        $problems = @(Test-ModulePackage -ModulePath $copy -Runtime $HostRuntime)
        $problems | Should -Contain 'the manifest has no PrivateData.PSData.ProjectUri'
        $problems | Should -Contain 'the manifest has no PrivateData.PSData.ReleaseNotes'
        $problems | Should -Contain 'the module has no LICENSE'
        $problems | Should -Contain "CHANGELOG.md has no section for version $Version"
    }

    It 'refuses a ProjectUri that is not the repository CI builds' {
        @(Test-ModulePackage -ModulePath $ModulePath -Runtime $HostRuntime -ProjectUri 'https://github.com/someone/else') |
            Should -Match "ProjectUri is '.*', but this repository is 'https://github.com/someone/else'"
    }

    It 'finds PowerShell 7 syntax and text 5.1 would misread in a shipped script' {
        $copy = New-ModuleCopy
        $psm1 = Join-Path $copy 'MailAccessForensics.psm1'
        Add-Content $psm1 '$framework = $PSVersionTable.PSEdition -eq ''Core'' ? ''net8.0'' : ''net472'''
        [System.IO.File]::WriteAllText((Join-Path $copy 'en-US/about_MailAccessForensics.help.txt'), "TOPIC`n    caf$([char]0xE9)`n", [System.Text.UTF8Encoding]::new($false))
        $problems = @(Test-ModulePackage -ModulePath $copy -Runtime $HostRuntime)
        $problems | Should -HaveCount 2
        $problems | Should -Contain "MailAccessForensics.psm1:$(@(Get-Content $psm1).Count): the ternary operator (a ? b : c) is PowerShell 7 only"
        $problems -like 'about_MailAccessForensics.help.txt: has non-ASCII text without a byte order mark*' | Should -HaveCount 1
    }
}

Describe 'Windows PowerShell 5.1 compatibility of <File>' -ForEach $ShippedFiles {
    It 'has no PowerShell 7 syntax, command, parameter or variable, and text 5.1 reads right' {
        @(Find-WindowsPowerShellIncompatibility -Path $FullName) | Should -BeNullOrEmpty
    }
}

Describe 'The Windows PowerShell 5.1 check' {
    It 'finds <Construct>' -ForEach $CoreOnly {
        $problems = @(Find-CoreOnlySyntax -Script $Script)
        $problems | Should -HaveCount 1
        $problems[0] | Should -Match '^script:1: .* is PowerShell 7 only$'
    }

    It 'lets <Construct> through' -ForEach $Desktop {
        @(Find-CoreOnlySyntax -Script $Script) | Should -BeNullOrEmpty
    }

    It 'checks the script blocks of format files, with their line numbers' {
        $file = Join-Path $TestDrive 'Views.Format.ps1xml'
        Set-Content $file @'
<?xml version="1.0" encoding="utf-8"?>
<Configuration><ViewDefinitions><View><Name>x</Name><ViewSelectedBy><TypeName>x</TypeName></ViewSelectedBy>
<TableControl><TableRowEntries><TableRowEntry><TableColumnItems>
<TableColumnItem><ScriptBlock>$_.Name</ScriptBlock></TableColumnItem>
<TableColumnItem><ScriptBlock>$_.Size ?? 0</ScriptBlock></TableColumnItem>
</TableColumnItems></TableRowEntry></TableRowEntries></TableControl></View></ViewDefinitions></Configuration>
'@
        @(Find-WindowsPowerShellIncompatibility -Path $file) | Should -Be 'Views.Format.ps1xml:5: the null-coalescing operator (??) is PowerShell 7 only'
    }

    It 'accepts non-ASCII text with a byte order mark' {
        $file = Join-Path $TestDrive 'bom.psd1'
        [System.IO.File]::WriteAllText($file, "@{ Description = 'caf$([char]0xE9)' }", [System.Text.UTF8Encoding]::new($true))
        @(Find-WindowsPowerShellIncompatibility -Path $file) | Should -BeNullOrEmpty
    }
}

Describe 'Native libraries of every platform, read from their headers' {
    It "reads this platform's library as cargo built it" {
        $expected = Get-SupportedRuntime | Where-Object Runtime -EQ $HostRuntime
        $info = Get-NativeBinaryInfo -Path $HostLibrary
        $info.Format | Should -Be $expected.Format
        $info.Architecture | Should -Be $expected.Architecture
        $info.SharedLibrary | Should -BeTrue
        @(Test-NativeLibrary -Path $HostLibrary -Runtime $HostRuntime) | Should -BeNullOrEmpty
    }

    It 'reads the machine and the imports of a PE file' {
        # The net472 assembly is a PE file (AnyCPU: machine x86) that imports mscoree.dll.
        $info = Get-NativeBinaryInfo -Path $ManagedAssembly
        $info.Format | Should -Be 'PE'
        $info.Architecture | Should -Be 'x86'
        $info.SharedLibrary | Should -BeTrue
        $info.Imports | Should -Be @('mscoree.dll')
    }

    It 'refuses a Windows library that needs the Visual C++ runtime, or is of another architecture' {
        # The assembly made into an arm64 PE importing msvcp14.dll (the same length as mscoree.dll).
        $bytes = [System.IO.File]::ReadAllBytes($ManagedAssembly)
        $pe = [System.BitConverter]::ToInt32($bytes, 0x3C)
        $bytes[$pe + 4] = 0x64; $bytes[$pe + 5] = 0xAA
        $text = [System.Text.Encoding]::ASCII.GetString($bytes)
        $at = $text.IndexOf('mscoree.dll')
        [System.Text.Encoding]::ASCII.GetBytes('msvcp14.dll').CopyTo($bytes, $at)
        $dir = New-Item -ItemType Directory (Join-Path $TestDrive 'win-arm64')
        $dll = Join-Path $dir 'maf_native.dll'
        [System.IO.File]::WriteAllBytes($dll, $bytes)
        @(Test-NativeLibrary -Path $dll -Runtime 'win-arm64') | Should -Be 'win-arm64: maf_native.dll needs the Visual C++ runtime (msvcp14.dll): build it with +crt-static (.cargo/config.toml)'
        @(Test-NativeLibrary -Path $dll -Runtime 'win-x64') | Should -Contain 'win-x64: maf_native.dll is built for arm64, not x64'
        @(Test-NativeLibrary -Path $dll -Runtime 'osx-arm64') | Should -Contain 'osx-arm64 needs the file libmaf_native.dylib, not maf_native.dll'
    }

    It 'reads Mach-O libraries, thin and universal' {
        $thin = { param([uint32] $Cpu, [uint32] $Type) [byte[]](@(0xCF, 0xFA, 0xED, 0xFE) + [System.BitConverter]::GetBytes($Cpu) + @(0, 0, 0, 0) + [System.BitConverter]::GetBytes($Type) + (@(0) * 16)) }
        $arm64 = Join-Path $TestDrive 'arm64.dylib'
        [System.IO.File]::WriteAllBytes($arm64, (& $thin 0x0100000C 6))
        $info = Get-NativeBinaryInfo -Path $arm64
        $info.Format, $info.Architecture, $info.SharedLibrary | Should -Be 'Mach-O', 'arm64', $true

        $executable = Join-Path $TestDrive 'x64-executable'
        [System.IO.File]::WriteAllBytes($executable, (& $thin 0x01000007 2))
        $info = Get-NativeBinaryInfo -Path $executable
        $info.Architecture, $info.SharedLibrary | Should -Be 'x64', $false

        $universal = Join-Path $TestDrive 'universal'
        New-Item -ItemType Directory $universal | Out-Null
        $fat = [byte[]](@(0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 2) + @(0x01, 0, 0, 0x07) + (@(0) * 16) + @(0x01, 0, 0, 0x0C) + (@(0) * 16))
        [System.IO.File]::WriteAllBytes((Join-Path $universal 'libmaf_native.dylib'), $fat)
        @(Test-NativeLibrary -Path (Join-Path $universal 'libmaf_native.dylib') -Runtime 'osx-x64') | Should -BeNullOrEmpty
        @(Test-NativeLibrary -Path (Join-Path $universal 'libmaf_native.dylib') -Runtime 'osx-arm64') | Should -BeNullOrEmpty
        @(Test-NativeLibrary -Path (Join-Path $universal 'libmaf_native.dylib') -Runtime 'linux-x64') | Should -Contain 'linux-x64 needs the file libmaf_native.so, not libmaf_native.dylib'
    }

    It 'says when a file is no library at all' {
        $text = Join-Path (New-Item -ItemType Directory (Join-Path $TestDrive 'text')) 'libmaf_native.so'
        Set-Content $text 'not a library'
        @(Test-NativeLibrary -Path $text -Runtime 'linux-x64') | Should -Be 'linux-x64: libmaf_native.so is Unknown, not ELF'
    }
}

Describe 'Merging native builds of other machines' {
    BeforeAll {
        # A staged build as Build writes it (out/natives/<rid>/), of this build.
        $script:Expected = [ordered]@{ ModuleVersion = $Version; AbiVersion = 5; Commit = '0123456789abcdef0123456789abcdef01234567'; Configuration = 'Release' }
        function New-StagedBuild([hashtable] $Change = @{}) {
            $dir = New-Item -ItemType Directory (Join-Path $TestDrive "natives-$([guid]::NewGuid().ToString('N'))/$HostRuntime")
            $stamp = [ordered]@{} + $Expected
            $stamp.Runtime = $HostRuntime
            $stamp.File = Split-Path $HostLibrary -Leaf
            $stamp.Sha256 = (Get-FileHash $HostLibrary -Algorithm SHA256).Hash
            foreach ($key in $Change.Keys | Where-Object { $_ -ne 'NoLibrary' }) { $stamp[$key] = $Change[$key] }
            if (-not $Change.NoLibrary) { Copy-Item $HostLibrary (Join-Path $dir $stamp.File) }
            $stamp | ConvertTo-Json | Set-Content (Join-Path $dir 'build.json')
            Join-Path $dir 'build.json'
        }
    }

    It 'takes a build of the same commit, version, ABI and configuration' {
        @(Test-NativeBuild -StampPath (New-StagedBuild) -Expected $Expected -Runtime $HostRuntime) | Should -BeNullOrEmpty
    }

    It 'refuses a build of <Name>' -ForEach @(
        @{ Name = 'another commit'; Change = @{ Commit = 'fedcba9876543210fedcba9876543210fedcba98' }; Problem = "its Commit is 'fedcba9876543210fedcba9876543210fedcba98', this build's is '0123456789abcdef0123456789abcdef01234567'" }
        @{ Name = 'another version'; Change = @{ ModuleVersion = '0.0.9' }; Problem = "its ModuleVersion is '0.0.9'*" }
        @{ Name = 'another ABI'; Change = @{ AbiVersion = 4 }; Problem = "its AbiVersion is '4', this build's is '5'" }
        @{ Name = 'a Debug configuration'; Change = @{ Configuration = 'Debug' }; Problem = "its Configuration is 'Debug'*" }
        @{ Name = 'a library its stamp does not describe'; Change = @{ Sha256 = '00' }; Problem = 'its library is not the file its build.json describes*' }
        @{ Name = 'a missing library'; Change = @{ NoLibrary = $true }; Problem = 'its library * is missing' }
    ) {
        @(Test-NativeBuild -StampPath (New-StagedBuild $Change) -Expected $Expected -Runtime $HostRuntime) | Should -BeLike $Problem
    }

    It 'refuses a platform the package is not to carry' {
        @(Test-NativeBuild -StampPath (New-StagedBuild) -Expected $Expected -Runtime 'win-x64') | Should -Be "it is for $HostRuntime, which the package is not to carry"
    }

    It 'refuses a library staged under the wrong platform' {
        $other = if ($HostRuntime -eq 'linux-arm64') { 'linux-x64' } else { 'linux-arm64' }
        @(Test-NativeBuild -StampPath (New-StagedBuild @{ Runtime = $other; File = 'libmaf_native.so' }) -Expected $Expected -Runtime $other) |
            Should -BeLike "${other}: *"
    }
}
