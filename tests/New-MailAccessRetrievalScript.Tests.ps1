BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Stubs = Join-Path $PSScriptRoot 'fixtures/retrieval/Invoke-WithGraphStubs.ps1'
    $script:Findings = @(Get-BreachInput 'AuditData JSON lines' | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
    $script:Language = [System.Management.Automation.Language.Parser]

    # A script's syntax tree, with its parse errors.
    function Read-Script([string] $Path) {
        $tokens = $null; $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($Path, [ref]$tokens, [ref]$errors)
        [pscustomobject]@{ Ast = $ast; Tokens = $tokens; Errors = $errors }
    }

    # The statement $Plan = @(...) of a generated script.
    function Get-PlanStatement($Ast) {
        $plans = @($Ast.FindAll({
                    param($node)
                    $node -is [System.Management.Automation.Language.AssignmentStatementAst] -and
                    $node.Left -is [System.Management.Automation.Language.VariableExpressionAst] -and $node.Left.VariablePath.UserPath -eq 'Plan'
                }, $true))
        $plans.Count | Should -Be 1 -Because 'the plan is assigned once'
        $plans[0]
    }

    # The plan as data: its values, with Base64 forms decoded, one hashtable per retrieval.
    function Get-PlanData($Ast) {
        # SafeGetValue evaluates only constants: it throws on a command, a variable or an expansion.
        foreach ($entry in @((Get-PlanStatement $Ast).Right.Expression.SafeGetValue())) {
            $values = @{}
            foreach ($name in $entry.Keys) {
                if ($name -like '*Base64') {
                    $values[$name.Substring(0, $name.Length - 6)] = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($entry[$name]))
                }
                else { $values[$name] = $entry[$name] }
            }
            $values
        }
    }

    # The tokens of a script outside its plan and comments: its code.
    function Get-CodeTokens($Script) {
        $plan = (Get-PlanStatement $Script.Ast).Extent
        foreach ($token in $Script.Tokens) {
            if ($token.Kind -ne 'Comment' -and ($token.Extent.EndOffset -le $plan.StartOffset -or $token.Extent.StartOffset -ge $plan.EndOffset)) {
                "$($token.Kind) $($token.Text)"
            }
        }
    }

    # Runs a generated script in a child pwsh against stubs of the Graph cmdlets over a fake store
    # (tests/fixtures/retrieval), and returns what it did.
    function Invoke-Retrieval {
        param(
            [Parameter(Mandatory)] [string] $Script,
            [Parameter(Mandatory)] [hashtable] $Store,
            [Parameter(Mandatory)] [string] $OutputDirectory,
            [hashtable] $Arguments = @{ SharedMailboxAccess = $true },
            [hashtable] $Environment = @{}
        )
        $work = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
        New-Item -ItemType Directory -Path $work | Out-Null
        $Store | Export-Clixml (Join-Path $work 'store.xml')
        $all = @{ OutputDirectory = $OutputDirectory } + $Arguments
        $all | Export-Clixml (Join-Path $work 'arguments.xml')
        $log = Join-Path $work 'calls.jsonl'
        $variables = @{ MAF_FAKE_STORE = (Join-Path $work 'store.xml'); MAF_GRAPH_LOG = $log } + $Environment
        $saved = @{}
        foreach ($name in $variables.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $variables[$name]) }
        try {
            $output = & (Get-PwshPath) -NoProfile -NonInteractive -File $Stubs -Script $Script -ArgumentsPath (Join-Path $work 'arguments.xml') -OutputPath (Join-Path $work 'result.xml') 2>&1 |
                ForEach-Object { "$_" }
            $exitCode = $LASTEXITCODE
        }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $result = if (Test-Path (Join-Path $work 'result.xml')) { Import-Clixml (Join-Path $work 'result.xml') } else { @{ Result = $null; Warnings = @() } }
        $manifestPath = Join-Path $OutputDirectory 'manifest.csv'
        [pscustomobject]@{
            ExitCode = $exitCode
            Output   = $output -join "`n"
            Summary  = $result.Result
            Warnings = @($result.Warnings)
            Calls    = @(if (Test-Path $log) { Get-Content $log | ForEach-Object { $_ | ConvertFrom-Json } })
            Manifest = @(if (Test-Path $manifestPath) { Import-Csv $manifestPath })
        }
    }

    function New-FakeMessage([string] $Id, [string] $FolderId, [string] $InternetMessageId, [string] $Received, [string] $Subject = 'A message', [string] $From = 'someone@fabrikam.example') {
        @{
            Id = $Id; FolderId = $FolderId; InternetMessageId = $InternetMessageId; Subject = $Subject; From = $From
            Received = [datetime]::Parse($Received, [cultureinfo]::InvariantCulture, 'AdjustToUniversal,AssumeUniversal')
            Mime = "Message-ID: $InternetMessageId`r`nSubject: $Subject`r`nFrom: $From`r`n`r`nThe body of $Id.`r`n"
        }
    }

    function New-FakeFolder([string] $Id, [string] $DisplayName, [string] $ParentId, [string] $WellKnownName, [switch] $Hidden) {
        @{ Id = $Id; DisplayName = $DisplayName; ParentId = $ParentId; WellKnownName = $WellKnownName; Hidden = [bool]$Hidden }
    }

    # The mailboxes of the breach scenario as Exchange Online holds them when the investigator
    # runs the script: what the attacker read, a message since purged (payroll-q4), one since
    # deleted (acquisition-memo, in Recoverable Items), and messages just inside and just outside
    # each listing's bound.
    $script:BreachStore = @{
        'alice@contoso.example' = @{
            Folders  = @(
                New-FakeFolder 'AAMkAl-inbox' 'Inbox' $null 'inbox'
                New-FakeFolder 'AAMkAl-finance' 'Finance' $null $null
                New-FakeFolder 'AAMkAl-deletions' 'Deletions' $null 'recoverableitemsdeletions' -Hidden
            )
            Messages = @(
                New-FakeMessage 'AAMkAl-m1' 'AAMkAl-inbox' '<20260109.0832.board-minutes@contoso.example>' '2026-01-09T08:32:00Z' 'Board minutes'
                New-FakeMessage 'AAMkAl-m2' 'AAMkAl-inbox' '<20260112.1710.wire-instructions@fabrikam.example>' '2026-01-12T17:10:00Z' '=HYPERLINK("http://evil.example","Wire")' '@evil.example'
                New-FakeMessage 'AAMkAl-m3' 'AAMkAl-inbox' '<20260113.0901.contract-draft@fabrikam.example>' '2026-01-13T09:01:00Z'
                New-FakeMessage 'AAMkAl-m4' 'AAMkAl-inbox' '<20260113.1130.vpn-reset@contoso.example>' '2026-01-13T11:30:00Z'
                New-FakeMessage 'AAMkAl-m5' 'AAMkAl-inbox' '<20260113.1522.invoice-7781@fabrikam.example>' '2026-01-13T15:22:00Z'
                New-FakeMessage 'AAMkAl-m6' 'AAMkAl-inbox' '<at-last-sync@contoso.example>' '2026-01-13T21:40:07Z'
                New-FakeMessage 'AAMkAl-m7' 'AAMkAl-inbox' '<after-last-sync@contoso.example>' '2026-01-13T21:40:08Z'
                New-FakeMessage 'AAMkAl-m8' 'AAMkAl-inbox' '<at-window-end@contoso.example>' '2026-01-15T22:00:00Z'
                New-FakeMessage 'AAMkAl-f1' 'AAMkAl-finance' '<20251218.1000.budget-2026@contoso.example>' '2025-12-18T10:00:00Z'
                New-FakeMessage 'AAMkAl-f2' 'AAMkAl-finance' '<after-finance-sync@contoso.example>' '2026-01-14T09:05:14Z'
                New-FakeMessage 'AAMkAl-d1' 'AAMkAl-deletions' '<20260105.1612.acquisition-memo@contoso.example>' '2026-01-05T16:12:00Z'
            )
        }
        'bob@contoso.example'   = @{
            Folders  = @(
                New-FakeFolder 'AAMkBo-inbox' 'Inbox' $null 'inbox'
                New-FakeFolder 'AAMkBo-deletions' 'Deletions' $null 'recoverableitemsdeletions' -Hidden
            )
            Messages = @(
                New-FakeMessage 'AAMkBo-m1' 'AAMkBo-inbox' '<20260112.1645.term-sheet@fabrikam.example>' '2026-01-12T16:45:00Z'
                New-FakeMessage 'AAMkBo-m2' 'AAMkBo-inbox' '<20260113.0930.board-pack@contoso.example>' '2026-01-13T09:30:00Z'
                New-FakeMessage 'AAMkBo-m3' 'AAMkBo-inbox' '<20260113.1815.bank-details@fabrikam.example>' '2026-01-13T18:15:00Z'
            )
        }
    }
    $script:BreachScript = Join-Path $TestDrive 'retrieve.ps1'
    $script:Retrievals = @($Findings | New-MailAccessRetrievalScript -Path $BreachScript -Verbose 4>&1 | Tee-Object -Variable everything | Where-Object { $_ -is [MailAccessForensics.MessageRetrieval] })
    $script:Verbose = @($everything | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
    $script:Parsed = Read-Script $BreachScript
}

Describe 'New-MailAccessRetrievalScript plans' {
    It 'one retrieval per finding that names mail, in the findings'' order, and says what it passed over' {
        $named = @($Findings | Where-Object Kind -NE 'AttackerIndicator')
        $Retrievals.Count | Should -Be $named.Count
        $Retrievals.Count | Should -Be 15
        $Retrievals.Id | Should -Be @(1..15 | ForEach-Object { 'R{0:D4}' -f $_ })
        for ($i = 0; $i -lt $named.Count; $i++) {
            $Retrievals[$i].PSObject.TypeNames[0] | Should -Be 'MailAccessForensics.MessageRetrieval'
            $Retrievals[$i].Finding | Should -Be $named[$i]
            $Retrievals[$i].Kind | Should -Be $named[$i].Kind
            $Retrievals[$i].Mailbox | Should -Be $named[$i].Mailbox
            $Retrievals[$i].EvidenceRecordIds | Should -Be $named[$i].EvidenceRecordIds
        }
        $Verbose | Should -Contain '5 AttackerIndicator finding(s) need no retrieval: they describe the attacker, not mail.'
        Get-FormatData -TypeName 'MailAccessForensics.MessageRetrieval' | Should -Not -BeNullOrEmpty
    }

    It 'saves what was read and synced, lists windows and lost reads, up to the right time' {
        foreach ($r in $Retrievals) {
            switch ($r.Kind) {
                'AccessedMessage' { $r.Action | Should -Be 'Save'; $r.ReceivedBefore | Should -BeNullOrEmpty; $r.InternetMessageId | Should -Be $r.Finding.InternetMessageId }
                'SyncedFolder' { $r.Action | Should -Be 'Save'; $r.ReceivedBefore | Should -Be $r.Finding.End; $r.GraphRequest | Should -Match 'receivedDateTime le ' }
                'ThrottledWindow' { $r.Action | Should -Be 'List'; $r.ReceivedBefore | Should -Be $r.Finding.End; $r.GraphRequest | Should -Match 'receivedDateTime lt ' }
                'UnresolvedAccess' { $r.Action | Should -Be 'List'; $r.ReceivedBefore | Should -Be $r.Finding.End; $r.FolderPath | Should -Be '\Inbox' }
            }
            $r.Limits | Should -Not -BeNullOrEmpty
        }
        $window = $Retrievals | Where-Object Kind -EQ 'ThrottledWindow'
        $window.ComplianceSearchCommand | Should -Match "-ContentMatchQuery 'received<2026-01-16'"
        ($Retrievals | Where-Object Kind -EQ 'AccessedMessage')[0].MessageTraceCommand |
            Should -Be "Get-MessageTraceV2 -MessageId '<20260109.0832.board-minutes@contoso.example>' -StartDate '2026-01-03T19:05:03Z' -EndDate '2026-01-13T19:05:03Z'"
    }

    It 'gives commands that are one call each, with data only in single-quoted literals' {
        $allowed = 'Get-MgUserMessage', 'Get-MgUserMailFolderMessage', 'Invoke-MgGraphRequest', 'Get-MessageTraceV2', 'New-ComplianceSearch', 'Start-ComplianceSearch'
        foreach ($r in $Retrievals) {
            foreach ($text in $r.PowerShellCommand, $r.MessageTraceCommand, $r.ComplianceSearchCommand | Where-Object { $_ }) {
                $tokens = $null; $errors = $null
                $ast = $Language::ParseInput($text, [ref]$tokens, [ref]$errors)
                $errors | Should -BeNullOrEmpty
                foreach ($command in $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true)) {
                    $command.GetCommandName() | Should -BeIn $allowed
                    $strange = foreach ($element in $command.CommandElements | Select-Object -Skip 1) {
                        $literal = $element -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $element.StringConstantType -eq 'SingleQuoted'
                        if (-not ($literal -or $element -is [System.Management.Automation.Language.CommandParameterAst] -or $element.Extent.Text -eq '$folderId')) { $element.Extent.Text }
                    }
                    @($strange) | Should -BeNullOrEmpty -Because $text
                }
            }
        }
    }
}

Describe 'The retrieval script' {
    It 'parses, is UTF-8 with a byte order mark, and holds the plan as constants only' {
        $Parsed.Errors | Should -BeNullOrEmpty
        [IO.File]::ReadAllBytes($BreachScript)[0..2] | Should -Be @(0xEF, 0xBB, 0xBF)
        $plan = @(Get-PlanData $Parsed.Ast)
        $plan.Count | Should -Be 15
        for ($i = 0; $i -lt 15; $i++) {
            $plan[$i].Id | Should -Be $Retrievals[$i].Id
            $plan[$i].Kind | Should -Be $Retrievals[$i].Kind
            $plan[$i].Mailbox | Should -Be $Retrievals[$i].Mailbox
            $plan[$i].InternetMessageId | Should -Be $Retrievals[$i].InternetMessageId
        }
    }

    It 'is the same for the same findings, also after Export-Clixml and Import-Clixml' {
        $again = Join-Path $TestDrive 'again.ps1'
        $Findings | New-MailAccessRetrievalScript -Path $again | Out-Null
        (Get-FileHash $again).Hash | Should -Be (Get-FileHash $BreachScript).Hash
        $Findings | Export-Clixml (Join-Path $TestDrive 'findings.xml')
        $fromFile = Join-Path $TestDrive 'from-clixml.ps1'
        $restored = @(Import-Clixml (Join-Path $TestDrive 'findings.xml') | New-MailAccessRetrievalScript -Path $fromFile)
        $restored.Count | Should -Be 15
        (Get-FileHash $fromFile).Hash | Should -Be (Get-FileHash $BreachScript).Hash
    }

    It 'uses no syntax Windows PowerShell 5.1 lacks' {
        $modern = $Parsed.Ast.FindAll({
                param($node)
                $node -is [System.Management.Automation.Language.TernaryExpressionAst] -or
                $node -is [System.Management.Automation.Language.PipelineChainAst] -or
                ($node -is [System.Management.Automation.Language.BinaryExpressionAst] -and $node.Operator -eq 'QuestionQuestion') -or
                ($node -is [System.Management.Automation.Language.AssignmentStatementAst] -and $node.Operator -eq 'QuestionQuestionEquals') -or
                ($node -is [System.Management.Automation.Language.MemberExpressionAst] -and $node.NullConditional) -or
                ($node -is [System.Management.Automation.Language.IndexExpressionAst] -and $node.NullConditional) -or
                ($node -is [System.Management.Automation.Language.NamedBlockAst] -and $node.BlockKind -eq 'Clean')
            }, $true)
        @($modern | ForEach-Object { $_.Extent.Text }) | Should -BeNullOrEmpty
    }

    It 'does not overwrite a file without -Force, and writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'exists.ps1'
        Set-Content -Path $path -Value 'keep'
        { $Findings | New-MailAccessRetrievalScript -Path $path -ErrorAction Stop } | Should -Throw '*use -Force*'
        $planned = @($Findings | New-MailAccessRetrievalScript -Path $path -Force -WhatIf)
        $planned.Count | Should -Be 15
        Get-Content $path | Should -Be 'keep'
    }

    It 'errs on what is not a finding, warns on a kind it does not know, passes over indicators' {
        $typed = {
            param($kind, $extra)
            $values = @{ Kind = $kind; Mailbox = 'alice@contoso.example'; Start = [datetime]'2026-01-01'; End = [datetime]'2026-01-02' }
            foreach ($name in $extra.Keys) { $values[$name] = $extra[$name] }
            $o = [pscustomobject]$values
            $o.PSObject.TypeNames.Insert(0, 'Deserialized.MailAccessForensics.CompromiseFinding')
            $o
        }
        $inputs = @(
            (& $typed 'SharedIndicator' @{})
            (& $typed 'FutureKind' @{})
            (& $typed 'AccessedMessage' @{})
            (& $typed 'AccessedMessage' @{ InternetMessageId = '<ok@contoso.example>' })
            (& $typed 'ThrottledWindow' @{ Mailbox = 'REDACTED' })
            [pscustomobject]@{ Kind = 'AccessedMessage'; Mailbox = 'alice@contoso.example' }
            'text'
        )
        $path = Join-Path $TestDrive 'odd.ps1'
        $out = @($inputs | New-MailAccessRetrievalScript -Path $path -ErrorVariable errs -WarningVariable warns -ErrorAction SilentlyContinue -WarningAction SilentlyContinue -Verbose 4>&1)
        @($out | Where-Object { $_ -is [MailAccessForensics.MessageRetrieval] }).Mailbox | Should -Be @('alice@contoso.example', 'REDACTED')
        @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain '1 SharedIndicator finding(s) need no retrieval: they describe the attacker, not mail.'
        $warns.Count | Should -Be 2
        $warns[0].Message | Should -Match "kind 'FutureKind'"
        $warns[1].Message | Should -Match "mailbox 'REDACTED' is neither a user principal name nor an object id"
        $errs.Count | Should -Be 3
        $errs[0].Exception.Message | Should -Match 'has no InternetMessageId'
        $errs[1].Exception.Message | Should -Match 'Not a finding'
        $errs[2].FullyQualifiedErrorId | Should -Match 'MailAccessForensics.RetrievalFindingInvalid'
    }
}

Describe 'The retrieval script with hostile audit strings' {
    BeforeAll {
        # Message ids and folder names as an attacker could write them: quotes of every kind,
        # subexpressions, variables, backticks, semicolons, line breaks with '@ at a line start,
        # comment marks, a bidirectional override, and '+' and '%' that the Graph SDK would alter.
        # PowerShell ends a single-quoted string at any of ' ‘ ’ ‚ ‛: these are written by code point.
        $l, $r, $low, $rev = [char]0x2018, [char]0x2019, [char]0x201A, [char]0x201B
        $script:HostileIds = @(
            "<it's@evil.example>"
            "<${l}left${r}${low}low${rev}reversed@evil.example>"
            '<$(Set-Content pwned.txt pwned)@evil.example>'
            '<${env:USERNAME}$true@evil.example>'
            '<`whoami`;calc;@evil.example>'
            "<line1`n'@`n@'`r`nline2@evil.example>"
            '<"double" ""quotes""#<#comment#>@evil.example>'
            '<plus+sign%2Bpercent@evil.example>'
            "<rtl$([char]0x202E)lmth.exe@evil.example>"
        )
        $script:HostileName = 'Projets ' + $l + '2026' + $r + '; $(Set-Content pwned.txt pwned)' + "`n'@"
        $script:HostileFolder = '\Boîte de réception\' + $HostileName
        $records = @(
            [ordered]@{
                CreationTime = '2026-02-01T10:00:00'; Id = 'hostile-bind'; Operation = 'MailItemsAccessed'; RecordType = 50; UserType = 0; Workload = 'Exchange'
                UserId = 'alice@contoso.example'; MailboxOwnerUPN = 'alice@contoso.example'; ClientIPAddress = '198.51.100.66'; ClientInfoString = 'Client=REST;;'
                SessionId = 'hostile-session'; OperationCount = $HostileIds.Count
                OperationProperties = @(@{ Name = 'MailAccessType'; Value = 'Bind' }, @{ Name = 'IsThrottled'; Value = 'False' })
                Folders = @(@{ Path = '\Inbox'; FolderItems = @($HostileIds | ForEach-Object { @{ InternetMessageId = $_ } }) })
            }
            [ordered]@{
                CreationTime = '2026-02-01T11:00:00'; Id = 'hostile-sync'; Operation = 'MailItemsAccessed'; RecordType = 50; UserType = 0; Workload = 'Exchange'
                UserId = "o'brien@contoso.example"; MailboxOwnerUPN = "o'brien@contoso.example"; ClientIPAddress = '198.51.100.66'; ClientInfoString = 'Client=MSExchangeRPC'
                SessionId = 'hostile-session'; OperationCount = 1
                OperationProperties = @(@{ Name = 'MailAccessType'; Value = 'Sync' }, @{ Name = 'IsThrottled'; Value = 'False' })
                Folders = @(@{ Path = $HostileFolder })
            }
        ) | ForEach-Object { $_ | ConvertTo-Json -Compress -Depth 6 }
        $script:HostileFindings = @($records | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
        $script:HostileScript = Join-Path $TestDrive 'hostile.ps1'
        $script:HostileRetrievals = @($HostileFindings | New-MailAccessRetrievalScript -Path $HostileScript)
        $script:HostileParsed = Read-Script $HostileScript

        $messages = @()
        $n = 0
        foreach ($id in $HostileIds) {
            $n++
            $messages += New-FakeMessage "AAMkH-$n" 'AAMkH-inbox' $id '2026-01-20T10:00:00Z'
        }
        # Three copies of the '+' message: two pages of Invoke-MgGraphRequest.
        $messages += New-FakeMessage 'AAMkH-plus2' 'AAMkH-inbox' '<plus+sign%2Bpercent@evil.example>' '2026-01-21T10:00:00Z'
        $messages += New-FakeMessage 'AAMkH-plus3' 'AAMkH-archive' '<plus+sign%2Bpercent@evil.example>' '2026-01-22T10:00:00Z'
        # What an SDK that decodes the filter would look for instead.
        $messages += New-FakeMessage 'AAMkH-decoy' 'AAMkH-inbox' '<plus sign percent@evil.example>' '2026-01-22T10:00:00Z'
        $script:HostileStore = @{
            'alice@contoso.example'   = @{
                Folders  = @(
                    New-FakeFolder 'AAMkH-inbox' 'Inbox' $null 'inbox'
                    New-FakeFolder 'AAMkH-archive' 'Archive' $null 'archive'
                    New-FakeFolder 'AAMkH-deletions' 'Deletions' $null 'recoverableitemsdeletions' -Hidden
                )
                Messages = $messages
            }
            "o'brien@contoso.example" = @{
                Folders  = @(
                    New-FakeFolder 'AAMkO-inbox' 'Boîte de réception' $null 'inbox'
                    New-FakeFolder 'AAMkO-decoy' $HostileName 'AAMkO-other' $null
                    New-FakeFolder 'AAMkO-other' 'Autre' $null $null
                    New-FakeFolder 'AAMkO-projets' $HostileName 'AAMkO-inbox' $null -Hidden
                )
                Messages = @(
                    New-FakeMessage 'AAMkO-m1' 'AAMkO-projets' '<synced-1@contoso.example>' '2026-01-30T09:00:00Z'
                    New-FakeMessage 'AAMkO-m2' 'AAMkO-projets' '<synced-2@contoso.example>' '2026-02-01T11:00:00Z'
                    New-FakeMessage 'AAMkO-m3' 'AAMkO-projets' '<after-sync@contoso.example>' '2026-02-01T11:00:01Z'
                    New-FakeMessage 'AAMkO-m4' 'AAMkO-decoy' '<decoy@contoso.example>' '2026-01-30T09:00:00Z'
                )
            }
        }
    }

    It 'plans every hostile message id and the hostile folder' {
        @($HostileRetrievals | Where-Object Kind -EQ 'AccessedMessage').InternetMessageId | Sort-Object | Should -Be ($HostileIds | Sort-Object)
        ($HostileRetrievals | Where-Object Kind -EQ 'SyncedFolder').FolderPath | Should -Be $HostileFolder
    }

    It 'parses, and every hostile value is a constant of the plan that reads back exactly' {
        $HostileParsed.Errors | Should -BeNullOrEmpty
        $plan = @(Get-PlanData $HostileParsed.Ast)
        @($plan | Where-Object Kind -EQ 'AccessedMessage' | ForEach-Object { $_.InternetMessageId }) | Sort-Object | Should -Be ($HostileIds | Sort-Object)
        ($plan | Where-Object Kind -EQ 'SyncedFolder').FolderPath | Should -Be $HostileFolder
        ($plan | Where-Object Kind -EQ 'SyncedFolder').Mailbox | Should -Be "o'brien@contoso.example"
        # Values with line breaks or a bidirectional override are Base64, the others literals.
        $text = Get-Content $HostileScript -Raw
        $text | Should -Not -Match ([regex]::Escape([string][char]0x202E))
        $text | Should -Match "InternetMessageId = '<it''s@evil\.example>'"
        $text | Should -Match "InternetMessageId = '<$l${l}left$r$r$low${low}low$rev${rev}reversed@evil\.example>'"
    }

    It 'has nothing but single-quoted constants in the plan: no command, variable, expansion or subexpression' {
        $plan = (Get-PlanStatement $HostileParsed.Ast).Right
        $allowed = 'PipelineAst', 'CommandExpressionAst', 'ArrayExpressionAst', 'StatementBlockAst', 'HashtableAst', 'StringConstantExpressionAst'
        $nodes = $plan.FindAll({ $true }, $true)
        $strange = foreach ($node in $nodes) {
            if ($node.GetType().Name -notin $allowed) { $node.Extent.Text }
            elseif ($node -is [System.Management.Automation.Language.StringConstantExpressionAst]) {
                # Keys are barewords; every value is single-quoted.
                $isKey = $node.StringConstantType -eq 'BareWord' -and $node.Value -match '^[A-Za-z0-9]+$'
                if (-not $isKey -and $node.StringConstantType -ne 'SingleQuoted') { $node.Extent.Text }
            }
        }
        @($nodes).Count | Should -BeGreaterThan 100
        @($strange) | Should -BeNullOrEmpty
        # Tokens too: nothing in the plan's extent but literals, keys and punctuation.
        $extent = (Get-PlanStatement $HostileParsed.Ast).Extent
        $inPlan = foreach ($token in $HostileParsed.Tokens) { if ($token.Extent.StartOffset -ge $extent.StartOffset -and $token.Extent.EndOffset -le $extent.EndOffset) { $token } }
        @($inPlan | Where-Object Kind -NotIn 'Variable', 'Equals', 'AtParen', 'AtCurly', 'NewLine', 'StringLiteral', 'Identifier', 'RCurly', 'RParen') | Should -BeNullOrEmpty
        @($inPlan | Where-Object Kind -EQ 'Variable').Text | Should -Be '$Plan'
    }

    It 'has the same code as any other plan: the audit strings changed none of it' {
        $hostile = @(Get-CodeTokens $HostileParsed)
        $hostile.Count | Should -BeGreaterThan 2000
        ($hostile -join "`n") | Should -BeExactly (@(Get-CodeTokens $Parsed) -join "`n")
    }

    It 'finds and saves exactly the hostile messages, through Invoke-MgGraphRequest where the SDK would alter the id' {
        $out = Join-Path $TestDrive 'hostile-out'
        $run = Invoke-Retrieval -Script $HostileScript -Store $HostileStore -OutputDirectory $out
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Summary.Failed | Should -Be 0 -Because ($run.Warnings -join '; ')
        $run.Summary.NotFound | Should -Be 0
        $run.Summary.FolderNotFound | Should -Be 0
        Test-Path (Join-Path $TestDrive 'pwned.txt') | Should -BeFalse
        Test-Path (Join-Path $out 'pwned.txt') | Should -BeFalse
        $saved = @($run.Manifest | Where-Object Status -EQ 'Saved')
        # An id can name several messages (the plus-sign one names three, checked below).
        foreach ($id in $HostileIds) {
            @($saved | Where-Object { $_.Mailbox -eq 'alice@contoso.example' -and $_.InternetMessageId -ceq $id }).Count | Should -BeGreaterThan 0 -Because "$id is saved"
        }
        @($saved | Where-Object InternetMessageId -CEQ '<plus+sign%2Bpercent@evil.example>').GraphMessageId | Sort-Object | Should -Be @('AAMkH-8', 'AAMkH-plus2', 'AAMkH-plus3')
        $saved.GraphMessageId | Should -Not -Contain 'AAMkH-decoy'
        $uriCalls = @($run.Calls | Where-Object Command -EQ 'Invoke-MgGraphRequest')
        $uriCalls.Count | Should -Be 2 -Because 'three copies come on two pages'
        $uriCalls[0].Parameters.Uri | Should -BeLike 'v1.0/users/alice%40contoso.example/messages?$filter=internetMessageId%20eq%20%27%3Cplus%2Bsign%252Bpercent%40evil.example%3E%27&*'
        $sdkFilters = @($run.Calls | Where-Object Command -EQ 'Get-MgUserMessage' | ForEach-Object { $_.Parameters.Filter })
        $sdkFilters | Should -Contain "internetMessageId eq '<it''s@evil.example>'"
        @($sdkFilters | Where-Object { $_ -match '\+|%' }) | Should -BeNullOrEmpty
        # The synced folder, by its nested, localised, hostile path, hidden folder included.
        $synced = @($saved | Where-Object Mailbox -EQ "o'brien@contoso.example")
        $synced.GraphMessageId | Sort-Object | Should -Be @('AAMkO-m1', 'AAMkO-m2')
        $synced[0].Location | Should -Be $HostileFolder
        foreach ($row in $saved) {
            (Get-FileHash (Join-Path $out $row.File) -Algorithm SHA256).Hash | Should -Be $row.Sha256
        }
    }
}

Describe 'Running the retrieval script against stand-ins of Microsoft Graph' {
    BeforeAll {
        $script:Out = Join-Path $TestDrive 'run-1'
        $script:Run = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $Out
        function Get-Rows($Run, [string] $Id, [string] $Status) { @($Run.Manifest | Where-Object { $_.RetrievalId -eq $Id -and (-not $Status -or $_.Status -eq $Status) }) }
    }

    It 'signs in with Mail.Read.Shared only, and asks every request for immutable ids' {
        $Run.ExitCode | Should -Be 0 -Because $Run.Output
        $connect = @($Run.Calls | Where-Object Command -EQ 'Connect-MgGraph')
        $connect.Count | Should -Be 1
        @($connect[0].Parameters.Scopes) | Should -Be @('Mail.Read.Shared')
        $Run.Calls.Count | Should -BeGreaterThan 20
        $Run.Manifest[0].Status | Should -Be 'Run'
        $Run.Manifest[0].RunBy | Should -Be 'investigator@contoso.example'
        $Run.Manifest[0].Sha256 | Should -Be (Get-FileHash $BreachScript -Algorithm SHA256).Hash
    }

    It 'saves each message read once, as .eml, with its SHA-256 in the manifest' {
        $saved = @($Run.Manifest | Where-Object Status -EQ 'Saved')
        $saved.GraphMessageId | Sort-Object | Should -Be @('AAMkAl-d1', 'AAMkAl-f1', 'AAMkAl-m1', 'AAMkAl-m2', 'AAMkAl-m3', 'AAMkAl-m4', 'AAMkAl-m5', 'AAMkAl-m6', 'AAMkBo-m1', 'AAMkBo-m2', 'AAMkBo-m3')
        @($Run.Calls | Where-Object Command -EQ 'Get-MgUserMessageContent').Count | Should -Be 10
        @($Run.Calls | Where-Object Command -EQ 'Get-MgUserMailFolderMessageContent').Parameters.MessageId | Should -Be 'AAMkAl-d1'
        foreach ($row in $saved) {
            $file = Join-Path $Out $row.File
            (Get-FileHash $file -Algorithm SHA256).Hash | Should -Be $row.Sha256
            (Get-Item $file).Length | Should -Be ([long]$row.Bytes)
            $message = @($BreachStore.Values | ForEach-Object { $_.Messages } | Where-Object Id -EQ $row.GraphMessageId)[0]
            [IO.File]::ReadAllText($file) | Should -Be $message.Mime
            $row.InternetMessageId | Should -Be $message.InternetMessageId
        }
        @(Get-ChildItem $Out -Recurse -Filter *.eml).Count | Should -Be 11
        @(Get-ChildItem $Out -Recurse -Filter *.partial).Count | Should -Be 0
    }

    It 'records what it did not find, after looking in Recoverable Items' {
        (Get-Rows $Run 'R0002' 'NotFound').Note | Should -Match 'Recoverable Items'
        $lookups = @($Run.Calls | Where-Object { $_.Command -eq 'Get-MgUserMailFolderMessage' -and $_.Parameters.Filter -eq "internetMessageId eq '<20260111.1404.payroll-q4@contoso.example>'" })
        $lookups.Parameters.MailFolderId | Should -Be 'recoverableitemsdeletions'
        (Get-Rows $Run 'R0004' 'Saved').Location | Should -Be 'RecoverableItemsDeletions'
        (Get-Rows $Run 'R0004' 'Done').Note | Should -Match 'Recoverable Items'
    }

    It 'lists synced folders up to the last sync, windows before their end, lost reads as candidates' {
        # \Inbox synced last at 21:40:07: the message received then is in, the one a second later is not.
        (Get-Rows $Run 'R0010' | Where-Object Status -In 'Saved', 'AlreadySaved').InternetMessageId | Should -Contain '<at-last-sync@contoso.example>'
        (Get-Rows $Run 'R0010').InternetMessageId | Should -Not -Contain '<after-last-sync@contoso.example>'
        (Get-Rows $Run 'R0009').InternetMessageId | Should -Not -Contain '<after-finance-sync@contoso.example>'
        # The window ends at 22:00:00 (exclusive); it lists the mailbox and Recoverable Items.
        $window = @(Get-Rows $Run 'R0011' 'Listed')
        $window.Count | Should -Be 10
        $window.InternetMessageId | Should -Not -Contain '<at-window-end@contoso.example>'
        $window.Location | Should -Contain 'RecoverableItemsDeletions'
        (Get-Rows $Run 'R0008' 'Listed').Count | Should -Be 5
        @(Get-Rows $Run 'R0008' | Where-Object Status -In 'Saved', 'AlreadySaved') | Should -BeNullOrEmpty
    }

    It 'neutralises formulas an attacker wrote into subjects and addresses' {
        $row = @($Run.Manifest | Where-Object GraphMessageId -EQ 'AAMkAl-m2')[0]
        $row.Subject | Should -Be '''=HYPERLINK("http://evil.example","Wire")'
        $row.From | Should -Be '''@evil.example'
        foreach ($r in $Run.Manifest) {
            foreach ($property in $r.PSObject.Properties) { $property.Value | Should -Not -Match '^[=+\-@\t\r]' }
        }
    }

    It 'lists only with -ListOnly' {
        $listed = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory (Join-Path $TestDrive 'list-only') -Arguments @{ SharedMailboxAccess = $true; ListOnly = $true }
        $listed.ExitCode | Should -Be 0 -Because $listed.Output
        @($listed.Calls | Where-Object Command -Like 'Get-MgUser*MessageContent') | Should -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $TestDrive 'list-only') -Recurse -Filter *.eml) | Should -BeNullOrEmpty
        @($listed.Manifest | Where-Object Status -In 'Saved', 'AlreadySaved') | Should -BeNullOrEmpty
        $listed.Summary.Listed | Should -BeGreaterThan 20
    }

    It 'stops before reading when Mail.Read cannot reach a mailbox of the plan' {
        $denied = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory (Join-Path $TestDrive 'denied') -Arguments @{}
        $denied.ExitCode | Should -Not -Be 0
        $denied.Output | Should -Match 'plan reads alice@contoso.example, bob@contoso.example: run again with -SharedMailboxAccess'
        @($denied.Calls | Where-Object Command -EQ 'Connect-MgGraph')[0].Parameters.Scopes | Should -Be 'Mail.Read'
        @($denied.Calls | Where-Object Command -Like 'Get-MgUser*') | Should -BeNullOrEmpty
    }

    It 'reads its own mailbox with Mail.Read, and signs in as an application with a certificate' {
        $own = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory (Join-Path $TestDrive 'own') -Arguments @{ RetrievalId = 'R0001' } -Environment @{ MAF_FAKE_ACCOUNT = 'alice@contoso.example' }
        $own.ExitCode | Should -Be 0 -Because $own.Output
        $own.Summary.Saved | Should -Be 1
        $own.Summary.Retrievals | Should -Be 1
        $app = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory (Join-Path $TestDrive 'app') -Arguments @{ TenantId = 'contoso.onmicrosoft.com'; ClientId = '11111111-2222-3333-4444-555555555555'; CertificateThumbprint = 'ABCDEF0123456789'; RetrievalId = 'R0013' }
        $app.ExitCode | Should -Be 0 -Because $app.Output
        $connect = @($app.Calls | Where-Object Command -EQ 'Connect-MgGraph')[0].Parameters
        $connect.ClientId | Should -Be '11111111-2222-3333-4444-555555555555'
        $connect.CertificateThumbprint | Should -Be 'ABCDEF0123456789'
        $connect.PSObject.Properties.Name | Should -Not -Contain 'Scopes'
        $app.Manifest[0].RunBy | Should -Be 'application 11111111-2222-3333-4444-555555555555 in tenant contoso.onmicrosoft.com'
    }

    It 'resumes after an interruption without fetching again what it saved' {
        $dir = Join-Path $TestDrive 'interrupted'
        $first = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir -Environment @{ MAF_CRASH_AFTER_DOWNLOADS = '4' }
        $first.ExitCode | Should -Be 3
        $before = @($first.Manifest | Where-Object Status -EQ 'Saved')
        $before.Count | Should -Be 4
        @(Get-ChildItem $dir -Recurse -Filter *.partial).Count | Should -Be 1
        $second = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir
        $second.ExitCode | Should -Be 0 -Because $second.Output
        $downloaded = @($second.Calls | Where-Object Command -Like 'Get-MgUser*MessageContent' | ForEach-Object { $_.Parameters.MessageId })
        $downloaded.Count | Should -Be 7
        $downloaded | Should -Not -BeIn $before.GraphMessageId
        @(Get-ChildItem $dir -Recurse -Filter *.partial).Count | Should -Be 0
        $saved = @($second.Manifest | Where-Object Status -EQ 'Saved')
        $saved.Count | Should -Be 11
        @($saved.Key | Sort-Object -Unique).Count | Should -Be 11
        @($second.Manifest | Where-Object Status -EQ 'Run').Count | Should -Be 2
        $third = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir
        $third.Summary.DoneBefore | Should -Be 15
        @($third.Calls | Where-Object Command -Like 'Get-MgUser*') | Should -BeNullOrEmpty
    }

    It 'records a failure, and retries it on the next run' {
        $dir = Join-Path $TestDrive 'failing'
        $failing = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir -Environment @{ MAF_FAIL_CONTENT = 'AAMkAl-f1' }
        $failing.ExitCode | Should -Be 0
        $failing.Summary.Failed | Should -Be 2
        @($failing.Manifest | Where-Object Status -EQ 'Failed').RetrievalId | Should -Be @('R0003', 'R0009')
        $failing.Warnings | Should -Contain '2 retrieval(s) failed: run the script again with the same -OutputDirectory to retry them.'
        $retry = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir
        $retry.Summary.Failed | Should -Be 0
        $retry.Summary.DoneBefore | Should -Be 13
        @($retry.Calls | Where-Object Command -EQ 'Get-MgUserMessageContent').Parameters.MessageId | Should -Be 'AAMkAl-f1'
    }

    It 'fetches again a saved file that changed, saves candidates with -SaveCandidates' {
        $dir = $Out
        $budget = @(Import-Csv (Join-Path $dir 'manifest.csv') | Where-Object { $_.GraphMessageId -eq 'AAMkAl-f1' -and $_.Status -eq 'Saved' })[0]
        Set-Content -Path (Join-Path $dir $budget.File) -Value 'altered'
        $again = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir -Arguments @{ SharedMailboxAccess = $true; SaveCandidates = $true }
        $again.ExitCode | Should -Be 0 -Because $again.Output
        $resaved = @($again.Manifest | Where-Object { $_.GraphMessageId -eq 'AAMkAl-f1' -and $_.Status -eq 'Saved' })
        $resaved.Count | Should -Be 2
        $resaved[1].Note | Should -Match 'changed: saved again'
        (Get-FileHash (Join-Path $dir $budget.File)).Hash | Should -Be $resaved[1].Sha256
        $resaved[1].Sha256 | Should -Be $budget.Sha256
        # Only the window and the lost read ran again, now saving.
        $again.Summary.DoneBefore | Should -Be 13
        @($again.Manifest | Where-Object { $_.RetrievalId -eq 'R0011' -and $_.Status -eq 'Saved' }).GraphMessageId | Sort-Object |
            Should -Be @('AAMkAl-f1', 'AAMkAl-f2', 'AAMkAl-m7')
    }

    It 'repairs a manifest an interruption cut in the middle of a row, and refuses another plan''s folder' {
        $dir = Join-Path $TestDrive 'cut'
        $null = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir -Arguments @{ SharedMailboxAccess = $true; RetrievalId = 'R0001' }
        [IO.File]::AppendAllText((Join-Path $dir 'manifest.csv'), '"2026-02-01T00:00:00Z","someone","R0002","Accessed' + "`r`n" + 'Message","half')
        $repaired = Invoke-Retrieval -Script $BreachScript -Store $BreachStore -OutputDirectory $dir -Arguments @{ SharedMailboxAccess = $true; RetrievalId = 'R0002' }
        $repaired.ExitCode | Should -Be 0 -Because $repaired.Output
        $repaired.Warnings | Should -Contain 'The manifest ended in the middle of a row (the last run was interrupted): that row was removed.'
        $repaired.Manifest.Status | Should -Be @('Run', 'Saved', 'Done', 'Run', 'NotFound')

        $other = Join-Path $TestDrive 'other-plan.ps1'
        $Findings | Select-Object -First 8 | New-MailAccessRetrievalScript -Path $other | Out-Null
        $refused = Invoke-Retrieval -Script $other -Store $BreachStore -OutputDirectory $Out
        $refused.ExitCode | Should -Not -Be 0
        $refused.Output | Should -Match 'holds the retrieval of another plan'
    }
}
