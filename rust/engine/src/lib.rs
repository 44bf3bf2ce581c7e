//! MailAccessForensics engine.
//!
//! Reads MailItemsAccessed audit records in every shape investigators hold them
//! ([`input`]), accounts for each one ([`session`], [`tally`]) and
//! answers Microsoft's four forensic questions over them.
//!
//! Nothing here knows about FFI or PowerShell: the `maf_native` crate is the C ABI over it.

pub mod address;
pub mod analysis;
pub mod collect;
pub mod completeness;
pub mod error;
pub mod input;
pub mod kql;
pub mod model;
pub mod report;
pub mod session;
pub mod tally;
pub mod time;
pub mod vocabulary;

pub use address::ClientAddress;
pub use error::{ErrorKind, RecordError};
pub use input::interpret::{
    interpret_fields, interpret_json, interpret_json_at, interpret_json_placed, result_position, InterpretOptions, Outcome, Placed,
    MAX_NESTING,
};
pub use model::{FolderAccess, LogonType, MailAccessRecord, MailAccessType, MessageItem, ResultPosition, SourcePosition, UserType};
pub use session::{BatchOutput, Session, SessionOptions};
pub use tally::Tally;
