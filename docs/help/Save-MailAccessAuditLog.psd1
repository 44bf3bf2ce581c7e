@{
    Synopsis    = 'Collects every MailItemsAccessed record of a period from Search-UnifiedAuditLog into a folder, and says what it could not fetch.'
    Description = @(
        'A verdict is only as complete as its records, and Search-UnifiedAuditLog stops short without saying so: one call returns at most 5,000 records, a session at most 50,000, ResultCount no longer counts the hits (it mirrors -ResultSize), and the service times out, returns empty or short pages mid-session, and repeats records. Save-MailAccessAuditLog fetches the whole period anyway and writes it to a collection folder that every cmdlet of the module reads with -Path.'
        'It calls the Search-UnifiedAuditLog command of your session (Connect-ExchangeOnline first). The period is cut into time windows (an hour at first; quiet windows let the next ones grow to a day). Each window is fetched with a session (-SessionCommand ReturnLargeSet, a new -SessionId, -ResultSize 5000) page by page to its empty last page. A window whose session reaches 50,000 records holds more than the service returns: it is split in two, its pages discarded, and both halves are fetched. A session that ends right after a full page, or returns nothing, could be a timeout rather than the end: the window counts as complete only when a second session ends at the same count.'
        'A page with ResultIndex -1 (the service''s timeout), an index gap, a short page followed by more records, an error, or a warning that the request failed restarts the window under a new session, after a wait that doubles each time (-RetryDelay, 10 seconds at first). After four failed sessions the window is given up: it is reported incomplete, with the reason, never as complete; after three windows given up in a row the run stops. Records returned more than once (by record id, across pages, sessions, windows and runs) are written once. Each query reaches one second past its window, so a record on a boundary is fetched whichever way the service rounds.'
        '-Mailbox: the service''s -UserIds matches the account that acted, not the mailbox that was read, so a query with -UserIds misses delegates and applications reading the mailbox. Save-MailAccessAuditLog therefore queries each window''s records of every mailbox, without -UserIds, and keeps those whose MailboxOwnerUPN is one of the mailboxes, and those in which the mailbox''s account acts (UserId: an attacker signed in as the victim reads other mailboxes too), and records of other operations whose ObjectId names it. -FreeText is not used: what it matches is not documented, and a miss would be silent. The price is that the service returns the whole tenant''s records for the period; windows shrink to keep up.'
        'The folder holds manifest.json and records/*.jsonl.gz: gzip-compressed JSON Lines of the records as the service returned them (RecordType, CreationDate, UserIds, Operations, AuditData, ResultIndex, ResultCount, Identity, ...). A window''s records are written when it ends; the manifest (parameters, the account of Get-ConnectionInformation, the tool version, each window with its calls, sessions, failures, records and status, each file with its SHA-256, the audit configuration checks, each run) is replaced whole after each window. A run stopped by Ctrl+C or a failure leaves a consistent folder.'
        'Run again on the same folder, it resumes: windows complete and settled are not fetched again, the rest are, and nothing is written twice. Give -Path alone to resume with the folder''s parameters; other parameters must match the folder''s. The service delivers some records hours late (usually within 90 minutes, with no promise; later ones are on record), so a window that ended less than a day before it was fetched is fetched again on the next run, and the records that arrived since are added in a new file; files already written are never changed.'
        'Before fetching, for each -Mailbox, it checks with Get-EXOMailbox (or Get-Mailbox) and Get-MailboxAuditBypassAssociation that mailbox auditing is on, that AuditOwner, AuditDelegate and AuditAdmin include MailItemsAccessed, and that no audit bypass is set; it warns for each problem (reads that are not audited leave no record to collect) and records the answers in the manifest. -SkipAuditCheck skips this.'
        'It returns one MailAccessCollection: Complete (true only when every window was fetched completely), Settled, RecordCount, Path, Windows and IncompleteWindows (each with Start, End, Status and Reason), and AuditChecks. Anything incomplete is also a warning naming the windows, and every cmdlet that reads the folder reports it as possibly truncated.'
    )
    Parameters  = @{
        Path           = 'The collection folder. To start a collection, a new or empty folder; to resume one, the folder it is in.'
        StartDate      = 'The start of the period. As Search-UnifiedAuditLog reads its dates: a date without a time means midnight, a time without a zone is UTC, and a [datetime] of kind Local (from Get-Date) is converted to UTC. Needed to start a collection; when resuming, it may be left out.'
        EndDate        = 'The end of the period (exclusive). Read as -StartDate is. Needed to start a collection; when resuming, it may be left out.'
        Mailbox        = 'The mailboxes (user principal names) whose records are kept: those read (MailboxOwnerUPN), and those in which their account acts (UserId). Without it, every mailbox''s records are kept.'
        Operations     = 'Operations to collect besides MailItemsAccessed (always collected), for example New-InboxRule, Set-InboxRule, Send, SendAs, UpdateInboxRules, MailboxLogin.'
        SkipAuditCheck = 'Do not check the mailboxes'' audit configuration.'
        RetryDelay     = 'The wait after a window''s first failed session; it doubles with each further failure of the window, up to 5 minutes. 10 seconds by default.'
    }
    Outputs     = 'One MailAccessForensics.MailAccessCollection: Path, Complete, Settled, RecordCount, StartDate, EndDate, Mailbox, Operations, Windows and IncompleteWindows (MailAccessForensics.CollectionWindow: Start, End, Status, Reason, Records, Calls, Sessions, Failures, Returned, Duplicates, OtherMailboxes), Files, AuditChecks (MailAccessForensics.MailboxAuditCheck).'
    Notes       = @(
        'Search-UnifiedAuditLog needs the View-Only Audit Logs or Audit Logs role. Records older than the tenant''s audit retention are gone: collect early.'
        '-Verbose writes each call, each page and each retry; Write-Progress shows the windows done and the records written.'
    )
    Examples    = @(
        @{
            Code    = "Connect-ExchangeOnline`nSave-MailAccessAuditLog -Path .\case-042 -StartDate 2024-03-01 -EndDate 2024-03-15 -Mailbox meganb@contoso.com`nGet-CompromisedMailAccess -Path .\case-042 -AttackerIPAddress 203.0.113.77"
            Remarks = 'Every MailItemsAccessed record of meganb''s mailbox for two weeks (her own reads, delegates'' and applications''), then the verdict over them.'
        }
        @{
            Code    = 'Save-MailAccessAuditLog -Path .\case-042'
            Remarks = 'Resumes the collection: fetches the windows not yet complete, and the last day again for records the service delivered late.'
        }
        @{
            Code    = 'Save-MailAccessAuditLog -Path .\case-043 -StartDate (Get-Date).AddDays(-7) -EndDate (Get-Date) -Mailbox meganb@contoso.com, adele@contoso.com -Operations New-InboxRule, Set-InboxRule, Send -Verbose'
            Remarks = 'Two mailboxes, with inbox-rule changes and sent mail alongside the reads, telling each call.'
        }
        @{
            Code    = '$c = Save-MailAccessAuditLog -Path .\case-042; if (-not $c.Complete) { $c.IncompleteWindows | Format-Table Start, End, Reason }'
            Remarks = 'What could not be fetched, and why.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'ConvertFrom-MailItemsAccessed')
}
