# Descriptions of the parameters several cmdlets share. A cmdlet's own file may override one.
@{
    Parameters = @{
        InputObject     = @(
            'An audit record from the pipeline, in any shape the module reads: a Search-UnifiedAuditLog result, an Import-Csv row of its Export-Csv or of a Purview portal audit export, a Search-MailboxAuditLog -ShowDetails record, a Microsoft Graph audit log query record, a Sentinel OfficeActivity or Defender CloudAppEvents row, AuditData as an object or hashtable, AuditData JSON text, or the module''s own MailAccessRecord objects (ConvertFrom-MailItemsAccessed output, also after Export-Clixml and Import-Clixml), which give the same results as the records they came from.'
            'Records of other operations are skipped and counted. A record that cannot be read becomes a non-terminating error that names it and says why; the other records go on.'
        )
        Path            = 'Files of audit records to read (wildcards allowed): CSV exports (Purview portal, Search-UnifiedAuditLog | Export-Csv, the older 4-column export, Search-MailboxAuditLog), JSON Lines, JSON arrays (Management Activity API content, several arrays back to back), Graph query results; UTF-8, UTF-16 with a byte order mark, or gzip-compressed; lines may end with CR LF, LF or CR alone. The engine reads the files itself, in bounded memory, on every core. A damaged record is an error and the records around it are read. Only regular files are read: a named pipe or a device is an error, and the other files are read.'
        LiteralPath     = 'Files of audit records to read, taken exactly as written (no wildcards). See -Path for the formats.'
        SummaryVariable = 'Name of a variable (without $) that receives the InputSummary of the run: records read, analysed, skipped (other operations), duplicates, outside the filters, and errors, with Read = Analysed + Skipped + Duplicates + Filtered + Errors. -Verbose prints the same.'
        StartDate       = 'Only records at or after this time. As Search-UnifiedAuditLog reads its dates: a date without a time means midnight, a time without a zone is UTC, and a [datetime] of kind Local (from Get-Date) is converted to UTC.'
        EndDate         = 'Only records before this time. Read as -StartDate is.'
        Mailbox         = 'Only records of these mailboxes (MailboxOwnerUPN, the mailbox that was read). Wildcards are allowed; the match is case-insensitive.'
        UserIds         = 'Only records of these acting accounts (UserId). Wildcards are allowed; the match is case-insensitive.'
    }
}
