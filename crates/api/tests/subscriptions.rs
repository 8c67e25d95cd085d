//! The subscription API (API.md §9.1) on both backends: subscriptions started by real sandbox
//! payments, listed, retrieved, cancelled (now and at period end), paused, resumed and patched;
//! the 409s, tenancy and key kinds; the events of each change; and every change as the
//! reconciliation listing shows it. Where "today" matters the store functions are called with a
//! chosen `now`.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use catalyst_api::provision::DemoSetup;
use catalyst_domain::status::SubscriptionStatus;
use catalyst_domain::transaction::{TransactionKind, TransactionStatus};
use catalyst_store::schema::{subscriptions as subs, webhook_events};
use catalyst_store::subscriptions as store_subs;
use catalyst_store::{Store, Subscription, Transaction};
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

const SUBS: &str = "/api/v1/subscriptions/";
const SESSIONS: &str = "/api/v1/payment-sessions/";
const RECON: &str = "/api/v1/reconciliation/subscriptions/";
const APPROVED: &str = "DE89370400440532013000";

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

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn noon(day: &str) -> NaiveDateTime {
    d(day).and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
}

/// Pays a session of `campaign` with `iban`; the result envelope.
async fn pay(app: &impl TestApp, demo: &DemoSetup, campaign: &str, iban: &str) -> Value {
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let body = json!({"campaign_id": campaign,
                      "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"}});
    let (status, _, created) = send(app, post(SESSIONS, body).auth(&demo.restricted_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap();
    let pay = json!({"iban": iban, "iban_holder_name": "Ada Lovelace"});
    let (status, _, env) = send(app, post(&format!("{SESSIONS}{token}/pay/"), pay)).await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env
}

/// A paid monthly subscription of the demo tenant: (its id, the payment's envelope).
async fn subscribed(app: &impl TestApp, demo: &DemoSetup) -> (String, Value) {
    let env = pay(app, demo, &demo.recurring_campaign_id, APPROVED).await;
    let id = env["subscription"]["id"].as_str().unwrap().to_owned();
    (id, env)
}

async fn call(app: &impl TestApp, req: Req<'_>) -> (StatusCode, Value) {
    let (status, _, body) = send(app, req).await;
    (status, body)
}

/// `POST /subscriptions/{id}/<action>/` with `body`.
async fn act(
    app: &impl TestApp,
    key: &str,
    id: &str,
    action: &str,
    body: Value,
) -> (StatusCode, Value) {
    call(app, post(&format!("{SUBS}{id}/{action}/"), body).auth(key)).await
}

async fn assert_not_modifiable(app: &impl TestApp, key: &str, id: &str, action: &str, body: Value) {
    let (status, err) = if action == "patch" {
        call(app, patch(&format!("{SUBS}{id}/"), body).auth(key)).await
    } else {
        act(app, key, id, action, body).await
    };
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("subscription_not_modifiable")),
        "{action}: {err}"
    );
}

/// How many subscriptions `GET /subscriptions/?<q>` lists.
async fn count(app: &impl TestApp, key: &str, q: &str) -> usize {
    let (status, page) = call(app, get(&format!("{SUBS}?{q}")).auth(key)).await;
    assert_eq!(status, StatusCode::OK, "{q}: {page}");
    page["results"].as_array().unwrap().len()
}

/// The subscription's row in `/reconciliation/subscriptions/` (created today).
async fn reconciled(app: &impl TestApp, demo: &DemoSetup, id: &str) -> Value {
    let window = format!(
        "start_date={}&end_date={}",
        today() - Days::new(1),
        today() + Days::new(1)
    );
    let (status, body) = call(
        app,
        get(&format!("{RECON}?{window}")).auth(&demo.restricted_key),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .expect("listed")
}

/// The default payloads of the tenant's events of `event_type` about subscription `id`, oldest first.
fn events(store: &Store, id: &str, event_type: &str) -> Vec<Value> {
    let rows: Vec<String> = store
        .read(|c| {
            Ok::<_, catalyst_store::StoreError>(
                webhook_events::table
                    .filter(webhook_events::event_type.eq(event_type))
                    .order(webhook_events::id.asc())
                    .select(webhook_events::payload)
                    .load(c)?,
            )
        })
        .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str::<Value>(p).unwrap()["default"].clone())
        .filter(|p| p["subscription_id"] == id)
        .collect()
}

fn stored(store: &Store, tenant: &catalyst_domain::TenantId, id: &str) -> Subscription {
    store
        .read(|c| Subscription::find(c, tenant, &id.into()))
        .unwrap()
}

/// Sets the scheduling columns of a subscription directly (what the billing run would have done).
fn reschedule(store: &Store, id: &str, anchor: &str, periods_billed: i32, next: &str) {
    let (anchor, next) = (d(anchor), d(next));
    store
        .write(|c| {
            diesel::update(subs::table.find(id))
                .set((
                    subs::anchor_date.eq(anchor),
                    subs::periods_billed.eq(periods_billed),
                    subs::next_billing_date.eq(next),
                    subs::collect_on.eq(Some(next)),
                ))
                .execute(c)
                .map_err(catalyst_store::StoreError::from)
        })
        .unwrap();
}

api_test! {
    async fn list_and_retrieve_show_the_subscription_and_its_collections(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (id, env) = subscribed(&app, &demo).await;
        let (second, _) = subscribed(&app, &demo).await;
        pay(&app, &demo, &demo.campaign_id, APPROVED).await; // one-off: no subscription

        let (status, page) = call(&app, get(SUBS).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let results = page["results"].as_array().unwrap();
        assert_eq!(results.iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), [second.as_str(), id.as_str()], "newest first");
        assert!(results[1].get("collections").is_none(), "list items leave out collections");

        let (status, s) = call(&app, get(&format!("{SUBS}{id}/")).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        let next = env["subscription"]["next_billing_date"].clone();
        assert_eq!(s["object"], "subscription");
        assert_eq!(s["status"], "ACTIVE");
        assert_eq!(s["plan"], json!({"name": "Demo monthly", "amount": "9.99", "currency": "EUR", "billing_frequency": "MONTHLY"}));
        assert_eq!((s["customer_id"].clone(), s["campaign_id"].as_str()), (Value::Null, Some(demo.recurring_campaign_id.as_str())));
        assert_eq!(s["session_token"], env["session_token"]);
        assert_eq!(s["order"], json!({"id": env["order"]["id"], "order_number": env["order_number"]}));
        assert_eq!(s["mandate"]["reference"], env["sepa"]["mandate_reference"]);
        assert_eq!((s["mandate"]["iban_last4"].as_str(), s["mandate"]["iban_country"].as_str(), s["mandate"]["sequence_type"].as_str()),
                   (Some("3000"), Some("DE"), Some("RCUR")));
        assert_eq!((s["next_billing_date"].clone(), s["collect_on"].clone()), (next.clone(), next));
        assert_eq!(s["anchor_date"], today().to_string());
        assert_eq!(s["dunning"], json!({"attempts": 0, "ladder": [3, 5, 7]}));
        assert_eq!((s["notice_days"].as_i64(), s["cancel_at_period_end"].as_bool()), (Some(5), Some(false)));
        assert_eq!((s["paused_at"].clone(), s["ended_at"].clone()), (Value::Null, Value::Null));
        assert!(s["created_at"].as_str().unwrap().ends_with('Z'));
        let mut item = s.clone();
        item.as_object_mut().unwrap().remove("collections");
        assert_eq!(&item, &results[1], "a list item is the object without collections");

        let collections = s["collections"].as_array().unwrap();
        assert_eq!(collections.len(), 1, "{s}");
        let first = &collections[0];
        assert_eq!(first["transaction_id"], env["transaction"]["id"]);
        assert_eq!(first["merchant_transaction_id"], env["transaction"]["merchant_transaction_id"]);
        assert_eq!((first["type"].as_str(), first["status"].as_str(), first["amount"].as_str(), first["currency"].as_str()),
                   (Some("sdd_sale"), Some("approved"), Some("9.99"), Some("EUR")));
        assert_eq!((first["billing_period"].clone(), first["billing_attempt"].clone(), first["error_code"].clone()),
                   (Value::Null, Value::Null, Value::Null));
        assert!(first["processed_at"].as_str().unwrap().ends_with('Z'));

        // Every renewal of the subscription is a collection too, declined attempts included.
        let session_debit: Transaction = ctx.db.store.read(|c| Transaction::find(c, &demo.tenant_id, &env["transaction"]["id"].as_str().unwrap().into())).unwrap();
        let renewal = Transaction {
            id: catalyst_domain::TransactionId::new(),
            session_id: None,
            merchant_transaction_id: "TXN-20270101-0000abcd".into(),
            kind: TransactionKind::Rebill,
            status: TransactionStatus::Declined,
            error_code: Some("insufficient_funds".into()),
            subscription_id: Some(id.as_str().into()),
            billing_period: Some(d("2027-01-15")),
            billing_attempt: Some(2),
            created_at: session_debit.created_at + chrono::Duration::seconds(1),
            ..session_debit
        };
        ctx.db.store.write(|c| renewal.insert(c)).unwrap();
        let (_, s) = call(&app, get(&format!("{SUBS}{id}/")).auth(sk)).await;
        let collections = s["collections"].as_array().unwrap();
        assert_eq!(collections.len(), 2, "{s}");
        assert_eq!((collections[1]["transaction_id"].as_str(), collections[1]["type"].as_str(), collections[1]["status"].as_str()),
                   (Some(renewal.id.as_str()), Some("sdd_rebill"), Some("declined")));
        assert_eq!((collections[1]["billing_period"].as_str(), collections[1]["billing_attempt"].as_i64(), collections[1]["error_code"].as_str()),
                   (Some("2027-01-15"), Some(2), Some("insufficient_funds")));
        let (_, other) = call(&app, get(&format!("{SUBS}{second}/")).auth(sk)).await;
        assert_eq!(other["collections"].as_array().unwrap().len(), 1, "another subscription's renewal is not listed");

        // Filters and paging.
        assert_eq!(count(&app, sk, "status=ACTIVE").await, 2);
        assert_eq!(count(&app, sk, "status=paused,cancelled").await, 0);
        assert_eq!(count(&app, sk, &format!("customer_id={}", uuid::Uuid::now_v7())).await, 0);
        let (status, err) = call(&app, get(&format!("{SUBS}?status=ACTIVE,sleeping")).auth(sk)).await;
        assert_eq!((status, err["errors"]["status"][0].as_str()), (StatusCode::BAD_REQUEST, Some("\"sleeping\" is not a valid choice.")));
        let (status, err) = call(&app, get(&format!("{SUBS}?customer_id=42")).auth(sk)).await;
        assert_eq!((status, err["errors"]["customer_id"].is_array()), (StatusCode::BAD_REQUEST, true), "{err}");
        let (_, first_page) = call(&app, get(&format!("{SUBS}?page_size=1&status=active")).auth(sk)).await;
        assert_eq!(first_page["results"][0]["id"], second.as_str());
        let next = first_page["next"].as_str().unwrap().strip_prefix(BASE).unwrap().to_owned();
        assert!(next.contains("status=active"), "{next}");
        let (_, second_page) = call(&app, get(&next).auth(sk)).await;
        assert_eq!((second_page["results"][0]["id"].as_str(), second_page["next"].clone()), (Some(id.as_str()), Value::Null));
    }

    async fn keys_and_tenants(ctx) {
        let demo = ctx.demo();
        let other = ctx.tenant("Other");
        let app = ctx.app().await;
        let (id, _) = subscribed(&app, &demo).await;
        let one = format!("{SUBS}{id}/");
        for req in [get(SUBS), get(&one)] {
            let (status, err) = call(&app, req.auth(&demo.restricted_key)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::FORBIDDEN, Some("permission_denied")));
        }
        for action in ["cancel", "pause", "resume"] {
            let (status, _) = act(&app, &demo.restricted_key, &id, action, json!({})).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
        }
        let (status, _) = call(&app, patch(&one, json!({"amount": "1.00"})).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, get(SUBS)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Another tenant sees nothing and changes nothing.
        let (status, page) = call(&app, get(SUBS).auth(&other.secret_key)).await;
        assert_eq!((status, page["results"].as_array().unwrap().len()), (StatusCode::OK, 0));
        let (status, err) = call(&app, get(&one).auth(&other.secret_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        for action in ["cancel", "pause", "resume"] {
            let (status, _) = act(&app, &other.secret_key, &id, action, json!({})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action}");
        }
        let (status, _) = call(&app, patch(&one, json!({"amount": "1.00"})).auth(&other.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(stored(&ctx.db.store, &demo.tenant_id, &id).status, SubscriptionStatus::Active);
        let (status, _) = call(&app, get(&format!("{SUBS}not-a-uuid/")).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    async fn cancel_now_ends_it(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (id, _) = subscribed(&app, &demo).await;
        let (status, err) = act(&app, sk, &id, "cancel", json!({"at_period_end": "maybe"})).await;
        assert_eq!((status, err["errors"]["at_period_end"].is_array()), (StatusCode::BAD_REQUEST, true), "{err}");
        let (status, err) = act(&app, sk, &id, "cancel", json!({"now": true})).await;
        assert_eq!((status, err["errors"]["now"][0].as_str()), (StatusCode::BAD_REQUEST, Some("Unknown field.")));
        assert_eq!(stored(&ctx.db.store, &demo.tenant_id, &id).status, SubscriptionStatus::Active, "a refused request changes nothing");

        // No body at all: cancel now.
        let (status, s) = call(&app, post(&format!("{SUBS}{id}/cancel/"), Value::Null).auth(sk)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a JSON null is not an object: {s}");
        let req = actix_web::test::TestRequest::post().uri(&format!("{SUBS}{id}/cancel/"))
            .insert_header(("Authorization", format!("Bearer {sk}"))).to_request();
        let res = actix_web::test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::OK);
        let s: Value = serde_json::from_slice(&actix_web::test::read_body(res).await).unwrap();
        assert_eq!((s["status"].as_str(), s["collect_on"].clone(), s["cancel_at_period_end"].as_bool()), (Some("CANCELLED"), Value::Null, Some(false)));
        assert!(s["ended_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(s["collections"].as_array().unwrap().len(), 1, "the answer is the full object");
        let row = stored(&ctx.db.store, &demo.tenant_id, &id);
        assert_eq!((row.collect_on, row.notice_on), (None, None));
        assert_eq!(reconciled(&app, &demo, &id).await["status"], "CANCELLED");

        let changed = events(&ctx.db.store, &id, "subscription.status_changed");
        assert_eq!(changed.len(), 1);
        assert_eq!((changed[0]["status"].as_str(), changed[0]["previous_status"].as_str()), (Some("CANCELLED"), Some("ACTIVE")));
        assert!(events(&ctx.db.store, &id, "subscription.updated").is_empty());

        for (action, body) in [("cancel", json!({})), ("cancel", json!({"at_period_end": true})), ("pause", json!({})),
                               ("resume", json!({})), ("patch", json!({"amount": "5.00"}))] {
            assert_not_modifiable(&app, sk, &id, action, body).await;
        }
        assert_eq!(events(&ctx.db.store, &id, "subscription.status_changed").len(), 1, "a refused change emits nothing");
    }

    async fn cancel_at_period_end_only_flags_it(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (id, env) = subscribed(&app, &demo).await;
        let (status, s) = act(&app, sk, &id, "cancel", json!({"at_period_end": true})).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["status"].as_str(), s["cancel_at_period_end"].as_bool(), s["ended_at"].clone()), (Some("ACTIVE"), Some(true), Value::Null));
        assert_eq!(s["collect_on"], env["subscription"]["next_billing_date"], "the billing run still reaches collect_on");
        let updated = events(&ctx.db.store, &id, "subscription.updated");
        assert_eq!(updated.len(), 1);
        assert_eq!(updated[0]["changes"], json!({"cancel_at_period_end": {"previous": false, "current": true}}));
        assert_eq!((updated[0]["cancel_at_period_end"].as_bool(), updated[0]["status"].as_str()), (Some(true), Some("ACTIVE")));
        assert_eq!(updated[0]["order_number"], env["order_number"]);

        // Asking again changes nothing and says nothing.
        let (status, again) = act(&app, sk, &id, "cancel", json!({"at_period_end": true})).await;
        assert_eq!((status, again["updated_at"].clone()), (StatusCode::OK, s["updated_at"].clone()));
        assert_eq!(events(&ctx.db.store, &id, "subscription.updated").len(), 1);
        assert_eq!(reconciled(&app, &demo, &id).await["status"], "ACTIVE");

        // It can still be cancelled at once.
        let (status, s) = act(&app, sk, &id, "cancel", json!({"at_period_end": false})).await;
        assert_eq!((status, s["status"].as_str()), (StatusCode::OK, Some("CANCELLED")));
    }

    async fn pause_and_resume(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (id, env) = subscribed(&app, &demo).await;
        let next = env["subscription"]["next_billing_date"].clone();
        assert_not_modifiable(&app, sk, &id, "resume", json!({})).await;

        let (status, s) = act(&app, sk, &id, "pause", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["status"].as_str(), s["collect_on"].clone(), s["next_billing_date"].clone()), (Some("PAUSED"), Value::Null, next.clone()));
        assert!(s["paused_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(stored(&ctx.db.store, &demo.tenant_id, &id).notice_on, None);
        assert_eq!(reconciled(&app, &demo, &id).await["status"], "PAUSED");
        assert_not_modifiable(&app, sk, &id, "pause", json!({})).await;

        let (status, s) = act(&app, sk, &id, "resume", json!({})).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["status"].as_str(), s["paused_at"].clone()), (Some("ACTIVE"), Value::Null));
        assert_eq!((s["next_billing_date"].clone(), s["collect_on"].clone()), (next.clone(), next.clone()), "the paid period is not billed again");
        let row = stored(&ctx.db.store, &demo.tenant_id, &id);
        let due = NaiveDate::parse_from_str(next.as_str().unwrap(), "%Y-%m-%d").unwrap();
        assert_eq!((row.periods_billed, row.notice_on), (1, Some(catalyst_domain::dunning::notice_on(due, 5, today()))));
        let reconciled_row = reconciled(&app, &demo, &id).await;
        assert_eq!((reconciled_row["status"].as_str(), reconciled_row["next_billing_date"].clone()), (Some("ACTIVE"), next));

        let changed = events(&ctx.db.store, &id, "subscription.status_changed");
        let moves: Vec<(&str, &str)> = changed.iter().map(|e| (e["previous_status"].as_str().unwrap(), e["status"].as_str().unwrap())).collect();
        assert_eq!(moves, [("ACTIVE", "PAUSED"), ("PAUSED", "ACTIVE")]);
        assert!(events(&ctx.db.store, &id, "subscription.updated").is_empty(), "the date did not change");
    }

    async fn resume_skips_the_periods_passed_while_paused(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let store = &ctx.db.store;
        let tenant = &demo.tenant_id;
        let (id, _) = subscribed(&app, &demo).await;
        // Anchored on a month end: period 1 (Feb 28) is the next to collect.
        reschedule(store, &id, "2027-01-31", 1, "2027-02-28");
        store.read(|c| store_subs::pause(c, tenant, &id.as_str().into(), noon("2027-02-10"))).unwrap();
        let s = store.read(|c| store_subs::resume(c, tenant, &id.as_str().into(), noon("2027-04-10"))).unwrap();
        assert_eq!((s.status.as_str(), s.periods_billed, s.next_billing_date), ("ACTIVE", 3, d("2027-04-30")),
                   "Feb 28 and Mar 31 passed while paused and are skipped; Apr 30 keeps the month end");
        assert_eq!((s.collect_on, s.notice_on, s.dunning_attempts, s.paused_at), (Some(d("2027-04-30")), Some(d("2027-04-25")), 0, None));
        let updated = events(store, &id, "subscription.updated");
        assert_eq!(updated.last().unwrap()["changes"], json!({"next_billing_date": {"previous": "2027-02-28", "current": "2027-04-30"}}));

        // Resumed two days before the date: the notice is due at once, not in the past.
        store.read(|c| store_subs::pause(c, tenant, &id.as_str().into(), noon("2027-04-20"))).unwrap();
        let s = store.read(|c| store_subs::resume(c, tenant, &id.as_str().into(), noon("2027-04-28"))).unwrap();
        assert_eq!((s.periods_billed, s.next_billing_date, s.notice_on), (3, d("2027-04-30"), Some(d("2027-04-28"))));

        // Resumed on a billing date: that period is collected today.
        store.read(|c| store_subs::pause(c, tenant, &id.as_str().into(), noon("2027-04-29"))).unwrap();
        let s = store.read(|c| store_subs::resume(c, tenant, &id.as_str().into(), noon("2027-05-31"))).unwrap();
        assert_eq!((s.periods_billed, s.next_billing_date, s.collect_on), (4, d("2027-05-31"), Some(d("2027-05-31"))));

        // A subscription retrying a declined renewal may be paused; resuming forgets the retries.
        store.write(|c| {
            diesel::update(subs::table.find(&id))
                .set((subs::status.eq("PAST_DUE"), subs::dunning_attempts.eq(2), subs::collect_on.eq(Some(d("2027-06-03")))))
                .execute(c)
                .map_err(catalyst_store::StoreError::from)
        }).unwrap();
        let s = store.read(|c| store_subs::pause(c, tenant, &id.as_str().into(), noon("2027-06-01"))).unwrap();
        assert_eq!((s.status.as_str(), s.collect_on), ("PAUSED", None));
        let s = store.read(|c| store_subs::resume(c, tenant, &id.as_str().into(), noon("2027-06-10"))).unwrap();
        assert_eq!((s.status.as_str(), s.periods_billed, s.next_billing_date, s.dunning_attempts), ("ACTIVE", 5, d("2027-06-30"), 0));

        // A renewal in flight cannot be paused.
        store.write(|c| {
            diesel::update(subs::table.find(&id)).set(subs::status.eq("PENDING")).execute(c).map_err(catalyst_store::StoreError::from)
        }).unwrap();
        let refused = store.read(|c| store_subs::pause(c, tenant, &id.as_str().into(), noon("2027-06-11"))).unwrap_err();
        assert!(matches!(refused, store_subs::ChangeError::NotModifiable { .. }), "{refused}");
        assert_not_modifiable(&app, &demo.secret_key, &id, "pause", json!({})).await;
        assert_not_modifiable(&app, &demo.secret_key, &id, "patch", json!({"next_billing_date": "2099-01-01"})).await;
        let (status, s) = call(&app, patch(&format!("{SUBS}{id}/"), json!({"amount": "7.00"})).auth(&demo.secret_key)).await;
        assert_eq!((status, s["plan"]["amount"].as_str()), (StatusCode::OK, Some("7.00")), "the amount applies to the next collection");
    }

    async fn patch_amount_and_billing_date(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let store = &ctx.db.store;
        let (id, env) = subscribed(&app, &demo).await;
        let path = format!("{SUBS}{id}/");

        let (status, s) = call(&app, patch(&path, json!({"amount": "12.50"})).auth(sk)).await;
        assert_eq!((status, s["plan"]["amount"].as_str()), (StatusCode::OK, Some("12.50")), "{s}");
        assert_eq!(s["next_billing_date"], env["subscription"]["next_billing_date"]);
        assert_eq!(reconciled(&app, &demo, &id).await["amount"], "12.50");
        let updated = events(store, &id, "subscription.updated");
        assert_eq!(updated.len(), 1);
        assert_eq!(updated[0]["changes"], json!({"amount": {"previous": "9.99", "current": "12.50"}}));
        assert_eq!(updated[0]["amount"], "12.50");

        let date = today() + Days::new(10);
        let (status, s) = call(&app, patch(&path, json!({"next_billing_date": date.to_string(), "amount": 8})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK, "{s}");
        assert_eq!((s["next_billing_date"].as_str(), s["anchor_date"].as_str(), s["collect_on"].as_str(), s["plan"]["amount"].as_str()),
                   (Some(date.to_string().as_str()), Some(date.to_string().as_str()), Some(date.to_string().as_str()), Some("8.00")));
        let row = stored(store, &demo.tenant_id, &id);
        assert_eq!((row.periods_billed, row.notice_on), (0, Some(date - Days::new(5))));
        assert_eq!(reconciled(&app, &demo, &id).await["next_billing_date"], date.to_string());
        let updated = events(store, &id, "subscription.updated");
        assert_eq!(updated.len(), 2);
        assert_eq!(updated[1]["changes"]["next_billing_date"]["current"], date.to_string());
        assert_eq!(updated[1]["changes"]["amount"], json!({"previous": "12.50", "current": "8.00"}));
        assert!(events(store, &id, "subscription.status_changed").is_empty());

        // Nothing to change: 200, nothing written.
        let (status, same) = call(&app, patch(&path, json!({})).auth(sk)).await;
        assert_eq!((status, same["updated_at"].clone()), (StatusCode::OK, s["updated_at"].clone()));

        for (body, field) in [
            (json!({"amount": "0.00"}), "amount"),
            (json!({"amount": "-1.00"}), "amount"),
            (json!({"amount": "1.234"}), "amount"),
            (json!({"amount": null}), "amount"),
            (json!({"next_billing_date": today().to_string()}), "next_billing_date"),
            (json!({"next_billing_date": "2027-02-30"}), "next_billing_date"),
            (json!({"next_billing_date": "tomorrow"}), "next_billing_date"),
            (json!({"status": "ACTIVE"}), "status"),
        ] {
            let (status, err) = call(&app, patch(&path, body.clone()).auth(sk)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}");
            assert!(err["errors"][field].is_array(), "{body}: {err}");
        }
        let (status, err) = call(&app, patch(&path, json!({"amount": "0", "bogus": 1})).auth(sk)).await;
        assert_eq!((status, err["errors"]["amount"].is_array(), err["errors"]["bogus"].is_array()), (StatusCode::BAD_REQUEST, true, true));
        let (status, _) = call(&app, patch(&path, json!([1])).auth(sk)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(stored(store, &demo.tenant_id, &id).amount_minor, 800, "refused patches change nothing");

        // While paused a new date is kept for the resume; nothing is scheduled.
        act(&app, sk, &id, "pause", json!({})).await;
        let later = today() + Days::new(40);
        let (status, s) = call(&app, patch(&path, json!({"next_billing_date": later.to_string()})).auth(sk)).await;
        assert_eq!((status, s["status"].as_str(), s["collect_on"].clone()), (StatusCode::OK, Some("PAUSED"), Value::Null));
        assert_eq!(s["anchor_date"], later.to_string());
        let (_, s) = act(&app, sk, &id, "resume", json!({})).await;
        assert_eq!((s["next_billing_date"].as_str(), s["collect_on"].as_str()), (Some(later.to_string().as_str()), Some(later.to_string().as_str())));
    }

    async fn a_subscription_without_session_reports_to_its_order(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (id, env) = subscribed(&app, &demo).await;
        ctx.db.store.write(|c| {
            diesel::update(subs::table.find(&id)).set(subs::session_id.eq(None::<String>)).execute(c).map_err(catalyst_store::StoreError::from)
        }).unwrap();
        let (status, s) = act(&app, sk, &id, "pause", json!({})).await;
        assert_eq!((status, s["session_token"].clone()), (StatusCode::OK, Value::Null), "{s}");
        assert_eq!(s["order"]["order_number"], env["order_number"]);
        let changed = events(&ctx.db.store, &id, "subscription.status_changed");
        assert_eq!((changed.len(), changed[0]["order_number"].clone()), (1, env["order_number"].clone()));
        let (status, _) = call(&app, patch(&format!("{SUBS}{id}/"), json!({"amount": "3.00"})).auth(sk)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(events(&ctx.db.store, &id, "subscription.updated").len(), 1);
    }
}
