//! The data set: which records exist (the plan), and each record written in the three formats.
//!
//! The plan is drawn sequentially from the seed (cheap: a few numbers a record), sorted by
//! time, then every record is rendered from its own seed, in parallel, and written in order.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io::{self, Write};

use crate::rng::{hash, Rng};
use crate::tenant::{
    Actor, AttackerClient, Client, Config, Event, Kind, Mailbox, Message, OtherOp, Tenant, DAY, GRAPH_APP, OFFICE_APP, ORGANIZATION_NAME,
    OWA_APP,
};
use crate::text::{csv_field, guid_of, iso_seconds, json_string, purview_date, store_id, weekday, Json};

/// Bumped whenever the bytes of a data set for given parameters change, so cached data sets
/// are regenerated.
pub const GENERATOR_VERSION: u32 = 2;

pub const CSV_HEADER: &str = "RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,AssociatedAdminUnitsNames";

pub struct Plan {
    pub tenant: Tenant,
    pub events: Vec<Event>,
}

/// Draws the records of the data set, sorted by time.
pub fn plan(config: Config) -> Plan {
    assert!(config.records >= 100, "a data set needs at least 100 records");
    let tenant = Tenant::new(config);
    let config = &tenant.config;
    let n = config.records;
    let mut rng = Rng::new(hash(&[config.seed, 100]));
    let m = tenant.mailboxes.len();

    let attacker_mia = (n / 500).clamp(24, n / 4);
    let attacker_other = 3 + attacker_mia / 40;
    let random_throttles = 1 + n / 200_000;
    let owners = n - attacker_mia - attacker_other - random_throttles;

    let cumulative: Vec<u64> = tenant
        .mailboxes
        .iter()
        .scan(0u64, |sum, mb| {
            *sum += u64::from(mb.activity);
            Some(*sum)
        })
        .collect();
    let total_activity = *cumulative.last().expect("mailboxes");
    let pick_mailbox = |rng: &mut Rng| -> u32 {
        let x = rng.below(total_activity);
        cumulative.partition_point(|&c| c <= x) as u32
    };
    let delegated: Vec<u32> = tenant.mailboxes.iter().filter(|mb| mb.assistant.is_some()).map(|mb| mb.index).collect();

    let mut events = Vec::with_capacity(n as usize);
    let mut windows: Vec<Vec<i64>> = vec![Vec::new(); m];

    // Throttling: the attacker's mass download on the victim's mailbox, and a few heavy users.
    let throttle_time = tenant.attack_end - 1800;
    windows[tenant.victim as usize].push(throttle_time);
    events.push(Event {
        time: throttle_time,
        seed: rng.next_u64(),
        mailbox: tenant.victim,
        actor: Actor::Attacker(AttackerClient::Owa),
        kind: Kind::Bind,
        throttled: true,
    });
    for _ in 0..random_throttles {
        let mailbox = pick_mailbox(&mut rng);
        let time = owner_time(&tenant, &mut rng);
        let client = tenant.mailboxes[mailbox as usize].clients.iter().map(|(c, _)| *c).find(|c| *c != Client::Imap).unwrap_or(Client::Owa);
        windows[mailbox as usize].push(time);
        events.push(Event { time, seed: rng.next_u64(), mailbox, actor: Actor::Owner(client), kind: Kind::Bind, throttled: true });
    }
    // No Bind is audited in the 24 hours after a throttled record.
    let unaudited = |mailbox: u32, time: i64| windows[mailbox as usize].iter().any(|&s| s <= time && time < s + DAY);

    for _ in 0..owners {
        let r = rng.unit();
        let seed = rng.next_u64();
        if r < 0.20 {
            let mailbox = pick_mailbox(&mut rng);
            let op = [
                OtherOp::Send,
                OtherOp::Update,
                OtherOp::MoveToDeletedItems,
                OtherOp::SoftDelete,
                OtherOp::HardDelete,
                OtherOp::UserLoggedIn,
                OtherOp::FileAccessed,
            ][rng.weighted(&[30, 12, 15, 10, 5, 23, 5])];
            let client = pick_client(&tenant.mailboxes[mailbox as usize], &mut rng);
            let time = owner_time(&tenant, &mut rng);
            events.push(Event { time, seed, mailbox, actor: Actor::Owner(client), kind: Kind::Other(op), throttled: false });
            continue;
        }
        let (mailbox, actor, kind, anytime) = if r < 0.20 + 0.8 * 0.04 {
            let app = if rng.chance(0.7) { 0 } else { 1 };
            (rng.below(m as u64) as u32, Actor::App(app), Kind::Bind, true)
        } else if r < 0.20 + 0.8 * 0.07 && !delegated.is_empty() {
            (delegated[rng.below(delegated.len() as u64) as usize], Actor::Delegate, Kind::Bind, false)
        } else {
            let mailbox = pick_mailbox(&mut rng);
            let client = pick_client(&tenant.mailboxes[mailbox as usize], &mut rng);
            let kind = if client == Client::Desktop && rng.chance(0.3) { Kind::Sync } else { Kind::Bind };
            (mailbox, Actor::Owner(client), kind, false)
        };
        let mut time = 0;
        for _ in 0..50 {
            time = if anytime { any_time(&tenant, &mut rng) } else { owner_time(&tenant, &mut rng) };
            if kind == Kind::Sync || !unaudited(mailbox, time) {
                break;
            }
        }
        events.push(Event { time, seed, mailbox, actor, kind, throttled: false });
    }

    // The attack: three days from the attacker's address, on the victim's mailbox and on the
    // mailbox the victim can open as a delegate.
    let span = (tenant.attack_end - 3600 - tenant.attack_start).max(1) as u64;
    for _ in 0..attacker_mia - 1 {
        let seed = rng.next_u64();
        let time = tenant.attack_start + rng.below(span) as i64;
        let r = rng.unit();
        let (mailbox, actor, kind) = if r < 0.55 {
            (tenant.victim, AttackerClient::Owa, Kind::Bind)
        } else if r < 0.65 {
            (tenant.boss, AttackerClient::Owa, Kind::Bind)
        } else if r < 0.80 {
            (if rng.chance(0.7) { tenant.victim } else { tenant.boss }, AttackerClient::Graph, Kind::Bind)
        } else {
            (tenant.victim, AttackerClient::Desktop, Kind::Sync)
        };
        events.push(Event { time, seed, mailbox, actor: Actor::Attacker(actor), kind, throttled: false });
    }
    for i in 0..attacker_other {
        let seed = rng.next_u64();
        let time = tenant.attack_start + rng.below(span) as i64;
        let op = match i {
            0 => OtherOp::NewInboxRule,
            1 | 2 => OtherOp::HardDelete,
            _ => OtherOp::UserLoggedIn,
        };
        events.push(Event {
            time,
            seed,
            mailbox: tenant.victim,
            actor: Actor::Attacker(AttackerClient::Owa),
            kind: Kind::Other(op),
            throttled: false,
        });
    }
    events.sort_by_key(|e| (e.time, e.seed));
    Plan { tenant, events }
}

fn pick_client(mailbox: &Mailbox, rng: &mut Rng) -> Client {
    let weights: Vec<u32> = mailbox.clients.iter().map(|(_, w)| *w).collect();
    mailbox.clients[rng.weighted(&weights)].0
}

/// People work on weekdays, mostly in office hours.
fn owner_time(tenant: &Tenant, rng: &mut Rng) -> i64 {
    let days = u64::from(tenant.config.days.max(1));
    loop {
        let day = rng.below(days) as i64;
        let midnight = tenant.config.start + day * DAY;
        if weekday(midnight) >= 5 && !rng.chance(0.3) {
            continue;
        }
        let hour = if rng.chance(0.85) { 7 + rng.below(12) } else { rng.below(24) } as i64;
        return midnight + hour * 3600 + rng.below(3600) as i64;
    }
}

fn any_time(tenant: &Tenant, rng: &mut Rng) -> i64 {
    tenant.config.start + rng.below(u64::from(tenant.config.days.max(1)) * DAY as u64) as i64
}

/// What the generator knows of the data set: counts for the manifest and the answers the
/// benchmark checks (as hashes, to count distinct values).
#[derive(Default)]
pub struct Truth {
    pub records: u64,
    pub mail_items_accessed: u64,
    pub bind: u64,
    pub sync: u64,
    pub throttled: u64,
    pub throttling_unknown: u64,
    pub items: u64,
    pub operations: BTreeMap<&'static str, u64>,
    pub contexts: HashSet<u64>,
    pub messages: HashSet<u64>,
    pub attacker_records: u64,
    pub attacker_item_reads: u64,
    pub attacker_messages: HashSet<u64>,
    pub attacker_synced_folders: HashSet<u64>,
    pub attacker_sessions: HashSet<u64>,
    pub audit_data_bytes: u64,
}

impl Truth {
    pub fn merge(&mut self, other: Truth) {
        self.records += other.records;
        self.mail_items_accessed += other.mail_items_accessed;
        self.bind += other.bind;
        self.sync += other.sync;
        self.throttled += other.throttled;
        self.throttling_unknown += other.throttling_unknown;
        self.items += other.items;
        for (k, v) in other.operations {
            *self.operations.entry(k).or_insert(0) += v;
        }
        self.contexts.extend(other.contexts);
        self.messages.extend(other.messages);
        self.attacker_records += other.attacker_records;
        self.attacker_item_reads += other.attacker_item_reads;
        self.attacker_messages.extend(other.attacker_messages);
        self.attacker_synced_folders.extend(other.attacker_synced_folders);
        self.attacker_sessions.extend(other.attacker_sessions);
        self.audit_data_bytes += other.audit_data_bytes;
    }
}

fn key_hash(parts: &[&str]) -> u64 {
    let mut h = DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// The three renderings of a run of records.
#[derive(Default)]
pub struct Output {
    pub audit_data: Vec<u8>,
    pub search_results: Vec<u8>,
    pub csv: Vec<u8>,
    pub truth: Truth,
}

/// Who acted in a record, and from where.
struct Who<'t> {
    user_id: &'t str,
    user_key: &'t str,
    user_type: i64,
    logon_user_sid: String,
    app_id: Option<&'t str>,
    client_app_id: Option<&'t str>,
    ip: String,
    info: String,
    session: Option<String>,
    logon_type: i64,
    /// The 2025 layout: AppAccessContext, DeviceId, tokens, and no IsThrottled.
    layout_2025: bool,
    /// `"ExternalAccess":"False"` (a string, as in the app-access sample) instead of `false`.
    external_access_text: bool,
    attacker: bool,
}

pub struct Renderer<'t> {
    tenant: &'t Tenant,
    backup_info: String,
    archiver_info: String,
}

impl<'t> Renderer<'t> {
    pub fn new(tenant: &'t Tenant) -> Renderer<'t> {
        Renderer {
            tenant,
            backup_info: "Client=REST;Client=RESTSystem;;".to_string(),
            archiver_info: format!("Client=WebServices;Apache-HttpAsyncClient/5.0[AppId={}];", tenant.app_client[1]),
        }
    }

    fn who(&self, event: &Event) -> Who<'t> {
        let t = self.tenant;
        let seed = t.config.seed;
        let day = t.day_of(event.time);
        let mailbox = &t.mailboxes[event.mailbox as usize];
        let owner = |mb: &'t Mailbox, client: Client, logon_type: i64| Who {
            user_id: &mb.upn,
            user_key: &mb.user_key,
            user_type: 0,
            logon_user_sid: mb.sid.clone(),
            app_id: client.app_id(),
            client_app_id: None,
            ip: t.address(mb, client, day),
            info: client.info_string().to_string(),
            session: client.has_session().then(|| t.session(mb.index, client, day)),
            logon_type,
            layout_2025: hash(&[seed, 60, u64::from(mb.index), client.code()]) % 100 < 15 && !event.throttled,
            external_access_text: false,
            attacker: false,
        };
        match event.actor {
            Actor::Owner(client) => owner(mailbox, client, 0),
            Actor::Delegate => {
                let assistant = &t.mailboxes[mailbox.assistant.expect("a delegated mailbox") as usize];
                owner(assistant, Client::Owa, 2)
            }
            Actor::App(app) => {
                let a = app as usize;
                Who {
                    user_id: &t.app_principal[a],
                    user_key: &t.app_principal[a],
                    user_type: 5,
                    logon_user_sid: format!("{}-{}", t.tenant_sid, 5000 + a),
                    app_id: Some(if app == 0 { GRAPH_APP } else { &t.app_client[1] }),
                    client_app_id: Some(&t.app_client[a]),
                    ip: t.app_address(app, day),
                    info: if app == 0 { self.backup_info.clone() } else { self.archiver_info.clone() },
                    session: None,
                    logon_type: 0,
                    layout_2025: app == 1,
                    external_access_text: app == 0,
                    attacker: false,
                }
            }
            Actor::Attacker(client) => {
                let victim = &t.mailboxes[t.victim as usize];
                let (info, app_id, client_app_id, session) = match client {
                    AttackerClient::Owa => (Client::Owa.info_string(), OWA_APP, None, Some(t.attacker_session(client, day))),
                    AttackerClient::Graph => ("Client=REST;;", GRAPH_APP, Some(t.attacker_app.as_str()), None),
                    AttackerClient::Desktop => (Client::Desktop.info_string(), OFFICE_APP, None, Some(t.attacker_session(client, 0))),
                };
                Who {
                    user_id: &victim.upn,
                    user_key: &victim.user_key,
                    user_type: 0,
                    logon_user_sid: victim.sid.clone(),
                    app_id: Some(app_id),
                    client_app_id,
                    ip: t.config.attacker_ip.clone(),
                    info: info.to_string(),
                    session,
                    logon_type: if event.mailbox == t.victim { 0 } else { 2 },
                    layout_2025: false,
                    external_access_text: false,
                    attacker: true,
                }
            }
        }
    }

    /// The messages a Bind record reads: 1 to 8, mostly recent mail, mostly from one folder.
    fn items(&self, event: &Event, rng: &mut Rng) -> Vec<Message> {
        let t = self.tenant;
        let mailbox = &t.mailboxes[event.mailbox as usize];
        let pool = mailbox.pool_at(event.time, t.config.start).max(1);
        let count = match event.actor {
            Actor::App(_) => 8,
            Actor::Attacker(_) => 2 + rng.below(7) as usize,
            _ => 1 + rng.weighted(&[40, 20, 12, 9, 7, 5, 4, 3]),
        };
        let pick = |rng: &mut Rng| -> u64 {
            match event.actor {
                // The attacker searches old mail too.
                Actor::Attacker(_) | Actor::App(_) => rng.below(pool),
                _ if rng.chance(0.7) => pool - 1 - rng.geometric(25.0).min(pool - 1),
                _ => rng.below(pool),
            }
        };
        let mut indices: Vec<u64> = Vec::with_capacity(count);
        let mut messages: Vec<Message> = Vec::with_capacity(count);
        if let Actor::App(_) = event.actor {
            // A backup walks the mailbox in order.
            let first = rng.below(pool.saturating_sub(count as u64).max(1));
            for index in first..first + count as u64 {
                messages.push(t.message(mailbox, index));
            }
            return messages;
        }
        while messages.len() < count {
            let mut index = pick(rng);
            let mut message = t.message(mailbox, index);
            if let Some(first) = messages.first() {
                // Most reads are in the folder being looked at.
                if rng.chance(0.85) {
                    for _ in 0..12 {
                        if message.folder == first.folder && !indices.contains(&index) {
                            break;
                        }
                        index = pick(rng);
                        message = t.message(mailbox, index);
                    }
                }
            }
            if indices.contains(&index) {
                if rng.chance(0.2) {
                    break; // a small folder: fewer items than planned
                }
                continue;
            }
            indices.push(index);
            messages.push(message);
        }
        messages
    }

    /// AuditData of a MailItemsAccessed record, fields in the order real records have them.
    fn mail_items_accessed(&self, event: &Event, id: &str, out: &mut Vec<u8>, truth: &mut Truth) {
        let t = self.tenant;
        let seed = t.config.seed;
        let mut rng = Rng::new(hash(&[event.seed, 1]));
        let mailbox = &t.mailboxes[event.mailbox as usize];
        let who = self.who(event);
        let folders = mailbox.folders();
        let mut j = Json::new(out);
        j.begin_object();
        if who.layout_2025 {
            let aad = guid_of(&[seed, 61, hash(&[who.session.as_deref().map(key_str).unwrap_or(event.seed)])]);
            j.object("AppAccessContext")
                .str("AADSessionId", &aad)
                .str("APIId", &guid_of(&[seed, 62]))
                .str("ClientAppId", who.client_app_id.or(who.app_id).unwrap_or(OWA_APP))
                .str("IssuedAtTime", &iso_seconds(event.time - 1200 - (event.seed % 2400) as i64))
                .str("UniqueTokenId", &store_id("", hash(&[event.seed, 63]), 22))
                .end_object();
        }
        j.str("CreationTime", &iso_seconds(event.time))
            .str("Id", id)
            .str("Operation", "MailItemsAccessed")
            .str("OrganizationId", &t.organization_id)
            .int("RecordType", 50)
            .str("ResultStatus", "Succeeded")
            .str("UserKey", who.user_key)
            .int("UserType", who.user_type)
            .int("Version", 1)
            .str("Workload", "Exchange")
            .str("UserId", who.user_id);
        if let Some(app) = who.app_id {
            j.str("AppId", app);
        }
        if let Some(client_app) = who.client_app_id.or(if who.layout_2025 { who.app_id } else { None }) {
            j.str("ClientAppId", client_app);
        }
        j.str("ClientIPAddress", &who.ip).str("ClientInfoString", &who.info);
        if who.layout_2025 {
            j.str("DeviceId", &guid_of(&[seed, 64, key_str(who.user_id)]));
        }
        if who.external_access_text {
            j.str("ExternalAccess", "False");
        } else {
            j.bool("ExternalAccess", false);
        }
        j.int("InternalLogonType", 0)
            .int("LogonType", who.logon_type)
            .str("LogonUserSid", &who.logon_user_sid)
            .str("MailboxGuid", &mailbox.guid)
            .str("MailboxOwnerSid", &mailbox.sid)
            .str("MailboxOwnerUPN", &mailbox.upn);
        let sync = event.kind == Kind::Sync;
        j.array("OperationProperties").name_value("MailAccessType", if sync { "Sync" } else { "Bind" });
        if !who.layout_2025 {
            j.name_value("IsThrottled", if event.throttled { "True" } else { "False" });
        }
        j.end_array();
        j.str("OrganizationName", ORGANIZATION_NAME)
            .str("OriginatingServer", &format!("{} (15.20.{}.000)\r\n", mailbox.server, mailbox.build));
        if let Some(session) = &who.session {
            j.str("SessionId", session);
        }
        if who.layout_2025 {
            j.str("TokenObjectId", &guid_of(&[seed, 65, key_str(who.user_id)])).str("TokenTenantId", &t.organization_id);
        }

        // Truth: the context and what was read.
        truth.mail_items_accessed += 1;
        if event.throttled {
            truth.throttled += 1;
        }
        if who.layout_2025 {
            truth.throttling_unknown += 1;
        }
        let ip = who.ip.to_ascii_lowercase();
        let session = who.session.as_deref().unwrap_or("").to_ascii_lowercase();
        let user = who.user_id.to_ascii_lowercase();
        truth.contexts.insert(key_hash(&[&ip, &who.info, &session, &user]));
        let mailbox_key = mailbox.upn.to_ascii_lowercase();
        if who.attacker {
            truth.attacker_records += 1;
            if !session.is_empty() {
                truth.attacker_sessions.insert(key_hash(&[&session]));
            }
        }

        j.array("Folders");
        let count;
        if sync {
            let folder = if who.attacker { [0usize, 1, 6, 2][rng.below(4) as usize] } else { t.sync_folder(&mut rng) };
            j.begin_object().str("Id", &t.folder_id(mailbox, folder)).str("Path", folders[folder]).end_object();
            count = 1;
            truth.sync += 1;
            if who.attacker {
                truth.attacker_synced_folders.insert(key_hash(&[&mailbox_key, folders[folder]]));
            }
        } else {
            let items = self.items(event, &mut rng);
            count = items.len();
            truth.bind += 1;
            truth.items += count as u64;
            // One Folders entry per folder, in the order the folder first appears.
            let mut order: Vec<usize> = Vec::new();
            for item in &items {
                if !order.contains(&item.folder) {
                    order.push(item.folder);
                }
            }
            for folder in order {
                j.begin_object().array("FolderItems");
                for item in items.iter().filter(|i| i.folder == folder) {
                    j.begin_object();
                    if let Actor::App(0) = event.actor {
                        j.str("ClientRequestId", &guid_of(&[event.seed, 66]));
                    }
                    j.str("Id", &item.item_id);
                    if who.layout_2025 {
                        j.str("ImmutableId", &item.item_id);
                    }
                    j.str("InternetMessageId", &item.internet_message_id);
                    if let Some(label) = &item.sensitivity {
                        j.str("Sensitivity", label);
                    }
                    j.int("SizeInBytes", item.size as i64).end_object();
                    let message_key = key_hash(&[&mailbox_key, &item.internet_message_id]);
                    truth.messages.insert(message_key);
                    if who.attacker {
                        truth.attacker_messages.insert(message_key);
                        truth.attacker_item_reads += 1;
                    }
                }
                j.end_array().str("Id", &t.folder_id(mailbox, folder)).str("Path", folders[folder]).end_object();
            }
        }
        j.end_array().int("OperationCount", count as i64).end_object();
    }

    /// Exchange mailbox operations, Entra sign-ins, OneDrive file access, an inbox rule.
    fn other(&self, event: &Event, op: OtherOp, id: &str, out: &mut Vec<u8>) {
        let t = self.tenant;
        let seed = t.config.seed;
        let mut rng = Rng::new(hash(&[event.seed, 2]));
        let mailbox = &t.mailboxes[event.mailbox as usize];
        let who = self.who(event);
        let (record_type, _) = op.record_type();
        let subjects = [
            "Quarterly figures",
            "Re: project update",
            "Invoice 4471",
            "Meeting notes",
            "Fw: contract draft",
            "Lunch on Friday?",
            "R\u{e9}union d'\u{e9}quipe",
        ];
        let mut j = Json::new(out);
        j.begin_object();
        match op {
            OtherOp::UserLoggedIn => {
                let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
                let object_id = guid_of(&[seed, 80, key_str(who.user_id)]);
                j.str("CreationTime", &iso_seconds(event.time))
                    .str("Id", id)
                    .str("Operation", op.name())
                    .str("OrganizationId", &t.organization_id)
                    .int("RecordType", record_type)
                    .str("ResultStatus", "Success")
                    .str("UserKey", &object_id)
                    .int("UserType", 0)
                    .int("Version", 1)
                    .str("Workload", "AzureActiveDirectory")
                    .str("ClientIP", &who.ip)
                    .str("ObjectId", OWA_APP)
                    .str("UserId", who.user_id)
                    .int("AzureActiveDirectoryEventType", 1);
                j.array("ExtendedProperties")
                    .name_value("ResultStatusDetail", "Redirect")
                    .name_value("UserAgent", ua)
                    .name_value("RequestType", "OAuth2:Authorize")
                    .end_array();
                j.array("ModifiedProperties").end_array();
                j.array("Actor")
                    .begin_object()
                    .str("ID", &object_id)
                    .int("Type", 0)
                    .end_object()
                    .begin_object()
                    .str("ID", who.user_id)
                    .int("Type", 5)
                    .end_object()
                    .end_array();
                j.str("ActorContextId", &t.organization_id)
                    .str("ActorIpAddress", &who.ip)
                    .str("InterSystemsId", &guid_of(&[event.seed, 81]))
                    .str("IntraSystemId", &guid_of(&[event.seed, 82]))
                    .str("SupportTicketId", "");
                j.array("Target").begin_object().str("ID", OWA_APP).int("Type", 0).end_object().end_array();
                j.str("TargetContextId", &t.organization_id).str("ApplicationId", "4765445b-32c6-49b0-83e6-1d93765276ca");
                j.array("DeviceProperties")
                    .name_value("OS", "Windows 10")
                    .name_value("BrowserType", "Chrome")
                    .name_value("IsCompliantAndManaged", "False")
                    .name_value("SessionId", &guid_of(&[event.seed, 83]))
                    .end_array();
                j.str("ErrorNumber", "0").end_object();
            }
            OtherOp::FileAccessed => {
                let files = ["Budget 2025.xlsx", "Roadmap.pptx", "Contract draft.docx", "Notes.docx"];
                let file = files[rng.below(files.len() as u64) as usize];
                let personal = mailbox.upn.replace(['.', '@'], "_");
                let site = format!("https://contoso-my.sharepoint.com/personal/{personal}/");
                j.object("AppAccessContext")
                    .str("AADSessionId", &guid_of(&[seed, 84, event.seed]))
                    .str("CorrelationId", &guid_of(&[seed, 85, event.seed]))
                    .str("UniqueTokenId", &store_id("", hash(&[event.seed, 86]), 22))
                    .end_object();
                j.str("CreationTime", &iso_seconds(event.time))
                    .str("Id", id)
                    .str("Operation", op.name())
                    .str("OrganizationId", &t.organization_id)
                    .int("RecordType", record_type)
                    .str("UserKey", &format!("i:0h.f|membership|{}@live.com", who.user_key.to_ascii_lowercase()))
                    .int("UserType", 0)
                    .int("Version", 1)
                    .str("Workload", "OneDrive")
                    .str("ClientIP", &who.ip)
                    .str("ObjectId", &format!("{site}Documents/{file}"))
                    .str("UserId", who.user_id)
                    .str("CorrelationId", &guid_of(&[seed, 85, event.seed]))
                    .str("EventSource", "SharePoint")
                    .str("ItemType", "File")
                    .str("ListId", &guid_of(&[seed, 87, u64::from(mailbox.index)]))
                    .str("ListItemUniqueId", &guid_of(&[seed, 88, event.seed]))
                    .str("Site", &guid_of(&[seed, 89, u64::from(mailbox.index)]))
                    .str("UserAgent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0")
                    .str("WebId", &guid_of(&[seed, 90, u64::from(mailbox.index)]))
                    .bool("HighPriorityMediaProcessing", false)
                    .str("SourceFileExtension", file.rsplit('.').next().unwrap_or(""))
                    .str("SiteUrl", &site)
                    .str("SourceFileName", file)
                    .str("SourceRelativeUrl", "Documents")
                    .end_object();
            }
            OtherOp::NewInboxRule => {
                j.str("CreationTime", &iso_seconds(event.time))
                    .str("Id", id)
                    .str("Operation", op.name())
                    .str("OrganizationId", &t.organization_id)
                    .int("RecordType", record_type)
                    .str("ResultStatus", "True")
                    .str("UserKey", who.user_key)
                    .int("UserType", 2)
                    .int("Version", 1)
                    .str("Workload", "Exchange")
                    .str("ClientIP", &format!("{}:{}", who.ip, 49152 + event.seed % 16000))
                    .str("ObjectId", &format!("{}\\.", mailbox.upn))
                    .str("UserId", who.user_id)
                    .str("AppId", OWA_APP)
                    .str("ClientAppId", "")
                    .bool("ExternalAccess", false)
                    .str("OrganizationName", ORGANIZATION_NAME)
                    .str("OriginatingServer", &format!("{} (15.20.6792.032)", mailbox.server));
                j.array("Parameters")
                    .name_value("AlwaysDeleteOutputStream", "False")
                    .name_value("Force", "False")
                    .name_value("MoveToFolder", "RSS Feeds")
                    .name_value("Name", ".")
                    .name_value("SubjectOrBodyContainsWords", "invoice;payment;wire")
                    .name_value("StopProcessingRules", "True")
                    .end_array();
                if let Some(session) = &who.session {
                    j.str("SessionId", session);
                }
                j.end_object();
            }
            _ => {
                // Exchange mailbox operations (the HardDelete sample's layout).
                let folders = mailbox.folders();
                let pool = mailbox.pool_at(event.time, t.config.start).max(1);
                let message = t.message(mailbox, rng.below(pool));
                let subject = subjects[rng.below(subjects.len() as u64) as usize];
                j.str("CreationTime", &iso_seconds(event.time))
                    .str("Id", id)
                    .str("Operation", op.name())
                    .str("OrganizationId", &t.organization_id)
                    .int("RecordType", record_type)
                    .str("ResultStatus", "Succeeded")
                    .str("UserKey", who.user_key)
                    .int("UserType", who.user_type)
                    .int("Version", 1)
                    .str("Workload", "Exchange")
                    .str("ClientIP", &who.ip)
                    .str("UserId", who.user_id);
                if let Some(app) = who.app_id {
                    j.str("AppId", app);
                }
                j.str("ClientIPAddress", &who.ip)
                    .str("ClientInfoString", &who.info)
                    .bool("ExternalAccess", false)
                    .int("InternalLogonType", 0)
                    .int("LogonType", who.logon_type)
                    .str("LogonUserSid", &who.logon_user_sid)
                    .str("MailboxGuid", &mailbox.guid)
                    .str("MailboxOwnerSid", &mailbox.sid)
                    .str("MailboxOwnerUPN", &mailbox.upn)
                    .str("OrganizationName", ORGANIZATION_NAME)
                    .str("OriginatingServer", &format!("{} (15.20.{}.000)\r\n", mailbox.server, mailbox.build));
                if let Some(session) = &who.session {
                    j.str("SessionId", session);
                }
                match op {
                    OtherOp::Send | OtherOp::Update => {
                        let folder = if op == OtherOp::Send { 1 } else { message.folder };
                        j.object("Item")
                            .str("Id", &message.item_id)
                            .str("InternetMessageId", &message.internet_message_id)
                            .object("ParentFolder")
                            .str("Id", &t.folder_id(mailbox, folder))
                            .str("Path", folders[folder])
                            .end_object()
                            .int("SizeInBytes", message.size as i64)
                            .str("Subject", subject)
                            .end_object();
                        if op == OtherOp::Update {
                            j.array("ModifiedProperties").item_str("IsRead").end_array();
                        }
                    }
                    _ => {
                        let source = message.folder;
                        let deleted = 4;
                        j.array("AffectedItems")
                            .begin_object()
                            .str("Id", &message.item_id)
                            .str("InternetMessageId", &message.internet_message_id)
                            .object("ParentFolder")
                            .str("Id", &t.folder_id(mailbox, source))
                            .str("Path", folders[source])
                            .end_object()
                            .str("Subject", subject)
                            .end_object()
                            .end_array();
                        j.bool("CrossMailboxOperation", false);
                        if op == OtherOp::MoveToDeletedItems {
                            j.object("DestFolder").str("Id", &t.folder_id(mailbox, deleted)).str("Path", folders[deleted]).end_object();
                        }
                        j.object("Folder").str("Id", &t.folder_id(mailbox, source)).str("Path", folders[source]).end_object();
                    }
                }
                j.end_object();
            }
        }
    }

    /// Renders records `first..` of the plan (`index` is the 0-based position of `events[0]`).
    pub fn render(&self, events: &[Event], index: u64, total: u64) -> Output {
        let mut output = Output {
            audit_data: Vec::with_capacity(events.len() * 1800),
            search_results: Vec::with_capacity(events.len() * 2300),
            csv: Vec::with_capacity(events.len() * 2100),
            truth: Truth::default(),
        };
        let mut audit = Vec::with_capacity(4096);
        let mut quoted = Vec::with_capacity(4096);
        for (offset, event) in events.iter().enumerate() {
            let id = guid_of(&[self.tenant.config.seed, 70, event.seed]);
            audit.clear();
            let (operation, record_type, type_name) = match event.kind {
                Kind::Bind | Kind::Sync => {
                    self.mail_items_accessed(event, &id, &mut audit, &mut output.truth);
                    ("MailItemsAccessed", 50, "ExchangeItemAggregated")
                }
                Kind::Other(op) => {
                    self.other(event, op, &id, &mut audit);
                    let (number, name) = op.record_type();
                    (op.name(), number, name)
                }
            };
            let user_id = self.who(event).user_id;
            output.truth.records += 1;
            output.truth.audit_data_bytes += audit.len() as u64;
            *output.truth.operations.entry(operation).or_insert(0) += 1;

            // (c) AuditData, one per line.
            output.audit_data.extend_from_slice(&audit);
            output.audit_data.push(b'\n');

            // (a) Search-UnifiedAuditLog result objects.
            let audit_text = std::str::from_utf8(&audit).expect("AuditData is ASCII");
            let s = &mut output.search_results;
            let mut j = Json::new(s);
            j.begin_object()
                .str("RecordType", type_name)
                .str("CreationDate", &iso_seconds(event.time))
                .str("UserIds", user_id)
                .str("Operations", operation)
                .str("AuditData", audit_text)
                .int("ResultIndex", (index + offset as u64 + 1) as i64)
                .int("ResultCount", total as i64)
                .str("Identity", &id)
                .bool("IsValid", true)
                .str("ObjectState", "Unchanged")
                .end_object();
            s.push(b'\n');

            // (b) The Purview export.
            let c = &mut output.csv;
            csv_field(c, id.as_bytes());
            c.push(b',');
            csv_field(c, purview_date(event.time).as_bytes());
            c.push(b',');
            c.extend_from_slice(record_type.to_string().as_bytes());
            c.push(b',');
            csv_field(c, operation.as_bytes());
            c.push(b',');
            csv_field(c, user_id.as_bytes());
            c.push(b',');
            quoted.clear();
            csv_field(&mut quoted, &audit);
            c.extend_from_slice(&quoted);
            c.extend_from_slice(b",,\r\n");
        }
        output
    }
}

fn key_str(text: &str) -> u64 {
    key_hash(&[text])
}

/// Writes the three files, rendering on `threads` threads; returns what the data set holds.
pub fn write_all(
    plan: &Plan,
    threads: usize,
    audit_data: &mut dyn Write,
    search_results: &mut dyn Write,
    csv: &mut dyn Write,
) -> io::Result<Truth> {
    let renderer = Renderer::new(&plan.tenant);
    let total = plan.events.len() as u64;
    csv.write_all(CSV_HEADER.as_bytes())?;
    csv.write_all(b"\r\n")?;
    let mut truth = Truth::default();
    const CHUNK: usize = 2048;
    let threads = threads.max(1);
    let round = CHUNK * threads * 2;
    let mut start = 0usize;
    while start < plan.events.len() {
        let end = (start + round).min(plan.events.len());
        let outputs: Vec<Output> = std::thread::scope(|scope| {
            let handles: Vec<_> = plan.events[start..end]
                .chunks(CHUNK)
                .enumerate()
                .map(|(i, chunk)| {
                    let renderer = &renderer;
                    let first = (start + i * CHUNK) as u64;
                    scope.spawn(move || renderer.render(chunk, first, total))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("render thread")).collect()
        });
        for output in outputs {
            audit_data.write_all(&output.audit_data)?;
            search_results.write_all(&output.search_results)?;
            csv.write_all(&output.csv)?;
            truth.merge(output.truth);
        }
        start = end;
    }
    Ok(truth)
}

/// JSON string of a value (for the manifest, written by hand to keep key order).
pub fn json_text(value: &str) -> String {
    let mut out = Vec::new();
    json_string(&mut out, value);
    String::from_utf8(out).expect("ASCII")
}
