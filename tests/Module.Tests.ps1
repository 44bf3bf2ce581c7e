BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ModuleUnderTest
    $script:Manifest = Join-Path $ModulePath 'MailAccessForensics.psd1'
}

Describe 'The built module' {
    It 'has a valid manifest that lists its cmdlets explicitly' {
        $info = Test-ModuleManifest -Path $Manifest
        $data = Import-PowerShellDataFile -Path $Manifest
        $data.CmdletsToExport | Should -Not -BeNullOrEmpty
        $data.CmdletsToExport | ForEach-Object { $_ | Should -Not -Match '\*' }
        $data.FunctionsToExport.Count | Should -Be 0
        $info.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
    }

    It 'exports exactly the cmdlets the manifest lists' {
        $data = Import-PowerShellDataFile -Path $Manifest
        $module = Import-Module $ModulePath -Force -PassThru
        @($module.ExportedCmdlets.Keys | Sort-Object) | Should -Be @($data.CmdletsToExport | Sort-Object)
    }

    It 'lists in the manifest every cmdlet the assembly defines' {
        # A cmdlet added to the assembly but not to CmdletsToExport would be silently hidden.
        Import-Module $ModulePath -Force
        $defined = [MailAccessForensics.ModuleInitializer].Assembly.GetExportedTypes() |
            ForEach-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) } |
            ForEach-Object { "$($_.VerbName)-$($_.NounName)" }
        @($defined | Sort-Object) | Should -Be @((Import-PowerShellDataFile -Path $Manifest).CmdletsToExport | Sort-Object)
    }

    It 'ships both frameworks and the native library for this platform' {
        Import-Module (Join-Path (Split-Path $PSScriptRoot -Parent) 'tools/PackageTools.psm1') -Force
        $rid = Get-HostRuntimeIdentifier
        Test-Path (Join-Path $ModulePath 'bin/net8.0/MailAccessForensics.dll') | Should -BeTrue
        Test-Path (Join-Path $ModulePath 'bin/net472/MailAccessForensics.dll') | Should -BeTrue
        @(Get-ChildItem (Join-Path $ModulePath "runtimes/$rid/native") -File).Name | Should -Be (Get-NativeLibraryFileName -Runtime $rid)
    }

    It 'declares an output type on every cmdlet' {
        Import-Module $ModulePath -Force
        foreach ($command in Get-Command -Module MailAccessForensics -CommandType Cmdlet) {
            $command.OutputType | Should -Not -BeNullOrEmpty -Because "$($command.Name) should say what it returns"
        }
    }

    It 'has a table view for each of its output types' {
        Import-Module $ModulePath -Force
        foreach ($type in 'MailAccessRecord', 'UnauditedWindow', 'SyncActivity', 'AccessContext', 'AccessContext#Suspicious', 'MessageRead',
            'MessageAccess', 'CompromiseFinding', 'EvidenceRecord', 'MailAccessRun', 'MailAccessInput') {
            Get-FormatData -TypeName "MailAccessForensics.$type" | Should -Not -BeNullOrEmpty -Because "$type needs a view"
        }
    }

    It 'shows findings and suspicious contexts readably at 120 and 80 columns' {
        Import-Module $ModulePath -Force
        $rows = Import-Csv (Join-Path $ModulePath 'Samples/ContosoBreach.purview.csv')
        $findings = @($rows | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
        $contexts = @($rows | Get-MailAccessContext -Suspicious -BaselineEndDate 2026-01-13 -WarningAction SilentlyContinue)
        foreach ($width in 120, 80) {
            $table = $findings | Out-String -Width $width
            foreach ($id in $findings.InternetMessageId | Where-Object { $_ }) {
                $table | Should -Match ([regex]::Escape($id)) -Because "the message id is visible at $width columns"
            }
            $table | Should -Match 'Mailbox: alice@contoso\.example'
            ($table -split "`n" | Measure-Object Length -Maximum).Maximum | Should -BeLessOrEqual $width
        }
        $wide = $findings | Out-String -Width 120
        foreach ($address in '198.51.100.66', '2001:db8:bad::b', '192.0.2.199') {
            $wide | Should -Match ([regex]::Escape($address)) -Because 'addresses are not cut'
        }
        $ranked = $contexts | Out-String -Width 120
        $ranked | Should -Match '^\s*Score\s+Signals\s+ClientIPAddress'
        $ranked | Should -Match 'NewInPeriod, NewAddress'
        $list = $findings[0] | Format-List | Out-String -Width 120
        foreach ($name in 'Kind', 'Reason', 'EvidenceRecordIds', 'Evidence', 'Run') { $list | Should -Match "$name\s+:" }
    }

    It 'has a table view for every type its cmdlets return' {
        Import-Module $ModulePath -Force
        foreach ($command in Get-Command -Module MailAccessForensics -CommandType Cmdlet) {
            foreach ($type in $command.OutputType.Type | Where-Object Namespace -EQ 'MailAccessForensics') {
                Get-FormatData -TypeName $type.FullName | Should -Not -BeNullOrEmpty -Because "$($command.Name) returns $($type.Name)"
            }
        }
    }

    It 'loads from any current directory' {
        $result = Invoke-ChildPwsh -WorkingDirectory $TestDrive -Script "Import-Module '$ModulePath'; '{`"Operation`":`"MailItemsAccessed`",`"CreationTime`":`"2023-09-15T18:16:53`"}' | ConvertFrom-MailItemsAccessed | ForEach-Object AccessType"
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Be 'Unknown'
    }

    It 'imports again with -Force in one session' {
        $result = Invoke-ChildPwsh -Script "Import-Module '$ModulePath'; Import-Module '$ModulePath' -Force; (Get-Command ConvertFrom-MailItemsAccessed).Name"
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Be 'ConvertFrom-MailItemsAccessed'
    }

    It 'fails at import with a clear message when the native library is missing' {
        $missing = Join-Path $TestDrive 'nowhere/libmaf_native.so'
        $result = Invoke-ChildPwsh -Script "Import-Module '$ModulePath'" -Environment @{ MAILACCESSFORENSICS_NATIVE_LIBRARY = $missing }
        $result.ExitCode | Should -Not -Be 0
        $result.Output | Should -Match 'cannot find its native library'
        $result.Output | Should -Match ([regex]::Escape($missing))
    }

    It 'fails at import with a clear message when the native library is from another build' {
        $env:MAF_FAKE_NATIVE_LIBRARY | Should -Not -BeNullOrEmpty -Because 'build.ps1 builds the stand-in library'
        Test-Path $env:MAF_FAKE_NATIVE_LIBRARY | Should -BeTrue
        $result = Invoke-ChildPwsh -Script "Import-Module '$ModulePath'" -Environment @{ MAILACCESSFORENSICS_NATIVE_LIBRARY = $env:MAF_FAKE_NATIVE_LIBRARY }
        $result.ExitCode | Should -Not -Be 0
        $result.Output | Should -Match 'speaks ABI version 0, but this module needs version \d+'
    }
}
