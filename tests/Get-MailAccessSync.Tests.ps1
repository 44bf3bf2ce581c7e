BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Shapes = Get-BreachShapes
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:SyncProperties = 'Mailbox', 'FolderPath', 'Start', 'End', 'SyncCount', 'ClientIPAddress', 'ClientInfoString', 'SessionId', 'UserId', 'RecordIds'
}

Describe 'Get-MailAccessSync on the breach scenario (<Shape>)' -ForEach $Shapes {
    BeforeAll {
        $script:Groups = @(Get-BreachInput $Shape | Get-MailAccessSync)
    }

    It 'groups every Sync record by mailbox, folder and context' {
        $actual = ConvertTo-ComparableRows $Groups $SyncProperties
        $wanted = ConvertTo-ComparableRows $Expected.GetMailAccessSync.Groups $SyncProperties
        ($actual | Sort-Object) | Should -Be ($wanted | Sort-Object)
    }

    It 'tells the owner''s sync of the Inbox from the attacker''s' {
        # alice's desktop syncs her Inbox every morning; the attacker's Outlook synced it once from B.
        $inbox = $Groups | Where-Object { $_.FolderPath -eq '\Inbox' -and $_.Mailbox -eq 'alice@contoso.example' }
        @($inbox.ClientIPAddress | Sort-Object) | Should -Be @('2001:db8:bad::b', '203.0.113.10')
        ($inbox | Where-Object ClientIPAddress -EQ '2001:db8:bad::b').SyncCount | Should -Be 1
    }

    It 'orders by mailbox, then first sync' {
        $keys = $Groups | ForEach-Object { '{0}|{1:yyyy-MM-ddTHH:mm:ss}' -f $_.Mailbox.ToLowerInvariant(), $_.Start }
        $keys | Should -Be ($keys | Sort-Object -CaseSensitive)
    }
}
