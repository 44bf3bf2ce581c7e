@{
    Synopsis    = 'The verdict: which mail must be treated as compromised, with the evidence for each answer.'
    Description = @(
        'Give Get-CompromisedMailAccess the records and what is known of the attacker (addresses or ranges, sessions, client strings, applications). It answers with findings of five kinds:'
        'ThrottledWindow: a window in which a mailbox was not audited (IsThrottled = True); all its mail is presumed read in it, whatever the context of the throttled record. SyncedFolder: a folder synced in the attacker''s context; every message in it is presumed read. AccessedMessage: a message read in the attacker''s context, with first and last access and how many attacker records include it (the owner''s reads do not count). UnresolvedAccess: an attacker read whose message ids cannot be recovered (a degraded record, or a record without ids), with what is known. AttackerIndicator: each of the attacker''s addresses and sessions, given or linked, and why.'
        'By default the attacker is followed across contexts: a session seen from an attacker address is the attacker''s, and an address used by an attacker session is the attacker''s, to a fixed point. Only addresses and sessions link: the account (the attacker uses the victim''s identity) and the client string never link by themselves. Each linked address or session names the record that linked it. -NoContextExpansion turns this off.'
        'A finding belongs to the mailbox that was read, not to the account that read it: delegate access to a second mailbox is a finding of that mailbox. -StartDate and -EndDate bound the period of attacker access; throttled windows that overlap the period are reported even when the throttled record lies before it.'
        'Without any indicator, only throttled windows are reported, with a warning that access cannot be attributed.'
    )
    Parameters  = @{
        AttackerIPAddress        = 'The attacker''s addresses or CIDR ranges, IPv4 or IPv6 (for example 203.0.113.77 or 203.0.113.0/24), matched on the normalised address.'
        AttackerSessionId        = 'The attacker''s sessions (SessionId).'
        AttackerClientInfoString = 'The attacker''s clients (ClientInfoString); wildcards allowed, case-insensitive, for example ''*python-requests*''.'
        AttackerAppId            = 'The attacker''s applications: matched against AppId and ClientAppId.'
        NoContextExpansion       = 'Only records that match an indicator are the attacker''s: do not follow the links between addresses and sessions.'
        StartDate                = 'The start of the period of attacker access: earlier records take no part in attribution (they can still open a throttled window that reaches into the period). Read as Search-UnifiedAuditLog reads its dates.'
        EndDate                  = 'The end of the period of attacker access (exclusive). Read as -StartDate is.'
    }
    Outputs     = 'MailAccessForensics.CompromiseFinding objects, sorted by mailbox, start, kind and subject.'
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
            Code    = '$f = Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77; $f | Where-Object Kind -eq AttackerIndicator | Format-List ClientIPAddress, SessionId, Reason'
            Remarks = 'Which addresses and sessions were attributed to the attacker, and by which record.'
        }
    )
    Links       = @('Get-MailAccessThrottling', 'Get-MailAccessSync', 'Get-MailAccessContext', 'Get-MailAccessBind')
}
