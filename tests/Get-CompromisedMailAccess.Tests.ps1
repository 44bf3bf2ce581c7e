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
