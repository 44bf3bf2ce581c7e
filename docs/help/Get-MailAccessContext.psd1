@{
    Synopsis    = 'Step 3: the access contexts (address, client, session, user) and what each did.'
    Description = @(
        'Microsoft''s guidance asks whether syncs and reads happened in the attacker''s context: the client''s address (ClientIPAddress), the client (ClientInfoString), the session (SessionId) and the acting account (UserId).'
        'Get-MailAccessContext gives one object per context with the applications seen (AppId, ClientAppId), the mailboxes it read, its first and last record, its records, binds and syncs, the distinct messages it read and their size, so that the owner''s contexts and the attacker''s can be told apart at a glance.'
        'With -Suspicious it ranks the contexts for an investigator who does not yet know the attacker: NewInPeriod (first seen after -BaselineEndDate, never before), NewSync (synced a mailbox after the baseline that it never synced before), RareClient (a client string in under 5% of a mailbox''s records), ApplicationOnly (UserType Application or ServicePrincipal) and OtherMailbox (read a mailbox other than its own). Each ranked context lists the signals that fired.'
    )
    Parameters  = @{
        ClientIPAddress = 'Only contexts from these addresses or CIDR ranges (IPv4 or IPv6; compared on the normalised address).'
        SessionId       = 'Only contexts with these sessions (SessionId; case-insensitive).'
        Suspicious      = 'Rank the contexts by the signals that make them suspicious; contexts with no signal are left out.'
        BaselineEndDate = 'The end of a period of normal activity, for the NewInPeriod and NewSync signals. Records before it are the baseline (do not filter them out with -StartDate).'
    }
    Outputs     = 'One MailAccessForensics.AccessContext per context: by first record, or with -Suspicious by score.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-MailAccessContext -Mailbox victim@contoso.com | Sort-Object Start | Format-Table'
            Remarks = 'Every context that read the mailbox.'
        }
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-MailAccessContext -Suspicious -BaselineEndDate 2024-05-01'
            Remarks = 'Contexts that are new since 1 May, use rare clients, act as applications or read other mailboxes, most suspicious first.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'Get-MailAccessSync')
}
