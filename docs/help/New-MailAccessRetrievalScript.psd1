@{
    Synopsis    = 'From the verdict to the messages: writes a Microsoft Graph PowerShell script that fetches the mail the findings name, with a manifest of SHA-256 hashes.'
    Description = @(
        'New-MailAccessRetrievalScript takes the findings of Get-CompromisedMailAccess and writes a script that, run by an investigator against Exchange Online, fetches the mail they name. It also emits one MessageRetrieval object per retrieval it planned: the finding, the mailbox, the Microsoft Graph request, the Microsoft Graph PowerShell command, and where one fits a message trace (Get-MessageTraceV2 -MessageId) or compliance search (New-ComplianceSearch -ContentMatchQuery), with what each cannot find.'
        'AccessedMessage: the script finds the message in its mailbox by InternetMessageId (Get-MgUserMessage -Filter "internetMessageId eq ''...''") and saves it as an .eml file (Get-MgUserMessageContent -OutFile, the MIME content). A message not in the mailbox''s folders is looked for in Recoverable Items\Deletions (the well-known folder recoverableitemsdeletions); one found in neither is recorded NotFound. Microsoft Graph PowerShell decodes a -Filter value before sending it (''%2B'' becomes ''+'', and ''+'' may become a space), so a message id holding ''+'' or ''%'' is looked up with Invoke-MgGraphRequest and a URI the script encodes itself. Only a message whose InternetMessageId is exactly the one read is saved.'
        'SyncedFolder: the script resolves the folder by the path the audit record gave, walking display names level by level (Get-MgUserMailFolder, Get-MgUserMailFolderChildFolder, hidden folders included), so nested and localised folder names work; it lists every message in the folder received up to the last sync (receivedDateTime le ...) and saves each, or lists them only with -ListOnly.'
        'ThrottledWindow: the script lists the mailbox''s messages received before the end of the unaudited window (receivedDateTime lt ...), in every folder and in Recoverable Items\Deletions. They are only listed, since that can be the whole mailbox; the script''s -SaveCandidates saves them too. UnresolvedAccess (a read whose message ids were lost): the script lists, as candidates, the messages received before the read in its folder, or in the whole mailbox when the record named no folder.'
        'AttackerIndicator findings (and SharedIndicator, where the verdict gives them) describe the attacker, not mail: they need no retrieval, and -Verbose says how many were passed over. A finding of a kind this version does not know gets a warning, never silence. A finding that repeats one given before is planned once.'
        'The script connects with the least permission that can read the mail: delegated Mail.Read (the signed-in user''s own mailbox), delegated Mail.Read.Shared with its -SharedMailboxAccess (mailboxes the investigator has FullAccess to), or an application''s Mail.Read with -ClientId, -TenantId and -CertificateThumbprint; with delegated Mail.Read and another mailbox in the plan it stops before reading anything. It shows progress, asks for immutable ids (they survive moves between folders), and writes manifest.csv: a row per message saved or listed with its Graph metadata, its file and the file''s SHA-256, a row per retrieval done, not found or failed, and a row per run with who ran it and the script''s own SHA-256. Cells a spreadsheet would run as formulas are neutralised. Run the script again to resume: what is done is not fetched again. It runs on Windows PowerShell 5.1 and PowerShell 7, and needs the Microsoft.Graph.Authentication and Microsoft.Graph.Mail modules.'
        'Every value in the script comes from attacker-controlled audit strings (message ids, folder names, mailboxes). They are written only as data, in a table at the top of the script: single-quoted string literals escaped with PowerShell''s own rules (every kind of single quote doubled), in which PowerShell runs and expands nothing; a value with control or invisible formatting characters is written as Base64 of its UTF-8 bytes instead. The code below the table is the same for every plan: it reads the values and escapes them for OData (quotes doubled) and for URIs itself. The script is written as UTF-8 with a byte order mark and checks its own encoding before it runs, since Windows PowerShell would read it in the system''s code page otherwise.'
    )
    Parameters  = @{
        InputObject = 'The findings: CompromiseFinding objects from Get-CompromisedMailAccess, also after Export-Clixml and Import-Clixml. Any other object is a non-terminating error, and is left out.'
        Path        = 'The script to write (for example .\retrieve.ps1). By default the script saves into a folder next to itself, named after it (retrieve-retrieved); its -OutputDirectory says otherwise.'
        Force       = 'Overwrite the script if the file exists.'
        WhatIf      = 'Emit the retrievals, and write no script.'
        Confirm     = 'Ask before writing the script.'
    }
    Outputs     = 'MailAccessForensics.MessageRetrieval objects, one per retrieval in the order of the findings: Id (R0001, ... as in the script; its -RetrievalId runs only some), Kind, Mailbox, FolderPath, InternetMessageId, Start, End, ReceivedBefore (the bound of a listing), Action (Save or List), GraphRequest, PowerShellCommand, MessageTraceCommand, ComplianceSearchCommand, Limits, Reason, EvidenceRecordIds and Finding.'
    Notes       = @(
        'What each retrieval can find. Graph reads what a mailbox holds now: mail purged since the attack (Recoverable Items\Deletions keeps deleted mail 14 days by default, up to 30, longer under a hold) and mail in an archive mailbox are out of its reach, and a folder listing misses what was moved out since the sync. Each MessageRetrieval says what it cannot find in Limits.'
        'Message trace (Get-MessageTraceV2 -MessageId, Exchange Online PowerShell): shows that a message passed through the organisation, not its content; it keeps 90 days of data and searches 10 days per query (the command given covers the 10 days before the first read: repeat it with earlier dates for older mail), up to 5,000 results.'
        'Compliance search (New-ComplianceSearch -ContentMatchQuery, Security & Compliance PowerShell): searches the whole mailbox, Recoverable Items and the archive mailbox included, but indexes no message headers, so it cannot find a message by its Message-ID; it is given for throttled windows (received< the day after the window, in UTC: whole days, so it may include mail received after the window on its last day). A search of one folder needs its folderid, which findings do not carry.'
    )
    Examples    = @(
        @{
            Code    = 'Get-CompromisedMailAccess -Path .\audit.csv -AttackerIPAddress 203.0.113.77 | New-MailAccessRetrievalScript -Path .\retrieve.ps1'
            Remarks = 'Writes retrieve.ps1 and shows the retrievals it plans. Read the script, then run it: .\retrieve.ps1 -SharedMailboxAccess.'
        }
        @{
            Code    = '$findings | New-MailAccessRetrievalScript -Path .\retrieve.ps1 -WhatIf | Format-List Id, Kind, Mailbox, PowerShellCommand, MessageTraceCommand, Limits'
            Remarks = 'The retrievals, the commands that find the same mail, and what each cannot find, without writing a script.'
        }
        @{
            Code    = '$findings | Export-Clixml .\findings.xml; Import-Clixml .\findings.xml | New-MailAccessRetrievalScript -Path .\retrieve.ps1 -Force'
            Remarks = 'The script from findings saved earlier.'
        }
    )
    Links       = @('Get-CompromisedMailAccess', 'Export-MailAccessReport')
}
