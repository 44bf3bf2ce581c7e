# Save-MailAccessAuditLog against a simulated Search-UnifiedAuditLog (AuditLogSimulator.psm1):
# the exact set of records that lands in the folder, whatever the service does.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Simulator = Join-Path $PSScriptRoot 'AuditLogSimulator.psm1'
    Import-Module $Simulator -Force
    $script:Start = [datetime]::new(2024, 3, 1, 0, 0, 0, [DateTimeKind]::Utc)
    $script:Fast = [timespan]::FromMilliseconds(5)

    # The record ids in the folder's records files, one per line written.
    function script:Get-CollectedIds([string] $Folder) {
        foreach ($file in Get-ChildItem (Join-Path $Folder 'records') -Filter *.jsonl.gz) {
            $stream = [IO.Compression.GZipStream]::new([IO.File]::OpenRead($file.FullName), [IO.Compression.CompressionMode]::Decompress)
            $reader = [IO.StreamReader]::new($stream)
            try {
                $identity = [regex]'"Identity":"([^"]*)"'
                while ($null -ne ($line = $reader.ReadLine())) {
                    if ($line.Trim()) { $identity.Match($line).Groups[1].Value }
                }
            }
            finally { $reader.Dispose() }
        }
    }

    function script:Get-Manifest([string] $Folder) {
        Get-Content (Join-Path $Folder 'manifest.json') -Raw | ConvertFrom-Json -DateKind String
    }

    function script:ConvertTo-Utc([string] $Text) {
        [datetime]::Parse($Text, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal)
    }

    # Every record collected exactly once: the same set as expected, and no line twice.
    function script:Assert-Collected([string] $Folder, [string[]] $Expected) {
        $ids = [string[]]@(Get-CollectedIds $Folder)
        $ids.Count | Should -Be $Expected.Count -Because 'each record is written once'
        $written = [System.Collections.Generic.HashSet[string]]::new($ids)
        $written.Count | Should -Be $ids.Count -Because 'no record is written twice'
        $missing = @($Expected | Where-Object { -not $written.Contains($_) })
        $missing | Should -BeNullOrEmpty -Because 'every record of the period is collected'
    }
}

Describe 'Save-MailAccessAuditLog' {
    BeforeEach {
        Reset-AuditLogSimulator
    }

    It 'fails with a clear message when Search-UnifiedAuditLog is not in the session' {
        Remove-Module AuditLogSimulator
        try {
            $folder = Join-Path $TestDrive 'not-connected'
            { Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate 2024-03-02 -ErrorAction Stop } |
                Should -Throw '*Search-UnifiedAuditLog is not available*Connect-ExchangeOnline*'
            Test-Path $folder | Should -BeFalse -Because 'nothing is written before the service is there'
        }
        finally { Import-Module $Simulator -Force }
    }

    It 'collects every record through errors, timeouts, empty, short and repeated pages' {
        # Two hours of 12,000 records each: pages of 5,000, 5,000, 2,000 and the empty last one.
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 12000 -Prefix a
        Add-SimulatedRecords -Start $Start.AddHours(1) -Span ([timespan]::FromHours(1)) -Count 12000 -Prefix b
        # The first window: an error, a warning of a cancelled task, a timeout, an empty page after
        # a full one; the second: a short page before more, a record repeated, a terminating error.
        Add-SimulatedFault Error, Warning, None, Timeout, None, None, Empty, None, None, None, None, Short, None, Duplicate, None, Throw
        $folder = Join-Path $TestDrive 'faults'
        $all = @(Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T02:00:00' -RetryDelay $Fast -Verbose 4>&1 3>$null)
        $collection = $all | Where-Object { $_ -is [MailAccessForensics.MailAccessCollection] }
        $verbose = @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $collection.Complete | Should -BeTrue
        $collection.IncompleteWindows | Should -BeNullOrEmpty
        $collection.RecordCount | Should -Be 24000
        Assert-Collected $folder (Get-SimulatedRecordIds)
        # ResultCount mirrors -ResultSize (5,000) on every page: nothing trusted it.
        $calls = Get-SimulatedCalls
        ($calls | Where-Object ResultSize -NE 5000) | Should -BeNullOrEmpty
        @($calls | Where-Object Fault).Count | Should -Be 7
        # Each call is told, and each retry.
        @($verbose | Where-Object { $_ -like 'Search-UnifiedAuditLog -StartDate *' }).Count | Should -Be $calls.Count
        @($verbose | Where-Object { $_ -like '*fetching it again under a new session in*' }).Count | Should -Be 6
        @($collection.Windows | ForEach-Object Failures) | Should -Be @(3, 3)
    }

    It 'collects a burst of more than 5,000 records in a minute and more than 50,000 in an hour' {
        # The busy hour is the first window (an hour long): one split makes it fit.
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(4)) -Count 100 -Prefix sparse
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 50200 -Prefix hour
        Add-SimulatedRecords -Start $Start.AddMinutes(150) -Span ([timespan]::FromMinutes(1)) -Count 5100 -Prefix minute
        $folder = Join-Path $TestDrive 'burst'
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T04:00:00' -RetryDelay $Fast
        $collection.Complete | Should -BeTrue
        $collection.RecordCount | Should -Be 55400
        Assert-Collected $folder (Get-SimulatedRecordIds)
        # The busy hour took more than one window; the windows tile the period.
        @($collection.Windows | Where-Object { $_.End -le $Start.AddHours(1) }).Count | Should -BeGreaterThan 1
        $collection.Windows[0].Calls | Should -BeGreaterOrEqual 10 -Because 'the hour overflowed a session before it was split'
        for ($i = 1; $i -lt $collection.Windows.Count; $i++) {
            $collection.Windows[$i].Start | Should -Be $collection.Windows[$i - 1].End
        }
        # No session was taken past the 50,000 the service returns.
        $sessions = Get-SimulatedCalls | Group-Object SessionId
        ($sessions | ForEach-Object { ($_.Group | Measure-Object Returned -Sum).Sum } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 50000
    }

    It 'collects every record through seeded random faults of every kind (seed <Seed>)' -ForEach @(
        @{ Seed = 7 }
        @{ Seed = 8 }
        @{ Seed = 9 }
    ) {
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(12)) -Count 15000 -Prefix r
        Add-SimulatedRecords -Start $Start.AddHours(5) -Span ([timespan]::FromMinutes(20)) -Count 9000 -Prefix busy
        $random = [System.Random]::new($Seed)
        $kinds = 'Error', 'Throw', 'Warning', 'Timeout', 'Empty', 'Short', 'Duplicate', 'FirstEmpty'
        Set-SimulatedFaultRule { if ($random.NextDouble() -lt 0.25) { $kinds[$random.Next($kinds.Count)] } }.GetNewClosure()
        $folder = Join-Path $TestDrive "random-$Seed"
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T12:00:00' -RetryDelay $Fast 3>$null
        @(Get-SimulatedCalls | Where-Object Fault).Count | Should -BeGreaterOrEqual 3
        $collection.Complete | Should -BeTrue
        Assert-Collected $folder (Get-SimulatedRecordIds)
    }

    It 'shows its progress: windows done, records written, the current window' {
        $ps = [powershell]::Create()
        try {
            $folder = Join-Path $TestDrive 'progress'
            $null = $ps.AddScript(@"
Import-Module '$(Get-ModuleUnderTest)'
Import-Module '$Simulator'
Add-SimulatedRecords -Start ([datetime]'2024-03-01T00:00:00Z').ToUniversalTime() -Span ([timespan]::FromHours(6)) -Count 60 -Prefix r
Save-MailAccessAuditLog -Path '$folder' -StartDate 2024-03-01 -EndDate '2024-03-01T06:00:00' -RetryDelay 00:00:00.005
"@)
            $null = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $progress = @($ps.Streams.Progress | Where-Object Activity -Like 'Saving audit records to *')
            $progress.Count | Should -BeGreaterThan 1
            $progress[0].StatusDescription | Should -Match '^\d+ windows done, [\d,]+ records written$'
            $progress[0].CurrentOperation | Should -Match '^window 1: 2024-03-01 00:00:00 to 2024-03-01 01:00:01 UTC, session 1, page 1$'
            $progress[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'finds delegate and application reads of -Mailbox, which -UserIds misses' {
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 40 -Prefix owner -Mailbox meganb@contoso.com
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 30 -Prefix delegate -Mailbox meganb@contoso.com -UserId adele@contoso.com
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 20 -Prefix app -Mailbox meganb@contoso.com -UserId 'd3590ed6-52b3-4102-aeff-aad2292ab01c' -ClientIP 203.0.113.77
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 50 -Prefix other -Mailbox adele@contoso.com -UserId adele@contoso.com
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 10 -Prefix rule -Mailbox meganb@contoso.com -Operation New-InboxRule
        # The service's -UserIds matches the acting account: the delegate's and the app's reads are not there.
        @(Search-UnifiedAuditLog -StartDate 2024-03-01 -EndDate 2024-03-02 -UserIds meganb@contoso.com -Operations MailItemsAccessed -ResultSize 5000).Count | Should -Be 40

        $folder = Join-Path $TestDrive 'mailbox'
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate 2024-03-02 -Mailbox MeganB@contoso.com -Operations New-InboxRule -SkipAuditCheck -RetryDelay $Fast
        $collection.Operations | Should -Be @('MailItemsAccessed', 'New-InboxRule')
        Assert-Collected $folder (Get-SimulatedRecordIds { $_.Mailbox -eq 'meganb@contoso.com' })
        ($collection.Windows | Measure-Object OtherMailboxes -Sum).Sum | Should -BeGreaterOrEqual 50
        # The calls never narrowed the query to the acting account. (How many calls the windows
        # take is the planner's choice, not fixed by the records.)
        (Get-SimulatedCalls).Count | Should -BeGreaterThan 0
        $findings = @(Get-CompromisedMailAccess -Path $folder -AttackerIPAddress 203.0.113.77 -SummaryVariable tally | Where-Object Kind -EQ AccessedMessage)
        $findings.Count | Should -Be 20
        $tally.PossiblyTruncated | Should -BeFalse
    }

    It 'reports a window that never succeeds as incomplete, never as complete' {
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(6)) -Count 600 -Prefix r
        $bad = $Start.AddHours(2)
        Set-SimulatedFaultRule { param($call) if ($call.StartDate -lt $bad.AddHours(1) -and $call.EndDate -gt $bad) { 'Error' } }.GetNewClosure()
        $folder = Join-Path $TestDrive 'never'
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T06:00:00' -RetryDelay $Fast -WarningVariable warnings -WarningAction SilentlyContinue
        $collection.Complete | Should -BeFalse
        # How many windows the failing hour ends in depends on how far the planner splits it
        # before it gives up; each one is checked below.
        $collection.IncompleteWindows.Count | Should -BeGreaterThan 0
        foreach ($window in $collection.IncompleteWindows) {
            $window.Status | Should -Be 'Incomplete'
            $window.Reason | Should -BeLike '*sessions failed*An internal server error occurred*'
            $window.Start | Should -BeLessThan $bad.AddHours(1)
            $window.End | Should -BeGreaterThan $bad
        }
        ($warnings -join ' ') | Should -BeLike "*is incomplete*$($collection.IncompleteWindows[0].Start.ToString('yyyy-MM-ddTHH:mm:ssZ'))*"
        (Get-Manifest $folder).Complete | Should -BeFalse
        # Every record outside the failing windows is there.
        $ids = @(Get-CollectedIds $folder)
        $outside = Get-SimulatedRecordIds { $t = $_.Time; -not ($collection.IncompleteWindows | Where-Object { $t -ge $_.Start -and $t -lt $_.End }) }
        @($outside | Where-Object { $_ -notin $ids }) | Should -BeNullOrEmpty
        # And every answer over the folder says it may be truncated, and why.
        $null = Get-MailAccessThrottling -Path $folder -SummaryVariable tally -WarningVariable readWarnings -WarningAction SilentlyContinue
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike "The collection in $folder is incomplete*"
        ($readWarnings -join ' ') | Should -BeLike '*may be truncated*'
    }

    It 'resumes after Ctrl+C without fetching complete windows again or writing anything twice' {
        $ps = [powershell]::Create()
        try {
            $folder = Join-Path $TestDrive 'resume'
            $signal = [System.Threading.ManualResetEventSlim]::new($false)
            $ps.Runspace.SessionStateProxy.SetVariable('signal', $signal)
            $null = $ps.AddScript(@"
Import-Module '$(Get-ModuleUnderTest)'
Import-Module '$Simulator'
Add-SimulatedRecords -Start ([datetime]'2024-03-01T00:00:00Z').ToUniversalTime() -Span ([timespan]::FromDays(2)) -Count 3000 -Prefix r
Add-SimulatedRecords -Start ([datetime]'2024-03-01T20:00:00Z').ToUniversalTime() -Span ([timespan]::FromMinutes(30)) -Count 6000 -Prefix busy
# The eighth call hangs until stopped.
Set-SimulatedFaultRule { param(`$call) if (`$call.Number -eq 8) { `$signal.Set(); Start-Sleep -Seconds 120 } }
Save-MailAccessAuditLog -Path '$folder' -StartDate 2024-03-01 -EndDate 2024-03-03 -RetryDelay 00:00:00.005
"@)
            $handle = $ps.BeginInvoke()
            $signal.Wait([timespan]::FromSeconds(120)) | Should -BeTrue -Because 'the run reaches its eighth call'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'

            $manifest = Get-Manifest $folder
            $manifest.Complete | Should -BeFalse
            $manifest.Runs[0].Outcome | Should -Be 'Stopped'
            $done = @($manifest.Windows | Where-Object Status -EQ 'Complete')
            # How many windows are done when the stop lands is a matter of timing.
            $done.Count | Should -BeGreaterThan 0
            $hashes = @($manifest.Files | ForEach-Object Sha256)
            # The folder read as it is: incomplete, and said so.
            $null = ConvertFrom-MailItemsAccessed -Path $folder -SummaryVariable tally -WarningAction SilentlyContinue
            $tally.PossiblyTruncated | Should -BeTrue
            $tally.Read | Should -Be $manifest.RecordCount

            # Run again in the same session (the same service): -Path alone resumes.
            $ps.Commands.Clear()
            $null = $ps.AddScript("Set-SimulatedFaultRule `$null; `$before = (Get-SimulatedCalls).Count; Save-MailAccessAuditLog -Path '$folder' -RetryDelay 00:00:00.005; Get-SimulatedCalls | Select-Object -Skip `$before; ,@(Get-SimulatedRecordIds)")
            $out = $ps.Invoke()
            $ps.HadErrors | Should -BeFalse
            $collection = $out[0]
            $expected = $out[-1]
            $again = @($out | Select-Object -Skip 1 -First ($out.Count - 2))
            $collection.Complete | Should -BeTrue
            Assert-Collected $folder $expected
            foreach ($window in $done) {
                $s = ConvertTo-Utc $window.Start; $e = ConvertTo-Utc $window.End
                @($again | Where-Object { $_.StartDate -lt $e -and $_.EndDate.AddSeconds(-1) -gt $s }) | Should -BeNullOrEmpty -Because "window $($window.Start) was complete"
            }
            $manifest = Get-Manifest $folder
            @($manifest.Files | Select-Object -First $hashes.Count | ForEach-Object Sha256) | Should -Be $hashes -Because 'files written before are never rewritten'
            $manifest.Runs.Count | Should -Be 2
            $manifest.Runs[1].Outcome | Should -Be 'Completed'
            $null = ConvertFrom-MailItemsAccessed -Path $folder -SummaryVariable tally
            $tally.PossiblyTruncated | Should -BeFalse
            $tally.Read | Should -Be $expected.Count
        }
        finally { $ps.Dispose() }
    }

    It 'fetches the last day again on the next run, and adds only the records that came late' {
        $end = [datetime]::new([datetime]::UtcNow.Ticks - [datetime]::UtcNow.Ticks % [timespan]::TicksPerHour, [DateTimeKind]::Utc)
        $from = $end.AddDays(-3)
        Add-SimulatedRecords -Start $from -Span ([timespan]::FromDays(3)) -Count 300 -Prefix r
        $folder = Join-Path $TestDrive 'late'
        $first = Save-MailAccessAuditLog -Path $folder -StartDate $from -EndDate $end -RetryDelay $Fast -WarningVariable warnings -WarningAction SilentlyContinue
        $first.Complete | Should -BeTrue
        $first.Settled | Should -BeFalse
        ($warnings -join ' ') | Should -BeLike '*less than a day before it was fetched*run Save-MailAccessAuditLog*again after*'
        $null = Get-MailAccessBind -Path $folder -SummaryVariable tally -WarningAction SilentlyContinue
        $tally.PossiblyTruncated | Should -BeTrue
        $tally.TruncationReason | Should -BeLike '*delivers some records hours late*'
        $files = @((Get-Manifest $folder).Files)

        Add-SimulatedRecords -Start $end.AddHours(-2) -Span ([timespan]::FromMinutes(1)) -Count 1 -Prefix late
        $before = (Get-SimulatedCalls).Count
        $second = Save-MailAccessAuditLog -Path $folder -RetryDelay $Fast -WarningAction SilentlyContinue
        $second.RecordCount | Should -Be 301
        Assert-Collected $folder (Get-SimulatedRecordIds)
        $again = @(Get-SimulatedCalls | Select-Object -Skip $before)
        ($again | Measure-Object StartDate -Minimum).Minimum | Should -BeGreaterOrEqual $end.AddDays(-2) -Because 'only windows within a day of the first fetch are fetched again'
        $manifest = Get-Manifest $folder
        @($manifest.Files | Select-Object -First $files.Count | ForEach-Object Sha256) | Should -Be @($files | ForEach-Object Sha256)
        $manifest.Files[-1].Records | Should -Be 1
    }

    It 'queries the service with the dates as it reads them' {
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(2)) -Count 10 -Prefix r
        $local = [datetime]::SpecifyKind([datetime]'2024-03-01T00:00:00', [DateTimeKind]::Local)
        $null = Save-MailAccessAuditLog -Path (Join-Path $TestDrive 'dates') -StartDate $local -EndDate '2024-03-01T02:00:00' -RetryDelay $Fast
        $calls = Get-SimulatedCalls
        $calls[0].StartDate | Should -Be $local.ToUniversalTime()
        $calls[0].StartDate.Kind | Should -Be 'Utc'
        ($calls | Measure-Object EndDate -Maximum).Maximum | Should -Be ([datetime]::new(2024, 3, 1, 2, 0, 0, [DateTimeKind]::Utc))
        $calls[0].SessionId | Should -Not -BeNullOrEmpty
        @($calls.SessionId | Sort-Object -Unique).Count | Should -BeGreaterOrEqual 2 -Because 'each session has its own id'
    }

    It 'refuses a folder that holds other files, or a collection of other parameters' {
        $other = New-Item -ItemType Directory (Join-Path $TestDrive 'other')
        Set-Content (Join-Path $other 'notes.txt') 'mine'
        { Save-MailAccessAuditLog -Path $other -StartDate 2024-03-01 -EndDate 2024-03-02 -ErrorAction Stop } | Should -Throw '*holds files but no collection*'
        $folder = Join-Path $TestDrive 'params'
        $null = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate 2024-03-02 -RetryDelay $Fast
        { Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate 2024-03-03 -ErrorAction Stop } | Should -Throw '*holds a collection with EndDate*'
        { Save-MailAccessAuditLog -Path $folder -Mailbox someone@contoso.com -ErrorAction Stop } | Should -Throw '*Mailbox*'
        { Save-MailAccessAuditLog -Path (Join-Path $TestDrive 'nothing-yet') -ErrorAction Stop } | Should -Throw '*-StartDate and -EndDate are needed*'
    }

    It 'records the account and tool in the manifest, and each file with its hash' {
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 5 -Prefix r
        $folder = Join-Path $TestDrive 'manifest'
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -RetryDelay $Fast
        $manifest = Get-Manifest $folder
        $manifest.Format | Should -Be 'MailAccessForensics.Collection'
        $manifest.Runs[0].Connection.UserPrincipalName | Should -Be 'admin@contoso.com'
        $manifest.Runs[0].Tool | Should -BeLike 'MailAccessForensics *'
        $manifest.Parameters.Operations | Should -Be @('MailItemsAccessed')
        foreach ($file in $manifest.Files) {
            (Get-FileHash (Join-Path $folder $file.Name) -Algorithm SHA256).Hash | Should -Be $file.Sha256.ToUpperInvariant()
        }
        $collection.Files.Count | Should -Be $manifest.Files.Count
        # The records as the service returned them.
        $line = Get-CollectedIds $folder | Select-Object -First 1
        $line | Should -BeLike 'r-*'
    }
}

Describe 'The audit configuration check' {
    BeforeEach {
        Reset-AuditLogSimulator
        Add-SimulatedRecords -Start $Start -Span ([timespan]::FromHours(1)) -Count 3 -Prefix r
    }

    It 'passes a mailbox audited for owner, delegate and admin, without bypass' {
        Set-SimulatedMailbox -Identity meganb@contoso.com
        $collection = Save-MailAccessAuditLog -Path (Join-Path $TestDrive 'audited') -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -Mailbox meganb@contoso.com -RetryDelay $Fast -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $collection.AuditChecks.Count | Should -Be 1
        $collection.AuditChecks[0].MailItemsAccessedAudited | Should -BeTrue
        $collection.AuditChecks[0].Source | Should -Be 'Get-EXOMailbox'
    }

    It 'warns when MailItemsAccessed is not audited for <Case>, and records it in the manifest' -ForEach @(
        @{ Case = 'delegates'; Settings = @{ AuditDelegate = @('Update', 'SendAs') }; Expected = '*not audited for delegate logons*' }
        @{ Case = 'admins'; Settings = @{ AuditAdmin = @('Update') }; Expected = '*not audited for admin logons*' }
        @{ Case = 'owners (as one comma-separated text)'; Settings = @{ AuditOwner = 'Update, HardDelete' }; Expected = '*not audited for owner logons*' }
        @{ Case = 'a mailbox with auditing off'; Settings = @{ AuditEnabled = $false }; Expected = '*auditing is off*' }
        @{ Case = 'an account with an audit bypass'; Settings = @{ AuditBypassEnabled = $true }; Expected = '*audit bypass is set*' }
    ) {
        Set-SimulatedMailbox -Identity meganb@contoso.com @Settings
        $folder = Join-Path $TestDrive "check-$($Case -replace '\W', '')"
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -Mailbox meganb@contoso.com -RetryDelay $Fast -WarningVariable warnings -WarningAction SilentlyContinue
        ($warnings -join ' ') | Should -BeLike $Expected
        $collection.AuditChecks[0].MailItemsAccessedAudited | Should -BeFalse
        $recorded = (Get-Manifest $folder).AuditConfiguration[0]
        $recorded.Mailbox | Should -Be 'meganb@contoso.com'
        $recorded.MailItemsAccessedAudited | Should -BeFalse
        ($recorded.Problems -join ' ') | Should -BeLike $Expected
    }

    It 'reads the configuration with Get-Mailbox where Get-EXOMailbox is not there' {
        Remove-Item Function:\Get-EXOMailbox
        try {
            function global:Get-Mailbox {
                param([string] $Identity)
                [pscustomobject]@{ AuditEnabled = $true; AuditOwner = 'Update, MailItemsAccessed'; AuditDelegate = @('MailItemsAccessed'); AuditAdmin = @('MailItemsAccessed'); DefaultAuditSet = @() }
            }
            $collection = Save-MailAccessAuditLog -Path (Join-Path $TestDrive 'get-mailbox') -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -Mailbox meganb@contoso.com -RetryDelay $Fast -WarningVariable warnings
            $warnings | Should -BeNullOrEmpty
            $collection.AuditChecks[0].Source | Should -Be 'Get-Mailbox'
            $collection.AuditChecks[0].AuditOwner | Should -Be @('Update', 'MailItemsAccessed')
            $collection.AuditChecks[0].MailItemsAccessedAudited | Should -BeTrue
        }
        finally {
            Remove-Item Function:\Get-Mailbox -ErrorAction SilentlyContinue
            Import-Module $Simulator -Force
        }
    }

    It 'warns when the configuration cannot be read, and says it is unknown' {
        $collection = Save-MailAccessAuditLog -Path (Join-Path $TestDrive 'unknown') -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -Mailbox nobody@contoso.com -RetryDelay $Fast -WarningVariable warnings -WarningAction SilentlyContinue
        ($warnings -join ' ') | Should -BeLike '*nobody@contoso.com: its audit configuration could not be read*'
        $collection.AuditChecks[0].MailItemsAccessedAudited | Should -BeNullOrEmpty
    }

    It 'skips the check with -SkipAuditCheck' {
        Set-SimulatedMailbox -Identity meganb@contoso.com -AuditDelegate Update
        $folder = Join-Path $TestDrive 'skipped'
        $collection = Save-MailAccessAuditLog -Path $folder -StartDate 2024-03-01 -EndDate '2024-03-01T01:00:00' -Mailbox meganb@contoso.com -SkipAuditCheck -RetryDelay $Fast -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $collection.AuditChecks | Should -BeNullOrEmpty
        (Get-Manifest $folder).AuditConfiguration | Should -BeNullOrEmpty
    }
}
