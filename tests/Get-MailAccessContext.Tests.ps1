BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Shapes = Get-BreachShapes
    $script:Filters = @((Get-BreachExpected).GetMailAccessContextFilters | ForEach-Object { @{ Filter = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:ContextProperties = 'ClientIPAddress', 'ClientInfoString', 'SessionId', 'UserId', 'AppId', 'ClientAppId', 'Mailboxes',
        'Start', 'End', 'RecordCount', 'BindCount', 'SyncCount', 'MessageCount', 'Bytes'
    function script:Get-ContextKey($c) { "$($c.ClientIPAddress)|$($c.ClientInfoString)|$($c.SessionId)|$($c.UserId)" }
}

Describe 'Get-MailAccessContext on the breach scenario (<Shape>)' -ForEach $Shapes {
    BeforeAll {
        $script:Contexts = @(Get-BreachInput $Shape | Get-MailAccessContext)
    }

    It 'gives one object per context with what it did' {
        $actual = ConvertTo-ComparableRows $Contexts $ContextProperties
        $wanted = ConvertTo-ComparableRows $Expected.GetMailAccessContext.Contexts $ContextProperties
        ($actual | Sort-Object) | Should -Be ($wanted | Sort-Object)
    }

    It 'orders contexts by their first record' {
        $starts = $Contexts | ForEach-Object { $_.Start.ToString('o') }
        $starts | Should -Be ($starts | Sort-Object)
    }

    It 'sees one address however it is spelled' {
        # 2001:db8:bad::b is written three ways in the records.
        @($Contexts | Where-Object ClientIPAddress -EQ '2001:db8:bad::b').Count | Should -Be 3
    }
}

Describe 'Get-MailAccessContext -ClientIPAddress / -SessionId' -ForEach $Filters {
    It 'keeps the contexts of <Filter.Parameters.Keys>' {
        $parameters = $Filter.Parameters
        $contexts = @(Get-BreachInput 'AuditData JSON lines' | Get-MailAccessContext @parameters)
        $labels = foreach ($c in $contexts) {
            ($Expected.Contexts.GetEnumerator() | Where-Object { (Get-ContextKey $_.Value) -eq (Get-ContextKey $c) }).Key
        }
        @($labels | Sort-Object) | Should -Be @($Filter.ContextLabels | Sort-Object)
    }
}

Describe 'Get-MailAccessContext -Suspicious (<Shape>)' -ForEach $Shapes {
    It 'ranks the attacker''s contexts above the owner''s, with the signals that fired' {
        $baseline = $Expected.GetMailAccessContextSuspicious.Parameters.BaselineEndDate
        $ranked = @(Get-BreachInput $Shape | Get-MailAccessContext -Suspicious -BaselineEndDate $baseline)
        $actual = $ranked | ForEach-Object { "$(Get-ContextKey $_) score=$($_.Score) $((@($_.Signals) | Sort-Object) -join ',')" }
        $wanted = $Expected.GetMailAccessContextSuspicious.Contexts | ForEach-Object { "$(Get-ContextKey $_) score=$($_.Score) $((@($_.Signals) | Sort-Object) -join ',')" }
        $actual | Should -Be $wanted
    }
}

Describe 'Get-MailAccessContext -Suspicious without a baseline' {
    It 'warns that the baseline signals cannot fire' {
        $null = Get-BreachInput 'AuditData JSON lines' | Get-MailAccessContext -Suspicious -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Message | Should -Match 'BaselineEndDate'
    }
}

Describe 'Get-MailAccessContext with the token of the access' {
    It 'lists the Entra sessions and tokens each context used' {
        $contexts = @(Get-TrapInput 'AuditData JSON lines' | Get-MailAccessContext)
        $attacker = $contexts | Where-Object { $_.ClientIPAddress -eq '198.51.100.66' -and $_.SessionId -eq 'e7a1c3f5-2b4d-4c6e-8a0b-1c2d3e4f5a61' }
        $attacker.AadSessionId | Should -Be '9e8d7c6b-5a49-4838-a726-15f4e3d2c1b0'
        $attacker.UniqueTokenId | Should -Be @('Xa1x2y3z4w5v6u7t8s9r0A', 'Xa2x2y3z4w5v6u7t8s9r0A')
        $desk = $contexts | Where-Object { $_.ClientIPAddress -eq '203.0.113.80' -and $_.ClientInfoString -eq 'Client=MSExchangeRPC' -and $_.UserId -eq 'alice@contoso.example' }
        @($desk.AadSessionId).Count | Should -Be 0
    }
}
