@{
    Synopsis    = 'The verdict: which mail must be treated as compromised, with the evidence for each answer.'
    Description = @(
        'Give Get-CompromisedMailAccess the records and what is known of the attacker (addresses or ranges, sessions, client strings, applications). It answers with findings of five kinds:'
        'ThrottledWindow: a window in which a mailbox was not audited (IsThrottled = True); all its mail is presumed read in it, whatever the context of the throttled record. SyncedFolder: a folder synced in the attacker''s context; every message in it is presumed read. AccessedMessage: a message read in the attacker''s context, with first and last access and how many attacker records include it (the owner''s reads do not count). UnresolvedAccess: an attacker read whose message ids cannot be recovered (a degraded record, or a record without ids), with what is known. AttackerIndicator: each of the attacker''s addresses and sessions, given or linked, and why.'
        'By default the attacker is followed across contexts: a session seen from an attacker address is the attacker''s, and an address used by an attacker session is the attacker''s, to a fixed point. Only addresses and sessions link: the account (the attacker uses the victim''s identity) and the client string never link by themselves. Each linked address or session names the record that linked it. -NoContextExpansion turns this off.'
        'A finding belongs to the mailbox that was read, not to the account that read it: delegate access to a second mailbox is a finding of that mailbox. -StartDate and -EndDate bound the period of attacker access; throttled windows that overlap the period are reported even when the throttled record lies before it.'
        'Without any indicator, only throttled windows are reported, with a warning that access cannot be attributed.'
        'Every finding carries its evidence (Evidence: each record behind it, with its time, mailbox, acting account, access type, context, folders, messages, record id, and the file and line it was read from) and its run (Run: one object shared by every finding of the run, for the chain of custody: the parameters and indicators, the period, every input with the SHA-256 of each file (as Get-FileHash gives it), the accounting, every warning, versions, computer, account, and start and end times). Export-MailAccessReport uses the run; -ReportPath writes the report of the run directly, also when nothing is found.'
    )
    Parameters  = @{
        AttackerIPAddress        = 'The attacker''s addresses or CIDR ranges, IPv4 or IPv6 (for example 203.0.113.77 or 203.0.113.0/24), matched on the normalised address.'
        AttackerSessionId        = 'The attacker''s sessions (SessionId).'
        AttackerClientInfoString = 'The attacker''s clients (ClientInfoString); wildcards allowed, case-insensitive, for example ''*python-requests*''.'
        AttackerAppId            = 'The attacker''s applications: matched against AppId and ClientAppId.'
        NoContextExpansion       = 'Only records that match an indicator are the attacker''s: do not follow the links between addresses and sessions.'
        StartDate                = 'The start of the period of attacker access: earlier records take no part in attribution (they can still open a throttled window that reaches into the period). Read as Search-UnifiedAuditLog reads its dates.'
        EndDate                  = 'The end of the period of attacker access (exclusive). Read as -StartDate is.'
        ReportPath               = 'Also write the report of the run to this file, before the findings are output: .html (summary per mailbox, timeline, findings, evidence, chain of custody), .json ({"run": ..., "findings": [...]}), .jsonl (one object a line) or .csv (the findings as a table). The report is written even when nothing is found: it then says "No findings", with the inputs and the accounting. The file must not exist, and its extension must be one of these: both are checked before any record is read.'
    }
    Outputs     = 'MailAccessForensics.CompromiseFinding objects, sorted by mailbox, start, kind and subject. Each has Evidence (MailAccessForensics.EvidenceRecord objects) and Run (the MailAccessForensics.MailAccessRun of the run).'
    Examples    = @(
        @{
            Code    = 'Search-UnifiedAuditLog -StartDate 2024-05-01 -EndDate 2024-05-08 -Operations MailItemsAccessed -ResultSize 5000 | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77'
            Remarks = 'What the attacker read from 203.0.113.77, and from every address and session linked to it.'
        }
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.0/24 -AttackerSessionId $sid -StartDate $from -EndDate $to | Where-Object Kind -eq AccessedMessage'
            Remarks = 'The messages read in the attacker''s context within a period.'
        }
        @{
            Code    = 'Get-CompromisedMailAccess -Path .\exports\*.csv -AttackerIPAddress 203.0.113.0/24 -ReportPath .\verdict.html'
            Remarks = 'Reads the exports, writes the report of the run (with the SHA-256 of each file read) to verdict.html, and outputs the findings.'
        }
        @{
            Code    = '$f = Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77; $f[0].Run.Inputs; $f | Where-Object Kind -eq AccessedMessage | Select-Object -First 1 -ExpandProperty Evidence'
            Remarks = 'The inputs of the run, and the records (with their source file and line) behind the first message read.'
        }
        @{
            Code    = '$f = Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77; $f | Where-Object Kind -eq AttackerIndicator | Format-List ClientIPAddress, SessionId, Reason'
            Remarks = 'Which addresses and sessions were attributed to the attacker, and by which record.'
        }
    )
    Links       = @('Get-MailAccessThrottling', 'Get-MailAccessSync', 'Get-MailAccessContext', 'Get-MailAccessBind')
}
