//! Recurring billing on both backends: renewals on the subscription's order, month ends
//! anchored, a trial's first paid collection, the dunning ladder, pre-notifications, cancel at
//! period end, a revoked mandate, chargebacks on renewals, dry runs, two concurrent runs and
//! crash recovery. Runs are driven by `run_once` with a chosen billing date, never by sleeping.

mod common;

use actix_web::http::StatusCode;
use catalyst_api::billing::{RunReport, run_once};
use catalyst_domain::transaction::TransactionStatus;
use catalyst_store::billing::{self, Claim};
use catalyst_store::payments::IBAN_CONTEXT;
use catalyst_store::reversals::{Reason, ReversalKind};
use catalyst_store::{Mandate, PaymentSession, Subscription, Transaction, now};
use chrono::NaiveDate;
use common::*;
use diesel::prelude::*;
use serde_json::{Value, json};

const SESSIONS: &str = "/api/v1/payment-sessions/";
const APPROVED: &str = "DE89370400440532013000";
/// Declined `AM04` on every debit (API.md §8).
const DECLINED: &str = "DE91100000000123456789";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn bill(ctx: &Ctx, date: &str) -> RunReport {
    run_once(&ctx.state, d(date), now(), false).await.unwrap()
}

/// A paid session of `campaign` (IBAN `iban`); returns its subscription.
async fn subscribe<S, B>(
    ctx: &Ctx,
    app: &S,
    key: &str,
    campaign: &str,
    email: &str,
    iban: &str,
) -> Subscription
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let lead =
        json!({"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"});
    let (status, _, created) = send(
        app,
        post(SESSIONS, json!({"campaign_id": campaign, "lead": lead})).auth(key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["session_token"].as_str().unwrap().to_owned();
    let (status, _, env) = send(
        app,
        post(
            &format!("{SESSIONS}{token}/pay/"),
            json!({"iban": iban, "iban_holder_name": "Ada Lovelace"}),
        ),
    )
    .await;
    assert_eq!(
        (status, env["status"].as_str()),
        (StatusCode::OK, Some("completed")),
        "{env}"
    );
    ctx.db
        .store
        .read(|c| {
            let s = PaymentSession::find_by_token(c, &token)?;
            Subscription::of_session(c, &s.id)
        })
        .unwrap()
        .expect("a subscription")
}

/// A campaign of the demo tenant (management API) with this offer and billing settings.
async fn campaign<S, B>(
    app: &S,
    demo: &catalyst_api::provision::DemoSetup,
    offer: Value,
    extra: Value,
) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let mut body = json!({"name": "Billing test", "gateway_id": demo.gateway_id, "offer": offer});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, _, k) = send(app, post("/api/v1/campaigns/", body).auth(&demo.secret_key)).await;
    assert_eq!(status, StatusCode::CREATED, "{k}");
    k["id"].as_str().unwrap().to_owned()
}

/// A free 14-day trial, then 19.90 a month.
fn trial_offer() -> Value {
    json!({"name": "Trial plan", "price": "19.90", "currency": "EUR", "billing_type": "TRIAL_RECURRING",
           "billing_frequency": "MONTHLY", "trial_period": 14, "trial_interval_unit": "day", "trial_price": "0.00"})
}

fn exec(ctx: &Ctx, sql: &str) {
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query(sql).execute(&mut *conn).unwrap();
}

/// Moves `s`'s schedule so that its next period (the first after the anchor) is billed on `date`.
fn anchor_on(ctx: &Ctx, s: &Subscription, date: &str) {
    exec(
        ctx,
        &format!(
            "UPDATE subscriptions SET anchor_date = '{date}', next_billing_date = '{date}', collect_on = '{date}', \
         notice_on = NULL, periods_billed = 0 WHERE id = '{}'",
            s.id
        ),
    );
}

fn reload(ctx: &Ctx, s: &Subscription) -> Subscription {
    ctx.db
        .store
        .read(|c| Subscription::find(c, &s.tenant_id, &s.id))
        .unwrap()
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(ctx: &Ctx, sql: &str) -> i64 {
    let mut conn = ctx.db.store.conn().unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn)
        .unwrap()
        .n
}

/// The renewals of `s`, in the order they were made.
fn renewals(ctx: &Ctx, s: &Subscription) -> Vec<Transaction> {
    let ids: Vec<Id> = {
        let mut conn = ctx.db.store.conn().unwrap();
        diesel::sql_query(format!(
            "SELECT id FROM transactions WHERE subscription_id = '{}' ORDER BY billing_period, billing_attempt", s.id))
            .load(&mut *conn)
            .unwrap()
    };
    ids.iter()
        .map(|i| {
            ctx.db
                .store
                .read(|c| Transaction::by_id(c, &i.id.as_str().into()))
                .unwrap()
        })
        .collect()
}

/// Payloads of the events of this type, oldest first.
fn payloads(ctx: &Ctx, event_type: &str) -> Vec<Value> {
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = diesel::sql_types::Text)]
        payload: String,
    }
    let mut conn = ctx.db.store.conn().unwrap();
    let rows: Vec<P> = diesel::sql_query(format!(
        "SELECT payload FROM webhook_events WHERE event_type = '{event_type}' ORDER BY created_at, id"))
        .load(&mut *conn)
        .unwrap();
    rows.iter()
        .map(|p| serde_json::from_str::<Value>(&p.payload).unwrap()["default"].clone())
        .collect()
}

fn status_changes(ctx: &Ctx) -> Vec<(String, String)> {
    payloads(ctx, "subscription.status_changed")
        .iter()
        .map(|p| {
            (
                p["previous_status"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

api_test! {
    async fn an_approved_renewal_collects_on_the_order_and_advances_the_schedule(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "r@example.com", APPROVED).await;
        assert_eq!((s.periods_billed, s.collect_on, s.status.as_str()), (1, Some(s.next_billing_date), "ACTIVE"));
        let due = s.next_billing_date;
        let day_before = due.pred_opt().unwrap().to_string();
        assert_eq!(bill(&ctx, &day_before).await.due, 0, "not due before its billing date");

        let report = bill(&ctx, &due.to_string()).await;
        assert_eq!((report.due, report.collected, report.approved, report.declined), (1, 1, 1, 0), "{report:?}");
        let [t] = renewals(&ctx, &s).try_into().unwrap();
        assert_eq!((t.order_id.as_str(), t.kind.as_str(), t.sequence_type.as_str(), t.status.as_str()),
                   (s.order_id.as_str(), "sdd_rebill", "RCUR", "approved"));
        assert_eq!((t.amount_minor, t.billing_period, t.billing_attempt, t.session_id.as_deref()), (999, Some(due), Some(1), None));
        let after = reload(&ctx, &s);
        let next = catalyst_domain::billing::BillingFrequency::Monthly.nth_after(s.anchor_date, 2);
        assert_eq!((after.periods_billed, after.next_billing_date, after.collect_on), (2, next, Some(next)));
        assert_eq!(after.notice_on, Some(next - chrono::Days::new(5)));
        assert_eq!((after.status.as_str(), after.dunning_attempts), ("ACTIVE", 0));

        let [renewed] = payloads(&ctx, "subscription.renewed").try_into().unwrap();
        assert_eq!(renewed["subscription_id"], s.id.as_str());
        assert_eq!(renewed["transaction_id"], t.id.as_str());
        assert_eq!(renewed["billing_period"], due.to_string());
        assert_eq!(renewed["next_billing_date"], next.to_string());
        assert_eq!((renewed["amount"].as_str(), renewed["status"].as_str(), renewed["subscription_status"].as_str()), (Some("9.99"), Some("approved"), Some("ACTIVE")));
        let created = payloads(&ctx, "transaction.created");
        assert_eq!(created.last().unwrap()["transaction_id"], t.id.as_str());
        assert_eq!(created.last().unwrap()["type"], "sdd_rebill");

        // The answer arriving again (a gateway notification) changes nothing.
        let again = catalyst_store::settlement::Settlement::Approved { reference: t.gateway_reference.clone().unwrap() };
        ctx.db.store.read(|c| catalyst_store::outcome::apply_outcome(c, &t.id, &again, now())).unwrap();
        assert_eq!(reload(&ctx, &s).periods_billed, 2);
        assert_eq!(payloads(&ctx, "subscription.renewed").len(), 1);

        // The same day again: nothing is due, nothing collected twice.
        let again = bill(&ctx, &due.to_string()).await;
        assert_eq!((again.due, again.collected), (0, 0));
        assert_eq!(renewals(&ctx, &s).len(), 1);
    }

    async fn month_ends_stay_anchored(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "m@example.com", APPROVED).await;
        anchor_on(&ctx, &s, "2027-01-31");
        for (date, next) in [("2027-01-31", "2027-02-28"), ("2027-02-28", "2027-03-31"), ("2027-03-31", "2027-04-30")] {
            assert_eq!(bill(&ctx, date).await.approved, 1, "{date}");
            let after = reload(&ctx, &s);
            assert_eq!((after.next_billing_date, after.collect_on), (d(next), Some(d(next))), "after {date}");
        }
        let periods: Vec<_> = renewals(&ctx, &s).iter().map(|t| t.billing_period.unwrap().to_string()).collect();
        assert_eq!(periods, ["2027-01-31", "2027-02-28", "2027-03-31"]);
    }

    async fn a_trial_collects_the_regular_price_when_it_ends(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let k = campaign(&app, &demo, trial_offer(), json!({})).await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &k, "t@example.com", APPROVED).await;
        let trial_end = s.created_at.date() + chrono::Days::new(14);
        assert_eq!((s.anchor_date, s.next_billing_date, s.periods_billed, s.amount_minor), (trial_end, trial_end, 0, 1990));
        assert!(renewals(&ctx, &s).is_empty());

        let report = bill(&ctx, &trial_end.to_string()).await;
        assert_eq!(report.approved, 1, "{report:?}");
        let [t] = renewals(&ctx, &s).try_into().unwrap();
        // Nothing was debited during the free trial: this is the mandate's first collection.
        assert_eq!((t.amount_minor, t.billing_period, t.kind.as_str(), t.sequence_type.as_str()), (1990, Some(trial_end), "sdd_sale", "FRST"));
        let after = reload(&ctx, &s);
        let next = catalyst_domain::billing::BillingFrequency::Monthly.nth_after(trial_end, 1);
        assert_eq!((after.periods_billed, after.next_billing_date), (1, next));
        let mandate = ctx.db.store.read(|c| Mandate::find(c, &s.tenant_id, &s.mandate_id)).unwrap();
        assert_eq!((mandate.sequence_type.as_str(), mandate.gateway_reference.as_ref()), ("RCUR", t.gateway_reference.as_ref()));

        // The next period is a recurring debit on the first collection's reference.
        assert_eq!(bill(&ctx, &next.to_string()).await.approved, 1);
        let second = renewals(&ctx, &s).pop().unwrap();
        assert_eq!((second.kind.as_str(), second.sequence_type.as_str(), second.amount_minor), ("sdd_rebill", "RCUR", 1990));
    }

    async fn the_dunning_ladder_retries_then_cancels(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let k = campaign(&app, &demo, trial_offer(), json!({})).await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &k, "dun@example.com", DECLINED).await;
        assert_eq!(s.dunning_ladder, "3,5,7");
        anchor_on(&ctx, &s, "2027-01-31");

        // Declines on Jan 31, Feb 3, Feb 8 and Feb 15: retries 3, 5 and 7 days later.
        for (date, attempt, retry) in [("2027-01-31", 1, Some("2027-02-03")), ("2027-02-03", 2, Some("2027-02-08")), ("2027-02-08", 3, Some("2027-02-15"))] {
            let report = bill(&ctx, date).await;
            assert_eq!((report.collected, report.declined), (1, 1), "{date}: {report:?}");
            let after = reload(&ctx, &s);
            assert_eq!((after.status.as_str(), after.dunning_attempts, after.collect_on), ("PAST_DUE", attempt, retry.map(d)), "{date}");
            assert_eq!((after.next_billing_date, after.periods_billed, after.notice_on), (d("2027-01-31"), 0, None));
            // Nothing happens between retries.
            let next_day = (d(date) + chrono::Days::new(1)).to_string();
            assert_eq!(bill(&ctx, &next_day).await.due, 0);
        }
        let report = bill(&ctx, "2027-02-15").await;
        assert_eq!((report.declined, report.cancelled), (1, 0));
        let after = reload(&ctx, &s);
        assert_eq!((after.status.as_str(), after.dunning_attempts, after.collect_on, after.notice_on), ("CANCELLED", 4, None, None));
        assert!(after.ended_at.is_some());

        let attempts: Vec<_> = renewals(&ctx, &s).iter().map(|t| (t.billing_period.unwrap().to_string(), t.billing_attempt.unwrap(), t.error_code.clone().unwrap())).collect();
        assert_eq!(attempts, (1..=4).map(|a| ("2027-01-31".to_owned(), a, "insufficient_funds".to_owned())).collect::<Vec<_>>());
        let failed: Vec<_> = payloads(&ctx, "subscription.payment_failed").iter().map(|p| (p["attempt"].as_i64().unwrap(), p["next_retry_on"].clone(), p["error_code"].clone())).collect();
        assert_eq!(failed, [
            (1, json!("2027-02-03"), json!("insufficient_funds")),
            (2, json!("2027-02-08"), json!("insufficient_funds")),
            (3, json!("2027-02-15"), json!("insufficient_funds")),
            (4, Value::Null, json!("insufficient_funds")),
        ]);
        assert_eq!(status_changes(&ctx), [("ACTIVE".to_owned(), "PAST_DUE".to_owned()), ("PAST_DUE".to_owned(), "CANCELLED".to_owned())]);
        assert_eq!(bill(&ctx, "2027-03-31").await.due, 0, "a cancelled subscription is never collected again");
    }

    async fn a_retry_that_is_approved_makes_the_subscription_active_again(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let k = campaign(&app, &demo, trial_offer(), json!({"dunning_ladder": [2]})).await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &k, "retry@example.com", DECLINED).await;
        assert_eq!(s.dunning_ladder, "2");
        anchor_on(&ctx, &s, "2027-01-31");
        assert_eq!(bill(&ctx, "2027-01-31").await.declined, 1);
        assert_eq!(reload(&ctx, &s).collect_on, Some(d("2027-02-02")));
        // The customer's account is funded again (the mandate now names an approved IBAN).
        let sealed = ctx.db.store.cipher().seal(IBAN_CONTEXT, APPROVED.as_bytes()).unwrap();
        exec(&ctx, &format!("UPDATE mandates SET iban_sealed = '{sealed}' WHERE id = '{}'", s.mandate_id));
        assert_eq!(bill(&ctx, "2027-02-02").await.approved, 1);
        let after = reload(&ctx, &s);
        assert_eq!((after.status.as_str(), after.dunning_attempts, after.periods_billed), ("ACTIVE", 0, 1));
        assert_eq!((after.next_billing_date, after.collect_on), (d("2027-02-28"), Some(d("2027-02-28"))));
        assert_eq!(renewals(&ctx, &s).iter().map(|t| t.billing_attempt.unwrap()).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(status_changes(&ctx), [("ACTIVE".to_owned(), "PAST_DUE".to_owned()), ("PAST_DUE".to_owned(), "ACTIVE".to_owned())]);
    }

    // The sandbox's renewal-retry IBAN (API.md §8): the first debit is approved, the first
    // renewal declined `AM04`, the dunning retry approved — the whole path on the sandbox.
    async fn the_sandbox_renewal_retry_iban_recovers_on_the_first_retry(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "rr@example.com", "DE71100000000000000205").await;
        let due = s.next_billing_date;
        let first = bill(&ctx, &due.to_string()).await;
        assert_eq!((first.collected, first.declined), (1, 1), "{first:?}");
        let failed = reload(&ctx, &s);
        let retry_on = due + chrono::Days::new(3);
        assert_eq!((failed.status.as_str(), failed.dunning_attempts, failed.collect_on), ("PAST_DUE", 1, Some(retry_on)));
        let [declined] = renewals(&ctx, &s).try_into().unwrap();
        assert_eq!((declined.error_code.as_deref(), declined.gateway_code.as_deref()), (Some("insufficient_funds"), Some("AM04")));

        let retry = bill(&ctx, &retry_on.to_string()).await;
        assert_eq!((retry.collected, retry.approved), (1, 1), "{retry:?}");
        let after = reload(&ctx, &s);
        assert_eq!((after.status.as_str(), after.dunning_attempts, after.periods_billed), ("ACTIVE", 0, 2));
        assert_eq!(renewals(&ctx, &s).iter().map(|t| (t.billing_period, t.billing_attempt, t.status)).collect::<Vec<_>>(),
                   [(Some(due), Some(1), TransactionStatus::Declined), (Some(due), Some(2), TransactionStatus::Approved)]);
    }

    async fn the_upcoming_notice_is_sent_once_n_days_before(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let k = campaign(&app, &demo, json!({"name": "Monthly", "price": "5.00", "currency": "EUR", "billing_type": "RECURRING", "billing_frequency": "MONTHLY"}),
                         json!({"prenotification_days": 3})).await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &k, "n@example.com", APPROVED).await;
        assert_eq!(s.notice_days, 3);
        anchor_on(&ctx, &s, "2027-01-31");
        exec(&ctx, &format!("UPDATE subscriptions SET notice_on = '2027-01-28' WHERE id = '{}'", s.id));
        assert_eq!(bill(&ctx, "2027-01-27").await.notices, 0);
        assert_eq!(bill(&ctx, "2027-01-28").await.notices, 1);
        assert_eq!(bill(&ctx, "2027-01-28").await.notices, 0, "exactly once");
        assert_eq!(bill(&ctx, "2027-01-30").await.notices, 0);
        let [notice] = payloads(&ctx, "subscription.upcoming").try_into().unwrap();
        assert_eq!((notice["subscription_id"].as_str(), notice["collect_on"].as_str(), notice["amount"].as_str(), notice["currency"].as_str()),
                   (Some(s.id.as_str()), Some("2027-01-31"), Some("5.00"), Some("EUR")));
        assert_eq!(notice["creditor_identifier"], "DE98ZZZ09999999999");
        assert!(notice["mandate_reference"].as_str().unwrap().starts_with("MAND-"), "{notice}");

        // After the renewal the next collection is announced 3 days before it.
        let report = bill(&ctx, "2027-01-31").await;
        assert_eq!((report.approved, report.notices), (1, 0));
        assert_eq!(reload(&ctx, &s).notice_on, Some(d("2027-02-25")));
        assert_eq!(bill(&ctx, "2027-02-25").await.notices, 1);
        assert_eq!(payloads(&ctx, "subscription.upcoming")[1]["collect_on"], "2027-02-28");
    }

    async fn cancel_at_period_end_ends_instead_of_collecting(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "c@example.com", APPROVED).await;
        let revoked = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "rv@example.com", APPROVED).await;
        anchor_on(&ctx, &s, "2027-01-31");
        anchor_on(&ctx, &revoked, "2027-01-31");
        exec(&ctx, &format!("UPDATE subscriptions SET cancel_at_period_end = TRUE WHERE id = '{}'", s.id));
        exec(&ctx, &format!("UPDATE mandates SET revoked_at = '2027-01-01 00:00:00' WHERE id = '{}'", revoked.mandate_id));

        let dry = run_once(&ctx.state, d("2027-01-31"), now(), true).await.unwrap();
        let mut actions: Vec<_> = dry.items.iter().map(|i| i.action).collect();
        actions.sort();
        assert_eq!(actions, ["cancel_at_period_end", "mandate_revoked"]);

        let report = bill(&ctx, "2027-01-31").await;
        assert_eq!((report.due, report.collected, report.cancelled), (2, 0, 2), "{report:?}");
        for sub in [&s, &revoked] {
            let after = reload(&ctx, sub);
            assert_eq!((after.status.as_str(), after.collect_on, after.notice_on), ("CANCELLED", None, None));
            assert!(after.ended_at.is_some());
            assert!(renewals(&ctx, sub).is_empty(), "nothing collected");
        }
        assert_eq!(status_changes(&ctx), vec![("ACTIVE".to_owned(), "CANCELLED".to_owned()); 2]);
    }

    async fn a_chargeback_on_a_renewal_ends_the_subscription(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "cb@example.com", APPROVED).await;
        anchor_on(&ctx, &s, "2027-01-31");
        bill(&ctx, "2027-01-31").await;
        let [t] = renewals(&ctx, &s).try_into().unwrap();
        let reason = Reason { code: Some("MD06"), description: Some("Disputed"), error_code: "chargeback" };
        let recorded = ctx.db.store.read(|c| catalyst_store::reversals::record_chargeback(c, &t.id, ReversalKind::Chargeback, &reason, now())).unwrap();
        assert!(recorded.is_some());
        let after = reload(&ctx, &s);
        assert_eq!((after.status.as_str(), after.collect_on, after.notice_on), ("CHARGEDBACK", None, None));
        assert_eq!(status_changes(&ctx), [("ACTIVE".to_owned(), "CHARGEDBACK".to_owned())]);
        assert_eq!(bill(&ctx, "2027-02-28").await.due, 0);
    }

    async fn a_dry_run_lists_and_writes_nothing(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "dry@example.com", APPROVED).await;
        anchor_on(&ctx, &s, "2027-01-31");
        exec(&ctx, &format!("UPDATE subscriptions SET notice_on = '2027-01-26' WHERE id = '{}'", s.id));
        let (transactions, events) = (ctx.count("transactions"), ctx.count("webhook_events"));
        let report = run_once(&ctx.state, d("2027-01-31"), now(), true).await.unwrap();
        assert!(report.dry_run);
        assert_eq!((report.due, report.collected, report.notices), (1, 0, 1));
        let actions: Vec<_> = report.items.iter().map(|i| (i.action, i.billing_period.to_string(), i.amount.as_str())).collect();
        assert_eq!(actions, [("notice", "2027-01-31".to_owned(), "9.99"), ("collect", "2027-01-31".to_owned(), "9.99")]);
        assert_eq!((ctx.count("transactions"), ctx.count("webhook_events")), (transactions, events));
        let after = reload(&ctx, &s);
        assert_eq!((after.notice_on, after.collect_on, after.periods_billed), (Some(d("2027-01-26")), Some(d("2027-01-31")), 0));
    }

    async fn a_claimed_renewal_is_finished_by_recovery_and_not_collected_twice(ctx) {
        use catalyst_api::collect::{self, Collection};
        use catalyst_api::recovery::{self, RecoveryPolicy};
        let demo = ctx.demo();
        let app = ctx.app().await;
        let submitted = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "crash1@example.com", APPROVED).await;
        let lost = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, "crash2@example.com", APPROVED).await;
        anchor_on(&ctx, &submitted, "2027-01-31");
        anchor_on(&ctx, &lost, "2027-01-31");
        let at = now();
        let claim = |s: &Subscription| match ctx.db.store.read(|c| billing::claim_renewal(c, &s.id, d("2027-01-31"), at)).unwrap() {
            Claim::Collect(c) => c,
            other => panic!("not claimed: {other:?}"),
        };
        // One renewal reached the gateway and the process died before the answer was applied;
        // the other was claimed and the process died before the gateway call.
        let first = claim(&submitted);
        let collection = Collection { gateway: &first.gateway, mandate: &first.mandate, lead: &first.lead, transaction: &first.transaction, usage: "test" };
        collect::submit(&ctx.state, &collection).await.unwrap();
        claim(&lost);
        assert!(matches!(ctx.db.store.read(|c| billing::claim_renewal(c, &lost.id, d("2027-01-31"), at)).unwrap(), Claim::Skipped), "claimed once");

        let report = bill(&ctx, "2027-01-31").await;
        assert_eq!((report.due, report.collected), (0, 0), "a renewal in flight is not collected again");

        let policy = RecoveryPolicy { not_found_checks: 1, ..Default::default() };
        assert_eq!(recovery::run_once(&ctx.state, &policy, at + policy.grace + chrono::Duration::seconds(1)).await.unwrap(), 2);
        let [t] = renewals(&ctx, &submitted).try_into().unwrap();
        assert_eq!(t.status, TransactionStatus::Approved);
        let after = reload(&ctx, &submitted);
        assert_eq!((after.periods_billed, after.collect_on), (1, Some(d("2027-02-28"))));
        let [t] = renewals(&ctx, &lost).try_into().unwrap();
        assert_eq!((t.status.as_str(), t.error_code.as_deref(), t.counts_as_attempt), ("declined", Some("gateway_unavailable"), false));
        let after = reload(&ctx, &lost);
        assert_eq!((after.status.as_str(), after.dunning_attempts, after.collect_on), ("ACTIVE", 0, Some(d("2027-02-01"))), "retried the next day, no dunning step");

        assert_eq!(bill(&ctx, "2027-01-31").await.collected, 0);
        let report = bill(&ctx, "2027-02-01").await;
        assert_eq!((report.collected, report.approved), (1, 1), "{report:?}");
        let attempts: Vec<_> = renewals(&ctx, &lost).iter().map(|t| (t.billing_attempt.unwrap(), t.status)).collect();
        assert_eq!(attempts, [(1, TransactionStatus::Declined), (2, TransactionStatus::Approved)]);
        assert_eq!(count(&ctx, &format!("SELECT COUNT(*) AS n FROM transactions WHERE subscription_id = '{}' AND status = 'approved'", submitted.id)), 1);
    }

    async fn two_concurrent_runs_collect_each_period_exactly_once(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let mut subs = Vec::new();
        for i in 0..20 {
            let s = subscribe(&ctx, &app, &demo.restricted_key, &demo.recurring_campaign_id, &format!("x{i}@example.com"), APPROVED).await;
            anchor_on(&ctx, &s, "2027-01-31");
            subs.push(s);
        }
        let other = catalyst_api::AppState::new(ctx.db.store.clone(), catalyst_api::ApiConfig::new(BASE));
        let runs: Vec<_> = [ctx.state.clone(), other]
            .into_iter()
            .map(|state| std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move { run_once(&state, d("2027-01-31"), now(), false).await.unwrap() })
            }))
            .collect();
        let reports: Vec<RunReport> = runs.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(reports.iter().map(|r| r.collected).sum::<usize>(), 20, "{reports:?}");
        assert_eq!(count(&ctx, "SELECT COUNT(*) AS n FROM transactions WHERE subscription_id IS NOT NULL"), 20);
        assert_eq!(count(&ctx, "SELECT COUNT(*) AS n FROM (SELECT DISTINCT subscription_id, billing_period FROM transactions WHERE subscription_id IS NOT NULL) p"), 20);
        for s in &subs {
            assert_eq!(reload(&ctx, s).periods_billed, 1);
        }
        assert_eq!(payloads(&ctx, "subscription.renewed").len(), 20);
    }

    async fn campaigns_take_a_dunning_ladder_and_a_notice(ctx) {
        let demo = ctx.demo();
        let app = ctx.app().await;
        let sk = demo.secret_key.as_str();
        let (_, _, plain) = send(&app, get(&format!("/api/v1/campaigns/{}/", demo.recurring_campaign_id)).auth(sk)).await;
        assert_eq!((plain["dunning_ladder"].clone(), plain["prenotification_days"].clone()), (json!([3, 5, 7]), json!(5)), "the defaults");
        let k = campaign(&app, &demo, trial_offer(), json!({"dunning_ladder": [2, 4], "prenotification_days": 10})).await;
        let path = format!("/api/v1/campaigns/{k}/");
        let (_, _, got) = send(&app, get(&path).auth(sk)).await;
        assert_eq!((got["dunning_ladder"].clone(), got["prenotification_days"].clone()), (json!([2, 4]), json!(10)));
        let s = subscribe(&ctx, &app, &demo.restricted_key, &k, "plan@example.com", APPROVED).await;
        assert_eq!((s.dunning_ladder.as_str(), s.notice_days), ("2,4", 10), "copied to new subscriptions");

        let (status, _, patched) = send(&app, patch(&path, json!({"dunning_ladder": [], "prenotification_days": 0})).auth(sk)).await;
        assert_eq!((status, patched["dunning_ladder"].clone(), patched["prenotification_days"].clone()), (StatusCode::OK, json!([]), json!(0)));
        let (_, _, reset) = send(&app, patch(&path, json!({"dunning_ladder": null, "prenotification_days": null})).auth(sk)).await;
        assert_eq!((reset["dunning_ladder"].clone(), reset["prenotification_days"].clone()), (json!([3, 5, 7]), json!(5)));

        for (body, field) in [
            (json!({"dunning_ladder": "3,5,7"}), "dunning_ladder"),
            (json!({"dunning_ladder": [0]}), "dunning_ladder"),
            (json!({"dunning_ladder": [61]}), "dunning_ladder"),
            (json!({"dunning_ladder": [3.5]}), "dunning_ladder"),
            (json!({"dunning_ladder": [-1]}), "dunning_ladder"),
            (json!({"dunning_ladder": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}), "dunning_ladder"),
            (json!({"prenotification_days": 61}), "prenotification_days"),
            (json!({"prenotification_days": -1}), "prenotification_days"),
        ] {
            let (status, _, err) = send(&app, patch(&path, body.clone()).auth(sk)).await;
            assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("validation_error")), "{body}: {err}");
            assert!(err["errors"][field][0].is_string(), "{body}: {err}");
        }
        let (_, _, unchanged) = send(&app, get(&path).auth(sk)).await;
        assert_eq!(unchanged["dunning_ladder"], json!([3, 5, 7]));
    }
}
