BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $expected = Get-BreachExpected
    $script:Runs = foreach ($shape in Get-BreachShapes) {
        foreach ($run in $expected.GetCompromisedMailAccess.Keys) { @{ Shape = $shape.Shape; Run = $run } }
    }
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
        ($byRange | Where-Object Kind -EQ AccessedMessage).Count | Should -BeGreaterThan 0
        ($bySixRange | Where-Object Kind -EQ SyncedFolder).Count | Should -BeGreaterThan 0
        $bySession = $Lines | Get-CompromisedMailAccess -AttackerSessionId 'E1C6B0F2-7A3D-4B8E-9F15-2C4D6A8B0E16' -NoContextExpansion
        ($bySession | Where-Object Kind -EQ AttackerIndicator).SessionId | Should -Be 'e1c6b0f2-7a3d-4b8e-9f15-2c4d6a8b0e16'
    }

    It 'refuses an indicator that is not an address, with a clear error' {
        { $Lines | Get-CompromisedMailAccess -AttackerIPAddress 'not-an-ip' -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*-AttackerIPAddress: 'not-an-ip' is not an IP address or a CIDR range*"
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

Describe 'Get-CompromisedMailAccess -ReportPath' {
    BeforeAll {
        $script:Lines = @(Get-BreachInput 'AuditData JSON lines')
        $script:Sample = Join-Path (Get-BreachDirectory) 'breach.purview.csv'
    }

    It 'writes the report of the run and still outputs the findings' {
        $path = Join-Path $TestDrive 'run.html'
        $findings = @(Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 198.51.100.66 -ReportPath $path)
        $findings.Count | Should -BeGreaterThan 0
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
        $first | Should -Not -BeNullOrEmpty
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
