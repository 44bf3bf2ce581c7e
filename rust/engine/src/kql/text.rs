//! The query text. Every query has the same shape: a header saying what it answers, the
//! parameter block (the only place values go, as literals), the table's records in one shape
//! (`MafBase`, `MafRecords`), then the step.
//!
//! Names the query defines start with `Maf` so that they cannot collide with a workspace's
//! own tables and functions.

use std::fmt::Write;

use super::{literal, QueryOptions, Step, Table};

pub(super) fn render(table: Table, step: Step, options: &QueryOptions) -> String {
    let mut q = String::new();
    header(&mut q, table, step, options);
    parameters(&mut q, step, options);
    q.push_str("// ---- Query ----------------------------------------------------------------------------\n");
    q.push_str(HELPERS);
    if matches!(step, Step::Context | Step::Verdict) {
        q.push_str(INDICATORS);
    }
    q.push_str(match table {
        Table::OfficeActivity => OFFICE_ACTIVITY,
        Table::CloudAppEvents => CLOUD_APP_EVENTS,
    });
    q.push_str(BASE);
    let _ = writeln!(q, "let MafRecords = MafBase\n{EXPAND};");
    match step {
        Step::Throttling => throttling(&mut q),
        Step::Sync => sync(&mut q),
        Step::Context => context(&mut q),
        Step::Bind => bind(&mut q),
        Step::Verdict => verdict(&mut q, options.rounds()),
    }
    q
}

fn header(q: &mut String, table: Table, step: Step, options: &QueryOptions) {
    let what = match step {
        Step::Throttling => "Step 1, throttling: the merged 24-hour windows in which a mailbox was not audited (IsThrottled = True).",
        Step::Sync => "Step 2, sync: Sync records grouped by mailbox, folder and context (client address, client, session, account).",
        Step::Context => "Step 3, contexts: every context (client address, client, session, account) with what it did.",
        Step::Bind => "Step 4, bind: every message read, per mailbox and InternetMessageId, with the contexts that read it.",
        Step::Verdict => {
            "The verdict: what the attacker read or must be presumed to have read, following them across addresses and sessions."
        }
    };
    let _ = writeln!(q, "// MailAccessForensics: {} query over {}.", step.name(), table.name());
    let _ = writeln!(q, "// {what}");
    let _ = writeln!(q, "// The answer of {} (docs/semantics.md); where KQL differs, kql/README.md says how.", step.cmdlet());
    match table {
        Table::OfficeActivity => {
            q.push_str("// OfficeActivity has no SessionId column: contexts here are address, client and account (see MafRaw).\n")
        }
        Table::CloudAppEvents => {
            q.push_str("// CloudAppEvents: the audit record is RawEventData; its time is RawEventData.CreationTime.\n")
        }
    }
    if step == Step::Verdict {
        let _ = writeln!(
            q,
            "// Expansion is unrolled to {} round(s); the Expansion row and the ExpansionConverged column say whether that was enough.",
            options.rounds()
        );
        q.push_str("// Addresses and sessions in use before the attacker's known activity by other contexts are not followed (SharedIndicator rows).\n");
    }
    q.push_str("// Generated: edit the parameters below, or write them with Get-MailAccessKqlQuery (kql/README.md).\n//\n");
}

fn parameters(q: &mut String, step: Step, options: &QueryOptions) {
    let regex = |patterns: &[crate::analysis::Wildcard]| {
        let text = literal::wildcard_regex(patterns);
        if text.is_empty() {
            "\"\"".to_string()
        } else {
            literal::verbatim(&text)
        }
    };
    q.push_str("// ---- Parameters -----------------------------------------------------------------------\n");
    let _ = writeln!(
        q,
        "let StartDate = {}; // at or after (UTC); datetime(null): no bound, the portal's time range applies",
        literal::datetime(options.start)
    );
    let _ = writeln!(q, "let EndDate = {}; // before (UTC); datetime(null): no bound", literal::datetime(options.end));
    let scope = if step == Step::Verdict {
        "the findings to report: every mailbox's records still take part in attribution"
    } else {
        "the records to analyse"
    };
    let _ = writeln!(
        q,
        "let MailboxRegex = {}; // mailboxes (MailboxOwnerUPN) as a regex, e.g. @\"(?im)^(?:bob@contoso\\.com)$\", \"\" for all ({scope})",
        regex(&options.mailboxes)
    );
    let _ = writeln!(q, "let UserIdRegex = {}; // acting accounts (UserId), in the same form", regex(&options.user_ids));
    if matches!(step, Step::Context | Step::Verdict) {
        let ranges: Vec<String> = options.addresses.iter().map(|r| r.cidr()).collect();
        let _ = writeln!(q, "let AttackerIPAddress = {}; // addresses or CIDR ranges, IPv4 or IPv6", literal::strings(&ranges));
        let _ = writeln!(q, "let AttackerSessionId = {}; // Exchange sessions (SessionId), any case", literal::strings(&options.sessions));
    }
    if step == Step::Verdict {
        let _ = writeln!(
            q,
            "let AttackerAadSessionId = {}; // Entra sessions of the token (AppAccessContext.AADSessionId)",
            literal::strings(&options.aad_sessions)
        );
        let _ = writeln!(
            q,
            "let AttackerAppId = {}; // applications, matched against AppId and ClientAppId",
            literal::strings(&options.app_ids)
        );
        let _ = writeln!(
            q,
            "let AttackerClientInfoStringRegex = {}; // clients (ClientInfoString) as a regex; \"\": none",
            regex(&options.client_info_strings)
        );
        let _ = writeln!(
            q,
            "let ExpandSharedIndicator = {}; // true: follow also addresses and sessions that other contexts used before the attacker's known activity",
            options.expand_shared
        );
    }
}

/// Scalar helpers: how the module normalises addresses, folders, message ids and evidence.
const HELPERS: &str = r#"// IPv6 in RFC 5952 form (lower case, no leading zeros, the first longest run of zero groups as ::),
// from parse_ipv6()'s canonical form: how the module shows addresses.
let MafIpv6Text = (ip:string) {
    let s = replace_regex(ip, @"(^|:)0{1,3}([0-9a-f])", @"\1\2");
    case(
        s matches regex @"(^|:)0(:0){7}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){7}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){6}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){6}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){5}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){5}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){4}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){4}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){3}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){3}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){2}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){2}(?::|$)(.*)$", @"\1::\2"),
        s matches regex @"(^|:)0(:0){1}(:|$)", replace_regex(s, @"^(.*?)(?:^|:)0(?::0){1}(?::|$)(.*)$", @"\1::\2"),
        s)
};
// Folder paths compare with a leading backslash (some records omit it).
let MafFolderPath = (text:string) {
    let t = trim(@"\s+", text);
    iff(isempty(t) or t startswith @"\", t, strcat(@"\", t))
};
// Message ids compare in their <local@domain> form (records carry them with or without brackets).
let MafMessageId = (text:string) {
    let inner = trim(@"\s+", replace_regex(replace_regex(trim(@"\s+", text), @"^<", ""), @">$", ""));
    iff(isempty(inner), "", strcat("<", inner, ">"))
};
// Evidence is listed by time, then record id: a sortable key, and the ids of a set of keys in order.
let MafSortKey = (at:datetime, id:string) { strcat(format_datetime(at, "yyyy-MM-dd HH:mm:ss.fffffff"), "|", id) };
let MafIdsInOrder = (keys:dynamic) {
    todynamic(replace_regex(tostring(array_sort_asc(keys)), @"([\[,])""\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{7}\|", @"\1"""))
};
let MafIsoTime = (at:datetime) { strcat(format_datetime(at, "yyyy-MM-dd"), "T", format_datetime(at, "HH:mm:ss"), "Z") };
let MafLowerSet = (values:dynamic) {
    toscalar(print Value = values | mv-expand Value to typeof(string) | extend Value = tolower(trim(@"\s+", Value)) | where isnotempty(Value) | summarize make_set(Value))
};
"#;

/// The indicators in the shape the query compares them in.
const INDICATORS: &str = r#"let MafV4Ranges = toscalar(print Range = AttackerIPAddress | mv-expand Range to typeof(string) | extend Range = trim(@"\s+", Range) | where isnotempty(Range) and Range !contains ":" | summarize make_list(Range));
let MafV6Ranges = toscalar(print Range = AttackerIPAddress | mv-expand Range to typeof(string) | extend Range = trim(@"\s+", Range) | where Range contains ":" | summarize make_list(Range));
let MafSessions = MafLowerSet(AttackerSessionId);
// An address matches a range of its own family (IPv4 includes ::ffff: mapped addresses).
let MafMatchesAddress = (v4:string, ip:string) {
    iff(isnotempty(v4),
        array_length(MafV4Ranges) > 0 and ipv4_is_in_any_range(v4, MafV4Ranges),
        isnotempty(ip) and array_length(MafV6Ranges) > 0 and ipv6_is_in_any_range(ip, MafV6Ranges))
};
"#;

const OFFICE_ACTIVITY: &str = r#"// The MailItemsAccessed records of OfficeActivity from From to To (TimeGenerated; null: no bound),
// one column per field the steps read.
let MafRaw = (From:datetime, To:datetime) { OfficeActivity
    | where isnull(From) or TimeGenerated >= From
    | where isnull(To) or TimeGenerated < To
    | where Operation =~ "MailItemsAccessed"
    | extend MafItem = todynamic(Item)
    | project RecordId = OfficeId,
        CreationTime = TimeGenerated,
        Mailbox = MailboxOwnerUPN,
        UserId,
        AddressText = coalesce(Client_IPAddress, ClientIP),
        ClientInfoString,
        // OfficeActivity has no SessionId column (see the table reference): here contexts have no
        // session and -AttackerSessionId matches nothing, unless this workspace has the column.
        SessionId = tostring(column_ifexists("SessionId", "")),
        // The token's Entra session and the token; newer workspaces only.
        AadSessionId = tostring(todynamic(column_ifexists("AppAccessContext", dynamic(null))).AADSessionId),
        UniqueTokenId = tostring(todynamic(column_ifexists("AppAccessContext", dynamic(null))).UniqueTokenId),
        AppId,
        ClientAppId,
        // Nor is there an OperationCount column.
        OperationCount = long(null),
        Properties = todynamic(OperationProperties),
        FolderList = todynamic(Folders),
        ItemParentPath = tostring(coalesce(MafItem.ParentFolder.Path, MafItem.ParentFolder.Name)),
        ItemMessageId = tostring(MafItem.InternetMessageId),
        ItemSizeValue = MafItem.SizeInBytes };
"#;

const CLOUD_APP_EVENTS: &str = r#"// The MailItemsAccessed records of CloudAppEvents from From to To (Timestamp; null: no bound), one
// column per field the steps read.
let MafRaw = (From:datetime, To:datetime) { CloudAppEvents
    | where isnull(From) or Timestamp >= From
    | where isnull(To) or Timestamp < To
    | where ActionType =~ "MailItemsAccessed"
    // RawEventData is the audit record; some pipelines deliver it as JSON text.
    | extend MafRecord = iff(gettype(RawEventData) == "string", parse_json(tostring(RawEventData)), RawEventData)
    | where isempty(tostring(MafRecord.Operation)) or tostring(MafRecord.Operation) =~ "MailItemsAccessed"
    | project RecordId = tostring(MafRecord.Id),
        CreationTime = coalesce(todatetime(MafRecord.CreationTime), Timestamp),
        Mailbox = tostring(MafRecord.MailboxOwnerUPN),
        UserId = tostring(MafRecord.UserId),
        AddressText = coalesce(tostring(MafRecord.ClientIPAddress), tostring(MafRecord.ClientIP), IPAddress),
        ClientInfoString = tostring(MafRecord.ClientInfoString),
        SessionId = tostring(MafRecord.SessionId),
        AadSessionId = tostring(MafRecord.AppAccessContext.AADSessionId),
        UniqueTokenId = tostring(MafRecord.AppAccessContext.UniqueTokenId),
        AppId = tostring(MafRecord.AppId),
        ClientAppId = tostring(MafRecord.ClientAppId),
        OperationCount = tolong(MafRecord.OperationCount),
        Properties = MafRecord.OperationProperties,
        FolderList = MafRecord.Folders,
        ItemParentPath = tostring(coalesce(MafRecord.Item.ParentFolder.Path, MafRecord.Item.ParentFolder.Name)),
        ItemMessageId = tostring(MafRecord.Item.InternetMessageId),
        ItemSizeValue = MafRecord.Item.SizeInBytes };
"#;

/// Both tables from here on: duplicates removed, keys and addresses normalised, then
/// OperationProperties by name and every folder and item.
const BASE: &str = r#"// Records with their keys in the module's form (the raw time bounds as MafRaw).
let MafNormalised = (From:datetime, To:datetime) { MafRaw(From, To)
    | extend MailboxKey = tolower(Mailbox), UserKey = tolower(UserId), SessionKey = tolower(trim(@"\s+", SessionId)),
        AadSessionKey = tolower(trim(@"\s+", AadSessionId)), DedupId = iff(isempty(RecordId), tostring(new_guid()), RecordId)
    // Addresses: [v6]:port, v4:port and zones stripped; parse_ipv6() gives both families one key.
    | extend AddressTrim = trim(@"\s+", AddressText)
    | extend AddressPort = toint(coalesce(extract(@"^\[[^\]]*\]:(\d{1,5})$", 1, AddressTrim), extract(@"^\d{1,3}(?:\.\d{1,3}){3}:(\d{1,5})$", 1, AddressTrim)))
    | extend AddressHost = case(
        isnotnull(AddressPort) and AddressPort > 65535, "",
        AddressTrim startswith "[", extract(@"^\[([^\]]*)\](?::\d{1,5})?$", 1, AddressTrim),
        isnotnull(AddressPort), extract(@"^([^:]*):", 1, AddressTrim),
        AddressTrim)
    | extend AddressHost = replace_regex(AddressHost, @"%.*$", "")
    | extend AddressV4 = iff(AddressHost matches regex @"^(?i:::ffff:)?\d{1,3}(?:\.\d{1,3}){3}$", replace_regex(AddressHost, @"^(?i:::ffff:)", ""), "")
    | extend AddressIp = parse_ipv6(iff(isnotempty(AddressV4), AddressV4, AddressHost))
    | extend AddressV4 = iff(isnotempty(AddressIp), AddressV4, "")
    | extend AddressKey = iff(isnotempty(AddressIp), AddressIp, tolower(AddressTrim)),
        ClientIPAddress = case(isnotempty(AddressV4), AddressV4, isnotempty(AddressIp), MafIpv6Text(AddressIp), AddressTrim)
    // Placeholders are not a client's address (applications often report FE80::): unspecified,
    // loopback, link-local, broadcast and multicast addresses (also IPv4 ones mapped into IPv6 in
    // hex), and text that is not an address, never link records.
    | extend AddressLinkable = isnotempty(AddressIp) and not(iff(isnotempty(AddressV4),
        ipv4_is_in_any_range(AddressV4, "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32"),
        ipv6_is_in_any_range(AddressIp, "::/128", "::1/128", "fe80::/10", "ff00::/8",
            "::ffff:0:0/104", "::ffff:7f00:0/104", "::ffff:a9fe:0/112", "::ffff:e000:0/100", "::ffff:ffff:ffff/128"))) };
// One row per record: a record with the same id, time and mailbox as another is a duplicate
// (CloudAppEvents repeats some); records without an id are never duplicates. The scan reaches 2
// days before StartDate (throttling there can open a window into the period).
let MafBase = MafNormalised(StartDate - 2d, EndDate + 1d)
    | summarize take_any(*) by DedupId, CreationTime, MailboxKey;
"#;

/// The pipeline that reads a record's properties, folders and items (appended to a table of
/// `MafBase` rows).
const EXPAND: &str = r#"// OperationProperties by name (never by position: IsThrottled can be absent), also when an
// earlier tool turned its entries into text (@{Name=...; Value=...}, Name:Value); every folder
// and every item, also when Folders is JSON text.
    | extend Properties = iff(gettype(Properties) == "string", parse_json(tostring(Properties)), Properties)
    | extend PropertyList = iff(gettype(Properties) == "array" and array_length(Properties) > 0, Properties, dynamic([null]))
    | mv-apply Property = PropertyList on (
        extend PropertyText = iff(gettype(Property) == "string", tostring(Property), "")
        | extend PropertyName = trim(@"\s+", iff(isnotempty(PropertyText), coalesce(extract(@"\bName=([^;}]*)", 1, PropertyText), extract(@"^([^:=]*):", 1, PropertyText)), tostring(Property.Name))),
            PropertyValue = trim(@"\s+", iff(isnotempty(PropertyText), coalesce(extract(@"\bValue=([^;}]*)", 1, PropertyText), extract(@"^[^:=]*:(.*)$", 1, PropertyText)), tostring(Property.Value)))
        | summarize MailAccessTypeText = take_anyif(PropertyValue, PropertyName =~ "MailAccessType"),
            IsThrottledText = take_anyif(PropertyValue, PropertyName =~ "IsThrottled"))
    | extend AccessType = case(MailAccessTypeText =~ "Bind", "Bind", MailAccessTypeText =~ "Sync", "Sync", "Unknown"),
        // Absent is unknown, not False.
        IsThrottled = case(IsThrottledText =~ "True" or IsThrottledText == "1", true, IsThrottledText =~ "False" or IsThrottledText == "0", false, bool(null))
    | extend FolderList = iff(gettype(FolderList) == "string", parse_json(tostring(FolderList)), FolderList)
    | extend FolderArray = iff(gettype(FolderList) == "array" and array_length(FolderList) > 0, FolderList, dynamic([null]))
    | mv-apply with_itemindex = FolderIndex Folder = FolderArray on (
        extend FolderText = iff(gettype(Folder) == "string", tostring(Folder), "")
        | extend FolderPath = MafFolderPath(iff(isnotempty(FolderText), extract(@"\bPath=([^;}]*)", 1, FolderText), tostring(Folder.Path))),
            FolderItems = iff(isnotempty(FolderText), dynamic(null), Folder.FolderItems)
        | extend FolderItems = iff(gettype(FolderItems) == "string" and trim(@"\s+", tostring(FolderItems)) startswith "[", parse_json(tostring(FolderItems)), FolderItems)
        | order by FolderIndex asc
        | summarize NamedFolders = make_list_if(FolderPath, isnotempty(FolderPath)),
            UnnamedFolders = countif(isnotnull(Folder) and isempty(FolderPath)),
            FolderCount = countif(isnotnull(Folder)),
            ItemFolders = make_list_if(bag_pack("Path", FolderPath, "Items", FolderItems), gettype(FolderItems) == "array"),
            // Items an earlier tool turned into text (FolderItems=System.Object[]) are lost.
            LostItemLists = countif(isnotempty(FolderText) or gettype(FolderItems) == "string"))
    | extend ItemParentPath = MafFolderPath(ItemParentPath)
    // The folders a record names; a record that names none has one unnamed folder ("").
    | extend SyncFolders = set_union(NamedFolders,
        iff(isnotempty(ItemParentPath), pack_array(ItemParentPath), dynamic([])),
        iff(UnnamedFolders > 0 or (FolderCount == 0 and isempty(ItemParentPath)), pack_array(""), dynamic([])))
    | extend FirstFolderPath = iff(array_length(NamedFolders) > 0, tostring(NamedFolders[0]), ItemParentPath)
    // The ExchangeItem form names one message in Item.
    | extend ItemFolders = iff(isnotempty(ItemMessageId),
        array_concat(ItemFolders, pack_array(bag_pack("Path", ItemParentPath, "Items", pack_array(bag_pack("InternetMessageId", ItemMessageId, "SizeInBytes", ItemSizeValue))))),
        ItemFolders)
    | extend IsDegraded = LostItemLists > 0"#;

/// The pipeline that turns records into one row per message read (appended to records).
const ITEMS: &str = r#"// Every message of every non-Sync record, once per record.
    | where AccessType != "Sync"
    | extend ItemFolders = iff(array_length(ItemFolders) > 0, ItemFolders, dynamic([null]))
    | mv-expand ItemFolder = ItemFolders
    | extend FolderItems = iff(array_length(ItemFolder.Items) > 0, ItemFolder.Items, dynamic([null]))
    | mv-expand FolderItem = FolderItems
    | extend ItemText = iff(gettype(FolderItem) == "string", tostring(FolderItem), "")
    | extend InternetMessageId = MafMessageId(iff(isnotempty(ItemText), extract(@"\bInternetMessageId=([^;}]*)", 1, ItemText), tostring(FolderItem.InternetMessageId))),
        ItemSize = todouble(iff(isnotempty(ItemText), extract(@"\bSizeInBytes=([^;}]*)", 1, ItemText), tostring(FolderItem.SizeInBytes))),
        FolderPath = tostring(ItemFolder.Path)
    | where isnotempty(InternetMessageId)
    | extend SizeInBytes = iff(ItemSize >= 0 and ItemSize == floor(ItemSize, 1), tolong(ItemSize), long(null))
    | summarize arg_max(FolderPath, *) by DedupId, CreationTime, MailboxKey, InternetMessageId"#;

/// The records the steps analyse: inside the dates, of the mailboxes and accounts asked for.
const SELECTED: &str = r#"let MafSelected = MafRecords
    | where (isnull(StartDate) or CreationTime >= StartDate) and (isnull(EndDate) or CreationTime < EndDate)
    | where (isempty(MailboxRegex) or Mailbox matches regex MailboxRegex) and (isempty(UserIdRegex) or UserId matches regex UserIdRegex);
"#;

/// Merged unaudited windows of `source`'s throttled records: a window is 24 hours from a
/// throttled record; windows of one mailbox that overlap or touch merge (sorted by start, every
/// window as long as the others, so the previous record's end is the running end).
fn windows(source: &str) -> String {
    format!(
        r#"let MafWindows = {source}
    | where IsThrottled == true
    | sort by MailboxKey asc, CreationTime asc
    | extend NewWindow = iff(prev(MailboxKey) != MailboxKey or CreationTime > prev(CreationTime) + 24h, 1, 0)
    | extend WindowId = row_cumsum(NewWindow)
    | summarize Mailbox = min(Mailbox), Start = min(CreationTime), End = max(CreationTime) + 24h, ThrottledRecordCount = count(),
        Keys = make_set(MafSortKey(CreationTime, RecordId)),
        Addresses = make_set_if(ClientIPAddress, isnotempty(ClientIPAddress)), Sessions = make_set_if(SessionId, isnotempty(SessionId)),
        AadSessions = make_set_if(AadSessionId, isnotempty(AadSessionId)), Clients = make_set_if(ClientInfoString, isnotempty(ClientInfoString)),
        Users = make_set_if(UserId, isnotempty(UserId)), Apps = make_set_if(AppId, isnotempty(AppId)), ClientApps = make_set_if(ClientAppId, isnotempty(ClientAppId))
        by MailboxKey, WindowId;
"#
    )
}

fn throttling(q: &mut String) {
    q.push_str(SELECTED);
    q.push_str(&windows("MafSelected"));
    q.push_str(
        r#"// A mailbox whose records do not say whether they were throttled is not a mailbox that was not throttled.
let MafUnknown = MafSelected
    | summarize Mailbox = min(Mailbox), Records = count(), Unknown = countif(isnull(IsThrottled)),
        Start = minif(CreationTime, isnull(IsThrottled)), End = maxif(CreationTime, isnull(IsThrottled)) by MailboxKey
    | where Unknown > 0;
union
    (MafWindows | project Kind = "UnauditedWindow", Mailbox, Start, End, ThrottledRecordCount, RecordIds = MafIdsInOrder(Keys),
        Note = strcat("IsThrottled was True in ", ThrottledRecordCount, " record(s): access to this mailbox was not audited from ", MafIsoTime(Start), " to ", MafIsoTime(End), "; assume all its mail was read in that window."),
        MailboxKey, KindOrder = 1),
    (MafUnknown | project Kind = "ThrottlingUnknown", Mailbox, Start, End, ThrottledRecordCount = 0, RecordIds = dynamic([]),
        Note = strcat(Unknown, " of the mailbox's ", Records, " record(s) do not say whether they were throttled (IsThrottled is absent): throttling in their time is unknown, not absent."),
        MailboxKey, KindOrder = 2)
| sort by MailboxKey asc, KindOrder asc, Start asc
| project Kind, Mailbox, Start, End, ThrottledRecordCount, RecordIds, Note
"#,
    );
}

fn sync(q: &mut String) {
    q.push_str(SELECTED);
    q.push_str(
        r#"// A Sync record that names several folders counts once in each.
MafSelected
| where AccessType == "Sync"
| mv-expand FolderPath = SyncFolders to typeof(string)
| summarize Mailbox = min(Mailbox), Start = min(CreationTime), End = max(CreationTime), SyncCount = count(),
    Keys = make_set(MafSortKey(CreationTime, RecordId)), ClientIPAddress = min(ClientIPAddress), SessionId = min(SessionId), UserId = min(UserId)
    by MailboxKey, FolderPath, AddressKey, ClientInfoString, SessionKey, UserKey
| sort by MailboxKey asc, Start asc, FolderPath asc, ClientIPAddress asc, ClientInfoString asc, SessionKey asc, UserKey asc
| project Mailbox, FolderPath, Start, End, SyncCount, ClientIPAddress, ClientInfoString, SessionId, UserId, RecordIds = MafIdsInOrder(Keys)
"#,
    );
}

fn selected_items(q: &mut String) {
    let _ = writeln!(q, "let MafSelectedItems = MafSelected\n{ITEMS};");
}

fn context(q: &mut String) {
    q.push_str(SELECTED);
    selected_items(q);
    q.push_str(
        r#"// Distinct (mailbox, message) pairs a context read, each at the largest size its records give.
let MafContextMessages = MafSelectedItems
    | summarize Size = max(SizeInBytes) by AddressKey, ClientInfoString, SessionKey, UserKey, MailboxKey, InternetMessageId
    | summarize MessageCount = count(), Bytes = sum(Size) by AddressKey, ClientInfoString, SessionKey, UserKey;
let MafContextMailboxes = MafSelected
    | where isnotempty(MailboxKey)
    | summarize Mailbox = min(Mailbox) by AddressKey, ClientInfoString, SessionKey, UserKey, MailboxKey
    | summarize Mailboxes = make_set(Mailbox) by AddressKey, ClientInfoString, SessionKey, UserKey;
MafSelected
// -AttackerIPAddress and -AttackerSessionId keep only the contexts that match (as Get-MailAccessContext -ClientIPAddress and -SessionId).
| where (array_length(MafV4Ranges) + array_length(MafV6Ranges) == 0) or MafMatchesAddress(AddressV4, AddressIp)
| where array_length(MafSessions) == 0 or set_has_element(MafSessions, SessionKey)
| summarize ClientIPAddress = min(ClientIPAddress), SessionId = min(SessionId), UserId = min(UserId),
    AppId = make_set_if(AppId, isnotempty(AppId)), ClientAppId = make_set_if(ClientAppId, isnotempty(ClientAppId)),
    AadSessionId = make_set_if(AadSessionId, isnotempty(AadSessionId)), UniqueTokenId = make_set_if(UniqueTokenId, isnotempty(UniqueTokenId)),
    Start = min(CreationTime), End = max(CreationTime), RecordCount = count(), BindCount = countif(AccessType == "Bind"), SyncCount = countif(AccessType == "Sync")
    by AddressKey, ClientInfoString, SessionKey, UserKey
| join kind=leftouter MafContextMailboxes on AddressKey, ClientInfoString, SessionKey, UserKey
| join kind=leftouter MafContextMessages on AddressKey, ClientInfoString, SessionKey, UserKey
| sort by Start asc, ClientIPAddress asc, ClientInfoString asc, SessionKey asc, UserKey asc
| project ClientIPAddress, ClientInfoString, SessionId, UserId, AppId = array_sort_asc(AppId), ClientAppId = array_sort_asc(ClientAppId),
    AadSessionId = array_sort_asc(AadSessionId), UniqueTokenId = array_sort_asc(UniqueTokenId),
    Mailboxes = array_sort_asc(iff(isnull(Mailboxes), dynamic([]), Mailboxes)), Start, End, RecordCount, BindCount, SyncCount,
    MessageCount = coalesce(MessageCount, 0), Bytes = coalesce(Bytes, 0)
"#,
    );
}

fn bind(q: &mut String) {
    q.push_str(SELECTED);
    selected_items(q);
    q.push_str(
        r#"// The folder is the one of the latest access (the greater folder text breaks a tie); AccessCount is a
// lower bound: Microsoft drops identical repeated accesses within an hour.
MafSelectedItems
| summarize Mailbox = min(Mailbox), Latest = max(strcat(MafSortKey(CreationTime, ""), FolderPath)), SizeInBytes = max(SizeInBytes),
    Start = min(CreationTime), End = max(CreationTime), AccessCount = count(),
    Contexts = make_set(tostring(bag_pack("ClientIPAddress", ClientIPAddress, "ClientInfoString", ClientInfoString, "SessionId", SessionId, "UserId", UserId)))
    by MailboxKey, InternetMessageId
| sort by MailboxKey asc, Start asc, InternetMessageId asc
| project Mailbox, InternetMessageId, FolderPath = substring(Latest, 28), SizeInBytes, Start, End, AccessCount,
    Contexts = todynamic(strcat("[", strcat_array(array_sort_asc(Contexts), ","), "]"))
"#,
    );
}

/// The condition "the record carries an identifier of `links`" (a set of "A|...", "S|...", "E|...").
fn linked_by(links: &str) -> String {
    format!("array_length(set_intersect(Idents, {links})) > 0")
}

/// The identifiers a table of records carries, as one set.
const IDENT_SET: &str = "mv-expand Ident = Idents to typeof(string) | summarize make_set(Ident)";

/// What decides attribution, per record of the period: the indicator it matches, the
/// identifiers it carries.
const ATTRIBUTION: &str = r#"let MafAadSessions = MafLowerSet(AttackerAadSessionId);
let MafAppIds = MafLowerSet(AttackerAppId);
let MafNoIndicator = array_length(AttackerIPAddress) + array_length(AttackerSessionId) + array_length(AttackerAadSessionId) + array_length(AttackerAppId) == 0 and isempty(AttackerClientInfoStringRegex);
// The indicator a record matches, checked in the module's order: A address, S session, C client,
// P application (AppId), Q application (ClientAppId), E Entra session; "" for none.
let MafSeedKind = (v4:string, ip:string, session:string, client:string, app:string, clientApp:string, aad:string) {
    case(MafMatchesAddress(v4, ip), "A",
        isnotempty(session) and set_has_element(MafSessions, session), "S",
        isnotempty(AttackerClientInfoStringRegex) and client matches regex AttackerClientInfoStringRegex, "C",
        isnotempty(app) and set_has_element(MafAppIds, tolower(app)), "P",
        isnotempty(clientApp) and set_has_element(MafAppIds, tolower(clientApp)), "Q",
        isnotempty(aad) and set_has_element(MafAadSessions, aad), "E",
        "")
};
// The identifiers a record carries that can link ("A|address", "S|session", "E|Entra session"):
// never an address that is not a client's, nor a session or Entra session that is the all-zero GUID.
let MafNilGuid = "00000000-0000-0000-0000-000000000000";
let MafIdents = (linkable:bool, address:string, session:string, aad:string) {
    array_concat(iff(linkable, pack_array(strcat("A|", address)), dynamic([])),
        iff(isnotempty(session) and session != MafNilGuid, pack_array(strcat("S|", session)), dynamic([])),
        iff(isnotempty(aad) and aad != MafNilGuid, pack_array(strcat("E|", aad)), dynamic([])))
};
// Attribution takes every record of the period, of every mailbox and account (MailboxRegex and
// UserIdRegex choose findings, not the records that link the attacker). A record is the
// attacker's when it matches an indicator (Seed), whatever its address.
let MafPeriod = MafBase
    | where (isnull(StartDate) or CreationTime >= StartDate) and (isnull(EndDate) or CreationTime < EndDate)
    | extend SeedKind = MafSeedKind(AddressV4, AddressIp, SessionKey, ClientInfoString, AppId, ClientAppId, AadSessionKey)
    | extend SeedWhy = case(
        SeedKind == "A", strcat("its address ", ClientIPAddress, " matches -AttackerIPAddress"),
        SeedKind == "S", strcat("its session is -AttackerSessionId ", SessionId),
        SeedKind == "C", "its client matches -AttackerClientInfoString",
        SeedKind == "P", strcat("its application is -AttackerAppId ", AppId),
        SeedKind == "Q", strcat("its application is -AttackerAppId ", ClientAppId),
        SeedKind == "E", strcat("its Entra session is -AttackerAadSessionId ", AadSessionId),
        "")
    | extend Seed = isnotempty(SeedKind), Idents = MafIdents(AddressLinkable, AddressKey, SessionKey, AadSessionKey);
// The given identifiers: the address, session or Entra session by which a record matches its indicator.
let MafGiven = toscalar(MafPeriod
    | where SeedKind in ("A", "S", "E")
    | summarize make_set(strcat(SeedKind, "|", case(SeedKind == "A", AddressKey, SeedKind == "S", SessionKey, AadSessionKey))));
// Why a record carrying an identifier of links is the attacker's: its address, else its session, else its Entra session.
let MafLinkWhy = (links:dynamic, address:string, session:string, aad:string, addressText:string, sessionText:string, aadText:string) {
    case(set_has_element(links, strcat("A|", address)), strcat("its address ", addressText, " is the attacker's"),
        set_has_element(links, strcat("S|", session)), strcat("its session ", sessionText, " is the attacker's"),
        strcat("its Entra session ", aadText, " is the attacker's"))
};
"#;

/// The shared-identifier guard's baseline (docs/semantics.md, "Shared identifiers").
const BASELINE: &str = r#"// The baseline: who used which identifier before the attacker's known activity. It ends at
// StartDate when given (then it is every record before StartDate the table holds, as the module
// reads every record it is given), else at the first record of the period that matches an
// indicator (then it is the contexts of the period whose first record is before that). A context
// that matches an indicator is not in it. One row per context (address, client, session, account,
// applications, Entra session) with its first record there; InPeriod: it has records in the period.
let MafBaselineEnd = iff(isnotnull(StartDate), StartDate, toscalar(MafPeriod | where Seed | summarize min(CreationTime)));
let MafBaselineText = iff(isnotnull(StartDate), strcat("before -StartDate (", MafIsoTime(StartDate), ")"),
    strcat("before the first record that matches an indicator (", MafIsoTime(MafBaselineEnd), ")"));
let MafBefore = MafNormalised(datetime(null), iff(isnull(StartDate), datetime(1601-01-01), StartDate + 1d))
    | where isnotnull(StartDate) and CreationTime < StartDate
    | extend SeedKind = MafSeedKind(AddressV4, AddressIp, SessionKey, ClientInfoString, AppId, ClientAppId, AadSessionKey),
        Idents = MafIdents(AddressLinkable, AddressKey, SessionKey, AadSessionKey);
let MafBaseline = materialize(union MafBefore, (MafPeriod | where isnull(StartDate) and CreationTime < MafBaselineEnd)
    | where isempty(SeedKind) and array_length(Idents) > 0
    | extend First = MafSortKey(CreationTime, RecordId)
    | summarize arg_min(First, RecordId, CreationTime, UserId, Idents) by AddressKey, ClientInfoString, SessionKey, UserKey, AppId, ClientAppId, AadSessionKey
    | lookup kind=leftouter (MafPeriod | distinct AddressKey, ClientInfoString, SessionKey, UserKey, AppId, ClientAppId, AadSessionKey | extend InPeriod = true)
        on AddressKey, ClientInfoString, SessionKey, UserKey, AppId, ClientAppId, AadSessionKey
    | extend InPeriod = coalesce(InPeriod, false));
// Expansion in rounds, unrolled (KQL has no loop). MafLinks{k}: the attacker's identifiers after round
// k (MafLinks0: the given ones). Round k: the records that match an indicator or carry an identifier
// of MafLinks{k-1} are the attacker's (step 1); the identifiers they carry that no attacker record
// of round k-1 carried and that are not given are considered (MafNew{k}); one that a baseline
// context used which is not, at this point, the attacker's is shared (MafShared{k}): not followed
// and not considered again, unless ExpandSharedIndicator; the others are the attacker's (step 2).
let MafReach0 = dynamic([]);
"#;

fn verdict(q: &mut String, rounds: u32) {
    q.push_str(ATTRIBUTION);
    let _ = writeln!(q, "let MafLinks0 = MafGiven;");
    if rounds > 0 {
        q.push_str(BASELINE);
        for k in 1..=rounds {
            let previous = format!("MafLinks{}", k - 1);
            let _ = writeln!(q, "let MafReach{k} = toscalar(MafPeriod | where Seed or {} | {IDENT_SET});", linked_by(&previous));
            let _ = writeln!(q, "let MafNew{k} = set_difference(MafReach{k}, MafReach{}, MafGiven);", k - 1);
            let _ = writeln!(
                q,
                "let MafShared{k} = toscalar(MafBaseline | where not(InPeriod and {}) | mv-expand Ident = Idents to typeof(string) | where set_has_element(MafNew{k}, Ident) | summarize make_set(Ident));",
                linked_by(&previous)
            );
            let _ = writeln!(
                q,
                "let MafLinks{k} = set_union({previous}, iff(ExpandSharedIndicator, MafNew{k}, set_difference(MafNew{k}, MafShared{k})));"
            );
        }
    }
    // The round each record became the attacker's (0: it matches an indicator; k: it carries an
    // identifier of MafLinks{k-1}; -1: never), and why. The records of round rounds+1 carry what
    // the last round linked; their own identifiers were not considered.
    let mut round = String::from("case(Seed, 0");
    let mut why = String::from("case(Round == 0, SeedWhy");
    for k in (1..=rounds + 1).filter(|_| rounds > 0) {
        let previous = format!("MafLinks{}", k - 1);
        let _ = write!(round, ", {}, {k}", linked_by(&previous));
        let _ = write!(
            why,
            ", Round == {k}, MafLinkWhy({previous}, AddressKey, SessionKey, AadSessionKey, ClientIPAddress, SessionId, AadSessionId)"
        );
    }
    round.push_str(", -1)");
    why.push_str(", \"\")");
    if rounds == 0 {
        q.push_str("// -ExpansionRounds 0: only records that match an indicator are the attacker's; the given ones are its links.\n");
        q.push_str("let MafFinalLinks = MafGiven;\nlet MafFollowed = MafGiven;\nlet MafConvergedAt = 0;\nlet MafConverged = bool(null);\n");
        q.push_str(
            "let MafExpansionText = \"Expansion is off (-ExpansionRounds 0): only records that match an indicator are the attacker's.\";\n",
        );
    } else {
        let _ = writeln!(q, "let MafFinalLinks = MafLinks{rounds};\nlet MafFollowed = MafLinks{};", rounds - 1);
        let mut converged = String::from("let MafConvergedAt = case(");
        for k in 1..=rounds {
            let _ = write!(converged, "array_length(MafLinks{k}) == array_length(MafLinks{}), {k}, ", k - 1);
        }
        converged.push_str("0);\n");
        q.push_str(&converged);
        q.push_str("let MafConverged = MafConvergedAt > 0;\n");
        let _ = writeln!(
            q,
            "let MafExpansionText = iff(MafConverged, strcat(\"The expansion converged after \", MafConvergedAt, \" of {rounds} round(s): every address and session linked to the attacker was considered.\"), strcat(\"The expansion did not converge in {rounds} round(s): the records of the \", array_length(MafLinks{rounds}) - array_length(MafLinks{}), \" address(es) or session(s) linked in the last round are counted, but their other addresses and sessions were not considered. Findings may be incomplete: run again with more -ExpansionRounds.\"));",
            rounds - 1
        );
    }
    let _ = writeln!(
        q,
        "let MafAttackerBase = materialize(MafPeriod\n    | extend Round = {round}\n    | where Round >= 0\n    | extend Why = {why});"
    );
    let _ = writeln!(q, "let MafAttacker = MafAttackerBase\n{EXPAND};");
    let _ = writeln!(q, "let MafAttackerItems = materialize(MafAttacker\n{ITEMS});");
    if rounds > 0 {
        shared(q, rounds);
    } else {
        q.push_str(
            r#"// Without expansion nothing is shared.
let MafSharedKeys = datatable(Key:string, SharedRound:int)[];
let MafSharedUsers = datatable(Key:string, Users:long, UsersText:string)[];
let MafSharedRows = print Kind = "SharedIndicator" | where false;
let MafBaselineText = "";
let MafSharedWarning = print Reason = "" | where false;
let MafPlaceholderWarning = print Reason = "" | where false;
"#,
        );
    }
    q.push_str(
        r#"let MafList = (values:dynamic) { iff(array_length(values) == 0, "an unknown address", strcat_array(array_sort_asc(values), ", ")) };
"#,
    );
    q.push_str(&windows("MafRecords"));
    q.push_str(
        r#"let MafWindowRows = MafWindows
    | where (isnull(EndDate) or Start < EndDate) and (isnull(StartDate) or End > StartDate)
    | project Kind = "ThrottledWindow", Mailbox, Start, End, AccessCount = ThrottledRecordCount, ClientIPAddress = Addresses, SessionId = Sessions,
        AadSessionId = AadSessions, ClientInfoString = Clients, UserId = Users, AppId = Apps, ClientAppId = ClientApps, EvidenceRecordIds = MafIdsInOrder(Keys),
        Reason = strcat("IsThrottled was True in ", ThrottledRecordCount, " record(s): access to this mailbox was not audited from ", MafIsoTime(Start), " to ", MafIsoTime(End), "; assume all its mail was read in that window."),
        MailboxKey, KindOrder = 1, Subject = "";
let MafSyncRows = MafAttacker
    | where AccessType == "Sync"
    | mv-expand FolderPath = SyncFolders to typeof(string)
    | summarize Mailbox = min(Mailbox), Start = min(CreationTime), End = max(CreationTime), AccessCount = count(), Keys = make_set(MafSortKey(CreationTime, RecordId)),
        Addresses = make_set_if(ClientIPAddress, isnotempty(ClientIPAddress)), Sessions = make_set_if(SessionId, isnotempty(SessionId)),
        AadSessions = make_set_if(AadSessionId, isnotempty(AadSessionId)), Clients = make_set_if(ClientInfoString, isnotempty(ClientInfoString)),
        Users = make_set_if(UserId, isnotempty(UserId)), Apps = make_set_if(AppId, isnotempty(AppId)), ClientApps = make_set_if(ClientAppId, isnotempty(ClientAppId))
        by MailboxKey, FolderPath
    | project Kind = "SyncedFolder", Mailbox, FolderPath, Start, End, AccessCount, ClientIPAddress = Addresses, SessionId = Sessions, AadSessionId = AadSessions,
        ClientInfoString = Clients, UserId = Users, AppId = Apps, ClientAppId = ClientApps, EvidenceRecordIds = MafIdsInOrder(Keys),
        Reason = strcat("Folder ", iff(isempty(FolderPath), "(unnamed)", FolderPath), " was synced ", AccessCount, " time(s) in the attacker's context (from ", MafList(Addresses), "): a synced folder can be read offline, unaudited; assume every message in it was read."),
        MailboxKey, KindOrder = 2, Subject = FolderPath;
let MafMessageRows = MafAttackerItems
    | summarize Mailbox = min(Mailbox), Latest = max(strcat(MafSortKey(CreationTime, ""), FolderPath)), SizeInBytes = max(SizeInBytes),
        Start = min(CreationTime), End = max(CreationTime), AccessCount = count(), Keys = make_set(MafSortKey(CreationTime, RecordId)),
        Addresses = make_set_if(ClientIPAddress, isnotempty(ClientIPAddress)), Sessions = make_set_if(SessionId, isnotempty(SessionId)),
        AadSessions = make_set_if(AadSessionId, isnotempty(AadSessionId)), Clients = make_set_if(ClientInfoString, isnotempty(ClientInfoString)),
        Users = make_set_if(UserId, isnotempty(UserId)), Apps = make_set_if(AppId, isnotempty(AppId)), ClientApps = make_set_if(ClientAppId, isnotempty(ClientAppId))
        by MailboxKey, InternetMessageId
    | project Kind = "AccessedMessage", Mailbox, FolderPath = substring(Latest, 28), InternetMessageId, SizeInBytes, Start, End, AccessCount,
        ClientIPAddress = Addresses, SessionId = Sessions, AadSessionId = AadSessions, ClientInfoString = Clients, UserId = Users, AppId = Apps, ClientAppId = ClientApps,
        EvidenceRecordIds = MafIdsInOrder(Keys),
        Reason = strcat("Message ", InternetMessageId, " was read in ", AccessCount, " record(s) in the attacker's context (from ", MafList(Addresses), "), first at ", MafIsoTime(Start), "."),
        MailboxKey, KindOrder = 3, Subject = InternetMessageId;
// Attacker reads whose message ids cannot be recovered: a record without ids, or one whose ids an earlier tool lost.
let MafUnresolvedRows = MafAttacker
    | where AccessType != "Sync"
    | join kind=leftouter (MafAttackerItems | summarize Recovered = count() by DedupId, CreationTime, MailboxKey) on DedupId, CreationTime, MailboxKey
    | extend Recovered = coalesce(Recovered, 0)
    | where Recovered == 0 or IsDegraded
    | project Kind = "UnresolvedAccess", Mailbox, FolderPath = FirstFolderPath, Start = CreationTime, End = CreationTime, AccessCount = OperationCount,
        ClientIPAddress = iff(isempty(ClientIPAddress), dynamic([]), pack_array(ClientIPAddress)), SessionId = iff(isempty(SessionId), dynamic([]), pack_array(SessionId)),
        AadSessionId = iff(isempty(AadSessionId), dynamic([]), pack_array(AadSessionId)), ClientInfoString = iff(isempty(ClientInfoString), dynamic([]), pack_array(ClientInfoString)),
        UserId = iff(isempty(UserId), dynamic([]), pack_array(UserId)), AppId = iff(isempty(AppId), dynamic([]), pack_array(AppId)),
        ClientAppId = iff(isempty(ClientAppId), dynamic([]), pack_array(ClientAppId)), EvidenceRecordIds = pack_array(RecordId),
        Reason = strcat("Record ", RecordId, " read ", iff(isnull(OperationCount), "an unknown number of", tostring(OperationCount)), " item(s) in ", iff(isempty(FirstFolderPath), "an unnamed folder", FirstFolderPath),
            " in the attacker's context, but ", iff(IsDegraded, strcat("an earlier tool lost its message ids; ", Recovered, " were recovered"), "the record lists no message ids"),
            ": find the messages from the folder and time."),
        MailboxKey, KindOrder = 4, Subject = FirstFolderPath;
// The attacker's addresses and sessions, given or linked: the linking record is the earliest of
// those of the round that first carried it.
let MafCapitalised = (text:string) { strcat(toupper(substring(text, 0, 1)), substring(text, 1)) };
let MafIndicatorRows = MafAttackerBase
    | extend LinkValues = pack_array(strcat("A|", AddressKey), strcat("S|", SessionKey), strcat("E|", AadSessionKey))
    | mv-expand LinkValue = LinkValues to typeof(string)
    | where strlen(LinkValue) > 2 and set_has_element(MafFinalLinks, LinkValue)
    | extend Part = substring(LinkValue, 0, 1), Display = case(LinkValue startswith "A|", ClientIPAddress, LinkValue startswith "S|", SessionId, AadSessionId),
        LinkOrder = strcat(tostring(max_of(Round, 1) + 100), "|", MafSortKey(CreationTime, RecordId))
    | summarize arg_min(LinkOrder, RecordId, CreationTime, Why, UserId, AppId, ClientAppId), Display = min(Display), Start = min(CreationTime), End = max(CreationTime), AccessCount = count() by LinkValue, Part
    | extend Given = set_has_element(MafGiven, LinkValue), Followed = set_has_element(MafFollowed, LinkValue)
    | lookup kind=leftouter (MafSharedUsers | project LinkValue = Key, Users, UsersText) on LinkValue
    | extend What = strcat(case(Part == "A", "Address ", Part == "S", "Session ", "Entra session "), Display)
    | extend Reason = iff(Given,
        strcat(What, " was given as an attacker indicator (", case(Part == "A", "-AttackerIPAddress", Part == "S", "-AttackerSessionId", "-AttackerAadSessionId"), ")."),
        strcat(What, " is linked to the attacker by record ", RecordId, " at ", MafIsoTime(CreationTime), ": ", Why, "."))
    | extend Reason = iff(Given or isnull(Users), Reason, strcat(Reason, " ", MafCapitalised(MafBaselineText), ", ", Users, " other context(s) used it too: ", UsersText,
        ". It may be shared; it was followed because -ExpandSharedIndicator was given."))
    | extend Reason = iff(Followed, Reason, strcat(Reason, " Its records are counted, but their other addresses and sessions were not considered: the expansion stopped first (raise -ExpansionRounds)."))
    | project Kind = "AttackerIndicator", Start, End, AccessCount,
        ClientIPAddress = iff(Part == "A", pack_array(Display), dynamic([])), SessionId = iff(Part == "S", pack_array(Display), dynamic([])),
        AadSessionId = iff(Part == "E", pack_array(Display), dynamic([])),
        // The acting account and applications of the linking record (none for a given indicator).
        UserId = iff(Given or isempty(UserId), dynamic([]), pack_array(UserId)), AppId = iff(Given or isempty(AppId), dynamic([]), pack_array(AppId)),
        ClientAppId = iff(Given or isempty(ClientAppId), dynamic([]), pack_array(ClientAppId)), EvidenceRecordIds = iff(Given, dynamic([]), pack_array(RecordId)),
        Reason, MailboxKey = "", KindOrder = 5, Subject = Display;
// Indicators that matched nothing in the period: a typo, or the wrong period.
let MafSeen = MafPeriod | distinct AddressV4, AddressIp | extend Join = 1;
let MafWarningRows = union
    (print Reason = "No attacker indicator was given (-AttackerIPAddress, -AttackerSessionId, -AttackerAadSessionId, -AttackerClientInfoString, -AttackerAppId): only throttled windows are reported; access cannot be attributed." | where MafNoIndicator),
    MafPlaceholderWarning,
    MafSharedWarning,
    (print Range = AttackerIPAddress | mv-expand Range to typeof(string) | extend Range = trim(@"\s+", Range) | where isnotempty(Range) | extend Join = 1
        | join kind=leftouter MafSeen on Join
        | summarize Matched = countif(iff(Range contains ":", isempty(AddressV4) and isnotempty(AddressIp) and ipv6_is_in_range(AddressIp, Range), isnotempty(AddressV4) and ipv4_is_in_range(AddressV4, Range))) by Range
        | where Matched == 0 | project Reason = strcat("-AttackerIPAddress ", Range, " matched no record in the period.")),
    (print Value = AttackerSessionId | mv-expand Value to typeof(string) | extend Key = tolower(trim(@"\s+", Value)) | where isnotempty(Key)
        | join kind=leftanti (MafPeriod | distinct SessionKey) on $left.Key == $right.SessionKey
        | project Reason = strcat("-AttackerSessionId ", Value, " matched no record in the period.")),
    (print Value = AttackerAadSessionId | mv-expand Value to typeof(string) | extend Key = tolower(trim(@"\s+", Value)) | where isnotempty(Key)
        | join kind=leftanti (MafPeriod | distinct AadSessionKey) on $left.Key == $right.AadSessionKey
        | project Reason = strcat("-AttackerAadSessionId ", Value, " matched no record in the period.")),
    (print Value = AttackerAppId | mv-expand Value to typeof(string) | extend Key = tolower(trim(@"\s+", Value)) | where isnotempty(Key)
        | join kind=leftanti (union (MafPeriod | project App = tolower(AppId)), (MafPeriod | project App = tolower(ClientAppId)) | distinct App) on $left.Key == $right.App
        | project Reason = strcat("-AttackerAppId ", Value, " matched no record in the period.")),
    (print Matched = toscalar(MafPeriod | where isnotempty(AttackerClientInfoStringRegex) and ClientInfoString matches regex AttackerClientInfoStringRegex | count)
        | where isnotempty(AttackerClientInfoStringRegex) and Matched == 0 | project Reason = "-AttackerClientInfoString matched no record in the period.")
    | project Kind = "Warning", Reason, MailboxKey = "", KindOrder = 0, Subject = Reason;
let MafExpansionRow = print Kind = "Expansion", Reason = MafExpansionText, MailboxKey = "", KindOrder = 0, Subject = "";
union MafExpansionRow, MafWarningRows, MafIndicatorRows, MafSharedRows, MafWindowRows, MafSyncRows, MafMessageRows, MafUnresolvedRows
// MailboxRegex and UserIdRegex choose findings; indicators (attacker and shared), warnings and the Expansion row have no
// mailbox and always show.
| where isempty(MailboxKey) or ((isempty(MailboxRegex) or Mailbox matches regex MailboxRegex) and (isempty(UserIdRegex) or strcat_array(UserId, "\n") matches regex UserIdRegex))
| extend FirstEvidence = tostring(EvidenceRecordIds[0])
| sort by MailboxKey asc, Start asc nulls first, KindOrder asc, Subject asc, FirstEvidence asc
| project Kind, Mailbox, FolderPath, InternetMessageId, SizeInBytes, Start, End, AccessCount,
    ClientIPAddress = array_sort_asc(ClientIPAddress), SessionId = array_sort_asc(SessionId), AadSessionId = array_sort_asc(AadSessionId),
    ClientInfoString = array_sort_asc(ClientInfoString), UserId = array_sort_asc(UserId), AppId = array_sort_asc(AppId), ClientAppId = array_sort_asc(ClientAppId),
    Reason, EvidenceRecordIds, ExpansionConverged = MafConverged
"#,
    );
}

/// The shared identifiers (found shared in some round), who used each before, the record that
/// would have linked it, and the rows and warning that report them.
fn shared(q: &mut String, rounds: u32) {
    let rounds_list: Vec<String> = (1..=rounds).map(|k| format!("MafShared{k}")).collect();
    let _ = writeln!(
        q,
        "// Each shared identifier and the round it was found shared in.\nlet MafSharedKeys = print Rounds = pack_array({})\n    | mv-expand with_itemindex = Index Keys = Rounds\n    | mv-expand Key = Keys to typeof(string)\n    | project Key, SharedRound = toint(Index) + 1;",
        rounds_list.join(", ")
    );
    // The round at which a baseline context became the attacker's (1000: not in the period, or never).
    let mut attacker_at = String::from("case(not(InPeriod), 1000");
    for k in 1..=rounds {
        let _ = write!(attacker_at, ", {}, {k}", linked_by(&format!("MafLinks{}", k - 1)));
    }
    attacker_at.push_str(", 1000)");
    let _ = writeln!(
        q,
        r#"// The baseline contexts that used each, not the attacker's at that point of the rounds: the first
// three (by their first record) in words, and all of them as evidence.
let MafSharedUsers = MafBaseline
    | extend AttackerAt = {attacker_at}
    | mv-expand Key = Idents to typeof(string)
    | lookup kind=inner MafSharedKeys on Key
    | where AttackerAt > SharedRound
    | extend UserText = strcat(iff(isempty(UserId), "an unknown account", UserId), iff(isempty(ClientInfoString), "", strcat(" (", ClientInfoString, ")")), " first at ", MafIsoTime(CreationTime))
    | sort by Key asc, First asc
    | extend N = row_number(1, prev(Key) != Key)
    | summarize SharedRound = take_any(SharedRound), Users = count(), User1 = take_anyif(UserText, N == 1), User2 = take_anyif(UserText, N == 2), User3 = take_anyif(UserText, N == 3),
        UserKeys = make_set(First), UserStart = min(CreationTime), UserEnd = max(CreationTime), UserClients = make_set_if(ClientInfoString, isnotempty(ClientInfoString)),
        UserAccounts = make_set_if(UserId, isnotempty(UserId)), UserApps = make_set_if(AppId, isnotempty(AppId)), UserClientApps = make_set_if(ClientAppId, isnotempty(ClientAppId))
        by Key
    | extend UsersText = strcat(strcat_array(array_concat(pack_array(User1), iff(Users > 1, pack_array(User2), dynamic([])), iff(Users > 2, pack_array(User3), dynamic([]))), ", "),
        iff(Users > 3, strcat(", and ", Users - 3, " more"), ""));"#
    );
    let _ = writeln!(
        q,
        r#"// The record that would have linked each: the earliest attacker record of its round that carries it.
let MafSharedLinkers = MafAttackerBase
    | mv-expand Key = Idents to typeof(string)
    | lookup kind=inner MafSharedKeys on Key
    | where Round <= SharedRound
    | extend LinkSort = MafSortKey(CreationTime, RecordId)
    | summarize arg_min(LinkSort, RecordId, CreationTime, Why, ClientInfoString, UserId, AppId, ClientAppId) by Key
    | project Key, LinkSort, LinkRecordId = RecordId, LinkTime = CreationTime, LinkWhy = Why, LinkClient = ClientInfoString, LinkUser = UserId,
        LinkApp = AppId, LinkClientApp = ClientAppId;
// What following each would have added: the records of the period that carry it and are not the attacker's.
let MafSharedCarriers = MafPeriod
    | mv-expand Key = Idents to typeof(string)
    | lookup kind=inner MafSharedKeys on Key
    | summarize LeftOut = countif(not(Seed) and not({final})),
        Display = min(case(Key startswith "A|", ClientIPAddress, Key startswith "S|", SessionId, AadSessionId)) by Key;
let MafSharedRows = MafSharedUsers
    | where not(ExpandSharedIndicator)
    | lookup kind=inner MafSharedLinkers on Key
    | lookup kind=inner MafSharedCarriers on Key
    | extend Part = substring(Key, 0, 1)
    | extend What = strcat(case(Part == "A", "Address ", Part == "S", "Session ", "Entra session "), Display)
    | project Kind = "SharedIndicator", Start = min_of(UserStart, LinkTime), End = max_of(UserEnd, LinkTime), AccessCount = LeftOut,
        ClientIPAddress = iff(Part == "A", pack_array(Display), dynamic([])), SessionId = iff(Part == "S", pack_array(Display), dynamic([])),
        AadSessionId = iff(Part == "E", pack_array(Display), dynamic([])),
        ClientInfoString = set_union(UserClients, iff(isempty(LinkClient), dynamic([]), pack_array(LinkClient))),
        UserId = set_union(UserAccounts, iff(isempty(LinkUser), dynamic([]), pack_array(LinkUser))),
        AppId = set_union(UserApps, iff(isempty(LinkApp), dynamic([]), pack_array(LinkApp))),
        ClientAppId = set_union(UserClientApps, iff(isempty(LinkClientApp), dynamic([]), pack_array(LinkClientApp))),
        EvidenceRecordIds = MafIdsInOrder(set_union(UserKeys, pack_array(LinkSort))),
        Reason = strcat(What, " was not followed: ", MafBaselineText, ", ", Users, " other context(s) used it: ", UsersText,
            ". It is shared (an office egress, a carrier NAT, a VPN, a reused session), so the ", LeftOut,
            " record(s) of the period that only it would link are not counted as the attacker's. Record ", LinkRecordId, " at ", MafIsoTime(LinkTime),
            " would have linked it (", LinkWhy, "). -ExpandSharedIndicator follows it anyway."),
        MailboxKey = "", KindOrder = 6, Subject = Display;
let MafSharedWarning = MafSharedKeys
    | summarize Count = count()
    | where Count > 0 and not(ExpandSharedIndicator)
    | project Reason = strcat(Count, " address(es) or session(s) of the attacker's records were in use ", MafBaselineText,
        " by other contexts and were not followed: see the SharedIndicator findings; -ExpandSharedIndicator follows them.");
// Said once: the attacker's records that carry an address that is not a client's.
let MafPlaceholderRecords = toscalar(MafPeriod | where isnotempty(AddressKey) and not(AddressLinkable) | count);
let MafPlaceholderWarning = MafAttackerBase
    | where isnotempty(AddressKey) and not(AddressLinkable)
    | summarize Records = count(), Addresses = make_set(ClientIPAddress)
    | where Records > 0
    | project Reason = strcat(Records, " of the attacker's record(s) carry an address that is not a client's (", strcat_array(array_sort_asc(Addresses), ", "),
        "): a placeholder (unspecified, loopback, link-local, broadcast, multicast) or not an IP address. Expansion never links through such an address; ",
        MafPlaceholderRecords, " record(s) of the period carry one.");"#,
        final = linked_by("MafFinalLinks")
    );
}
