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

Describe 'Get-MailAccessBind writes each message read as it is made' {
    BeforeAll {
        # 200 records of 25 messages each: 5,000 distinct messages, all in one mailbox.
        $script:Generated = Join-Path $TestDrive 'many-messages.jsonl'
        $lines = foreach ($r in 0..199) {
            $items = foreach ($i in 1..25) { '{"InternetMessageId":"<m' + $r + '-' + $i + '@contoso.example>","SizeInBytes":' + (1000 + $i) + '}' }
            $time = [datetime]::new(2026, 1, 5, 10, 0, 0).AddSeconds($r).ToString('yyyy-MM-ddTHH:mm:ss')
            '{"CreationTime":"' + $time + '","Id":"' + [guid]::NewGuid() + '","Operation":"MailItemsAccessed","RecordType":50,"ResultStatus":"Succeeded",' +
            '"UserType":0,"Version":1,"Workload":"Exchange","UserId":"alice@contoso.example","ClientIPAddress":"198.51.100.7",' +
            '"ClientInfoString":"Client=OWA;Action=ViaProxy","MailboxOwnerUPN":"alice@contoso.example","SessionId":"5d1f4c39-1b7e-4f6e-9a57-0d7c2b3e8a11",' +
            '"OperationProperties":[{"Name":"MailAccessType","Value":"Bind"},{"Name":"IsThrottled","Value":"False"}],' +
            '"Folders":[{"Path":"\\Inbox","FolderItems":[' + ($items -join ',') + ']}],"OperationCount":25}'
        }
        Set-Content -Path $Generated -Value $lines -Encoding utf8NoBOM
        $script:MessageCount = 5000
    }

    It 'holds no row once it went down the pipeline' {
        # The old design held every row in a list until the last was written: the first row
        # stayed reachable until the command ended.
        $state = @{ Seen = 0; First = $null; FirstCollected = $null }
        Get-MailAccessBind -Path $Generated | ForEach-Object {
            $state.Seen++
            if ($state.Seen -eq 1) {
                $state.First = [WeakReference]::new($_.PSObject.BaseObject)
            }
            elseif ($state.Seen -eq 2000) {
                [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
                $state.FirstCollected = -not $state.First.IsAlive
            }
        }
        $state.Seen | Should -Be $MessageCount
        $state.FirstCollected | Should -BeTrue
    }

    It 'stops at Select-Object -First 1, freeing the analysis, and runs again in full' {
        $first = @(Get-MailAccessBind -Path $Generated -SummaryVariable stopped | Select-Object -First 1)
        $first.Count | Should -Be 1
        $first[0].Mailbox | Should -Be 'alice@contoso.example'
        # Stopped while writing its rows, it had read every record: the input was not cut.
        $stopped.PossiblyTruncated | Should -BeFalse
        $stopped.TruncationReason | Should -BeNullOrEmpty
        $stopped.Read | Should -Be 200
        $stopped.Analysed | Should -Be 200
        $all = @(Get-MailAccessBind -Path $Generated -SummaryVariable tally)
        $all.Count | Should -Be $MessageCount
        ($all.InternetMessageId | Sort-Object -Unique).Count | Should -Be $MessageCount
        $all | Where-Object AccessCount -NE 1 | Should -BeNullOrEmpty
        $all | Where-Object FolderPath -NE '\Inbox' | Should -BeNullOrEmpty
        $all[0].InternetMessageId | Should -Be $first[0].InternetMessageId
        $tally.Analysed | Should -Be 200
    }
}
