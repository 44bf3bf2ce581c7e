@{
    Synopsis    = 'Finds every access to the given messages, whoever made it, with its time and context.'
    Description = @(
        'The second use of InternetMessageId in Microsoft''s guidance: given messages (for example the sensitive ones, or those the attacker is known to have read), find every record that touched them.'
        'Message ids are accepted with or without angle brackets.'
    )
    Parameters  = @{
        InternetMessageId = 'The InternetMessageId values to look for, with or without angle brackets.'
    }
    Outputs     = 'One MailAccessForensics.MessageAccess per record and message, by mailbox, time and record.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Find-MailAccessMessage -InternetMessageId ''<CAF1234@mail.contoso.com>'''
            Remarks = 'Who read this message, when and from where.'
        }
    )
    Links       = @('Get-MailAccessBind', 'Get-CompromisedMailAccess')
}
