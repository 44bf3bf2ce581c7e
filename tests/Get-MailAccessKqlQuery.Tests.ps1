# Get-MailAccessKqlQuery: every query of both tables and every step is checked offline by
# Microsoft's Kusto language service (tools/kusto/check-kql.js; ./build.ps1 Bootstrap installs
# it) against the schemas in kql/schemas, and held to the module's answers on the same records
# (tests/fixtures/kql): KQL itself cannot run here.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'KqlTestHelpers.psm1') -Force
    $script:Tables = 'OfficeActivity', 'CloudAppEvents'
    $script:Steps = 'Throttling', 'Sync', 'Context', 'Bind', 'Verdict'
    $script:Hostile = @('x"); OfficeActivity | take 1 //', 'back\slash\"quote', "tab`there", "line`nbreak`r", "it's", '@"verbatim"', '``` fence')
    # Every query the checker sees: the defaults (the files in kql/), no expansion, hostile values.
    # (Each takes the language service about a second; the semantic cases differ from these only
    # in literal values.)
    $script:Queries = @(
        foreach ($table in $Tables) {
            foreach ($step in $Steps) { @{ Name = "$table $step"; Table = $table; Step = $step; Parameters = @{} } }
            @{ Name = "$table Verdict (no expansion)"; Table = $table; Step = 'Verdict'; Parameters = @{ AttackerIPAddress = '203.0.113.77'; ExpansionRounds = 0 } }
            foreach ($step in 'Context', 'Verdict') {
                @{ Name = "$table $step (hostile indicators)"; Table = $table; Step = $step; IsHostile = $true
                    Parameters = @{ AttackerSessionId = $Hostile; AttackerIPAddress = '203.0.113.0/24', '2001:DB8::/32', '::ffff:192.0.2.0/120'; Mailbox = "o'brien@*", '*"*'; UserIds = '[ab]*`*' } }
            }
            @{ Name = "$table Verdict (every indicator, 1 round)"; Table = $table; Step = 'Verdict'; IsHostile = $true
                Parameters = @{ AttackerSessionId = $Hostile; AttackerAadSessionId = $Hostile; AttackerAppId = $Hostile; AttackerClientInfoString = '*"*', '*python*'
                    ExpansionRounds = 1; StartDate = [datetime]::new(2024, 5, 1, 0, 0, 0, [DateTimeKind]::Utc); EndDate = [datetime]::new(2024, 6, 1, 0, 0, 0, [DateTimeKind]::Utc) } }
            @{ Name = "$table Verdict (32 rounds)"; Table = $table; Step = 'Verdict'; Parameters = @{ AttackerIPAddress = '198.51.100.7'; ExpansionRounds = 32 } }
            @{ Name = "$table Verdict (shared identifiers followed, after a start date)"; Table = $table; Step = 'Verdict'
                Parameters = @{ AttackerIPAddress = '198.51.100.7'; ExpandSharedIndicator = $true; StartDate = [datetime]::new(2024, 5, 1, 0, 0, 0, [DateTimeKind]::Utc); ExpansionRounds = 3 } }
        }
    )
    $script:Semantic = foreach ($table in $Tables) { foreach ($case in Get-KqlSemanticCases) { @{ Table = $table; Case = $case.Name } } }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'KqlTestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:RepoRoot = Split-Path $PSScriptRoot -Parent

    # Runs the offline checker on queries ({Name, Text}) and returns its result per name.
    function Invoke-KqlCheck([object[]] $Queries) {
        $node = Get-Command node -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if (-not $node) { throw 'node is not on PATH: the KQL checker needs Node.js (and ./build.ps1 Bootstrap to install the Kusto language service).' }
        $input = Join-Path ([System.IO.Path]::GetTempPath()) "maf-kql-$PID-$([guid]::NewGuid().ToString('n')).json"
        try {
            Set-Content -Path $input -Value (ConvertTo-Json -InputObject @($Queries) -Depth 4) -Encoding utf8NoBOM
            $output = & $node.Source (Join-Path $RepoRoot 'tools/kusto/check-kql.js') $input 2>&1
            if ($LASTEXITCODE -ne 0) { throw "The KQL checker failed (exit code $LASTEXITCODE): $($output -join ' ')" }
            $results = @{}
            foreach ($result in ($output -join "`n" | ConvertFrom-Json)) { $results[$result.Name] = $result }
            $results
        }
        finally {
            Remove-Item $input -ErrorAction SilentlyContinue
        }
    }

    $queries = foreach ($query in $Queries) {
        $parameters = $query.Parameters
        @{ Name = $query.Name; Text = (Get-MailAccessKqlQuery -Table $query.Table -Step $query.Step @parameters) }
    }
    $script:Checked = Invoke-KqlCheck $queries
    $script:Expected = Get-Content (Join-Path (Get-KqlFixtureDirectory) 'expected.json') -Raw | ConvertFrom-Json -AsHashtable -DateKind String
}

Describe 'Get-MailAccessKqlQuery: <Name>' -ForEach $Queries {
    It 'passes Kusto''s parser and binder against the table schema with no error' {
        $result = $Checked[$Name]
        $result | Should -Not -BeNullOrEmpty
        $errors = @($result.Diagnostics | Where-Object Severity -EQ 'Error' | ForEach-Object { "$($_.Code) $($_.Message) near: $($_.Near)" })
        $errors | Should -BeNullOrEmpty
        @($result.Columns).Count | Should -BeGreaterThan 3
    }

    It 'keeps every indicator a string literal, exactly as given' -Skip:(-not $IsHostile) {
        $literals = @($Checked[$Name].StringLiterals)
        $values = @(@($Parameters.AttackerSessionId) + @($Parameters.AttackerAppId) + @($Parameters.AttackerAadSessionId) | Where-Object { $_ })
        # Each hostile case has its own values: a guard that the loop below checks some.
        $values.Count | Should -BeGreaterThan 0
        foreach ($value in $values) {
            # The engine trims indicator values, as the analysis cmdlets do.
            $literals | Should -Contain $value.Trim() -Because 'Kusto must read the value back unchanged, as data'
        }
    }
}

Describe 'Get-MailAccessKqlQuery' {
    It 'writes exactly the query files under kql/ when given no parameters' {
        foreach ($table in 'OfficeActivity', 'CloudAppEvents') {
            foreach ($step in 'Throttling', 'Sync', 'Context', 'Bind', 'Verdict') {
                $file = Get-Content (Join-Path $RepoRoot "kql/$table/$step.kql") -Raw
                (Get-MailAccessKqlQuery $table $step) -replace "`r`n", "`n" | Should -BeExactly ($file -replace "`r`n", "`n") -Because "kql/$table/$step.kql"
            }
        }
    }

    It 'declares its output and writes one string' {
        (Get-Command Get-MailAccessKqlQuery).OutputType.Type | Should -Be ([string])
        @(Get-MailAccessKqlQuery OfficeActivity Bind).Count | Should -Be 1
    }

    It 'refuses what cannot be an address, naming the parameter' {
        foreach ($bad in 'not-an-ip', '10.0.0.0/33', '2001:db8::/129', '192.0.2.1"; OfficeActivity') {
            { Get-MailAccessKqlQuery OfficeActivity Verdict -AttackerIPAddress $bad -ErrorAction Stop } |
                Should -Throw -ExpectedMessage "*-AttackerIPAddress: '*' is not an IP address or a CIDR range*"
        }
    }

    It 'refuses a parameter the step would ignore, and control characters' {
        { Get-MailAccessKqlQuery CloudAppEvents Throttling -AttackerIPAddress 192.0.2.1 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-AttackerIPAddress applies to -Step Context and Verdict only*'
        { Get-MailAccessKqlQuery CloudAppEvents Bind -ExpansionRounds 2 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-ExpansionRounds applies to -Step Verdict only*'
        { Get-MailAccessKqlQuery CloudAppEvents Context -AttackerAppId x -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-AttackerAppId applies to -Step Verdict only*'
        { Get-MailAccessKqlQuery CloudAppEvents Verdict -AttackerSessionId "a$([char]0)b" -ErrorAction Stop } | Should -Throw -ExpectedMessage '*control character U+0000*'
        { Get-MailAccessKqlQuery CloudAppEvents Verdict -ExpansionRounds 33 -ErrorAction Stop } | Should -Throw
        { Get-MailAccessKqlQuery CloudAppEvents Sync -StartDate 2024-05-02 -EndDate 2024-05-01 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*must be before*'
        { Get-MailAccessKqlQuery CloudAppEvents Context -ExpandSharedIndicator -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-ExpandSharedIndicator applies to -Step Verdict only*'
        { Get-MailAccessKqlQuery OfficeActivity Verdict -ExpandSharedIndicator -ExpansionRounds 0 -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-ExpandSharedIndicator applies to expansion*'
    }

    It 'guards against shared identifiers unless told to follow them' {
        $text = Get-MailAccessKqlQuery CloudAppEvents Verdict -AttackerIPAddress 203.0.113.77 -ExpansionRounds 2
        $text | Should -Match ([regex]::Escape('let ExpandSharedIndicator = false;'))
        $text | Should -Match 'let MafShared2 = toscalar\(MafBaseline \| where not\(InPeriod and '
        Get-MailAccessKqlQuery CloudAppEvents Verdict -AttackerIPAddress 203.0.113.77 -ExpandSharedIndicator |
            Should -Match ([regex]::Escape('let ExpandSharedIndicator = true;'))
    }

    It 'writes dates as UTC and the rounds it was asked for' {
        $local = [datetime]::new(2024, 5, 1, 12, 0, 0, [DateTimeKind]::Local)
        $text = Get-MailAccessKqlQuery OfficeActivity Verdict -StartDate $local -AttackerIPAddress 203.0.113.77 -ExpansionRounds 2
        $text | Should -Match ([regex]::Escape("let StartDate = datetime($($local.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss')).0000000Z);"))
        $text | Should -Match 'let MafLinks2 = ' -Because 'two rounds are unrolled, and one more set says whether they converged'
        $text | Should -Not -Match 'let MafLinks3 = '
        $text | Should -Match ([regex]::Escape('let AttackerIPAddress = pack_array("203.0.113.77/32");'))
    }

    It 'says in the OfficeActivity queries that the table has no SessionId' {
        foreach ($step in 'Throttling', 'Sync', 'Context', 'Bind', 'Verdict') {
            Get-MailAccessKqlQuery OfficeActivity $step | Should -Match 'OfficeActivity has no SessionId column'
        }
    }

    It 'reads OperationProperties by name and every folder, never by position' {
        foreach ($table in 'OfficeActivity', 'CloudAppEvents') {
            $text = Get-MailAccessKqlQuery $table Verdict
            $text | Should -Match 'PropertyName =~ "IsThrottled"'
            $text | Should -Not -Match 'OperationProperties\)?\[\d\]'
            $text | Should -Not -Match '(?<![A-Za-z])Folders\)?\[0\]'
        }
    }
}

Describe 'The offline checker' {
    It 'reports an unknown column, a member of a string column and a misspelt function' {
        $results = Invoke-KqlCheck @(
            @{ Name = 'column'; Text = 'OfficeActivity | where SessionId == "x"' }
            @{ Name = 'member'; Text = 'OfficeActivity | extend p = Folders[0].Path' }
            @{ Name = 'function'; Text = 'CloudAppEvents | extend x = parse_jsn(RawEventData)' }
            @{ Name = 'valid'; Text = 'CloudAppEvents | where ActionType == "MailItemsAccessed" | take 1' }
        )
        # How many errors Kusto reports for a wrong query is the language service's business.
        foreach ($name in 'column', 'member', 'function') {
            @($results[$name].Diagnostics | Where-Object Severity -EQ 'Error').Count | Should -BeGreaterThan 0 -Because "the $name query is wrong"
        }
        @($results['valid'].Diagnostics | Where-Object Severity -EQ 'Error').Count | Should -Be 0
    }
}

Describe 'What the <Case> query must return on the fixture in <Table>' -ForEach $Semantic {
    BeforeAll {
        $script:CaseInfo = Get-KqlSemanticCases | Where-Object Name -EQ $Case
        $script:Rows = @($Expected[$Table][$Case].Rows)
    }

    It 'is what the module answers on the same records' {
        $module = @(Get-ModuleKqlRows $Table $CaseInfo)
        $columns = @($Rows + $module | ForEach-Object { $_.Keys } | Select-Object -Unique)
        ConvertTo-ComparableRows $module $columns | Should -Be (ConvertTo-ComparableRows $Rows $columns)
    }

    It 'is stated in the columns the query returns' {
        $kqlParameters = $CaseInfo.Kql
        { Get-MailAccessKqlQuery -Table $Table -Step $CaseInfo.Step @kqlParameters -ErrorAction Stop } | Should -Not -Throw
        $kql = $Checked["$Table $($CaseInfo.Step)"]
        $kql | Should -Not -BeNullOrEmpty
        $names = @($kql.Columns.Name)
        foreach ($column in $Rows | ForEach-Object { $_.Keys } | Select-Object -Unique) {
            $names | Should -Contain $column
        }
    }
}
