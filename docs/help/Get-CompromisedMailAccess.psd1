@{
    Synopsis    = 'The verdict: which mail must be treated as compromised, with the evidence for each answer.'
    Description = @(
        'Give Get-CompromisedMailAccess the records and what is known of the attacker (addresses or ranges, Exchange sessions, Entra sessions, client strings, applications). It answers with findings of six kinds:'
        'ThrottledWindow: a window in which a mailbox was not audited (IsThrottled = True); all its mail is presumed read in it, whatever the context of the throttled record. SyncedFolder: a folder synced in the attacker''s context; every message in it is presumed read. AccessedMessage: a message read in the attacker''s context, with first and last access and how many attacker records include it (the owner''s reads do not count). UnresolvedAccess: an attacker read whose message ids cannot be recovered (a degraded record, or a record without ids), with what is known. AttackerIndicator: each of the attacker''s addresses, sessions and Entra sessions, given or linked, and why. SharedIndicator: an address or session the attacker''s records carry that other contexts used before the attacker''s known activity (an office egress, a carrier NAT, a VPN), which was therefore not followed.'
        'By default the attacker is followed across contexts: a session seen from an attacker address is the attacker''s, an address used by an attacker session is the attacker''s, and an Exchange session under an attacker''s Entra session (AppAccessContext.AADSessionId: a stolen token replayed under a new session) is the attacker''s, to a fixed point. Only addresses, sessions and Entra sessions link: the account (the attacker uses the victim''s identity) and the client string never link by themselves. Each linked identifier names the record that linked it. -NoContextExpansion turns this off.'
        'Two guards keep expansion from pulling in everyone''s mail. An address that is not a client''s (a placeholder such as FE80::, which application records carry, or a loopback, unspecified, broadcast or multicast address) never links; one warning gives the count of such records. An address or session that contexts other than the attacker''s used before the attacker''s known activity (before -StartDate, else before the first record that matches an indicator) is not followed: it is reported as a SharedIndicator with the contexts that used it, the record that would have linked it, and the records it would have pulled in. -ExpandSharedIndicator follows such identifiers anyway. Records that match an indicator directly are the attacker''s whatever their address.'
        'A finding belongs to the mailbox that was read, not to the account that read it: delegate access to a second mailbox is a finding of that mailbox. UserId, AppId and ClientAppId name the accounts and applications of the evidence. -Mailbox and -UserIds choose the findings reported, never the records that take part in attribution: the findings of a mailbox are the same with and without -Mailbox. -StartDate and -EndDate bound the period of attacker access; throttled windows that overlap the period are reported even when the throttled record lies before it. Records outside the filters are counted as Filtered in the summary, and still read for attribution, the baseline and throttled windows.'
        'The records may also be the module''s own MailAccessRecord objects (ConvertFrom-MailItemsAccessed output): the verdict is the same as from the records they came from.'
        'Without any indicator, only throttled windows are reported, with a warning that access cannot be attributed.'
        'Every finding carries its evidence (Evidence: each record behind it, with its time, mailbox, acting account, access type, context, folders, messages, record id, and the file and line it was read from) and its run (Run: one object shared by every finding of the run, for the chain of custody: the parameters and indicators, the period, every input with the SHA-256 of each file (as Get-FileHash gives it), the accounting, every warning, versions, computer, account, and start and end times). Export-MailAccessReport uses the run; -ReportPath writes the report of the run directly, also when nothing is found.'
    )
    Parameters  = @{
        AttackerIPAddress        = 'The attacker''s addresses or CIDR ranges, IPv4 or IPv6 (for example 203.0.113.77 or 203.0.113.0/24), matched on the normalised address.'
        AttackerSessionId        = 'The attacker''s sessions (SessionId).'
        AttackerClientInfoString = 'The attacker''s clients (ClientInfoString); wildcards allowed, case-insensitive, for example ''*python-requests*''.'
        AttackerAppId            = 'The attacker''s applications: matched against AppId and ClientAppId.'
        AttackerAadSessionId     = 'The attacker''s Entra sessions (AppAccessContext.AADSessionId of newer records). Records of any Exchange session under such an Entra session are the attacker''s.'
        NoContextExpansion       = 'Only records that match an indicator are the attacker''s: do not follow the links between addresses and sessions.'
        ExpandSharedIndicator    = 'Follow also the addresses and sessions that other contexts used before the attacker''s known activity (without it they are reported as SharedIndicator findings and not followed). Use it once you have checked that such an address is the attacker''s alone.'
        Mailbox                  = 'Report only the findings of these mailboxes (MailboxOwnerUPN; wildcards allowed, case-insensitive), and the attacker''s indicators. Records of every mailbox still take part in attribution: a link made through another mailbox''s record counts.'
        UserIds                  = 'Report only the findings whose evidence includes one of these acting accounts (UserId; wildcards allowed, case-insensitive), and the attacker''s indicators. Records of every account still take part in attribution.'
        StartDate                = 'The start of the period of attacker access: earlier records take no part in attribution; they are the baseline of who used which address and session (and can still open a throttled window that reaches into the period). Read as Search-UnifiedAuditLog reads its dates.'
        EndDate                  = 'The end of the period of attacker access (exclusive). Read as -StartDate is.'
        ReportPath               = 'Also write the report of the run to this file, before the findings are output: .html (summary per mailbox, timeline, findings, evidence, chain of custody), .json ({"run": ..., "findings": [...]}), .jsonl (one object a line) or .csv (the findings as a table). The report is written even when nothing is found: it then says "No findings", with the inputs and the accounting. The file must not exist, and its extension must be one of these: both are checked before any record is read.'
    }
    Outputs     = 'MailAccessForensics.CompromiseFinding objects, sorted by mailbox, start, kind and subject. Each has Evidence (MailAccessForensics.EvidenceRecord objects) and Run (the MailAccessForensics.MailAccessRun of the run).'
    Examples    = @(
        @{
            Code    = "Save-MailAccessAuditLog -Path .\case-042 -StartDate 2024-05-01 -EndDate 2024-05-08 -Mailbox meganb@contoso.com`nGet-CompromisedMailAccess -Path .\case-042 -AttackerIPAddress 203.0.113.77 -SummaryVariable tally"
            Remarks = 'What the attacker read from 203.0.113.77, and from every address and session linked to it, over every record of the week ($tally.PossiblyTruncated says whether the collection is complete).'
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
            Code    = '$f = Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77; $f | Where-Object Kind -in AttackerIndicator, SharedIndicator | Format-List Kind, ClientIPAddress, SessionId, AadSessionId, Reason'
            Remarks = 'Which addresses and sessions were attributed to the attacker and by which record, and which were left out because others used them before.'
        }
        @{
            Code    = 'Get-CompromisedMailAccess -Path .\exports\*.jsonl -AttackerAppId $evilApp -AttackerIPAddress 198.51.100.66 -Mailbox bob@contoso.com'
            Remarks = 'The findings of one mailbox; links made through the records of every mailbox still count.'
        }
    )
    Links       = @('Get-MailAccessThrottling', 'Get-MailAccessSync', 'Get-MailAccessContext', 'Get-MailAccessBind')
}
