BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $expected = Get-BreachExpected
    $script:Runs = foreach ($shape in Get-BreachShapes) {
        foreach ($run in $expected.GetCompromisedMailAccess.Keys) { @{ Shape = $shape.Shape; Run = $run } }
    }
    $traps = Get-TrapExpected
    $script:TrapRuns = foreach ($run in $traps.Runs.Keys) { @{ Shape = 'AuditData JSON lines'; Run = $run } }
    # The default run from every shape, the module's own records included.
    $script:TrapRuns += foreach ($shape in 'Search-UnifiedAuditLog objects', 'the module''s own records', 'the module''s own records, through Export-Clixml') {
        @{ Shape = $shape; Run = 'Expansion' }
    }
    $script:TrapRuns += @{ Shape = 'the module''s own records'; Run = 'Mailbox' }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:FindingProperties = 'Kind', 'Mailbox', 'FolderPath', 'InternetMessageId', 'SizeInBytes', 'Start', 'End', 'AccessCount',
        'ClientIPAddress', 'SessionId', 'ClientInfoString', 'EvidenceRecordIds'
}

Describe 'Get-CompromisedMailAccess on the breach scenario: <Run> (<Shape>)' -ForEach $Runs {
    BeforeAll {
        $script:Case = $Expected.GetCompromisedMailAccess[$Run]
        $parameters = $Case.Parameters
        $script:Findings = @(Get-BreachInput $Shape | Get-CompromisedMailAccess @parameters -WarningVariable warnings)
        $script:Warnings = $warnings
    }

    It 'gives exactly the expected findings, in order' {
        ConvertTo-ComparableRows $Findings $FindingProperties | Should -Be (ConvertTo-ComparableRows $Case.Findings $FindingProperties)
        $Findings.Count | Should -Be $Case.FindingCount
        $Warnings | Should -BeNullOrEmpty
    }

    It 'gives every finding a reason that names its evidence' {
        foreach ($finding in $Findings) {
            $finding.PSObject.TypeNames[0] | Should -Be 'MailAccessForensics.CompromiseFinding'
            $finding.Reason | Should -Not -BeNullOrEmpty
            foreach ($id in $finding.EvidenceRecordIds | Select-Object -First 1) {
                if ($finding.Kind -in 'UnresolvedAccess', 'AttackerIndicator') { $finding.Reason | Should -Match ([regex]::Escape($id)) }
            }
        }
    }
}

Describe 'Get-CompromisedMailAccess on the trap scenario: <Run> (<Shape>)' -ForEach $TrapRuns {
    BeforeAll {
        $script:Traps = Get-TrapExpected
        $script:Case = $Traps.Runs[$Run]
        $parameters = $Case.Parameters
        $script:Rows = @(Get-TrapRows $Run $Traps)
        $script:Findings = @(Get-TrapInput $Shape | Get-CompromisedMailAccess @parameters -WarningVariable warnings -WarningAction SilentlyContinue -SummaryVariable tally)
        $script:Warnings = @($warnings)
        $script:Tally = $tally
    }

    It 'gives exactly the findings derived by hand, in order' {
        for ($i = 0; $i -lt [Math]::Min($Rows.Count, $Findings.Count); $i++) {
            foreach ($key in $Rows[$i].Keys) {
                Format-Comparable $Findings[$i].$key | Should -Be (Format-Comparable $Rows[$i][$key]) -Because "finding $($i + 1) ($($Rows[$i].Kind)), $key"
            }
        }
        $Findings.Count | Should -Be $Rows.Count
    }

    It 'warns as expected: the placeholder address once, the shared indicators once' {
        $Warnings.Count | Should -Be $Case.Warnings.Count
        for ($i = 0; $i -lt $Case.Warnings.Count; $i++) {
            foreach ($part in $Case.Warnings[$i]) { $Warnings[$i].Message | Should -BeLike "*$([WildcardPattern]::Escape($part))*" }
        }
    }

    It 'accounts for every record' {
        if ($Shape -like '*own records*') {
            # ConvertFrom-MailItemsAccessed already counted what it left out: here every record is one.
            $Tally.Read | Should -Be ($Case.Summary.Analysed + $Case.Summary.Filtered)
        }
        else {
            Assert-InputSummary $Tally $Case.Summary
        }
        $Tally.IsBalanced | Should -BeTrue
    }
}

Describe 'Get-CompromisedMailAccess rules' {
    BeforeAll {
        $script:Lines = @(Get-BreachInput 'AuditData JSON lines')
    }

    It 'never attributes the owner''s contexts, which share only the account and client with the attacker' {
        $findings = $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66
        $addresses = $findings | Where-Object Kind -NE 'ThrottledWindow' | ForEach-Object ClientIPAddress | Sort-Object -Unique
        $addresses | Should -Be @('192.0.2.199', '198.51.100.66', '2001:db8:bad::b')
    }

    It 'without any indicator reports throttled windows only, and warns' {
        $findings = @($Lines | Get-CompromisedMailAccess -WarningVariable warnings -WarningAction SilentlyContinue)
        @($findings.Kind | Sort-Object -Unique) | Should -Be @('ThrottledWindow')
        $warnings.Message | Should -Match 'No attacker indicator'
    }

    It 'takes a CIDR range, an IPv6 range and a session as indicators' {
        $byRange = $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.0/24 -NoContextExpansion
        $bySixRange = $Lines | Get-CompromisedMailAccess -AttackerIPAddress '2001:DB8:BAD::/48' -NoContextExpansion
        # 198.51.100.0/24 holds A alone: R30 reads M1 and M2, R31 F1 and F2.
        @($byRange | Where-Object Kind -EQ AccessedMessage).Count | Should -Be 4
        # The one Sync from B (2001:db8:bad::/48) is R37: \Inbox and \Finance.
        @($bySixRange | Where-Object Kind -EQ SyncedFolder | ForEach-Object FolderPath | Sort-Object) | Should -Be @('\Finance', '\Inbox')
        $bySession = $Lines | Get-CompromisedMailAccess -AttackerSessionId 'E1C6B0F2-7A3D-4B8E-9F15-2C4D6A8B0E16' -NoContextExpansion
        ($bySession | Where-Object Kind -EQ AttackerIndicator).SessionId | Should -Be 'e1c6b0f2-7a3d-4b8e-9f15-2c4d6a8b0e16'
    }

    It 'refuses an indicator that is not an address, with a clear error' {
        { $Lines | Get-CompromisedMailAccess -AttackerIPAddress 'not-an-ip' -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*-AttackerIPAddress: 'not-an-ip' is not an IP address or a CIDR range*"
    }

    It 'gives a mailbox the findings of the unfiltered run with -Mailbox (the issue''s example)' {
        $all = @($Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
        $bob = @($Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -Mailbox bob@contoso.example -SummaryVariable tally)
        $wanted = @($all | Where-Object { -not $_.Mailbox -or $_.Mailbox -eq 'bob@contoso.example' })
        @($bob | Where-Object Kind -EQ AccessedMessage).Count | Should -Be 3
        # Everything but the run (each run has its own, with its own parameters), evidence included.
        ($bob | Select-Object * -ExcludeProperty Run | ConvertTo-Json -Depth 3) | Should -Be ($wanted | Select-Object * -ExcludeProperty Run | ConvertTo-Json -Depth 3)
        $bob[0].Run.Parameters.Mailbox | Should -Be 'bob@contoso.example'
        # Of the 62 MailItemsAccessed rows, 21 are bob's; alice's 40 and the copy of R35 are
        # Filtered or (the copy) a Duplicate: which of the two counts the copy is unspecified.
        $tally.Analysed | Should -Be 21
        $tally.Filtered + $tally.Duplicates | Should -Be 41
        $tally.IsBalanced | Should -BeTrue
    }

    It 'reads the Entra session of the records as an indicator and follows it to a new Exchange session' {
        $lines = Get-TrapInput 'AuditData JSON lines'
        $findings = @($lines | Get-CompromisedMailAccess -AttackerAadSessionId '9E8D7C6B-5A49-4838-A726-15F4E3D2C1B0' -WarningAction SilentlyContinue)
        $indicator = $findings | Where-Object { $_.Kind -eq 'AttackerIndicator' -and $_.AadSessionId -contains '9e8d7c6b-5a49-4838-a726-15f4e3d2c1b0' }
        $indicator.Reason | Should -Match 'given as an attacker indicator'
        # The new session from the new address is the attacker's through the Entra session alone.
        ($findings | Where-Object { $_.Kind -eq 'AccessedMessage' -and $_.InternetMessageId -eq '<20260309.0900.hr-case@contoso.example>' }).SessionId |
            Should -Be '8c4e6a20-1d3f-4b5a-9c7e-0f2d4b6a8c93'
    }

    It 'names the acting account of a delegate read and the application of an app read' {
        $findings = Get-TrapInput 'AuditData JSON lines' | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -AttackerAppId c7e2a9f4-1b3d-4e5f-8a6b-9c0d1e2f3a4b -WarningAction SilentlyContinue
        $delegate = $findings | Where-Object { $_.Mailbox -eq 'bob@contoso.example' -and $_.Kind -eq 'AccessedMessage' } | Select-Object -First 1
        $delegate.UserId | Should -Be 'alice@contoso.example'
        $app = $findings | Where-Object { $_.Mailbox -eq 'carol@contoso.example' -and $_.Kind -eq 'AccessedMessage' } | Select-Object -First 1
        $app.ClientAppId | Should -Be 'c7e2a9f4-1b3d-4e5f-8a6b-9c0d1e2f3a4b'
        $app.UniqueTokenId | Should -Be 'Ev1x2y3z4w5v6u7t8s9r0A'
    }

    It 'shows a shared indicator in the table with its address' {
        $text = Get-TrapInput 'AuditData JSON lines' | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -WarningAction SilentlyContinue |
            Where-Object Kind -EQ SharedIndicator | Format-Table | Out-String -Width 250
        $text | Should -Match 'SharedIndicator\s+203\.0\.113\.80'
    }

    It 'warns about an indicator that matches nothing' {
        $null = $Lines | Get-CompromisedMailAccess -AttackerIPAddress 192.0.2.1 -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Message | Should -Match '-AttackerIPAddress 192.0.2.1 matched no record'
    }
}

Describe 'Get-CompromisedMailAccess: the run and the evidence of each finding' {
    BeforeAll {
        $script:Lines = @(Get-BreachInput 'AuditData JSON lines')
        $script:Sample = Join-Path (Get-BreachDirectory) 'breach.purview.csv'
        $script:FromFile = @(Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 198.51.100.66 -SummaryVariable fileTally)
        $script:FileTally = $fileTally
    }

    It 'gives every finding of a run the same run object' {
        $run = $FromFile[0].Run
        $run | Should -BeOfType ([MailAccessForensics.MailAccessRun])
        foreach ($finding in $FromFile) { [object]::ReferenceEquals($finding.Run, $run) | Should -BeTrue }
        [object]::ReferenceEquals($run.Summary, $FileTally) | Should -BeTrue
        $run.FindingCount | Should -Be $FromFile.Count
    }

    It 'names each file read with its size and its SHA-256, as Get-FileHash gives it' {
        $inputs = @($FromFile[0].Run.Inputs)
        $inputs.Count | Should -Be 1
        $inputs[0].Kind | Should -Be 'File'
        $inputs[0].Path | Should -Be (Resolve-Path $Sample).ProviderPath
        $inputs[0].Sha256 | Should -Be (Get-FileHash -LiteralPath $Sample -Algorithm SHA256).Hash
        $inputs[0].Size | Should -Be (Get-Item -LiteralPath $Sample).Length
        $inputs[0].HashComplete | Should -BeTrue
        $inputs[0].Records | Should -Be $FileTally.Read
    }

    It 'names pipeline input with its count of objects' {
        $findings = @($Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
        $inputs = @($findings[0].Run.Inputs)
        ($inputs.Kind) | Should -Be 'Pipeline'
        $inputs[0].Objects | Should -Be $Lines.Count
        $inputs[0].Sha256 | Should -BeNullOrEmpty
    }

    It 'records the parameters, the indicators, the period as read, and whether the attacker was followed' {
        $findings = @($Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -StartDate 2026-01-13 -EndDate '2026-01-15T12:00:00Z' -NoContextExpansion)
        $run = $findings[0].Run
        $run.Command | Should -Be 'Get-CompromisedMailAccess'
        $run.Parameters['AttackerIPAddress'] | Should -Be @('198.51.100.66')
        $run.Parameters['NoContextExpansion'] | Should -BeTrue
        $run.Parameters.Contains('InputObject') | Should -BeFalse
        $run.Indicators['AttackerIPAddress'] | Should -Be @('198.51.100.66')
        $run.ContextExpansion | Should -BeFalse
        $run.PeriodStart | Should -Be ([datetime]::new(2026, 1, 13, 0, 0, 0, [DateTimeKind]::Utc))
        $run.PeriodStart.Kind | Should -Be 'Utc'
        $run.PeriodEnd | Should -Be ([datetime]::new(2026, 1, 15, 12, 0, 0, [DateTimeKind]::Utc))
        $run.StartTime.Kind | Should -Be 'Utc'
        $run.EndTime | Should -BeGreaterOrEqual $run.StartTime
        $run.Host | Should -Be ([Environment]::MachineName)
        $run.ModuleVersion | Should -Be (Get-Module MailAccessForensics).Version.ToString()
        $run.EngineVersion | Should -Not -BeNullOrEmpty
    }

    It 'keeps every warning and the errors of records that could not be read' {
        $broken = '{"Operation":"MailItemsAccessed","Id":"broken-1",'
        $findings = @(($Lines + $broken) | Get-CompromisedMailAccess -AttackerIPAddress 192.0.2.1 -WarningAction SilentlyContinue -ErrorAction SilentlyContinue -ErrorVariable failed)
        $run = $findings[0].Run
        $run.Warnings | Should -Match '-AttackerIPAddress 192.0.2.1 matched no record'
        $failed.Count | Should -Be 1
        @($run.ErrorMessages) | Should -Be @($failed[0].Exception.Message)
        $run.Summary.Errors | Should -Be 1
    }

    It 'gives each finding the records behind it, with the line of the file each was read from' {
        $fileLines = Get-Content -LiteralPath $Sample
        foreach ($finding in $FromFile) {
            $ids = @($finding.Evidence.RecordId | Sort-Object -Unique)
            $ids | Should -Be @($finding.EvidenceRecordIds | Sort-Object -Unique) -Because "$($finding.Kind) $($finding.Reason)"
            foreach ($record in $finding.Evidence) {
                $record | Should -BeOfType ([MailAccessForensics.EvidenceRecord])
                $record.SourceFile | Should -Be (Resolve-Path $Sample).ProviderPath
                $fileLines[$record.SourceLine - 1] | Should -Match ([regex]::Escape($record.RecordId))
                $record.Time.Kind | Should -Be 'Utc'
                if ($finding.Mailbox) { $record.Mailbox | Should -Be $finding.Mailbox }
            }
        }
        $message = $FromFile | Where-Object InternetMessageId -EQ '<20260109.0832.board-minutes@contoso.example>'
        $message.Evidence.Items | Should -Contain '<20260109.0832.board-minutes@contoso.example>'
        ($FromFile | Where-Object Kind -EQ SyncedFolder | Select-Object -First 1).Evidence[0].AccessType | Should -Be 'Sync'
    }
}

Describe 'Get-CompromisedMailAccess: the run and the evidence of the verdict''s guards (trap scenario)' {
    BeforeAll {
        $script:TrapFile = Join-Path (Get-TrapDirectory) 'traps.auditdata.jsonl'
        $script:TrapLines = Get-Content -LiteralPath $TrapFile
        $script:Indicators = @{ AttackerIPAddress = '198.51.100.66'; AttackerAppId = 'c7e2a9f4-1b3d-4e5f-8a6b-9c0d1e2f3a4b' }
        $script:Trapped = @(Get-CompromisedMailAccess -Path $TrapFile @Indicators -WarningVariable trapWarnings -WarningAction SilentlyContinue)
        $script:TrapWarnings = @($trapWarnings)
    }

    It 'keeps the placeholder and shared-identifier warnings in the run, as they were written' {
        $TrapWarnings.Count | Should -Be 2
        @($Trapped[0].Run.Warnings) | Should -Be @($TrapWarnings.Message)
        $Trapped[0].Run.Warnings[0] | Should -Match 'not a client''s \(fe80::\)'
        $Trapped[0].Run.Warnings[1] | Should -Match 'were not followed: see the SharedIndicator findings'
    }

    It 'records -AttackerAadSessionId among the indicators and whether shared identifiers were followed' {
        $Trapped[0].Run.SharedIndicatorExpansion | Should -BeFalse
        $entra = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'
        $followed = @(Get-CompromisedMailAccess -Path $TrapFile -AttackerAadSessionId $entra -ExpandSharedIndicator -WarningAction SilentlyContinue)
        $run = $followed[0].Run
        $run.Indicators['AttackerAadSessionId'] | Should -Be @($entra)
        $run.Parameters['ExpandSharedIndicator'] | Should -BeTrue
        $run.SharedIndicatorExpansion | Should -BeTrue
    }

    It 'says in its reasons why an identifier was not followed, in the words the engine used to write' {
        # The engine says these as data (issue 16); the shim words them (EngineWording.cs).
        $office = $Trapped | Where-Object { $_.Kind -eq 'SharedIndicator' -and $_.ClientIPAddress -contains '203.0.113.80' }
        $office.Reason | Should -BeExactly 'Address 203.0.113.80 was not followed: before the first record that matches an indicator (2026-03-09T01:30:00Z), 5 other context(s) used it: alice@contoso.example (Client=MSExchangeRPC) first at 2026-03-02T08:01:10Z, bob@contoso.example (Client=MSExchangeRPC) first at 2026-03-02T08:05:00Z, alice@contoso.example (Client=OWA;Action=ViaProxy) first at 2026-03-02T09:12:00Z, and 2 more. It is shared (an office egress, a carrier NAT, a VPN, a reused session), so the 20 record(s) of the period that only it would link are not counted as the attacker''s. Record 5d2e9c10-3b4a-4e6f-8a1b-0c9d8e7f0023 at 2026-03-09T12:00:00Z would have linked it (its session e7a1c3f5-2b4d-4c6e-8a0b-1c2d3e4f5a61 is the attacker''s). -ExpandSharedIndicator follows it anyway.'
        $entra = $Trapped | Where-Object { $_.Kind -eq 'SharedIndicator' -and $_.AadSessionId -contains '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0' }
        $entra.Reason | Should -BeLikeExactly 'Entra session 0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0 was not followed: before the first record that matches an indicator (2026-03-09T01:30:00Z), 1 other context(s) used it: *(its address matches -AttackerIPAddress 198.51.100.66). -ExpandSharedIndicator follows it anyway.'
        $linked = $Trapped | Where-Object { $_.Kind -eq 'AttackerIndicator' -and $_.SessionId -contains 'b5d7f9a1-3c5e-4f7a-8b9d-2e4f6a8c0d14' }
        $linked.Reason | Should -BeLikeExactly 'Session b5d7f9a1-3c5e-4f7a-8b9d-2e4f6a8c0d14 is linked to the attacker by record * at *: its address 2001:db8:77::5 is the attacker''s.'
    }

    It 'gives every finding, shared indicators included, exactly its records, each at its line of the file' {
        $Trapped.Kind | Should -Contain ([MailAccessForensics.CompromiseKind]::SharedIndicator)
        foreach ($finding in $Trapped) {
            @($finding.Evidence.RecordId) | Should -Be @($finding.EvidenceRecordIds) -Because "$($finding.Kind) $($finding.Reason)"
            foreach ($record in $finding.Evidence) {
                $TrapLines[$record.SourceLine - 1] | Should -Match ([regex]::Escape($record.RecordId))
            }
        }
        # The office address: the first record of each context that used it before, and the
        # attacker's record that would have linked it (its Entra session is named too).
        $office = $Trapped | Where-Object { $_.Kind -eq 'SharedIndicator' -and $_.ClientIPAddress -contains '203.0.113.80' }
        $office.Evidence.Count | Should -Be 6
        $linker = $office.Evidence[-1]
        $linker.RecordId | Should -Be '5d2e9c10-3b4a-4e6f-8a1b-0c9d8e7f0023'
        $linker.ClientIPAddress | Should -Be '203.0.113.80'
        @($office.Evidence | Select-Object -First 5 | ForEach-Object { $_.Time -lt [datetime]'2026-03-09T01:30:00Z' }) | Should -Not -Contain $false
    }

    It 'names, for the module''s own records given back, the file and line they were first read from' {
        $records = @(ConvertFrom-MailItemsAccessed -Path $TrapFile)
        $again = @($records | Get-CompromisedMailAccess @Indicators -WarningAction SilentlyContinue)
        $bySource = @{}
        foreach ($record in $records) { $bySource[$record.RecordId] = $record.Source }
        $evidence = @($again.Evidence)
        # The 34 EvidenceRecordIds of the 25 findings of the trap scenario's Expansion run.
        $evidence.Count | Should -Be 34
        foreach ($record in $evidence) {
            $record.Source | Should -Be $bySource[$record.RecordId]
            $record.Source | Should -Match 'traps\.auditdata\.jsonl:\d+$'
            $record.SourceFile | Should -BeNullOrEmpty
        }
    }

    It 'lists the shared indicators in the report''s summary, with why they were not followed' {
        $path = Join-Path $TestDrive 'traps.html'
        $null = Get-CompromisedMailAccess -Path $TrapFile @Indicators -Mailbox bob@contoso.example -ReportPath $path -WarningAction SilentlyContinue
        $html = Get-Content -LiteralPath $path -Raw
        $summary = $html.Substring(0, $html.IndexOf('<section id="timeline">'))
        $summary | Should -Match 'Shared indicators \(not followed\)'
        $summary | Should -Match '<code>203\.0\.113\.80</code></td><td>not followed: used by others before'
        $summary | Should -Match 'except through 2 shared one\(s\)'
        $summary | Should -Match 'Findings reported: those <code>-Mailbox bob@contoso\.example</code> select'
        $html | Should -Match '<li>2 address\(es\) or session\(s\) of the attacker'
    }
}

Describe 'Get-CompromisedMailAccess -ReportPath' {
    BeforeAll {
        $script:Lines = @(Get-BreachInput 'AuditData JSON lines')
        $script:Sample = Join-Path (Get-BreachDirectory) 'breach.purview.csv'
    }

    It 'writes the report of the run and still outputs the findings' {
        $path = Join-Path $TestDrive 'run.html'
        $findings = @(Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 198.51.100.66 -ReportPath $path)
        $findings.Count | Should -Be $Expected.GetCompromisedMailAccess.Expansion.FindingCount
        $html = Get-Content $path -Raw
        $html | Should -Match "Findings \($($findings.Count)\)"
        $html | Should -Match (Get-FileHash -LiteralPath $Sample).Hash
    }

    It 'writes the report when nothing is found, saying so with the inputs and the accounting' {
        $html = Join-Path $TestDrive 'nothing.html'
        $json = Join-Path $TestDrive 'nothing.json'
        $none = @(Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 192.0.2.1 -StartDate 2026-01-01 -EndDate 2026-01-02 -ReportPath $html -WarningAction SilentlyContinue)
        $none.Count | Should -Be 0
        $text = Get-Content $html -Raw
        $text | Should -Match 'No findings\.'
        $text | Should -Match (Get-FileHash -LiteralPath $Sample).Hash
        $text | Should -Match '<th>Read</th><td>67</td>'
        $text | Should -Match '-AttackerIPAddress 192\.0\.2\.1 matched no record'
        $null = Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 192.0.2.1 -StartDate 2026-01-01 -EndDate 2026-01-02 -ReportPath $json -WarningAction SilentlyContinue
        $document = Get-Content $json -Raw | ConvertFrom-Json
        @($document.findings).Count | Should -Be 0
        $document.run.Inputs[0].Sha256 | Should -Be (Get-FileHash -LiteralPath $Sample).Hash
        $document.run.Summary.Read | Should -Be 67
    }

    It 'writes the report before the findings, so a pipeline that stops early still has it' {
        $path = Join-Path $TestDrive 'first.json'
        $first = $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -ReportPath $path | Select-Object -First 1
        $first.Run.FindingCount | Should -Be $Expected.GetCompromisedMailAccess.Expansion.FindingCount
        @((Get-Content $path -Raw | ConvertFrom-Json).findings).Count | Should -Be $first.Run.FindingCount
    }

    It 'refuses, before reading anything, a file that exists or an extension it does not write' {
        $exists = Join-Path $TestDrive 'exists.html'
        Set-Content -LiteralPath $exists -Value 'keep'
        { $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -ReportPath $exists -ErrorAction Stop } | Should -Throw '*exists*'
        Get-Content -LiteralPath $exists | Should -Be 'keep'
        { $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -ReportPath (Join-Path $TestDrive 'run.txt') -ErrorAction Stop } |
            Should -Throw '*.html, .csv, .json or .jsonl*'
        { $Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -ReportPath (Join-Path $TestDrive 'no/such/folder/run.html') -ErrorAction Stop } |
            Should -Throw '*folder*'
    }
}
