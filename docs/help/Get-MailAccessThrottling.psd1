@{
    Synopsis    = 'Step 1: the windows in which access to a mailbox was not audited because it was throttled.'
    Description = @(
        'Exchange stops auditing a mailbox for 24 hours when it throttles it, and marks the record with IsThrottled = True. Microsoft''s guidance: assume all the mailbox''s mail was compromised in that window.'
        'Get-MailAccessThrottling turns every throttled record into such an unaudited window, from the record''s time to 24 hours later, and merges the overlapping or touching windows of a mailbox into one. Each window keeps the records that opened it.'
        'Records that do not say whether they were throttled (newer records omit IsThrottled) are counted per mailbox and reported as warnings: a mailbox whose records never say is not a mailbox that was not throttled.'
    )
    Outputs     = 'One MailAccessForensics.UnauditedWindow per merged window, by mailbox then start.'
    Examples    = @(
        @{
            Code    = "Save-MailAccessAuditLog -Path .\case-042 -StartDate 2024-05-01 -EndDate 2024-05-08`nGet-MailAccessThrottling -Path .\case-042"
            Remarks = 'The unaudited windows of a week, from every record of it (a single Search-UnifiedAuditLog call returns at most 5,000).'
        }
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-MailAccessThrottling -Mailbox ceo@contoso.com -SummaryVariable tally; $tally.ThrottlingUnknown'
            Remarks = 'One mailbox''s windows, and how many of its records do not say whether they were throttled.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'Get-MailAccessSync')
}
