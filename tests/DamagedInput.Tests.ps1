# Damaged input (issue #14): exports cut short, re-saved by Excel, concatenated by hand. A damaged
# record costs only itself; nothing is lost silently; no input takes pwsh down or hangs it. The
# inputs are in tests/fixtures/damaged, with what each must account for in expected.json.

BeforeDiscovery {
    $script:Expected = Get-Content (Join-Path $PSScriptRoot 'fixtures/damaged/expected.json') -Raw | ConvertFrom-Json -AsHashtable
    $script:Fixtures = @($Expected.Keys | ForEach-Object { @{ File = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Dir = Join-Path $PSScriptRoot 'fixtures/damaged'
    $script:Expected = Get-Content (Join-Path $Dir 'expected.json') -Raw | ConvertFrom-Json -AsHashtable
    $script:ModulePath = Get-ModuleUnderTest

    # Reads with -Path; returns the records, the errors and the tally.
    function script:Read-Damaged([string[]] $Path) {
        $records = @(ConvertFrom-MailItemsAccessed -Path $Path -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        [pscustomobject]@{ Records = $records; Errors = @($problems); Tally = $tally }
    }

    function script:Assert-Accounts([string] $File, $Result) {
        $want = $Expected[$File]
        $Result.Tally.IsBalanced | Should -BeTrue
        foreach ($field in 'Read', 'Analysed', 'Skipped', 'Duplicates', 'Errors') {
            if ($want.Contains($field)) { $Result.Tally.$field | Should -Be $want[$field] -Because "$File $field" }
        }
        $Result.Errors.Count | Should -Be $want['Errors']
        if ($want.Contains('RecordIds')) {
            foreach ($id in $want['RecordIds']) {
                $Result.Records.RecordId | Should -Contain $id
            }
        }
        if ($want.Contains('ErrorKinds')) {
            @($Result.Errors | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] -replace '^MailAccessForensics\.' }) | Should -Be $want['ErrorKinds']
        }
    }

    # Runs a script in a fresh runspace with the module; fails instead of hanging past the limit.
    function script:Invoke-Bounded([string] $Script, [int] $Seconds = 60) {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; $Script")
            $handle = $ps.BeginInvoke()
            $finished = $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds($Seconds))
            if (-not $finished) {
                $ps.BeginStop($null, $null) | Out-Null
                throw "still running after $Seconds s"
            }
            [pscustomobject]@{ Output = @($ps.EndInvoke($handle)); Errors = @($ps.Streams.Error) }
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Every kept damaged input' -ForEach $Fixtures {
    It 'accounts for every record of <File>, the damaged ones as errors' {
        Assert-Accounts $File (Read-Damaged (Join-Path $Dir $File))
    }
}

Describe 'Damage, class by class' {
    It 'reads the next Graph page after a page whose end is damaged' {
        $result = Read-Damaged (Join-Path $Dir 'graph-pages-damaged.jsonl')
        $result.Errors[0].Exception.Message | Should -Match 'graph-pages-damaged\.jsonl:2: the end of the Graph page is damaged'
    }

    It 'reads a CSV saved with CR-only line ends as the same CSV with CRLF' {
        $cr = Read-Damaged (Join-Path $Dir 'purview-cr-only.csv')
        $crlf = Read-Damaged (Join-Path $PSScriptRoot 'fixtures/breach/breach.purview.csv')
        $cr.Records.RecordId | Should -Be $crlf.Records.RecordId
    }

    It 'reads JSON Lines piped with Get-Content -Raw when the first record is broken' {
        $text = Get-Content (Join-Path $Dir 'jsonl-first-record-broken.jsonl') -Raw
        $records = @($text | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        Assert-Accounts 'jsonl-first-record-broken.jsonl' ([pscustomobject]@{ Records = $records; Errors = @($problems); Tally = $tally })
    }

    It 'reads every file after a CSV whose sep= line names a byte that is not ASCII' {
        $result = Read-Damaged (Join-Path $Dir 'csv-sep-non-ascii.csv'), (Join-Path $Dir 'purview-cr-only.csv')
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.InvalidCsv,*'
        $result.Tally.Read | Should -Be (68 + 67)
    }

    It 'refuses a named pipe given as -Path, and in a folder read with *, without waiting' -Skip:($IsWindows) {
        $folder = Join-Path $TestDrive 'with-a-pipe'
        $null = New-Item -ItemType Directory $folder
        Copy-Item (Join-Path $Dir 'spelling.jsonl') $folder
        $fifo = Join-Path $folder 'pipe.jsonl'
        & mkfifo $fifo
        $LASTEXITCODE | Should -Be 0
        $one = Invoke-Bounded "ConvertFrom-MailItemsAccessed -Path '$fifo'"
        $one.Errors.Count | Should -Be 1
        $one.Errors[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.FileUnreadable,*'
        $one.Errors[0].Exception.Message | Should -Match 'named pipe'
        $all = Invoke-Bounded "ConvertFrom-MailItemsAccessed -Path '$(Join-Path $folder '*')'"
        $all.Output.Count | Should -Be 2
        $all.Errors.Count | Should -Be 1
    }

    It 'gives one error for a line of a million values that are not records' {
        $result = Read-Damaged (Join-Path $Dir 'amplification.json.gz')
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.NotAnAuditRecord,*'
    }

    It 'gives one record one outcome from a file, from piped text and from objects' {
        $path = Join-Path $Dir 'routes.jsonl'
        $file = Read-Damaged $path
        $kinds = { param($errors) @($errors | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] }) }
        foreach ($piped in @((Get-Content $path), (Get-Content $path -Raw))) {
            $records = @($piped | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
            $records.RecordId | Should -Be $file.Records.RecordId
            ($tally.Read, $tally.Skipped, $tally.Errors) | Should -Be ($file.Tally.Read, $file.Tally.Skipped, $file.Tally.Errors)
            & $kinds $problems | Should -Be (& $kinds $file.Errors)
        }
        # As objects (ConvertFrom-Json; the record naming Operation twice is not one it reads).
        $lines = @(Get-Content $path)
        $objects = @($lines[0], $lines[1], $lines[2], $lines[4] | ConvertFrom-Json)
        $records = @($objects | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        $records.RecordId | Should -Be $file.Records.RecordId
        ($tally.Skipped, $tally.Errors) | Should -Be (1, 1)
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.TooDeep,*'

        # A CSV row whose AuditData lacks a field its columns have: the same from -Path and Import-Csv.
        $csv = Join-Path $Dir 'auditdata-lacks-fields.csv'
        $fromFile = Read-Damaged $csv
        $records = @(Import-Csv $csv | ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        $records.RecordId | Should -Be $fromFile.Records.RecordId
        ($tally.Read, $tally.Errors) | Should -Be ($fromFile.Tally.Read, $fromFile.Tally.Errors)
        & $kinds $problems | Should -Be (& $kinds $fromFile.Errors)
    }

    It 'shows an address that is not an IP as written, whatever the order of the records' {
        $path = Join-Path $Dir 'spelling.jsonl'
        $lines = @(Get-Content $path)
        foreach ($order in @($lines, ($lines[1], $lines[0]))) {
            $contexts = @($order | Get-MailAccessContext)
            $contexts.Count | Should -Be 1
            $contexts[0].ClientIPAddress | Should -BeExactly $Expected['spelling.jsonl']['ClientIPAddress']
        }
    }

    It 'says so for an empty zip, a gzip cut short and a CSV with two AuditData columns that differ' {
        (Read-Damaged (Join-Path $Dir 'empty.zip')).Errors[0].Exception.Message | Should -Match 'zip archive'
        $cut = Read-Damaged (Join-Path $Dir 'truncated.jsonl.gz')
        $cut.Errors.Count | Should -Be 1
        $cut.Errors[0].Exception.Message | Should -Match "the record it cut \(from line $($cut.Tally.Read)\)"
        $twice = Read-Damaged (Join-Path $Dir 'csv-duplicate-auditdata.csv')
        $twice.Errors[0].Exception.Message | Should -Match 'columns 2 and 4 both hold AuditData and differ'
    }

    It 'turns an object graph that fans out into one error, not a hang' {
        $result = Invoke-Bounded '$h = @{ Operation = "MailItemsAccessed" }; $h.A = $h; $h.B = $h; $h | ConvertFrom-MailItemsAccessed' 120
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.TooLarge,*'
    }
}
