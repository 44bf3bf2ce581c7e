@{
    Synopsis    = 'Finds every access to the given messages, whoever made it, with its time and context.'
    Description = @(
        'The second use of InternetMessageId in Microsoft''s guidance: given messages (for example the sensitive ones, or those the attacker is known to have read), find every record that touched them.'
        'Message ids are accepted with or without angle brackets.'
    )
    Parameters  = @{
        InternetMessageId = 'The InternetMessageId values to look for, with or without angle brackets. With -Path or -LiteralPath they can come from the pipeline (strings, or objects with an InternetMessageId property such as the rows of a list of sensitive messages); otherwise the pipeline carries the records and the ids come by this parameter.'
    }
    Outputs     = 'One MailAccessForensics.MessageAccess per record and message, by mailbox, time and record.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Find-MailAccessMessage -InternetMessageId ''<CAF1234@mail.contoso.com>'''
            Remarks = 'Who read this message, when and from where.'
        }
        @{
            Code    = 'Import-Csv .\SensitiveMessages.csv | Find-MailAccessMessage -Path .\AuditLog.csv'
            Remarks = 'Every access to a list of sensitive messages (a CSV with an InternetMessageId column), read from an export.'
        }
    )
    Links       = @('Get-MailAccessBind', 'Get-CompromisedMailAccess')
}
