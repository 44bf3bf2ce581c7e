# Shared by bench/Invoke-Benchmark.ps1 and bench/Invoke-BenchChild.ps1: loading the data set,
# the measured variants, peak-memory measurement and the correctness comparisons.
# See bench/README.md for what each number means.

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'

# ---------------------------------------------------------------------------------------------
# Data

# The Search-UnifiedAuditLog result objects of the data set, as PSCustomObjects (what
# Search-UnifiedAuditLog hands a script: CreationDate a [datetime], AuditData a JSON string).
# Setup, never timed. -Limit keeps the first N lines.
function Import-SearchResult {
    param([Parameter(Mandatory)] [string] $Path, [long] $Limit = 0)
    $objects = [System.Collections.Generic.List[object]]::new()
    foreach ($line in [System.IO.File]::ReadLines($Path)) {
        if ($line.Length -eq 0) { continue }
        $objects.Add((ConvertFrom-Json -InputObject $line))
        if ($Limit -gt 0 -and $objects.Count -ge $Limit) { break }
    }
    , $objects
}

# The records the seed-style script is timed on when the data set is larger than the limit:
# every k-th record, so the subset spans the whole period (and the attack) like the full set.
function Select-SeedStyleSubset {
    param([Parameter(Mandatory)] $Objects, [Parameter(Mandatory)] [long] $Limit)
    if ($Limit -le 0 -or $Objects.Count -le $Limit) {
        return [pscustomobject]@{ Objects = $Objects; Stride = 1; IsSubset = $false }
    }
    $stride = [int][math]::Ceiling($Objects.Count / [double]$Limit)
    $subset = [System.Collections.Generic.List[object]]::new()
    for ($i = 0; $i -lt $Objects.Count; $i += $stride) { $subset.Add($Objects[$i]) }
    [pscustomobject]@{ Objects = $subset; Stride = $stride; IsSubset = $true }
}

# The first lines of a data file (a CSV keeps its header), for warming up a variant in a
# fresh process before its memory is measured.
function New-SampleFile {
    param([Parameter(Mandatory)] [string] $Path, [int] $Lines = 2000, [Parameter(Mandatory)] [string] $Destination)
    $take = if ($Path.EndsWith('.csv')) { $Lines + 1 } else { $Lines }
    $writer = [System.IO.StreamWriter]::new($Destination, $false, [System.Text.UTF8Encoding]::new($false))
    try {
        $n = 0
        foreach ($line in [System.IO.File]::ReadLines($Path)) {
            $writer.Write($line)
            $writer.Write($(if ($Path.EndsWith('.csv')) { "`r`n" } else { "`n" }))
            if (++$n -ge $take) { break }
        }
    }
    finally {
        $writer.Dispose()
    }
}

# ---------------------------------------------------------------------------------------------
# The variants. Each returns what it computed, so the run can be checked.

# Microsoft's four steps as the guidance writes them, each over the objects a
# Search-UnifiedAuditLog search returned. The -like patterns are the guidance's own; both match
# compact AuditData as Exchange writes it (`{"Name":"IsThrottled","Value":"True"}` contains
# `"IsThrottled","Value":"True"`). Step 4 first narrows by text (-like on the address), as an
# analyst would, and only then parses: a generous seed.
function Invoke-SeedStyle {
    param([Parameter(Mandatory)] $Objects, [Parameter(Mandatory)] [string] $AttackerIPAddress)
    # Analysts' scripts do not run under strict mode; member enumeration over folders without
    # FolderItems must yield nothing, not fail.
    Set-StrictMode -Off
    $steps = [ordered]@{}
    $sw = [System.Diagnostics.Stopwatch]::StartNew()

    # Step 1: throttled records (each opens a 24-hour unaudited window).
    $throttled = @($Objects | Where-Object { $_.AuditData -like '*"IsThrottled","Value":"True"*' })
    $steps.Throttling = $sw.Elapsed.TotalSeconds; $sw.Restart()

    # Step 2: sync records, and the folders they name.
    $sync = @($Objects | Where-Object { $_.AuditData -like '*MailAccessType*Sync*' })
    $syncedFolders = @($sync | ForEach-Object {
            $ad = $_.AuditData | ConvertFrom-Json
            foreach ($folder in $ad.Folders) {
                [pscustomobject]@{
                    Mailbox = $ad.MailboxOwnerUPN; FolderPath = $folder.Path; Id = $ad.Id
                    ClientIPAddress = $ad.ClientIPAddress; ClientInfoString = $ad.ClientInfoString
                    SessionId = $ad.SessionId; UserId = $ad.UserId
                }
            }
        })
    $steps.Sync = $sw.Elapsed.TotalSeconds; $sw.Restart()

    # Step 3: access contexts.
    $contexts = @($Objects | Where-Object Operations -eq 'MailItemsAccessed' |
            ForEach-Object { $_.AuditData | ConvertFrom-Json } |
            Group-Object ClientIPAddress, ClientInfoString, SessionId, UserId)
    $steps.Contexts = $sw.Elapsed.TotalSeconds; $sw.Restart()

    # Step 4: the messages read from the attacker's address.
    $pattern = '*"ClientIPAddress":"' + [WildcardPattern]::Escape($AttackerIPAddress) + '"*'
    $reads = @($Objects | Where-Object { $_.Operations -eq 'MailItemsAccessed' -and $_.AuditData -like $pattern } |
            ForEach-Object {
                $ad = $_.AuditData | ConvertFrom-Json
                foreach ($id in $ad.Folders.FolderItems.InternetMessageId) {
                    [pscustomobject]@{ Mailbox = $ad.MailboxOwnerUPN; InternetMessageId = $id; Id = $ad.Id }
                }
            })
    $steps.Messages = $sw.Elapsed.TotalSeconds

    [pscustomobject]@{
        Throttled     = $throttled
        Sync          = $sync
        SyncedFolders = $syncedFolders
        Contexts      = $contexts
        Reads         = $reads
        StepSeconds   = $steps
    }
}

function Invoke-OursPipeline {
    param([Parameter(Mandatory)] $Objects, [Parameter(Mandatory)] [string] $AttackerIPAddress)
    $findings = @($Objects | Get-CompromisedMailAccess -AttackerIPAddress $AttackerIPAddress -SummaryVariable summary -ErrorVariable +errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
    [pscustomobject]@{ Findings = $findings; Summary = $summary; Errors = @($errors).Count }
}

# The least a pipeline that hands AuditData on can cost.
function Invoke-PipelineFloor {
    param([Parameter(Mandatory)] $Objects)
    $Objects | Select-Object -ExpandProperty AuditData | Out-Null
    $null
}

function Invoke-OursFile {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $AttackerIPAddress)
    $findings = @(Get-CompromisedMailAccess -Path $Path -AttackerIPAddress $AttackerIPAddress -SummaryVariable summary -ErrorVariable +errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
    [pscustomobject]@{ Findings = $findings; Summary = $summary; Errors = @($errors).Count }
}

# ---------------------------------------------------------------------------------------------
# Timing and memory

function Get-Statistic {
    param([double[]] $Seconds)
    $sorted = @($Seconds | Sort-Object)
    $n = $sorted.Count
    if ($n -eq 0) { return $null }
    $median = if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
    [pscustomobject]@{ Min = $sorted[0]; Median = $median; Max = $sorted[$n - 1]; Count = $n }
}

# One timed run: a full collection first, so no variant pays for another's garbage.
function Measure-Once {
    param([Parameter(Mandatory)] [scriptblock] $Body)
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $result = & $Body
    $sw.Stop()
    [pscustomobject]@{ Seconds = $sw.Elapsed.TotalSeconds; Result = $result }
}

function Get-ProcStatusBytes {
    param([Parameter(Mandatory)] [string] $Field)
    $path = '/proc/self/status'
    if (-not (Test-Path $path)) { return $null }
    foreach ($line in [System.IO.File]::ReadAllLines($path)) {
        if ($line.StartsWith("${Field}:")) {
            return [long](($line -split '\s+')[1]) * 1024
        }
    }
    $null
}

# Linux: writing 5 to /proc/self/clear_refs resets VmHWM (peak resident set) to the current
# resident set, so the peak read after a run is the run's own. Returns whether it worked.
function Reset-PeakMemory {
    try {
        [System.IO.File]::WriteAllText('/proc/self/clear_refs', '5')
    }
    catch {
        return $false
    }
    $hwm = Get-ProcStatusBytes VmHWM
    $rss = Get-ProcStatusBytes VmRSS
    [bool]($null -ne $hwm -and $null -ne $rss -and $hwm -le $rss + 8MB)
}

# ---------------------------------------------------------------------------------------------
# Correctness: the answers both sides give to the same questions, as sorted key lists.

function Get-Prop($Object, [string] $Name) {
    if ($null -eq $Object) { return $null }
    $p = $Object.PSObject.Properties[$Name]
    if ($p) { $p.Value } else { $null }
}

function ConvertTo-AddressKey([object] $Text) {
    if ($null -eq $Text -or "$Text" -eq '') { return '' }
    $address = $null
    if ([System.Net.IPAddress]::TryParse("$Text".Trim(), [ref] $address)) { return $address.ToString().ToLowerInvariant() }
    "$Text".Trim().ToLowerInvariant()
}

function ConvertTo-TextKey([object] $Text, [switch] $Fold) {
    if ($null -eq $Text) { return '' }
    $t = "$Text"
    if ($Fold) { $t.ToLowerInvariant() } else { $t }
}

function ConvertTo-TimeKey([object] $Time) {
    if ($null -eq $Time) { return '' }
    if ($Time -is [datetime]) { return $Time.ToString('yyyy-MM-ddTHH:mm:ss', [cultureinfo]::InvariantCulture) }
    ([datetime]::Parse("$Time", [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal -bor [System.Globalization.DateTimeStyles]::AssumeUniversal)).ToString('yyyy-MM-ddTHH:mm:ss', [cultureinfo]::InvariantCulture)
}

# Unaudited windows from throttled records, as docs/semantics.md defines them: 24 hours from
# each, merged per mailbox when they overlap or touch.
function Get-SeedWindowKey {
    param($ThrottledObjects)
    $records = foreach ($o in $ThrottledObjects) {
        $ad = $o.AuditData | ConvertFrom-Json
        [pscustomobject]@{ Mailbox = (ConvertTo-TextKey $ad.MailboxOwnerUPN -Fold); Time = [datetime]$ad.CreationTime; Id = $ad.Id }
    }
    $keys = foreach ($group in @($records) | Group-Object Mailbox) {
        $start = $null; $end = $null; $count = 0
        foreach ($r in $group.Group | Sort-Object Time, Id) {
            if ($null -ne $end -and $r.Time -le $end) {
                if ($r.Time.AddHours(24) -gt $end) { $end = $r.Time.AddHours(24) }
                $count++
            }
            else {
                if ($null -ne $start) { '{0}|{1}|{2}|{3}' -f $group.Name, (ConvertTo-TimeKey $start), (ConvertTo-TimeKey $end), $count }
                $start = $r.Time; $end = $r.Time.AddHours(24); $count = 1
            }
        }
        if ($null -ne $start) { '{0}|{1}|{2}|{3}' -f $group.Name, (ConvertTo-TimeKey $start), (ConvertTo-TimeKey $end), $count }
    }
    @($keys | Sort-Object)
}

# Compares two key lists; returns a check object with the first differences.
function Compare-KeySet {
    param([Parameter(Mandatory)] [string] $Name, [string[]] $Seed, [string[]] $Ours, [string] $SeedLabel = 'seed-style', [string] $OursLabel = 'ours')
    $a = @($Seed | Sort-Object)
    $b = @($Ours | Sort-Object)
    $onlySeed = [System.Collections.Generic.List[string]]::new()
    $onlyOurs = [System.Collections.Generic.List[string]]::new()
    $setA = [System.Collections.Generic.HashSet[string]]::new([string[]]$a)
    $setB = [System.Collections.Generic.HashSet[string]]::new([string[]]$b)
    foreach ($k in $a) { if (-not $setB.Contains($k)) { $onlySeed.Add($k) } }
    foreach ($k in $b) { if (-not $setA.Contains($k)) { $onlyOurs.Add($k) } }
    $passed = $onlySeed.Count -eq 0 -and $onlyOurs.Count -eq 0 -and $a.Count -eq $b.Count
    [pscustomobject]@{
        Check   = $Name
        Passed  = $passed
        Detail  = if ($passed) { "$($a.Count) equal" } else {
            "$SeedLabel $($a.Count), $OursLabel $($b.Count); only in ${SeedLabel}: " + (($onlySeed | Select-Object -First 3) -join ' ; ') +
            "; only in ${OursLabel}: " + (($onlyOurs | Select-Object -First 3) -join ' ; ')
        }
    }
}

function New-Check([string] $Name, [bool] $Passed, [string] $Detail) {
    [pscustomobject]@{ Check = $Name; Passed = $Passed; Detail = $Detail }
}

# The findings of the verdict in a canonical form (to compare pipeline and file mode).
function Get-FindingKey {
    param($Findings)
    @(foreach ($f in $Findings) {
            '{0}|{1}|{2}|{3}|{4}|{5}|{6}|{7}|{8}|{9}' -f $f.Kind, (ConvertTo-TextKey $f.Mailbox -Fold), $f.FolderPath, $f.InternetMessageId, $f.AccessCount,
            (ConvertTo-TimeKey $f.Start), (ConvertTo-TimeKey $f.End), (@($f.ClientIPAddress) -join ','), (@($f.SessionId) -join ','), (@($f.EvidenceRecordIds) -join ',')
        })
}

# Every question the seed-style script and ours both answer, on the same records.
#   $Seed      the output of Invoke-SeedStyle
#   $Findings  Get-CompromisedMailAccess -AttackerIPAddress over the same records
#   $Steps     Get-MailAccessSync and Get-MailAccessContext over the same records
function Compare-SeedStyle {
    param([Parameter(Mandatory)] $Seed, [Parameter(Mandatory)] $Findings, [Parameter(Mandatory)] $Steps, [Parameter(Mandatory)] [string] $AttackerIPAddress)
    $attacker = ConvertTo-AddressKey $AttackerIPAddress
    $checks = [System.Collections.Generic.List[object]]::new()
    $byKind = @{}
    foreach ($f in $Findings) {
        $k = "$($f.Kind)"
        if (-not $byKind.ContainsKey($k)) { $byKind[$k] = [System.Collections.Generic.List[object]]::new() }
        $byKind[$k].Add($f)
    }
    $kind = { param($k) if ($byKind.ContainsKey($k)) { $byKind[$k] } else { @() } }

    # Step 1: the throttled records, and the unaudited windows they open.
    $checks.Add((Compare-KeySet 'step 1: throttled record ids' -Seed @($Seed.Throttled | ForEach-Object { "$($_.Identity)" }) `
                -Ours @(& $kind 'ThrottledWindow' | ForEach-Object { $_.EvidenceRecordIds })))
    $checks.Add((Compare-KeySet 'step 1: unaudited windows (mailbox|start|end|records)' -Seed (Get-SeedWindowKey $Seed.Throttled) `
                -Ours @(& $kind 'ThrottledWindow' | ForEach-Object { '{0}|{1}|{2}|{3}' -f (ConvertTo-TextKey $_.Mailbox -Fold), (ConvertTo-TimeKey $_.Start), (ConvertTo-TimeKey $_.End), $_.AccessCount })))

    # Step 2: synced folders, every context (Get-MailAccessSync) and the attacker's (verdict).
    $seedSync = @($Seed.SyncedFolders | Group-Object { '{0}|{1}|{2}|{3}|{4}|{5}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.FolderPath, (ConvertTo-AddressKey $_.ClientIPAddress), $_.ClientInfoString, (ConvertTo-TextKey $_.SessionId -Fold), (ConvertTo-TextKey $_.UserId -Fold) } |
            ForEach-Object { "$($_.Name)|$($_.Count)" })
    $oursSync = @($Steps.Sync | ForEach-Object { '{0}|{1}|{2}|{3}|{4}|{5}|{6}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.FolderPath, (ConvertTo-AddressKey $_.ClientIPAddress), $_.ClientInfoString, (ConvertTo-TextKey $_.SessionId -Fold), (ConvertTo-TextKey $_.UserId -Fold), $_.SyncCount })
    $checks.Add((Compare-KeySet 'step 2: sync groups (mailbox|folder|context|syncs), Get-MailAccessSync' -Seed $seedSync -Ours $oursSync))
    $seedAttackerSync = @($Seed.SyncedFolders | Where-Object { (ConvertTo-AddressKey $_.ClientIPAddress) -eq $attacker } |
            Group-Object { '{0}|{1}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.FolderPath } | ForEach-Object { "$($_.Name)|$($_.Count)" })
    $checks.Add((Compare-KeySet "step 2: folders synced from $AttackerIPAddress (mailbox|folder|syncs), verdict" -Seed $seedAttackerSync `
                -Ours @(& $kind 'SyncedFolder' | ForEach-Object { '{0}|{1}|{2}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.FolderPath, $_.AccessCount })))

    # Step 3: the context groups, with their record counts.
    $seedContexts = @($Seed.Contexts | ForEach-Object {
            $first = $_.Group[0]
            '{0}|{1}|{2}|{3}|{4}' -f (ConvertTo-AddressKey (Get-Prop $first 'ClientIPAddress')), (Get-Prop $first 'ClientInfoString'), (ConvertTo-TextKey (Get-Prop $first 'SessionId') -Fold), (ConvertTo-TextKey (Get-Prop $first 'UserId') -Fold), $_.Count
        })
    $oursContexts = @($Steps.Contexts | ForEach-Object { '{0}|{1}|{2}|{3}|{4}' -f (ConvertTo-AddressKey $_.ClientIPAddress), $_.ClientInfoString, (ConvertTo-TextKey $_.SessionId -Fold), (ConvertTo-TextKey $_.UserId -Fold), $_.RecordCount })
    $checks.Add((Compare-KeySet 'step 3: context groups (address|client|session|user|records), Get-MailAccessContext' -Seed $seedContexts -Ours $oursContexts))
    $seedSessions = @($Seed.Contexts | ForEach-Object { $_.Group[0] } | Where-Object { (ConvertTo-AddressKey (Get-Prop $_ 'ClientIPAddress')) -eq $attacker -and (Get-Prop $_ 'SessionId') } |
            ForEach-Object { ConvertTo-TextKey (Get-Prop $_ 'SessionId') -Fold } | Sort-Object -Unique)
    $oursSessions = @(& $kind 'AttackerIndicator' | Where-Object { @($_.SessionId).Count -gt 0 } | ForEach-Object { ConvertTo-TextKey @($_.SessionId)[0] -Fold })
    $checks.Add((Compare-KeySet "step 3: sessions seen from $AttackerIPAddress, verdict indicators" -Seed $seedSessions -Ours $oursSessions))
    # No session of the attacker's is used from another address, so the attacker's addresses are
    # the given one alone (when any record came from it).
    $seedAddresses = @($Seed.Contexts | ForEach-Object { ConvertTo-AddressKey (Get-Prop $_.Group[0] 'ClientIPAddress') } | Where-Object { $_ -eq $attacker } | Sort-Object -Unique)
    $oursAddresses = @(& $kind 'AttackerIndicator' | Where-Object { @($_.ClientIPAddress).Count -gt 0 } | ForEach-Object { ConvertTo-AddressKey @($_.ClientIPAddress)[0] })
    $checks.Add((Compare-KeySet 'step 3: attacker addresses, verdict indicators' -Seed $seedAddresses -Ours $oursAddresses))

    # Step 4: the messages read from the attacker's address, with their access counts.
    $seedReads = @($Seed.Reads | Group-Object { '{0}|{1}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.InternetMessageId } | ForEach-Object { "$($_.Name)|$($_.Count)" })
    $oursReads = @(& $kind 'AccessedMessage' | ForEach-Object { '{0}|{1}|{2}' -f (ConvertTo-TextKey $_.Mailbox -Fold), $_.InternetMessageId, $_.AccessCount })
    $checks.Add((Compare-KeySet "step 4: messages read from $AttackerIPAddress (mailbox|message|accesses), verdict" -Seed $seedReads -Ours $oursReads))
    $unresolved = @(& $kind 'UnresolvedAccess').Count
    $checks.Add((New-Check 'verdict: no UnresolvedAccess (every generated Bind lists its items)' ($unresolved -eq 0) "$unresolved UnresolvedAccess finding(s)"))
    , $checks
}

# The verdict against what the generator knows it wrote.
function Compare-Manifest {
    param([Parameter(Mandatory)] $Manifest, [Parameter(Mandatory)] $Run, [string] $Label)
    $checks = [System.Collections.Generic.List[object]]::new()
    $findings = $Run.Findings
    $s = $Run.Summary
    $count = { param($k) @($findings | Where-Object { "$($_.Kind)" -eq $k }).Count }
    $checks.Add((New-Check "${Label}: records read = records written" ($null -ne $s -and $s.Read -eq $Manifest.records) "read $(if ($s) { $s.Read }) of $($Manifest.records)"))
    $checks.Add((New-Check "${Label}: MailItemsAccessed analysed, others skipped, no errors" ($null -ne $s -and $s.Analysed -eq $Manifest.counts.mailItemsAccessed -and $s.Skipped -eq $Manifest.counts.otherOperations -and $s.Errors -eq 0 -and $Run.Errors -eq 0) `
                "analysed $(if ($s) { $s.Analysed }) of $($Manifest.counts.mailItemsAccessed), skipped $(if ($s) { $s.Skipped }) of $($Manifest.counts.otherOperations), errors $(if ($s) { $s.Errors }) / $($Run.Errors) written"))
    $checks.Add((New-Check "${Label}: throttled records = generated" ($null -ne $s -and $s.Throttled -eq $Manifest.counts.throttled -and $s.ThrottlingUnknown -eq $Manifest.counts.throttlingUnknown) "throttled $(if ($s) { $s.Throttled }) of $($Manifest.counts.throttled), unknown $(if ($s) { $s.ThrottlingUnknown }) of $($Manifest.counts.throttlingUnknown)"))
    $messages = & $count 'AccessedMessage'
    $checks.Add((New-Check "${Label}: attacker's messages = generated" ($messages -eq $Manifest.attacker.distinctMessages) "$messages AccessedMessage, generated $($Manifest.attacker.distinctMessages)"))
    $folders = & $count 'SyncedFolder'
    $checks.Add((New-Check "${Label}: attacker's synced folders = generated" ($folders -eq $Manifest.attacker.syncedFolders) "$folders SyncedFolder, generated $($Manifest.attacker.syncedFolders)"))
    $sessions = @($findings | Where-Object { "$($_.Kind)" -eq 'AttackerIndicator' -and @($_.SessionId).Count -gt 0 }).Count
    $checks.Add((New-Check "${Label}: attacker's sessions = generated" ($sessions -eq $Manifest.attacker.sessions) "$sessions session indicators, generated $($Manifest.attacker.sessions)"))
    , $checks
}

Export-ModuleMember -Function *
