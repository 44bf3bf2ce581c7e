# Shared by the Pester files: where things are, and inputs shaped like the real cmdlets' output.

$script:RepoRoot = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $script:RepoRoot 'tools/BuildTools.psm1')

function Get-ModuleUnderTest {
    if ($env:MAF_MODULE_PATH) { $env:MAF_MODULE_PATH } else { Join-Path $script:RepoRoot 'out/MailAccessForensics' }
}

function Get-SamplesDirectory {
    Join-Path (Split-Path $script:RepoRoot -Parent) 'shared/samples'
}

# The three AuditData strings of the real records in shared/samples (derived JSONL).
function Get-SampleAuditData {
    Get-Content (Join-Path (Get-SamplesDirectory) 'derived__raw_MailItemsAccessed_AuditData.jsonl') |
        Where-Object { $_.Trim() }
}

# An object shaped like Search-UnifiedAuditLog output (Deserialized ...UnifiedAuditLogEvent).
function New-SualObject {
    param(
        [Parameter(Mandatory)] [string] $AuditData,
        [string] $Identity = [guid]::NewGuid().ToString(),
        [string] $Operations = 'MailItemsAccessed',
        [string] $RecordType = 'ExchangeItemAggregated',
        [datetime] $CreationDate = [datetime]::new(2020, 5, 13, 10, 30, 0, [DateTimeKind]::Utc),
        [int] $ResultIndex = 1,
        [int] $ResultCount = 1
    )
    $object = [pscustomobject]@{
        RecordType   = $RecordType
        CreationDate = $CreationDate
        UserIds      = 'meganb@contoso.onmicrosoft.com'
        Operations   = $Operations
        AuditData    = $AuditData
        ResultIndex  = $ResultIndex
        ResultCount  = $ResultCount
        Identity     = $Identity
        IsValid      = $true
        ObjectState  = 'Unchanged'
    }
    $object.PSObject.TypeNames.Insert(0, 'Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.UnifiedAuditLogEvent')
    $object
}

# A row of the Purview portal's audit export, as Import-Csv returns it.
function New-PurviewRow {
    param([Parameter(Mandatory)] [string] $AuditData, [string] $RecordId, [string] $Operation = 'MailItemsAccessed')
    [pscustomobject]@{
        RecordId                  = $RecordId
        CreationDate              = '2026-01-24T06:54:24.0000000Z '
        RecordType                = '50'
        Operation                 = $Operation
        UserId                    = 'meganb@contoso.onmicrosoft.com'
        AuditData                 = $AuditData
        AssociatedAdminUnits      = ''
        AssociatedAdminUnitsNames = ''
    }
}

# Runs a script in a fresh pwsh (for what must not load into the test session) and returns
# its output and exit code. -Executable runs another PowerShell (Windows PowerShell 5.1).
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)] [string] $Script, [hashtable] $Environment = @{}, [string] $WorkingDirectory = $PWD, [string] $Executable = (Get-PwshPath))
    $pwsh = $Executable
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    Push-Location $WorkingDirectory
    try {
        # Errors are written as their plain message: no colours, no wrapping at the console width.
        $wrapped = "`$ErrorActionPreference = 'Stop'; try { $Script } catch { [Console]::Out.WriteLine(`$_.Exception.Message); exit 1 }"
        $output = & $pwsh -NoProfile -NonInteractive -Command $wrapped 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = ($output -join "`n"); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}


# ---- The labelled breach scenario (tests/fixtures/breach) -------------------------------------

function Get-BreachDirectory { Join-Path $PSScriptRoot 'fixtures/breach' }

# The oracle: expected results derived by hand from docs/semantics.md (see GROUND-TRUTH.md).
function Get-BreachExpected {
    Get-Content (Join-Path (Get-BreachDirectory) 'expected.json') -Raw | ConvertFrom-Json -AsHashtable -DateKind String
}

# The scenario's input shapes, each as the pipeline would deliver it.
function Get-BreachShapes {
    @(
        @{ Shape = 'Search-UnifiedAuditLog objects' }
        @{ Shape = 'Import-Csv of Search-UnifiedAuditLog | Export-Csv' }
        @{ Shape = 'Import-Csv of a Purview portal export' }
        @{ Shape = 'Import-Csv of the 4-column export' }
        @{ Shape = 'AuditData JSON lines' }
    )
}

function Get-BreachInput([string] $Shape) {
    $dir = Get-BreachDirectory
    switch ($Shape) {
        'Search-UnifiedAuditLog objects' { Get-Content (Join-Path $dir 'breach.sual.json') -Raw | ConvertFrom-Json }
        'Import-Csv of Search-UnifiedAuditLog | Export-Csv' { Import-Csv (Join-Path $dir 'breach.sual-export.csv') }
        'Import-Csv of a Purview portal export' { Import-Csv (Join-Path $dir 'breach.purview.csv') }
        'Import-Csv of the 4-column export' { Import-Csv (Join-Path $dir 'breach.classic.csv') }
        'AuditData JSON lines' { Get-Content (Join-Path $dir 'breach.auditdata.jsonl') }
        default { throw "unknown shape $Shape" }
    }
}

# A value as text for comparison: times as ISO 8601 UTC, lists joined, null as '<null>'.
function Format-Comparable($Value) {
    if ($null -eq $Value) { return '<null>' }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') }
    if ($Value -is [string]) { return $Value }
    if ($Value -is [System.Collections.IDictionary]) {
        return '{' + (($Value.Keys | Sort-Object | ForEach-Object { "$_=$(Format-Comparable $Value[$_])" }) -join ';') + '}'
    }
    if ($Value -is [System.Collections.IEnumerable]) { return '[' + ((@($Value) | ForEach-Object { Format-Comparable $_ }) -join ', ') + ']' }
    "$Value"
}

# One line per object over the given properties, for exact comparison with Should -Be.
function ConvertTo-ComparableRows {
    param([object[]] $Objects, [string[]] $Properties)
    foreach ($object in $Objects) {
        ($Properties | ForEach-Object {
                $value = if ($object -is [System.Collections.IDictionary]) { $object[$_] } else { $object.$_ }
                "$_=$(Format-Comparable $value)"
            }) -join ' | '
    }
}

# Every count of a run's InputSummary equals the oracle's (expected.json).
function Assert-InputSummary($Tally, $Expected) {
    foreach ($name in 'Read', 'Analysed', 'Skipped', 'Duplicates', 'Filtered', 'Errors', 'Degraded', 'Throttled', 'NotThrottled', 'ThrottlingUnknown') {
        $Tally.$name | Should -Be $Expected[$name] -Because $name
    }
}

# ---- The labelled trap scenario for the verdict (tests/fixtures/traps) -------------------------

function Get-TrapDirectory { Join-Path $PSScriptRoot 'fixtures/traps' }

# The oracle: expected results derived by hand (see GROUND-TRUTH.md there).
function Get-TrapExpected {
    Get-Content (Join-Path (Get-TrapDirectory) 'expected.json') -Raw | ConvertFrom-Json -AsHashtable -DateKind String
}

# The scenario as the pipeline delivers it: AuditData lines, Search-UnifiedAuditLog objects, or
# the module's own records (ConvertFrom-MailItemsAccessed output, also through Clixml).
function Get-TrapInput([string] $Shape) {
    $lines = Join-Path (Get-TrapDirectory) 'traps.auditdata.jsonl'
    switch ($Shape) {
        'AuditData JSON lines' { Get-Content $lines }
        'Search-UnifiedAuditLog objects' { Get-Content (Join-Path (Get-TrapDirectory) 'traps.sual.json') -Raw | ConvertFrom-Json }
        'the module''s own records' { Get-Content $lines | ConvertFrom-MailItemsAccessed }
        'the module''s own records, through Export-Clixml' {
            $file = Join-Path ([System.IO.Path]::GetTempPath()) "maf-traps-$PID.clixml"
            try {
                Get-Content $lines | ConvertFrom-MailItemsAccessed | Export-Clixml -Path $file
                Import-Clixml -Path $file
            }
            finally { Remove-Item $file -ErrorAction SilentlyContinue }
        }
        default { throw "unknown shape $Shape" }
    }
}

# An expected value with the cast's names and the record numbers written out.
function Resolve-TrapValue($Value, [string] $Key, $Expected) {
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -and $Value.StartsWith('@')) { return $Expected.Cast[$Value.Substring(1)] }
    if ($Key -eq 'EvidenceRecordIds' -and $Value -isnot [string] -and $Value -isnot [System.Collections.IEnumerable]) {
        return $Expected.RecordIdFormat -f [int]$Value
    }
    if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [string]) {
        return , @(foreach ($item in $Value) { Resolve-TrapValue $item $Key $Expected })
    }
    $Value
}

# The findings a run expects, as hashtables of the properties it asserts.
function Get-TrapRows([string] $Run, $Expected) {
    $spec = $Expected.Runs[$Run].Findings
    if ($spec -is [System.Collections.IDictionary]) {
        $from = @(Get-TrapRows $spec.From $Expected)
        $rows = if ($spec.Rows -eq 'All') { $from } else { foreach ($n in $spec.Rows) { $from[$n - 1].Clone() } }
        $rows = @($rows | ForEach-Object { $_.Clone() })
        if ($spec.Set) {
            foreach ($number in $spec.Set.Keys) {
                foreach ($key in $spec.Set[$number].Keys) { $rows[[int]$number - 1][$key] = $spec.Set[$number][$key] }
            }
        }
        return $rows
    }
    foreach ($row in $spec) {
        $resolved = @{}
        foreach ($key in $row.Keys) { $resolved[$key] = Resolve-TrapValue $row[$key] $key $Expected }
        $resolved
    }
}

# ---- Reports in a browser (headless Chromium, as Debian packages it) ----------------------------

# The browser; CI installs Debian's chromium (.ci/run). A missing browser fails the tests that need it.
function Get-ChromiumPath {
    foreach ($name in 'chromium', 'chromium-browser', 'google-chrome') {
        $command = Get-Command $name -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($command) { return $command.Source }
    }
    throw 'Headless Chromium is needed to render reports (Debian: apt-get install chromium; .ci/run installs it).'
}

# Runs headless Chromium on a file with a fresh profile and returns its standard output.
function Invoke-Chromium {
    param([Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @(), [int] $Width = 1123, [int] $Height = 1600)
    $profileDir = Join-Path ([System.IO.Path]::GetTempPath()) "maf-chromium-$([guid]::NewGuid())"
    $flags = @('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', "--user-data-dir=$profileDir", "--window-size=$Width,$Height")
    try {
        $url = [System.Uri]::new((Resolve-Path -LiteralPath $File).ProviderPath).AbsoluteUri
        (& (Get-ChromiumPath) @flags @Arguments $url 2>$null) -join "`n"
    }
    finally {
        Remove-Item -LiteralPath $profileDir -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Export-ModuleMember -Function *
