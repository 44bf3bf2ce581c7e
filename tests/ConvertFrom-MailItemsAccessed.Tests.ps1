BeforeDiscovery {
    # Every analysis, with parameters that make it do its full work on the breach scenario.
    $script:Analyses = @(
        @{ Name = 'Get-MailAccessThrottling'; Parameters = @{} }
        @{ Name = 'Get-MailAccessSync'; Parameters = @{} }
        @{ Name = 'Get-MailAccessContext'; Parameters = @{ Suspicious = $true; BaselineEndDate = '2026-01-13' } }
        @{ Name = 'Get-MailAccessBind'; Parameters = @{} }
        @{ Name = 'Find-MailAccessMessage'; Parameters = @{ InternetMessageId = '<20260109.0832.board-minutes@contoso.example>', '20260112.1645.term-sheet@fabrikam.example' } }
        @{ Name = 'Get-CompromisedMailAccess'; Parameters = @{ AttackerIPAddress = '198.51.100.66' } }
        @{ Name = 'Get-CompromisedMailAccess'; Parameters = @{ AttackerIPAddress = '198.51.100.66'; Mailbox = 'bob@*'; StartDate = '2026-01-13' } }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:AuditData = @(Get-SampleAuditData)
    $script:Owa = $AuditData | Where-Object { $_ -match 'Client=OWA' } | Select-Object -First 1

    # Properties every shape must agree on (Source says where each came from, so it differs).
    $script:Compared = 'CreationTime', 'RecordId', 'Mailbox', 'MailboxGuid', 'UserId', 'UserType', 'AccessType',
        'IsThrottled', 'ClientIPAddress', 'ClientIPAddressOriginal', 'ClientPort', 'ClientInfoString', 'SessionId',
        'AppId', 'ClientAppId', 'LogonType', 'ExternalAccess', 'OperationCount', 'OriginatingServer', 'IsDegraded',
        'DegradedReason'
    function script:Get-Signature($Record) {
        $parts = foreach ($name in $Compared) { "$name=$($Record.$name)" }
        $parts += 'Folders=' + ($Record.Folders -join '|')
        $parts += 'Items=' + (($Record.Items | ForEach-Object { "$($_.InternetMessageId)/$($_.FolderPath)/$($_.SizeInBytes)" }) -join '|')
        $parts -join ';'
    }
}

Describe 'ConvertFrom-MailItemsAccessed' {
    Context 'Search-UnifiedAuditLog objects' {
        BeforeAll {
            $script:Objects = for ($i = 0; $i -lt $AuditData.Count; $i++) {
                New-SualObject -AuditData $AuditData[$i] -ResultIndex ($i + 1) -ResultCount $AuditData.Count
            }
            $script:Records = @($Objects | ConvertFrom-MailItemsAccessed)
        }

        It 'returns one typed record per MailItemsAccessed record' {
            $Records.Count | Should -Be 3
            $Records | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'MailAccessForensics.MailAccessRecord' }
        }

        It 'reads every field of the OWA record' {
            $r = $Records | Where-Object RecordId -EQ '461a38ce-fc36-4a4d-b73e-643262cc063f'
            $r.CreationTime | Should -Be ([datetime]::new(2023, 9, 15, 18, 16, 53, [DateTimeKind]::Utc))
            $r.CreationTime.Kind | Should -Be 'Utc'
            $r.Mailbox | Should -Be 'user1'
            $r.UserId | Should -Be 'user1'
            $r.UserType | Should -Be 'Regular'
            $r.AccessType | Should -Be 'Bind'
            # False, known: not absent ($null would pass -BeFalse).
            $r.IsThrottled | Should -BeOfType ([bool])
            $r.IsThrottled | Should -BeFalse
            $r.ClientIPAddress | Should -Be '192.0.2.1'
            $r.ClientInfoString | Should -Be 'Client=OWA;Action=ViaProxy'
            $r.SessionId | Should -Be 'dcdad6b2-f279-48c6-9ed8-3df0ffde4ece'
            $r.AppId | Should -Be '00000002-0000-0ff1-ce00-000000000000'
            $r.ClientAppId | Should -BeNullOrEmpty
            $r.LogonType | Should -Be 'Owner'
            $r.ExternalAccess | Should -BeFalse
            $r.OperationCount | Should -Be 3
            $r.OriginatingServer | Should -Be 'AM0PR07MB5763 (15.20.4200.000)'
            $r.Folders | Should -Be @('\Brouillons')
            $r.Items.Count | Should -Be 3
            $r.Items[0].InternetMessageId | Should -Be '<AM0PR07MB576312B164491AF0F9214C738DF6A@AM0PR07MB5763.eurprd07.prod.outlook.com>'
            $r.Items[0].FolderPath | Should -Be '\Brouillons'
            $r.Items[0].SizeInBytes | Should -Be 3476
            $r.IsDegraded | Should -BeFalse
        }

        It 'keeps IsThrottled null when the record does not say' {
            $r = $Records | Where-Object { $_.CreationTime.Year -eq 2025 }
            @($r).Count | Should -Be 1
            $r.IsThrottled | Should -BeNullOrEmpty
            $r.IsThrottled -eq $false | Should -BeFalse
        }

        It 'normalises an IPv6 address and keeps the original text' {
            $r = $Records | Where-Object ClientIPAddressOriginal -EQ 'FE80::'
            $r.ClientIPAddress | Should -Be 'fe80::'
            $r.ExternalAccess | Should -BeFalse
            $r.Folders | Should -Be @('\Boite de reception')
            $r.Items.InternetMessageId | Should -Be @('<xxxxx@exemple.com>', '<xxxx-xxx-xxx-xxxx@enterprise.net>')
        }

        It 'returns records in input order' {
            ($Records.Source) | Should -Be @('pipeline object 1', 'pipeline object 2', 'pipeline object 3')
        }

        It 'gives the same output for the same input' {
            $again = @($Objects | ConvertFrom-MailItemsAccessed)
            ($again | ForEach-Object { Get-Signature $_ }) | Should -Be ($Records | ForEach-Object { Get-Signature $_ })
        }

        It 'takes the records by -InputObject as well, one or many' {
            $one = @(ConvertFrom-MailItemsAccessed -InputObject $Objects[0])
            Get-Signature $one[0] | Should -Be (Get-Signature $Records[0])
            $all = @(ConvertFrom-MailItemsAccessed -InputObject $Objects)
            ($all | ForEach-Object { Get-Signature $_ }) | Should -Be ($Records | ForEach-Object { Get-Signature $_ })
        }
    }

    Context 'Import-Csv of exports' {
        BeforeAll {
            $script:Reference = @($AuditData | ConvertFrom-MailItemsAccessed)
        }

        It 'reads a saved Search-UnifiedAuditLog | Export-Csv' {
            $path = Join-Path $TestDrive 'sual.csv'
            $AuditData | ForEach-Object { New-SualObject -AuditData $_ } | Export-Csv -Path $path -NoTypeInformation
            $rows = Import-Csv $path
            $rows[0].CreationDate | Should -BeOfType [string]
            $fromCsv = @($rows | ConvertFrom-MailItemsAccessed)
            ($fromCsv | ForEach-Object { Get-Signature $_ }) | Should -Be ($Reference | ForEach-Object { Get-Signature $_ })
        }

        It 'reads a Purview portal export' {
            $path = Join-Path $TestDrive 'purview.csv'
            $i = 0
            $AuditData | ForEach-Object { New-PurviewRow -AuditData $_ -RecordId "id-$((++$i))" } | Export-Csv -Path $path -NoTypeInformation
            $fromCsv = @(Import-Csv $path | ConvertFrom-MailItemsAccessed)
            ($fromCsv | ForEach-Object { Get-Signature $_ }) | Should -Be ($Reference | ForEach-Object { Get-Signature $_ })
        }
    }

    Context 'AuditData JSON text' {
        It 'reads plain AuditData strings' {
            $records = @($AuditData | ConvertFrom-MailItemsAccessed)
            $records.Count | Should -Be 3
            $records[1].RecordId | Should -Be '461a38ce-fc36-4a4d-b73e-643262cc063f'
        }

        It 'reads AuditData already converted to objects and hashtables' {
            $asObject = $Owa | ConvertFrom-Json
            $asHashtable = $Owa | ConvertFrom-Json -AsHashtable
            $fromText = ConvertFrom-MailItemsAccessed -InputObject $Owa
            Get-Signature (ConvertFrom-MailItemsAccessed -InputObject $asObject) | Should -Be (Get-Signature $fromText)
            Get-Signature (ConvertFrom-MailItemsAccessed -InputObject $asHashtable) | Should -Be (Get-Signature $fromText)
        }
    }

    Context 'Real records of other sources' {
        It 'reads a Sentinel OfficeActivity row' {
            $row = Get-Content (Join-Path (Get-SamplesDirectory) 'otrf__GoldenSAMLADFSMailAccess__OfficeActivityEvents.json') -Raw | ConvertFrom-Json
            $r = $row | ConvertFrom-MailItemsAccessed
            $r.RecordId | Should -Be '699e0b10-1c53-403e-976f-ce0847a92b44'
            $r.ClientIPAddress | Should -Be '1.2.3.4'
            $r.AccessType | Should -Be 'Bind'
            $r.Items.Count | Should -Be 7
            $r.IsDegraded | Should -BeFalse
        }

        It 'reports a stringified Defender record as degraded, with what it recovered' {
            $line = Get-Content (Join-Path (Get-SamplesDirectory) 'otrf__GoldenSAMLADFSMailAccess__Microsoft365DefenderEvents.json') |
                Where-Object { $_ -match '"ActionType":"MailItemsAccessed"' }
            $r = $line | ConvertFrom-Json | ConvertFrom-MailItemsAccessed
            $r.IsDegraded | Should -BeTrue
            $r.DegradedReason | Should -Match 'System\.Object\[\]'
            $r.AccessType | Should -Be 'Bind'
            $r.Folders | Should -Be @('\Inbox')
            $r.OperationCount | Should -Be 7
            $r.Items.Count | Should -Be 0
        }
    }

    Context 'Malformed records' {
        It 'writes an error naming the record and the reason, and goes on' {
            $inputs = @(
                New-SualObject -AuditData $AuditData[0]
                New-SualObject -AuditData '{"Operation":"MailItemsAccessed","CreationTime":"2023-09-15T18:16:53","Id":' -Identity 'truncated-one'
                New-SualObject -AuditData $AuditData[1]
                New-SualObject -AuditData $AuditData[2]
            )
            $records = @($inputs | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue)
            $records.Count | Should -Be 3
            $problems.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.InvalidJson,*'
            $problems[0].Exception.Message | Should -Match "Record 'truncated-one' \(pipeline object 2\): AuditData is not valid JSON"
            $problems[0].TargetObject.Identity | Should -Be 'truncated-one'
            $problems[0].CategoryInfo.Category | Should -Be 'InvalidData'
            $problems[0].Exception.Kind | Should -Be 'InvalidJson'
            $problems[0].Exception.RecordSource | Should -Be 'pipeline object 2'
        }

        It 'names the reason for <Case>' -ForEach @(
            @{ Case = 'no timestamp'; Value = '{"Operation":"MailItemsAccessed","Id":"x1"}'; Kind = 'MissingField'; Pattern = 'no CreationTime' }
            @{ Case = 'a bad timestamp'; Value = '{"Operation":"MailItemsAccessed","Id":"x2","CreationTime":"yesterday"}'; Kind = 'InvalidValue'; Pattern = "CreationTime: 'yesterday'" }
            @{ Case = 'a wrong type'; Value = '{"Operation":"MailItemsAccessed","Id":"x3","CreationTime":"2023-09-15T18:16:53","Folders":42}'; Kind = 'InvalidValue'; Pattern = 'invalid type' }
            @{ Case = 'no operation'; Value = '{"Id":"x4","CreationTime":"2023-09-15T18:16:53"}'; Kind = 'NotAnAuditRecord'; Pattern = 'no Operation' }
            @{ Case = 'a NUL character'; Value = "{`"Operation`":`"MailItemsAccessed`",`"Id`":`"x5`",`"CreationTime`":`"2023-09-15T18:16:53`",`"UserId`":`"a`0b`"}"; Kind = 'InvalidEncoding'; Pattern = 'NUL byte' }
            @{ Case = 'a number'; Value = 42; Kind = 'NotAnAuditRecord'; Pattern = 'a number is not an audit record' }
        ) {
            $out = @($Value, $AuditData[0] | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 1
            $problems.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike "MailAccessForensics.$Kind,*"
            $problems[0].Exception.Message | Should -Match ([regex]::Escape($Pattern))
        }

        It 'counts a null input as an error, not as nothing' {
            $out = @($null, $AuditData[0] | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
            $out.Count | Should -Be 1
            $problems.Count | Should -Be 1
            $tally.Read | Should -Be 2
            $tally.Errors | Should -Be 1
        }

        It 'reports a string with a lone surrogate as an encoding error' {
            $bad = $Owa.Replace('"UserId":"user1"', "`"UserId`":`"user$([char]0xD800)1`"")
            $bad | Should -Not -Be $Owa
            $problems = $null
            $out = @((New-SualObject -AuditData $bad), (New-SualObject -AuditData $AuditData[1]) | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue)
            $out.Count | Should -Be 1
            $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.InvalidEncoding,*'
            $problems[0].Exception.Message | Should -Match 'invalid UTF-16'
        }
    }

    Context 'Other operations and the accounting' {
        It 'skips records of other operations and counts them' {
            $hardDelete = New-SualObject -Operations 'HardDelete' -RecordType 'ExchangeItemGroup' -AuditData '{"CreationTime":"2023-09-15T18:11:00","Id":"b2b9","Operation":"HardDelete","RecordType":3}'
            $verbose = $null
            $records = @($hardDelete, (New-SualObject -AuditData $AuditData[0]) | ConvertFrom-MailItemsAccessed -SummaryVariable tally -Verbose 4>&1 |
                Tee-Object -Variable all | Where-Object { $_ -is [MailAccessForensics.MailAccessRecord] })
            $verbose = $all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $records.Count | Should -Be 1
            $tally.Skipped | Should -Be 1
            $tally.SkippedOperations['HardDelete'] | Should -Be 1
            ($verbose.Message -join "`n") | Should -Match 'HardDelete 1'
            ($verbose.Message -join "`n") | Should -Match 'skipped 1 of other operations'
        }

        It 'counts a duplicated record once and says so' {
            $one = New-SualObject -AuditData $AuditData[1]
            $records = @($one, $one, (New-SualObject -AuditData $AuditData[0]) | ConvertFrom-MailItemsAccessed -SummaryVariable tally)
            $records.Count | Should -Be 2
            $tally.Duplicates | Should -Be 1
        }

        It 'balances: read = analysed + skipped + duplicates + filtered + errors' {
            $inputs = @($AuditData) + @('{"Operation":"Send","CreationTime":"2023-09-15T18:11:00"}', 'not json', $AuditData[0])
            $null = $inputs | ConvertFrom-MailItemsAccessed -SummaryVariable tally -ErrorAction SilentlyContinue
            $tally.Read | Should -Be 6
            $tally.Analysed | Should -Be 3
            $tally.Skipped | Should -Be 1
            $tally.Errors | Should -Be 1
            $tally.Duplicates | Should -Be 1
            $tally.Read | Should -Be ($tally.Analysed + $tally.Skipped + $tally.Duplicates + $tally.Filtered + $tally.Errors)
            $tally.IsBalanced | Should -BeTrue
            $tally.ThrottlingUnknown | Should -Be 1
        }
    }

    Context 'Its own records as input' {
        BeforeAll {
            # The breach scenario holds a degraded record, a throttled one, a duplicate and
            # records of other operations; the trap scenario holds AppAccessContext.
            $script:Lines = @(Get-BreachInput 'AuditData JSON lines') + @(Get-TrapInput 'AuditData JSON lines')
            $script:Own = @($Lines | ConvertFrom-MailItemsAccessed -ErrorAction Stop)
        }

        It 'reads the token of AppAccessContext' {
            $r = $Own | Where-Object RecordId -EQ '5d2e9c10-3b4a-4e6f-8a1b-0c9d8e7f0020'
            $r.AadSessionId | Should -Be '9e8d7c6b-5a49-4838-a726-15f4e3d2c1b0'
            $r.UniqueTokenId | Should -Be 'Xa1x2y3z4w5v6u7t8s9r0A'
            $r.IssuedAtTime | Should -Be ([datetime]::new(2026, 3, 9, 9, 55, 0, [DateTimeKind]::Utc))
            $r.IssuedAtTime.Kind | Should -Be 'Utc'
            $app = $Own | Where-Object RecordId -EQ '5d2e9c10-3b4a-4e6f-8a1b-0c9d8e7f0017'
            $app.AadSessionId | Should -BeNullOrEmpty
            $app.UniqueTokenId | Should -Be 'Ev1x2y3z4w5v6u7t8s9r0A'
        }

        It 'reads them back unchanged, every property and where each was first read' {
            # The breach's 61 analysed records (67 rows less 5 of other operations and the copy of
            # R35) and the trap scenario's 40; the one degraded record is the breach's R36.
            $Own.Count | Should -Be 101
            @($Own | Where-Object IsDegraded).Count | Should -Be 1
            foreach ($copy in @($Own | ConvertFrom-MailItemsAccessed -SummaryVariable tally), @(ConvertFrom-MailItemsAccessed -InputObject $Own)) {
                $copy.Count | Should -Be $Own.Count
                ($copy | ConvertTo-Json -Depth 4) | Should -Be ($Own | ConvertTo-Json -Depth 4)
            }
            $tally.Analysed | Should -Be $Own.Count
            # The first breach line is a MailboxLogin: the first record is object 2, and says so still.
            $Own[0].Source | Should -Be 'pipeline object 2'
        }

        It 'survives Export-Clixml and Import-Clixml' {
            $file = Join-Path $TestDrive 'records.clixml'
            $Own | Export-Clixml -Path $file
            $back = @(Import-Clixml -Path $file | ConvertFrom-MailItemsAccessed)
            ($back | ConvertTo-Json -Depth 4) | Should -Be ($Own | ConvertTo-Json -Depth 4)
        }

        It 'gives <Name> the same results as the records they came from' -ForEach $Analyses {
            $direct = @($Lines | & $Name @Parameters -WarningVariable directWarnings -WarningAction SilentlyContinue)
            $fromOwn = @($Own | & $Name @Parameters -WarningVariable ownWarnings -WarningAction SilentlyContinue)
            # Each analysis' own file checks its results against the ground truth; here only that
            # there are some, so that the comparison below is not of two empty lists.
            $direct.Count | Should -BeGreaterThan 0
            # A finding's run is its own run's (other inputs, times); its evidence, sources included, is the same.
            ($fromOwn | Select-Object * -ExcludeProperty Run | ConvertTo-Json -Depth 4) | Should -Be ($direct | Select-Object * -ExcludeProperty Run | ConvertTo-Json -Depth 4)
            @($ownWarnings.Message) | Should -Be @($directWarnings.Message)
        }
    }

    Context 'Many records' {
        BeforeAll {
            $template = New-SualObject -AuditData $Owa
            $script:Many = for ($i = 0; $i -lt 10050; $i++) {
                $text = $Owa.Replace('461a38ce-fc36-4a4d-b73e-643262cc063f', ('00000000-0000-0000-0000-{0:d12}' -f $i))
                if ($i % 1000 -eq 999) { $text = '{"broken": ' + $i }
                New-SualObject -AuditData $text -Identity "n$i"
            }
        }

        It 'streams batches and keeps records and errors in input order' {
            $all = @($Many | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
            $all.Count | Should -Be 10040
            $problems.Count | Should -Be 10
            $tally.Read | Should -Be 10050
            $indices = $all | ForEach-Object { [int]($_.Source -replace '\D', '') }
            for ($k = 1; $k -lt $indices.Count; $k++) { if ($indices[$k] -le $indices[$k - 1]) { throw "out of order at $k" } }
            $problems[0].Exception.Message | Should -Match "Record 'n999' \(pipeline object 1000\)"
            # Batches are read two at a time: errors of the last batch still name their own input.
            $problems[-1].Exception.Message | Should -Match "Record 'n9999' \(pipeline object 10000\)"
            $problems[-1].TargetObject.Identity | Should -Be 'n9999'
        }

        It 'sets -SummaryVariable when the pipeline is stopped early, saying the counts are of what was read' {
            $tally = $null
            $first = @($Many | ConvertFrom-MailItemsAccessed -ErrorAction SilentlyContinue -SummaryVariable tally | Select-Object -First 1)
            $first.Count | Should -Be 1
            # Two batches were in flight when the first record came out; the stop waits for them,
            # so both are counted, and the third was never sent.
            $batch = [MailAccessForensics.Commands.MailAccessInputCommand].GetField('BatchObjectLimit', [Reflection.BindingFlags]'NonPublic, Static').GetValue($null)
            $broken = @(0..(2 * $batch - 1) | Where-Object { $_ % 1000 -eq 999 }).Count
            $tally.Read | Should -Be (2 * $batch)
            $tally.Analysed | Should -Be (2 * $batch - $broken)
            $tally.Errors | Should -Be $broken
            $tally.IsBalanced | Should -BeTrue
            $tally.PossiblyTruncated | Should -BeTrue
            $tally.TruncationReason | Should -Match 'stopped before it read all its input'
        }

        It 'counts a record repeated batches later as a duplicate of the first copy' {
            $again = @($Many + $Many[0] + $Many[5000]) | ConvertFrom-MailItemsAccessed -ErrorAction SilentlyContinue -SummaryVariable tally
            @($again).Count | Should -Be 10040
            $tally.Duplicates | Should -Be 2
            $tally.Read | Should -Be 10052
        }

        It 'stops early and cleanly under Select-Object -First' {
            $first = @($Many | ConvertFrom-MailItemsAccessed | Select-Object -First 3)
            $first.Count | Should -Be 3
            $first[0].RecordId | Should -Be '00000000-0000-0000-0000-000000000000'
        }
    }
}
