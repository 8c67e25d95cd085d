//! The ISO 20022 `pain.008` (CustomerDirectDebitInitiation) writer for SEPA Core Direct Debit.
//!
//! A [`Batch`] is written as one group header and one payment information block per
//! (sequence type, collection date), in the order they first appear. Amounts are minor units
//! written as exact decimals (`1999` -> `19.99`), never through floats. [`write`] checks the EPC
//! rules ([`crate::epc::validate`]) first and writes nothing when one is broken.
//!
//! ```
//! use catalyst_sepa::pain008::{Batch, Collection, Creditor, SequenceType, Version, write};
//! use catalyst_sepa::{Bic, CreditorId, validate};
//! use chrono::{NaiveDate, TimeZone, Utc};
//!
//! let batch = Batch {
//!     message_id: "MSG-2026-12-04-1".into(),
//!     created_at: Utc.with_ymd_and_hms(2026, 12, 4, 9, 30, 0).unwrap(),
//!     initiating_party: "Catalyst Demo GmbH".into(),
//!     creditor: Creditor {
//!         name: "Catalyst Demo GmbH".into(),
//!         iban: validate("DE89370400440532013000").unwrap(),
//!         bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
//!         creditor_id: CreditorId::parse("DE98ZZZ09999999999").unwrap(),
//!     },
//!     collections: vec![Collection {
//!         end_to_end_id: "E2E-1".into(),
//!         amount_minor: 1999,
//!         sequence: SequenceType::Frst,
//!         collection_date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
//!         mandate_id: "MANDATE-1".into(),
//!         mandate_signed_on: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
//!         amendment: None,
//!         debtor_name: "Max Mustermann".into(),
//!         debtor_iban: validate("DE02120300000000202051").unwrap(),
//!         debtor_bic: None,
//!         remittance_information: Some("Order 42".into()),
//!     }],
//! };
//! let xml = String::from_utf8(write(&batch, Version::V08).unwrap()).unwrap();
//! assert!(xml.contains("<NbOfTxs>1</NbOfTxs><CtrlSum>19.99</CtrlSum>"));
//! assert!(xml.contains("<InstdAmt Ccy=\"EUR\">19.99</InstdAmt>"));
//! ```

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::epc;
use crate::file_error::FileError;
use crate::{Bic, CreditorId, ValidIban};

/// The pain.008 message version to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// `pain.008.001.02` (SEPA rulebook 2009-2023; some banks still require it).
    V02,
    /// `pain.008.001.08` (SEPA rulebook from November 2023).
    V08,
}

impl Version {
    /// The XML namespace of the version.
    pub fn namespace(self) -> &'static str {
        match self {
            Version::V02 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02",
            Version::V08 => "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08",
        }
    }

    /// The message name, e.g. `pain.008.001.08`.
    pub fn message_name(self) -> &'static str {
        match self {
            Version::V02 => "pain.008.001.02",
            Version::V08 => "pain.008.001.08",
        }
    }

    fn bic_tag(self) -> &'static str {
        match self {
            Version::V02 => "BIC",
            Version::V08 => "BICFI",
        }
    }
}

/// The SEPA sequence type of a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SequenceType {
    /// First collection of a recurrent mandate.
    Frst,
    /// Subsequent collection of a recurrent mandate.
    Rcur,
    /// One-off collection.
    Ooff,
    /// Final collection of a recurrent mandate.
    Fnal,
}

impl SequenceType {
    /// The ISO code (`FRST`, `RCUR`, `OOFF`, `FNAL`).
    pub fn code(self) -> &'static str {
        match self {
            SequenceType::Frst => "FRST",
            SequenceType::Rcur => "RCUR",
            SequenceType::Ooff => "OOFF",
            SequenceType::Fnal => "FNAL",
        }
    }
}

/// The creditor: who collects, into which account, under which creditor identifier.
#[derive(Debug, Clone)]
pub struct Creditor {
    /// Creditor name (SEPA Latin, at most 70 characters).
    pub name: String,
    /// The creditor's account.
    pub iban: ValidIban,
    /// The creditor's bank; `None` writes `NOTPROVIDED` (allowed inside the EEA).
    pub bic: Option<Bic>,
    /// The SEPA creditor identifier (validated by its type).
    pub creditor_id: CreditorId,
}

/// What changed on a mandate since the last collection (written as `AmdmntInd` true with
/// `AmdmntInfDtls`); at least one field should be set.
#[derive(Debug, Clone, Default)]
pub struct Amendment {
    /// The mandate id before it changed.
    pub original_mandate_id: Option<String>,
    /// The creditor identifier before it changed.
    pub original_creditor_id: Option<CreditorId>,
    /// The debtor IBAN before it changed (same bank).
    pub original_debtor_iban: Option<ValidIban>,
    /// The debtor moved to another bank: writes `OrgnlDbtrAgt` `SMNDA` (since the 2016
    /// rulebook the collection may stay RCUR).
    pub debtor_changed_bank: bool,
}

/// One direct debit transaction.
#[derive(Debug, Clone)]
pub struct Collection {
    /// End-to-end id, unique in the batch (returned in pain.002 and camt.054).
    pub end_to_end_id: String,
    /// Amount in euro cents (> 0, at most 99 999 999 999).
    pub amount_minor: i64,
    /// Sequence type.
    pub sequence: SequenceType,
    /// Requested collection date.
    pub collection_date: NaiveDate,
    /// Unique mandate reference.
    pub mandate_id: String,
    /// Date the mandate was signed.
    pub mandate_signed_on: NaiveDate,
    /// Mandate changes since the last collection, if any.
    pub amendment: Option<Amendment>,
    /// Debtor name (SEPA Latin, at most 70 characters; see [`crate::epc::transliterate`]).
    pub debtor_name: String,
    /// Debtor account.
    pub debtor_iban: ValidIban,
    /// Debtor bank; `None` writes `NOTPROVIDED`.
    pub debtor_bic: Option<Bic>,
    /// Unstructured remittance information (at most 140 SEPA Latin characters).
    pub remittance_information: Option<String>,
}

/// A collection file's content.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Message id (`MsgId`), unique per creditor; payment information ids derive from it.
    pub message_id: String,
    /// Creation time (`CreDtTm`); its UTC date is the "today" of the collection-date rule.
    pub created_at: DateTime<Utc>,
    /// Initiating party name.
    pub initiating_party: String,
    /// The creditor.
    pub creditor: Creditor,
    /// The collections, at least one.
    pub collections: Vec<Collection>,
}

/// One payment information block: the collections of one sequence type and collection date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentGroup {
    /// `PmtInfId`: the message id, `-`, a 1-based block number.
    pub payment_information_id: String,
    /// Sequence type of the block.
    pub sequence: SequenceType,
    /// Collection date of the block.
    pub collection_date: NaiveDate,
    /// Indexes into [`Batch::collections`], in batch order.
    pub collections: Vec<usize>,
}

impl Batch {
    /// Number of collections (`NbOfTxs`).
    pub fn number_of_transactions(&self) -> usize {
        self.collections.len()
    }

    /// Sum of the amounts in minor units (`CtrlSum`); saturates instead of overflowing.
    pub fn control_sum_minor(&self) -> i64 {
        self.collections
            .iter()
            .fold(0i64, |s, c| s.saturating_add(c.amount_minor))
    }

    /// The payment information blocks [`write`] produces, grouped by (sequence type, collection
    /// date) in order of first appearance. `PmtInfId`s are `{message_id}-{n}` cut to 35 chars.
    pub fn payment_groups(&self) -> Vec<PaymentGroup> {
        let mut groups: Vec<PaymentGroup> = Vec::new();
        for (i, c) in self.collections.iter().enumerate() {
            match groups
                .iter_mut()
                .find(|g| g.sequence == c.sequence && g.collection_date == c.collection_date)
            {
                Some(g) => g.collections.push(i),
                None => {
                    let n = groups.len() + 1;
                    let suffix = format!("-{n}");
                    let keep = epc::MAX_ID_CHARS - suffix.len();
                    let base: String = self.message_id.chars().take(keep).collect();
                    groups.push(PaymentGroup {
                        payment_information_id: format!("{base}{suffix}"),
                        sequence: c.sequence,
                        collection_date: c.collection_date,
                        collections: vec![i],
                    });
                }
            }
        }
        groups
    }
}

/// Formats minor units as an exact decimal with two places (`1999` -> `"19.99"`, `-5` -> `"-0.05"`).
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Writes `batch` as a UTF-8 pain.008 document of `version`, after checking the EPC rules
/// against the creation date. Errors: [`FileError::Empty`], [`FileError::Epc`].
pub fn write(batch: &Batch, version: Version) -> Result<Vec<u8>, FileError> {
    if batch.collections.is_empty() {
        return Err(FileError::Empty);
    }
    epc::validate(batch, batch.created_at.date_naive()).map_err(FileError::Epc)?;
    let mut x = Xml {
        w: Writer::new(Vec::new()),
        version,
    };
    x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(write_err)?;
    let mut doc = BytesStart::new("Document");
    doc.push_attribute(("xmlns", version.namespace()));
    doc.push_attribute(("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"));
    x.w.write_event(Event::Start(doc)).map_err(write_err)?;
    x.open("CstmrDrctDbtInitn")?;

    x.open("GrpHdr")?;
    x.text("MsgId", &batch.message_id)?;
    x.text(
        "CreDtTm",
        &batch
            .created_at
            .to_rfc3339_opts(SecondsFormat::Secs, false)
            .replace("+00:00", ""),
    )?;
    x.text("NbOfTxs", &batch.number_of_transactions().to_string())?;
    x.text("CtrlSum", &format_minor(batch.control_sum_minor()))?;
    x.open("InitgPty")?;
    x.text("Nm", &batch.initiating_party)?;
    x.close("InitgPty")?;
    x.close("GrpHdr")?;

    for group in batch.payment_groups() {
        let cols: Vec<&Collection> = group
            .collections
            .iter()
            .map(|&i| &batch.collections[i])
            .collect();
        let sum = cols
            .iter()
            .fold(0i64, |s, c| s.saturating_add(c.amount_minor));
        x.open("PmtInf")?;
        x.text("PmtInfId", &group.payment_information_id)?;
        x.text("PmtMtd", "DD")?;
        x.text("NbOfTxs", &cols.len().to_string())?;
        x.text("CtrlSum", &format_minor(sum))?;
        x.open("PmtTpInf")?;
        x.open("SvcLvl")?;
        x.text("Cd", "SEPA")?;
        x.close("SvcLvl")?;
        x.open("LclInstrm")?;
        x.text("Cd", "CORE")?;
        x.close("LclInstrm")?;
        x.text("SeqTp", group.sequence.code())?;
        x.close("PmtTpInf")?;
        x.text(
            "ReqdColltnDt",
            &group.collection_date.format("%Y-%m-%d").to_string(),
        )?;
        x.open("Cdtr")?;
        x.text("Nm", &batch.creditor.name)?;
        x.close("Cdtr")?;
        x.account("CdtrAcct", &batch.creditor.iban)?;
        x.agent("CdtrAgt", batch.creditor.bic.as_ref())?;
        x.text("ChrgBr", "SLEV")?;
        x.scheme_id("CdtrSchmeId", &batch.creditor.creditor_id)?;
        for c in cols {
            x.transaction(c)?;
        }
        x.close("PmtInf")?;
    }

    x.close("CstmrDrctDbtInitn")?;
    x.close("Document")?;
    Ok(x.w.into_inner())
}

fn write_err(e: impl std::fmt::Display) -> FileError {
    FileError::Write(e.to_string())
}

struct Xml {
    w: Writer<Vec<u8>>,
    version: Version,
}

impl Xml {
    fn open(&mut self, tag: &str) -> Result<(), FileError> {
        self.w
            .write_event(Event::Start(BytesStart::new(tag)))
            .map_err(write_err)
    }

    fn close(&mut self, tag: &str) -> Result<(), FileError> {
        self.w
            .write_event(Event::End(BytesEnd::new(tag)))
            .map_err(write_err)
    }

    fn text(&mut self, tag: &str, value: &str) -> Result<(), FileError> {
        self.open(tag)?;
        self.w
            .write_event(Event::Text(BytesText::new(value)))
            .map_err(write_err)?;
        self.close(tag)
    }

    fn account(&mut self, tag: &str, iban: &ValidIban) -> Result<(), FileError> {
        self.open(tag)?;
        self.open("Id")?;
        self.text("IBAN", iban.as_str())?;
        self.close("Id")?;
        self.close(tag)
    }

    fn agent(&mut self, tag: &str, bic: Option<&Bic>) -> Result<(), FileError> {
        self.open(tag)?;
        self.open("FinInstnId")?;
        match bic {
            Some(b) => self.text(self.version.bic_tag(), b.as_str())?,
            None => {
                self.open("Othr")?;
                self.text("Id", "NOTPROVIDED")?;
                self.close("Othr")?;
            }
        }
        self.close("FinInstnId")?;
        self.close(tag)
    }

    fn scheme_id(&mut self, tag: &str, id: &CreditorId) -> Result<(), FileError> {
        self.open(tag)?;
        self.open("Id")?;
        self.open("PrvtId")?;
        self.open("Othr")?;
        self.text("Id", id.as_str())?;
        self.open("SchmeNm")?;
        self.text("Prtry", "SEPA")?;
        self.close("SchmeNm")?;
        self.close("Othr")?;
        self.close("PrvtId")?;
        self.close("Id")?;
        self.close(tag)
    }

    fn transaction(&mut self, c: &Collection) -> Result<(), FileError> {
        self.open("DrctDbtTxInf")?;
        self.open("PmtId")?;
        self.text("EndToEndId", &c.end_to_end_id)?;
        self.close("PmtId")?;
        let mut amt = BytesStart::new("InstdAmt");
        amt.push_attribute(("Ccy", "EUR"));
        self.w.write_event(Event::Start(amt)).map_err(write_err)?;
        self.w
            .write_event(Event::Text(BytesText::new(&format_minor(c.amount_minor))))
            .map_err(write_err)?;
        self.close("InstdAmt")?;
        self.open("DrctDbtTx")?;
        self.open("MndtRltdInf")?;
        self.text("MndtId", &c.mandate_id)?;
        self.text(
            "DtOfSgntr",
            &c.mandate_signed_on.format("%Y-%m-%d").to_string(),
        )?;
        match &c.amendment {
            None => self.text("AmdmntInd", "false")?,
            Some(a) => {
                self.text("AmdmntInd", "true")?;
                self.open("AmdmntInfDtls")?;
                if let Some(id) = &a.original_mandate_id {
                    self.text("OrgnlMndtId", id)?;
                }
                if let Some(id) = &a.original_creditor_id {
                    self.scheme_id("OrgnlCdtrSchmeId", id)?;
                }
                if let Some(iban) = &a.original_debtor_iban {
                    self.account("OrgnlDbtrAcct", iban)?;
                }
                if a.debtor_changed_bank {
                    self.open("OrgnlDbtrAgt")?;
                    self.open("FinInstnId")?;
                    self.open("Othr")?;
                    self.text("Id", "SMNDA")?;
                    self.close("Othr")?;
                    self.close("FinInstnId")?;
                    self.close("OrgnlDbtrAgt")?;
                }
                self.close("AmdmntInfDtls")?;
            }
        }
        self.close("MndtRltdInf")?;
        self.close("DrctDbtTx")?;
        self.agent("DbtrAgt", c.debtor_bic.as_ref())?;
        self.open("Dbtr")?;
        self.text("Nm", &c.debtor_name)?;
        self.close("Dbtr")?;
        self.account("DbtrAcct", &c.debtor_iban)?;
        if let Some(r) = &c.remittance_information {
            self.open("RmtInf")?;
            self.text("Ustrd", r)?;
            self.close("RmtInf")?;
        }
        self.close("DrctDbtTxInf")
    }
}

/// The end-to-end ids of one payment information block of a written pain.008, as [`blocks`]
/// reads them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBlock {
    /// `PmtInfId`.
    pub payment_information_id: String,
    /// The `EndToEndId` of each collection in the block, in file order.
    pub end_to_end_ids: Vec<String>,
}

/// Reads the payment information blocks of a pain.008 file (either version): which collections
/// each `PmtInfId` holds. A bank that refuses a whole block reports only its `PmtInfId`; this
/// says which collections that refusal covers. Errors as [`crate::pain002::read`]'s.
pub fn blocks(input: &[u8]) -> Result<Vec<WrittenBlock>, FileError> {
    let doc = crate::xml_read::parse(input)?;
    let ns = doc.attr("xmlns").unwrap_or("");
    if doc.name != "Document" || !ns.starts_with("urn:iso:std:iso:20022:tech:xsd:pain.008.") {
        return Err(doc.error(format!(
            "not a pain.008 document (root <{}> in namespace {ns:?})",
            doc.name
        )));
    }
    let initiation = doc
        .child("CstmrDrctDbtInitn")
        .ok_or_else(|| doc.error("no <CstmrDrctDbtInitn>".into()))?;
    initiation
        .all("PmtInf")
        .map(|block| {
            Ok(WrittenBlock {
                payment_information_id: block.required(&["PmtInfId"])?,
                end_to_end_ids: block
                    .all("DrctDbtTxInf")
                    .map(|t| t.required(&["PmtId", "EndToEndId"]))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::format_minor;

    #[test]
    fn minor_units_format_exactly() {
        assert_eq!(format_minor(0), "0.00");
        assert_eq!(format_minor(5), "0.05");
        assert_eq!(format_minor(1999), "19.99");
        assert_eq!(format_minor(99_999_999_999), "999999999.99");
        assert_eq!(format_minor(-5), "-0.05");
        assert_eq!(format_minor(i64::MIN), "-92233720368547758.08");
    }
}
