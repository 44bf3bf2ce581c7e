BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Shapes = Get-BreachShapes
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:WindowProperties = 'Mailbox', 'Start', 'End', 'ThrottledRecordCount', 'RecordIds'
}

Describe 'Get-MailAccessThrottling on the breach scenario (<Shape>)' -ForEach $Shapes {
    BeforeAll {
        $script:Windows = @(Get-BreachInput $Shape | Get-MailAccessThrottling -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue)
        $script:Tally = $tally
        $script:Warnings = $warnings
    }

    It 'merges the two touching throttled windows into one' {
        ConvertTo-ComparableRows $Windows $WindowProperties | Should -Be (ConvertTo-ComparableRows $Expected.GetMailAccessThrottling.Windows $WindowProperties)
        $Windows[0].Duration | Should -Be ([timespan]::FromHours(48))
    }

    It 'warns about the mailbox whose record does not say whether it was throttled' {
        foreach ($entry in $Expected.GetMailAccessThrottling.ThrottlingUnknownByMailbox.GetEnumerator()) {
            ($Warnings.Message -join "`n") | Should -Match ([regex]::Escape("Mailbox $($entry.Key): $($entry.Value) of its"))
        }
        @($Warnings).Count | Should -Be $Expected.GetMailAccessThrottling.ThrottlingUnknownByMailbox.Count
    }

    It 'accounts for every record' {
        $e = $Expected.InputSummary
        Assert-InputSummary $Tally $e
        foreach ($operation in $e.SkippedOperations.Keys) {
            $Tally.SkippedOperations[$operation] | Should -Be $e.SkippedOperations[$operation]
        }
        $Tally.IsBalanced | Should -BeTrue
    }
}

Describe 'Get-MailAccessThrottling filters' {
    It 'keeps only windows of the mailboxes asked for' {
        $none = @(Get-BreachInput 'AuditData JSON lines' | Get-MailAccessThrottling -Mailbox 'bob@*' -WarningAction SilentlyContinue)
        $none.Count | Should -Be 0
    }

    It 'reads -StartDate as Search-UnifiedAuditLog does: a date alone is midnight UTC' {
        # The two throttled records are at 13 Jan 22:00 and 14 Jan 22:00: from the 14th, one.
        $later = @(Get-BreachInput 'AuditData JSON lines' | Get-MailAccessThrottling -StartDate '2026-01-14' -WarningAction SilentlyContinue)
        $later.Count | Should -Be 1
        $later[0].ThrottledRecordCount | Should -Be 1
        $later[0].Start | Should -Be ([datetime]::new(2026, 1, 14, 22, 0, 0, [DateTimeKind]::Utc))
    }
}
