# A stand-in for Exchange Online in the tests: Search-UnifiedAuditLog as it is documented and
# reported to behave (../shared/notes/collection-and-kql.md), with faults seeded on demand, and
# the audit-configuration cmdlets Save-MailAccessAuditLog checks.
#
# Search-UnifiedAuditLog here:
# - reads -StartDate/-EndDate as the real one: text without a zone is UTC, a date alone is
#   midnight, a [datetime] of kind Local is converted; records with StartDate <= CreationTime
#   < EndDate match;
# - -UserIds matches the acting account (UserId), not the mailbox read;
# - returns at most -ResultSize (default 100, at most 5,000) per call; with -SessionCommand
#   ReturnLargeSet and a -SessionId, pages on through the matches, unsorted, up to 50,000 per
#   session, then empty pages;
# - sets ResultIndex to the record's place in the session and ResultCount to -ResultSize (as
#   the service does since 2026);
# - fails as asked: an error, a terminating error, a warning of a cancelled task, a timeout
#   page (ResultIndex -1, ResultCount 0), an empty page mid-session (the session then ends), a
#   short page (the rest comes on later pages), a record repeated, a first call of a session
#   that returns nothing.

# The service's state and its paging, in C#: the tests page through tens of thousands of
# records, which script would take minutes to build.
if (-not ('MafTest.AuditLogService' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;

namespace MafTest
{
    public sealed class SimRecord
    {
        public string Id { get; set; }
        public DateTime Time { get; set; }
        public string Mailbox { get; set; }
        public string UserId { get; set; }
        public string Operation { get; set; }
        public string ClientIP { get; set; }
        public string MessageId { get; set; }
    }

    public sealed class AuditLogService
    {
        private sealed class Session { public List<SimRecord> Records; public int Cursor; public int Pages; public bool Ended; }

        private readonly List<SimRecord> _records = new List<SimRecord>();
        private bool _sorted = true;
        private readonly Dictionary<string, Session> _sessions = new Dictionary<string, Session>();
        private Random _random;

        public AuditLogService(int seed) { _random = new Random(seed); }

        public IList<SimRecord> Records { get { return _records; } }

        public void Add(SimRecord record) { _records.Add(record); _sorted = false; }

        public void AddMany(DateTime start, TimeSpan span, int count, string prefix, string mailbox, string userId, string operation, string clientIP)
        {
            for (int i = 0; i < count; i++)
            {
                string id = string.Format(CultureInfo.InvariantCulture, "{0}-{1:D7}", prefix, i);
                Add(new SimRecord
                {
                    Id = id,
                    Time = new DateTime(start.Ticks + (long)((double)span.Ticks * i / count), DateTimeKind.Utc),
                    Mailbox = mailbox, UserId = userId, Operation = operation, ClientIP = clientIP,
                    MessageId = "<" + id + "@contoso.com>",
                });
            }
        }

        public int PageOf(string sessionId)
        {
            Session s;
            return sessionId != null && _sessions.TryGetValue(sessionId, out s) ? s.Pages + 1 : 1;
        }

        private List<SimRecord> Matching(DateTime start, DateTime end, string[] operations, string[] userIds)
        {
            if (!_sorted) { _records.Sort((a, b) => a.Time.CompareTo(b.Time)); _sorted = true; }
            var found = new List<SimRecord>();
            int lo = 0, hi = _records.Count;
            while (lo < hi) { int mid = (lo + hi) / 2; if (_records[mid].Time < start) lo = mid + 1; else hi = mid; }
            for (int i = lo; i < _records.Count && _records[i].Time < end; i++)
            {
                SimRecord r = _records[i];
                if (operations != null && operations.Length > 0 && Array.FindIndex(operations, o => string.Equals(o, r.Operation, StringComparison.OrdinalIgnoreCase)) < 0) continue;
                if (userIds != null && userIds.Length > 0 && Array.FindIndex(userIds, u => string.Equals(u, r.UserId, StringComparison.OrdinalIgnoreCase)) < 0) continue;
                found.Add(r);
            }
            return found;
        }

        /// A call; `fault` is one of Timeout, Empty, Short, Duplicate, FirstEmpty or null.
        public List<PSObject> Search(DateTime start, DateTime end, string[] operations, string[] userIds, string sessionId, bool largeSet, int resultSize, string fault)
        {
            var page = new List<PSObject>();
            if (start >= end) return page;
            if (sessionId == null || !largeSet)
            {
                List<SimRecord> sorted = Matching(start, end, operations, userIds);
                for (int i = 0; i < Math.Min(resultSize, sorted.Count); i++) page.Add(Envelope(sorted[i], i + 1, resultSize));
                return page;
            }
            Session session;
            if (!_sessions.TryGetValue(sessionId, out session))
            {
                List<SimRecord> found = Matching(start, end, operations, userIds);
                for (int i = found.Count - 1; i > 0; i--) { int j = _random.Next(i + 1); SimRecord t = found[i]; found[i] = found[j]; found[j] = t; }
                session = new Session { Records = found };
                _sessions[sessionId] = session;
            }
            session.Pages++;
            if (session.Ended || fault == "Empty" || (fault == "FirstEmpty" && session.Pages == 1))
            {
                if (fault == "Empty") session.Ended = true;
                return page;
            }
            int limit = Math.Min(50000, session.Records.Count);
            int size = fault == "Short" ? Math.Max(1, resultSize / 3) : resultSize;
            int take = Math.Max(0, Math.Min(size, limit - session.Cursor));
            int first = session.Cursor;
            session.Cursor += take;
            long index = first;
            for (int k = 0; k < take; k++)
            {
                SimRecord r = session.Records[first + k];
                index++;
                page.Add(fault == "Timeout" ? Envelope(r, -1, 0) : Envelope(r, index, resultSize));
                if (fault == "Duplicate" && k == 0) { index++; page.Add(Envelope(r, index, resultSize)); }
            }
            return page;
        }

        public static PSObject Envelope(SimRecord r, long index, long count)
        {
            string audit = string.Format(CultureInfo.InvariantCulture,
                "{{\"CreationTime\":\"{0:yyyy-MM-ddTHH:mm:ss}\",\"Id\":\"{1}\",\"Operation\":\"{2}\",\"OrganizationId\":\"6f2d1c3b-8a4e-4f1d-9b2a-3c4d5e6f7a8b\",\"RecordType\":50,\"ResultStatus\":\"Succeeded\",\"UserKey\":\"10032001A7C3E5F1\",\"UserType\":0,\"Version\":1,\"Workload\":\"Exchange\",\"UserId\":\"{3}\",\"AppId\":\"00000002-0000-0ff1-ce00-000000000000\",\"ClientIPAddress\":\"{4}\",\"ClientInfoString\":\"Client=REST;;\",\"ExternalAccess\":false,\"InternalLogonType\":0,\"LogonType\":0,\"MailboxGuid\":\"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\",\"MailboxOwnerUPN\":\"{5}\",\"OperationProperties\":[{{\"Name\":\"MailAccessType\",\"Value\":\"Bind\"}},{{\"Name\":\"IsThrottled\",\"Value\":\"False\"}}],\"OperationCount\":1,\"Folders\":[{{\"Id\":\"LgAAAAAa\",\"Path\":\"\\\\Inbox\",\"FolderItems\":[{{\"InternetMessageId\":\"{6}\",\"SizeInBytes\":2048}}]}}]}}",
                r.Time, r.Id, r.Operation, r.UserId, r.ClientIP, r.Mailbox, r.MessageId);
            var o = new PSObject();
            o.Properties.Add(new PSNoteProperty("RunspaceId", new Guid("11111111-2222-3333-4444-555555555555")));
            o.Properties.Add(new PSNoteProperty("RecordType", "ExchangeItemAggregated"));
            o.Properties.Add(new PSNoteProperty("CreationDate", r.Time));
            o.Properties.Add(new PSNoteProperty("UserIds", r.UserId));
            o.Properties.Add(new PSNoteProperty("Operations", r.Operation));
            o.Properties.Add(new PSNoteProperty("AuditData", audit));
            o.Properties.Add(new PSNoteProperty("ResultIndex", index));
            o.Properties.Add(new PSNoteProperty("ResultCount", count));
            o.Properties.Add(new PSNoteProperty("Identity", r.Id));
            o.Properties.Add(new PSNoteProperty("IsValid", true));
            o.Properties.Add(new PSNoteProperty("ObjectState", "Unchanged"));
            o.TypeNames.Insert(0, "Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.UnifiedAuditLogEvent");
            return o;
        }
    }
}
'@
}

$script:Service = $null
$script:Calls = [System.Collections.Generic.List[object]]::new()
$script:Faults = [System.Collections.Generic.Queue[string]]::new()
$script:FaultRule = $null
$script:Mailboxes = @{}
$script:Bypass = @{}
$script:Connection = $null

# Starts over: no records, no sessions, no faults.
function Reset-AuditLogSimulator {
    param([int] $Seed = 1)
    $script:Service = [MafTest.AuditLogService]::new($Seed)
    $script:Calls.Clear()
    $script:Faults.Clear()
    $script:FaultRule = $null
    $script:Mailboxes = @{}
    $script:Bypass = @{}
    $script:Connection = [pscustomobject]@{ UserPrincipalName = 'admin@contoso.com'; TenantID = '6f2d1c3b-8a4e-4f1d-9b2a-3c4d5e6f7a8b'; Organization = 'contoso.onmicrosoft.com'; State = 'Connected'; Name = 'ExchangeOnline_1' }
}

# Adds $Count records spread evenly over [$Start, $Start + $Span), ids "$Prefix-0000001"...
function Add-SimulatedRecords {
    param(
        [Parameter(Mandatory)] [datetime] $Start,
        [Parameter(Mandatory)] [timespan] $Span,
        [Parameter(Mandatory)] [int] $Count,
        [Parameter(Mandatory)] [string] $Prefix,
        [string] $Mailbox = 'meganb@contoso.com',
        [string] $UserId = $Mailbox,
        [string] $Operation = 'MailItemsAccessed',
        [string] $ClientIP = '198.51.100.10'
    )
    $script:Service.AddMany($Start.ToUniversalTime(), $Span, $Count, $Prefix, $Mailbox, $UserId, $Operation, $ClientIP)
}

# The ids of the simulated records (optionally only those matching a filter script).
function Get-SimulatedRecordIds {
    param([scriptblock] $Where = { $true })
    $script:Service.Records | Where-Object $Where | ForEach-Object Id
}

# Faults for the next calls, in order ('None' for a call without one): Error, Throw,
# Warning, Timeout, Empty, Short, Duplicate, FirstEmpty.
function Add-SimulatedFault {
    param([Parameter(Mandatory)] [string[]] $Fault)
    foreach ($f in $Fault) { $script:Faults.Enqueue($f) }
}

# A fault decided per call: the script block gets the call (StartDate, EndDate, SessionId,
# Page, Number) and returns a fault name or nothing.
function Set-SimulatedFaultRule {
    param([scriptblock] $Rule)
    $script:FaultRule = $Rule
}

function Get-SimulatedCalls { $script:Calls.ToArray() }

function ConvertTo-ServiceTime($Value, [string] $Name) {
    if ($Value -is [datetime]) {
        if ($Value.Kind -eq [DateTimeKind]::Local) { return $Value.ToUniversalTime() }
        return [datetime]::SpecifyKind($Value, [DateTimeKind]::Utc)
    }
    $text = "$Value".Trim()
    $styles = [System.Globalization.DateTimeStyles]::AdjustToUniversal -bor [System.Globalization.DateTimeStyles]::AssumeUniversal
    $parsed = [datetime]::MinValue
    if (-not [datetime]::TryParse($text, [cultureinfo]::InvariantCulture, $styles, [ref]$parsed)) {
        throw "Cannot process argument transformation on parameter '$Name'. Cannot convert value `"$text`" to type `"ExDateTime`"."
    }
    $parsed
}

function Search-UnifiedAuditLog {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [object] $StartDate,
        [Parameter(Mandatory)] [object] $EndDate,
        [string[]] $Operations,
        [string[]] $UserIds,
        [string] $SessionId,
        [ValidateSet('ReturnLargeSet', 'ReturnNextPreviewPage')] [string] $SessionCommand,
        [ValidateRange(1, 5000)] [int] $ResultSize = 100,
        [string] $RecordType,
        [string] $FreeText,
        [string[]] $ObjectIds,
        [string[]] $IPAddresses,
        [switch] $Formatted,
        [switch] $HighCompleteness
    )
    $start = ConvertTo-ServiceTime $StartDate 'StartDate'
    $end = ConvertTo-ServiceTime $EndDate 'EndDate'
    $call = [pscustomobject]@{
        Number = $script:Calls.Count + 1; StartDate = $start; EndDate = $end; SessionId = $SessionId
        Page = $script:Service.PageOf($SessionId); ResultSize = $ResultSize; Returned = 0; Fault = $null
    }
    $script:Calls.Add($call)
    $fault = if ($script:Faults.Count -gt 0) { $script:Faults.Dequeue() } elseif ($script:FaultRule) { & $script:FaultRule $call } else { $null }
    if ($fault -eq 'None') { $fault = $null }
    $call.Fault = $fault
    switch ($fault) {
        'Error' { Write-Error 'An internal server error occurred. The operation failed.' -ErrorId 'ServerError'; return }
        'Throw' { throw 'The operation could not be completed because of a server side error.' }
        'Warning' { Write-Warning 'The task was canceled.'; return }
    }
    $session = if ($SessionId) { $SessionId } else { $null }
    $page = $script:Service.Search($start, $end, $Operations, $UserIds, $session, $SessionCommand -eq 'ReturnLargeSet', $ResultSize, $fault)
    $call.Returned = $page.Count
    $PSCmdlet.WriteObject($page, $true)
}

# ---- the audit configuration cmdlets -------------------------------------------------------

# The audit configuration the stubs report for a mailbox (defaults: audited as Microsoft's
# default set for E5 has it, no bypass).
function Set-SimulatedMailbox {
    param(
        [Parameter(Mandatory)] [string] $Identity,
        [object] $AuditEnabled = $true,
        [string[]] $AuditOwner = @('Update', 'MoveToDeletedItems', 'SoftDelete', 'HardDelete', 'MailItemsAccessed', 'Send'),
        [string[]] $AuditDelegate = @('Update', 'MoveToDeletedItems', 'SoftDelete', 'HardDelete', 'SendAs', 'MailItemsAccessed'),
        [string[]] $AuditAdmin = @('Update', 'MoveToDeletedItems', 'SoftDelete', 'HardDelete', 'SendAs', 'MailItemsAccessed', 'Send'),
        [string[]] $DefaultAuditSet = @('Admin', 'Delegate', 'Owner'),
        [bool] $AuditBypassEnabled = $false
    )
    $script:Mailboxes[$Identity.ToLowerInvariant()] = [pscustomobject]@{
        UserPrincipalName = $Identity; AuditEnabled = $AuditEnabled; AuditOwner = $AuditOwner; AuditDelegate = $AuditDelegate
        AuditAdmin = $AuditAdmin; DefaultAuditSet = $DefaultAuditSet
    }
    $script:Bypass[$Identity.ToLowerInvariant()] = [pscustomobject]@{ Identity = $Identity; AuditBypassEnabled = $AuditBypassEnabled }
}

function Get-EXOMailbox {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Identity, [string[]] $Properties)
    $box = $script:Mailboxes[$Identity.ToLowerInvariant()]
    if (-not $box) { Write-Error "The operation couldn't be performed because object '$Identity' couldn't be found." -ErrorId 'NotFound'; return }
    # Without -Properties, Get-EXOMailbox leaves the audit properties out.
    if (-not ($Properties -contains 'AuditOwner')) { return [pscustomobject]@{ UserPrincipalName = $box.UserPrincipalName } }
    $box
}

function Get-MailboxAuditBypassAssociation {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $Identity)
    $association = $script:Bypass[$Identity.ToLowerInvariant()]
    if ($association) { $association } else { [pscustomobject]@{ Identity = $Identity; AuditBypassEnabled = $false } }
}

function Get-ConnectionInformation { $script:Connection }

Reset-AuditLogSimulator
Export-ModuleMember -Function Reset-AuditLogSimulator, Add-SimulatedRecords, Get-SimulatedRecordIds, Add-SimulatedFault,
    Set-SimulatedFaultRule, Get-SimulatedCalls, Search-UnifiedAuditLog, Set-SimulatedMailbox, Get-EXOMailbox,
    Get-MailboxAuditBypassAssociation, Get-ConnectionInformation
