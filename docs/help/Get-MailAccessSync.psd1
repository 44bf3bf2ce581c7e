@{
    Synopsis    = 'Step 2: the folders clients synchronised, by mailbox, folder and context.'
    Description = @(
        'A MailItemsAccessed record with MailAccessType = Sync means a client (desktop Outlook) downloaded a whole folder; it can then read it offline, unaudited.'
        'Get-MailAccessSync groups the Sync records by mailbox, folder and context (client address, client, session, acting user) and gives the first and last sync of each group with the records behind it.'
    )
    Outputs     = 'One MailAccessForensics.SyncActivity per mailbox, folder and context, by mailbox then first sync.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-MailAccessSync | Format-Table Mailbox, FolderPath, Start, ClientIPAddress, ClientInfoString'
            Remarks = 'Every folder synced, and from where.'
        }
    )
    Links       = @('Get-MailAccessContext', 'Get-CompromisedMailAccess')
}
