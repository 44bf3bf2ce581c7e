//! The synthetic tenant: mailboxes, their clients and messages, and the attack. Everything is
//! derived from the seed by hashing (a mailbox's session on a day, a message's id and folder),
//! so a record can be rendered from a few numbers, in any order, on any thread.

use crate::rng::{hash, Rng};
use crate::text::{guid_of, hex_upper, store_id};

pub const DOMAIN: &str = "contoso.com";
pub const ORGANIZATION_NAME: &str = "contoso.onmicrosoft.com";
/// 2025-03-03T00:00:00Z, a Monday.
pub const DEFAULT_START: i64 = 1_740_960_000;
pub const DAY: i64 = 86_400;

pub const OWA_APP: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const GRAPH_APP: &str = "00000003-0000-0000-c000-000000000000";
pub const OFFICE_APP: &str = "d3590ed6-52b3-4102-aeff-aad2292ab01c";
pub const OUTLOOK_MOBILE_APP: &str = "27922004-5251-4030-b22d-91ecd9a37ea4";
pub const NEW_OUTLOOK_APP: &str = "9199bf20-a13f-4107-85dc-02114787ef48";

/// The clients a mailbox owner uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Owa,
    /// Classic Outlook (MAPI): the only client whose records are Sync.
    Desktop,
    Ios,
    Android,
    NewOutlook,
    Imap,
}

impl Client {
    pub const ALL: [Client; 6] = [Client::Owa, Client::Desktop, Client::Ios, Client::Android, Client::NewOutlook, Client::Imap];

    pub fn code(self) -> u64 {
        self as u64 + 1
    }

    pub fn info_string(self) -> &'static str {
        match self {
            Client::Owa => "Client=OWA;Action=ViaProxy",
            Client::Desktop => "Client=MSExchangeRPC",
            Client::Ios => "Client=OutlookService;Outlook-iOS/2.0;",
            Client::Android => "Client=OutlookService;Outlook-Android/2.0;",
            Client::NewOutlook => "Client=REST;Client=RESTSystem;;",
            Client::Imap => "Client=POP3/IMAP4;Protocol=IMAP4",
        }
    }

    pub fn app_id(self) -> Option<&'static str> {
        match self {
            Client::Owa => Some(OWA_APP),
            Client::Desktop => Some(OFFICE_APP),
            Client::Ios | Client::Android => Some(OUTLOOK_MOBILE_APP),
            Client::NewOutlook => Some(NEW_OUTLOOK_APP),
            Client::Imap => None,
        }
    }

    pub fn has_session(self) -> bool {
        !matches!(self, Client::Imap)
    }
}

/// The attacker's clients, all from the attacker's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttackerClient {
    /// OWA with the stolen session cookie, a new session each day.
    Owa,
    /// A consented third-party app reading through Graph (no session id).
    Graph,
    /// Outlook desktop set up with the stolen credentials: syncs folders.
    Desktop,
}

/// Who acts in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    Owner(Client),
    /// The mailbox's assistant, reading it in OWA with delegate rights.
    Delegate,
    /// A tenant application with app-only access: 0 backup (Graph), 1 archiver (EWS).
    App(u8),
    Attacker(AttackerClient),
}

/// Operations other than MailItemsAccessed that an audit search returns alongside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OtherOp {
    Send,
    Update,
    MoveToDeletedItems,
    SoftDelete,
    HardDelete,
    UserLoggedIn,
    FileAccessed,
    NewInboxRule,
}

impl OtherOp {
    pub fn name(self) -> &'static str {
        match self {
            OtherOp::Send => "Send",
            OtherOp::Update => "Update",
            OtherOp::MoveToDeletedItems => "MoveToDeletedItems",
            OtherOp::SoftDelete => "SoftDelete",
            OtherOp::HardDelete => "HardDelete",
            OtherOp::UserLoggedIn => "UserLoggedIn",
            OtherOp::FileAccessed => "FileAccessed",
            OtherOp::NewInboxRule => "New-InboxRule",
        }
    }

    /// (AuditData RecordType number, Search-UnifiedAuditLog RecordType name).
    pub fn record_type(self) -> (i64, &'static str) {
        match self {
            OtherOp::Send | OtherOp::Update => (2, "ExchangeItem"),
            OtherOp::MoveToDeletedItems | OtherOp::SoftDelete | OtherOp::HardDelete => (3, "ExchangeItemGroup"),
            OtherOp::UserLoggedIn => (15, "AzureActiveDirectoryStsLogon"),
            OtherOp::FileAccessed => (6, "SharePointFileOperation"),
            OtherOp::NewInboxRule => (1, "ExchangeAdmin"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Bind,
    Sync,
    Other(OtherOp),
}

/// One record to write: what it is; the details are drawn from `seed` when it is rendered.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub time: i64,
    pub seed: u64,
    pub mailbox: u32,
    pub actor: Actor,
    pub kind: Kind,
    /// IsThrottled True (rare; the record that opens an unaudited window).
    pub throttled: bool,
}

const FIRST_NAMES: [&str; 24] = [
    "adele",
    "alex",
    "allan",
    "bianca",
    "christie",
    "debra",
    "diego",
    "emily",
    "enrico",
    "grady",
    "henrietta",
    "irvin",
    "isaiah",
    "johanna",
    "joni",
    "lee",
    "lidia",
    "lynne",
    "megan",
    "miriam",
    "nestor",
    "patti",
    "pradeep",
    "raul",
];
const LAST_NAMES: [&str; 20] = [
    "vance",
    "wilber",
    "cameron",
    "rojas",
    "cline",
    "berger",
    "siciliani",
    "braun",
    "cattaneo",
    "archie",
    "mueller",
    "sherman",
    "langer",
    "lovett",
    "sherman",
    "zhao",
    "holloway",
    "fernandes",
    "bowen",
    "gonzalez",
];
const SERVERS: [&str; 8] = [
    "AM0PR07MB5763",
    "DB9PR04MB8412",
    "PAXPR02MB7311",
    "SA2PR06MB7369",
    "CO1PR11MB4867",
    "VI1PR08MB3216",
    "BN6PR19MB1655",
    "LO2P265MB2410",
];
const REGIONS: [&str; 8] = ["eurprd07", "eurprd04", "eurprd02", "namprd06", "namprd11", "eurprd08", "namprd19", "gbrp265"];

pub const FOLDERS_EN: [&str; 8] =
    ["\\Inbox", "\\Sent Items", "\\Archive", "\\Drafts", "\\Deleted Items", "\\Inbox\\Projects", "\\Finance", "\\Clients"];
pub const FOLDERS_FR: [&str; 8] = [
    "\\Bo\u{ee}te de r\u{e9}ception",
    "\\\u{c9}l\u{e9}ments envoy\u{e9}s",
    "\\Archives",
    "\\Brouillons",
    "\\\u{c9}l\u{e9}ments supprim\u{e9}s",
    "\\Bo\u{ee}te de r\u{e9}ception\\Projets",
    "\\Finance",
    "\\Clients",
];
/// Where a mailbox's messages live.
const FOLDER_WEIGHTS: [u32; 8] = [55, 15, 8, 3, 4, 6, 5, 4];
/// Which folders Outlook desktop syncs.
const SYNC_WEIGHTS: [u32; 8] = [40, 20, 10, 8, 8, 6, 4, 4];

pub struct Mailbox {
    pub index: u32,
    pub upn: String,
    pub guid: String,
    pub user_key: String,
    pub sid: String,
    pub french: bool,
    pub server: &'static str,
    pub region: &'static str,
    pub build: u32,
    pub office: u32,
    /// Clients with their share of the owner's records.
    pub clients: Vec<(Client, u32)>,
    pub activity: u32,
    /// Another mailbox whose owner reads this one with delegate rights.
    pub assistant: Option<u32>,
    pub pool_start: u32,
    pub pool_rate: u32,
}

impl Mailbox {
    pub fn folders(&self) -> &'static [&'static str; 8] {
        if self.french {
            &FOLDERS_FR
        } else {
            &FOLDERS_EN
        }
    }

    /// Messages in the mailbox at a time (it receives mail every day).
    pub fn pool_at(&self, time: i64, start: i64) -> u64 {
        let days = ((time - start).max(0) as f64) / DAY as f64;
        u64::from(self.pool_start) + (days * f64::from(self.pool_rate)) as u64
    }
}

/// A message of a mailbox, derived from (mailbox, index).
pub struct Message {
    pub internet_message_id: String,
    pub folder: usize,
    pub size: u64,
    pub item_id: String,
    pub sensitivity: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub records: u64,
    pub mailboxes: u32,
    pub days: u32,
    pub seed: u64,
    pub attacker_ip: String,
    pub start: i64,
}

impl Config {
    /// The default tenant for a number of records: one mailbox per 500 records (at least 8),
    /// 30 days. The scale check keeps the tenant and multiplies the records.
    pub fn for_records(records: u64, seed: u64) -> Config {
        Config {
            records,
            mailboxes: (records / 500).clamp(8, 50_000) as u32,
            days: 30,
            seed,
            attacker_ip: "203.0.113.77".to_string(),
            start: DEFAULT_START,
        }
    }
}

pub struct Tenant {
    pub config: Config,
    pub organization_id: String,
    pub tenant_sid: String,
    pub mailboxes: Vec<Mailbox>,
    pub victim: u32,
    /// A second mailbox the victim may open as a delegate: the attacker reads it too.
    pub boss: u32,
    pub attack_start: i64,
    pub attack_end: i64,
    /// Service principal ids of the two tenant apps and the attacker's app.
    pub app_principal: [String; 2],
    pub app_client: [String; 2],
    pub attacker_app: String,
}

impl Tenant {
    pub fn new(config: Config) -> Tenant {
        let seed = config.seed;
        let mut rng = Rng::new(hash(&[seed, 0x7e4a47]));
        let m = config.mailboxes.max(2);
        let mut mailboxes = Vec::with_capacity(m as usize);
        for i in 0..m {
            let h = hash(&[seed, 1, u64::from(i)]);
            let first = FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize];
            let last = LAST_NAMES[((h >> 8) % LAST_NAMES.len() as u64) as usize];
            let server_index = ((h >> 16) % SERVERS.len() as u64) as usize;
            let mut clients = vec![(Client::Owa, 30)];
            if rng.chance(0.55) {
                clients.push((Client::Desktop, 45));
            }
            if rng.chance(0.6) {
                clients.push((if rng.chance(0.5) { Client::Ios } else { Client::Android }, 20));
            }
            if rng.chance(0.3) {
                clients.push((Client::NewOutlook, 25));
            }
            if rng.chance(0.03) {
                clients.push((Client::Imap, 10));
            }
            // Activity: most users similar, some heavy.
            let activity = if rng.chance(0.1) { 40 + rng.below(60) as u32 } else { 5 + rng.below(20) as u32 };
            mailboxes.push(Mailbox {
                index: i,
                upn: format!("{first}.{last}{i}@{DOMAIN}"),
                guid: guid_of(&[seed, 2, u64::from(i)]),
                user_key: format!("1003{}", hex_upper(hash(&[seed, 3, u64::from(i)]), 12)),
                sid: String::new(),
                french: rng.chance(0.1),
                server: SERVERS[server_index],
                region: REGIONS[server_index],
                build: 4200 + (rng.below(700) as u32),
                office: rng.below(4) as u32,
                clients,
                activity,
                assistant: None,
                pool_start: 1500 + rng.below(1000) as u32,
                pool_rate: 30 + rng.below(30) as u32,
            });
        }
        let tenant_sid = format!(
            "S-1-5-21-{}-{}-{}",
            1_000_000_000 + rng.below(3_000_000_000),
            1_000_000_000 + rng.below(3_000_000_000),
            1_000_000_000 + rng.below(3_000_000_000)
        );
        for mailbox in &mut mailboxes {
            mailbox.sid = format!("{tenant_sid}-{}", 10_000_000 + u64::from(mailbox.index) * 7 + 3);
        }
        // Assistants: about one mailbox in twenty is read by a delegate.
        for i in 0..m {
            if rng.chance(0.05) {
                let assistant = rng.below(u64::from(m)) as u32;
                if assistant != i {
                    mailboxes[i as usize].assistant = Some(assistant);
                }
            }
        }
        let victim = rng.below(u64::from(m)) as u32;
        let boss = (victim + 1 + rng.below(u64::from(m) - 1) as u32) % m;
        mailboxes[boss as usize].assistant = Some(victim);
        // The victim uses OWA and Outlook desktop, like most.
        if !mailboxes[victim as usize].clients.iter().any(|(c, _)| *c == Client::Desktop) {
            mailboxes[victim as usize].clients.push((Client::Desktop, 45));
        }
        let days = i64::from(config.days.max(1));
        let attack_days = days.min(3);
        let first_day = (days * 3 / 5).min(days - attack_days);
        let attack_start = config.start + first_day * DAY + 3600;
        let attack_end = attack_start + attack_days * DAY - 3600;
        Tenant {
            organization_id: guid_of(&[seed, 4]),
            tenant_sid,
            mailboxes,
            victim,
            boss,
            attack_start,
            attack_end,
            app_principal: [guid_of(&[seed, 5, 0]), guid_of(&[seed, 5, 1])],
            app_client: [guid_of(&[seed, 6, 0]), guid_of(&[seed, 6, 1])],
            attacker_app: guid_of(&[seed, 7]),
            config,
        }
    }

    pub fn day_of(&self, time: i64) -> u64 {
        ((time - self.config.start).max(0) / DAY) as u64
    }

    /// The message `index` of a mailbox.
    pub fn message(&self, mailbox: &Mailbox, index: u64) -> Message {
        let seed = self.config.seed;
        let h = hash(&[seed, 30, u64::from(mailbox.index), index]);
        let folder = {
            let mut rng = Rng::new(h);
            rng.weighted(&FOLDER_WEIGHTS)
        };
        let internet_message_id = if h % 10 < 6 {
            // Sent from inside the tenant: Exchange Online's form.
            format!("<{}{}@{}.{}.prod.outlook.com>", mailbox.server, hex_upper(h ^ 0x1d, 20), mailbox.server, mailbox.region)
        } else {
            format!("<{}@mail.fabrikam.example>", guid_of(&[h, 31]))
        };
        let u = ((h >> 20) & 0xFFFF) as f64 / 65_536.0;
        let size = 2_000 + (u.powi(4) * 900_000.0) as u64 + (h >> 40) % 4_000;
        let sensitivity = (h % 23 == 0).then(|| "defa4170-0d19-0005-0004-bc88714345d2".to_string());
        Message { internet_message_id, folder, size, item_id: store_id("RgAAAA", h ^ 0x2e, 88), sensitivity }
    }

    pub fn folder_id(&self, mailbox: &Mailbox, folder: usize) -> String {
        store_id("LgAAAA", hash(&[self.config.seed, 32, u64::from(mailbox.index), folder as u64]), 58)
    }

    pub fn sync_folder(&self, rng: &mut Rng) -> usize {
        rng.weighted(&SYNC_WEIGHTS)
    }

    /// The owner's session of a client on a day.
    pub fn session(&self, mailbox: u32, client: Client, day: u64) -> String {
        guid_of(&[self.config.seed, 40, u64::from(mailbox), client.code(), day])
    }

    /// The owner's address for a client on a day: the office on most weekdays, home otherwise;
    /// phones from a mobile network. Some IPv6 addresses are written in upper case (as real
    /// records do); each address always the same way.
    pub fn address(&self, mailbox: &Mailbox, client: Client, day: u64) -> String {
        let seed = self.config.seed;
        let weekday = crate::text::weekday(self.config.start + day as i64 * DAY);
        let h = hash(&[seed, 41, u64::from(mailbox.index), client.code(), day]);
        match client {
            Client::Ios | Client::Android => {
                let a = hash(&[seed, 42, u64::from(mailbox.index), day]);
                ipv6(0xa000 | (a & 0xfff), a >> 16, a >> 32, a >> 48)
            }
            _ if weekday < 5 && h % 10 < 7 => {
                let offices = ["198.51.100.", "192.0.2.", "198.51.100.1", "192.0.2.1"];
                format!("{}{}", offices[mailbox.office as usize], 10 + (h >> 8) % 2)
            }
            _ => {
                let a = hash(&[seed, 43, u64::from(mailbox.index)]);
                ipv6(0x1000 | (a & 0xfff), a >> 16, a >> 32, a >> 48)
            }
        }
    }

    /// The tenant app's address (Azure) on a day.
    pub fn app_address(&self, app: u8, day: u64) -> String {
        format!("192.0.2.{}", 200 + u64::from(app) * 10 + day % 4)
    }

    pub fn attacker_session(&self, client: AttackerClient, day: u64) -> String {
        guid_of(&[self.config.seed, 50, client as u64, day])
    }
}

/// A documentation-prefix (2001:db8::/32) address, compressed, upper case one time in five.
fn ipv6(a: u64, b: u64, c: u64, d: u64) -> String {
    let text = format!("2001:db8:{:x}:{:x}::{:x}", a & 0xffff, (b & 0xffff) | 1, (c & 0xfffe) + 1);
    if d % 5 == 0 {
        text.to_ascii_uppercase()
    } else {
        text
    }
}
