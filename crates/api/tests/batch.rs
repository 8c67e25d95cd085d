//! `BATCH` gateways (bank-file collection, API.md §4): credentials validated on create, `/pay/`
//! records a pending collection that nothing sends and recovery never claims; batches cut into
//! pain.008 files (API.md §9.2), each file checked against the ISO XSD with xmllint; on both
//! backends.

mod common;

use catalyst_domain::transaction::TransactionStatus;
use std::io::Write;
use std::process::Command;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test;
use catalyst_api::recovery::{RecoveryPolicy, run_once};
use catalyst_store::batches::Cut;
use catalyst_store::{PaymentSession, Transaction};
use chrono::NaiveDate;
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const GATEWAYS: &str = "/api/v1/gateways/";

fn credentials() -> Value {
    json!({"creditor_name": "Acme GmbH", "creditor_id": "DE98ZZZ09999999999",
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"})
}

fn gateway(credentials: Value) -> Value {
    json!({"name": "Bank file", "adapter": "BATCH", "creditor_name": "Acme GmbH",
        "creditor_identifier": "DE98ZZZ09999999999", "credentials": credentials})
}

api_test! {
    async fn batch_gateways_refuse_bad_credentials_with_a_field_error(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let cases = [
            ("creditor_id", json!("DE00ZZZ09999999999")),
            ("iban", json!("DE89370400440532013001")),
            ("bic", json!("COBA")),
            ("creditor_name", json!("")),
        ];
        for (field, value) in cases {
            let mut creds = credentials();
            creds[field] = value;
            let (status, _, body) = send(&app, post(GATEWAYS, gateway(creds)).auth(&tenant.secret_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {body}");
            assert!(body.to_string().contains(&format!("credentials.{field}")), "{field}: {body}");
        }
        let mut missing = credentials();
        missing.as_object_mut().unwrap().remove("bic");
        let (status, _, body) = send(&app, post(GATEWAYS, gateway(missing)).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.to_string().contains("credentials.bic"), "{body}");
        let (status, _, body) = send(&app, post(GATEWAYS, json!({"name": "No creds", "adapter": "BATCH"})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(ctx.count("gateways WHERE adapter = 'BATCH'"), 0, "nothing saved");

        let (status, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        assert_eq!(gw["adapter"], "BATCH");
        assert!(!gw.to_string().contains("0532013000"), "the creditor IBAN is never shown: {gw}");
    }
}

api_test! {
    async fn pay_through_a_batch_gateway_leaves_a_pending_collection_recovery_does_not_touch(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (status, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        let body = json!({"gateway_id": gw["id"], "amount": "19.99", "currency": "EUR", "billing_type": "ONE_OFF",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com", "country": "DE"}});
        let (status, _, created) = send(&app, post(SESSIONS, body).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap().to_owned();
        let (status, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!(status, StatusCode::OK, "{env}");
        assert_eq!(env["status"], "pending", "{env}");
        assert_eq!(env["retry_allowed"], Value::Null);
        assert_eq!(env["error"], Value::Null);
        assert_eq!(env["transaction"]["status"], "pending");
        assert_eq!(env["transaction"]["gateway_reference"], env["transaction"]["merchant_transaction_id"], "pending under our own id");

        let stored = || ctx.db.store.read(|c| {
            let s = PaymentSession::find_by_token(c, &token)?;
            let t = s.latest_transaction(c)?.expect("a transaction");
            Ok::<(PaymentSession, Transaction), catalyst_store::StoreError>((s, t))
        }).unwrap();
        let (session, t) = stored();
        assert_eq!((session.status.as_str(), t.status.as_str(), t.amount_minor), ("PAYMENT_IN_PROGRESS", "pending", 1999));
        assert_eq!(ctx.count("mandates"), 1, "the mandate is recorded");

        // Far in the future every pending transaction is due, yet a BATCH one is never claimed.
        let later = catalyst_store::now() + chrono::Duration::days(30);
        assert_eq!(run_once(&ctx.state, &RecoveryPolicy::default(), later).await.unwrap(), 0);
        let (_, after) = stored();
        assert_eq!(after.status, TransactionStatus::Pending);
        let schedule = ctx.db.store.read(|c| catalyst_store::recovery::schedule_of(c, &after.id)).unwrap();
        assert_eq!(schedule.0, 0, "never reconciled: {schedule:?}");
    }
}

/// Validates a pain.008 file against the ISO XSD of its version with xmllint (skipped without
/// xmllint unless SEPA_REQUIRE_XMLLINT is set, as in crates/sepa/tests/bank_files.rs).
fn assert_schema_valid(xml: &[u8], version: &str) {
    let required = std::env::var_os("SEPA_REQUIRE_XMLLINT").is_some_and(|v| !v.is_empty());
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            !required,
            "SEPA_REQUIRE_XMLLINT is set but xmllint is not installed"
        );
        println!("XSD check skipped (no xmllint; install libxml2-utils)");
        return;
    }
    let xsd = format!("{}/../sepa/xsd/{version}.xsd", env!("CARGO_MANIFEST_DIR"));
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(xml).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", &xsd])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{version} does not validate:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
}

/// GETs `path` and returns the raw body.
async fn fetch<S, B>(app: &S, path: &str, key: &str) -> (StatusCode, HeaderMap, Vec<u8>)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let req = test::TestRequest::get()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {key}")))
        .peer_addr("203.0.113.7:4000".parse().unwrap())
        .to_request();
    let (status, headers, bytes) = call(app, req).await;
    (status, headers, bytes.to_vec())
}

/// A one-off session of `amount` on `gateway`, paid: returns the pending transaction.
async fn paid<S, B>(
    ctx: &Ctx,
    app: &S,
    key: &str,
    gateway: &Value,
    amount: &str,
    holder: &str,
) -> Transaction
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    paid_as(
        ctx,
        app,
        key,
        gateway,
        json!({"amount": amount, "billing_type": "ONE_OFF"}),
        holder,
    )
    .await
}

/// [`paid`] with the offer fields given (`amount`, `billing_type`, …).
async fn paid_as<S, B>(
    ctx: &Ctx,
    app: &S,
    key: &str,
    gateway: &Value,
    offer: Value,
    holder: &str,
) -> Transaction
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let mut body = json!({"gateway_id": gateway["id"], "currency": "EUR",
        "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"}});
    for (k, v) in offer.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap().to_owned();
    let (status, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE02120300000000202051", "iban_holder_name": holder}),
        ),
    )
    .await;
    assert_eq!(
        (status, env["status"].as_str()),
        (StatusCode::OK, Some("pending")),
        "{env}"
    );
    ctx.db
        .store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, &token)?;
            Ok::<_, catalyst_store::StoreError>(s.latest_transaction(c)?.expect("a transaction"))
        })
        .unwrap()
}

fn batches_path(gateway: &Value) -> String {
    format!("{GATEWAYS}{}/batches/", gateway["id"].as_str().unwrap())
}

fn earliest() -> NaiveDate {
    catalyst_sepa::calendar::next_business_day(catalyst_store::now().date())
}

api_test! {
    async fn a_cut_files_every_pending_collection_once_and_serves_the_file(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        let path = batches_path(&gw);
        let (status, _, body) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("no_pending_collections")), "{body}");
        assert_eq!(ctx.count("batches"), 0, "an empty cut writes nothing");

        let first = paid(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "Jürgen Groß").await;
        let second = paid(&ctx, &app, &tenant.restricted_key, &gw, "0.01", "Ada Lovelace").await;
        let (status, _, batch) = send(&app, Req { body: None, ..post(&path, Value::Null) }.auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{batch}");
        assert_eq!((batch["transaction_count"].as_i64(), batch["control_sum"].as_str(), batch["pain_version"].as_str()),
            (Some(2), Some("20.00"), Some("pain.008.001.08")), "{batch}");
        assert_eq!(batch["gateway_id"], gw["id"]);
        assert_eq!(batch["collection_date"], earliest().to_string(), "the earliest TARGET2 day by default");
        let message_id = batch["message_id"].as_str().unwrap().to_owned();
        assert!(message_id.len() <= 35 && catalyst_sepa::epc::is_valid_id(&message_id), "{message_id}");
        assert_eq!(ctx.count("batch_transactions"), 2);

        // Nothing is pending outside a batch any more; a new payment goes into the next file.
        let (status, _, body) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("no_pending_collections")), "{body}");
        // The first collection of a recurring session is FRST.
        let third = paid_as(&ctx, &app, &tenant.restricted_key, &gw,
            json!({"amount": "5.00", "billing_type": "RECURRING", "billing_frequency": "MONTHLY"}), "Ada Lovelace").await;
        let (status, _, next) = send(&app, post(&path, json!({"collection_date": null})).auth(&tenant.secret_key).header("Idempotency-Key", "cut-2")).await;
        assert_eq!((status, next["transaction_count"].as_i64(), next["control_sum"].as_str()), (StatusCode::CREATED, Some(1), Some("5.00")), "{next}");
        let (status, _, replay) = send(&app, post(&path, json!({"collection_date": null})).auth(&tenant.secret_key).header("Idempotency-Key", "cut-2")).await;
        assert_eq!((status, &replay), (StatusCode::CREATED, &next), "a retried cut replays the batch");
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", next["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.08");
        assert!(String::from_utf8(xml).unwrap().contains("<SeqTp>FRST</SeqTp>"));
        assert_eq!(ctx.count("batch_transactions"), 3);

        let (status, _, list) = send(&app, get(&path).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let ids: Vec<&str> = list["results"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [next["id"].as_str().unwrap(), batch["id"].as_str().unwrap()], "newest first");
        let (_, _, paged) = send(&app, get(&format!("{path}?page_size=1")).auth(&tenant.secret_key)).await;
        assert_eq!(paged["results"].as_array().unwrap().len(), 1);
        assert!(paged["next"].as_str().is_some(), "{paged}");

        let (status, headers, xml) = fetch(&app, &format!("{path}{}/file", batch["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers.get("content-type").unwrap(), "application/xml");
        assert_eq!(headers.get("content-disposition").unwrap().to_str().unwrap(), format!("attachment; filename=\"{message_id}.xml\""));
        assert_schema_valid(&xml, "pain.008.001.08");
        let text = String::from_utf8(xml).unwrap();
        for t in [&first, &second] {
            let e2e = uuid::Uuid::parse_str(&t.id).unwrap().simple().to_string();
            assert!(text.contains(&format!("<EndToEndId>{e2e}</EndToEndId>")), "{text}");
        }
        assert!(!text.contains(&uuid::Uuid::parse_str(&third.id).unwrap().simple().to_string()), "not in the first file");
        assert!(text.contains(&format!("<MsgId>{message_id}</MsgId>")), "{text}");
        assert!(text.contains("<NbOfTxs>2</NbOfTxs><CtrlSum>20.00</CtrlSum>"), "{text}");
        assert!(text.contains("<SeqTp>OOFF</SeqTp>"), "a one-off session: {text}");
        assert!(text.contains("<Id>DE98ZZZ09999999999</Id>"), "creditor scheme id: {text}");
        assert!(text.contains("<IBAN>DE02120300000000202051</IBAN>"), "the debtor IBAN, opened: {text}");
        assert!(text.contains("<Nm>Juergen Gross</Nm>"), "transliterated: {text}");
        assert!(text.contains(&format!("<ReqdColltnDt>{}</ReqdColltnDt>", earliest())), "{text}");
        assert!(text.contains("<MndtId>MAND-"), "{text}");
        // The transactions stay pending: only the bank's report settles them.
        let status_of = |id: &str| ctx.db.store.read(|c| Transaction::by_id(c, &id.into())).unwrap().status;
        assert_eq!(status_of(&first.id), TransactionStatus::Pending);
    }
}

api_test! {
    async fn cuts_refuse_bad_dates_other_tenants_and_other_adapters(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let other = ctx.tenant("Other GmbH");
        let app = ctx.app().await;
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        let path = batches_path(&gw);
        let t = paid(&ctx, &app, &tenant.restricted_key, &gw, "19.99", "Ada Lovelace").await;

        let today = catalyst_store::now().date();
        let saturday = (1..8).map(|n| earliest() + chrono::Days::new(n)).find(|d| chrono::Datelike::weekday(d) == chrono::Weekday::Sat).unwrap();
        for bad in [json!({"collection_date": today.to_string()}), json!({"collection_date": saturday.to_string()}),
                    json!({"collection_date": "2026-13-01"}), json!({"collection_date": 20261207}), json!({"when": "tomorrow"})] {
            let (status, _, body) = send(&app, post(&path, bad.clone()).auth(&tenant.secret_key)).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{bad}: {body}");
        }
        let (_, _, body) = send(&app, post(&path, json!({"collection_date": today.to_string()})).auth(&tenant.secret_key)).await;
        assert!(body["errors"]["collection_date"][0].as_str().unwrap().contains(&earliest().to_string()), "{body}");
        assert_eq!(ctx.count("batches"), 0, "nothing cut");

        // Another tenant's gateway does not exist for this key.
        let (status, _, body) = send(&app, post(&path, json!({})).auth(&other.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        let (status, _, _) = send(&app, get(&path).auth(&other.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = send(&app, post(&path, json!({})).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "secret keys only");
        let unknown = format!("{GATEWAYS}{}/batches/", uuid::Uuid::now_v7());
        let (status, _, _) = send(&app, post(&unknown, json!({})).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, _, sandbox) = send(&app, post(GATEWAYS, json!({"name": "Sandbox", "adapter": "SANDBOX"})).auth(&tenant.secret_key)).await;
        let (status, _, body) = send(&app, post(&batches_path(&sandbox), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("not_a_batch_gateway")), "{body}");

        // A later business day is fine; the file is only the owner's.
        let later = catalyst_sepa::calendar::next_business_day(earliest());
        let (status, _, batch) = send(&app, post(&path, json!({"collection_date": later.to_string()})).auth(&tenant.secret_key)).await;
        assert_eq!((status, batch["collection_date"].as_str()), (StatusCode::CREATED, Some(later.to_string().as_str())), "{batch}");
        let file = format!("{path}{}/file/", batch["id"].as_str().unwrap());
        assert_eq!(fetch(&app, &file, &other.secret_key).await.0, StatusCode::NOT_FOUND);
        let (status, _, xml) = fetch(&app, &file, &tenant.secret_key).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8(xml).unwrap().contains(&uuid::Uuid::parse_str(&t.id).unwrap().simple().to_string()));
        let elsewhere = format!("{}{}/file/", batches_path(&sandbox), batch["id"].as_str().unwrap());
        assert_eq!(fetch(&app, &elsewhere, &tenant.secret_key).await.0, StatusCode::NOT_FOUND, "under its own gateway only");
        let (_, _, list) = send(&app, get(&batches_path(&sandbox)).auth(&tenant.secret_key)).await;
        assert_eq!(list["results"], json!([]));
    }
}

api_test! {
    async fn the_pain_version_is_a_validated_gateway_setting(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        for bad in [json!("pain.008.001.05"), json!(8)] {
            let mut creds = credentials();
            creds["pain_version"] = bad.clone();
            let (status, _, body) = send(&app, post(GATEWAYS, gateway(creds)).auth(&tenant.secret_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
            assert!(body.to_string().contains("credentials.pain_version"), "{body}");
        }
        let mut creds = credentials();
        creds["pain_version"] = json!("pain.008.001.02");
        let (status, _, gw) = send(&app, post(GATEWAYS, gateway(creds)).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{gw}");
        paid(&ctx, &app, &tenant.restricted_key, &gw, "12.34", "Zoë Ångström").await;
        let (status, _, batch) = send(&app, post(&batches_path(&gw), json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, batch["pain_version"].as_str()), (StatusCode::CREATED, Some("pain.008.001.02")), "{batch}");
        let (_, _, xml) = fetch(&app, &format!("{}{}/file/", batches_path(&gw), batch["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.02");
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("urn:iso:std:iso:20022:tech:xsd:pain.008.001.02") && text.contains("<BIC>COBADEFFXXX</BIC>"), "{text}");
    }
}

api_test! {
    async fn two_concurrent_cuts_never_file_a_collection_twice(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        let mut pending = Vec::new();
        for i in 0..12 {
            pending.push(paid(&ctx, &app, &tenant.restricted_key, &gw, &format!("{i}.50"), "Ada Lovelace").await.id.into_string());
        }
        let gateway_id = gw["id"].as_str().unwrap().to_owned();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2).map(|_| {
            let (store, tenant, gateway, barrier) = (ctx.db.store.clone(), tenant.tenant_id.clone(), gateway_id.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                catalyst_api::batches::cut_for_gateway(&store, &tenant, &catalyst_domain::GatewayId::from(gateway.as_str()), None, catalyst_store::now())
            })
        }).collect();
        let cuts: Vec<Cut> = handles.into_iter().map(|h| h.join().unwrap().unwrap()).collect();
        let mut filed: Vec<String> = Vec::new();
        for cut in &cuts {
            if let Cut::Cut(b) = cut {
                assert_schema_valid(&b.file, &b.pain_version);
                let ids = ctx.db.store.read(|c| catalyst_store::batches::transaction_ids(c, &b.id)).unwrap();
                assert_eq!(ids.len() as i32, b.transaction_count);
                let text = String::from_utf8(b.file.clone()).unwrap();
                assert_eq!(text.matches("<EndToEndId>").count(), ids.len(), "the file holds exactly its rows");
                filed.extend(ids);
            }
        }
        assert!(cuts.iter().any(|c| matches!(c, Cut::Cut(_))), "one cut files them");
        filed.sort();
        pending.sort();
        assert_eq!(filed, pending, "every collection in exactly one file");
        assert_eq!(ctx.count("batch_transactions"), 12);
    }
}

api_test! {
    async fn a_renewal_on_a_batch_gateway_stays_pending_and_goes_into_the_next_cut(ctx) {
        use diesel::prelude::*;
        let demo = ctx.demo();
        let app = ctx.app().await;
        let lead = json!({"first_name": "Ada", "last_name": "Lovelace", "email": "r@example.com", "country": "DE"});
        let (_, _, created) = send(&app, post(SESSIONS, json!({"campaign_id": demo.recurring_campaign_id, "lead": lead})).auth(&demo.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap().to_owned();
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        assert_eq!(env["status"], "completed", "{env}");
        let sub = ctx.db.store.read(|c| {
            let s = PaymentSession::find_by_token(c, &token)?;
            catalyst_store::Subscription::of_session(c, &s.id)
        }).unwrap().expect("a subscription");
        // The subscription's first collection was approved; from now on it collects through a
        // BATCH gateway (as one whose first debit a bank report approved).
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&demo.secret_key)).await;
        let mut conn = ctx.db.store.conn().unwrap();
        diesel::sql_query(format!("UPDATE subscriptions SET gateway_id = '{}' WHERE id = '{}'", gw["id"].as_str().unwrap(), sub.id))
            .execute(&mut *conn).unwrap();
        drop(conn);

        let due = sub.next_billing_date;
        let report = catalyst_api::billing::run_once(&ctx.state, due, catalyst_store::now(), false).await.unwrap();
        assert_eq!((report.due, report.collected, report.approved, report.declined), (1, 1, 0, 0), "{report:?}");
        let renewal: Transaction = ctx.db.store.read(|c| {
            use catalyst_store::schema::transactions;
            let id: String = transactions::table
                .filter(transactions::subscription_id.eq(&sub.id))
                .select(transactions::id)
                .first(c)?;
            Transaction::by_id(c, &id.as_str().into())
        }).unwrap();
        assert_eq!((renewal.status.as_str(), renewal.sequence_type.as_str(), renewal.gateway_id.as_str()), ("pending", "RCUR", gw["id"].as_str().unwrap()));

        let (status, _, batch) = send(&app, post(&batches_path(&gw), json!({})).auth(&demo.secret_key)).await;
        assert_eq!((status, batch["transaction_count"].as_i64(), batch["control_sum"].as_str()), (StatusCode::CREATED, Some(1), Some("9.99")), "{batch}");
        let (_, _, xml) = fetch(&app, &format!("{}{}/file/", batches_path(&gw), batch["id"].as_str().unwrap()), &demo.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.08");
        let text = String::from_utf8(xml).unwrap();
        let e2e = uuid::Uuid::parse_str(&renewal.id).unwrap().simple().to_string();
        assert!(text.contains(&format!("<EndToEndId>{e2e}</EndToEndId>")) && text.contains("<SeqTp>RCUR</SeqTp>"), "{text}");
        // Still pending after the cut: the subscription waits for the bank's report.
        assert_eq!(ctx.db.store.read(|c| Transaction::by_id(c, &renewal.id)).unwrap().status, TransactionStatus::Pending);
    }
}

api_test! {
    async fn a_saved_mandate_is_frst_once_then_rcur_in_the_same_file_and_the_next(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        let body = json!({"gateway_id": gw["id"], "amount": "0.00", "currency": "EUR", "billing_type": "ONE_OFF",
            "mode": "customer", "external_customer_id": "user-1",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "c@example.com", "country": "DE"}});
        let (status, _, created) = send(&app, post(SESSIONS, body).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let token = created["session_token"].as_str().unwrap();
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        let customer = env["customer"]["id"].as_str().expect("a saved customer").to_owned();
        let charge = |n: u32| post_charge(&app, &tenant.restricted_key, &customer, n);
        let (a, b) = (charge(1).await, charge(2).await);
        let path = batches_path(&gw);
        let (status, _, batch) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        assert_eq!((status, batch["transaction_count"].as_i64()), (StatusCode::CREATED, Some(2)), "{batch}");
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", batch["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.08");
        let text = String::from_utf8(xml).unwrap();
        assert_eq!((text.matches("<SeqTp>FRST</SeqTp>").count(), text.matches("<SeqTp>RCUR</SeqTp>").count()), (1, 1), "{text}");
        assert_eq!(text.matches("<PmtInf>").count(), 2, "one block per sequence type");
        for id in [&a, &b] {
            assert!(text.contains(&uuid::Uuid::parse_str(id).unwrap().simple().to_string()), "{text}");
        }
        // The first collection is still pending at the bank: the next one is RCUR, not FRST.
        let c = charge(3).await;
        let (_, _, next) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", next["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.08");
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<SeqTp>RCUR</SeqTp>") && !text.contains("FRST"), "{text}");
        // The bank refused all three: nothing was ever collected, so the next one is FRST again.
        {
            use diesel::prelude::*;
            let mut conn = ctx.db.store.conn().unwrap();
            diesel::sql_query(format!("UPDATE transactions SET status = 'declined' WHERE id IN ('{a}', '{b}', '{c}')"))
                .execute(&mut *conn).unwrap();
        }
        charge(4).await;
        let (_, _, last) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", last["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert!(String::from_utf8(xml).unwrap().contains("<SeqTp>FRST</SeqTp>"));
    }
}

api_test! {
    async fn a_new_creditor_identifier_is_filed_as_an_amendment_of_running_mandates(ctx) {
        let tenant = ctx.tenant("Batch GmbH");
        let app = ctx.app().await;
        let (_, _, gw) = send(&app, post(GATEWAYS, gateway(credentials())).auth(&tenant.secret_key)).await;
        let body = json!({"gateway_id": gw["id"], "amount": "0.00", "currency": "EUR", "billing_type": "ONE_OFF",
            "mode": "customer", "external_customer_id": "user-1",
            "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "c@example.com", "country": "DE"}});
        let (_, _, created) = send(&app, post(SESSIONS, body).auth(&tenant.restricted_key)).await;
        let token = created["session_token"].as_str().unwrap();
        let (_, _, env) = send(&app, post(&format!("{SESSIONS}{token}/pay/"),
            json!({"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}))).await;
        let customer = env["customer"]["id"].as_str().expect("a saved customer").to_owned();
        let path = batches_path(&gw);
        post_charge(&app, &tenant.restricted_key, &customer, 1).await;
        let (_, _, first) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", first["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert!(String::from_utf8(xml).unwrap().contains("<AmdmntInd>false</AmdmntInd>"));

        // Only the business code changes: the same creditor, no amendment (EPC rulebook).
        let id = gw["id"].as_str().unwrap();
        let same = json!({"credentials": {"creditor_name": "Acme GmbH", "creditor_id": "DE98AB109999999999",
            "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}});
        let (status, _, body) = send(&app, patch(&format!("{GATEWAYS}{id}/"), same).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        post_charge(&app, &tenant.restricted_key, &customer, 2).await;
        let (_, _, second) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", second["id"].as_str().unwrap()), &tenant.secret_key).await;
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<SeqTp>RCUR</SeqTp>") && text.contains("<AmdmntInd>false</AmdmntInd>"), "{text}");

        // A new creditor identifier: the next collection under the running mandate names the
        // original one, and the file still passes the XSD.
        let moved = json!({"credentials": {"creditor_name": "Acme GmbH", "creditor_id": "DE79ZZZ01234567890",
            "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}});
        let (status, _, body) = send(&app, patch(&format!("{GATEWAYS}{id}/"), moved).auth(&tenant.secret_key)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        post_charge(&app, &tenant.restricted_key, &customer, 3).await;
        let (_, _, third) = send(&app, post(&path, json!({})).auth(&tenant.secret_key)).await;
        let (_, _, xml) = fetch(&app, &format!("{path}{}/file/", third["id"].as_str().unwrap()), &tenant.secret_key).await;
        assert_schema_valid(&xml, "pain.008.001.08");
        let text = String::from_utf8(xml).unwrap();
        assert!(text.contains("<AmdmntInd>true</AmdmntInd>"), "{text}");
        let details = &text[text.find("<AmdmntInfDtls>").unwrap()..text.find("</AmdmntInfDtls>").unwrap()];
        assert!(details.contains("DE98AB109999999999") || details.contains("DE98ZZZ09999999999"), "{details}");
        assert!(text.contains("DE79ZZZ01234567890"), "the new identifier in the creditor scheme id");
    }
}

/// A customer charge of `n` euros through the customer's gateway; returns the transaction id.
async fn post_charge<S, B>(app: &S, key: &str, customer: &str, n: u32) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: actix_web::body::MessageBody,
{
    let (status, _, c) = send(app, post(&format!("/api/v1/customers/{customer}/charges/"),
        json!({"amount": format!("{n}.00"), "currency": "EUR", "description": format!("Top-up {n}")})).auth(key)).await;
    assert_eq!(
        (status, c["status"].as_str()),
        (StatusCode::CREATED, Some("pending")),
        "{c}"
    );
    c["transaction"]["id"].as_str().unwrap().to_owned()
}
