//! Reading a bank report whose kind is not known in advance: a `pain.002` status report or a
//! `camt.054` debit/credit notification, told apart by the root's ISO 20022 namespace.
//!
//! ```
//! use catalyst_sepa::report::{read, BankReport};
//!
//! let xml = br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
//! <BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>N-1</MsgId><CreDtTm>2026-12-10T06:00:00</CreDtTm></GrpHdr>
//! </BkToCstmrDbtCdtNtfctn></Document>"#;
//! assert!(matches!(read(xml).unwrap(), BankReport::Notification(n) if n.message_id == "N-1"));
//!
//! let err = read(br#"<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"/>"#).unwrap_err();
//! assert!(err.to_string().starts_with("line 1, column 1: not a pain.002"), "{err}");
//! ```

use crate::camt054::{self, DebitCreditNotification};
use crate::file_error::FileError;
use crate::pain002::{self, StatusReport};
use crate::xml_read;

/// Largest report the readers accept, in bytes.
pub const MAX_REPORT_BYTES: usize = xml_read::MAX_FILE_BYTES;

/// A bank report of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankReport {
    /// A `pain.002` customer payment status report.
    StatusReport(StatusReport),
    /// A `camt.054` bank-to-customer debit/credit notification.
    Notification(DebitCreditNotification),
}

/// Reads `input` as a `pain.002` or a `camt.054` document (any version), by its root's
/// namespace; anything else is [`FileError::Malformed`] at the root element.
pub fn read(input: &[u8]) -> Result<BankReport, FileError> {
    let doc = xml_read::parse(input)?;
    let ns = doc.attr("xmlns").unwrap_or("");
    if doc.name == "Document" && ns.starts_with("urn:iso:std:iso:20022:tech:xsd:pain.002.") {
        return pain002::from_document(&doc).map(BankReport::StatusReport);
    }
    if doc.name == "Document" && ns.starts_with("urn:iso:std:iso:20022:tech:xsd:camt.054.") {
        return camt054::from_document(&doc).map(BankReport::Notification);
    }
    Err(doc.error(format!(
        "not a pain.002 status report nor a camt.054 notification (root <{}> in namespace {ns:?})",
        doc.name
    )))
}
