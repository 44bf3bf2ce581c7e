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
        ($byRange | Where-Object Kind -EQ AccessedMessage).Count | Should -BeGreaterThan 0
        ($bySixRange | Where-Object Kind -EQ SyncedFolder).Count | Should -BeGreaterThan 0
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
        ($bob | ConvertTo-Json -Depth 3) | Should -Be ($wanted | ConvertTo-Json -Depth 3)
        $tally.Filtered | Should -BeGreaterThan 0
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
