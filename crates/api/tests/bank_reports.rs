//! Bank reports of BATCH gateways (`POST /gateways/{id}/batches/imports/`, API.md §9.3):
//! pain.002 accepts and rejects, camt.054 credits, returns and refund requests, applied to
//! pending collections made through `/pay/`, on both backends; and the full cycle: sessions →
//! a real cut (§9.2) → pain.002 → camt.054 with a return → events and reconciliation.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use catalyst_domain::transaction::TransactionStatus;
use catalyst_store::{PaymentSession, Transaction};
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const GATEWAYS: &str = "/api/v1/gateways/";

fn imports_path(gateway_id: &str) -> String {
    format!("{GATEWAYS}{gateway_id}/batches/imports/")
}

async fn batch_gateway<S, B>(app: &S, secret_key: &str) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"name": "Bank file", "adapter": "BATCH", "creditor_name": "Acme GmbH",
        "creditor_identifier": "DE98ZZZ09999999999",
        "credentials": {"creditor_name": "Acme GmbH", "creditor_id": "DE98ZZZ09999999999",
            "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}});
    let (status, _, gw) = send(app, post(GATEWAYS, body).auth(secret_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{gw}");
    gw["id"].as_str().unwrap().to_owned()
}

/// A pending collection through `/pay/` on the gateway: (session token, transaction).
async fn pending_debit<S, B>(
    ctx: &Ctx,
    app: &S,
    restricted_key: &str,
    gateway_id: &str,
    amount: &str,
    email: &str,
) -> (String, Transaction)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"gateway_id": gateway_id, "amount": amount, "currency": "EUR", "billing_type": "ONE_OFF",
        "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"}});
    let (status, _, created) = send(app, post(SESSIONS, body).auth(restricted_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap().to_owned();
    let (status, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{env}");
    assert_eq!(env["status"], "pending", "{env}");
    let t = transaction_of(ctx, &token);
    (token, t)
}

fn transaction_of(ctx: &Ctx, token: &str) -> Transaction {
    ctx.db
        .store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, token)?;
            Ok::<_, catalyst_store::StoreError>(s.latest_transaction(c)?.expect("a transaction"))
        })
        .unwrap()
}

fn session_status(ctx: &Ctx, token: &str) -> String {
    ctx.db
        .store
        .read(|c| PaymentSession::find_by_token(c, token))
        .unwrap()
        .status
        .as_str()
        .to_owned()
}

/// Puts exactly these transactions into one `batches` row with message id `message_id`, so a
/// test can choose a batch's members and its message id; the real cut (POST …/batches/) is
/// what `a_full_cycle_from_sessions_to_a_return` uses.
fn cut(
    ctx: &Ctx,
    tenant_id: &catalyst_domain::TenantId,
    gateway_id: &str,
    message_id: &str,
    txns: &[&Transaction],
) {
    use catalyst_store::schema::{batch_transactions, batches};
    use diesel::prelude::*;
    let mut conn = ctx.db.store.conn().unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let total: i64 = txns.iter().map(|t| t.amount_minor).sum();
    diesel::insert_into(batches::table)
        .values((
            batches::id.eq(&id),
            batches::tenant_id.eq(tenant_id),
            batches::gateway_id.eq(gateway_id),
            batches::collection_date.eq(chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap()),
            batches::pain_version.eq("001.08"),
            batches::message_id.eq(message_id),
            batches::transaction_count.eq(txns.len() as i32),
            batches::control_sum_minor.eq(total),
            batches::file.eq(b"<Document/>".to_vec()),
            batches::created_at.eq(catalyst_store::now()),
        ))
        .execute(&mut *conn)
        .unwrap();
    for t in txns {
        diesel::insert_into(batch_transactions::table)
            .values((
                batch_transactions::transaction_id.eq(&t.id),
                batch_transactions::batch_id.eq(&id),
            ))
            .execute(&mut *conn)
            .unwrap();
    }
}

/// The end-to-end id a cut writes for a transaction (CONTRACT: its id as a simple UUID).
fn e2e(t: &Transaction) -> String {
    uuid::Uuid::parse_str(&t.id).unwrap().simple().to_string()
}

fn events(ctx: &Ctx, event_type: &str) -> i64 {
    ctx.count(&format!("webhook_events WHERE event_type = '{event_type}'"))
}

/// (end-to-end id, status, reason code, amount)
type Pain002Tx<'a> = (&'a str, &'a str, Option<&'a str>, &'a str);

fn pain002(message_id: &str, original_message_id: &str, txs: &[Pain002Tx<'_>]) -> String {
    let mut body = String::new();
    for (e2e, status, reason, amount) in txs {
        body.push_str(&format!(
            "    <TxInfAndSts><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId><TxSts>{status}</TxSts>\n"
        ));
        if let Some(r) = reason {
            body.push_str(&format!(
                "      <StsRsnInf><Rsn><Cd>{r}</Cd></Rsn></StsRsnInf>\n"
            ));
        }
        body.push_str(&format!(
            "      <OrgnlTxRef><Amt><InstdAmt Ccy=\"EUR\">{amount}</InstdAmt></Amt></OrgnlTxRef></TxInfAndSts>\n"
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
<CstmrPmtStsRpt>
  <GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-12-08T08:00:00</CreDtTm></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>{original_message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>{original_message_id}-1</OrgnlPmtInfId>
{body}  </OrgnlPmtInfAndSts>
</CstmrPmtStsRpt>
</Document>
"#
    )
}

/// (end-to-end id, CRDT/DBIT, return reason, amount, currency)
type CamtEntry<'a> = (&'a str, &'a str, Option<&'a str>, &'a str, &'a str);

fn camt054(message_id: &str, entries: &[CamtEntry<'_>]) -> String {
    let mut body = String::new();
    for (e2e, cd, reason, amount, ccy) in entries {
        let rtr = reason
            .map(|r| format!("<RtrInf><Rsn><Cd>{r}</Cd></Rsn></RtrInf>"))
            .unwrap_or_default();
        let rvsl = if reason.is_some() {
            "<RvslInd>true</RvslInd>"
        } else {
            ""
        };
        body.push_str(&format!(
            r#"  <Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{rvsl}
   <Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-10</Dt></BookgDt>
   <NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
    <Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{rtr}</TxDtls></NtryDtls></Ntry>
"#
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
<BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>2026-12-10T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
{body}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>
"#
    )
}

async fn import<S, B>(
    app: &S,
    gateway_id: &str,
    secret_key: &str,
    content_type: &str,
    xml: &str,
) -> (StatusCode, Value)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let req = test::TestRequest::post()
        .uri(&imports_path(gateway_id))
        .insert_header(("Authorization", format!("Bearer {secret_key}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(xml.to_owned())
        .to_request();
    let (status, _, bytes) = call(app, req).await;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// Row counts that an import must not change when it changes nothing.
fn footprint(ctx: &Ctx) -> Vec<i64> {
    [
        "transactions WHERE status = 'pending'",
        "transactions WHERE status = 'approved'",
        "transactions WHERE status = 'declined'",
        "transactions WHERE status = 'charged_back'",
        "chargebacks",
        "webhook_events",
        "webhook_deliveries",
        "batch_imports",
    ]
    .iter()
    .map(|t| ctx.count(t))
    .collect()
}

fn counts(summary: &Value) -> [u64; 8] {
    [
        "entries",
        "approved",
        "declined",
        "returned",
        "chargebacks",
        "unknown",
        "unchanged",
        "mismatched",
    ]
    .map(|k| summary[k].as_u64().unwrap_or(u64::MAX))
}

fn today() -> String {
    chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

api_test! {
    async fn pain002_accepts_and_rejects_pending_collections_once(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (tok1, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (tok2, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        let (_tok3, t3) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "7.50", "c@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1, &t2, &t3]);
        let (changed, completed) = (events(&ctx, "transaction.status_changed"), events(&ctx, "payment_session.completed"));

        let unknown = uuid::Uuid::new_v4().simple().to_string();
        let xml = pain002("STS-1", "MSG-1", &[
            (&e2e(&t1), "ACSC", None, "19.99"),
            (&e2e(&t2), "RJCT", Some("AM04"), "5.00"),
            (&e2e(&t3), "PDNG", None, "7.50"),
            (&unknown, "ACSC", None, "1.00"),
        ]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!((summary["object"].as_str(), summary["kind"].as_str(), summary["message_id"].as_str(), summary["duplicate"].as_bool()),
            (Some("bank_report_import"), Some("pain.002"), Some("STS-1"), Some(false)), "{summary}");
        assert_eq!(counts(&summary), [4, 1, 1, 0, 0, 1, 1, 0], "{summary}");
        assert_eq!(summary["unknown_end_to_end_ids"], json!([unknown]));

        let (a, d, p) = (transaction_of(&ctx, &tok1), transaction_of(&ctx, &tok2), ctx.db.store.read(|c| Transaction::by_id(c, &t3.id)).unwrap());
        assert_eq!((a.status.as_str(), d.status.as_str(), p.status.as_str()), ("approved", "declined", "pending"));
        assert_eq!((d.error_code.as_deref(), d.gateway_code.as_deref()), (Some("insufficient_funds"), Some("AM04")));
        assert_eq!(d.gateway_message.as_deref(), Some("Insufficient funds"));
        assert_eq!(session_status(&ctx, &tok1), "COMPLETED");
        assert_ne!(session_status(&ctx, &tok2), "COMPLETED");
        assert_eq!(events(&ctx, "transaction.status_changed"), changed + 2, "one per settled or declined debit");
        assert_eq!(events(&ctx, "payment_session.completed"), completed + 1);

        let (status, _, listed) = send(&app, get(&format!("/api/v1/reconciliation/transactions/?start_date={}", today())).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let rows = listed["results"].as_array().unwrap();
        let row = |id: &str| rows.iter().find(|r| r["id"] == id).cloned().unwrap_or(Value::Null);
        assert_eq!(row(&t1.id)["status"], "approved", "{listed}");
        assert_eq!((row(&t2.id)["status"].as_str(), row(&t2.id)["error_code"].as_str(), row(&t2.id)["gateway_code"].as_str()),
            (Some("declined"), Some("insufficient_funds"), Some("AM04")), "{listed}");

        // The same file again (also as text/xml): the first summary, flagged, and nothing changes.
        let before = footprint(&ctx);
        let (status, again) = import(&app, &gw, &tenant.secret_key, "text/xml; charset=utf-8", &xml).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again["duplicate"], true);
        assert_eq!(counts(&again), counts(&summary));
        assert_eq!(again["imported_at"], summary["imported_at"]);
        assert_eq!(footprint(&ctx), before);

        // A later report accepting the still pending one settles it; the settled ones are unchanged.
        let later = pain002("STS-2", "MSG-1", &[(&e2e(&t1), "ACSC", None, "19.99"), (&e2e(&t2), "ACCP", None, "5.00"), (&e2e(&t3), "ACSP", None, "7.50")]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &later).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [3, 1, 0, 0, 0, 0, 2, 0], "{summary}");
        assert_eq!(ctx.db.store.read(|c| Transaction::by_id(c, &t3.id)).unwrap().status, TransactionStatus::Approved);
    }
}

api_test! {
    async fn camt054_settles_credits_and_reverses_returns_and_refund_requests(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (_, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (_, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        let (_, t3) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "7.50", "c@example.com").await;
        let (tok4, t4) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "3.00", "d@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1, &t2, &t3, &t4]);

        let credits = camt054("N-1", &[
            (&e2e(&t1), "CRDT", None, "19.99", "EUR"),
            (&e2e(&t2), "CRDT", None, "5.00", "EUR"),
            (&e2e(&t3), "CRDT", None, "7.50", "EUR"),
        ]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &credits).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [3, 3, 0, 0, 0, 0, 0, 0], "{summary}");
        assert_eq!(summary["kind"], "camt.054");

        let created = events(&ctx, "chargeback.created");
        let returns = camt054("N-2", &[
            (&e2e(&t1), "DBIT", Some("AM04"), "19.99", "EUR"),
            (&e2e(&t2), "DBIT", Some("MD06"), "5.00", "EUR"),
            (&e2e(&t3), "DBIT", Some("AM04"), "7.55", "EUR"),
            (&e2e(&t4), "DBIT", Some("AC04"), "3.00", "EUR"),
        ]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &returns).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [4, 0, 1, 1, 1, 0, 0, 1], "{summary}");
        assert_eq!(summary["mismatches"][0]["end_to_end_id"], e2e(&t3));
        assert!(summary["mismatches"][0]["message"].as_str().unwrap().contains("amount 755"), "{summary}");

        let status_of = |t: &Transaction| ctx.db.store.read(|c| Transaction::by_id(c, &t.id)).unwrap();
        assert_eq!(status_of(&t1).status, TransactionStatus::ChargedBack);
        assert_eq!(status_of(&t2).status, TransactionStatus::ChargedBack);
        assert_eq!(status_of(&t3).status, TransactionStatus::Approved, "a mismatched entry is not applied");
        let declined = status_of(&t4);
        assert_eq!((declined.status.as_str(), declined.error_code.as_deref(), declined.gateway_code.as_deref()),
            ("declined", Some("account_closed"), Some("AC04")), "a return of a pending debit declines it");
        assert_ne!(session_status(&ctx, &tok4), "COMPLETED");
        assert_eq!(events(&ctx, "chargeback.created"), created + 2);

        let (status, _, listed) = send(&app, get(&format!("/api/v1/reconciliation/chargebacks/?start_date={}", today())).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let mut rows: Vec<(String, String, String, String)> = listed["results"].as_array().unwrap().iter()
            .map(|r| (r["transaction_id"].as_str().unwrap_or("").to_owned(), r["kind"].as_str().unwrap_or("").to_owned(),
                r["reason_code"].as_str().unwrap_or("").to_owned(), r["error_code"].as_str().unwrap_or("").to_owned()))
            .collect();
        rows.sort();
        let mut expected = vec![
            (t1.id.to_string(), "return".to_owned(), "AM04".to_owned(), "insufficient_funds".to_owned()),
            (t2.id.to_string(), "chargeback".to_owned(), "MD06".to_owned(), "mandate_rejected".to_owned()),
        ];
        expected.sort();
        assert_eq!(rows, expected, "{listed}");

        let before = footprint(&ctx);
        let (status, again) = import(&app, &gw, &tenant.secret_key, "application/xml", &returns).await;
        assert_eq!((status, again["duplicate"].as_bool()), (StatusCode::OK, Some(true)), "{again}");
        assert_eq!(footprint(&ctx), before, "a double import changes nothing");
    }
}

api_test! {
    async fn unreadable_files_and_other_messages_are_refused_with_their_line(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (_, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1]);
        let before = footprint(&ctx);

        let good = pain002("STS-1", "MSG-1", &[(&e2e(&t1), "ACSC", None, "19.99")]);
        let broken = good.replace("</TxSts>", "</TxStatus>");
        let (status, body) = import(&app, &gw, &tenant.secret_key, "application/xml", &broken).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["code"], "malformed_bank_file", "{body}");
        assert_eq!(body["errors"][0]["line"], 7, "the line of the bad end tag: {body}");

        let pain008 = "<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.008.001.08\"><CstmrDrctDbtInitn/></Document>";
        let (status, body) = import(&app, &gw, &tenant.secret_key, "application/xml", pain008).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!((body["code"].as_str(), body["errors"][0]["line"].as_u64()), (Some("malformed_bank_file"), Some(2)), "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("pain.008"), "{body}");

        let missing = good.replace("<OrgnlEndToEndId>", "<Other>").replace("</OrgnlEndToEndId>", "</Other>");
        let (status, body) = import(&app, &gw, &tenant.secret_key, "application/xml", &missing).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("OrgnlEndToEndId"), "{body}");
        assert_eq!(body["errors"][0]["line"], 7, "{body}");

        let huge = format!("{good}<!--{}-->", "x".repeat(8 * 1024 * 1024));
        let (status, body) = import(&app, &gw, &tenant.secret_key, "application/xml", &huge).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")), "{body}");

        let (status, body) = import(&app, &gw, &tenant.secret_key, "application/json", &good).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
        let (status, body) = import(&app, &gw, &tenant.restricted_key, "application/xml", &good).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "secret key only: {body}");
        assert_eq!(footprint(&ctx), before, "nothing changed");
        assert_eq!(ctx.db.store.read(|c| Transaction::by_id(c, &t1.id)).unwrap().status, TransactionStatus::Pending);
    }
}

api_test! {
    async fn tenants_only_import_for_their_own_gateways_and_collections(ctx) {
        let a = ctx.tenant("A GmbH");
        let b = ctx.tenant("B GmbH");
        let app = ctx.app().await;
        let gw_a = batch_gateway(&app, &a.secret_key).await;
        let gw_b = batch_gateway(&app, &b.secret_key).await;
        let (_, t) = pending_debit(&ctx, &app, &a.restricted_key, &gw_a, "19.99", "a@example.com").await;
        cut(&ctx, &a.tenant_id, &gw_a, "MSG-A", &[&t]);
        let xml = pain002("STS-1", "MSG-A", &[(&e2e(&t), "ACSC", None, "19.99")]);

        let (status, body) = import(&app, &gw_a, &b.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, body) = import(&app, &gw_b, &b.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(counts(&body), [1, 0, 0, 0, 0, 1, 0, 0], "another tenant's collection is unknown: {body}");
        assert_eq!(ctx.db.store.read(|c| Transaction::by_id(c, &t.id)).unwrap().status, TransactionStatus::Pending);

        // A pending collection not yet in a batch of this gateway is unknown too.
        let (_, loose) = pending_debit(&ctx, &app, &a.restricted_key, &gw_a, "4.00", "l@example.com").await;
        let xml = pain002("STS-2", "MSG-A", &[(&e2e(&loose), "ACSC", None, "4.00"), (&e2e(&t), "ACSC", None, "19.99")]);
        let (status, body) = import(&app, &gw_a, &a.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(counts(&body), [2, 1, 0, 0, 0, 1, 0, 0], "{body}");

        // The same file is a first import for the other tenant (digests are per tenant).
        let (status, body) = import(&app, &gw_b, &b.secret_key, "application/xml", &xml).await;
        assert_eq!((status, body["duplicate"].as_bool()), (StatusCode::CREATED, Some(false)), "{body}");

        let (_, _, demo_gw) = send(&app, post(GATEWAYS, json!({"name": "Sandbox", "adapter": "SANDBOX"})).auth(&a.secret_key)).await;
        let (status, body) = import(&app, demo_gw["id"].as_str().unwrap(), &a.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("BATCH"), "{body}");
    }
}

api_test! {
    async fn a_pain002_refusing_the_whole_file_declines_every_collection_of_that_batch(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (_, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (_, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        let (_, other) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "7.50", "c@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1, &t2]);
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-2", &[&other]);
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
  <GrpHdr><MsgId>STS-9</MsgId><CreDtTm>2026-12-08T08:00:00</CreDtTm></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>MSG-1</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>
    <GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf></OrgnlGrpInfAndSts>
</CstmrPmtStsRpt></Document>"#;
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", xml).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [2, 0, 2, 0, 0, 0, 0, 0], "{summary}");
        for t in [&t1, &t2] {
            let after = ctx.db.store.read(|c| Transaction::by_id(c, &t.id)).unwrap();
            assert_eq!((after.status.as_str(), after.gateway_code.as_deref(), after.error_code.as_deref()),
                ("declined", Some("FF01"), Some("unknown")));
        }
        assert_eq!(ctx.db.store.read(|c| Transaction::by_id(c, &other.id)).unwrap().status, TransactionStatus::Pending, "another batch");
    }
}

api_test! {
    async fn the_same_file_imported_twice_at_once_is_applied_once(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (_, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (_, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1, &t2]);
        let (changed, completed) = (events(&ctx, "transaction.status_changed"), events(&ctx, "payment_session.completed"));
        let xml = pain002("STS-1", "MSG-1", &[(&e2e(&t1), "ACSC", None, "19.99"), (&e2e(&t2), "RJCT", Some("MS02"), "5.00")]);
        let summaries: Vec<_> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..2).map(|_| s.spawn(|| {
                catalyst_api::bank_reports::import(&ctx.db.store, &tenant.tenant_id, &catalyst_domain::GatewayId::from(gw.as_str()), xml.as_bytes())
                    .expect("no request error")
                    .expect("readable")
            })).collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let mut flags: Vec<bool> = summaries.iter().map(|s| s.duplicate).collect();
        flags.sort();
        assert_eq!(flags, [false, true], "{summaries:?}");
        assert!(summaries.iter().all(|s| (s.approved, s.declined) == (1, 1)), "{summaries:?}");
        assert_eq!(ctx.count("batch_imports"), 1);
        assert_eq!(events(&ctx, "transaction.status_changed"), changed + 2, "each debit changed status once");
        assert_eq!(events(&ctx, "payment_session.completed"), completed + 1);
        assert_eq!(ctx.count("transactions WHERE status = 'declined' AND gateway_code = 'MS02'"), 1);
    }
}

api_test! {
    async fn a_full_cycle_from_sessions_to_a_return(ctx) {
        let tenant = ctx.tenant("Cycle GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (tok1, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (tok2, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        let (tok3, t3) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "7.50", "c@example.com").await;

        // The cut: one pain.008 file carrying the three pending collections.
        let (status, _, batch) = send(&app, post(&format!("{GATEWAYS}{gw}/batches/"), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{batch}");
        assert_eq!((batch["transaction_count"].as_u64(), batch["control_sum"].as_str()), (Some(3), Some("32.49")), "{batch}");
        let message_id = batch["message_id"].as_str().unwrap().to_owned();
        let file_path = format!("{GATEWAYS}{gw}/batches/{}/file/", batch["id"].as_str().unwrap());
        let req = test::TestRequest::get()
            .uri(&file_path)
            .insert_header(("Authorization", format!("Bearer {}", tenant.secret_key)))
            .to_request();
        let (status, headers, bytes) = call(&app, req).await;
        assert_eq!(status, StatusCode::OK);
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("application/xml"), "{content_type}");
        let file = String::from_utf8(bytes.to_vec()).unwrap();
        for t in [&t1, &t2, &t3] {
            assert!(file.contains(&format!("<EndToEndId>{}</EndToEndId>", e2e(t))), "{file}");
        }
        assert!(file.contains(&format!("<MsgId>{message_id}</MsgId>")));
        // Nothing is pending outside a batch any more.
        let (status, _, again) = send(&app, post(&format!("{GATEWAYS}{gw}/batches/"), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, again["code"].as_str()), (StatusCode::CONFLICT, Some("no_pending_collections")), "{again}");

        // The bank's status report: two accepted, one refused for lack of funds.
        let (changed, completed) = (events(&ctx, "transaction.status_changed"), events(&ctx, "payment_session.completed"));
        let status_report = pain002("STS-CYCLE", &message_id, &[
            (&e2e(&t1), "ACSC", None, "19.99"),
            (&e2e(&t2), "ACSC", None, "5.00"),
            (&e2e(&t3), "RJCT", Some("AM04"), "7.50"),
        ]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &status_report).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [3, 2, 1, 0, 0, 0, 0, 0], "{summary}");
        assert_eq!((session_status(&ctx, &tok1), session_status(&ctx, &tok2)), ("COMPLETED".to_owned(), "COMPLETED".to_owned()));
        assert_ne!(session_status(&ctx, &tok3), "COMPLETED");
        assert_eq!(events(&ctx, "transaction.status_changed"), changed + 3);
        assert_eq!(events(&ctx, "payment_session.completed"), completed + 2);

        // The debit notification a week later: the 5.00 collection came back (MS02, a return).
        let chargebacks = events(&ctx, "chargeback.created");
        let notification = camt054("NTF-CYCLE", &[(&e2e(&t2), "DBIT", Some("MS02"), "5.00", "EUR")]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &notification).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [1, 0, 0, 1, 0, 0, 0, 0], "{summary}");
        assert_eq!(events(&ctx, "chargeback.created"), chargebacks + 1);
        assert_eq!(transaction_of(&ctx, &tok2).status, TransactionStatus::ChargedBack);

        // Reconciliation shows where each collection ended.
        let (status, _, listed) = send(&app, get(&format!("/api/v1/reconciliation/transactions/?start_date={}", today())).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{listed}");
        let rows = listed["results"].as_array().unwrap();
        let status_of = |id: &str| rows.iter().find(|r| r["id"] == id).map(|r| r["status"].clone()).unwrap_or(Value::Null);
        assert_eq!((status_of(&t1.id), status_of(&t2.id), status_of(&t3.id)), (json!("approved"), json!("charged_back"), json!("declined")), "{listed}");
        let (status, _, returns) = send(&app, get(&format!("/api/v1/reconciliation/chargebacks/?start_date={}", today())).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{returns}");
        let rows = returns["results"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{returns}");
        assert!(rows[0].to_string().contains("MS02"), "{returns}");

        // Both reports again: nothing changes.
        let before = footprint(&ctx);
        for xml in [&status_report, &notification] {
            let (status, again) = import(&app, &gw, &tenant.secret_key, "application/xml", xml).await;
            assert_eq!((status, again["duplicate"].as_bool()), (StatusCode::OK, Some(true)), "{again}");
        }
        assert_eq!(footprint(&ctx), before);
    }
}

api_test! {
    async fn a_pain002_refusing_a_payment_block_declines_the_collections_the_cut_put_in_it(ctx) {
        let tenant = ctx.tenant("Block GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (tok1, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (_, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        let (_, t3) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "7.50", "c@example.com").await;
        let (status, _, batch) = send(&app, post(&format!("{GATEWAYS}{gw}/batches/"), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{batch}");
        let message_id = batch["message_id"].as_str().unwrap().to_owned();
        // A later debit, in another file: the refusal must not touch it.
        let (_, later) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "3.00", "d@example.com").await;
        let (status, _, _) = send(&app, post(&format!("{GATEWAYS}{gw}/batches/"), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED);

        // The bank refuses the file's only block (three first collections on one date) with
        // MS03 and lists one collection on its own with AM04; a block the file does not have
        // is ignored.
        let xml = format!(r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
  <GrpHdr><MsgId>STS-BLOCK</MsgId><CreDtTm>2026-12-08T08:00:00</CreDtTm></GrpHdr>
  <OrgnlGrpInfAndSts><OrgnlMsgId>{message_id}</OrgnlMsgId><OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-1</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
    <StsRsnInf><Rsn><Cd>MS03</Cd></Rsn></StsRsnInf>
    <TxInfAndSts><OrgnlEndToEndId>{e3}</OrgnlEndToEndId><TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts>
  </OrgnlPmtInfAndSts>
  <OrgnlPmtInfAndSts><OrgnlPmtInfId>{message_id}-9</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts></OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>"#, e3 = e2e(&t3));
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [3, 0, 3, 0, 0, 0, 0, 0], "{summary}");
        let code = |t: &Transaction| {
            let after = ctx.db.store.read(|c| Transaction::by_id(c, &t.id)).unwrap();
            (after.status, after.gateway_code)
        };
        assert_eq!(code(&t1), (TransactionStatus::Declined, Some("MS03".to_owned())));
        assert_eq!(code(&t2), (TransactionStatus::Declined, Some("MS03".to_owned())));
        assert_eq!(code(&t3), (TransactionStatus::Declined, Some("AM04".to_owned())), "its own line wins");
        assert_eq!(code(&later).0, TransactionStatus::Pending, "another file");
        assert_ne!(session_status(&ctx, &tok1), "COMPLETED");
    }
}

api_test! {
    async fn a_pain002_line_in_another_currency_is_a_mismatch_not_applied(ctx) {
        let tenant = ctx.tenant("Currency GmbH");
        let app = ctx.app().await;
        let gw = batch_gateway(&app, &tenant.secret_key).await;
        let (_, t1) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "a@example.com").await;
        let (_, t2) = pending_debit(&ctx, &app, &tenant.restricted_key, &gw, "5.00", "b@example.com").await;
        cut(&ctx, &tenant.tenant_id, &gw, "MSG-1", &[&t1, &t2]);
        let xml = pain002("STS-CCY", "MSG-1", &[(&e2e(&t1), "ACSC", None, "19.99"), (&e2e(&t2), "ACSC", None, "5.00")]);
        // The second line's amount is in US dollars.
        let at = xml.rfind("Ccy=\"EUR\"").unwrap();
        let xml = format!("{}Ccy=\"USD\"{}", &xml[..at], &xml[at + "Ccy=\"EUR\"".len()..]);
        let (status, summary) = import(&app, &gw, &tenant.secret_key, "application/xml", &xml).await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        assert_eq!(counts(&summary), [2, 1, 0, 0, 0, 0, 0, 1], "{summary}");
        assert_eq!(summary["mismatches"][0]["end_to_end_id"], e2e(&t2));
        let status_of = |t: &Transaction| ctx.db.store.read(|c| Transaction::by_id(c, &t.id)).unwrap().status;
        assert_eq!((status_of(&t1).as_str(), status_of(&t2).as_str()), ("approved", "pending"));
    }
}
