# The module in Windows PowerShell 5.1 (powershell.exe, .NET Framework: the net472 assembly and
# its LoadLibraryExW preload), run as a user would, in a child process. Windows only: elsewhere
# these are skipped. Package.Tests.ps1 checks the shipped scripts against the 5.1 language on
# every platform.

BeforeDiscovery {
    $script:WindowsPowerShell = if ($IsWindows) { Get-Command powershell.exe -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1 -ExpandProperty Source }
    $script:Skip = -not $WindowsPowerShell
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:ModulePath = Get-ModuleUnderTest
    $script:Desktop = if ($IsWindows) { Get-Command powershell.exe -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1 -ExpandProperty Source }

    # The verdict on the bundled sample, one line per finding (the same script in both editions).
    $script:Verdict = "Import-Module '$ModulePath'; " +
        "`$PSVersionTable.PSEdition; " +
        "Import-Csv (Join-Path '$ModulePath' 'Samples/ContosoBreach.purview.csv') | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 | " +
        "ForEach-Object { '{0}|{1}|{2}|{3}|{4}|{5}' -f `$_.Kind, `$_.Mailbox, `$_.FolderPath, `$_.InternetMessageId, `$_.Start.ToUniversalTime().ToString('o'), (`$_.EvidenceRecordIds -join ',') }"
}

Describe 'Windows PowerShell 5.1' -Skip:$Skip {
    It 'imports the module and gives the verdict PowerShell 7 gives' {
        $desktop = Invoke-ChildPwsh -Executable $Desktop -Script $Verdict
        $desktop.ExitCode | Should -Be 0 -Because $desktop.Output
        $core = Invoke-ChildPwsh -Script $Verdict
        $core.ExitCode | Should -Be 0 -Because $core.Output
        $desktopLines = $desktop.Output -split "`r?`n"
        $coreLines = $core.Output -split "`r?`n"
        $desktopLines[0] | Should -Be 'Desktop'
        $coreLines[0] | Should -Be 'Core'
        $desktopLines.Count | Should -BeGreaterThan 5
        $desktopLines[1..($desktopLines.Count - 1)] | Should -Be $coreLines[1..($coreLines.Count - 1)]
    }

    It 'loads the net472 assembly and the native library of its own architecture' {
        $result = Invoke-ChildPwsh -Executable $Desktop -Script (
            "Import-Module '$ModulePath'; " +
            "[MailAccessForensics.ModuleInitializer].Assembly.Location; " +
            "[System.Diagnostics.Process]::GetCurrentProcess().Modules | Where-Object ModuleName -EQ 'maf_native.dll' | ForEach-Object FileName")
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $lines = $result.Output -split "`r?`n"
        $lines[0] | Should -BeLike '*\bin\net472\MailAccessForensics.dll'
        $lines[1] | Should -BeLike "*\runtimes\win-*\native\maf_native.dll"
    }

    It 'has help and table views' {
        $result = Invoke-ChildPwsh -Executable $Desktop -Script (
            "Import-Module '$ModulePath'; " +
            "(Get-Help Get-CompromisedMailAccess).Synopsis; " +
            "(Get-Help about_MailAccessForensics | Out-String) -match 'Get-MailAccessThrottling'; " +
            "'{`"Operation`":`"MailItemsAccessed`",`"CreationTime`":`"2023-09-15T18:16:53`"}' | ConvertFrom-MailItemsAccessed | Format-Table | Out-String -Width 200")
        $result.ExitCode | Should -Be 0 -Because $result.Output
        $lines = @($result.Output -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Not -Match '^\s*Get-CompromisedMailAccess ' -Because 'without MAML, Get-Help makes up a synopsis from the syntax'
        $lines[1] | Should -Be 'True'
        $lines[2] | Should -Match 'CreationTime'
    }

    It 'refuses a native library that [DllImport] would not find by name' {
        $result = Invoke-ChildPwsh -Executable $Desktop -Script "Import-Module '$ModulePath'" -Environment @{ MAILACCESSFORENSICS_NATIVE_LIBRARY = $env:MAF_FAKE_NATIVE_LIBRARY }
        $result.ExitCode | Should -Not -Be 0
        $result.Output | Should -Match 'must be named maf_native.dll'
    }

    It 'refuses a native library from another build' {
        $renamed = Join-Path (New-Item -ItemType Directory (Join-Path $TestDrive 'fake')) 'maf_native.dll'
        Copy-Item $env:MAF_FAKE_NATIVE_LIBRARY $renamed
        $result = Invoke-ChildPwsh -Executable $Desktop -Script "Import-Module '$ModulePath'" -Environment @{ MAILACCESSFORENSICS_NATIVE_LIBRARY = $renamed }
        $result.ExitCode | Should -Not -Be 0
        $result.Output | Should -Match 'speaks ABI version 0, but this module needs version \d+'
    }
}
