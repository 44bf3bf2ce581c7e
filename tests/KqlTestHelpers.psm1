# The KQL semantic cases (tests/fixtures/kql) and the module's answers on them in each query's
# row shape: what Get-MailAccessKqlQuery.Tests.ps1 compares with expected.json, and what
# tests/fixtures/kql/Update-KqlExpected.ps1 writes there.

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')

function Get-KqlFixtureDirectory { Join-Path $PSScriptRoot 'fixtures/kql' }

function Get-KqlFixtureRows([ValidateSet('OfficeActivity', 'CloudAppEvents')] [string] $Table) {
    Get-Content (Join-Path (Get-KqlFixtureDirectory) "$($Table.ToLowerInvariant()).json") -Raw | ConvertFrom-Json
}

# Each case: the step, the KQL parameters, and the module cmdlet and parameters with the same meaning.
# The KQL follows shared addresses and sessions (kql/README.md, item 5): its expanding verdict means
# the module's with -ExpandSharedIndicator.
function Get-KqlSemanticCases {
    $a = '203.0.113.77'
    $followShared = @{ ExpandSharedIndicator = $true }
    $period = @{ StartDate = [datetime]::new(2024, 5, 2, 10, 30, 0, [DateTimeKind]::Utc); EndDate = [datetime]::new(2024, 5, 2, 15, 30, 0, [DateTimeKind]::Utc) }
    @(
        @{ Name = 'Throttling'; Step = 'Throttling'; Kql = @{}; Module = @{} }
        @{ Name = 'Sync'; Step = 'Sync'; Kql = @{}; Module = @{} }
        @{ Name = 'Context'; Step = 'Context'; Kql = @{}; Module = @{} }
        @{ Name = 'Context from the attacker address'; Step = 'Context'; Kql = @{ AttackerIPAddress = $a }; Module = @{ ClientIPAddress = $a } }
        @{ Name = 'Bind'; Step = 'Bind'; Kql = @{}; Module = @{} }
        @{ Name = 'Bind of one mailbox'; Step = 'Bind'; Kql = @{ Mailbox = 'BOSS@*' }; Module = @{ Mailbox = 'BOSS@*' } }
        @{ Name = 'Verdict from the attacker address'; Step = 'Verdict'; Kql = @{ AttackerIPAddress = $a }; Module = @{ AttackerIPAddress = $a } + $followShared }
        @{ Name = 'Verdict without expansion'; Step = 'Verdict'; Kql = @{ AttackerIPAddress = $a; ExpansionRounds = 0 }; Module = @{ AttackerIPAddress = $a; NoContextExpansion = $true } }
        @{ Name = 'Verdict from a session'; Step = 'Verdict'; Kql = @{ AttackerSessionId = 'S-REST' }; Module = @{ AttackerSessionId = 'S-REST' } + $followShared }
        @{ Name = 'Verdict in a period'; Step = 'Verdict'; Kql = @{ AttackerIPAddress = $a } + $period; Module = @{ AttackerIPAddress = $a } + $period + $followShared }
        @{ Name = 'Verdict without indicator'; Step = 'Verdict'; Kql = @{}; Module = @{} }
    )
}

function Format-KqlTime($Value) { if ($null -eq $Value) { $null } else { $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') } }
function Format-KqlText($Value) { if ($null -eq $Value) { '' } else { [string]$Value } }
function Format-KqlList($Value) { , @($Value | Where-Object { $null -ne $_ } | ForEach-Object { [string]$_ } | Sort-Object -CaseSensitive) }

# The module's answer to a case, as the rows the case's query must return.
function Get-ModuleKqlRows([string] $Table, [hashtable] $Case) {
    $rows = Get-KqlFixtureRows $Table
    $parameters = $Case.Module
    switch ($Case.Step) {
        'Throttling' {
            $windows = @($rows | Get-MailAccessThrottling @parameters -WarningAction SilentlyContinue)
            $records = @($rows | ConvertFrom-MailItemsAccessed @parameters)
            $out = @(foreach ($w in $windows) {
                    [ordered]@{ Kind = 'UnauditedWindow'; Mailbox = Format-KqlText $w.Mailbox; Start = Format-KqlTime $w.Start; End = Format-KqlTime $w.End
                        ThrottledRecordCount = $w.ThrottledRecordCount; RecordIds = @($w.RecordIds); Order = "$($w.Mailbox.ToLowerInvariant())|1|$(Format-KqlTime $w.Start)" }
                })
            foreach ($group in $records | Group-Object { "$($_.Mailbox)".ToLowerInvariant() }) {
                $unknown = @($group.Group | Where-Object { $null -eq $_.IsThrottled } | Sort-Object CreationTime)
                if ($unknown.Count -eq 0) { continue }
                $first = Format-KqlTime $unknown[0].CreationTime
                $out += [ordered]@{ Kind = 'ThrottlingUnknown'; Mailbox = ($group.Group.Mailbox | Sort-Object -CaseSensitive | Select-Object -First 1); Start = $first
                    End = Format-KqlTime $unknown[-1].CreationTime; ThrottledRecordCount = 0; RecordIds = @(); Order = "$($group.Name)|2|$first" }
            }
            $out | Sort-Object { $_.Order } | ForEach-Object { $_.Remove('Order'); $_ }
        }
        'Sync' {
            $rows | Get-MailAccessSync @parameters | ForEach-Object {
                [ordered]@{ Mailbox = Format-KqlText $_.Mailbox; FolderPath = Format-KqlText $_.FolderPath; Start = Format-KqlTime $_.Start; End = Format-KqlTime $_.End
                    SyncCount = $_.SyncCount; ClientIPAddress = Format-KqlText $_.ClientIPAddress; ClientInfoString = Format-KqlText $_.ClientInfoString
                    SessionId = Format-KqlText $_.SessionId; UserId = Format-KqlText $_.UserId; RecordIds = @($_.RecordIds) }
            }
        }
        'Context' {
            $rows | Get-MailAccessContext @parameters | ForEach-Object {
                [ordered]@{ ClientIPAddress = Format-KqlText $_.ClientIPAddress; ClientInfoString = Format-KqlText $_.ClientInfoString; SessionId = Format-KqlText $_.SessionId
                    UserId = Format-KqlText $_.UserId; AppId = Format-KqlList $_.AppId; ClientAppId = Format-KqlList $_.ClientAppId; Mailboxes = Format-KqlList $_.Mailboxes
                    Start = Format-KqlTime $_.Start; End = Format-KqlTime $_.End; RecordCount = $_.RecordCount; BindCount = $_.BindCount; SyncCount = $_.SyncCount
                    MessageCount = $_.MessageCount; Bytes = $_.Bytes }
            }
        }
        'Bind' {
            $rows | Get-MailAccessBind @parameters | ForEach-Object {
                $contexts = @($_.Contexts | ForEach-Object {
                        [ordered]@{ ClientIPAddress = Format-KqlText $_.ClientIPAddress; ClientInfoString = Format-KqlText $_.ClientInfoString; SessionId = Format-KqlText $_.SessionId; UserId = Format-KqlText $_.UserId }
                    } | Sort-Object { Format-Comparable $_ })
                [ordered]@{ Mailbox = Format-KqlText $_.Mailbox; InternetMessageId = $_.InternetMessageId; FolderPath = Format-KqlText $_.FolderPath; SizeInBytes = $_.SizeInBytes
                    Start = Format-KqlTime $_.Start; End = Format-KqlTime $_.End; AccessCount = $_.AccessCount; Contexts = $contexts }
            }
        }
        'Verdict' {
            $findings = @($rows | Get-CompromisedMailAccess @parameters -WarningVariable warnings -WarningAction SilentlyContinue)
            # KQL's own rows: how the expansion went, and the warnings the cmdlet writes.
            [ordered]@{ Kind = 'Expansion' }
            foreach ($warning in @($warnings) | Sort-Object { "$_" } -CaseSensitive) { [ordered]@{ Kind = 'Warning' } }
            foreach ($f in $findings) {
                [ordered]@{ Kind = "$($f.Kind)"; Mailbox = Format-KqlText $f.Mailbox; FolderPath = Format-KqlText $f.FolderPath; InternetMessageId = Format-KqlText $f.InternetMessageId
                    SizeInBytes = $f.SizeInBytes; Start = Format-KqlTime $f.Start; End = Format-KqlTime $f.End; AccessCount = $f.AccessCount
                    ClientIPAddress = Format-KqlList $f.ClientIPAddress; SessionId = Format-KqlList $f.SessionId; ClientInfoString = Format-KqlList $f.ClientInfoString
                    EvidenceRecordIds = @($f.EvidenceRecordIds) }
            }
        }
    }
}

Export-ModuleMember -Function Get-KqlFixtureDirectory, Get-KqlFixtureRows, Get-KqlSemanticCases, Get-ModuleKqlRows
