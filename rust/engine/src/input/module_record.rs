//! The module's own records read back in: `MailAccessForensics.MailAccessRecord` objects (the
//! output of ConvertFrom-MailItemsAccessed) piped into an analysis. The shim sends such an
//! object as a map with one key, [`MODULE_RECORD_TYPE`], holding its properties; they are the
//! record model written out, so they are read field for field, not interpreted again: the
//! analyses see the record exactly as the first command read it, degraded state and origin
//! included.

use serde::Deserialize;

use crate::address::ClientAddress;
use crate::error::{ErrorKind, RecordError};
use crate::input::tree::{Node, NodeDeserializer};
use crate::model::{
    normalize_folder_path, normalize_message_id, FolderAccess, LogonType, MailAccessRecord, MailAccessType, MessageItem, SourcePosition,
    UserType,
};
use crate::time::{parse_timestamp, DateOrder};

/// The key the shim wraps the module's own records in (their .NET type name).
pub const MODULE_RECORD_TYPE: &str = "MailAccessForensics.MailAccessRecord";

/// The properties of the module's record, as the shim writes them (PascalCase, as in .NET).
/// Properties the analyses do not use (the `Folders` paths, which `FolderDetails` repeats, and
/// `ClientIPAddress`, which `ClientIPAddressOriginal` determines) are not read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ModuleRecordWire {
    creation_time: Option<String>,
    record_id: Option<String>,
    mailbox: Option<String>,
    mailbox_guid: Option<String>,
    user_id: Option<String>,
    user_type: Option<String>,
    access_type: Option<AccessTypeWire>,
    is_throttled: Option<bool>,
    #[serde(rename = "ClientIPAddress")]
    client_ip_address: Option<String>,
    #[serde(rename = "ClientIPAddressOriginal")]
    client_ip_address_original: Option<String>,
    client_info_string: Option<String>,
    session_id: Option<String>,
    app_id: Option<String>,
    client_app_id: Option<String>,
    aad_session_id: Option<String>,
    unique_token_id: Option<String>,
    issued_at_time: Option<String>,
    logon_type: Option<String>,
    external_access: Option<bool>,
    operation_count: Option<u64>,
    originating_server: Option<String>,
    folder_details: Option<Vec<FolderWire>>,
    items: Option<Vec<ItemWire>>,
    is_degraded: Option<bool>,
    degraded_reason: Option<String>,
    source: Option<String>,
}

/// MailAccessType by name, or by its number (Import-Clixml gives enums back as numbers).
#[derive(Deserialize)]
#[serde(untagged)]
enum AccessTypeWire {
    Name(String),
    Code(i64),
}

impl AccessTypeWire {
    fn access_type(&self) -> MailAccessType {
        match self {
            AccessTypeWire::Name(name) => MailAccessType::parse(name),
            AccessTypeWire::Code(1) => MailAccessType::Bind,
            AccessTypeWire::Code(2) => MailAccessType::Sync,
            AccessTypeWire::Code(_) => MailAccessType::Unknown,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FolderFields {
    path: Option<String>,
    id: Option<String>,
    item_count: Option<u64>,
}

/// A folder as an object, or as its text (a deserialized object that lost its depth).
#[derive(Deserialize)]
#[serde(untagged)]
enum FolderWire {
    Fields(FolderFields),
    Path(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ItemFields {
    internet_message_id: Option<String>,
    folder_path: Option<String>,
    size_in_bytes: Option<u64>,
}

/// An item as an object, or as its text (its message id).
#[derive(Deserialize)]
#[serde(untagged)]
enum ItemWire {
    Fields(ItemFields),
    MessageId(String),
}

/// The properties node of a module record, when `node` is one.
pub fn module_record_properties<'n, 'a>(node: &'n Node<'a>) -> Option<&'n Node<'a>> {
    match node {
        Node::Map(entries) if entries.len() == 1 && entries[0].0 == MODULE_RECORD_TYPE => Some(&entries[0].1),
        _ => None,
    }
}

fn blank_to_none(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// Reads the properties of one of the module's records back into the record model.
pub fn read_module_record(properties: &Node<'_>) -> Result<MailAccessRecord, RecordError> {
    let wire = ModuleRecordWire::deserialize(NodeDeserializer::new(properties)).map_err(|e| {
        RecordError::new(ErrorKind::InvalidValue, format!("a MailAccessForensics.MailAccessRecord could not be read: {}", e.message))
    })?;
    let record_id = blank_to_none(wire.record_id);
    let fail = |kind, message: String| RecordError::new(kind, message).with_record_id(record_id.clone());
    let creation_time = match wire.creation_time.as_deref() {
        Some(text) => parse_timestamp(text, DateOrder::MonthFirst)
            .map_err(|reason| fail(ErrorKind::InvalidValue, format!("CreationTime: {reason}")))?,
        None => return Err(fail(ErrorKind::MissingField, "the record has no CreationTime".to_string())),
    };
    let issued_at_time = match wire.issued_at_time.as_deref() {
        Some(text) => Some(
            parse_timestamp(text, DateOrder::MonthFirst)
                .map_err(|reason| fail(ErrorKind::InvalidValue, format!("IssuedAtTime: {reason}")))?,
        ),
        None => None,
    };
    // The address as the record first wrote it, so that it normalises exactly as it did then.
    let client_address = blank_to_none(wire.client_ip_address_original)
        .or(blank_to_none(wire.client_ip_address))
        .and_then(|text| ClientAddress::parse(&text));
    let folders = wire
        .folder_details
        .unwrap_or_default()
        .into_iter()
        .map(|folder| match folder {
            FolderWire::Fields(f) => {
                FolderAccess { path: f.path.as_deref().and_then(normalize_folder_path), id: blank_to_none(f.id), item_count: f.item_count }
            }
            FolderWire::Path(path) => FolderAccess { path: normalize_folder_path(&path), id: None, item_count: None },
        })
        .collect();
    let mut items = Vec::new();
    for item in wire.items.unwrap_or_default() {
        let (id, folder, size) = match item {
            ItemWire::Fields(i) => (i.internet_message_id, i.folder_path, i.size_in_bytes),
            ItemWire::MessageId(id) => (Some(id), None, None),
        };
        let Some(internet_message_id) = id.as_deref().and_then(normalize_message_id) else {
            return Err(fail(ErrorKind::InvalidValue, "an item has no InternetMessageId".to_string()));
        };
        items.push(MessageItem {
            internet_message_id,
            folder_path: folder.as_deref().and_then(normalize_folder_path).map(std::sync::Arc::from),
            size_in_bytes: size,
        });
    }
    let degraded = match (wire.is_degraded, blank_to_none(wire.degraded_reason)) {
        (_, Some(reason)) => Some(reason),
        (Some(true), None) => Some("the record was marked degraded".to_string()),
        _ => None,
    };
    Ok(MailAccessRecord {
        record_id,
        creation_time,
        mailbox: blank_to_none(wire.mailbox),
        mailbox_guid: blank_to_none(wire.mailbox_guid),
        user_id: blank_to_none(wire.user_id),
        user_type: blank_to_none(wire.user_type).map(|t| UserType::from_text(&t)),
        access_type: wire.access_type.as_ref().map(AccessTypeWire::access_type).unwrap_or(MailAccessType::Unknown),
        is_throttled: wire.is_throttled,
        client_address,
        client_info_string: blank_to_none(wire.client_info_string),
        session_id: blank_to_none(wire.session_id),
        app_id: blank_to_none(wire.app_id),
        client_app_id: blank_to_none(wire.client_app_id),
        aad_session_id: blank_to_none(wire.aad_session_id),
        unique_token_id: blank_to_none(wire.unique_token_id),
        issued_at_time,
        logon_type: blank_to_none(wire.logon_type).map(|t| LogonType::from_text(&t)),
        external_access: wire.external_access,
        operation_count: wire.operation_count,
        originating_server: blank_to_none(wire.originating_server),
        folders,
        items,
        degraded,
        source: SourcePosition::default(),
        origin: blank_to_none(wire.source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::tree::{BatchReader, BatchWriter};

    fn read(build: impl FnOnce(&mut BatchWriter)) -> Result<MailAccessRecord, RecordError> {
        let mut writer = BatchWriter::default();
        build(&mut writer);
        let node = BatchReader::new(&writer.buf).next_node().unwrap();
        read_module_record(module_record_properties(&node).expect("a module record"))
    }

    #[test]
    fn a_record_read_back_is_the_record_written() {
        let record = read(|w| {
            w.map(1).key(MODULE_RECORD_TYPE).map(9);
            w.key("CreationTime").datetime(638_448_932_961_234_567);
            w.key("RecordId").string("r1");
            // Import-Clixml gives the enum back as its number.
            w.key("AccessType").int(2);
            w.key("ClientIPAddress").string("fe80::");
            w.key("ClientIPAddressOriginal").string("FE80::");
            w.key("FolderDetails").list(1).map(3).key("Path").string("\\Inbox").key("Id").null().key("ItemCount").null();
            w.key("Items").list(1).string("<a@b>");
            w.key("DegradedReason").string("FolderItems lost");
            w.key("Source").string("audit.csv:12");
        })
        .unwrap();
        assert_eq!(record.creation_time.to_rfc3339(), "2024-03-01T12:34:56.123456700+00:00");
        assert_eq!(record.access_type, MailAccessType::Sync);
        assert_eq!(record.client_address.as_ref().map(|a| (a.original.as_str(), a.canonical())), Some(("FE80::", "fe80::".to_string())));
        assert_eq!(record.folders[0].path.as_deref(), Some("\\Inbox"));
        assert_eq!(record.items[0].internet_message_id, "<a@b>");
        assert_eq!(record.degraded.as_deref(), Some("FolderItems lost"));
        assert_eq!(record.origin.as_deref(), Some("audit.csv:12"));
    }

    #[test]
    fn a_record_without_its_time_is_an_error_that_names_it() {
        let error = read(|w| {
            w.map(1).key(MODULE_RECORD_TYPE).map(1).key("RecordId").string("r2");
        })
        .unwrap_err();
        assert_eq!((error.kind, error.record_id.as_deref()), (ErrorKind::MissingField, Some("r2")));
    }

    #[test]
    fn other_maps_are_not_module_records() {
        let mut writer = BatchWriter::default();
        writer.map(2).key(MODULE_RECORD_TYPE).null().key("AuditData").string("{}");
        let node = BatchReader::new(&writer.buf).next_node().unwrap();
        assert!(module_record_properties(&node).is_none());
    }
}
