BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Shapes = Get-BreachShapes
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:MessageProperties = 'Mailbox', 'InternetMessageId', 'FolderPath', 'SizeInBytes', 'Start', 'End', 'AccessCount'
    function script:Get-Contexts($m) {
        (@($m.Contexts | ForEach-Object { "$($_.ClientIPAddress)|$($_.ClientInfoString)|$($_.SessionId)|$($_.UserId)" }) | Sort-Object) -join ' + '
    }
}

Describe 'Get-MailAccessBind on the breach scenario (<Shape>)' -ForEach $Shapes {
    BeforeAll {
        $script:Messages = @(Get-BreachInput $Shape | Get-MailAccessBind)
    }

    It 'gives one object per mailbox and message, with the contexts that read it' {
        $actual = $Messages | ForEach-Object { "$(ConvertTo-ComparableRows $_ $MessageProperties) | $(Get-Contexts $_)" }
        $wanted = $Expected.GetMailAccessBind.Messages | ForEach-Object { "$(ConvertTo-ComparableRows $_ $MessageProperties) | $(Get-Contexts $_)" }
        ($actual | Sort-Object) | Should -Be ($wanted | Sort-Object)
    }

    It 'shares one object for a context, mailbox or folder that many messages have' {
        # Memory grows with the messages, not with copies of the few contexts that read them.
        $byContext = $Messages | Group-Object { Get-Contexts $_ } | Where-Object Count -GT 1
        $byContext | Should -Not -BeNullOrEmpty
        foreach ($group in $byContext) {
            $first = $group.Group[0]
            foreach ($other in $group.Group | Select-Object -Skip 1) {
                for ($k = 0; $k -lt $first.Contexts.Count; $k++) {
                    [object]::ReferenceEquals($other.Contexts[$k], $first.Contexts[$k]) | Should -BeTrue
                }
                if ($other.Mailbox -ceq $first.Mailbox) {
                    [object]::ReferenceEquals($other.Mailbox, $first.Mailbox) | Should -BeTrue
                }
            }
        }
    }

    It 'orders by mailbox, then first access' {
        $keys = $Messages | ForEach-Object { '{0}|{1:yyyy-MM-ddTHH:mm:ss}' -f $_.Mailbox.ToLowerInvariant(), $_.Start }
        $keys | Should -Be ($keys | Sort-Object -CaseSensitive)
    }
}

Describe 'Get-MailAccessBind -Mailbox' {
    It 'matches mailboxes case-insensitively with wildcards, and counts the rest as filtered' {
        $e = $Expected.InputSummaryMailboxFilter
        $messages = @(Get-BreachInput 'Import-Csv of a Purview portal export' | Get-MailAccessBind -Mailbox $e.Parameters.Mailbox -SummaryVariable tally)
        $messages.Mailbox | Sort-Object -Unique | Should -Be 'alice@contoso.example'
        Assert-InputSummary $tally $e
    }
}
