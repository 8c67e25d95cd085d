//! The webhook outbox on both backends: emission in the change's transaction, claiming under a
//! lease (disjoint between concurrent workers), attempts, retries, failure and redelivery.

mod common;

use catalyst_domain::DuplicatePolicy;
use catalyst_store::outbox::{self, AttemptRecord, WebhookDelivery};
use catalyst_store::*;
use chrono::Duration;
use common::*;
use serde_json::json;

fn count(store: &Store, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = store.conn().unwrap();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut *conn)
        .unwrap()
        .n
}

test_both! {
    fn events_fan_out_to_subscribed_active_endpoints(db) {
        let t = tenant(&db.store);
        let (profile, _) = profile_with_endpoints(&db.store, &t.id, &[None, Some("payment_session.completed"), Some("order.created")]);
        emit(&db.store, &t.id, Some(&profile.id), "payment_session.completed");
        emit(&db.store, &t.id, None, "payment_session.completed");
        assert_eq!(count(&db.store, "webhook_events"), 2, "events without a profile are still recorded");
        assert_eq!(count(&db.store, "webhook_deliveries"), 2, "the all-events endpoint and the subscribed one");
        let due = db.store.read(|c| outbox::claim_due(c, now(), Duration::seconds(30), 10)).unwrap();
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].event.default_payload().unwrap(), json!({"k": "v"}));
        assert_eq!(due[0].event.variables().unwrap()["lead"]["email"], "a@b.c");
    }

    fn concurrent_workers_claim_disjoint_deliveries_and_leases_expire(db) {
        let t = tenant(&db.store);
        let (profile, _) = profile_with_endpoints(&db.store, &t.id, &[None]);
        for _ in 0..40 {
            emit(&db.store, &t.id, Some(&profile.id), "order.created");
        }
        let at = now();
        let claimed: Vec<Vec<catalyst_domain::DeliveryId>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| db.store.read(|c| outbox::claim_due(c, at, Duration::seconds(30), 15)).unwrap().into_iter().map(|d| d.delivery.id).collect::<Vec<_>>()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let mut all: Vec<catalyst_domain::DeliveryId> = claimed.concat();
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!((all.len(), total), (40, 40), "every due delivery claimed exactly once: {:?}", claimed.iter().map(Vec::len).collect::<Vec<_>>());
        // Leased rows are not handed out again until the lease runs out (a crashed worker).
        assert!(db.store.read(|c| outbox::claim_due(c, at + Duration::seconds(29), Duration::seconds(30), 100)).unwrap().is_empty());
        assert_eq!(db.store.read(|c| outbox::claim_due(c, at + Duration::seconds(31), Duration::seconds(30), 100)).unwrap().len(), 40);
    }

    fn attempts_retry_then_fail_and_redelivery_requeues(db) {
        let t = tenant(&db.store);
        let (profile, _) = profile_with_endpoints(&db.store, &t.id, &[None]);
        emit(&db.store, &t.id, Some(&profile.id), "order.created");
        let at = now();
        let d = db.store.read(|c| outbox::claim_due(c, at, Duration::seconds(30), 1)).unwrap().remove(0).delivery;
        let failed = AttemptRecord { status_code: Some(500), latency_ms: 12, error: None, success: false };
        let retry = db.store.read(|c| outbox::record_attempt(c, &d.id, &failed, Some(at + Duration::minutes(1)), at)).unwrap();
        assert_eq!((retry.status.as_str(), retry.attempts, retry.last_status_code), ("pending", 1, Some(500)));
        assert!(db.store.read(|c| outbox::claim_due(c, at, Duration::seconds(30), 1)).unwrap().is_empty(), "not due before the retry time");
        let again = db.store.read(|c| outbox::claim_due(c, at + Duration::minutes(1), Duration::seconds(30), 1)).unwrap();
        assert_eq!(again.len(), 1);
        let refused = AttemptRecord { status_code: None, latency_ms: 10_000, error: Some("timeout".into()), success: false };
        let dead = db.store.read(|c| outbox::record_attempt(c, &d.id, &refused, None, at)).unwrap();
        assert_eq!((dead.status.as_str(), dead.attempts, dead.last_error.as_deref()), ("failed", 2, Some("timeout")));
        let attempts = db.store.read(|c| dead.attempts(c)).unwrap();
        assert_eq!(attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), vec![Some(500), None]);
        let requeued = db.store.read(|c| outbox::redeliver(c, &t.id, &d.id, at)).unwrap();
        assert_eq!((requeued.status.as_str(), requeued.attempts), ("pending", 0));
        let ok = AttemptRecord { status_code: Some(204), latency_ms: 3, error: None, success: true };
        let done = db.store.read(|c| outbox::record_attempt(c, &d.id, &ok, None, at)).unwrap();
        assert_eq!((done.status.as_str(), done.delivered_at.is_some()), ("delivered", true));
        let other = tenant(&db.store);
        assert!(matches!(db.store.read(|c| outbox::redeliver(c, &other.id, &d.id, at)), Err(StoreError::NotFound)));
    }

    fn a_change_that_rolls_back_leaves_no_event(db) {
        let t = tenant(&db.store);
        let (profile, _) = profile_with_endpoints(&db.store, &t.id, &[None]);
        let g = gateway(&db.store, &t.id, "gw");
        let mut s = session(&t.id, &g.id, Duration::hours(1));
        s.webhook_profile_id = Some(profile.id.clone());
        let mut conn = db.store.conn().unwrap();
        catalyst_store::checkout::create_session(&mut conn, lead(&t.id, "a@example.com"), DuplicatePolicy::Allow, s, order(&t.id, &order_number()), order_number).unwrap();
        assert_eq!((count(&db.store, "webhook_events"), count(&db.store, "webhook_deliveries")), (1, 1), "order.created");
        // A session naming a missing gateway fails after the lead insert: no event survives.
        let mut bad = session(&t.id, &id(), Duration::hours(1));
        bad.webhook_profile_id = Some(profile.id.clone());
        assert!(catalyst_store::checkout::create_session(&mut conn, lead(&t.id, "b@example.com"), DuplicatePolicy::Allow, bad, order(&t.id, &order_number()), order_number).is_err());
        assert_eq!((count(&db.store, "webhook_events"), count(&db.store, "webhook_deliveries")), (1, 1));
    }

    fn the_claim_cancels_deliveries_of_inactive_endpoints_and_profiles(db) {
        // Queued, then the endpoint or profile went inactive without the deactivation's own
        // cancel (a transaction that raced it): the claim must not send them, and says why.
        use diesel::prelude::*;
        use catalyst_store::schema::{webhook_endpoints, webhook_profiles};
        let t = tenant(&db.store);
        let (gone, endpoints) = profile_with_endpoints(&db.store, &t.id, &[None]);
        let (kept, kept_endpoints) = profile_with_endpoints(&db.store, &t.id, &[None, None]);
        emit(&db.store, &t.id, Some(&gone.id), "order.created");
        emit(&db.store, &t.id, Some(&kept.id), "order.created");
        db.store.write(|c| {
            diesel::update(webhook_profiles::table.find(&gone.id)).set(webhook_profiles::active.eq(false)).execute(c)?;
            diesel::update(webhook_endpoints::table.find(&kept_endpoints[0].id)).set(webhook_endpoints::active.eq(false)).execute(c)?;
            Ok::<_, StoreError>(())
        }).unwrap();
        // A batch of one: the inactive deliveries come first and must not use up the claim.
        let due = db.store.read(|c| outbox::claim_due(c, now(), Duration::seconds(30), 1)).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].endpoint.id, kept_endpoints[1].id);
        let all = db.store.read(|c| WebhookDelivery::page_filtered(c, &t.id, Some(catalyst_domain::webhook::DeliveryStatus::Cancelled), None, &PageRequest { size: 50, cursor: None })).unwrap();
        let mut reasons: Vec<(String, Option<String>)> = all.items.iter().map(|(d, _)| (d.endpoint_id.to_string(), d.last_error.clone())).collect();
        reasons.sort();
        let mut expected = vec![
            (endpoints[0].id.to_string(), Some(outbox::CANCELLED_PROFILE_INACTIVE.to_owned())),
            (kept_endpoints[0].id.to_string(), Some(outbox::CANCELLED_ENDPOINT_INACTIVE.to_owned())),
        ];
        expected.sort();
        assert_eq!(reasons, expected);
        assert!(all.items.iter().all(|(d, _)| d.lease_until.is_none() && d.attempts == 0));
        assert!(db.store.read(|c| outbox::claim_due(c, now(), Duration::seconds(30), 10)).unwrap().is_empty(), "nothing else is due");
    }

    fn deactivation_cancels_pending_deliveries_and_a_late_attempt_keeps_them_cancelled(db) {
        let t = tenant(&db.store);
        let (profile, endpoints) = profile_with_endpoints(&db.store, &t.id, &[None, None]);
        let (other, _) = profile_with_endpoints(&db.store, &t.id, &[None]);
        emit(&db.store, &t.id, Some(&profile.id), "order.created");
        emit(&db.store, &t.id, Some(&other.id), "order.created");
        // One delivery is being sent while its endpoint is deactivated.
        let at = now();
        let sending = db.store.read(|c| outbox::claim_due(c, at, Duration::seconds(30), 1)).unwrap().remove(0).delivery;
        assert_eq!(sending.endpoint_id, endpoints[0].id);
        let n = db.store.write(|c| outbox::cancel_pending_of_endpoint(c, &endpoints[0].id, at)).unwrap();
        assert_eq!(n, 1);
        let failed = AttemptRecord { status_code: Some(500), latency_ms: 5, error: None, success: false };
        let after = db.store.read(|c| outbox::record_attempt(c, &sending.id, &failed, Some(at + Duration::minutes(1)), at)).unwrap();
        assert_eq!((after.status.as_str(), after.attempts), ("cancelled", 1), "no retry after a cancellation");
        assert_eq!(db.store.write(|c| outbox::cancel_pending_of_profile(c, &profile.id, at)).unwrap(), 1);
        let due = db.store.read(|c| outbox::claim_due(c, at + Duration::hours(1), Duration::seconds(30), 10)).unwrap();
        assert_eq!(due.iter().map(|d| d.profile.id.as_str()).collect::<Vec<_>>(), [other.id.as_str()], "the other profile's delivery only");
    }
}
