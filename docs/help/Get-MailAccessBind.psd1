@{
    Synopsis    = 'Step 4: the messages read, one object per mailbox and message, with the contexts that read them.'
    Description = @(
        'MailItemsAccessed records with MailAccessType = Bind list the messages that were read (Folders[].FolderItems[].InternetMessageId). Get-MailAccessBind gives one object per mailbox and message: its folder, size, first and last access, how many records include it, and the contexts that read it.'
        'Exchange drops identical repeated accesses within one hour, so AccessCount is a lower bound.'
    )
    Outputs     = 'One MailAccessForensics.MessageRead per mailbox and InternetMessageId, by mailbox then first access.'
    Notes       = 'AccessCount is a lower bound: Exchange does not audit an identical access again within an hour.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-MailAccessBind -Mailbox victim@contoso.com -StartDate 2024-05-02'
            Remarks = 'The messages of one mailbox read since 2 May.'
        }
    )
    Links       = @('Find-MailAccessMessage', 'Get-CompromisedMailAccess')
}
