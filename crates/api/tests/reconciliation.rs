//! The reconciliation API (API.md §6): the three listings with real sandbox payments, filters,
//! the 90-day window, paging (keyset, stable under concurrent inserts), the three formats,
//! masking, tenant isolation, auth, and the index each listing's statement uses.

mod common;

use catalyst_domain::transaction::TransactionStatus;
use std::collections::{BTreeMap, BTreeSet};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use catalyst_api::provision::DemoSetup;
use catalyst_api::reconciliation::{CHARGEBACK_FIELDS, SUBSCRIPTION_FIELDS, TRANSACTION_FIELDS};
use catalyst_store::reconciliation::{
    self, ChargebackFilter, Days, Listing, Position, Seek, Slice, SubscriptionFilter,
    TransactionFilter,
};
use catalyst_store::schema::chargebacks;
use catalyst_store::{
    Backend, DbConnection, Mandate, Order, PaymentSession, Store, Subscription, Transaction,
};
use chrono::{Days as ChronoDays, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

const TXNS: &str = "/api/v1/reconciliation/transactions/";
const CBS: &str = "/api/v1/reconciliation/chargebacks/";
const SUBS: &str = "/api/v1/reconciliation/subscriptions/";
const SESSIONS: &str = "/api/v1/payment-sessions/";

const APPROVED: &str = "DE89370400440532013000";
const DECLINED: &str = "DE91100000000123456789";
const VERIFY: &str = "DE92100000000000000700";
const LATER_CHARGEBACK: &str = "DE43100000000000000806";
const LATER_RETURN: &str = "DE98100000000000000204";

/// The app under test, whatever its body type.
trait TestApp:
    Service<actix_http::Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B: MessageBody> TestApp for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Body = B;
}

// ------------------------------------------------------------------------------------------
// Helpers: dates, payments, requests

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn plus(day: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        day + ChronoDays::new(n as u64)
    } else {
        day - ChronoDays::new(n.unsigned_abs())
    }
}

fn noon(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
}

/// `start_date`..`end_date` around today (so a test crossing midnight still sees its rows).
fn around_today() -> String {
    format!(
        "start_date={}&end_date={}",
        plus(today(), -1),
        plus(today(), 1)
    )
}

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

async fn new_session(app: &impl TestApp, key: &str, body: Value) -> String {
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["session_token"].as_str().unwrap().to_owned()
}

/// Creates a session of `campaign` and pays it; returns the envelope.
async fn pay(
    app: &impl TestApp,
    demo: &DemoSetup,
    campaign: &str,
    iban: &str,
    reference: Option<&str>,
) -> Value {
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let token = new_session(
        app,
        &demo.restricted_key,
        json!({"campaign_id": campaign, "lead": lead(&email)}),
    )
    .await;
    pay_token(app, &token, iban, reference).await
}

async fn pay_token(app: &impl TestApp, token: &str, iban: &str, reference: Option<&str>) -> Value {
    let mut body = json!({"iban": iban, "iban_holder_name": "Ada Lovelace"});
    if let Some(r) = reference {
        body["tenant_reference_id"] = json!(r);
    }
    let (status, _, env) = send(app, post(&format!("{SESSIONS}{token}/pay/"), body)).await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env
}

/// A GET with an optional bearer token; the body as text. The answer is held to the OpenAPI
/// document like every `send`'s (a listed content type; a JSON body valid against its schema).
async fn fetch(
    app: &impl TestApp,
    key: Option<&str>,
    uri: &str,
) -> (StatusCode, HeaderMap, String) {
    let mut req = actix_web::test::TestRequest::get().uri(uri);
    if let Some(key) = key {
        req = req.insert_header(("Authorization", format!("Bearer {key}")));
    }
    let (status, headers, bytes) = common::call(app, req.to_request()).await;
    (
        status,
        headers,
        String::from_utf8(bytes.to_vec()).expect("utf-8 body"),
    )
}

/// A response header as text ("" when absent).
fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// A JSON listing that must succeed.
async fn list(app: &impl TestApp, key: &str, uri: &str) -> Value {
    let (status, _, body) = fetch(app, Some(key), uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The results of a JSON listing.
async fn results(app: &impl TestApp, key: &str, uri: &str) -> Vec<Value> {
    list(app, key, uri).await["results"]
        .as_array()
        .unwrap()
        .clone()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A 400 `validation_error` naming `param`.
async fn refused(app: &impl TestApp, key: &str, uri: &str, param: &str) {
    let (status, _, body) = fetch(app, Some(key), uri).await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    assert_eq!(body["code"], "validation_error", "{uri}: {body}");
    assert!(
        body["errors"][param].is_array(),
        "{uri}: expected errors.{param}: {body}"
    );
}

/// The path and query of an absolute link (the app is called without the host).
fn local(url: &str) -> String {
    url.strip_prefix(BASE)
        .unwrap_or_else(|| panic!("{url} is not under {BASE}"))
        .to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Follows `next` links from `uri`; every page.
async fn pages_forward(app: &impl TestApp, key: &str, uri: &str) -> Vec<Value> {
    let mut pages = vec![list(app, key, uri).await];
    while let Some(next) = pages.last().unwrap()["next"].as_str() {
        let next = local(next);
        pages.push(list(app, key, &next).await);
        assert!(pages.len() < 100, "runaway paging");
    }
    pages
}

// ------------------------------------------------------------------------------------------
// Helpers: rows written directly (chargebacks until settlement writes them; bulk data)

#[derive(Insertable)]
#[diesel(table_name = chargebacks, treat_none_as_default_value = false)]
struct NewChargeback {
    id: String,
    tenant_id: catalyst_domain::TenantId,
    transaction_id: String,
    gateway_id: catalyst_domain::GatewayId,
    kind: String,
    reason_code: Option<String>,
    reason_description: Option<String>,
    error_code: String,
    amount_minor: i64,
    currency: String,
    gateway_reference: Option<String>,
    report_date: NaiveDate,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl NewChargeback {
    fn of(t: &Transaction, kind: &str, reason: &str, report_date: NaiveDate) -> Self {
        Self::with_id(
            uuid::Uuid::now_v7().to_string(),
            t,
            kind,
            reason,
            report_date,
        )
    }

    fn with_id(id: String, t: &Transaction, kind: &str, reason: &str, day: NaiveDate) -> Self {
        let at = catalyst_store::now();
        Self {
            id,
            tenant_id: t.tenant_id.clone(),
            transaction_id: t.id.to_string(),
            gateway_id: t.gateway_id.clone(),
            kind: kind.to_owned(),
            reason_code: Some(reason.to_owned()),
            reason_description: Some(format!("Reason {reason} <&> \"quoted\", with comma")),
            error_code: "mandate_rejected".to_owned(),
            amount_minor: t.amount_minor,
            currency: t.currency.clone(),
            gateway_reference: t.gateway_reference.clone(),
            report_date: day,
            created_at: at,
            updated_at: at,
        }
    }

    fn insert(&self, store: &Store) {
        store
            .write(|c| {
                diesel::insert_into(chargebacks::table)
                    .values(self)
                    .execute(c)
                    .map_err(catalyst_store::StoreError::from)
            })
            .unwrap();
    }
}

fn transaction(store: &Store, id: &str) -> Transaction {
    store.read(|c| Transaction::by_id(c, &id.into())).unwrap()
}

/// A copy of `template` with a new id (or `id`), processed at `at`.
fn clone_transaction(template: &Transaction, id: Option<String>, at: NaiveDateTime) -> Transaction {
    let mut t = template.clone();
    t.id = id.map_or_else(catalyst_domain::TransactionId::new, Into::into);
    t.merchant_transaction_id = format!("TXN-{}", uuid::Uuid::now_v7().simple());
    t.tenant_reference_id = None;
    t.processed_at = Some(at);
    t
}

fn insert_transaction(store: &Store, t: &Transaction) {
    store.write(|c| t.insert(c)).unwrap();
}

/// An id that sorts before every UUID v7 (for rows placed exactly at a cursor's sort key).
fn low_id() -> String {
    let v7 = uuid::Uuid::now_v7().to_string();
    format!("00000000{}", &v7[8..])
}

/// Inserts `rows` in batches on the inner connection (batch inserts do not compile on the
/// multi-backend connection).
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(500) {
            match &mut *$conn {
                DbConnection::Postgres(c) => diesel::insert_into($table).values(chunk).execute(c),
                DbConnection::Sqlite(c) => diesel::insert_into($table).values(chunk).execute(c),
            }
            .unwrap();
        }
    };
}

// ------------------------------------------------------------------------------------------
// Helpers: CSV and XML readers

/// A minimal RFC 4180 reader that insists on CRLF record ends; empty unquoted fields are
/// `None`.
fn parse_csv(text: &str) -> Vec<Vec<Option<String>>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        let mut quoted = false;
        if chars.peek() == Some(&'"') {
            quoted = true;
            chars.next();
            loop {
                match chars.next().expect("unterminated quoted field") {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => break,
                    c => field.push(c),
                }
            }
        }
        loop {
            match chars.peek() {
                Some(',') | Some('\r') | None => break,
                Some(c) => {
                    assert!(!quoted, "text after a closing quote");
                    assert!(
                        *c != '"' && *c != '\n',
                        "bare quote or LF in an unquoted field"
                    );
                    field.push(*c);
                    chars.next();
                }
            }
        }
        record.push(if field.is_empty() && !quoted {
            None
        } else {
            Some(field)
        });
        match chars.next() {
            Some(',') => continue,
            Some('\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                records.push(std::mem::take(&mut record));
                if chars.peek().is_none() {
                    return records;
                }
            }
            None => panic!("the last record must end with CRLF"),
            Some(_) => unreachable!(),
        }
    }
}

/// The XML document as (root name, root attributes, records of (field, value|None for nil)).
type XmlDoc = (
    String,
    BTreeMap<String, String>,
    Vec<Vec<(String, Option<String>)>>,
);

fn parse_xml(text: &str, element: &str) -> XmlDoc {
    use quick_xml::events::{BytesStart, Event};
    fn name(e: &BytesStart) -> String {
        String::from_utf8(e.name().as_ref().to_vec()).unwrap()
    }
    fn attributes(e: &BytesStart) -> BTreeMap<String, String> {
        e.attributes()
            .map(|a| {
                let a = a.unwrap();
                (
                    String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                    a.unescape_value().unwrap().into_owned(),
                )
            })
            .collect()
    }
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut root, mut root_attributes) = (String::new(), BTreeMap::new());
    let mut records = Vec::new();
    let mut record: Vec<(String, Option<String>)> = Vec::new();
    let mut field: Option<(String, String)> = None;
    let mut depth = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Decl(_) => {}
            Event::Start(e) => {
                depth += 1;
                match depth {
                    1 => (root, root_attributes) = (name(&e), attributes(&e)),
                    2 => assert_eq!(name(&e), element),
                    3 => field = Some((name(&e), String::new())),
                    _ => panic!("unexpected nesting"),
                }
            }
            Event::Empty(e) => {
                assert_eq!(depth, 2, "only nil fields are empty elements");
                assert_eq!(
                    attributes(&e).get("xsi:nil").map(String::as_str),
                    Some("true")
                );
                record.push((name(&e), None));
            }
            Event::Text(t) => {
                if let Some((_, value)) = field.as_mut() {
                    value.push_str(&t.decode().unwrap());
                } else {
                    assert!(t.decode().unwrap().trim().is_empty(), "stray text");
                }
            }
            Event::GeneralRef(r) => {
                let entity = format!("&{};", r.decode().unwrap());
                let text = quick_xml::escape::unescape(&entity).unwrap().into_owned();
                field
                    .as_mut()
                    .expect("entity outside a field")
                    .1
                    .push_str(&text);
            }
            Event::End(_) => {
                match depth {
                    3 => {
                        let (k, v) = field.take().unwrap();
                        record.push((k, Some(v)));
                    }
                    2 => records.push(std::mem::take(&mut record)),
                    _ => {}
                }
                depth -= 1;
            }
            Event::Eof => break,
            other => panic!("unexpected XML event {other:?}"),
        }
    }
    (root, root_attributes, records)
}

/// Fetches `uri` (which has no `format`) as JSON, CSV and XML and checks that the three carry
/// the same records, the same columns and the same links; returns the JSON body.
async fn assert_formats_agree(
    app: &impl TestApp,
    key: &str,
    uri: &str,
    fields: &[&str],
    root: &str,
    element: &str,
) -> Value {
    let json = list(app, key, uri).await;
    let rows = json["results"].as_array().unwrap();

    let (status, headers, csv) = fetch(app, Some(key), &format!("{uri}&format=csv")).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
    let records = parse_csv(&csv);
    let header_row: Vec<Option<String>> = fields.iter().map(|f| Some(f.to_string())).collect();
    assert_eq!(records[0], header_row, "the header row names the fields");
    assert_eq!(records.len(), rows.len() + 1, "{csv}");
    for (record, row) in records[1..].iter().zip(rows) {
        for (field, value) in fields.iter().zip(record) {
            assert_eq!(
                value.as_deref(),
                row[*field].as_str(),
                "CSV {field} differs from JSON"
            );
        }
    }
    let cursor_of = |link: &Value| link.as_str().and_then(|l| query_param(l, "cursor"));
    let header_text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header_text("x-next-cursor"), cursor_of(&json["next"]));
    assert_eq!(
        header_text("x-previous-cursor"),
        cursor_of(&json["previous"])
    );
    let link = header_text("link").unwrap_or_default();
    for (rel, json_link) in [("next", &json["next"]), ("prev", &json["previous"])] {
        let csv_link = link_rel(&link, rel);
        assert_eq!(
            csv_link.is_some(),
            json_link.is_string(),
            "Link rel={rel}: {link}"
        );
        if let Some(url) = csv_link {
            assert_eq!(query_param(&url, "format").as_deref(), Some("csv"));
            assert_eq!(query_param(&url, "cursor"), cursor_of(json_link));
            assert!(url.starts_with(BASE), "{url}");
        }
    }

    let (status, headers, xml) = fetch(app, Some(key), &format!("{uri}&format=xml")).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_eq!(
        header(&headers, "content-type"),
        "application/xml; charset=utf-8"
    );
    let (xml_root, attributes, records) = parse_xml(&xml, element);
    assert_eq!(xml_root, root);
    for link in ["next", "previous"] {
        assert_eq!(
            attributes.get(link).and_then(|l| query_param(l, "cursor")),
            cursor_of(&json[link]),
            "XML {link}"
        );
        if let Some(l) = attributes.get(link) {
            assert_eq!(query_param(l, "format").as_deref(), Some("xml"));
        }
    }
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(rows) {
        let names: Vec<&str> = record.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, fields, "XML fields in column order");
        for (field, value) in record {
            assert_eq!(value.as_deref(), row[field].as_str(), "XML {field} differs");
        }
    }
    for body in [json.to_string(), csv, xml] {
        assert_no_clear_iban(&body);
    }
    json
}

/// The URL of `rel` in a `Link` header (`<url>; rel="next", <url>; rel="prev"`).
fn link_rel(link: &str, rel: &str) -> Option<String> {
    link.split(", ").find_map(|part| {
        let (url, params) = part.split_once(">; ")?;
        (params == format!("rel=\"{rel}\"")).then(|| url.trim_start_matches('<').to_owned())
    })
}

fn assert_no_clear_iban(body: &str) {
    for iban in [
        APPROVED,
        DECLINED,
        LATER_CHARGEBACK,
        LATER_RETURN,
        "GB82WEST12345698765432",
    ] {
        let bban = &iban[4..];
        assert!(
            !body.contains(iban) && !body.contains(bban),
            "a clear IBAN leaked: {body}"
        );
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn field_set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

// ------------------------------------------------------------------------------------------

api_test! {
    async fn transactions_list_real_payments_with_their_fields(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let approved = pay(&app, &demo, &demo.campaign_id, APPROVED, Some("order-1")).await;
        let declined = pay(&app, &demo, &demo.campaign_id, DECLINED, None).await;
        let pending = pay(&app, &demo, &demo.campaign_id, VERIFY, None).await;
        assert_eq!(pending["status"], "awaiting_verification");
        let recurring = pay(&app, &demo, &demo.recurring_campaign_id, "GB82WEST12345698765432", None).await;

        let body = list(&app, &demo.restricted_key, &format!("{TXNS}?{}", around_today())).await;
        assert_eq!((body["next"].clone(), body["previous"].clone()), (Value::Null, Value::Null));
        let rows = body["results"].as_array().unwrap();
        let expected: Vec<&Value> = vec![&approved, &declined, &recurring];
        assert_eq!(
            ids(rows),
            expected.iter().map(|e| e["transaction"]["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>(),
            "processed transactions oldest first; the pending one is not listed"
        );
        for row in rows {
            assert_eq!(keys(row), field_set(TRANSACTION_FIELDS));
        }
        let (a, d, r) = (&rows[0], &rows[1], &rows[2]);
        let txn = &approved["transaction"];
        for (field, value) in [
            ("merchant_transaction_id", &txn["merchant_transaction_id"]),
            ("gateway_reference", &txn["gateway_reference"]),
            ("tenant_reference_id", &txn["tenant_reference_id"]),
            ("type", &txn["type"]),
            ("status", &txn["status"]),
            ("amount", &approved["amount"]),
            ("currency", &approved["currency"]),
            ("date_processed", &approved["processed_at"]),
            ("created_at", &approved["created_at"]),
            ("session_token", &approved["session_token"]),
            ("order_number", &approved["order_number"]),
            ("order_id", &approved["order"]["id"]),
            ("bic", &approved["payment_method"]["bic"]),
            ("bank_name", &approved["payment_method"]["bank_name"]),
            ("mandate_reference", &approved["sepa"]["mandate_reference"]),
            ("sequence_type", &approved["sepa"]["sequence_type"]),
        ] {
            assert_eq!(&a[field], value, "{field}: {a}");
        }
        assert_eq!(a["tenant_reference_id"], "order-1");
        assert_eq!((a["type"].as_str(), a["status"].as_str()), (Some("sdd_sale"), Some("approved")));
        assert_eq!((a["amount"].as_str(), a["currency"].as_str()), (Some("29.99"), Some("EUR")));
        assert_eq!(a["iban"], "******************3000");
        assert_eq!((a["bic"].as_str(), a["bank_name"].as_str()), (Some("COBADEFFXXX"), Some("Commerzbank")));
        assert_eq!(a["payment_gateway_id"], demo.gateway_id.as_str());
        assert_eq!((a["error_code"].clone(), a["gateway_code"].clone()), (Value::Null, Value::Null));
        let processed = a["date_processed"].as_str().unwrap();
        assert!(processed.ends_with('Z') && processed.len() == 27, "RFC 3339 with µs: {processed}");

        assert_eq!((d["status"].as_str(), d["error_code"].as_str(), d["gateway_code"].as_str()),
                   (Some("declined"), Some("insufficient_funds"), Some("AM04")));
        assert_eq!(d["iban"], "******************6789");
        assert_eq!(r["amount"], "9.99");
        assert_eq!(r["iban"], "******************5432");
        assert_no_clear_iban(&body.to_string());
    }

    async fn transaction_filters_and_day_boundaries(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let a = pay(&app, &demo, &demo.campaign_id, APPROVED, None).await;
        let d = pay(&app, &demo, &demo.campaign_id, DECLINED, None).await;
        let window = around_today();
        let id = |e: &Value| e["transaction"]["id"].as_str().unwrap().to_owned();

        assert_eq!(ids(&results(&app, &key, &format!("{TXNS}?{window}&status=declined")).await), [id(&d)]);
        assert_eq!(ids(&results(&app, &key, &format!("{TXNS}?{window}&status=APPROVED")).await), [id(&a)]);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&status=approved,declined")).await.len(), 2);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&status=approved&status=declined")).await.len(), 2);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&status=refunded,charged_back")).await.len(), 0);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&type=sdd_sale")).await.len(), 2);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&type=sdd_rebill,sdd_refund")).await.len(), 0);
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&payment_gateway_id={}", demo.gateway_id)).await.len(), 2);
        let (_, _, other) = send(&app, post("/api/v1/gateways/", json!({"name": "Second", "adapter": "SANDBOX"})).auth(&demo.secret_key)).await;
        let other = other["id"].as_str().unwrap().to_owned();
        assert_eq!(results(&app, &key, &format!("{TXNS}?{window}&payment_gateway_id={other}")).await.len(), 0);
        refused(&app, &key, &format!("{TXNS}?{window}&payment_gateway_id={}", uuid::Uuid::now_v7()), "payment_gateway_id").await;

        // Dates are whole UTC days, both ends included.
        let day = plus(today(), -10);
        let template = transaction(&ctx.db.store, &id(&a));
        let last_moment = clone_transaction(&template, None, day.and_hms_micro_opt(23, 59, 59, 999_999).unwrap());
        let first_moment = clone_transaction(&template, None, plus(day, 1).and_time(NaiveTime::MIN));
        insert_transaction(&ctx.db.store, &last_moment);
        insert_transaction(&ctx.db.store, &first_moment);
        let on = |first: NaiveDate, last: NaiveDate| format!("{TXNS}?start_date={first}&end_date={last}");
        assert_eq!(ids(&results(&app, &key, &on(day, day)).await), [last_moment.id.as_str()]);
        assert_eq!(ids(&results(&app, &key, &on(plus(day, 1), plus(day, 1))).await), [first_moment.id.as_str()]);
        assert_eq!(results(&app, &key, &on(plus(day, -5), plus(day, 1))).await.len(), 2);
        assert_eq!(results(&app, &key, &on(plus(day, 2), plus(today(), -2))).await.len(), 0);
        assert_eq!(results(&app, &key, &format!("{TXNS}?start_date={}", plus(today(), 2))).await.len(), 0);
        // end_date defaults to start_date + 90 days.
        assert_eq!(results(&app, &key, &format!("{TXNS}?start_date={day}")).await.len(), 4);
        assert_eq!(results(&app, &key, &format!("{TXNS}?start_date={}", plus(today(), -95))).await.len(), 2);
    }

    async fn subscriptions_list_with_next_billing_range(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let first = pay(&app, &demo, &demo.recurring_campaign_id, APPROVED, None).await;
        let second = pay(&app, &demo, &demo.recurring_campaign_id, "GB82WEST12345698765432", None).await;
        pay(&app, &demo, &demo.campaign_id, APPROVED, None).await; // one-off: no subscription
        pay(&app, &demo, &demo.recurring_campaign_id, DECLINED, None).await; // declined: none

        let window = around_today();
        let rows = results(&app, &key, &format!("{SUBS}?{window}")).await;
        assert_eq!(ids(&rows), [&first, &second].map(|e| e["subscription"]["id"].as_str().unwrap().to_owned()));
        let s = &rows[0];
        assert_eq!(keys(s), field_set(SUBSCRIPTION_FIELDS));
        let sub = &first["subscription"];
        for (field, value) in [
            ("status", &sub["status"]),
            ("billing_frequency", &sub["billing_frequency"]),
            ("next_billing_date", &sub["next_billing_date"]),
            ("amount", &first["amount"]),
            ("currency", &first["currency"]),
            ("session_token", &first["session_token"]),
            ("order_number", &first["order_number"]),
            ("mandate_reference", &first["sepa"]["mandate_reference"]),
        ] {
            assert_eq!(&s[field], value, "{field}: {s}");
        }
        assert_eq!((s["status"].as_str(), s["billing_frequency"].as_str(), s["amount"].as_str()),
                   (Some("ACTIVE"), Some("MONTHLY"), Some("9.99")));
        assert_eq!((s["iban"].as_str(), s["customer_id"].clone()), (Some("******************3000"), Value::Null));
        assert_eq!(s["payment_gateway_id"], demo.gateway_id.as_str());
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));

        let next = sub["next_billing_date"].as_str().unwrap();
        let nbd = NaiveDate::parse_from_str(next, "%Y-%m-%d").unwrap();
        let (app_ref, key_ref, window_ref) = (&app, key.as_str(), window.as_str());
        let count = move |q: String| async move {
            results(app_ref, key_ref, &format!("{SUBS}?{window_ref}&{q}")).await.len()
        };
        assert_eq!(count(format!("next_billing_date_from={nbd}")).await, 2);
        assert_eq!(count(format!("next_billing_date_to={nbd}")).await, 2);
        assert_eq!(count(format!("next_billing_date_from={nbd}&next_billing_date_to={nbd}")).await, 2);
        assert_eq!(count(format!("next_billing_date_from={}", plus(nbd, 1))).await, 0);
        assert_eq!(count(format!("next_billing_date_to={}", plus(nbd, -1))).await, 0);
        assert_eq!(count("status=ACTIVE".into()).await, 2);
        assert_eq!(count("status=cancelled,past_due".into()).await, 0);
        assert_eq!(count(format!("payment_gateway_id={}", demo.gateway_id)).await, 2);
        refused(&app, &key, &format!("{SUBS}?{window}&next_billing_date_from={}&next_billing_date_to={}", plus(nbd, 1), nbd), "next_billing_date_to").await;
        refused(&app, &key, &format!("{SUBS}?{window}&next_billing_date_from=soon"), "next_billing_date_from").await;
        refused(&app, &key, &format!("{SUBS}?{window}&status=approved"), "status").await;
        refused(&app, &key, &format!("{SUBS}?{window}&type=monthly"), "type").await;
        refused(&app, &key, &format!("{TXNS}?{window}&next_billing_date_from={nbd}"), "next_billing_date_from").await;
        assert_eq!(results(&app, &key, &format!("{SUBS}?start_date={}", plus(today(), 2))).await.len(), 0);
    }

    async fn chargebacks_list_with_their_transactions(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let disputed = pay(&app, &demo, &demo.campaign_id, LATER_CHARGEBACK, Some("ref-cb")).await;
        let returned = pay(&app, &demo, &demo.campaign_id, LATER_RETURN, None).await;
        let store = &ctx.db.store;
        let t1 = transaction(store, disputed["transaction"]["id"].as_str().unwrap());
        let t2 = transaction(store, returned["transaction"]["id"].as_str().unwrap());
        let cb = NewChargeback::of(&t1, "chargeback", "MD06", today());
        let ret = NewChargeback::of(&t2, "return", "AM04", plus(today(), -3));
        cb.insert(store);
        ret.insert(store);

        let window = format!("start_date={}&end_date={}", plus(today(), -5), plus(today(), 1));
        let rows = results(&app, &key, &format!("{CBS}?{window}")).await;
        assert_eq!(ids(&rows), [ret.id.clone(), cb.id.clone()], "by report_date");
        let c = &rows[1];
        assert_eq!(keys(c), field_set(CHARGEBACK_FIELDS));
        for (field, value) in [
            ("transaction_id", &disputed["transaction"]["id"]),
            ("merchant_transaction_id", &disputed["transaction"]["merchant_transaction_id"]),
            ("tenant_reference_id", &disputed["transaction"]["tenant_reference_id"]),
            ("gateway_reference", &disputed["transaction"]["gateway_reference"]),
            ("amount", &disputed["amount"]),
            ("currency", &disputed["currency"]),
            ("order_number", &disputed["order_number"]),
            ("mandate_reference", &disputed["sepa"]["mandate_reference"]),
        ] {
            assert_eq!(&c[field], value, "{field}: {c}");
        }
        assert_eq!((c["kind"].as_str(), c["reason_code"].as_str(), c["error_code"].as_str()),
                   (Some("chargeback"), Some("MD06"), Some("mandate_rejected")));
        assert_eq!((c["report_date"].as_str(), c["iban"].as_str()), (Some(today().to_string().as_str()), Some("******************0806")));
        assert_eq!(c["tenant_reference_id"], "ref-cb");
        assert_eq!(c["payment_gateway_id"], demo.gateway_id.as_str());
        assert_eq!(rows[0]["iban"], "******************0204");

        assert_eq!(ids(&results(&app, &key, &format!("{CBS}?{window}&type=return")).await), [ret.id.as_str()]);
        assert_eq!(results(&app, &key, &format!("{CBS}?{window}&type=chargeback,RETURN")).await.len(), 2);
        assert_eq!(ids(&results(&app, &key, &format!("{CBS}?start_date={}&end_date={}", today(), today())).await), [cb.id.as_str()]);
        assert_eq!(results(&app, &key, &format!("{CBS}?{window}&payment_gateway_id={}", demo.gateway_id)).await.len(), 2);
        refused(&app, &key, &format!("{CBS}?{window}&status=approved"), "status").await;
        refused(&app, &key, &format!("{CBS}?{window}&type=refund"), "type").await;
    }

    async fn sandbox_settlement_shows_up_in_all_three_listings(ctx) {
        // End to end with the settlement code (`POST /sandbox/settle/`): the chargeback and the
        // return it records are listed, and their transaction and subscription change status.
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let disputed = pay(&app, &demo, &demo.recurring_campaign_id, LATER_CHARGEBACK, Some("settle-1")).await;
        let returned = pay(&app, &demo, &demo.campaign_id, LATER_RETURN, None).await;
        pay(&app, &demo, &demo.campaign_id, APPROVED, None).await;
        let (status, _, settled) = send(&app, post("/api/v1/sandbox/settle/", json!({})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{settled}");

        let window = around_today();
        let rows = results(&app, &key, &format!("{CBS}?{window}")).await;
        let by_transaction: BTreeMap<String, &Value> =
            rows.iter().map(|r| (r["transaction_id"].as_str().unwrap().to_owned(), r)).collect();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let c = by_transaction[disputed["transaction"]["id"].as_str().unwrap()];
        assert_eq!((c["kind"].as_str(), c["reason_code"].as_str()), (Some("chargeback"), Some("MD06")));
        assert_eq!((c["tenant_reference_id"].as_str(), c["iban"].as_str()), (Some("settle-1"), Some("******************0806")));
        let r = by_transaction[returned["transaction"]["id"].as_str().unwrap()];
        assert_eq!((r["kind"].as_str(), r["reason_code"].as_str()), (Some("return"), Some("AM04")));
        assert_eq!(ids(&results(&app, &key, &format!("{CBS}?{window}&type=return")).await), [r["id"].as_str().unwrap()]);

        let charged_back = results(&app, &key, &format!("{TXNS}?{window}&status=charged_back")).await;
        assert_eq!(charged_back.len(), 2, "{charged_back:?}");
        let subs = results(&app, &key, &format!("{SUBS}?{window}&status=CHARGEDBACK")).await;
        assert_eq!(ids(&subs), [disputed["subscription"]["id"].as_str().unwrap()]);
    }

    async fn every_bad_parameter_is_a_400_naming_it(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let day = today();
        for base in [TXNS, CBS, SUBS] {
            refused(&app, &key, base, "start_date").await;
            refused(&app, &key, &format!("{base}?start_date=2026-13-01"), "start_date").await;
            refused(&app, &key, &format!("{base}?start_date=2026-1-1"), "start_date").await;
            refused(&app, &key, &format!("{base}?start_date={day}&start_date={day}"), "start_date").await;
            refused(&app, &key, &format!("{base}?start_date={day}&end_date={}", plus(day, 91)), "end_date").await;
            list(&app, &key, &format!("{base}?start_date={day}&end_date={}", plus(day, 90))).await;
            refused(&app, &key, &format!("{base}?start_date={day}&end_date={}", plus(day, -1)), "end_date").await;
            list(&app, &key, &format!("{base}?start_date={day}&end_date={day}")).await;
            for size in ["0", "1001", "-1", "1.5", "many"] {
                refused(&app, &key, &format!("{base}?start_date={day}&page_size={size}"), "page_size").await;
            }
            for size in ["1", "1000"] {
                list(&app, &key, &format!("{base}?start_date={day}&page_size={size}")).await;
            }
            refused(&app, &key, &format!("{base}?start_date={day}&cursor=not-a-cursor"), "cursor").await;
            refused(&app, &key, &format!("{base}?start_date={day}&format=pdf"), "format").await;
            refused(&app, &key, &format!("{base}?start_date={day}&payment_gateway_id=7"), "payment_gateway_id").await;
            refused(&app, &key, &format!("{base}?start_date={day}&sort=desc"), "sort").await;
        }
        refused(&app, &key, &format!("{TXNS}?start_date={day}&status=pending"), "status").await;
        refused(&app, &key, &format!("{TXNS}?start_date={day}&status=approved,bogus"), "status").await;
        refused(&app, &key, &format!("{TXNS}?start_date={day}&status="), "status").await;
        refused(&app, &key, &format!("{TXNS}?start_date={day}&type=sale"), "type").await;

        // Cursors are bound to their listing.
        let position = Position { key: noon(day), id: uuid::Uuid::now_v7().to_string() };
        let cursor = Seek::After(position).encode(Listing::Transactions);
        list(&app, &key, &format!("{TXNS}?start_date={day}&cursor={cursor}")).await;
        refused(&app, &key, &format!("{SUBS}?start_date={day}&cursor={cursor}"), "cursor").await;
        refused(&app, &key, &format!("{CBS}?start_date={day}&cursor={cursor}"), "cursor").await;

        // Every problem at once.
        let (status, _, body) = fetch(&app, Some(key.as_str()), &format!("{TXNS}?end_date=x&page_size=0&format=x&status=x")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(keys(&body["errors"]), field_set(&["end_date", "format", "page_size", "start_date", "status"]), "{body}");
        assert_eq!(body["detail"], "Invalid request.");
    }

    async fn only_merchant_keys_may_list(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let token = new_session(&app, &demo.restricted_key, json!({"campaign_id": demo.campaign_id, "lead": lead("auth@example.com")})).await;
        let query = format!("?start_date={}", today());
        for base in [TXNS, CBS, SUBS] {
            let uri = format!("{base}{query}");
            let (status, headers, body) = fetch(&app, None, &uri).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert!(body.contains("not_authenticated") && headers.contains_key("x-request-id"), "{body}");
            let (status, _, body) = fetch(&app, None, base).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "auth comes before validation: {body}");
            let (status, _, body) = fetch(&app, Some(token.as_str()), &uri).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
            assert!(body.contains("permission_denied"), "{body}");
            let (status, _, body) = fetch(&app, Some(&format!("rk_{}", "0".repeat(40))), &uri).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            assert!(body.contains("authentication_failed"), "{body}");
            for key in [&demo.restricted_key, &demo.secret_key] {
                let (status, headers, body) = fetch(&app, Some(key.as_str()), &uri).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                assert_eq!(header(&headers, "cache-control"), "no-store");
            }
            let (status, _, _) = send(&app, post(&uri, json!({})).auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        }
        // The path without its trailing slash works too.
        let (status, _, _) = fetch(&app, Some(demo.restricted_key.as_str()), &format!("{}{query}", TXNS.trim_end_matches('/'))).await;
        assert_eq!(status, StatusCode::OK);
    }

    async fn tenants_see_only_their_own_rows(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let mine = pay(&app, &demo, &demo.recurring_campaign_id, APPROVED, Some("shared-ref")).await;
        let other = ctx.tenant("Other");
        let (_, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "sb", "adapter": "SANDBOX"})).auth(&other.secret_key)).await;
        let body = json!({"gateway_id": gw["id"], "amount": "5.00", "currency": "EUR", "billing_type": "RECURRING",
                          "billing_frequency": "MONTHLY", "lead": lead("t@example.com")});
        let theirs_token = new_session(&app, &other.restricted_key, body).await;
        let theirs = pay_token(&app, &theirs_token, APPROVED, Some("shared-ref")).await;
        let store = &ctx.db.store;
        for env in [&mine, &theirs] {
            let t = transaction(store, env["transaction"]["id"].as_str().unwrap());
            NewChargeback::of(&t, "chargeback", "MD06", today()).insert(store);
        }

        let window = around_today();
        for (key, env, foreign) in [(&demo.restricted_key, &mine, &theirs), (&other.restricted_key, &theirs, &mine)] {
            let txns = results(&app, key, &format!("{TXNS}?{window}")).await;
            assert_eq!(ids(&txns), [env["transaction"]["id"].as_str().unwrap().to_owned()]);
            let subs = results(&app, key, &format!("{SUBS}?{window}")).await;
            assert_eq!(ids(&subs), [env["subscription"]["id"].as_str().unwrap().to_owned()]);
            let cbs = results(&app, key, &format!("{CBS}?{window}")).await;
            assert_eq!((cbs.len(), cbs[0]["transaction_id"].clone()), (1, env["transaction"]["id"].clone()));
            let foreign_gateway = foreign["payment_gateway"]["id"].as_str().unwrap();
            for base in [TXNS, CBS, SUBS] {
                refused(&app, key, &format!("{base}?{window}&payment_gateway_id={foreign_gateway}"), "payment_gateway_id").await;
            }
        }
    }

    async fn paging_forward_and_back_with_page_size_two(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        for _ in 0..5 {
            pay(&app, &demo, &demo.campaign_id, APPROVED, None).await;
        }
        pay(&app, &demo, &demo.campaign_id, DECLINED, None).await;
        for _ in 0..3 {
            pay(&app, &demo, &demo.recurring_campaign_id, APPROVED, None).await;
        }
        // Five chargebacks on one report date: the id breaks the ties.
        let store = &ctx.db.store;
        let approved = results(&app, &key, &format!("{TXNS}?{}&status=approved&page_size=5", around_today())).await;
        for row in &approved {
            let t = transaction(store, row["id"].as_str().unwrap());
            NewChargeback::of(&t, "chargeback", "MD06", today()).insert(store);
        }

        let window = around_today();
        for (base, filter, total) in [(TXNS, "&status=approved", 8), (CBS, "", 5), (SUBS, "&status=ACTIVE", 3)] {
            let all = ids(&results(&app, &key, &format!("{base}?{window}{filter}")).await);
            assert_eq!(all.len(), total, "{base}");
            let first = format!("{base}?{window}{filter}&page_size=2");
            let pages = pages_forward(&app, &key, &first).await;
            assert_eq!(pages.len(), total.div_ceil(2), "{base}");
            let walked: Vec<String> = pages.iter().flat_map(|p| ids(p["results"].as_array().unwrap())).collect();
            assert_eq!(walked, all, "{base}: every row once, in order");
            assert!(pages[0]["previous"].is_null(), "the first page has no previous");
            assert!(pages.last().unwrap()["next"].is_null(), "the last page has no next");
            let next = pages[0]["next"].as_str().unwrap();
            assert!(next.starts_with(&format!("{BASE}{base}?")), "absolute: {next}");
            for param in ["start_date", "end_date", "page_size"] {
                assert!(query_param(next, param).is_some(), "{next} keeps {param}");
            }
            if !filter.is_empty() {
                assert!(query_param(next, "status").is_some(), "{next} keeps the filter");
            }
            // Back again through the previous links.
            let mut back = vec![pages.last().unwrap().clone()];
            while let Some(previous) = back.last().unwrap()["previous"].as_str() {
                let previous = local(previous);
                back.push(list(&app, &key, &previous).await);
                assert!(back.len() <= pages.len(), "{base}: too many previous pages");
            }
            back.reverse();
            let pages_ids: Vec<Vec<String>> = pages.iter().map(|p| ids(p["results"].as_array().unwrap())).collect();
            let back_ids: Vec<Vec<String>> = back.iter().map(|p| ids(p["results"].as_array().unwrap())).collect();
            assert_eq!(back_ids, pages_ids, "{base}: previous links give the same pages");
        }
    }

    async fn paging_is_stable_while_rows_are_inserted(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let store = &ctx.db.store;
        let env = pay(&app, &demo, &demo.campaign_id, APPROVED, None).await;
        let template = transaction(store, env["transaction"]["id"].as_str().unwrap());
        // Nine rows over three days, with equal timestamps and equal dates to tie on.
        let start = plus(today(), -30);
        let mut existing = BTreeSet::new();
        let mut cb_existing = BTreeSet::new();
        for i in 0..9u32 {
            let at = noon(plus(start, i64::from(i / 3))) + chrono::Duration::minutes(i64::from(i % 2));
            let t = clone_transaction(&template, None, at);
            insert_transaction(store, &t);
            existing.insert(t.id.to_string());
            let cb = NewChargeback::of(&t, "chargeback", "MD06", plus(start, i64::from(i / 3)));
            cb.insert(store);
            cb_existing.insert(cb.id.clone());
        }
        let window = format!("start_date={}&end_date={}", plus(start, -1), plus(start, 10));

        for (base, existing) in [(TXNS, &existing), (CBS, &cb_existing)] {
            let mut seen: Vec<(String, String)> = Vec::new();
            let mut uri = format!("{base}?{window}&page_size=2");
            // Rows are inserted while the initial nine are read (five pages); after that the
            // walk reads on to the end of what was inserted ahead of it.
            for page_number in 0.. {
                assert!(page_number < 50, "{base}: runaway paging");
                let page = list(&app, &key, &uri).await;
                let rows = page["results"].as_array().unwrap().clone();
                let date_field = if base == TXNS { "date_processed" } else { "report_date" };
                for row in &rows {
                    seen.push((row[date_field].as_str().unwrap().to_owned(), row["id"].as_str().unwrap().to_owned()));
                }
                if page_number >= 5 {
                    match page["next"].as_str() {
                        Some(next) => uri = local(next),
                        None => break,
                    }
                    continue;
                }
                // While the client holds its cursor: rows before it (earlier date, and the
                // same date with a smaller id), at it with a larger id, and after everything.
                let last = seen.last().unwrap().clone();
                let cursor_at = if base == TXNS {
                    NaiveDateTime::parse_from_str(last.0.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.6f").unwrap()
                } else {
                    noon(NaiveDate::parse_from_str(&last.0, "%Y-%m-%d").unwrap())
                };
                let inserts = [
                    (None, noon(start) - chrono::Duration::hours(1)),
                    (Some(low_id()), cursor_at),
                    (None, cursor_at),
                    (None, noon(plus(start, 9))),
                ];
                for (id, at) in inserts {
                    let t = clone_transaction(&template, if base == TXNS { id.clone() } else { None }, at);
                    insert_transaction(store, &t);
                    if base == CBS {
                        let cb_id = id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                        NewChargeback::with_id(cb_id, &t, "return", "AM04", at.date()).insert(store);
                    }
                }
                match page["next"].as_str() {
                    Some(next) => uri = local(next),
                    None => break,
                }
            }
            let seen_ids: Vec<&String> = seen.iter().map(|(_, id)| id).collect();
            let unique: BTreeSet<&String> = seen_ids.iter().copied().collect();
            assert_eq!(unique.len(), seen_ids.len(), "{base}: a row was repeated");
            for id in existing {
                assert!(unique.contains(id), "{base}: row {id} that existed at the start was skipped");
            }
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{base}: strictly increasing (date, id): {seen:?}");
            assert!(seen.len() > existing.len(), "{base}: rows inserted ahead of the cursor are seen");
        }
    }

    async fn formats_carry_the_same_records(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let key = demo.restricted_key.clone();
        let tricky = "a,b \"quoted\"\nline two <&> \r end";
        let first = pay(&app, &demo, &demo.recurring_campaign_id, APPROVED, Some("tricky")).await;
        pay(&app, &demo, &demo.campaign_id, DECLINED, None).await;
        pay(&app, &demo, &demo.recurring_campaign_id, LATER_CHARGEBACK, None).await;
        pay(&app, &demo, &demo.recurring_campaign_id, LATER_RETURN, None).await;
        let store = &ctx.db.store;
        // The API refuses control characters now; a row stored before still renders.
        {
            use catalyst_store::schema::transactions as txns;
            let id = first["transaction"]["id"].as_str().unwrap();
            diesel::update(txns::table.filter(txns::id.eq(id)))
                .set(txns::tenant_reference_id.eq(tricky))
                .execute(&mut *store.conn().unwrap())
                .unwrap();
        }
        let t = transaction(store, first["transaction"]["id"].as_str().unwrap());
        NewChargeback::of(&t, "chargeback", "MD06", today()).insert(store);
        let window = around_today();
        for txn in results(&app, &key, &format!("{TXNS}?{window}&status=approved")).await.iter().skip(1) {
            let t = transaction(store, txn["id"].as_str().unwrap());
            NewChargeback::of(&t, "return", "AM04", today()).insert(store);
        }

        let listings = [
            (TXNS, TRANSACTION_FIELDS, "transactions", "transaction"),
            (CBS, CHARGEBACK_FIELDS, "chargebacks", "chargeback"),
            (SUBS, SUBSCRIPTION_FIELDS, "subscriptions", "subscription"),
        ];
        for (base, fields, root, element) in listings {
            // First page, then the second (with a previous link), then everything at once.
            let first_page = format!("{base}?{window}&page_size=2");
            let json = assert_formats_agree(&app, &key, &first_page, fields, root, element).await;
            assert!(json["next"].is_string(), "{base}: {json}");
            let second = local(json["next"].as_str().unwrap());
            let json = assert_formats_agree(&app, &key, &second, fields, root, element).await;
            assert!(json["previous"].is_string(), "{base}: {json}");
            assert_formats_agree(&app, &key, &format!("{base}?{window}"), fields, root, element).await;
        }

        // The tricky reference survives every format byte for byte.
        let uri = format!("{TXNS}?{window}&page_size=1");
        let json = list(&app, &key, &uri).await;
        assert_eq!(json["results"][0]["tenant_reference_id"], tricky);
        let (_, _, csv) = fetch(&app, Some(key.as_str()), &format!("{uri}&format=csv")).await;
        assert!(csv.contains("\"a,b \"\"quoted\"\"\nline two <&> \r end\""), "{csv:?}");
        assert_eq!(parse_csv(&csv)[1][3].as_deref(), Some(tricky));
        let (_, _, xml) = fetch(&app, Some(key.as_str()), &format!("{uri}&format=xml")).await;
        assert!(xml.contains("<tenant_reference_id>a,b \"quoted\"\nline two &lt;&amp;&gt; &#13; end</tenant_reference_id>"), "{xml}");
        assert!(xml.contains("<error_code xsi:nil=\"true\"/>"), "null is an xsi:nil element: {xml}");

        // An empty page: a header row only; an empty root element.
        let empty = format!("{TXNS}?start_date={}", plus(today(), 5));
        let (_, headers, csv) = fetch(&app, Some(key.as_str()), &format!("{empty}&format=csv")).await;
        assert_eq!(csv, format!("{}\r\n", TRANSACTION_FIELDS.join(",")));
        assert!(!headers.contains_key("link"));
        let (_, _, xml) = fetch(&app, Some(key.as_str()), &format!("{empty}&format=xml")).await;
        let (root, attributes, records) = parse_xml(&xml, "transaction");
        assert_eq!((root.as_str(), records.len()), ("transactions", 0));
        assert!(!attributes.contains_key("next") && !attributes.contains_key("previous"));
    }

    async fn each_listing_uses_its_index(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo, &demo.recurring_campaign_id, APPROVED, None).await;
        let other = ctx.tenant("Other");
        let store = ctx.db.store.clone();
        let rows = bulk_rows(&store, &env, &[&demo.tenant_id, &other.tenant_id], 4000);
        {
            let mut conn = store.conn().unwrap();
            insert_all!(conn, catalyst_store::schema::mandates::table, rows.mandates);
            insert_all!(conn, catalyst_store::schema::payment_sessions::table, rows.sessions);
            insert_all!(conn, catalyst_store::schema::orders::table, rows.orders);
            insert_all!(conn, catalyst_store::schema::transactions::table, rows.transactions);
            insert_all!(conn, chargebacks::table, rows.chargebacks);
            insert_all!(conn, catalyst_store::schema::subscriptions::table, rows.subscriptions);
            diesel::sql_query("ANALYZE").execute(&mut *conn).unwrap();
        }
        let tenant = &demo.tenant_id;
        // A 30-day window holding about 1,500 of the tenant's rows: far more than one page, as
        // in real reconciliation runs.
        let days = Days { first: plus(today(), -35), last: plus(today(), -6) };
        let middle = noon(plus(today(), -20));
        let mid_id = uuid::Uuid::now_v7().to_string();
        let seeks = |key: NaiveDateTime| {
            [None, Some(Seek::After(position(key, &mid_id))), Some(Seek::Before(position(key, &mid_id)))]
        };
        let mut conn = store.conn().unwrap();
        let backend = store.backend();

        for seek in seeks(middle) {
            let slice = Slice { size: 100, seek };
            for statuses in [vec![], vec!["approved".to_owned(), "declined".to_owned()]] {
                let filter = TransactionFilter { processed: days, statuses, kinds: vec![], gateway_id: None };
                let plan = reconciliation::explain_transactions(&mut conn, tenant, &filter, &slice).unwrap();
                assert_uses_index(backend, &plan, "transactions", "transactions_processed");
            }
            let filter = SubscriptionFilter { created: days, statuses: vec![], gateway_id: None,
                                              next_billing_from: None, next_billing_to: None };
            let plan = reconciliation::explain_subscriptions(&mut conn, tenant, &filter, &slice).unwrap();
            assert_uses_index(backend, &plan, "subscriptions", "subscriptions_tenant_created");
        }
        let day = middle.date();
        let day_seeks = [None, Some(Seek::After(position(day, &mid_id))), Some(Seek::Before(position(day, &mid_id)))];
        for seek in day_seeks {
            let slice = Slice { size: 100, seek };
            let filter = ChargebackFilter { reported: days, kinds: vec![], gateway_id: None };
            let plan = reconciliation::explain_chargebacks(&mut conn, tenant, &filter, &slice).unwrap();
            assert_uses_index(backend, &plan, "chargebacks", "chargebacks_report");
        }

        // The listing returns what the plans describe: the window's rows of this tenant, all of
        // them once, in order (~1,500 rows: two pages of 1,000).
        let key = demo.restricted_key.clone();
        let uri = format!("{TXNS}?start_date={}&end_date={}&page_size=1000", days.first, days.last);
        let pages = pages_forward(&app, &key, &uri).await;
        let rows: Vec<Value> = pages.iter().flat_map(|p| p["results"].as_array().unwrap().clone()).collect();
        assert_eq!((pages.len(), pages[0]["results"].as_array().unwrap().len()), (2, 1000));
        let expected = rows_in_window(&store, &demo.tenant_id, days);
        assert_eq!(ids(&rows), expected, "every row of the window once, by (date_processed, id)");
    }
}

/// The ids of the tenant's processed transactions in `days`, by `(processed_at, id)`, computed
/// independently of the listing.
fn rows_in_window(store: &Store, tenant: &catalyst_domain::TenantId, days: Days) -> Vec<String> {
    use catalyst_store::schema::transactions::dsl as t;
    let mut rows: Vec<(NaiveDateTime, String)> = store
        .read(|c| {
            t::transactions
                .filter(t::tenant_id.eq(tenant))
                .select((t::processed_at.assume_not_null(), t::id))
                .filter(t::processed_at.is_not_null())
                .load(c)
                .map_err(catalyst_store::StoreError::from)
        })
        .unwrap();
    rows.retain(|(at, _)| (days.first..=days.last).contains(&at.date()));
    rows.sort();
    rows.into_iter().map(|(_, id)| id).collect()
}

/// Checks a plan: PostgreSQL's JSON must scan `index` (forwards or backwards) and never sort;
/// SQLite's must search `table` with `index` and need no temporary B-tree for the order.
fn assert_uses_index(backend: Backend, plan: &str, table: &str, index: &str) {
    eprintln!("--- {backend:?} plan on {table}:\n{plan}");
    match backend {
        Backend::Postgres => {
            let doc: Value = serde_json::from_str(plan).unwrap();
            let mut nodes = Vec::new();
            collect_nodes(&doc[0]["Plan"], &mut nodes);
            let scan = nodes
                .iter()
                .find(|n| n["Relation Name"] == table)
                .unwrap_or_else(|| panic!("{plan}"));
            assert!(
                ["Index Scan", "Index Only Scan", "Bitmap Heap Scan"]
                    .contains(&scan["Node Type"].as_str().unwrap()),
                "{table} is not scanned by an index: {plan}"
            );
            assert!(
                nodes.iter().any(|n| n["Index Name"] == index),
                "{index} is not used: {plan}"
            );
            assert!(
                !nodes
                    .iter()
                    .any(|n| n["Node Type"] == "Sort" || n["Node Type"] == "Incremental Sort"),
                "the index must give the order: {plan}"
            );
        }
        Backend::Sqlite => {
            assert!(
                plan.lines()
                    .any(|l| l.contains(&format!("SEARCH {table} USING INDEX {index}"))),
                "{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "the index must give the order: {plan}"
            );
        }
    }
}

fn position<K>(key: K, id: &str) -> Position<K> {
    Position {
        key,
        id: id.to_owned(),
    }
}

fn collect_nodes<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    if let Some(children) = node["Plans"].as_array() {
        for child in children {
            collect_nodes(child, out);
        }
    }
}

/// Rows for the index test: `n` sessions with their orders, mandates, transactions,
/// chargebacks and subscriptions, alternating between `tenants`, spread over the last 40 days.
struct Bulk {
    sessions: Vec<PaymentSession>,
    mandates: Vec<Mandate>,
    orders: Vec<Order>,
    transactions: Vec<Transaction>,
    chargebacks: Vec<NewChargeback>,
    subscriptions: Vec<Subscription>,
}

fn bulk_rows(store: &Store, env: &Value, tenants: &[&catalyst_domain::TenantId], n: u32) -> Bulk {
    let token = env["session_token"].as_str().unwrap();
    let session = store
        .read(|c| PaymentSession::find_by_token(c, token))
        .unwrap();
    let order = store
        .read(|c| Order::find_by_session(c, &session.id))
        .unwrap();
    let txn = transaction(store, env["transaction"]["id"].as_str().unwrap());
    let sub = store
        .read(|c| Subscription::of_session(c, &session.id))
        .unwrap()
        .unwrap();
    let mandate = store
        .read(|c| Mandate::find(c, &txn.tenant_id, &txn.mandate_id))
        .unwrap();
    let mut bulk = Bulk {
        sessions: vec![],
        mandates: vec![],
        orders: vec![],
        transactions: vec![],
        chargebacks: vec![],
        subscriptions: vec![],
    };
    for i in 0..n {
        let tenant = tenants[i as usize % tenants.len()].clone();
        let at = noon(plus(today(), -i64::from(i % 40))) + chrono::Duration::seconds(i64::from(i));
        let mut s = session.clone();
        s.id = catalyst_domain::SessionId::new();
        s.token = format!("ps_{}", uuid::Uuid::now_v7().simple());
        s.tenant_id.clone_from(&tenant);
        let mut o = order.clone();
        o.id = catalyst_domain::OrderId::new();
        o.session_id = Some(s.id.clone());
        o.order_number = format!("ORD-{:08X}", i + 1);
        o.tenant_id.clone_from(&tenant);
        let mut m = mandate.clone();
        m.id = catalyst_domain::MandateId::new();
        m.reference = format!("MAND-{}", o.order_number);
        m.tenant_id.clone_from(&tenant);
        let mut t = clone_transaction(&txn, None, at);
        t.mandate_id.clone_from(&m.id);
        t.session_id = Some(s.id.clone());
        t.order_id.clone_from(&o.id);
        t.tenant_id.clone_from(&tenant);
        t.status = if i % 4 == 0 {
            TransactionStatus::Declined
        } else {
            TransactionStatus::Approved
        };
        let mut cb = NewChargeback::of(&t, "chargeback", "MD06", at.date());
        cb.tenant_id.clone_from(&tenant);
        let mut sb = sub.clone();
        sb.id = catalyst_domain::SubscriptionId::new();
        sb.session_id = Some(s.id.clone());
        sb.order_id.clone_from(&o.id);
        sb.tenant_id.clone_from(&tenant);
        sb.mandate_id.clone_from(&m.id);
        sb.created_at = at;
        bulk.sessions.push(s);
        bulk.orders.push(o);
        bulk.mandates.push(m);
        bulk.transactions.push(t);
        bulk.chargebacks.push(cb);
        bulk.subscriptions.push(sb);
    }
    bulk
}
