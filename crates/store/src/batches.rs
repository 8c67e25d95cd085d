//! Bank-file batches of `BATCH` gateways (issue 15): [`cut`] puts a gateway's pending
//! collections that no batch carries yet into one `pain.008` file, in one database transaction.
//!
//! A transaction is in at most one batch: `batch_transactions` is keyed by the transaction, so
//! when two cuts race on PostgreSQL the later insert fails with a unique violation, its whole
//! transaction rolls back and [`cut`] starts over (the collections the winner took are then no
//! longer pending-and-unbatched). On SQLite `BEGIN IMMEDIATE` serialises the cuts outright.
//!
//! What the file carries for each collection (the contract with the bank-report import):
//! - `EndToEndId`: the transaction id as a UUID in simple form (32 lowercase hex digits);
//! - `MsgId`: `B` + the batch id in simple form; `PmtInfId`s derive from it (`…-1`, `…-2`);
//! - the sequence type, see [`sequence_of`];
//! - the mandate reference and the date it was signed; an amendment only when the creditor
//!   identifier changed since the mandate's last filed collection (the batch stores the one it
//!   was filed under; the business code may change without one, EPC rulebook). A changed IBAN
//!   or reference is a new mandate in this data model, so never an amendment;
//! - the debtor's name and IBAN, opened from their sealed columns here and never logged; the
//!   name is transliterated to the SEPA Latin set and cut to 70 characters;
//! - remittance information `Order <order number>`.

use catalyst_domain::transaction::{SequenceType as Stored, TransactionStatus};
use catalyst_domain::{BatchId, GatewayId, TenantId, TransactionId};
use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use diesel::prelude::*;

use catalyst_sepa::epc;
use catalyst_sepa::pain008::{self, Collection, Creditor, SequenceType, Version};

use crate::connection::on_backend;
use crate::payments::{HOLDER_CONTEXT, IBAN_CONTEXT, Mandate, Transaction};
use crate::schema::{
    batch_transactions, batches, mandates, orders, payment_sessions, transactions,
};
use crate::sessions::{Order, PaymentSession};
use crate::{Cipher, DbConnection, StoreError, tx};

/// Most collections in one file; what is left goes into the next cut. Keeps every `IN (…)`
/// list below the backends' bind-parameter limits and files at a size banks take (~500 bytes a
/// collection).
pub const MAX_COLLECTIONS_PER_FILE: i64 = 10_000;

/// How often a cut that lost a race to another cut starts over before giving up.
const CUT_ATTEMPTS: u32 = 5;

/// A cut pain.008 file: the `batches` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = batches)]
pub struct Batch {
    /// UUID v7.
    pub id: BatchId,
    pub tenant_id: TenantId,
    pub gateway_id: GatewayId,
    /// The requested collection date of every collection in the file.
    pub collection_date: NaiveDate,
    /// `pain.008.001.08` or `pain.008.001.02`.
    pub pain_version: String,
    /// The file's `MsgId`.
    pub message_id: String,
    pub transaction_count: i32,
    /// The file's control sum in minor units.
    pub control_sum_minor: i64,
    /// The pain.008 document (UTF-8 XML).
    pub file: Vec<u8>,
    pub created_at: NaiveDateTime,
    /// The creditor identifier the file was filed under (`None` for batches cut before it was
    /// recorded).
    pub creditor_id: Option<String>,
}

/// A batch without its file, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = batches)]
pub struct BatchSummary {
    pub id: BatchId,
    pub tenant_id: TenantId,
    pub gateway_id: GatewayId,
    pub collection_date: NaiveDate,
    pub pain_version: String,
    pub message_id: String,
    pub transaction_count: i32,
    pub control_sum_minor: i64,
    pub created_at: NaiveDateTime,
}

impl crate::pagination::Keyed for BatchSummary {
    fn key(&self) -> &str {
        &self.id
    }
}

impl From<&Batch> for BatchSummary {
    fn from(b: &Batch) -> Self {
        BatchSummary {
            id: b.id.clone(),
            tenant_id: b.tenant_id.clone(),
            gateway_id: b.gateway_id.clone(),
            collection_date: b.collection_date,
            pain_version: b.pain_version.clone(),
            message_id: b.message_id.clone(),
            transaction_count: b.transaction_count,
            control_sum_minor: b.control_sum_minor,
            created_at: b.created_at,
        }
    }
}

/// What to cut: the gateway (already checked to be a `BATCH` gateway of the tenant) and the
/// creditor and file version from its credentials.
#[derive(Debug, Clone)]
pub struct CutRequest {
    pub tenant_id: TenantId,
    pub gateway_id: GatewayId,
    /// The creditor of the file (from the gateway's credentials).
    pub creditor: Creditor,
    /// The file's version.
    pub version: Version,
    /// The collection date of every collection; `None`: [`earliest_collection_date`].
    pub collection_date: Option<NaiveDate>,
    /// Creation time (`CreDtTm`); its date is the "today" of the collection-date rule.
    pub now: NaiveDateTime,
}

/// A cut's result.
#[derive(Debug)]
pub enum Cut {
    /// Nothing was pending outside a batch: no file, nothing written.
    Empty,
    /// The batch written.
    Cut(Batch),
}

/// Why a cut wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum CutError {
    /// The requested collection date is not a TARGET2 business day at least one business day
    /// after the cut.
    #[error(
        "the collection date {date} is too early or not a TARGET2 business day (earliest: {earliest})"
    )]
    CollectionDate {
        /// The date asked for.
        date: NaiveDate,
        /// The earliest date allowed.
        earliest: NaiveDate,
    },
    /// The collections break an EPC rule (a mandate reference outside the id set, say): the
    /// file was not written.
    #[error("the bank file breaks EPC rules: {0}")]
    File(#[from] catalyst_sepa::FileError),
    /// The database failed, or a sealed value or stored IBAN could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for CutError {
    fn from(e: diesel::result::Error) -> Self {
        CutError::Store(e.into())
    }
}

/// The earliest collection date for a file cut on `today`: the first TARGET2 business day
/// after it.
pub fn earliest_collection_date(today: NaiveDate) -> NaiveDate {
    catalyst_sepa::calendar::next_business_day(today)
}

/// The end-to-end id of a transaction in a bank file: its UUID in simple form.
pub fn end_to_end_id(transaction_id: &TransactionId) -> String {
    uuid::Uuid::parse_str(transaction_id)
        .map(|u| u.simple().to_string())
        .unwrap_or_else(|_| transaction_id.replace('-', ""))
}

/// Cuts a batch of `req.gateway_id`'s pending collections in one database transaction
/// (retried when another cut took some of them first); see the module documentation.
pub fn cut(conn: &mut DbConnection, cipher: &Cipher, req: &CutRequest) -> Result<Cut, CutError> {
    let today = req.now.date();
    let earliest = earliest_collection_date(today);
    let date = req.collection_date.unwrap_or(earliest);
    if !catalyst_sepa::calendar::is_valid_collection_date(today, date) {
        return Err(CutError::CollectionDate { date, earliest });
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match tx::write(conn, |c| cut_once(c, cipher, req, date)) {
            Err(CutError::Store(StoreError::Conflict(_))) if attempt < CUT_ATTEMPTS => {
                tracing::info!(gateway = %req.gateway_id, attempt, "another cut took collections first; cutting again");
            }
            other => return other,
        }
    }
}

fn cut_once(
    conn: &mut DbConnection,
    cipher: &Cipher,
    req: &CutRequest,
    date: NaiveDate,
) -> Result<Cut, CutError> {
    let pending = unbatched_pending(conn, &req.tenant_id, &req.gateway_id)?;
    if pending.is_empty() {
        return Ok(Cut::Empty);
    }
    let distinct = |ids: Vec<String>| -> Vec<String> {
        let set: std::collections::BTreeSet<String> = ids.into_iter().collect();
        set.into_iter().collect()
    };
    let mandate_ids = distinct(pending.iter().map(|t| t.mandate_id.to_string()).collect());
    let mandates: Vec<Mandate> = on_backend!(conn, |c| mandates::table
        .filter(mandates::id.eq_any(&mandate_ids))
        .select(Mandate::as_select())
        .load(c))?;
    let sent = mandates_sent_before(conn, &mandate_ids)?;
    let filed_under = creditors_filed_under(conn, &mandate_ids)?;
    let order_ids = distinct(pending.iter().map(|t| t.order_id.to_string()).collect());
    let orders: Vec<Order> = on_backend!(conn, |c| orders::table
        .filter(orders::id.eq_any(&order_ids))
        .select(Order::as_select())
        .load(c))?;
    let session_ids: Vec<String> = pending
        .iter()
        .filter_map(|t| t.session_id.as_ref().map(ToString::to_string))
        .collect();
    let sessions: Vec<PaymentSession> = on_backend!(conn, |c| payment_sessions::table
        .filter(payment_sessions::id.eq_any(&session_ids))
        .select(PaymentSession::as_select())
        .load(c))?;

    let mut first_in_file = std::collections::HashSet::new();
    let mut collections = Vec::with_capacity(pending.len());
    for t in &pending {
        let mandate = mandates
            .iter()
            .find(|m| m.id == t.mandate_id && m.tenant_id == req.tenant_id)
            .ok_or(StoreError::NotFound)?;
        let session = t
            .session_id
            .as_ref()
            .and_then(|id| sessions.iter().find(|s| &s.id == id));
        let earlier =
            sent.contains(mandate.id.as_str()) || !first_in_file.insert(mandate.id.clone());
        let order = orders.iter().find(|o| o.id == t.order_id);
        let mut c = collection(cipher, t, mandate, session, order, earlier, date)?;
        if c.sequence == SequenceType::Rcur {
            c.amendment = filed_under
                .get(mandate.id.as_str())
                .and_then(|old| catalyst_sepa::CreditorId::parse(old).ok())
                .filter(|old| !old.is_same_creditor(&req.creditor.creditor_id))
                .map(|old| pain008::Amendment {
                    original_creditor_id: Some(old),
                    ..Default::default()
                });
        }
        collections.push(c);
    }

    let id = uuid::Uuid::now_v7();
    let message_id = format!("B{}", id.simple());
    let file = pain008::Batch {
        message_id: message_id.clone(),
        created_at: Utc.from_utc_datetime(&req.now),
        initiating_party: req.creditor.name.clone(),
        creditor: req.creditor.clone(),
        collections,
    };
    epc::validate(&file, req.now.date())
        .map_err(|v| CutError::File(catalyst_sepa::FileError::Epc(v)))?;
    let xml = pain008::write(&file, req.version)?;
    let batch = Batch {
        id: BatchId::from_uuid(id),
        tenant_id: req.tenant_id.clone(),
        gateway_id: req.gateway_id.clone(),
        collection_date: date,
        pain_version: req.version.message_name().to_owned(),
        message_id,
        transaction_count: i32::try_from(file.number_of_transactions())
            .map_err(|_| StoreError::Corrupt("too many collections for one file".into()))?,
        control_sum_minor: file.control_sum_minor(),
        file: xml,
        created_at: req.now,
        creditor_id: Some(req.creditor.creditor_id.as_str().to_owned()),
    };
    on_backend!(conn, |c| diesel::insert_into(batches::table)
        .values(&batch)
        .execute(c))?;
    for t in &pending {
        on_backend!(conn, |c| diesel::insert_into(batch_transactions::table)
            .values((
                batch_transactions::transaction_id.eq(&t.id),
                batch_transactions::batch_id.eq(&batch.id),
            ))
            .execute(c))?;
    }
    Ok(Cut::Cut(batch))
}

/// The tenant's pending EUR debits on the gateway that no batch carries, oldest first, at most
/// [`MAX_COLLECTIONS_PER_FILE`].
fn unbatched_pending(
    conn: &mut DbConnection,
    tenant: &TenantId,
    gateway: &GatewayId,
) -> Result<Vec<Transaction>, StoreError> {
    Ok(on_backend!(conn, |c| transactions::table
        .filter(transactions::gateway_id.eq(gateway))
        .filter(transactions::tenant_id.eq(tenant))
        .filter(transactions::status.eq(TransactionStatus::Pending))
        .filter(transactions::kind.eq_any(crate::refunds::REFUNDABLE_KINDS))
        .filter(transactions::currency.eq("EUR"))
        .filter(diesel::dsl::not(transactions::id.eq_any(
            batch_transactions::table.select(batch_transactions::transaction_id)
        ),))
        .order(transactions::id.asc())
        .limit(MAX_COLLECTIONS_PER_FILE)
        .select(Transaction::as_select())
        .load(c))?)
}

/// Which of `mandate_ids` already have a collection in an earlier batch that the bank has not
/// refused (still pending, or approved).
fn mandates_sent_before(
    conn: &mut DbConnection,
    mandate_ids: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let rows: Vec<String> = on_backend!(conn, |c| transactions::table
        .filter(transactions::mandate_id.eq_any(mandate_ids))
        .filter(
            transactions::status.eq_any([TransactionStatus::Pending, TransactionStatus::Approved])
        )
        .filter(
            transactions::id
                .eq_any(batch_transactions::table.select(batch_transactions::transaction_id)),
        )
        .select(transactions::mandate_id)
        .load(c))?;
    Ok(rows.into_iter().collect())
}

/// For each of `mandate_ids` with a filed collection the bank has not refused, the creditor
/// identifier of the newest batch that carried one.
fn creditors_filed_under(
    conn: &mut DbConnection,
    mandate_ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    let rows: Vec<(String, Option<String>)> = on_backend!(conn, |c| transactions::table
        .inner_join(
            batch_transactions::table.on(batch_transactions::transaction_id.eq(transactions::id)),
        )
        .inner_join(batches::table.on(batches::id.eq(batch_transactions::batch_id)))
        .filter(transactions::mandate_id.eq_any(mandate_ids))
        .filter(
            transactions::status.eq_any([TransactionStatus::Pending, TransactionStatus::Approved])
        )
        .order(batches::created_at.asc())
        .select((transactions::mandate_id, batches::creditor_id))
        .load(c))?;
    // Ascending: the newest batch's identifier is inserted last and wins.
    Ok(rows
        .into_iter()
        .filter_map(|(mandate, creditor)| Some((mandate, creditor?)))
        .collect())
}

/// The sequence type of a collection: `OOFF` for the payment of a one-off session whose mandate
/// was not saved for later charges; otherwise `FRST` for the first collection under the mandate
/// (no earlier approved one, none in an earlier batch still open or approved, none earlier in
/// this file), `RCUR` after.
pub fn sequence_of(
    t: &Transaction,
    mandate: &Mandate,
    session: Option<&PaymentSession>,
    earlier_collection: bool,
) -> SequenceType {
    let one_off = t.subscription_id.is_none()
        && session.is_some_and(|s| s.billing_type == "ONE_OFF" && s.customer_id.is_none());
    if one_off {
        SequenceType::Ooff
    } else if t.sequence_type == Stored::Recurring
        || mandate.sequence_type == Stored::Recurring
        || earlier_collection
    {
        SequenceType::Rcur
    } else {
        SequenceType::Frst
    }
}

fn collection(
    cipher: &Cipher,
    t: &Transaction,
    mandate: &Mandate,
    session: Option<&PaymentSession>,
    order: Option<&Order>,
    earlier_collection: bool,
    date: NaiveDate,
) -> Result<Collection, StoreError> {
    let iban = String::from_utf8(cipher.open(IBAN_CONTEXT, &mandate.iban_sealed)?)
        .map_err(|_| StoreError::Crypto)?;
    let debtor_iban = catalyst_sepa::validate(&iban)
        .map_err(|_| StoreError::Corrupt(format!("mandate {}: stored IBAN invalid", mandate.id)))?;
    let holder = String::from_utf8(cipher.open(HOLDER_CONTEXT, &mandate.holder_sealed)?)
        .map_err(|_| StoreError::Crypto)?;
    let debtor_name: String = epc::transliterate(holder.trim())
        .chars()
        .take(epc::MAX_NAME_CHARS)
        .collect();
    Ok(Collection {
        end_to_end_id: end_to_end_id(&t.id),
        amount_minor: t.amount_minor,
        sequence: sequence_of(t, mandate, session, earlier_collection),
        collection_date: date,
        mandate_id: mandate.reference.clone(),
        mandate_signed_on: mandate.signed_at.date(),
        amendment: None,
        debtor_name,
        debtor_iban,
        debtor_bic: mandate
            .bic
            .as_deref()
            .and_then(|b| catalyst_sepa::Bic::parse(b).ok()),
        remittance_information: order.map(|o| {
            epc::transliterate(&format!("Order {}", o.order_number))
                .chars()
                .take(epc::MAX_REMITTANCE_CHARS)
                .collect()
        }),
    })
}

/// One batch of the tenant, with its file; another tenant's is not found.
pub fn find(
    conn: &mut DbConnection,
    tenant: &TenantId,
    gateway: &GatewayId,
    id: &BatchId,
) -> Result<Batch, StoreError> {
    let batch: Batch = on_backend!(conn, |c| batches::table
        .filter(batches::id.eq(id))
        .select(Batch::as_select())
        .first(c))?;
    if batch.tenant_id == *tenant && batch.gateway_id == *gateway {
        Ok(batch)
    } else {
        Err(StoreError::NotFound)
    }
}

/// One page of the gateway's batches, newest first, without their files.
pub fn page(
    conn: &mut DbConnection,
    tenant: &TenantId,
    gateway: &GatewayId,
    page: &crate::PageRequest,
) -> Result<crate::Page<BatchSummary>, StoreError> {
    Ok(crate::pagination::load_page!(
        batches::table
            .filter(batches::tenant_id.eq(tenant.to_owned()))
            .filter(batches::gateway_id.eq(gateway.to_owned()))
            .select(BatchSummary::as_select()),
        batches::id,
        page,
        conn
    ))
}

/// The transaction ids a batch carries.
pub fn transaction_ids(
    conn: &mut DbConnection,
    batch_id: &BatchId,
) -> Result<Vec<String>, StoreError> {
    Ok(on_backend!(conn, |c| batch_transactions::table
        .filter(batch_transactions::batch_id.eq(batch_id))
        .order(batch_transactions::transaction_id.asc())
        .select(batch_transactions::transaction_id)
        .load(c))?)
}

/// The active `BATCH` gateways, of one tenant or all, optionally only `gateway` (the CLI's
/// export runs over these), oldest first.
pub fn batch_gateways(
    conn: &mut DbConnection,
    tenant: Option<&str>,
    gateway: Option<&str>,
) -> Result<Vec<crate::Gateway>, StoreError> {
    use crate::schema::gateways;
    let rows: Vec<crate::Gateway> = on_backend!(conn, |c| gateways::table
        .filter(gateways::adapter.eq("BATCH"))
        .filter(gateways::active.eq(true))
        .select(crate::Gateway::as_select())
        .order(gateways::id.asc())
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter(|g| tenant.is_none_or(|t| g.tenant_id == t))
        .filter(|g| gateway.is_none_or(|id| g.id == id))
        .collect())
}
