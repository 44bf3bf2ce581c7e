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
            $progress.Count | Should -BeGreaterThan 0
            $progress[0].StatusDescription | Should -Match 'big\.jsonl: [\d.,]+ of [\d.,]+ MB, [\d,]+ records'
            $progress[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'stops promptly on Ctrl+C' {
        $ps = [powershell]::Create()
        try {
            # Twenty copies (about 1 GB): seconds of reading, whatever the machine's speed.
            $paths = (@("'$Big'") * 20) -join ','
            $null = $ps.AddScript("Import-Module '$ModulePath'; Get-CompromisedMailAccess -Path $paths -AttackerIPAddress 198.51.100.66")
            $handle = $ps.BeginInvoke()
            # Progress shows once reading has gone on for half a second: then it is mid-read.
            $wait = [Diagnostics.Stopwatch]::StartNew()
            while ($ps.Streams.Progress.Count -eq 0 -and -not $handle.IsCompleted -and $wait.Elapsed.TotalSeconds -lt 30) {
                Start-Sleep -Milliseconds 20
            }
            $handle.IsCompleted | Should -BeFalse -Because 'the read must still be running to test stopping it'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 2
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
    }
}
