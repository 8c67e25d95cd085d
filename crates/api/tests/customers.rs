//! Customers and charges (API.md §3.6, §3.9), on both backends: a customer-mode session saves
//! a customer without a debit; the customer is listed and retrieved with its masked IBAN;
//! charges on its mandate are `FRST` first and `RCUR` afterwards (`RCUR` from the first after
//! a `customer_payment` session); a decline fails the charge's order; a deleted customer is
//! not chargeable; another tenant's customer is not found; a charge whose gateway answer was
//! lost is finished by the recovery worker; subscriptions start on a customer with their first
//! due date.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::recovery::{RecoveryPolicy, run_once};
use catalyst_domain::status::OrderStatus;
use catalyst_gateway::fake::{self, FakeConfig, Terminal};
use catalyst_store::settlement::Settlement;
use catalyst_store::{Mandate, Order, Subscription, Transaction, now};
use chrono::{Days, Duration};
use common::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const CUSTOMERS: &str = "/api/v1/customers/";

fn lead(email: &str) -> Value {
    json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"})
}

fn pay_body(iban: &str) -> Value {
    json!({"iban": iban, "iban_holder_name": "Ada Lovelace"})
}

fn charge_body(amount: &str) -> Value {
    json!({"amount": amount, "currency": "EUR", "description": "Top-up"})
}

fn events(ctx: &Ctx, event_type: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = '{event_type}'"
    ))
    .get_result::<N>(&mut *conn)
    .unwrap()
    .n
}

/// The profile and default payload of each event of `event_type`, oldest first.
fn emitted(ctx: &Ctx, event_type: &str) -> Vec<(Option<String>, Value)> {
    use catalyst_store::schema::webhook_events;
    use diesel::prelude::*;
    let mut conn = ctx.db.store.conn().unwrap();
    let rows: Vec<(Option<String>, String)> = match &mut *conn {
        catalyst_store::DbConnection::Sqlite(c) => webhook_events::table
            .filter(webhook_events::event_type.eq(event_type))
            .order(webhook_events::id.asc())
            .select((webhook_events::profile_id, webhook_events::payload))
            .load(c),
        catalyst_store::DbConnection::Postgres(c) => webhook_events::table
            .filter(webhook_events::event_type.eq(event_type))
            .order(webhook_events::id.asc())
            .select((webhook_events::profile_id, webhook_events::payload))
            .load(c),
    }
    .unwrap();
    rows.into_iter()
        .map(|(p, stored)| {
            let stored: Value = serde_json::from_str(&stored).unwrap();
            (p, stored["default"].clone())
        })
        .collect()
}

fn transaction(ctx: &Ctx, tenant: &catalyst_domain::TenantId, id: &str) -> Transaction {
    ctx.db
        .store
        .read(|c| Transaction::find(c, tenant, &id.into()))
        .unwrap()
}

fn order(ctx: &Ctx, tenant: &catalyst_domain::TenantId, id: &str) -> Order {
    ctx.db
        .store
        .read(|c| Order::find(c, tenant, &id.into()))
        .unwrap()
}

/// Pays a new session of `body` with `iban`; returns the envelope.
async fn pay<S, B>(app: &S, key: &str, body: Value, iban: &str) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, _, created) = send(app, post(SESSIONS, body).auth(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap();
    let (status, _, env) = send(
        app,
        post(&format!("{SESSIONS}{token}/pay/"), pay_body(iban)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{env}");
    env
}

/// A customer-mode session body on `gateway` (nothing debited).
fn customer_mode(gateway: &str, email: &str) -> Value {
    json!({"gateway_id": gateway, "amount": "0.00", "currency": "EUR", "billing_type": "ONE_OFF",
           "mode": "customer", "external_customer_id": "user-1", "lead": lead(email)})
}

/// A port on which nothing listens (yet).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

api_test! {
    async fn a_customer_mode_mandate_is_charged_frst_then_rcur(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "c@example.com"), "DE89370400440532013000").await;
        assert_eq!((env["status"].as_str(), env["transaction"].clone()), (Some("completed"), Value::Null), "{env}");
        assert_eq!(ctx.count("transactions"), 0, "customer mode debits nothing");
        let id = env["customer"]["id"].as_str().unwrap().to_owned();

        // Listed (rk_) and retrieved (sk_), the IBAN masked to full length.
        let (status, _, list) = send(&app, get(CUSTOMERS).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["results"].as_array().unwrap().len(), 1);
        let c = &list["results"][0];
        assert_eq!((c["object"].as_str(), c["id"].as_str(), c["status"].as_str()), (Some("customer"), Some(id.as_str()), Some("ACTIVE")));
        assert_eq!((c["email"].as_str(), c["first_name"].as_str(), c["external_customer_id"].as_str()), (Some("c@example.com"), Some("Ada"), Some("user-1")));
        assert_eq!(c["mandate"]["iban"], "******************3000");
        assert_eq!((c["mandate"]["iban_last4"].as_str(), c["mandate"]["sequence_type"].as_str()), (Some("3000"), Some("FRST")));
        assert_eq!(c["mandate"]["revoked_at"], Value::Null);
        assert_eq!(c["gateway_id"], demo.gateway_id.as_str());
        assert!(!c.to_string().contains("DE89370400440532013000"), "no clear IBAN: {c}");
        let (status, _, one) = send(&app, get(&format!("{CUSTOMERS}{id}/")).auth(&demo.secret_key)).await;
        assert_eq!((status, &one), (StatusCode::OK, c));
        for (query, n) in [("external_customer_id=user-1", 1), ("external_customer_id=user-2", 0), ("status=ACTIVE", 1), ("status=DELETED", 0)] {
            let (_, _, l) = send(&app, get(&format!("{CUSTOMERS}?{query}")).auth(&demo.restricted_key)).await;
            assert_eq!(l["results"].as_array().unwrap().len(), n, "{query}: {l}");
        }
        let (status, _, err) = send(&app, get(&format!("{CUSTOMERS}?status=GONE")).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["errors"]["status"].is_array()), (StatusCode::BAD_REQUEST, true), "{err}");

        // The first charge is FRST with the IBAN; replayed by its idempotency key.
        let path = format!("{CUSTOMERS}{id}/charges/");
        let first = post(&path, json!({"amount": "5.00", "currency": "EUR", "description": "Top-up",
                                       "tenant_reference_id": "ref-1", "metadata": {"cart": "42"}}))
            .auth(&demo.restricted_key).header("Idempotency-Key", "charge-1");
        let (status, _, c1) = send(&app, first).await;
        assert_eq!(status, StatusCode::CREATED, "{c1}");
        for key in catalyst_api::envelope::KEYS {
            assert!(c1.get(*key).is_some(), "{key} missing: {c1}");
        }
        assert_eq!((c1["object"].as_str(), c1["session_token"].clone(), c1["status"].as_str()), (Some("charge.result"), Value::Null, Some("completed")), "{c1}");
        assert_eq!((c1["transaction"]["type"].as_str(), c1["sepa"]["sequence_type"].as_str()), (Some("sdd_sale"), Some("FRST")));
        assert_eq!((c1["amount"].as_str(), c1["order"]["status"].as_str()), (Some("5.00"), Some("COMPLETED")));
        assert_eq!((c1["transaction"]["tenant_reference_id"].as_str(), c1["metadata"]["cart"].as_str()), (Some("ref-1"), Some("42")));
        assert_eq!(c1["customer"]["id"], id.as_str());
        assert_eq!(c1["payment_method"]["holder_name"], "Ada Lovelace");
        assert!(c1["order"]["order_number"].as_str().unwrap().starts_with("ORD-"));
        let replay = post(&path, json!({"amount": "5.00", "currency": "EUR", "description": "Top-up",
                                        "tenant_reference_id": "ref-1", "metadata": {"cart": "42"}}))
            .auth(&demo.restricted_key).header("Idempotency-Key", "charge-1");
        let (status, headers, again) = send(&app, replay).await;
        assert_eq!((status, &again), (StatusCode::CREATED, &c1));
        assert_eq!(headers.get("Idempotent-Replayed").unwrap(), "true");
        assert_eq!(ctx.count("transactions"), 1, "the replay debits nothing");
        let t1 = transaction(&ctx, &demo.tenant_id, c1["transaction"]["id"].as_str().unwrap());
        assert_eq!((t1.session_id.clone(), t1.description.as_deref()), (None, Some("Top-up")));
        let o1 = order(&ctx, &demo.tenant_id, &t1.order_id);
        assert_eq!((o1.session_id.clone(), o1.customer_id.as_deref()), (None, Some(id.as_str())));

        // The reference is the tenant's: taken → 409, nothing written.
        let (status, _, err) = send(&app, post(&path, json!({"amount": "1.00", "currency": "EUR", "description": "x", "tenant_reference_id": "ref-1"})).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("tenant_reference_id_conflict")), "{err}");
        assert_eq!(ctx.count("transactions"), 1);

        // Later charges are RCUR on the first collection's reference.
        let (status, _, c2) = send(&app, post(&path, charge_body("7.50")).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{c2}");
        assert_eq!((c2["transaction"]["type"].as_str(), c2["sepa"]["sequence_type"].as_str(), c2["status"].as_str()), (Some("sdd_rebill"), Some("RCUR"), Some("completed")), "{c2}");
        assert_eq!(c2["sepa"]["mandate_reference"], c1["sepa"]["mandate_reference"]);
        let mandate = ctx.db.store.read(|c| Mandate::find(c, &demo.tenant_id, &t1.mandate_id)).unwrap();
        assert_eq!((mandate.sequence_type.as_str(), mandate.gateway_reference.clone()), ("RCUR", t1.gateway_reference.clone()));
        let (_, _, one) = send(&app, get(&format!("{CUSTOMERS}{id}/")).auth(&demo.secret_key)).await;
        assert_eq!(one["mandate"]["sequence_type"], "RCUR");
        assert_eq!((events(&ctx, "charge.succeeded"), events(&ctx, "transaction.created"), events(&ctx, "transaction.status_changed")), (2, 2, 2));

        // Reconciliation lists both charges with their types.
        let today = now().date().format("%Y-%m-%d").to_string();
        let (status, _, rec) = send(&app, get(&format!("/api/v1/reconciliation/transactions/?start_date={today}")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{rec}");
        let kinds: Vec<String> = rec["results"].as_array().unwrap().iter().map(|r| r.to_string()).collect();
        assert_eq!(kinds.len(), 2, "{rec}");
        assert!(kinds.iter().any(|r| r.contains("sdd_sale")) && kinds.iter().any(|r| r.contains("sdd_rebill")), "{rec}");
    }

    async fn a_declined_charge_fails_its_order(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "poor@example.com"), "DE91100000000123456789").await;
        let id = env["customer"]["id"].as_str().unwrap().to_owned();
        let (status, _, c) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("20.00")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        assert_eq!((c["status"].as_str(), c["transaction"]["status"].as_str(), c["order"]["status"].as_str()), (Some("failed"), Some("declined"), Some("FAILED")), "{c}");
        assert_eq!((c["error_details"]["code"].as_str(), c["error_details"]["gateway_code"].as_str()), (Some("insufficient_funds"), Some("AM04")));
        assert_eq!(c["error"], c["error_details"]["message"]);
        let t = transaction(&ctx, &demo.tenant_id, c["transaction"]["id"].as_str().unwrap());
        assert_eq!(order(&ctx, &demo.tenant_id, &t.order_id).status, OrderStatus::Failed);
        assert_eq!((events(&ctx, "charge.failed"), events(&ctx, "charge.succeeded")), (1, 0));
        // Nothing was collected: the mandate's next collection is still its first.
        let (_, _, again) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("1.00")).auth(&demo.restricted_key)).await;
        assert_eq!(again["sepa"]["sequence_type"], "FRST", "{again}");
    }

    async fn charge_bodies_are_validated(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "v@example.com"), "DE89370400440532013000").await;
        let path = format!("{CUSTOMERS}{}/charges/", env["customer"]["id"].as_str().unwrap());
        let long = "x".repeat(256);
        for (body, field) in [
            (json!({"amount": "1.00", "currency": "EUR", "description": "x", "colour": "red"}), "colour"),
            (json!({"amount": "0.00", "currency": "EUR", "description": "x"}), "amount"),
            (json!({"amount": "1.001", "currency": "EUR", "description": "x"}), "amount"),
            (json!({"currency": "EUR", "description": "x"}), "amount"),
            (json!({"amount": "1.00", "currency": "USD", "description": "x"}), "currency"),
            (json!({"amount": "1.00", "currency": "EUR"}), "description"),
            (json!({"amount": "1.00", "currency": "EUR", "description": long}), "description"),
            (json!({"amount": "1.00", "currency": "EUR", "description": "x", "metadata": {"k": 1}}), "metadata.k"),
            (json!({"amount": "1.00", "currency": "EUR", "description": "x", "tenant_reference_id": " "}), "tenant_reference_id"),
        ] {
            let (status, _, err) = send(&app, post(&path, body.clone()).auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
            assert!(err["errors"][field].is_array(), "{body}: {err}");
        }
        assert_eq!(ctx.count("transactions"), 0);
        assert_eq!(ctx.count("orders"), 1, "only the session's order");
    }

    async fn a_deleted_customer_and_another_tenants_are_refused(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "d@example.com"), "DE89370400440532013000").await;
        let id = env["customer"]["id"].as_str().unwrap().to_owned();
        let path = format!("{CUSTOMERS}{id}/");

        // Another tenant sees nothing, charges nothing, deletes nothing, names it in no session.
        let other = ctx.tenant("Other GmbH");
        for req in [get(&path), delete(&path), post(&format!("{path}charges/"), charge_body("1.00")),
                    post(&format!("{path}subscriptions/"), json!({"campaign_id": demo.recurring_campaign_id}))] {
            let (status, _, err) = send(&app, req.auth(&other.secret_key)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{err}");
        }
        let (_, _, list) = send(&app, get(CUSTOMERS).auth(&other.restricted_key)).await;
        assert_eq!(list["results"], json!([]));
        let (_, _, other_gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Sandbox", "adapter": "SANDBOX"})).auth(&other.secret_key)).await;
        let mut foreign = customer_mode(other_gw["id"].as_str().unwrap(), "d@example.com");
        foreign["customer_id"] = json!(id);
        let (status, _, err) = send(&app, post(SESSIONS, foreign).auth(&other.restricted_key)).await;
        assert_eq!((status, err["errors"]["customer_id"].is_array()), (StatusCode::BAD_REQUEST, true), "{err}");
        let mut named = customer_mode(&demo.gateway_id, "d@example.com");
        named["customer_id"] = json!(id);
        let (status, _, err) = send(&app, post(SESSIONS, named.clone()).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "an active customer of the tenant is accepted: {err}");

        // Deleted: mandate revoked, one event, no more charges or sessions on it.
        let (status, _, deleted) = send(&app, delete(&path).auth(&demo.restricted_key)).await;
        assert_eq!((status, deleted["status"].as_str()), (StatusCode::OK, Some("DELETED")), "{deleted}");
        assert!(deleted["mandate"]["revoked_at"].is_string() && deleted["deleted_at"].is_string(), "{deleted}");
        let (_, _, again) = send(&app, delete(&path).auth(&demo.restricted_key)).await;
        assert_eq!(again, deleted, "deleting twice changes nothing");
        assert_eq!(events(&ctx, "customer.deleted"), 1);
        let (_, payload) = &emitted(&ctx, "customer.deleted")[0];
        assert_eq!((payload["customer_id"].as_str(), payload["status"].as_str(), &payload["mandate_reference"]), (Some(id.as_str()), Some("DELETED"), &deleted["mandate"]["reference"]), "{payload}");
        let (status, _, err) = send(&app, post(&format!("{path}charges/"), charge_body("1.00")).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("customer_not_chargeable")), "{err}");
        let (status, _, err) = send(&app, post(&format!("{path}subscriptions/"), json!({"campaign_id": demo.recurring_campaign_id})).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("customer_not_chargeable")), "{err}");
        assert_eq!(ctx.count("transactions"), 0);
        let (status, _, err) = send(&app, post(SESSIONS, named).auth(&demo.restricted_key)).await;
        assert_eq!((status, err["errors"]["customer_id"].is_array()), (StatusCode::BAD_REQUEST, true), "{err}");
        let (_, _, l) = send(&app, get(&format!("{CUSTOMERS}?status=DELETED")).auth(&demo.restricted_key)).await;
        assert_eq!(l["results"].as_array().unwrap().len(), 1);
    }

    async fn customer_payment_charges_are_rcur_from_the_first(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let body = json!({"campaign_id": demo.campaign_id, "mode": "customer_payment", "lead": lead("cp@example.com")});
        let env = pay(&app, &demo.restricted_key, body, "DE89370400440532013000").await;
        assert_eq!(env["transaction"]["status"], "approved", "{env}");
        let id = env["customer"]["id"].as_str().unwrap();
        let (_, _, c) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("3.00")).auth(&demo.restricted_key)).await;
        assert_eq!((c["status"].as_str(), c["transaction"]["type"].as_str(), c["sepa"]["sequence_type"].as_str()), (Some("completed"), Some("sdd_rebill"), Some("RCUR")), "{c}");
        assert_eq!(c["sepa"]["mandate_reference"], env["sepa"]["mandate_reference"]);

        // The charge's events go to the profile of the session that saved the customer.
        let succeeded = emitted(&ctx, "charge.succeeded");
        assert_eq!(succeeded.len(), 1);
        let (profile, payload) = &succeeded[0];
        assert_eq!(profile.as_deref(), Some(demo.webhook_profile_id.as_str()));
        assert_eq!((payload["customer_id"].as_str(), payload["session_token"].clone(), payload["sequence_type"].as_str()), (Some(id), Value::Null, Some("RCUR")), "{payload}");
        assert_eq!((payload["amount"].as_str(), payload["description"].as_str(), payload["status"].as_str()), (Some("3.00"), Some("Top-up"), Some("approved")));
        assert_eq!(payload["order_number"], c["order_number"]);
    }

    async fn a_new_customer_session_moves_charges_to_its_new_mandate(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "m@example.com"), "DE89370400440532013000").await;
        let id = env["customer"]["id"].as_str().unwrap().to_owned();
        let (_, _, c1) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("1.00")).auth(&demo.restricted_key)).await;
        assert_eq!(c1["sepa"]["sequence_type"], "FRST");

        // The customer signs a new mandate through a session naming it.
        let mut named = customer_mode(&demo.gateway_id, "m@example.com");
        named["customer_id"] = json!(id);
        let env2 = pay(&app, &demo.restricted_key, named, "GB82WEST12345698765432").await;
        assert_eq!(env2["customer"]["id"], id.as_str(), "{env2}");
        let (_, _, c) = send(&app, get(&format!("{CUSTOMERS}{id}/")).auth(&demo.restricted_key)).await;
        assert_eq!((c["mandate"]["iban_last4"].as_str(), c["mandate"]["reference"].clone()), (Some("5432"), env2["sepa"]["mandate_reference"].clone()), "{c}");

        // Charges now go under the new mandate: never collected, so FRST.
        let (_, _, c2) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("2.00")).auth(&demo.restricted_key)).await;
        assert_eq!((c2["sepa"]["mandate_reference"].clone(), c2["sepa"]["sequence_type"].as_str(), c2["payment_method"]["iban_last4"].as_str()),
                   (env2["sepa"]["mandate_reference"].clone(), Some("FRST"), Some("5432")), "{c2}");
        assert_ne!(c2["sepa"]["mandate_reference"], c1["sepa"]["mandate_reference"]);
    }

    async fn a_charge_whose_answer_was_lost_is_finished_later(ctx) {
        catalyst_gateway::install_crypto_provider();
        let port = free_port();
        let tenant = ctx.tenant("EMP GmbH");
        let app = ctx.app().await;
        let credentials: Value = serde_json::from_str(&Terminal::default().credentials_json(&format!("http://127.0.0.1:{port}"))).unwrap();
        let (_, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Genesis", "adapter": "EMP", "credentials": credentials})).auth(&tenant.secret_key)).await;
        let gw = gw["id"].as_str().unwrap().to_owned();
        let env = pay(&app, &tenant.restricted_key, customer_mode(&gw, "lost@example.com"), "DE89370400440532013000").await;
        let id = env["customer"]["id"].as_str().unwrap().to_owned();

        // Nothing listens: the debit and its reconcile fail; the charge is pending.
        let (status, _, c) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("4.00")).auth(&tenant.restricted_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{c}");
        assert_eq!((c["status"].as_str(), c["transaction"]["status"].as_str(), c["order"]["status"].as_str()), (Some("pending"), Some("pending"), Some("PENDING")), "{c}");
        assert_eq!(c["error_details"]["code"], "gateway_unavailable");
        let t = transaction(&ctx, &tenant.tenant_id, c["transaction"]["id"].as_str().unwrap());

        // The gateway is back but never got the debit: after the checks, nothing was debited.
        let gateway = fake::start(FakeConfig::default(), &format!("127.0.0.1:{port}")).await.unwrap();
        let policy = RecoveryPolicy::default();
        let mut at = t.created_at + policy.grace + Duration::seconds(1);
        for _ in 0..policy.not_found_checks {
            run_once(&ctx.state, &policy, at).await.unwrap();
            at += policy.max_backoff;
        }
        let t = transaction(&ctx, &tenant.tenant_id, &t.id);
        assert_eq!((t.status.as_str(), t.error_code.as_deref(), t.counts_as_attempt), ("declined", Some("gateway_unavailable"), false));
        assert_eq!(order(&ctx, &tenant.tenant_id, &t.order_id).status, OrderStatus::Failed);
        assert_eq!(events(&ctx, "charge.failed"), 1);

        // A second lost answer that a gateway notification reports approved: the order completes
        // and the mandate moves to RCUR on its reference; a second report changes nothing.
        gateway.stop().await;
        let (_, _, c) = send(&app, post(&format!("{CUSTOMERS}{id}/charges/"), charge_body("6.00")).auth(&tenant.restricted_key)).await;
        assert_eq!(c["status"], "pending", "{c}");
        let t = transaction(&ctx, &tenant.tenant_id, c["transaction"]["id"].as_str().unwrap());
        let approved = Settlement::Approved { reference: "gw-123".into() };
        for _ in 0..2 {
            ctx.db.store.read(|conn| catalyst_store::outcome::apply_outcome(conn, &t.id, &approved, now())).unwrap();
        }
        let t = transaction(&ctx, &tenant.tenant_id, &t.id);
        assert_eq!((t.status.as_str(), t.gateway_reference.as_deref()), ("approved", Some("gw-123")));
        assert_eq!(order(&ctx, &tenant.tenant_id, &t.order_id).status, OrderStatus::Completed);
        let mandate = ctx.db.store.read(|conn| Mandate::find(conn, &tenant.tenant_id, &t.mandate_id)).unwrap();
        assert_eq!((mandate.sequence_type.as_str(), mandate.gateway_reference.as_deref()), ("RCUR", Some("gw-123")));
        assert_eq!((events(&ctx, "charge.succeeded"), events(&ctx, "transaction.status_changed")), (1, 2));
    }

    async fn subscriptions_start_on_a_customer_with_their_first_due_date(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let env = pay(&app, &demo.restricted_key, customer_mode(&demo.gateway_id, "s@example.com"), "DE89370400440532013000").await;
        let id = env["customer"]["id"].as_str().unwrap().to_owned();
        let path = format!("{CUSTOMERS}{id}/subscriptions/");
        let today = now().date();

        // From a recurring campaign, due today.
        let (status, _, s) = send(&app, post(&path, json!({"campaign_id": demo.recurring_campaign_id})).auth(&demo.restricted_key).header("Idempotency-Key", "sub-1")).await;
        assert_eq!(status, StatusCode::CREATED, "{s}");
        assert_eq!((s["status"].as_str(), s["customer_id"].as_str(), s["campaign_id"].as_str()), (Some("ACTIVE"), Some(id.as_str()), Some(demo.recurring_campaign_id.as_str())));
        assert_eq!((s["plan"]["amount"].as_str(), s["plan"]["billing_frequency"].as_str(), s["plan"]["currency"].as_str()), (Some("9.99"), Some("MONTHLY"), Some("EUR")), "{s}");
        assert_eq!(s["next_billing_date"], today.format("%Y-%m-%d").to_string());
        let (_, _, replay) = send(&app, post(&path, json!({"campaign_id": demo.recurring_campaign_id})).auth(&demo.restricted_key).header("Idempotency-Key", "sub-1")).await;
        assert_eq!(replay, s);
        let row = ctx.db.store.read(|c| Subscription::find(c, &demo.tenant_id, &s["id"].as_str().unwrap().into())).unwrap();
        assert_eq!((row.session_id.clone(), row.anchor_date, row.periods_billed, row.collect_on, row.notice_on), (None, today, 0, Some(today), Some(today)));
        let customer_mandate = ctx.db.store.read(|c| catalyst_store::Customer::find(c, &demo.tenant_id, &id.as_str().into())).unwrap().mandate_id;
        assert_eq!((Some(row.mandate_id.clone()), row.gateway_id.as_str()), (customer_mandate, demo.gateway_id.as_str()));
        let o = order(&ctx, &demo.tenant_id, &row.order_id);
        assert_eq!((o.session_id.clone(), o.customer_id.as_deref(), o.status.as_str()), (None, Some(id.as_str()), "PENDING"));

        // Inline, from a later start date: the notice is due its days before.
        let start = today + Days::new(10);
        let (status, _, s2) = send(&app, post(&path, json!({"amount": "12.00", "currency": "EUR", "billing_frequency": "WEEKLY", "plan_name": "Weekly box", "start_date": start.format("%Y-%m-%d").to_string()})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{s2}");
        assert_eq!((s2["plan"]["name"].as_str(), s2["campaign_id"].clone(), s2["next_billing_date"].as_str()), (Some("Weekly box"), Value::Null, Some(start.format("%Y-%m-%d").to_string().as_str())));
        let row2 = ctx.db.store.read(|c| Subscription::find(c, &demo.tenant_id, &s2["id"].as_str().unwrap().into())).unwrap();
        assert_eq!((row2.collect_on, row2.notice_on, row2.amount_minor), (Some(start), Some(start - Days::new(row2.notice_days as u64)), 1200));
        assert_eq!(events(&ctx, "subscription.created"), 2);
        assert_eq!(ctx.count("transactions"), 0, "nothing is collected at creation");

        // A campaign on another gateway than the customer's mandate is refused.
        let (_, _, gw) = send(&app, post("/api/v1/gateways/", json!({"name": "Second", "adapter": "SANDBOX"})).auth(&demo.secret_key)).await;
        let (status, _, other) = send(&app, post("/api/v1/campaigns/", json!({"name": "Elsewhere", "gateway_id": gw["id"],
            "offer": {"name": "Monthly", "price": "5.00", "currency": "EUR", "billing_type": "RECURRING", "billing_frequency": "MONTHLY"}})).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::CREATED, "{other}");

        // Refused: a one-off campaign, both plan kinds, a past start, a missing frequency.
        let yesterday = (today - Days::new(1)).format("%Y-%m-%d").to_string();
        for (body, field) in [
            (json!({"campaign_id": demo.campaign_id}), "campaign_id"),
            (json!({"campaign_id": other["id"]}), "campaign_id"),
            (json!({"campaign_id": demo.recurring_campaign_id, "amount": "1.00"}), "amount"),
            (json!({"campaign_id": demo.recurring_campaign_id, "start_date": yesterday}), "start_date"),
            (json!({"amount": "1.00", "currency": "EUR"}), "billing_frequency"),
            (json!({"amount": "1.00", "currency": "EUR", "billing_frequency": "MONTHLY", "trial": 1}), "trial"),
        ] {
            let (status, _, err) = send(&app, post(&path, body.clone()).auth(&demo.restricted_key)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
            assert!(err["errors"][field].is_array(), "{body}: {err}");
        }
    }
}

api_test! {
    async fn a_listing_shows_each_customer_as_its_own_retrieve_does(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let ibans = ["DE89370400440532013000", "DE02120300000000202051", "DE89370400440532013000"];
        let mut ids = Vec::new();
        for (i, iban) in ibans.iter().enumerate() {
            let mut body = customer_mode(&demo.gateway_id, &format!("c{i}@example.com"));
            body["external_customer_id"] = json!(format!("user-{i}"));
            body["lead"]["first_name"] = json!(format!("Payer{i}"));
            let env = pay(&app, &demo.restricted_key, body, iban).await;
            ids.push(env["customer"]["id"].as_str().unwrap().to_owned());
        }
        // One deleted: its revoked mandate is listed too.
        let (status, _, _) = send(&app, delete(&format!("{CUSTOMERS}{}/", ids[1])).auth(&demo.secret_key)).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, list) = send(&app, get(&format!("{CUSTOMERS}?page_size=2")).auth(&demo.restricted_key)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let mut listed: Vec<Value> = list["results"].as_array().unwrap().clone();
        let cursor = list["next"].as_str().expect("a second page").to_owned();
        let path = &cursor[cursor.find("/api/v1/").expect("an absolute link")..];
        let (_, _, rest) = send(&app, get(path).auth(&demo.restricted_key)).await;
        listed.extend(rest["results"].as_array().unwrap().iter().cloned());
        assert_eq!(listed.len(), 3, "{list} {rest}");
        for (i, id) in ids.iter().enumerate() {
            let (_, _, one) = send(&app, get(&format!("{CUSTOMERS}{id}/")).auth(&demo.secret_key)).await;
            let row = listed.iter().find(|c| c["id"] == id.as_str()).expect("listed");
            assert_eq!(row, &one, "customer {i}");
            assert_eq!(row["first_name"], format!("Payer{i}").as_str());
            assert_eq!(row["mandate"]["iban_last4"], &ibans[i][ibans[i].len() - 4..]);
        }
        assert_ne!(listed.iter().find(|c| c["id"] == ids[1].as_str()).unwrap()["mandate"]["revoked_at"], Value::Null);
    }
}
