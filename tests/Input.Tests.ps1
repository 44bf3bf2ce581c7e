# What every analysis cmdlet shares: the shapes it reads, from the pipeline and from files, the
# accounting, bad input, and long reads (progress, Ctrl+C).

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:FileShapes = @(
        @{ File = 'breach.purview.csv' }
        @{ File = 'breach.sual-export.csv' }
        @{ File = 'breach.classic.csv' }
        @{ File = 'breach.auditdata.jsonl' }
        @{ File = 'breach.sual.json' }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Dir = Get-BreachDirectory
    $script:Lines = @(Get-Content (Join-Path $Dir 'breach.auditdata.jsonl'))
    # Two distinct MailItemsAccessed records (the scenario starts with other operations).
    $script:Mia = @($Lines | Where-Object { $_ -match '"Operation":"MailItemsAccessed"' } | Select-Object -First 2)
    $script:Expected = Get-BreachExpected
    # Everything a record says, except where it came from.
    function script:Get-Signature($Record) {
        $names = 'CreationTime', 'RecordId', 'Mailbox', 'MailboxGuid', 'UserId', 'UserType', 'AccessType', 'IsThrottled', 'ClientIPAddress',
            'ClientIPAddressOriginal', 'ClientPort', 'ClientInfoString', 'SessionId', 'AppId', 'ClientAppId', 'LogonType', 'ExternalAccess',
            'OperationCount', 'OriginatingServer', 'IsDegraded', 'DegradedReason'
        $parts = foreach ($name in $names) { "$name=$(Format-Comparable $Record.$name)" }
        $parts += 'Folders=' + (($Record.FolderDetails | ForEach-Object { "$($_.Path)#$($_.Id)#$($_.ItemCount)" }) -join '|')
        $parts += 'Items=' + (($Record.Items | ForEach-Object { "$($_.InternetMessageId)/$($_.FolderPath)/$($_.SizeInBytes)" }) -join '|')
        $parts -join ';'
    }
    $script:Reference = @($Lines | ConvertFrom-MailItemsAccessed | ForEach-Object { Get-Signature $_ })
    function script:Assert-Tally($Tally) { Assert-InputSummary $Tally $Expected.InputSummary }
}

Describe 'Records from every pipeline shape' -ForEach (Get-BreachShapes) {
    It 'gives the same records from <Shape>' {
        $records = @(Get-BreachInput $Shape | ConvertFrom-MailItemsAccessed -SummaryVariable tally)
        ($records | ForEach-Object { Get-Signature $_ }) | Should -Be $Reference
        Assert-Tally $tally
    }
}

Describe 'Records from files (-Path)' -ForEach $FileShapes {
    It 'reads <File> as the pipeline reads it' {
        $records = @(ConvertFrom-MailItemsAccessed -Path (Join-Path $Dir $File) -SummaryVariable tally)
        ($records | ForEach-Object { Get-Signature $_ }) | Should -Be $Reference
        Assert-Tally $tally
        $records[0].Source | Should -BeLike "*$File*"
    }
}

Describe 'Files: encodings, compression, several files' {
    BeforeAll {
        $script:Text = [IO.File]::ReadAllText((Join-Path $Dir 'breach.purview.csv'))
    }

    It 'reads <Name>' -ForEach @(
        @{ Name = 'UTF-8 with a byte order mark'; Encoding = 'utf8BOM' }
        @{ Name = 'UTF-16 LE with a byte order mark (Windows PowerShell >)'; Encoding = 'unicode' }
        @{ Name = 'UTF-16 BE with a byte order mark'; Encoding = 'bigendianunicode' }
    ) {
        $path = Join-Path $TestDrive "encoded-$Encoding.csv"
        Set-Content -Path $path -Value $Text -Encoding $Encoding -NoNewline
        $records = @(ConvertFrom-MailItemsAccessed -LiteralPath $path)
        ($records | ForEach-Object { Get-Signature $_ }) | Should -Be $Reference
    }

    It 'reads a gzip-compressed file' {
        $path = Join-Path $TestDrive 'export.jsonl.gz'
        $file = [IO.File]::Create($path)
        $gzip = [IO.Compression.GZipStream]::new($file, [IO.Compression.CompressionLevel]::Optimal)
        $bytes = [IO.File]::ReadAllBytes((Join-Path $Dir 'breach.auditdata.jsonl'))
        $gzip.Write($bytes, 0, $bytes.Length)
        $gzip.Dispose(); $file.Dispose()
        $records = @(ConvertFrom-MailItemsAccessed -Path $path)
        ($records | ForEach-Object { Get-Signature $_ }) | Should -Be $Reference
    }

    It 'reads several files, by wildcard and from Get-ChildItem, as one input' {
        $records = @(ConvertFrom-MailItemsAccessed -Path (Join-Path $Dir 'breach.*.csv') -SummaryVariable tally)
        $records.Count | Should -Be 61
        # The second and third files hold the same records: duplicates, counted (each file
        # also repeats one record itself).
        $tally.Read | Should -Be (3 * 67)
        $tally.Duplicates | Should -Be (1 + 2 * 62)
        $tally.IsBalanced | Should -BeTrue
        $fromItems = @(Get-ChildItem $Dir -Filter 'breach.*.csv' | ConvertFrom-MailItemsAccessed)
        ($fromItems | ForEach-Object { Get-Signature $_ }) | Should -Be ($records | ForEach-Object { Get-Signature $_ })
    }

    It 'reads a document piped as one string (Get-Content -Raw)' {
        $records = @(Get-Content (Join-Path $Dir 'breach.sual.json') -Raw | ConvertFrom-MailItemsAccessed)
        ($records | ForEach-Object { Get-Signature $_ }) | Should -Be $Reference
    }

    It 'says which paths name no file, and reads the others' {
        $records = @(ConvertFrom-MailItemsAccessed -Path (Join-Path $TestDrive 'none*.csv'), (Join-Path $Dir 'breach.classic.csv') -ErrorVariable problems -ErrorAction SilentlyContinue)
        $records.Count | Should -Be 61
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.PathNotFound,*'
        { ConvertFrom-MailItemsAccessed -LiteralPath $Dir -ErrorAction Stop } | Should -Throw '*is a folder*'
    }
}

Describe 'Other shapes of the same records' {
    BeforeAll {
        $script:One = $Lines | Where-Object { $_ -match '"Id":"0c1f8a5e-6b2d-4c9e-a7f3-2d5e8b000030"' }
        $script:Audit = $One | ConvertFrom-Json -AsHashtable
        $script:FromAuditData = ConvertFrom-MailItemsAccessed -InputObject $One
    }

    It 'reads a Microsoft Graph audit log query record' {
        $auditData = [ordered]@{ '@odata.type' = '#microsoft.graph.security.defaultAuditData' }
        foreach ($key in $Audit.Keys) {
            $auditData[$key] = $Audit[$key]
            if ($Audit[$key] -is [long] -or $Audit[$key] -is [int]) { $auditData["$key@odata.type"] = '#Int64' }
        }
        $graph = [ordered]@{
            id = $Audit.Id; createdDateTime = '2026-01-13T19:05:03Z'; auditLogRecordType = 'ExchangeItemAggregated'
            operation = 'mailItemsAccessed'; organizationId = $Audit.OrganizationId; userType = 'Regular'
            userId = $Audit.UserKey; service = 'Exchange'; objectId = $null; userPrincipalName = $Audit.UserId
            clientIp = $null; administrativeUnits = @(''); auditData = $auditData
        }
        Get-Signature (ConvertFrom-MailItemsAccessed -InputObject $graph) | Should -Be (Get-Signature $FromAuditData)
        # As text too (a saved Graph response page).
        $page = @{ '@odata.context' = 'x'; value = @($graph) } | ConvertTo-Json -Depth 10
        Get-Signature ($page | ConvertFrom-MailItemsAccessed) | Should -Be (Get-Signature $FromAuditData)
    }

    It 'reads a Defender CloudAppEvents row (AuditData in RawEventData)' {
        $row = [ordered]@{ Timestamp = '2026-01-13T19:05:03Z'; ActionType = 'MailItemsAccessed'; Application = 'Microsoft Exchange Online'; IPAddress = '198.51.100.66'; RawEventData = $Audit; ReportId = "1_20893_$($Audit.Id)" }
        Get-Signature (ConvertFrom-MailItemsAccessed -InputObject ([pscustomobject]$row)) | Should -Be (Get-Signature $FromAuditData)
    }

    It 'reads a Sentinel OfficeActivity row (Folders and OperationProperties as JSON text)' {
        $row = [ordered]@{}
        foreach ($key in $Audit.Keys) { $row[$key] = $Audit[$key] }
        $row.Remove('ClientIPAddress'); $row['Client_IPAddress'] = $Audit.ClientIPAddress
        $row.Remove('CreationTime'); $row['TimeGenerated'] = '2026-01-13T19:05:03Z'
        $row.Remove('Id'); $row['OfficeId'] = $Audit.Id
        $row['Folders'] = $Audit.Folders | ConvertTo-Json -Depth 10 -Compress -AsArray
        $row['OperationProperties'] = $Audit.OperationProperties | ConvertTo-Json -Compress -AsArray
        $row['RecordType'] = '50'; $row['Logon_Type'] = 'Owner'; $row.Remove('LogonType')
        Get-Signature (ConvertFrom-MailItemsAccessed -InputObject ([pscustomobject]$row)) | Should -Be (Get-Signature $FromAuditData)
    }

    It 'reads a Search-MailboxAuditLog -ShowDetails record' {
        $props = $Audit.OperationProperties | ForEach-Object { "$($_.Name):$($_.Value)" }
        $smal = [ordered]@{
            Operation = 'MailItemsAccessed'; OperationResult = 'Succeeded'; LogonType = 'Owner'; ExternalAccess = $false
            ClientInfoString = $Audit.ClientInfoString; ClientIPAddress = $Audit.ClientIPAddress; InternalLogonType = 'Owner'
            MailboxOwnerUPN = $Audit.MailboxOwnerUPN; MailboxOwnerSid = $Audit.MailboxOwnerSid; LogonUserSid = $Audit.LogonUserSid
            OriginatingServer = $Audit.OriginatingServer; SessionId = $Audit.SessionId; OperationProperties = [string[]]$props
            AuditOperationsCountInAggregatedRecord = $Audit.OperationCount
            AggregatedRecordFoldersData = $Audit.Folders | ConvertTo-Json -Depth 10 -Compress -AsArray
            AppId = $Audit.AppId; ClientAppId = $Audit.ClientAppId; MailboxGuid = $Audit.MailboxGuid; UserId = $Audit.UserId
            LastAccessed = [datetime]::new(2026, 1, 13, 19, 5, 3, [DateTimeKind]::Utc); Identity = $Audit.Id; IsValid = $true; ObjectState = 'New'
        }
        # Search-MailboxAuditLog records carry no UserType.
        (Get-Signature (ConvertFrom-MailItemsAccessed -InputObject ([pscustomobject]$smal))) -replace 'UserType=[^;]*' |
            Should -Be ((Get-Signature $FromAuditData) -replace 'UserType=[^;]*')
    }
}

Describe 'Bad input' {
    It 'gives a clear error for <Case>, and reads the good records around it' -ForEach @(
        @{ Case = 'truncated JSON'; Bytes = { [Text.Encoding]::UTF8.GetBytes('{"Operation":"MailItemsAccessed","CreationTime":"2026-01-13T19') }; Kind = 'InvalidJson' }
        @{ Case = 'invalid UTF-8'; Bytes = { [byte[]](0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D) }; Kind = 'InvalidEncoding' }
        @{ Case = 'a NUL byte'; Bytes = { [Text.Encoding]::UTF8.GetBytes("{`"Operation`":`"MailItemsAccessed`",`"Id`":`"a`0b`",`"CreationTime`":`"2026-01-13T19:05:03`"}") }; Kind = 'InvalidEncoding|InvalidJson' }
        @{ Case = 'nesting 100000 deep'; Bytes = { [Text.Encoding]::UTF8.GetBytes(('[' * 100000) + (']' * 100000)) }; Kind = 'TooDeep' }
    ) {
        $path = Join-Path $TestDrive 'bad.jsonl'
        $stream = [IO.File]::Create($path)
        $good = [Text.Encoding]::UTF8.GetBytes($Mia[0] + "`n")
        $stream.Write($good, 0, $good.Length)
        $bad = & $Bytes
        $stream.Write($bad, 0, $bad.Length)
        $last = [Text.Encoding]::UTF8.GetBytes("`n" + $Mia[1] + "`n")
        $stream.Write($last, 0, $last.Length)
        $stream.Dispose()
        $records = @(ConvertFrom-MailItemsAccessed -Path $path -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        $records.Count | Should -Be 2
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -Match "^MailAccessForensics\.($Kind),"
        $problems[0].Exception.Message | Should -Match ([regex]::Escape("bad.jsonl:2"))
        $tally.Read | Should -Be 3
        $tally.IsBalanced | Should -BeTrue
    }

    It 'refuses a 100 MB AuditData string without taking pwsh down' {
        $huge = '{"Operation":"MailItemsAccessed","CreationTime":"2026-01-13T19:05:03","Padding":"' + ('x' * 100MB) + '"}'
        $records = @((New-SualObject -AuditData $huge -Identity 'huge'), (New-SualObject -AuditData $Mia[0]) |
            ConvertFrom-MailItemsAccessed -ErrorVariable problems -ErrorAction SilentlyContinue)
        $records.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.TooLarge,*'
        $problems[0].Exception.Message | Should -Match "Record 'huge'.*more than the \d+ bytes allowed"
    }

    It 'reports a CSV with a broken quote at the row where it starts' {
        $rows = [IO.File]::ReadAllText((Join-Path $Dir 'breach.classic.csv')) -split "`r`n"
        $rows[3] = $rows[3].Substring(0, $rows[3].Length - 1)   # the AuditData quote never closes
        $path = Join-Path $TestDrive 'broken.csv'
        Set-Content -Path $path -Value ($rows -join "`r`n") -NoNewline
        $records = @(ConvertFrom-MailItemsAccessed -Path $path -ErrorVariable problems -ErrorAction SilentlyContinue -SummaryVariable tally)
        $problems.Count | Should -Be 1
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'MailAccessForensics.InvalidCsv,*'
        $problems[0].Exception.Message | Should -Match 'broken\.csv:4: .*runs over lines 4 to 5 .*line 4 was skipped and the lines after it are read again'
        # Only line 4 is lost: line 5, which the quote took in, is read again, and everything after.
        $records.Count | Should -Be 60
        $tally.Read | Should -Be 67
        $tally.Errors | Should -Be 1
        $tally.IsBalanced | Should -BeTrue
    }
}

Describe 'Long reads' {
    BeforeAll {
        # About 50 MB of records, read many times over where a test needs a long read.
        $script:Big = Join-Path $TestDrive 'big.jsonl'
        $writer = [IO.StreamWriter]::new($Big)
        for ($i = 0; $i -lt 800; $i++) {
            foreach ($line in $Lines) { $writer.WriteLine(($line -replace '2d5e8b0000', ('{0:d6}' -f $i))) }
        }
        $writer.Dispose()
        $script:ModulePath = Get-ModuleUnderTest
    }

    It 'shows progress in bytes and records' {
        $ps = [powershell]::Create()
        try {
            # Ten copies (about 500 MB): progress shows only once reading has gone on for a while.
            $paths = (@("'$Big'") * 10) -join ','
            $null = $ps.AddScript("Import-Module '$ModulePath'; Get-MailAccessContext -Path $paths | Out-Null")
            $null = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $progress = @($ps.Streams.Progress | Where-Object Activity -EQ 'Reading audit records')
            # How many progress records there are depends on the reading speed (they are timed).
            $progress.Count | Should -BeGreaterThan 0
            $progress[0].StatusDescription | Should -Match 'big\.jsonl: [\d.,]+ of [\d.,]+ MB, [\d,]+ records'
            $progress[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'stops promptly on Ctrl+C' {
        # The command holds after the first chunk of the file until it is stopped: the stop
        # comes mid-read for certain, whatever the machine's speed (no polling, no huge file).
        $hold = [MailAccessForensics.Commands.MailAccessInputCommand].GetField('HoldAfterFirstChunk', [Reflection.BindingFlags]'NonPublic, Static')
        $reached = [Threading.ManualResetEventSlim]::new($false)
        $hold.SetValue($null, $reached)
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; Get-CompromisedMailAccess -Path '$Big' -AttackerIPAddress 198.51.100.66")
            $handle = $ps.BeginInvoke()
            $reached.Wait([timespan]::FromSeconds(60)) | Should -BeTrue -Because 'the read must reach its first chunk'
            $handle.IsCompleted | Should -BeFalse -Because 'the read must still be running to test stopping it'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 2
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally {
            $hold.SetValue($null, $null)
            $ps.Dispose()
            $reached.Dispose()
        }
    }
}

Describe 'Collection folders (Save-MailAccessAuditLog) as -Path' {
    BeforeAll {
        $script:Simulator = Join-Path $PSScriptRoot 'AuditLogSimulator.psm1'
        Import-Module $Simulator -Force
        Reset-AuditLogSimulator
        $start = [datetime]::new(2024, 3, 1, 0, 0, 0, [DateTimeKind]::Utc)
        Add-SimulatedRecords -Start $start -Span ([timespan]::FromHours(6)) -Count 700 -Prefix owner
        Add-SimulatedRecords -Start $start -Span ([timespan]::FromHours(6)) -Count 60 -Prefix attacker -ClientIP 203.0.113.77
        $script:Collection = Join-Path $TestDrive 'case-042'
        $script:Saved = Save-MailAccessAuditLog -Path $Collection -StartDate 2024-03-01 -EndDate '2024-03-01T06:00:00' -RetryDelay 00:00:00.005
    }

    It 'reads the records of <How>, not the manifest' -ForEach @(
        @{ How = 'the folder' }
        @{ How = 'the folder from Get-Item' }
        @{ How = 'its manifest from Get-ChildItem' }
    ) {
        $records = switch ($How) {
            'the folder' { @(ConvertFrom-MailItemsAccessed -Path $Collection -SummaryVariable tally) }
            'the folder from Get-Item' { @(Get-Item $Collection | ConvertFrom-MailItemsAccessed -SummaryVariable tally) }
            'its manifest from Get-ChildItem' { @(Get-ChildItem $Collection -File | ConvertFrom-MailItemsAccessed -SummaryVariable tally) }
        }
        $records.Count | Should -Be 760
        $tally.Read | Should -Be 760
        $tally.Errors | Should -Be 0
        $tally.PossiblyTruncated | Should -BeFalse
        $tally.TruncationReason | Should -BeNullOrEmpty
        $records[0].Source | Should -BeLike '*records*000001.jsonl.gz:*'
    }

    It 'answers over the folder as over the records' {
        $findings = @(Get-CompromisedMailAccess -Path $Collection -AttackerIPAddress 203.0.113.77 | Where-Object Kind -EQ AccessedMessage)
        $findings.Count | Should -Be 60
        @($findings.InternetMessageId | Where-Object { $_ -notlike '<attacker-*' }) | Should -BeNullOrEmpty
    }

    It 'says a collection is incomplete when a window could not be fetched' {
        Reset-AuditLogSimulator
        Add-SimulatedRecords -Start ([datetime]::new(2024, 3, 1, 0, 0, 0, [DateTimeKind]::Utc)) -Span ([timespan]::FromHours(3)) -Count 30 -Prefix r
        Set-SimulatedFaultRule { param($call) if ($call.StartDate.Hour -eq 1) { 'Error' } }
        $folder = Join-Path $TestDrive 'incomplete'
        $null = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T03:00:00' -RetryDelay 00:00:00.005 -WarningAction SilentlyContinue
        $null = Get-MailAccessContext -Path $folder -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike "The collection in $folder is incomplete: 1 of its * windows were not fetched completely (2024-03-01T01:00:00*An internal server error occurred*run Save-MailAccessAuditLog -Path $folder again*"
        ($warnings -join ' ') | Should -BeLike '*may be truncated*is incomplete*Save-MailAccessAuditLog*'
    }

    It 'says a records file was changed or cut short' {
        $copy = Join-Path $TestDrive 'tampered'
        Copy-Item $Collection $copy -Recurse
        $file = Get-ChildItem (Join-Path $copy 'records') -Filter *.jsonl.gz | Select-Object -First 1
        # The file cut in half: fewer records than the manifest lists, and another hash.
        $bytes = [IO.File]::ReadAllBytes($file.FullName)
        [IO.File]::WriteAllBytes($file.FullName, $bytes[0..($bytes.Length / 2)])
        $null = ConvertFrom-MailItemsAccessed -Path $copy -SummaryVariable tally -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike '*does not match the SHA-256 its collection''s manifest records*'
        $tally.TruncationReason | Should -BeLike '*records its collection''s manifest lists*'
    }

    It 'says a folder without a collection is a folder' {
        { ConvertFrom-MailItemsAccessed -Path (Join-Path $Collection 'records') -ErrorAction Stop } | Should -Throw '*is a folder, not a collection*'
    }
}

Describe 'Truncated input is flagged, whatever its source' {
    BeforeAll {
        $script:Simulator = Join-Path $PSScriptRoot 'AuditLogSimulator.psm1'
        Import-Module $Simulator -Force
        Reset-AuditLogSimulator
        Add-SimulatedRecords -Start ([datetime]::new(2024, 3, 1, 0, 0, 0, [DateTimeKind]::Utc)) -Span ([timespan]::FromHours(6)) -Count 6000 -Prefix r
        # What a user who follows the usual examples pipes: one call, cut at its -ResultSize.
        $script:Cut = @(Search-UnifiedAuditLog -StartDate 2024-03-01 -EndDate 2024-03-02 -Operations MailItemsAccessed -ResultSize 5000)
        $script:Small = @(Search-UnifiedAuditLog -StartDate 2024-03-01 -EndDate '2024-03-01T00:30:00' -Operations MailItemsAccessed -ResultSize 5000)
    }

    It 'is false for a complete small query' {
        $Small.Count | Should -BeLessThan 5000
        $null = $Small | Get-MailAccessBind -SummaryVariable tally -WarningVariable warnings
        $tally.PossiblyTruncated | Should -BeFalse
        $tally.TruncationReason | Should -BeNullOrEmpty
        $warnings | Should -BeNullOrEmpty
        $null = Get-BreachInput 'Search-UnifiedAuditLog objects' | ConvertFrom-MailItemsAccessed -SummaryVariable tally
        $tally.PossiblyTruncated | Should -BeFalse
    }

    # The envelope's ResultIndex and ResultCount must reach the summary from every shape that
    # keeps them; AuditData alone has none, and is judged by its count.
    It 'is true, with a warning, for a query cut at its -ResultSize (<Shape>)' -ForEach @(
        @{ Shape = 'piped objects'; Reason = '*records end at exactly its ResultCount of 5,000*' }
        @{ Shape = 'Import-Csv of its Export-Csv'; Reason = '*records end at exactly its ResultCount of 5,000*' }
        @{ Shape = 'its Export-Csv as -Path'; Reason = '*records end at exactly its ResultCount of 5,000*' }
        @{ Shape = 'its AuditData alone'; Reason = '*hold exactly 5,000 records*' }
    ) {
        $csv = Join-Path $TestDrive 'cut.csv'
        if (-not (Test-Path $csv)) { $Cut | Export-Csv $csv -NoTypeInformation }
        $null = switch ($Shape) {
            'piped objects' { $Cut | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.10 -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue }
            'Import-Csv of its Export-Csv' { Import-Csv $csv | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.10 -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue }
            'its Export-Csv as -Path' { Get-CompromisedMailAccess -Path $csv -AttackerIPAddress 198.51.100.10 -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue }
            'its AuditData alone' { $Cut.AuditData | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.10 -SummaryVariable tally -WarningVariable warnings -WarningAction SilentlyContinue }
        }
        $tally.Read | Should -Be 5000
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike $Reason
        ($warnings -join ' ') | Should -BeLike '*The input may be truncated*Save-MailAccessAuditLog*'
    }

    It 'is said in the report of the run, HTML and JSON' {
        $html = Join-Path $TestDrive 'cut.html'
        $json = Join-Path $TestDrive 'cut.json'
        $findings = $Cut | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.10 -ReportPath $html -WarningAction SilentlyContinue
        $page = Get-Content -Raw $html
        $page | Should -BeLike '*The input may be truncated*'
        $page | Should -BeLike '*records end at exactly its ResultCount of 5,000*'
        $findings | Should -Not -BeNullOrEmpty
        $findings[0].Run.PossiblyTruncated | Should -BeTrue
        $findings | Export-MailAccessReport -Path $json
        $report = Get-Content -Raw $json | ConvertFrom-Json
        ($report.run | ConvertTo-Json -Depth 8) | Should -BeLike '*"PossiblyTruncated": true*'
        # A complete query's report raises no such alert.
        $complete = Join-Path $TestDrive 'complete.html'
        $Small | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.10 -ReportPath $complete -WarningAction SilentlyContinue | Out-Null
        Get-Content -Raw $complete | Should -Not -BeLike '*The input may be truncated*'
    }

    It 'reads ResultIndex and ResultCount from <Shape>' -ForEach @(
        @{ Shape = 'piped objects' }
        @{ Shape = 'Import-Csv of their Export-Csv' }
        @{ Shape = 'their Export-Csv as -Path' }
        @{ Shape = 'their JSON Lines as -Path' }
        @{ Shape = 'their JSON text piped' }
    ) {
        # 100 records of a query that counted 23,391 hits (the older ResultCount), and three of
        # one that timed out: neither is a count at which searches stop, so only the positions
        # tell. Records of another operation count toward their query too.
        $older = $Cut | Select-Object -First 100 | ForEach-Object { $_.PSObject.Copy() } | ForEach-Object { $_.ResultCount = 23391; $_ }
        $older[99].AuditData = $older[99].AuditData -replace '"Operation":"MailItemsAccessed"', '"Operation":"Send"'
        $older[99].Operations = 'Send'
        $timedOut = $Small | Select-Object -First 3 | ForEach-Object { $_.PSObject.Copy() } | ForEach-Object { $_.ResultIndex = -1; $_.ResultCount = 0; $_ }
        $objects = @($older) + @($timedOut)
        $csv = Join-Path $TestDrive 'positions.csv'
        $jsonl = Join-Path $TestDrive 'positions.jsonl'
        $objects | Export-Csv $csv -NoTypeInformation
        $objects | ForEach-Object { $_ | Select-Object * -ExcludeProperty RunspaceId | ConvertTo-Json -Compress } | Set-Content $jsonl
        $null = switch ($Shape) {
            'piped objects' { $objects | ConvertFrom-MailItemsAccessed -SummaryVariable tally -WarningAction SilentlyContinue }
            'Import-Csv of their Export-Csv' { Import-Csv $csv | ConvertFrom-MailItemsAccessed -SummaryVariable tally -WarningAction SilentlyContinue }
            'their Export-Csv as -Path' { ConvertFrom-MailItemsAccessed -Path $csv -SummaryVariable tally -WarningAction SilentlyContinue }
            'their JSON Lines as -Path' { ConvertFrom-MailItemsAccessed -Path $jsonl -SummaryVariable tally -WarningAction SilentlyContinue }
            'their JSON text piped' { Get-Content $jsonl | ConvertFrom-MailItemsAccessed -SummaryVariable tally -WarningAction SilentlyContinue }
        }
        $tally.Read | Should -Be 103
        $tally.Skipped | Should -Be 1
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike '*ResultCount is 23,391 but whose highest ResultIndex is 100: at least 23,291*'
        $tally.TruncationReason | Should -BeLike '*3 records with ResultIndex -1*timeout*'
    }

    It 'is true for results whose ResultCount counts more hits than came, or that timed out' {
        # The older ResultCount: the query's hits.
        $older = $Cut | Select-Object -First 100 | ForEach-Object { $_.PSObject.Copy() } | ForEach-Object { $_.ResultCount = 23391; $_ }
        $null = $older | ConvertFrom-MailItemsAccessed -SummaryVariable tally -WarningAction SilentlyContinue
        $tally.TruncationReason | Should -BeLike '*ResultCount is 23,391 but whose highest ResultIndex is 100: at least 23,291*'
        $timedOut = $Small | Select-Object -First 3 | ForEach-Object { $_.PSObject.Copy() } | ForEach-Object { $_.ResultIndex = -1; $_.ResultCount = 0; $_ }
        $null = $timedOut | ConvertFrom-MailItemsAccessed -SummaryVariable tally -WarningAction SilentlyContinue
        $tally.TruncationReason | Should -BeLike '*ResultIndex -1*timeout*'
    }
}
