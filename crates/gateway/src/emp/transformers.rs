//! Pure Genesis transformations: request XML out, `payment_response` XML in, notifications.
//! No I/O; everything here is tested against the XML fixtures in `tests/fixtures/`.
//!
//! Sources: `GENESIS.md` §2 (requests), §3 (responses and statuses), §4 (codes), §5
//! (notifications and the echo), §6 (reconcile) and §7 (the Genesis-code mapping).

use catalyst_domain::secret::Secret;
use catalyst_domain::token::constant_time_eq;
use catalyst_sepa::{DeclineCode, ReasonCode, decline_code_for_reason};

use crate::util::hex_lower;
use crate::xml::{Element, escape};
use crate::{DebitKind, DebitRequest, GatewayError, GatewayOutcome, Notification, RefundRequest};

/// Longest `merchant_name` Genesis takes in `dynamic_descriptor_params` for SDD.
pub const MAX_DESCRIPTOR_CHARS: usize = 140;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// The `<payment_transaction>` for a debit (`sdd_sale`, `sdd_init_recurring_sale` or
/// `sdd_recurring_sale`, by [`DebitRequest::kind`]). Amounts go out in minor units.
///
/// Sale and first debits carry the IBAN, BIC, `customer_email`, `mandate_reference`,
/// `billing_address`, the return URLs (all three set to `return_url`) and
/// `dynamic_descriptor_params/merchant_name` (the gateway's descriptor); recurring debits only
/// `reference_id`, amount and currency (the gateway reuses the first debit's mandate). Every
/// kind carries `notification_url` when set. The account holder's name is not sent: Genesis
/// has no field for it on SDD.
pub fn debit_request(
    req: &DebitRequest,
    descriptor: Option<&str>,
) -> Result<Element, GatewayError> {
    let mut tx = base(
        req.kind.genesis_transaction_type(),
        &req.transaction_id,
        &req.usage,
        &req.remote_ip,
    );
    match &req.kind {
        DebitKind::Recurring { reference_id } => {
            if reference_id.trim().is_empty() {
                return Err(invalid_request("a recurring debit needs a reference_id"));
            }
            tx.push_leaf("reference_id", reference_id.trim());
            push_amount(&mut tx, req.amount);
            tx.push_opt("notification_url", req.notification_url.as_deref());
        }
        DebitKind::OneOff | DebitKind::FirstRecurring => {
            let iban = req
                .iban
                .as_ref()
                .map(|i| crate::util::normalize_iban(i.expose()))
                .filter(|i| !i.is_empty())
                .ok_or_else(|| invalid_request("a one-off or first debit needs an IBAN"))?;
            push_amount(&mut tx, req.amount);
            tx.push_leaf("iban", iban);
            tx.push_opt("bic", req.bic.as_deref());
            tx.push_opt("customer_email", req.email.as_deref());
            tx.push_opt("mandate_reference", Some(&req.mandate_reference));
            for name in [
                "return_success_url",
                "return_failure_url",
                "return_pending_url",
            ] {
                tx.push_opt(name, req.return_url.as_deref());
            }
            tx.push_opt("notification_url", req.notification_url.as_deref());
            if let Some(descriptor) = descriptor.map(str::trim).filter(|d| !d.is_empty()) {
                let name: String = descriptor.chars().take(MAX_DESCRIPTOR_CHARS).collect();
                tx.children.push(
                    Element::new("dynamic_descriptor_params")
                        .child(Element::leaf("merchant_name", name)),
                );
            }
            let mut address = Element::new("billing_address");
            address.push_leaf("first_name", req.first_name.trim());
            address.push_leaf("last_name", req.last_name.trim());
            address.push_opt("address1", req.address.as_deref());
            address.push_opt("zip_code", req.zip_code.as_deref());
            address.push_opt("city", req.city.as_deref());
            address.push_leaf("country", req.country.trim().to_ascii_uppercase());
            tx.children.push(address);
        }
    }
    Ok(tx)
}

/// The `<payment_transaction>` of an `sdd_refund` of `req.reference`.
pub fn refund_request(req: &RefundRequest) -> Result<Element, GatewayError> {
    if req.reference.trim().is_empty() {
        return Err(invalid_request("a refund needs the reference of the debit"));
    }
    let mut tx = base(
        "sdd_refund",
        &req.transaction_id,
        &req.usage,
        &req.remote_ip,
    );
    tx.push_leaf("reference_id", req.reference.trim());
    push_amount(&mut tx, req.amount);
    Ok(tx)
}

/// Which identifier a single-transaction reconcile uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileBy<'a> {
    /// The gateway's `unique_id`.
    UniqueId(&'a str),
    /// Our `transaction_id`.
    TransactionId(&'a str),
}

/// The `<reconcile>` document for one transaction.
pub fn reconcile_request(by: ReconcileBy<'_>) -> Element {
    let mut r = Element::new("reconcile");
    match by {
        ReconcileBy::UniqueId(id) => r.push_leaf("unique_id", id),
        ReconcileBy::TransactionId(id) => r.push_leaf("transaction_id", id),
    }
    r
}

/// The `<reconcile>` document of a by-date reconcile (`YYYY-MM-DD` or
/// `YYYY-MM-DD HH:MM:SS`; `page` from 1).
pub fn reconcile_by_date_request(
    start_date: &str,
    end_date: Option<&str>,
    page: Option<u32>,
) -> Element {
    let mut r = Element::new("reconcile");
    r.push_leaf("start_date", start_date);
    r.push_opt("end_date", end_date);
    if let Some(page) = page {
        r.push_leaf("page", page.to_string());
    }
    r
}

fn base(transaction_type: &str, transaction_id: &str, usage: &str, remote_ip: &str) -> Element {
    let mut tx = Element::new("payment_transaction");
    tx.push_leaf("transaction_type", transaction_type);
    tx.push_leaf("transaction_id", transaction_id);
    tx.push_leaf("usage", usage);
    tx.push_leaf("remote_ip", remote_ip);
    tx
}

fn push_amount(tx: &mut Element, amount: catalyst_domain::money::Money) {
    tx.push_leaf("amount", amount.minor().to_string());
    tx.push_leaf("currency", amount.currency().code());
}

fn invalid_request(what: &str) -> GatewayError {
    GatewayError::Protocol(format!("invalid request: {what}"))
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// The fields of a `<payment_response>` that the adapter uses (`GENESIS.md` §3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaymentResponse {
    /// `transaction_type`.
    pub transaction_type: Option<String>,
    /// `status` (always present).
    pub status: String,
    /// `unique_id`: the gateway's 32-hex id.
    pub unique_id: Option<String>,
    /// `transaction_id`: ours, echoed.
    pub transaction_id: Option<String>,
    /// `code`: the Genesis error code.
    pub code: Option<String>,
    /// `technical_message`.
    pub technical_message: Option<String>,
    /// `message` (customer-safe).
    pub message: Option<String>,
    /// A reason code element (`rc_code` or `reason_code`), if the gateway sent one.
    pub reason_code: Option<String>,
    /// `mode`: `test` or `live`.
    pub mode: Option<String>,
    /// `timestamp`.
    pub timestamp: Option<String>,
    /// `amount` in minor units.
    pub amount_minor: Option<i64>,
    /// `currency`.
    pub currency: Option<String>,
    /// `redirect_url` (verification flow).
    pub redirect_url: Option<String>,
    /// `descriptor`.
    pub descriptor: Option<String>,
    /// `sent_to_acquirer`.
    pub sent_to_acquirer: Option<bool>,
    /// `reference_transaction_unique_id` (refunds).
    pub reference_transaction_unique_id: Option<String>,
}

impl PaymentResponse {
    /// The `code` as a number, when it is one.
    pub fn code_number(&self) -> Option<u16> {
        self.code.as_deref().and_then(|c| c.trim().parse().ok())
    }

    /// technical_message, else message.
    fn text(&self) -> Option<String> {
        self.technical_message
            .clone()
            .or_else(|| self.message.clone())
    }
}

/// Parses a `<payment_response>` document (a `<payment_responses>` list is refused: use
/// [`parse_payment_responses`]).
pub fn parse_payment_response(body: &str) -> Result<PaymentResponse, GatewayError> {
    let root = Element::parse(body).map_err(|e| GatewayError::Protocol(e.to_string()))?;
    payment_response_from(&root)
}

/// Parses a by-date `<payment_responses>` page: the responses and `pages_count` (1 when
/// absent). A single `<payment_response>` is an error answer and is returned as one item.
pub fn parse_payment_responses(body: &str) -> Result<(Vec<PaymentResponse>, u32), GatewayError> {
    let root = Element::parse(body).map_err(|e| GatewayError::Protocol(e.to_string()))?;
    if root.name == "payment_response" {
        return Ok((vec![payment_response_from(&root)?], 1));
    }
    if root.name != "payment_responses" {
        return Err(GatewayError::Protocol(format!(
            "expected <payment_responses>, got <{}>",
            root.name
        )));
    }
    let pages = root
        .attribute("pages_count")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let items = root
        .children
        .iter()
        .filter(|c| c.name == "payment_response")
        .map(payment_response_from)
        .collect::<Result<_, _>>()?;
    Ok((items, pages))
}

fn payment_response_from(root: &Element) -> Result<PaymentResponse, GatewayError> {
    if root.name != "payment_response" {
        return Err(GatewayError::Protocol(format!(
            "expected <payment_response>, got <{}>",
            root.name
        )));
    }
    let text = |name: &str| root.text_of(name).map(str::to_owned);
    let status = text("status")
        .ok_or_else(|| GatewayError::Protocol("payment_response without a status".into()))?;
    let amount_minor = match root.text_of("amount") {
        None => None,
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            GatewayError::Protocol(format!("payment_response amount {a:?} is not minor units"))
        })?),
    };
    Ok(PaymentResponse {
        transaction_type: text("transaction_type"),
        status: status.to_ascii_lowercase(),
        unique_id: text("unique_id"),
        transaction_id: text("transaction_id"),
        code: text("code"),
        technical_message: text("technical_message"),
        message: text("message"),
        reason_code: text("rc_code").or_else(|| text("reason_code")),
        mode: text("mode"),
        timestamp: text("timestamp"),
        amount_minor,
        currency: text("currency"),
        redirect_url: text("redirect_url"),
        descriptor: text("descriptor"),
        sent_to_acquirer: root.text_of("sent_to_acquirer").map(|v| v == "true"),
        reference_transaction_unique_id: text("reference_transaction_unique_id"),
    })
}

/// What a `payment_response` means to the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interpretation {
    /// A transaction outcome.
    Outcome(GatewayOutcome),
    /// The transaction_id was used before (450, or 340 "already exists"): reconcile by
    /// transaction_id and use that.
    Duplicate,
    /// The gateway has no such transaction (460, on reconcile).
    NotFound,
}

/// How `GENESIS.md` §7 classifies a Genesis error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// System or issuer-communication error (100, 101, 200, 210, 9xx): retry later.
    Unavailable,
    /// The outcome is unknown until reconciled (230, 240, 250).
    UnknownOutcome,
    /// Credentials or terminal are wrong (110, 120, 220).
    Config,
    /// A decline or a refused request, normalised.
    Decline(DeclineCode),
}

/// Classifies a Genesis `code` (`GENESIS.md` §7 "Genesis-side mapping"); `text` is the
/// technical message (330/340 mentioning the IBAN or BIC are `invalid_iban`).
pub fn classify_code(code: u16, text: Option<&str>) -> CodeClass {
    let mentions_bank_details = || {
        text.map(str::to_ascii_lowercase)
            .is_some_and(|t| t.contains("iban") || t.contains("bic"))
    };
    match code {
        100 | 101 | 200 | 210 | 900..=999 => CodeClass::Unavailable,
        230 | 240 | 250 => CodeClass::UnknownOutcome,
        110 | 120 | 220 => CodeClass::Config,
        330 | 340 if mentions_bank_details() => CodeClass::Decline(DeclineCode::InvalidIban),
        510 => CodeClass::Decline(DeclineCode::InvalidIban),
        // 5xx issuer declines and 6xx risk declines.
        500..=699 => CodeClass::Decline(DeclineCode::DoNotHonor),
        _ => CodeClass::Decline(DeclineCode::Unknown),
    }
}

/// The first SEPA reason code found in the response: the `rc_code`/`reason_code` element as
/// sent (even when it is not a known SEPA code, e.g. `XX99`), else a known code standing as a
/// word in `technical_message` or `message` (`"MD01: no mandate"`).
pub fn find_reason_code(resp: &PaymentResponse) -> Option<String> {
    if let Some(code) = resp.reason_code.as_deref().map(str::trim)
        && !code.is_empty()
    {
        return Some(code.to_owned());
    }
    [&resp.technical_message, &resp.message]
        .into_iter()
        .flatten()
        .find_map(|text| reason_code_in_text(text))
        .map(|code| code.code().to_owned())
}

/// A known SEPA reason code written as an upper-case word in `text`.
pub fn reason_code_in_text(text: &str) -> Option<ReasonCode> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| {
            w.len() == 4
                && w.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        })
        .find_map(ReasonCode::parse)
}

fn is_duplicate(resp: &PaymentResponse) -> bool {
    let says_exists = || {
        resp.text()
            .map(|t| t.to_ascii_lowercase())
            .is_some_and(|t| t.contains("already exists"))
    };
    match resp.code_number() {
        Some(450) => true,
        Some(340) => says_exists(),
        _ => false,
    }
}

/// Interprets a `payment_response` (`GENESIS.md` §3, §4, §7):
///
/// - `approved`, and a debit's later `refunded`, `chargeback_reversed` → `Approved`;
/// - `pending_async` (or any pending state) with a `redirect_url` → `VerificationRequired`;
///   `pending`, `pending_async`, `pending_hold`, `pending_review`, `in_progress`,
///   `represented`, `pre_arbitrated` → `Pending`;
/// - `declined`, `error`, `unsuccessful`, `voided` → `Declined`, normalised by the SEPA reason
///   when there is one (see [`find_reason_code`]), else by the Genesis code
///   ([`classify_code`]), else `do_not_honor` (declined) or `unknown`; except that codes of
///   [`CodeClass::Unavailable`] and [`CodeClass::UnknownOutcome`] are
///   `Err(GatewayError::Unavailable)`, [`CodeClass::Config`] `Err(GatewayError::Config)`,
///   450 / 340 "already exists" [`Interpretation::Duplicate`] and 460
///   [`Interpretation::NotFound`];
/// - `chargebacked`, `second_chargebacked`, `representment_reversed` → `Declined` with the
///   reason, else `mandate_rejected`.
pub fn interpret(resp: &PaymentResponse) -> Result<Interpretation, GatewayError> {
    let reference = || {
        resp.unique_id.clone().ok_or_else(|| {
            GatewayError::Protocol(format!(
                "{} payment_response without unique_id",
                resp.status
            ))
        })
    };
    let outcome = match resp.status.as_str() {
        "approved" | "refunded" | "chargeback_reversed" | "chargeback_reversal" => {
            GatewayOutcome::Approved {
                reference: reference()?,
            }
        }
        "pending_async" | "pending" | "pending_hold" | "pending_review" | "in_progress"
        | "represented" | "pre_arbitrated" | "new" | "submitted" | "user" => {
            match resp.redirect_url.clone() {
                Some(url) if resp.status.starts_with("pending") => {
                    GatewayOutcome::VerificationRequired {
                        reference: reference()?,
                        url,
                    }
                }
                _ => GatewayOutcome::Pending {
                    reference: reference()?,
                },
            }
        }
        "chargebacked" | "second_chargebacked" | "representment_reversed" => {
            let reason = find_reason_code(resp);
            GatewayOutcome::Declined {
                reference: resp.unique_id.clone(),
                code: reason
                    .as_deref()
                    .map_or(DeclineCode::MandateRejected, decline_code_for_reason),
                gateway_code: reason.or_else(|| resp.code.clone()),
                gateway_message: resp.text(),
            }
        }
        "declined" | "error" | "unsuccessful" | "voided" => return failure(resp),
        other => {
            return Err(GatewayError::Protocol(format!(
                "unknown payment_response status {other:?}"
            )));
        }
    };
    Ok(Interpretation::Outcome(outcome))
}

fn failure(resp: &PaymentResponse) -> Result<Interpretation, GatewayError> {
    if is_duplicate(resp) {
        return Ok(Interpretation::Duplicate);
    }
    let code = resp.code_number();
    if code == Some(460) {
        return Ok(Interpretation::NotFound);
    }
    let declined = |code: DeclineCode, gateway_code: Option<String>| {
        Ok(Interpretation::Outcome(GatewayOutcome::Declined {
            reference: resp.unique_id.clone(),
            code,
            gateway_code,
            gateway_message: resp.text(),
        }))
    };
    // An explicit reason element wins: the bank answered.
    if let Some(reason) = resp.reason_code.as_deref().map(str::trim)
        && !reason.is_empty()
    {
        return declined(decline_code_for_reason(reason), Some(reason.to_owned()));
    }
    let class = code.map(|c| classify_code(c, resp.technical_message.as_deref()));
    let message = || {
        let text = resp.text().unwrap_or_else(|| resp.status.clone());
        match &resp.code {
            Some(code) => format!("Genesis {code}: {text}"),
            None => text,
        }
    };
    match class {
        Some(CodeClass::Unavailable | CodeClass::UnknownOutcome) => {
            return Err(GatewayError::Unavailable {
                gateway_code: resp.code.clone(),
                message: message(),
            });
        }
        Some(CodeClass::Config) => return Err(GatewayError::Config(message())),
        _ => {}
    }
    if let Some(reason) = find_reason_code(resp) {
        return declined(decline_code_for_reason(&reason), Some(reason));
    }
    match class {
        Some(CodeClass::Decline(decline)) => declined(decline, resp.code.clone()),
        _ if resp.status == "declined" => declined(DeclineCode::DoNotHonor, resp.code.clone()),
        _ => declined(DeclineCode::Unknown, resp.code.clone()),
    }
}

// ---------------------------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------------------------

/// The hash of a notification signature, chosen by the signature's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// 40 hex characters (the default).
    Sha1,
    /// 64 hex characters.
    Sha256,
    /// 128 hex characters.
    Sha512,
}

impl SignatureAlgorithm {
    /// The algorithm for a signature of `len` hex characters.
    pub fn for_hex_len(len: usize) -> Option<SignatureAlgorithm> {
        match len {
            40 => Some(SignatureAlgorithm::Sha1),
            64 => Some(SignatureAlgorithm::Sha256),
            128 => Some(SignatureAlgorithm::Sha512),
            _ => None,
        }
    }

    fn digest(self) -> &'static ring::digest::Algorithm {
        match self {
            SignatureAlgorithm::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            SignatureAlgorithm::Sha256 => &ring::digest::SHA256,
            SignatureAlgorithm::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// `lowercase_hex(HASH(unique_id ‖ api_password))`: the Genesis notification signature.
pub fn notification_signature(
    unique_id: &str,
    api_password: &str,
    algorithm: SignatureAlgorithm,
) -> String {
    let mut ctx = ring::digest::Context::new(algorithm.digest());
    ctx.update(unique_id.as_bytes());
    ctx.update(api_password.as_bytes());
    hex_lower(ctx.finish().as_ref())
}

/// Whether `signature` (40, 64 or 128 hex characters; upper case accepted) signs `unique_id`
/// with `api_password`. The comparison is constant-time.
pub fn verify_notification_signature(unique_id: &str, api_password: &str, signature: &str) -> bool {
    let signature = signature.trim().to_ascii_lowercase();
    let Some(algorithm) = SignatureAlgorithm::for_hex_len(signature.len()) else {
        return false;
    };
    let expected = notification_signature(unique_id, api_password, algorithm);
    constant_time_eq(expected.as_bytes(), signature.as_bytes())
}

/// Parses a form-encoded Genesis notification and checks its signature with the API
/// password. Keys and values are trimmed (as the PHP SDK does). A `content_type` other than
/// `application/x-www-form-urlencoded` is refused; `None` is accepted.
pub fn parse_notification(
    content_type: Option<&str>,
    body: &[u8],
    api_password: &Secret<String>,
) -> Result<Notification, GatewayError> {
    if let Some(ct) = content_type {
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(GatewayError::Protocol(format!(
                "notification content type {essence:?} is not application/x-www-form-urlencoded"
            )));
        }
    }
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let unique_id = field("unique_id").ok_or_else(|| {
        GatewayError::Protocol(
            "notification without unique_id (only API notifications are handled)".into(),
        )
    })?;
    let signature = field("signature").ok_or(GatewayError::InvalidSignature)?;
    if !verify_notification_signature(&unique_id, api_password.expose(), &signature) {
        return Err(GatewayError::InvalidSignature);
    }
    let status = field("status")
        .ok_or_else(|| GatewayError::Protocol("notification without status".into()))?;
    let amount_minor = match field("amount") {
        None => None,
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            GatewayError::Protocol(format!("notification amount {a:?} is not minor units"))
        })?),
    };
    Ok(Notification {
        reference: unique_id,
        transaction_id: field("transaction_id"),
        status: status.to_ascii_lowercase(),
        reason_code: field("rc_code").or_else(|| field("reason_code")),
        reason_description: field("rc_description").or_else(|| field("reason_description")),
        transaction_type: field("transaction_type"),
        amount_minor,
        terminal_token: field("terminal_token"),
        event: field("event"),
    })
}

/// The echo body Genesis waits for:
/// `<?xml version="1.0" encoding="UTF-8"?><notification_echo><unique_id>…</unique_id></notification_echo>`.
pub fn notification_echo_body(unique_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><notification_echo><unique_id>{}</unique_id></notification_echo>",
        escape(unique_id)
    )
}

/// See [`Notification::decline_code`].
pub(crate) fn notification_decline_code(n: &Notification) -> Option<DeclineCode> {
    let reason = n.reason_code.as_deref().filter(|r| !r.trim().is_empty());
    match n.status.as_str() {
        "chargebacked" | "second_chargebacked" | "representment_reversed" => {
            Some(reason.map_or(DeclineCode::MandateRejected, decline_code_for_reason))
        }
        "declined" | "unsuccessful" => {
            Some(reason.map_or(DeclineCode::DoNotHonor, decline_code_for_reason))
        }
        "error" | "voided" => Some(reason.map_or(DeclineCode::Unknown, decline_code_for_reason)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_classes() {
        for c in [100, 101, 200, 210, 900, 910, 950, 960] {
            assert_eq!(classify_code(c, None), CodeClass::Unavailable, "{c}");
        }
        for c in [230, 240, 250] {
            assert_eq!(classify_code(c, None), CodeClass::UnknownOutcome, "{c}");
        }
        for c in [110, 120, 220] {
            assert_eq!(classify_code(c, None), CodeClass::Config, "{c}");
        }
        let d = |code| CodeClass::Decline(code);
        assert_eq!(classify_code(320, None), d(DeclineCode::Unknown));
        assert_eq!(
            classify_code(330, Some("'card_holder' has invalid format")),
            d(DeclineCode::Unknown)
        );
        assert_eq!(
            classify_code(330, Some("'iban' has invalid format")),
            d(DeclineCode::InvalidIban)
        );
        assert_eq!(
            classify_code(340, Some("Invalid BIC")),
            d(DeclineCode::InvalidIban)
        );
        assert_eq!(classify_code(410, None), d(DeclineCode::Unknown));
        assert_eq!(classify_code(440, None), d(DeclineCode::Unknown));
        assert_eq!(classify_code(500, None), d(DeclineCode::DoNotHonor));
        assert_eq!(classify_code(510, None), d(DeclineCode::InvalidIban));
        assert_eq!(classify_code(628, None), d(DeclineCode::DoNotHonor));
        assert_eq!(classify_code(696, None), d(DeclineCode::DoNotHonor));
        assert_eq!(classify_code(700, None), d(DeclineCode::Unknown));
        assert_eq!(classify_code(1, None), d(DeclineCode::Unknown));
    }

    #[test]
    fn reason_codes_in_text() {
        assert_eq!(
            reason_code_in_text("MD01: no mandate"),
            Some(ReasonCode::MD01)
        );
        assert_eq!(
            reason_code_in_text("Rejected (reason AM04)."),
            Some(ReasonCode::AM04)
        );
        assert_eq!(reason_code_in_text("account closed, code ac04"), None);
        assert_eq!(
            reason_code_in_text("TESTMODE: No real money will be transferred!"),
            None
        );
        assert_eq!(reason_code_in_text("XX99 unknown"), None);
    }

    const SHA256_ABCPW: &str = "16d622e6a54bb26e91d76ad1650baeb539a05b111faf71fecc1cd276799af638";

    #[test]
    fn signatures() {
        // GENESIS.md's rule, checked against `printf abcpw | sha1sum` (and sha256sum).
        let sha1 = notification_signature("abc", "pw", SignatureAlgorithm::Sha1);
        assert_eq!(sha1, "b751289c59a81e9b0746c34d652eb281309ab797");
        assert_eq!(
            notification_signature("abc", "pw", SignatureAlgorithm::Sha256),
            SHA256_ABCPW
        );
        assert!(verify_notification_signature("abc", "pw", &sha1));
        assert!(verify_notification_signature(
            "abc",
            "pw",
            &sha1.to_ascii_uppercase()
        ));
        assert!(!verify_notification_signature("abd", "pw", &sha1));
        assert!(!verify_notification_signature("abc", "pw", &sha1[..39]));
        assert!(!verify_notification_signature("abc", "pw", ""));
        for (alg, len) in [
            (SignatureAlgorithm::Sha256, 64),
            (SignatureAlgorithm::Sha512, 128),
        ] {
            let s = notification_signature("abc", "pw", alg);
            assert_eq!(s.len(), len);
            assert!(verify_notification_signature("abc", "pw", &s));
            assert!(!verify_notification_signature("abc", "pw2", &s));
        }
    }

    #[test]
    fn echo() {
        assert_eq!(
            notification_echo_body("44177a21403427eb96664a6d7e5d5d48"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><notification_echo><unique_id>44177a21403427eb96664a6d7e5d5d48</unique_id></notification_echo>"
        );
        assert!(notification_echo_body("a<b").contains("a&lt;b"));
    }
}
