//! The rules of each import kind's rows: every cell validated as the API validates the same
//! field, then the store checks the row's references (an order, a gateway, a transaction of the
//! tenant) and writes it unless the import is only being checked.

use catalyst_domain::lead::NewLead;
use catalyst_domain::status::OrderStatus;
use catalyst_domain::transaction::SequenceType;
use catalyst_domain::validation::messages;
use catalyst_store::imports::{
    self, Account, ChargebackRow, ImportedOutcome, LeadRow, OrderRow, Rejection, Target,
    TransactionRow,
};
use catalyst_store::reversals::ReversalKind;
use catalyst_store::{Cipher, DbConnection, StoreError, now};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::Kind;
use crate::customers::charges::{amount, currency};

/// Why one row was not written: a bad cell (column, message) or the database.
pub(super) enum Bad {
    Row(String, String),
    Store(StoreError),
}

impl From<Rejection> for Bad {
    fn from(r: Rejection) -> Self {
        Bad::Row(r.column.to_owned(), r.message)
    }
}

/// A row's cells by column name (trimmed; an absent optional column reads as empty).
type Fields<'a> = dyn Fn(&str) -> String + 'a;

/// Validates a lead row as a session's `lead` object; writes it unless `check_only`.
pub(super) fn lead(
    conn: &mut DbConnection,
    target: Target<'_>,
    field: &Fields<'_>,
    check_only: bool,
) -> Result<(), Bad> {
    let (required, optional) = Kind::Leads.columns();
    let object: serde_json::Map<String, Value> = required
        .iter()
        .chain(optional)
        .map(|c| ((*c).to_owned(), Value::String(field(c))))
        .collect();
    let lead = NewLead::from_json(&Value::Object(object)).map_err(|errors| {
        let (column, messages) = errors.into_map().into_iter().next().unwrap_or_default();
        Bad::Row(column, messages.join(" "))
    })?;
    if check_only {
        return Ok(());
    }
    let row = LeadRow {
        email: lead.email,
        first_name: lead.first_name,
        last_name: lead.last_name,
        country: lead.country,
        address: lead.address,
        city: lead.city,
        postal_code: lead.postal_code,
        phone: lead.phone,
    };
    imports::import_lead(conn, target, row, now()).map_err(Bad::Store)?;
    Ok(())
}

/// Validates an order row (amount and currency as a charge's, a typed status); writes it
/// unless `check_only`. The lead must exist, so it is looked up even when only checking.
pub(super) fn order(
    conn: &mut DbConnection,
    target: Target<'_>,
    field: &Fields<'_>,
    check_only: bool,
) -> Result<(), Bad> {
    let email = field("email");
    if !catalyst_domain::lead::is_valid_email(&email) {
        return Err(Bad::Row(
            "email".into(),
            "Enter a valid email address.".into(),
        ));
    }
    let cur =
        currency(&Value::String(field("currency"))).map_err(|m| Bad::Row("currency".into(), m))?;
    let amount_minor =
        amount(&Value::String(field("amount")), cur).map_err(|m| Bad::Row("amount".into(), m))?;
    let status: OrderStatus = field("status").parse().map_err(|_| {
        Bad::Row(
            "status".into(),
            catalyst_domain::validation::messages::invalid_choice(&field("status")),
        )
    })?;
    let order_number = optional_text(field, "order_number", 64)?;
    if let Some(n) = &order_number {
        match imports::order_number_taken(conn, n) {
            Ok(false) => {}
            Ok(true) => return Err(order_number_taken()),
            Err(e) => return Err(Bad::Store(e)),
        }
    }
    let row = OrderRow {
        email,
        order_number,
        amount_minor,
        currency: cur.code().to_owned(),
        status,
    };
    if check_only {
        return match imports::lead_exists(conn, target, &row.email) {
            Ok(true) => Ok(()),
            Ok(false) => Err(unknown_lead()),
            Err(e) => Err(Bad::Store(e)),
        };
    }
    match imports::import_order(
        conn,
        target,
        row,
        now(),
        &mut crate::sessions::new_order_number,
    ) {
        Ok(_) => Ok(()),
        Err(e) if imports::is_unknown_reference(&e) => Err(unknown_lead()),
        Err(StoreError::Conflict("order_number")) => Err(order_number_taken()),
        Err(e) => Err(Bad::Store(e)),
    }
}

fn order_number_taken() -> Bad {
    Bad::Row(
        "order_number".into(),
        "An order with this number already exists.".into(),
    )
}

fn unknown_lead() -> Bad {
    Bad::Row(
        "email".into(),
        "No lead of this tenant has this email.".into(),
    )
}

/// A required text cell of at most `max` characters.
fn text(field: &Fields<'_>, column: &str, max: usize) -> Result<String, Bad> {
    catalyst_domain::validation::char_field(&Value::String(field(column)), max)
        .map_err(|m| Bad::Row(column.into(), m))
}

/// An optional text cell (empty: `None`) of at most `max` characters.
fn optional_text(field: &Fields<'_>, column: &str, max: usize) -> Result<Option<String>, Bad> {
    catalyst_domain::validation::optional_char_field(&Value::String(field(column)), max)
        .map_err(|m| Bad::Row(column.into(), m))
}

/// A moment: RFC 3339 (`2026-11-02T10:15:00Z`, any offset, stored in UTC) or a date
/// (`2026-11-02`, midnight UTC); never in the future.
fn moment(value: &str, column: &str) -> Result<NaiveDateTime, Bad> {
    let at = chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.naive_utc())
        .or_else(|_| {
            NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map_err(|_| {
            Bad::Row(
                column.into(),
                "Enter a date (YYYY-MM-DD) or an RFC 3339 date-time.".into(),
            )
        })?;
    if at > now() {
        return Err(Bad::Row(column.into(), "May not be in the future.".into()));
    }
    Ok(at)
}

/// A SEPA reason code (`AM04`, `MD06`, …).
fn reason(field: &Fields<'_>, column: &str) -> Result<Option<catalyst_sepa::ReasonCode>, Bad> {
    let code = field(column);
    if code.is_empty() {
        return Ok(None);
    }
    catalyst_sepa::ReasonCode::parse(&code)
        .map(Some)
        .ok_or_else(|| Bad::Row(column.into(), "Not a SEPA reason code.".into()))
}

/// A mandate reference as the EPC allows it: 1–35 characters of `A–Z a–z 0–9 / - ? : ( ) . , ' +`
/// and space.
fn mandate_reference(field: &Fields<'_>) -> Result<Option<String>, Bad> {
    let r = field("mandate_reference");
    if r.is_empty() {
        return Ok(None);
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/-?:().,'+ ".contains(c);
    if r.chars().count() > 35 || !r.chars().all(allowed) {
        return Err(Bad::Row(
            "mandate_reference".into(),
            "At most 35 characters of A-Z a-z 0-9 / - ? : ( ) . , ' + and space.".into(),
        ));
    }
    Ok(Some(r))
}

/// Validates an imported debit (`iban` and `iban_holder_name` as `/pay/`'s, `amount` and
/// `currency` as a charge's, `status` `approved` or `declined`); the store checks the order,
/// the gateway, the mandate and the ids, and writes it unless `check_only`.
pub(super) fn transaction(
    conn: &mut DbConnection,
    cipher: &Cipher,
    target: Target<'_>,
    field: &Fields<'_>,
    check_only: bool,
) -> Result<(), Bad> {
    let order_number = text(field, "order_number", 64)?;
    let gateway_id = text(field, "gateway_id", 64)?;
    let iban = catalyst_sepa::validate(&text(field, "iban", 100)?)
        .map_err(|e| Bad::Row("iban".into(), e.to_string()))?;
    let holder = text(field, "iban_holder_name", 70)?;
    let cur =
        currency(&Value::String(field("currency"))).map_err(|m| Bad::Row("currency".into(), m))?;
    let amount_minor =
        amount(&Value::String(field("amount")), cur).map_err(|m| Bad::Row("amount".into(), m))?;
    let outcome = match field("status").as_str() {
        "approved" => ImportedOutcome::Approved,
        "declined" => ImportedOutcome::Declined,
        other => {
            return Err(Bad::Row(
                "status".into(),
                format!(
                    "{} Importable: approved, declined.",
                    messages::invalid_choice(other)
                ),
            ));
        }
    };
    let created_at = moment(&text(field, "created_at", 40)?, "created_at")?;
    let mandate_signed_at = match optional_text(field, "mandate_signed_at", 40)? {
        Some(v) => Some(moment(&v, "mandate_signed_at")?),
        None => None,
    };
    let sequence_type = match field("sequence_type").as_str() {
        "" => SequenceType::First,
        s @ ("FRST" | "RCUR" | "OOFF") => s
            .parse()
            .map_err(|_| Bad::Row("sequence_type".into(), messages::invalid_choice(s)))?,
        other => {
            return Err(Bad::Row(
                "sequence_type".into(),
                messages::invalid_choice(other),
            ));
        }
    };
    let reason = reason(field, "reason_code")?;
    if reason.is_some() && outcome == ImportedOutcome::Approved {
        return Err(Bad::Row(
            "reason_code".into(),
            "Only a declined debit has a reason code.".into(),
        ));
    }
    let row = TransactionRow {
        order_number,
        gateway_id: gateway_id.into(),
        account: Account {
            iban: iban.as_str().to_owned(),
            last4: iban.last4().to_owned(),
            country: iban.country().as_str().to_owned(),
            masked: iban.mask_full(),
            bic: iban.bic().map(str::to_owned),
            bank_name: iban.bank_name().map(str::to_owned),
            holder,
        },
        mandate_reference: mandate_reference(field)?,
        mandate_signed_at,
        merchant_transaction_id: optional_text(field, "merchant_transaction_id", 64)?,
        tenant_reference_id: optional_text(field, "tenant_reference_id", 255)?,
        outcome,
        sequence_type,
        amount_minor,
        currency: cur.code().to_owned(),
        gateway_reference: optional_text(field, "gateway_reference", 255)?,
        error_code: match outcome {
            ImportedOutcome::Approved => None,
            ImportedOutcome::Declined => Some(
                reason
                    .map_or(catalyst_sepa::DeclineCode::Unknown, |r| r.decline_code())
                    .as_str()
                    .to_owned(),
            ),
        },
        created_at,
    };
    imports::import_transaction(conn, cipher, target, row, check_only, now())
        .map_err(Bad::Store)?
        .map_err(Bad::from)
}

/// Validates an imported reversal (`reason_code` a SEPA code, `report_date` a past date,
/// `kind` `chargeback` or `return` — by default `chargeback` for a code the debtor claims as
/// a refund, e.g. `MD06`, else `return`); the store checks the transaction and records it
/// unless `check_only`.
pub(super) fn chargeback(
    conn: &mut DbConnection,
    target: Target<'_>,
    field: &Fields<'_>,
    check_only: bool,
) -> Result<(), Bad> {
    let merchant_transaction_id = text(field, "merchant_transaction_id", 64)?;
    let code = reason(field, "reason_code")?
        .ok_or_else(|| Bad::Row("reason_code".into(), messages::BLANK.into()))?;
    let report_date = NaiveDate::parse_from_str(&field("report_date"), "%Y-%m-%d")
        .map_err(|_| Bad::Row("report_date".into(), "Enter a date as YYYY-MM-DD.".into()))?;
    if report_date > now().date() {
        return Err(Bad::Row(
            "report_date".into(),
            "May not be in the future.".into(),
        ));
    }
    let (amount_minor, cur) = match (field("amount").as_str(), field("currency").as_str()) {
        ("", "") => (None, None),
        (_, "") => {
            return Err(Bad::Row(
                "currency".into(),
                "Required with an amount.".into(),
            ));
        }
        (a, c) => {
            let cur = currency(&Value::String(c.to_owned()))
                .map_err(|m| Bad::Row("currency".into(), m))?;
            let minor = if a.is_empty() {
                None
            } else {
                Some(
                    amount(&Value::String(a.to_owned()), cur)
                        .map_err(|m| Bad::Row("amount".into(), m))?,
                )
            };
            (minor, Some(cur.code().to_owned()))
        }
    };
    let kind = match field("kind").as_str() {
        "" if code
            .r_types()
            .contains(&catalyst_sepa::reasons::RType::Refund) =>
        {
            ReversalKind::Chargeback
        }
        "" | "return" => ReversalKind::Return,
        "chargeback" => ReversalKind::Chargeback,
        other => return Err(Bad::Row("kind".into(), messages::invalid_choice(other))),
    };
    let row = ChargebackRow {
        merchant_transaction_id,
        amount_minor,
        currency: cur,
        kind,
        reason_code: code.code().to_owned(),
        reason_description: code.meaning().to_owned(),
        error_code: code.decline_code().as_str().to_owned(),
        report_date,
    };
    imports::import_chargeback(conn, target, row, check_only, now())
        .map_err(Bad::Store)?
        .map_err(Bad::from)
}
