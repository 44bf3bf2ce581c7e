<#
.SYNOPSIS
    Retrieves from Exchange Online, through Microsoft Graph PowerShell, the mail an attacker read
    or must be presumed to have read, as MailAccessForensics found it.

.DESCRIPTION
    Written by New-MailAccessRetrievalScript ({{GENERATOR}}) from findings of
    Get-CompromisedMailAccess: {{COUNT}} retrievals, listed in the $Plan table below. Read it
    before you run it. It only reads mail, with the least permission that can (Mail.Read), and
    writes files under -OutputDirectory.

    What each kind of retrieval does:
      AccessedMessage   Finds the message in its mailbox by its InternetMessageId and saves it as
                        an .eml file (MIME). A message not in the mailbox's folders is looked for
                        in Recoverable Items\Deletions; one found in neither is recorded NotFound.
      SyncedFolder      Resolves the folder by the path the audit record gave (display names, so
                        localised names work; nested paths are walked folder by folder), lists
                        every message in it received up to the last sync, and saves each.
      ThrottledWindow   Lists the mailbox's messages received before the end of the unaudited
                        window (every folder, and Recoverable Items\Deletions). -SaveCandidates
                        also saves them: it can be the whole mailbox.
      UnresolvedAccess  The record lost the ids of the messages read: lists, as candidates, the
                        messages received before the read in its folder (or the whole mailbox).

    Everything it does is recorded in manifest.csv in -OutputDirectory: a row per message found,
    saved or listed (its Graph metadata, the file and the file's SHA-256), a row per retrieval
    completed, not found or failed, and a row per run (who ran it and the SHA-256 of this script),
    so that the retrieval itself is evidence. A cell a spreadsheet would run as a formula is
    neutralised (an apostrophe in front): subjects, addresses and folder names are attacker text.

    Run it again to resume: a retrieval completed is not done again, and a message already saved
    (its file still matching its SHA-256) is not fetched again. Failed retrievals are retried.

    Messages are asked for with immutable ids (Prefer: IdType="ImmutableId"), which stay the same
    when a message moves between folders. What no retrieval here finds: mail purged from the
    mailbox, mail in an archive mailbox (Graph does not reach it), and what changed folders since
    the audit. The objects New-MailAccessRetrievalScript emitted say, for each retrieval, what it
    cannot find and which message trace or compliance search covers more.

.PARAMETER OutputDirectory
    Where the .eml files (one folder per mailbox, mailbox-01, ...) and manifest.csv go. By default
    a folder next to this script, named after it. Use the same folder to resume.

.PARAMETER SharedMailboxAccess
    Sign in as an investigator with access to the mailboxes (FullAccess): asks for the delegated
    permission Mail.Read.Shared. Without it, the delegated sign-in asks for Mail.Read, which reads
    only the signed-in user's own mailbox, and the script stops before it reads anything if the
    plan names another mailbox.

.PARAMETER TenantId
    The tenant to sign in to (with -ClientId: required).

.PARAMETER ClientId
    App-only sign-in: the application (client) id of an app registration granted the application
    permission Mail.Read (an Exchange RBAC for Applications scope can limit it to these
    mailboxes). Use with -TenantId and -CertificateThumbprint.

.PARAMETER CertificateThumbprint
    App-only sign-in: the thumbprint of the app's certificate in your certificate store.

.PARAMETER UseExistingConnection
    Use the Microsoft Graph connection this session already has (Connect-MgGraph run before).

.PARAMETER ListOnly
    Save nothing: record every message found in the manifest only.

.PARAMETER SaveCandidates
    Also save the messages of ThrottledWindow and UnresolvedAccess retrievals, which are only
    listed by default.

.PARAMETER RetrievalId
    Only these retrievals (R0001, ...).

.EXAMPLE
    .\retrieve.ps1 -SharedMailboxAccess -ListOnly
    Signs in as you (Mail.Read.Shared) and lists what the retrievals find, saving nothing.

.EXAMPLE
    .\retrieve.ps1 -TenantId contoso.onmicrosoft.com -ClientId $appId -CertificateThumbprint $thumbprint
    Signs in as an application with Mail.Read and saves the messages; run it again to resume.

.NOTES
    Needs the Microsoft.Graph.Authentication and Microsoft.Graph.Mail modules
    (Install-Module Microsoft.Graph.Mail -Scope CurrentUser). Runs on Windows PowerShell 5.1 and
    PowerShell 7. It is saved as UTF-8 with a byte order mark: keep it so (Windows PowerShell
    reads a file without one in the system's code page, which would change the text of the plan;
    the encoding check below stops the script before it does anything if that happened).
#>
[CmdletBinding(DefaultParameterSetName = 'Delegated')]
param(
    [string] $OutputDirectory,

    [Parameter(ParameterSetName = 'Delegated')]
    [switch] $SharedMailboxAccess,

    [Parameter(ParameterSetName = 'Delegated')]
    [Parameter(ParameterSetName = 'Application', Mandatory = $true)]
    [string] $TenantId,

    [Parameter(ParameterSetName = 'Application', Mandatory = $true)]
    [string] $ClientId,

    [Parameter(ParameterSetName = 'Application', Mandatory = $true)]
    [string] $CertificateThumbprint,

    [Parameter(ParameterSetName = 'ExistingConnection', Mandatory = $true)]
    [switch] $UseExistingConnection,

    [switch] $ListOnly,

    [switch] $SaveCandidates,

    [string[]] $RetrievalId
)

# ---- Encoding check ---------------------------------------------------------------------------
# The plan holds text of any script (folder names, message ids). Read in another encoding than
# UTF-8 that text would change, so the script stops here, before anything else runs.
if ('é'.Length -ne 1 -or [int]('é'[0]) -ne 0xE9) {
    throw 'This script was not read as UTF-8: it must keep its UTF-8 byte order mark (save it as "UTF-8 with BOM"). Nothing was done.'
}

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# ---- The plan: what to retrieve, as data ------------------------------------------------------
# Every value below comes from the audit records, and an attacker can write into those (message
# ids, folder names). Each is a single-quoted string, in which PowerShell runs and expands
# nothing; the code after the plan reads the values and never runs them. A value holding control
# or invisible formatting characters (line breaks, bidirectional overrides, ...) is written as
# Base64 of its UTF-8 bytes, under its name with 'Base64' added, so that what you read here is
# what the script uses. Times are UTC. ReceivedBefore bounds a listing (to the second, rounded up).
# {{PLAN}}

# ---- Settings ---------------------------------------------------------------------------------
# The message properties asked for, and recorded in the manifest.
$MessageProperties = @('id', 'internetMessageId', 'subject', 'from', 'receivedDateTime', 'sentDateTime', 'parentFolderId', 'isRead', 'hasAttachments')
# Every request asks for immutable ids: they stay the same when a message moves between folders.
$PreferImmutableIds = @{ Prefer = 'IdType="ImmutableId"' }
$PageSize = 100
$ManifestColumns = @('RecordedAtUtc', 'RunBy', 'RetrievalId', 'Kind', 'Mailbox', 'Status', 'Mode', 'Location', 'InternetMessageId',
    'GraphMessageId', 'Subject', 'From', 'ReceivedDateTime', 'SentDateTime', 'ParentFolderId', 'File', 'Sha256', 'Bytes', 'Key', 'Note')
# Top-level folders by their English names, for a mailbox whose folders were renamed since the
# audit (for instance by a change of its language): Graph's well-known names work in any language.
$WellKnownFolders = @{
    'inbox' = 'inbox'; 'sent items' = 'sentitems'; 'deleted items' = 'deleteditems'; 'drafts' = 'drafts'
    'junk email' = 'junkemail'; 'junk e-mail' = 'junkemail'; 'outbox' = 'outbox'; 'archive' = 'archive'
    'conversation history' = 'conversationhistory'
}
$Utf8WithBom = New-Object System.Text.UTF8Encoding $true

# ---- Helpers ----------------------------------------------------------------------------------

# A value of the plan: its text, or the text its Base64 form holds.
function Get-PlanValue([hashtable] $Entry, [string] $Name) {
    if ($Entry.ContainsKey($Name + 'Base64')) {
        return [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String([string]$Entry[$Name + 'Base64']))
    }
    if ($Entry.ContainsKey($Name)) { return [string]$Entry[$Name] }
    return $null
}

# An OData string literal made from data: in quotes, with every quote doubled.
function ConvertTo-ODataString([string] $Text) {
    return "'" + $Text.Replace("'", "''") + "'"
}

# A property of a Graph result, from the SDK's objects or Invoke-MgGraphRequest's hashtables;
# several names walk nested objects (from, emailAddress, address).
function Get-GraphField($Object, [string[]] $Path) {
    $value = $Object
    foreach ($name in $Path) {
        if ($null -eq $value) { return $null }
        if ($value -is [System.Collections.IDictionary]) {
            $next = $null
            foreach ($key in $value.Keys) {
                if ([string]$key -eq $name) { $next = $value[$key]; break }
            }
            $value = $next
        }
        else {
            $property = $value.PSObject.Properties[$name]
            if ($null -eq $property) { $value = $null } else { $value = $property.Value }
        }
    }
    return $value
}

# A time from Graph as ISO 8601 UTC text.
function ConvertTo-UtcText($Value) {
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.DateTimeOffset]) { $Value = $Value.UtcDateTime }
    if ($Value -is [datetime]) {
        if ($Value.Kind -eq [System.DateTimeKind]::Local) { $Value = $Value.ToUniversalTime() }
        return $Value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
    }
    return [string]$Value
}

function ConvertTo-Hex([byte[]] $Bytes) {
    return [System.BitConverter]::ToString($Bytes).Replace('-', '')
}

# SHA-256 of a file, in the form Get-FileHash prints.
function Get-FileSha256([string] $Path) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $stream = [System.IO.File]::OpenRead($Path)
    try { return ConvertTo-Hex $sha.ComputeHash($stream) }
    finally { $stream.Dispose(); $sha.Dispose() }
}

function Get-TextSha256([string] $Text) {
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { return ConvertTo-Hex $sha.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($Text)) }
    finally { $sha.Dispose() }
}

# A CSV cell, always quoted. Text a spreadsheet would run as a formula (starting with = + - @,
# a tab or a carriage return) gets an apostrophe in front.
function ConvertTo-CsvCell($Value) {
    if ($null -eq $Value) { return '""' }
    $text = [string]$Value
    if ($text.Length -gt 0 -and @('=', '+', '-', '@', "`t", "`r") -contains [string]$text[0]) { $text = "'" + $text }
    return '"' + $text.Replace('"', '""') + '"'
}

# Appends one row to the manifest, in one write, and counts it.
function Add-ManifestRow([hashtable] $Row) {
    $Row['RecordedAtUtc'] = [datetime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
    $Row['RunBy'] = $script:RunBy
    $cells = foreach ($column in $ManifestColumns) { ConvertTo-CsvCell $Row[$column] }
    [System.IO.File]::AppendAllText($script:ManifestPath, ($cells -join ',') + "`r`n", $Utf8WithBom)
    $status = [string]$Row['Status']
    if ($script:Counts.ContainsKey($status)) { $script:Counts[$status]++ } else { $script:Counts[$status] = 1 }
}

# The text up to the last complete row of a manifest (every cell is quoted, so a line break
# outside quotes ends a row). Only used after an interruption left half a row.
function Get-CompleteRows([string] $Text) {
    $inQuotes = $false
    $end = 0
    for ($i = 0; $i -lt $Text.Length; $i++) {
        $c = $Text[$i]
        if ($c -eq '"') { $inQuotes = -not $inQuotes }
        elseif ($c -eq "`n" -and -not $inQuotes) { $end = $i + 1 }
    }
    return $Text.Substring(0, $end)
}

# The folders directly under a folder (or, with no parent, under the top of the mailbox), once
# per folder: hidden ones too where the SDK can ask for them.
function Get-ChildMailFolders([string] $Mailbox, [string] $ParentId) {
    $cacheKey = $Mailbox.ToLowerInvariant() + "`n" + $ParentId
    if (-not $FolderCache.ContainsKey($cacheKey)) {
        $request = @{ UserId = $Mailbox; All = $true; PageSize = $PageSize; Property = @('id', 'displayName'); Headers = $PreferImmutableIds }
        if ($ParentId) {
            $folders = @(Get-MgUserMailFolderChildFolder -MailFolderId $ParentId @request @HiddenChildFolders)
        }
        else {
            $folders = @(Get-MgUserMailFolder @request @HiddenFolders)
        }
        $FolderCache[$cacheKey] = $folders
    }
    return $FolderCache[$cacheKey]
}

# The folder at an audit path such as \Inbox\Projects: @{ Id = ... }, or @{ Reason = ... }.
function Resolve-MailFolder([string] $Mailbox, [string] $Path) {
    $names = @($Path.Split('\') | Where-Object { $_ -ne '' })
    if ($names.Count -gt 0 -and $names[0] -eq 'Top of Information Store') { $names = @($names | Select-Object -Skip 1) }
    if ($names.Count -eq 0) { return @{ Reason = 'the folder path is empty' } }
    if ($names.Count -eq 2 -and $names[0] -eq 'Recoverable Items' -and $names[1] -eq 'Deletions') {
        return @{ Id = 'recoverableitemsdeletions' }
    }
    $parentId = $null
    for ($level = 0; $level -lt $names.Count; $level++) {
        $name = $names[$level]
        $children = @(Get-ChildMailFolders $Mailbox $parentId)
        # The same name first, then the same name in another case.
        $found = @($children | Where-Object { [string](Get-GraphField $_ 'displayName') -ceq $name })
        if ($found.Count -eq 0) { $found = @($children | Where-Object { [string](Get-GraphField $_ 'displayName') -eq $name }) }
        if ($found.Count -eq 0 -and $level -eq 0 -and $WellKnownFolders.ContainsKey($name.ToLowerInvariant())) {
            try {
                $found = @(Get-MgUserMailFolder -UserId $Mailbox -MailFolderId $WellKnownFolders[$name.ToLowerInvariant()] -Property @('id', 'displayName') -Headers $PreferImmutableIds)
            }
            catch {
                # The mailbox has no such well-known folder.
                $found = @()
            }
        }
        if ($found.Count -eq 0) {
            return @{ Reason = 'no folder named ''' + $name + ''' at level ' + ($level + 1) + ' of the path' }
        }
        if ($found.Count -gt 1) {
            return @{ Reason = [string]$found.Count + ' folders are named ''' + $name + ''' at level ' + ($level + 1) + ' of the path' }
        }
        $parentId = [string](Get-GraphField $found[0] 'id')
    }
    return @{ Id = $parentId }
}

# Messages by a filter, through the SDK's cmdlets (every page).
function Get-MessagesByFilter([string] $Mailbox, [string] $FolderId, [string] $Filter) {
    $request = @{ UserId = $Mailbox; Filter = $Filter; Property = $MessageProperties; All = $true; PageSize = $PageSize; Headers = $PreferImmutableIds }
    if ($FolderId) { Get-MgUserMailFolderMessage -MailFolderId $FolderId @request }
    else { Get-MgUserMessage @request }
}

# Messages by a filter the SDK would alter: Microsoft Graph PowerShell decodes a -Filter value
# before it sends it ('%2B' becomes '+', and '+' can become a space: msgraph-sdk-powershell
# issues 2280, 2973, 3522), which would miss message ids holding '+' or '%'. So these go through
# Invoke-MgGraphRequest, with a URI encoded here, page by page.
function Get-MessagesByUri([string] $Mailbox, [string] $FolderId, [string] $Filter) {
    $uri = 'v1.0/users/' + [System.Uri]::EscapeDataString($Mailbox)
    if ($FolderId) { $uri += '/mailFolders/' + [System.Uri]::EscapeDataString($FolderId) }
    $uri += '/messages?$filter=' + [System.Uri]::EscapeDataString($Filter) + '&$select=' + ($MessageProperties -join ',') + '&$top=' + $PageSize
    while ($uri) {
        $page = Invoke-MgGraphRequest -Method GET -Uri $uri -Headers $PreferImmutableIds
        foreach ($message in @(Get-GraphField $page 'value')) {
            if ($null -ne $message) { $message }
        }
        $uri = [string](Get-GraphField $page '@odata.nextLink')
    }
}

# The messages whose InternetMessageId is exactly the one given, in the mailbox or in a folder.
function Find-MessagesByInternetMessageId([string] $Mailbox, [string] $FolderId, [string] $InternetMessageId) {
    $filter = 'internetMessageId eq ' + (ConvertTo-ODataString $InternetMessageId)
    if ($InternetMessageId.Contains('+') -or $InternetMessageId.Contains('%')) {
        $results = @(Get-MessagesByUri $Mailbox $FolderId $filter)
    }
    else {
        $results = @(Get-MessagesByFilter $Mailbox $FolderId $filter)
    }
    $exact = @($results | Where-Object { [string](Get-GraphField $_ 'internetMessageId') -ceq $InternetMessageId })
    return @{ Messages = $exact; Other = $results.Count - $exact.Count }
}

# Records one message found for a retrieval: saves it as .eml unless -ListOnly (or a listing),
# once per mailbox whatever the retrievals that find it; lists it otherwise.
function Register-Message([hashtable] $Entry, $Message, [string] $Location, [bool] $Save) {
    $id = Get-PlanValue $Entry 'Id'
    $mailbox = Get-PlanValue $Entry 'Mailbox'
    $graphId = [string](Get-GraphField $Message 'id')
    if (-not $graphId) { throw 'Graph returned a message without an id' }
    $key = Get-TextSha256 ($mailbox.ToLowerInvariant() + "`n" + $graphId)
    $mode = if ($Save) { 'Save' } else { 'List' }
    $script:MessagesThisRetrieval++
    if ($ProgressClock.ElapsedMilliseconds -ge 500) {
        Write-Progress -Id 2 -ParentId 1 -Activity $id -Status ([string]$script:MessagesThisRetrieval + ' messages')
        $ProgressClock.Reset(); $ProgressClock.Start()
    }
    # Recorded for this retrieval in an earlier run.
    if ($Recorded.ContainsKey($id + '|' + $key + '|' + $mode)) { return }
    $row = @{
        RetrievalId = $id; Kind = Get-PlanValue $Entry 'Kind'; Mailbox = $mailbox; Mode = $mode; Location = $Location; Key = $key
        InternetMessageId = Get-GraphField $Message 'internetMessageId'; GraphMessageId = $graphId
        Subject = Get-GraphField $Message 'subject'; From = Get-GraphField $Message @('from', 'emailAddress', 'address')
        ReceivedDateTime = ConvertTo-UtcText (Get-GraphField $Message 'receivedDateTime')
        SentDateTime = ConvertTo-UtcText (Get-GraphField $Message 'sentDateTime'); ParentFolderId = Get-GraphField $Message 'parentFolderId'
    }
    if ($Save) {
        $folder = Get-PlanValue $Entry 'MailboxFolder'
        $name = $key.Substring(0, 32) + '.eml'
        $file = [System.IO.Path]::Combine($OutputRoot, $folder, $name)
        $earlier = $SavedFiles[$key]
        if ($earlier -and (Test-Path -LiteralPath $file) -and (Get-FileSha256 $file) -eq $earlier.Sha256) {
            $row['Status'] = 'AlreadySaved'
        }
        else {
            if ($earlier) { $row['Note'] = 'the file saved before was missing or had changed: saved again' }
            [void](New-Item -ItemType Directory -Path ([System.IO.Path]::Combine($OutputRoot, $folder)) -Force)
            $partial = $file + '.partial'
            if ($Location -eq 'RecoverableItemsDeletions') {
                # A deleted message, through the folder it is in.
                Get-MgUserMailFolderMessageContent -UserId $mailbox -MailFolderId 'recoverableitemsdeletions' -MessageId $graphId -OutFile $partial -Headers $PreferImmutableIds
            }
            else {
                Get-MgUserMessageContent -UserId $mailbox -MessageId $graphId -OutFile $partial -Headers $PreferImmutableIds
            }
            $earlier = @{ Sha256 = Get-FileSha256 $partial; Bytes = (Get-Item -LiteralPath $partial).Length }
            if (Test-Path -LiteralPath $file) { Remove-Item -LiteralPath $file -Force }
            [System.IO.File]::Move($partial, $file)
            $SavedFiles[$key] = $earlier
            $row['Status'] = 'Saved'
        }
        $row['File'] = $folder + '/' + $name
        $row['Sha256'] = $earlier.Sha256
        $row['Bytes'] = $earlier.Bytes
    }
    else {
        $row['Status'] = 'Listed'
    }
    Add-ManifestRow $row
    $Recorded[$id + '|' + $key + '|' + $mode] = $true
}

# The manifest row that ends a retrieval.
function Complete-Retrieval([hashtable] $Entry, [string] $Status, [string] $Mode, [string] $Note) {
    Add-ManifestRow @{ RetrievalId = Get-PlanValue $Entry 'Id'; Kind = Get-PlanValue $Entry 'Kind'; Mailbox = Get-PlanValue $Entry 'Mailbox'
        Status = $Status; Mode = $Mode; Note = $Note }
}

# ---- The retrievals ---------------------------------------------------------------------------

# AccessedMessage: the message by its InternetMessageId, in the mailbox, else in Recoverable Items.
function Invoke-AccessedMessage([hashtable] $Entry, [bool] $Save, [string] $Mode) {
    $mailbox = Get-PlanValue $Entry 'Mailbox'
    $messageId = Get-PlanValue $Entry 'InternetMessageId'
    $location = 'Mailbox'
    $search = Find-MessagesByInternetMessageId $mailbox $null $messageId
    if ($search.Messages.Count -eq 0) {
        $location = 'RecoverableItemsDeletions'
        $search = Find-MessagesByInternetMessageId $mailbox 'recoverableitemsdeletions' $messageId
    }
    $other = ''
    if ($search.Other -gt 0) { $other = '; Graph also returned ' + $search.Other + ' message(s) whose InternetMessageId is not exactly this one, left out' }
    if ($search.Messages.Count -eq 0) {
        Complete-Retrieval $Entry 'NotFound' $Mode ('not in the mailbox nor in Recoverable Items\Deletions: moved to an archive mailbox, purged, or never in this mailbox' + $other)
        return
    }
    foreach ($message in $search.Messages) { Register-Message $Entry $message $location $Save }
    $where = if ($location -eq 'Mailbox') { 'in the mailbox' } else { 'in Recoverable Items\Deletions (deleted)' }
    Complete-Retrieval $Entry 'Done' $Mode ([string]$search.Messages.Count + ' message(s) with this InternetMessageId found ' + $where + $other)
}

# A listing: the messages of a folder (or of the mailbox, and then of Recoverable Items too)
# received before a time.
function Invoke-Listing([hashtable] $Entry, [bool] $Save, [string] $Mode, [string] $Comparison) {
    $mailbox = Get-PlanValue $Entry 'Mailbox'
    $path = Get-PlanValue $Entry 'FolderPath'
    $bound = Get-PlanValue $Entry 'ReceivedBefore'
    $filter = 'receivedDateTime ' + $Comparison + ' ' + $bound
    if ($path) {
        $folder = Resolve-MailFolder $mailbox $path
        if (-not $folder.ContainsKey('Id')) {
            Complete-Retrieval $Entry 'FolderNotFound' $Mode ('folder ''' + $path + ''' not found: ' + $folder.Reason)
            return
        }
        Get-MessagesByFilter $mailbox $folder.Id $filter | ForEach-Object { Register-Message $Entry $_ $path $Save }
        Complete-Retrieval $Entry 'Done' $Mode ([string]$script:MessagesThisRetrieval + ' message(s) in the folder received ' + $Comparison + ' ' + $bound)
        return
    }
    Get-MessagesByFilter $mailbox $null $filter | ForEach-Object { Register-Message $Entry $_ 'Mailbox' $Save }
    Get-MessagesByFilter $mailbox 'recoverableitemsdeletions' $filter | ForEach-Object { Register-Message $Entry $_ 'RecoverableItemsDeletions' $Save }
    Complete-Retrieval $Entry 'Done' $Mode ([string]$script:MessagesThisRetrieval + ' message(s) in the mailbox and Recoverable Items\Deletions received ' + $Comparison + ' ' + $bound)
}

# ---- Check the plan before anything else ------------------------------------------------------
$problems = @()
$seen = @{}
foreach ($entry in $Plan) {
    $id = Get-PlanValue $entry 'Id'
    $kind = Get-PlanValue $entry 'Kind'
    if ($id -notmatch '^R\d{4,}$' -or $seen.ContainsKey($id)) { $problems += 'an entry has a missing, malformed or repeated Id' ; continue }
    $seen[$id] = $true
    if (@('AccessedMessage', 'SyncedFolder', 'ThrottledWindow', 'UnresolvedAccess') -notcontains $kind) { $problems += $id + ': unknown Kind' }
    if (-not (Get-PlanValue $entry 'Mailbox')) { $problems += $id + ': no Mailbox' }
    if ((Get-PlanValue $entry 'MailboxFolder') -notmatch '^mailbox-\d{2,}$') { $problems += $id + ': MailboxFolder must be mailbox-NN' }
    if ($kind -eq 'AccessedMessage' -and -not (Get-PlanValue $entry 'InternetMessageId')) { $problems += $id + ': no InternetMessageId' }
    if ($kind -eq 'SyncedFolder' -and -not (Get-PlanValue $entry 'FolderPath')) { $problems += $id + ': no FolderPath' }
    if ($kind -ne 'AccessedMessage' -and (Get-PlanValue $entry 'ReceivedBefore') -notmatch '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$') {
        $problems += $id + ': ReceivedBefore must be yyyy-MM-ddTHH:mm:ssZ'
    }
}
if ($problems.Count -gt 0) { throw ('The plan in this script is not valid (was it edited?): ' + ($problems -join '; ')) }

$Selected = @($Plan)
if ($RetrievalId) {
    $unknown = @($RetrievalId | Where-Object { -not $seen.ContainsKey($_) })
    if ($unknown.Count -gt 0) { throw ('No such retrieval in the plan: ' + ($unknown -join ', ')) }
    $Selected = @($Plan | Where-Object { $RetrievalId -contains (Get-PlanValue $_ 'Id') })
}
if ($Selected.Count -eq 0) {
    Write-Warning 'The plan has no retrievals: nothing to do.'
    return
}

# The plan's fingerprint: a manifest belongs to one plan.
$canonical = New-Object System.Text.StringBuilder
foreach ($entry in $Plan) {
    [string[]] $names = @($entry.Keys)
    [System.Array]::Sort($names, [System.StringComparer]::Ordinal)
    foreach ($name in $names) { [void]$canonical.Append($name).Append('=').Append([string]$entry[$name]).Append("`n") }
    [void]$canonical.Append("`n")
}
$PlanSha256 = Get-TextSha256 $canonical.ToString()

# ---- The Microsoft Graph PowerShell commands this script uses ---------------------------------
$missing = @('Connect-MgGraph', 'Get-MgContext', 'Invoke-MgGraphRequest', 'Get-MgUserMessage', 'Get-MgUserMessageContent',
    'Get-MgUserMailFolder', 'Get-MgUserMailFolderChildFolder', 'Get-MgUserMailFolderMessage', 'Get-MgUserMailFolderMessageContent' |
    Where-Object { -not (Get-Command $_ -ErrorAction SilentlyContinue) })
if ($missing.Count -gt 0) {
    throw ('Microsoft Graph PowerShell is missing (' + ($missing -join ', ') + '): Install-Module Microsoft.Graph.Authentication, Microsoft.Graph.Mail -Scope CurrentUser')
}
# Hidden folders are listed too where the SDK's version can ask for them.
$HiddenFolders = @{}
if ((Get-Command Get-MgUserMailFolder).Parameters.ContainsKey('IncludeHiddenFolders')) { $HiddenFolders['IncludeHiddenFolders'] = 'true' }
$HiddenChildFolders = @{}
if ((Get-Command Get-MgUserMailFolderChildFolder).Parameters.ContainsKey('IncludeHiddenFolders')) { $HiddenChildFolders['IncludeHiddenFolders'] = 'true' }

# ---- The output folder and its manifest (what earlier runs did) -------------------------------
if (-not $OutputDirectory) {
    $OutputDirectory = Join-Path (Split-Path -Parent $PSCommandPath) ([System.IO.Path]::GetFileNameWithoutExtension($PSCommandPath) + '-retrieved')
}
$OutputRoot = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutputDirectory)
[void](New-Item -ItemType Directory -Path $OutputRoot -Force)
$ManifestPath = [System.IO.Path]::Combine($OutputRoot, 'manifest.csv')
$Header = ($ManifestColumns | ForEach-Object { '"' + $_ + '"' }) -join ','
$Done = @{}        # retrieval id -> the mode it was completed in (Save covers List)
$SavedFiles = @{}  # message key -> @{ Sha256; Bytes } of its saved file
$Recorded = @{}    # retrieval id|message key|mode -> recorded
if (Test-Path -LiteralPath $ManifestPath) {
    $text = [System.IO.File]::ReadAllText($ManifestPath, $Utf8WithBom)
    if (-not $text.StartsWith($Header + "`r`n", [System.StringComparison]::Ordinal)) { throw ('''' + $ManifestPath + ''' is not a manifest of this script: use another -OutputDirectory.') }
    $quotes = $text.Length - $text.Replace('"', '').Length
    if ($quotes % 2 -ne 0 -or -not $text.EndsWith("`r`n", [System.StringComparison]::Ordinal)) {
        # An interruption in the middle of a row: keep the rows before it.
        [System.IO.File]::WriteAllText($ManifestPath, (Get-CompleteRows $text), $Utf8WithBom)
        Write-Warning 'The manifest ended in the middle of a row (the last run was interrupted): that row was removed.'
    }
    foreach ($row in @(Import-Csv -LiteralPath $ManifestPath -Encoding UTF8)) {
        switch ($row.Status) {
            'Run' {
                if ($row.Key -ne $PlanSha256) { throw ('''' + $OutputRoot + ''' holds the retrieval of another plan: use another -OutputDirectory.') }
            }
            'Done' { if ($row.Mode -eq 'Save' -or -not $Done.ContainsKey($row.RetrievalId)) { $Done[$row.RetrievalId] = $row.Mode } }
            'NotFound' { $Done[$row.RetrievalId] = 'Save' }
            'FolderNotFound' { $Done[$row.RetrievalId] = 'Save' }
            'Saved' { $SavedFiles[$row.Key] = @{ Sha256 = $row.Sha256; Bytes = $row.Bytes }; $Recorded[$row.RetrievalId + '|' + $row.Key + '|Save'] = $true }
            'AlreadySaved' { $Recorded[$row.RetrievalId + '|' + $row.Key + '|Save'] = $true }
            'Listed' { $Recorded[$row.RetrievalId + '|' + $row.Key + '|List'] = $true }
        }
    }
}
else {
    [System.IO.File]::WriteAllText($ManifestPath, $Header + "`r`n", $Utf8WithBom)
}
# Downloads an interruption left unfinished.
Get-ChildItem -LiteralPath $OutputRoot -Recurse -Filter '*.partial' | Remove-Item -Force

# ---- Sign in with the least permission --------------------------------------------------------
$connect = @{}
if ((Get-Command Connect-MgGraph).Parameters.ContainsKey('NoWelcome')) { $connect['NoWelcome'] = $true }
switch ($PSCmdlet.ParameterSetName) {
    'Application' {
        # App-only: the app registration's application permission Mail.Read.
        Connect-MgGraph -ClientId $ClientId -TenantId $TenantId -CertificateThumbprint $CertificateThumbprint @connect
    }
    'Delegated' {
        # Mail.Read reads the signed-in user's own mailbox; Mail.Read.Shared also the mailboxes
        # the user has access to.
        if ($SharedMailboxAccess) { $scopes = @('Mail.Read.Shared') } else { $scopes = @('Mail.Read') }
        if ($TenantId) { $connect['TenantId'] = $TenantId }
        Connect-MgGraph -Scopes $scopes @connect
    }
}
$context = Get-MgContext
if (-not $context) { throw 'Not connected to Microsoft Graph (run Connect-MgGraph, or run this script without -UseExistingConnection).' }
$grants = @($context.Scopes)
if ([string]$context.AuthType -ne 'Delegated') {
    # App-only (or a managed identity): the application's permissions decide.
    $RunBy = 'application ' + $context.ClientId + ' in tenant ' + $context.TenantId
    if ($grants -notcontains 'Mail.Read' -and $grants -notcontains 'Mail.ReadWrite') {
        Write-Warning 'The application does not show the permission Mail.Read: reading mail may fail.'
    }
}
else {
    $RunBy = [string]$context.Account
    $others = @($Selected | ForEach-Object { Get-PlanValue $_ 'Mailbox' } | Where-Object { $_ -ne $context.Account } | Select-Object -Unique)
    $shared = $grants -contains 'Mail.Read.Shared' -or $grants -contains 'Mail.ReadWrite.Shared'
    if ($others.Count -gt 0 -and -not $shared) {
        throw ('Signed in as ' + $context.Account + ' with access to that mailbox only, but the plan reads ' + ($others -join ', ') +
            ': run again with -SharedMailboxAccess (Mail.Read.Shared, with FullAccess to those mailboxes) or app-only (-ClientId, -TenantId, -CertificateThumbprint). Nothing was read.')
    }
}
$writes = @($grants | Where-Object { $_ -match 'Write|Send|FullControl' })
if ($writes.Count -gt 0) { Write-Warning ('The connection can do more than read (' + ($writes -join ', ') + '); this script only reads.') }

# ---- Retrieve ---------------------------------------------------------------------------------
$Counts = @{}
$FolderCache = @{}
$ProgressClock = [System.Diagnostics.Stopwatch]::StartNew()
$switches = @($PSBoundParameters.Keys | Where-Object { @('ListOnly', 'SaveCandidates', 'SharedMailboxAccess', 'RetrievalId', 'UseExistingConnection') -contains $_ }) -join ', '
Add-ManifestRow @{ Status = 'Run'; Key = $PlanSha256; File = [System.IO.Path]::GetFileName($PSCommandPath); Sha256 = Get-FileSha256 $PSCommandPath
    Note = 'PowerShell ' + $PSVersionTable.PSVersion + '; ' + $Selected.Count + ' of ' + @($Plan).Count + ' retrievals' + $(if ($switches) { '; ' + $switches } else { '' }) }
$skipped = 0
for ($index = 0; $index -lt $Selected.Count; $index++) {
    $entry = $Selected[$index]
    $id = Get-PlanValue $entry 'Id'
    $kind = Get-PlanValue $entry 'Kind'
    # Messages read and synced folders are saved; listings of windows and lost reads only with
    # -SaveCandidates; nothing with -ListOnly.
    $save = (-not $ListOnly) -and ($kind -eq 'AccessedMessage' -or $kind -eq 'SyncedFolder' -or $SaveCandidates)
    $mode = if ($save) { 'Save' } else { 'List' }
    Write-Progress -Id 1 -Activity 'Retrieving mail (MailAccessForensics)' -Status ($id + ' (' + ($index + 1) + ' of ' + $Selected.Count + '): ' + $kind) -PercentComplete ([int](100 * $index / $Selected.Count))
    if ($Done.ContainsKey($id) -and ($Done[$id] -eq 'Save' -or $Done[$id] -eq $mode)) {
        Write-Verbose ($id + ': done in an earlier run')
        $skipped++
        continue
    }
    $script:MessagesThisRetrieval = 0
    try {
        switch ($kind) {
            'AccessedMessage' { Invoke-AccessedMessage $entry $save $mode }
            'SyncedFolder' { Invoke-Listing $entry $save $mode 'le' }
            'ThrottledWindow' { Invoke-Listing $entry $save $mode 'lt' }
            'UnresolvedAccess' { Invoke-Listing $entry $save $mode 'le' }
        }
    }
    catch {
        Complete-Retrieval $entry 'Failed' $mode $_.Exception.Message
        Write-Warning ($id + ' failed (run the script again to retry it): ' + $_.Exception.Message)
    }
}
Write-Progress -Id 2 -Activity 'Retrieving' -Completed
Write-Progress -Id 1 -Activity 'Retrieving mail (MailAccessForensics)' -Completed

function Get-Count([string] $Status) { if ($Counts.ContainsKey($Status)) { $Counts[$Status] } else { 0 } }
if ((Get-Count 'Failed') -gt 0) { Write-Warning ([string](Get-Count 'Failed') + ' retrieval(s) failed: run the script again with the same -OutputDirectory to retry them.') }
[pscustomobject]@{
    OutputDirectory = $OutputRoot
    Manifest        = $ManifestPath
    Retrievals      = $Selected.Count
    DoneBefore      = $skipped
    Done            = Get-Count 'Done'
    NotFound        = Get-Count 'NotFound'
    FolderNotFound  = Get-Count 'FolderNotFound'
    Failed          = Get-Count 'Failed'
    Saved           = Get-Count 'Saved'
    AlreadySaved    = Get-Count 'AlreadySaved'
    Listed          = Get-Count 'Listed'
}
