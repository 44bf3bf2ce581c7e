@{
    Synopsis    = 'Writes the same investigation as KQL, for records already in Microsoft Sentinel, Defender XDR or Azure Data Explorer.'
    Description = @(
        'A tenant-wide investigation can be hundreds of millions of records, and many organisations already hold them in Microsoft Sentinel / Log Analytics (the OfficeActivity table), Defender XDR advanced hunting (CloudAppEvents) or Azure Data Explorer. Get-MailAccessKqlQuery writes the query that answers one of Microsoft''s four steps there, or the verdict, with the same meaning as the module''s cmdlets (docs/semantics.md): Throttling (merged 24-hour unaudited windows, as Get-MailAccessThrottling), Sync (syncs per mailbox, folder and context, as Get-MailAccessSync), Context (every context, as Get-MailAccessContext), Bind (messages read per mailbox and InternetMessageId, as Get-MailAccessBind) and Verdict (as Get-CompromisedMailAccess).'
        'The queries read OperationProperties by name (never by position), expand every folder and every item, remove duplicates by record id, and treat an absent IsThrottled as unknown. OfficeActivity has no SessionId column: there a context is address, client and account, and the query says so. Placeholder addresses (unspecified, loopback, link-local such as FE80::) never link records; the Entra session of the token (AppAccessContext.AADSessionId) links like an Exchange session; -Mailbox and -UserIds choose the verdict''s findings, not the records that link the attacker.'
        'The verdict applies the shared-identifier guard as Get-CompromisedMailAccess does: an address, session or Entra session that other contexts used before the attacker''s known activity (before -StartDate, else before the first record that matches an indicator) is not followed, and is a SharedIndicator row naming those contexts and the record that would have linked it; -ExpandSharedIndicator follows it anyway.'
        'KQL has no loop, so the verdict''s expansion is unrolled to -ExpansionRounds rounds; its first row (Kind Expansion) and the ExpansionConverged column say whether that was enough. Indicator values are written as KQL string literals, escaped: they stay data. An address that is not an IP address or a CIDR range is refused, and so is a parameter the step does not use.'
        'The same queries, with their parameters at the defaults, are the files under kql/ in the repository, generated from the same source; kql/README.md says how to run them, save them as functions, and exactly where KQL differs from the module.'
    )
    Parameters  = @{
        Table                    = 'Where the records are: OfficeActivity (Microsoft Sentinel / Log Analytics, Office 365 connector) or CloudAppEvents (Defender XDR advanced hunting, or Sentinel with the Defender XDR connector).'
        Step                     = 'Throttling, Sync, Context or Bind (Microsoft''s four steps), or Verdict (what the attacker read).'
        AttackerIPAddress        = 'The attacker''s addresses or CIDR ranges, IPv4 or IPv6 (Context and Verdict). Context keeps only the contexts from these addresses.'
        AttackerSessionId        = 'The attacker''s Exchange sessions (SessionId; Context and Verdict). OfficeActivity has no SessionId column: there these match nothing, and the verdict says so in a Warning row.'
        AttackerAadSessionId     = 'The attacker''s Entra sessions (AppAccessContext.AADSessionId; Verdict): a stolen token replayed from a new address under a new Exchange session is the same Entra session.'
        AttackerAppId            = 'The attacker''s applications, matched against AppId and ClientAppId (Verdict).'
        AttackerClientInfoString = 'The attacker''s clients (ClientInfoString; wildcards allowed, case-insensitive; Verdict).'
        StartDate                = 'Records at or after this time; for the verdict, the start of the period of attacker access. Read as Search-UnifiedAuditLog reads its dates: a date without a time is midnight, a time without a zone is UTC, a local [datetime] is converted to UTC.'
        EndDate                  = 'Records before this time; for the verdict, the end of the period of attacker access. Read as -StartDate is.'
        Mailbox                  = 'Mailboxes (MailboxOwnerUPN; wildcards allowed, case-insensitive). For the steps, only their records; for the verdict, only their findings (every mailbox''s records still link the attacker).'
        UserIds                  = 'Acting accounts (UserId; wildcards allowed, case-insensitive). For the steps, only their records; for the verdict, only findings whose evidence one of them produced.'
        ExpansionRounds          = 'How many rounds of expansion the verdict is unrolled to (default 8, at most 32; each is one more pass over the records). 0 turns expansion off, as -NoContextExpansion does.'
        ExpandSharedIndicator    = 'Follow also the addresses and sessions that other contexts used before the attacker''s known activity (Verdict), as Get-CompromisedMailAccess -ExpandSharedIndicator does; their AttackerIndicator rows say that they were in use before. Refused with -ExpansionRounds 0.'
    }
    Outputs     = 'System.String: the query text, ready to paste into Sentinel Logs, Defender XDR advanced hunting or Azure Data Explorer.'
    Examples    = @(
        @{
            Code    = 'Get-MailAccessKqlQuery -Table OfficeActivity -Step Verdict -AttackerIPAddress 203.0.113.0/24 -StartDate 2024-05-01 -EndDate 2024-05-08 | Set-Clipboard'
            Remarks = 'The verdict over Sentinel''s OfficeActivity for an attacker range and a week: paste it into Logs.'
        }
        @{
            Code    = 'Get-MailAccessKqlQuery CloudAppEvents Bind -Mailbox ceo@contoso.com -StartDate (Get-Date).AddDays(-30)'
            Remarks = 'Every message read in the CEO''s mailbox in the last 30 days, in Defender XDR advanced hunting.'
        }
        @{
            Code    = 'Get-MailAccessKqlQuery CloudAppEvents Verdict -AttackerAadSessionId $sid -AttackerSessionId $exchangeSession -ExpansionRounds 12 > verdict.kql'
            Remarks = 'The verdict for a stolen token, unrolled to 12 rounds of expansion, saved to a file.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'Get-MailAccessThrottling', 'Get-MailAccessSync', 'Get-MailAccessContext', 'Get-MailAccessBind')
}
