@{
    Synopsis    = 'Turns MailItemsAccessed audit records, in any shape, into typed MailAccessRecord objects.'
    Description = @(
        'ConvertFrom-MailItemsAccessed reads Exchange Online MailItemsAccessed audit records and writes one MailAccessRecord per record: when (UTC), which mailbox was read and by whom, Bind or Sync, whether the record was throttled (true, false, or null when the record does not say), the client context (normalised address and the original text, client, session, application), the folders, and the messages with their InternetMessageId, folder and size.'
        'It reads every shape an investigator holds: Search-UnifiedAuditLog output, Import-Csv rows of exports, Search-MailboxAuditLog records, Graph, Sentinel and Defender rows, AuditData objects and JSON text, and files. Records an earlier tool degraded (FolderItems=System.Object[]) are kept and marked IsDegraded, with what could be recovered; lost message ids are never invented.'
        'Records of other operations are skipped and counted; the same record seen twice (same Id, time and mailbox) is output once and counted as a duplicate. Records come out in input order.'
    )
    Outputs     = 'One MailAccessForensics.MailAccessRecord per MailItemsAccessed record.'
    Notes       = @(
        'Every record read is accounted for: Read = Analysed + Skipped + Duplicates + Filtered + Errors (see -SummaryVariable and -Verbose).'
        'IsThrottled is null when the record does not carry IsThrottled (newer records omit it): unknown is not False.'
    )
    Examples    = @(
        @{
            Code    = "Save-MailAccessAuditLog -Path .\case-042 -StartDate 2020-05-13 -EndDate 2020-05-14 -Mailbox meganb@contoso.com`nConvertFrom-MailItemsAccessed -Path .\case-042"
            Remarks = 'Typed records of every read of a mailbox in a day, delegates'' and applications'' included.'
        }
        @{
            Code    = 'Search-UnifiedAuditLog -StartDate 2020-05-13 -EndDate 2020-05-14 -Operations MailItemsAccessed -ResultSize 5000 | ConvertFrom-MailItemsAccessed -SummaryVariable tally; $tally.PossiblyTruncated; $tally.TruncationReason'
            Remarks = 'A quick look straight from Exchange Online: one call returns at most 5,000 records, and the summary (and a warning) says when this one was cut there.'
        }
        @{
            Code    = 'Import-Csv .\AuditLog.csv | ConvertFrom-MailItemsAccessed -SummaryVariable tally | Where-Object AccessType -eq Sync; $tally'
            Remarks = 'The Sync records of a Purview portal export, and the accounting of the run.'
        }
        @{
            Code    = 'Import-Csv .\AuditLog.csv | ConvertFrom-MailItemsAccessed | Where-Object IsDegraded | Select-Object RecordId, DegradedReason'
            Remarks = 'Records an earlier tool damaged, and what was lost.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'Get-MailAccessBind')
}
