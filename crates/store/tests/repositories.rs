//! Repository behaviour, each test on SQLite and on PostgreSQL.

mod common;

use catalyst_domain::DuplicatePolicy;
use catalyst_domain::status::OrderStatus;
use catalyst_domain::status::SessionStatus;
use catalyst_store::checkout::CreateSessionError;
use catalyst_store::idempotency::{self, IdempotencyStart};
use catalyst_store::sessions::{self};
use catalyst_store::*;
use chrono::Duration;
use common::*;

fn create(
    store: &Store,
    lead_row: Lead,
    policy: DuplicatePolicy,
    gw: &str,
) -> Result<CreatedSession, CreateSessionError> {
    let tenant = lead_row.tenant_id.clone();
    let s = session(&tenant, gw, Duration::hours(1));
    let o = order(&tenant, &order_number());
    let mut conn = store.conn().unwrap();
    catalyst_store::checkout::create_session(&mut conn, lead_row, policy, s, o, order_number)
}

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
    fn api_keys_are_found_by_hash_only_while_active(db) {
        let t = tenant(&db.store);
        let mut key = ApiKey {
            id: id().into(), tenant_id: t.id.clone(), kind: "secret".into(), name: Some("ci".into()),
            key_hash: "ab".repeat(32), key_prefix: "sk_0123456".into(), active: true,
            created_at: now(), updated_at: now(),
        };
        db.store.write(|c| key.insert(c)).unwrap();
        let found = db.store.read(|c| ApiKey::find_active_by_hash(c, &key.key_hash)).unwrap().unwrap();
        assert_eq!((found.id.as_str(), found.tenant_id.as_str()), (key.id.as_str(), t.id.as_str()));
        key.active = false;
        db.store.write(|c| key.save(c)).unwrap();
        assert!(db.store.read(|c| ApiKey::find_active_by_hash(c, &key.key_hash)).unwrap().is_none());
        let duplicate = ApiKey { id: id().into(), ..key.clone() };
        assert!(matches!(db.store.write(|c| duplicate.insert(c)), Err(StoreError::Conflict(_))));
    }

    fn rows_of_another_tenant_are_not_found(db) {
        let (a, b) = (tenant(&db.store), tenant(&db.store));
        let g = gateway(&db.store, &a.id, "main");
        assert_eq!(db.store.read(|c| Gateway::find(c, &a.id, &g.id)).unwrap().name, "main");
        assert!(matches!(db.store.read(|c| Gateway::find(c, &b.id, &g.id)), Err(StoreError::NotFound)));
        let page = db.store.read(|c| Gateway::page(c, &b.id, &PageRequest { size: 10, cursor: None })).unwrap();
        assert!(page.items.is_empty());
    }

    fn keyset_pages_walk_forward_and_back_without_gaps(db) {
        let t = tenant(&db.store);
        let ids: Vec<catalyst_domain::GatewayId> = (0..25).map(|i| gateway(&db.store, &t.id, &format!("g{i}")).id).collect();
        let newest_first: Vec<catalyst_domain::GatewayId> = ids.iter().rev().cloned().collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = Vec::new();
        loop {
            let page = db.store.read(|c| Gateway::page(c, &t.id, &PageRequest { size: 10, cursor: cursor.clone() })).unwrap();
            assert_eq!(page.previous.is_some(), cursor.is_some());
            seen.extend(page.items.iter().map(|g| g.id.clone()));
            pages.push(page.items.iter().map(|g| g.id.clone()).collect::<Vec<_>>());
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, newest_first);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
        // From the last page, `previous` leads back to the second page exactly.
        let last = db.store.read(|c| Gateway::page(c, &t.id, &PageRequest { size: 10, cursor: cursor.clone() })).unwrap();
        let back = db.store.read(|c| Gateway::page(c, &t.id, &PageRequest { size: 10, cursor: last.previous.clone() })).unwrap();
        assert_eq!(back.items.iter().map(|g| g.id.clone()).collect::<Vec<_>>(), pages[1]);
        assert!(back.previous.is_some() && back.next.is_some());
    }

    fn reuse_policy_attaches_to_the_existing_lead_and_fills_empty_fields(db) {
        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "gw");
        let first = create(&db.store, lead(&t.id, "ada@example.com"), DuplicatePolicy::Reuse, &g.id).unwrap();
        let mut again = lead(&t.id, "ADA@example.com");
        again.phone = Some("+4930123456".into());
        let second = create(&db.store, again, DuplicatePolicy::Reuse, &g.id).unwrap();
        assert_eq!(second.lead.id, first.lead.id);
        assert_eq!(second.session.lead_id, first.lead.id);
        let stored = db.store.read(|c| Lead::find(c, &t.id, &first.lead.id)).unwrap();
        assert_eq!(stored.phone.as_deref(), Some("+4930123456"));
        assert_eq!(count(&db.store, "leads"), 1);
        let allowed = create(&db.store, lead(&t.id, "ada@example.com"), DuplicatePolicy::Allow, &g.id).unwrap();
        assert_ne!(allowed.lead.id, first.lead.id);
        assert_eq!(count(&db.store, "leads"), 2);
    }

    fn a_reused_lead_s_stored_fields_stay_out_of_another_request_s_session(db) {
        // Someone else's request with Ada's e-mail links Ada's lead (REUSE) but its session,
        // its events and its payment present what that request sent, never Ada's stored name.
        use diesel::prelude::*;
        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "gw");
        let (profile, _) = profile_with_endpoints(&db.store, &t.id, &[None]);
        let ada = create(&db.store, lead(&t.id, "ada@example.com"), DuplicatePolicy::Reuse, &g.id).unwrap();
        let mut mallory = lead(&t.id, "ADA@example.com");
        (mallory.first_name, mallory.last_name, mallory.country) = ("Mallory".into(), "Intruder".into(), "FR".into());
        mallory.city = Some("Lyon".into());
        let mut s = session(&t.id, &g.id, Duration::hours(1));
        s.webhook_profile_id = Some(profile.id.clone());
        let mut conn = db.store.conn().unwrap();
        let second = catalyst_store::checkout::create_session(&mut conn, mallory, DuplicatePolicy::Reuse, s, order(&t.id, &order_number()), order_number).unwrap();
        assert_eq!(second.session.lead_id, ada.lead.id, "reuse links the lead");
        let payer = SessionPayer::of_session(&mut conn, &second.session.id).unwrap();
        assert_eq!(payer, second.payer);
        assert_eq!((payer.first_name.as_str(), payer.last_name.as_str(), payer.email.as_str(), payer.country.as_str()),
                   ("Mallory", "Intruder", "ADA@example.com", "FR"));
        assert_eq!(SessionPayer::of_session(&mut conn, &ada.session.id).unwrap().first_name, "Ada");
        // order.created: payload and payload_mapping variables are the request's.
        let payload: String = catalyst_store::schema::webhook_events::table
            .filter(catalyst_store::schema::webhook_events::profile_id.eq(&profile.id))
            .select(catalyst_store::schema::webhook_events::payload)
            .first(&mut *conn)
            .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(payload["default"]["email"], "ADA@example.com");
        assert_eq!(payload["context"]["lead"]["id"], ada.lead.id.as_str());
        assert_eq!((payload["context"]["lead"]["first_name"].as_str(), payload["context"]["lead"]["last_name"].as_str()),
                   (Some("Mallory"), Some("Intruder")));
        // The claim hands the payment (the gateway's debit request) the request's payer too.
        let claimed = catalyst_store::session_pay::claim_for_payment(&mut conn, &second.session.token, now(), |_, _, l| {
            assert_eq!((l.id.as_str(), l.first_name.as_str(), l.city.as_deref()), (ada.lead.id.as_str(), "Mallory", Some("Lyon")));
            Err(StoreError::Conflict("stop here"))
        });
        assert!(matches!(claimed, Err(catalyst_store::session_pay::ClaimError::Store(StoreError::Conflict("stop here")))));
        let presented = sessions::lead_of_session(&mut conn, &second.session).unwrap();
        assert_eq!((presented.id, presented.first_name, presented.last_name), (ada.lead.id.clone(), "Mallory".into(), "Intruder".into()));
        let stored = Lead::find(&mut conn, &t.id, &ada.lead.id).unwrap();
        assert_eq!((stored.first_name.as_str(), stored.last_name.as_str()), ("Ada", "Lovelace"), "the stored lead keeps its own name");
    }

    fn reject_policy_refuses_a_lead_with_a_paid_order_and_writes_nothing(db) {
        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "gw");
        let first = create(&db.store, lead(&t.id, "bob@example.com"), DuplicatePolicy::Reject, &g.id).unwrap();
        // No paid order yet: a second session is allowed (and reuses the lead).
        let second = create(&db.store, lead(&t.id, "bob@example.com"), DuplicatePolicy::Reject, &g.id).unwrap();
        assert_eq!(second.lead.id, first.lead.id);
        let mut paid = first.order.clone();
        paid.status = OrderStatus::Completed;
        db.store.write(|c| paid.save(c)).unwrap();
        let before = (count(&db.store, "leads"), count(&db.store, "payment_sessions"), count(&db.store, "orders"));
        let err = create(&db.store, lead(&t.id, "Bob@Example.com"), DuplicatePolicy::Reject, &g.id).unwrap_err();
        assert!(matches!(err, CreateSessionError::DuplicateLead), "{err:?}");
        let after = (count(&db.store, "leads"), count(&db.store, "payment_sessions"), count(&db.store, "orders"));
        assert_eq!(before, after);
    }

    fn a_failing_step_leaves_nothing_half_written(db) {
        let t = tenant(&db.store);
        // The session names a gateway that does not exist: the foreign key fails after the lead insert.
        let err = create(&db.store, lead(&t.id, "eve@example.com"), DuplicatePolicy::Allow, &id()).unwrap_err();
        assert!(matches!(err, CreateSessionError::Store(_)), "{err:?}");
        assert_eq!((count(&db.store, "leads"), count(&db.store, "payment_sessions"), count(&db.store, "orders")), (0, 0, 0));
    }

    fn colliding_order_numbers_are_redrawn(db) {
        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "gw");
        let first = create(&db.store, lead(&t.id, "a@example.com"), DuplicatePolicy::Allow, &g.id).unwrap();
        let s = session(&t.id, &g.id, Duration::hours(1));
        let o = order(&t.id, &first.order.order_number);
        let mut conn = db.store.conn().unwrap();
        let second = catalyst_store::checkout::create_session(&mut conn, lead(&t.id, "b@example.com"), DuplicatePolicy::Allow, s, o, || "ORD-FRESH001".into()).unwrap();
        assert_eq!(second.order.order_number, "ORD-FRESH001");
        let stored = Order::find_by_session(&mut conn, &second.session.id).unwrap();
        assert_eq!(stored.order_number, "ORD-FRESH001");
    }

    fn due_sessions_expire_and_their_orders_are_cancelled(db) {
        let t = tenant(&db.store);
        let g = gateway(&db.store, &t.id, "gw");
        let due = create(&db.store, lead(&t.id, "a@example.com"), DuplicatePolicy::Allow, &g.id).unwrap();
        let fresh = create(&db.store, lead(&t.id, "b@example.com"), DuplicatePolicy::Allow, &g.id).unwrap();
        let later = now() + Duration::minutes(90);
        // Only `due` is moved into the past relative to `later`; `fresh` gets a longer life.
        let mut long = fresh.session.clone();
        long.expires_at = now() + Duration::hours(5);
        db.store.write(|c| long.save(c)).unwrap();
        let n = db.store.read(|c| catalyst_store::checkout::expire_due_sessions(c, later, 100)).unwrap();
        assert_eq!(n, 1);
        let s = db.store.read(|c| PaymentSession::find_by_token(c, &due.session.token)).unwrap();
        assert_eq!((s.status.as_str(), s.version), ("EXPIRED", 1));
        assert_eq!(db.store.read(|c| Order::find_by_session(c, &due.session.id)).unwrap().status, OrderStatus::Cancelled);
        assert_eq!(db.store.read(|c| PaymentSession::find_by_token(c, &fresh.session.token)).unwrap().status, SessionStatus::Pending);
        // Expiring an already-expired session changes nothing.
        assert!(!db.store.read(|c| catalyst_store::checkout::expire_session(c, &due.session.id, later)).unwrap());
        assert_eq!(db.store.read(|c| catalyst_store::checkout::expire_due_sessions(c, later, 100)).unwrap(), 0);
    }

    fn idempotency_keys_replay_detect_reuse_and_expire(db) {
        let t = tenant(&db.store);
        let t0 = now();
        let begin = |fp: &str, at| db.store.read(|c| idempotency::begin(c, &t.id, "key-1", fp, at)).unwrap();
        assert_eq!(begin("fp-a", t0), IdempotencyStart::Proceed);
        assert_eq!(begin("fp-a", t0), IdempotencyStart::InUse);
        db.store.read(|c| idempotency::complete(c, &t.id, "key-1", 201, "{\"ok\":1}")).unwrap();
        assert_eq!(begin("fp-a", t0), IdempotencyStart::Replay { status: 201, body: "{\"ok\":1}".into() });
        assert_eq!(begin("fp-b", t0), IdempotencyStart::Reused);
        assert_eq!(begin("fp-b", t0 + idempotency::RETENTION), IdempotencyStart::Proceed);
        db.store.read(|c| idempotency::release(c, &t.id, "key-1")).unwrap();
        assert_eq!(begin("fp-c", t0), IdempotencyStart::Proceed);
    }

    fn concurrent_first_uses_of_a_key_let_exactly_one_through(db) {
        let t = tenant(&db.store);
        let at = now();
        let outcomes: Vec<IdempotencyStart> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| db.store.read(|c| idempotency::begin(c, &t.id, "race", "fp", at)).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|o| **o == IdempotencyStart::Proceed).count(), 1, "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, IdempotencyStart::Proceed | IdempotencyStart::InUse)));
    }

    fn a_key_whose_request_died_is_free_again_after_the_lease(db) {
        let t = tenant(&db.store);
        let t0 = now();
        let begin = |fp: &str, at| db.store.read(|c| idempotency::begin(c, &t.id, "died", fp, at)).unwrap();
        assert_eq!(begin("fp-a", t0), IdempotencyStart::Proceed);
        let just_before = t0 + idempotency::IN_USE_LEASE - Duration::seconds(1);
        assert_eq!(begin("fp-a", just_before), IdempotencyStart::InUse);
        let after = t0 + idempotency::IN_USE_LEASE;
        assert_eq!(begin("fp-a", after), IdempotencyStart::Proceed, "the retry takes the key over");
        assert_eq!(begin("fp-a", after), IdempotencyStart::InUse, "and holds it for its own lease");
        db.store.read(|c| idempotency::complete(c, &t.id, "died", 201, "{}")).unwrap();
        // A stored answer is replayed for the whole retention, lease or not.
        let later = after + idempotency::IN_USE_LEASE * 10;
        assert_eq!(begin("fp-a", later), IdempotencyStart::Replay { status: 201, body: "{}".into() });
    }

    fn concurrent_retries_of_an_abandoned_key_let_exactly_one_through(db) {
        let t = tenant(&db.store);
        let t0 = now();
        assert_eq!(db.store.read(|c| idempotency::begin(c, &t.id, "race", "fp", t0)).unwrap(), IdempotencyStart::Proceed);
        let at = t0 + idempotency::IN_USE_LEASE;
        let outcomes: Vec<IdempotencyStart> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| db.store.read(|c| idempotency::begin(c, &t.id, "race", "fp", at)).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|o| **o == IdempotencyStart::Proceed).count(), 1, "{outcomes:?}");
    }

    fn timestamps_round_trip_to_the_microsecond(db) {
        let t = tenant(&db.store);
        let stored = db.store.read(|c| Tenant::find(c, &t.id)).unwrap();
        assert_eq!(stored.created_at, t.created_at);
        assert_eq!(stored.created_at.and_utc().timestamp_subsec_nanos() % 1000, 0);
    }

    fn sealed_credentials_open_only_with_the_store_key(db) {
        let t = tenant(&db.store);
        let mut g = gateway(&db.store, &t.id, "emp");
        g.credentials_sealed = Some(db.store.cipher().seal("gateway.credentials", b"{\"password\":\"hunter2\"}").unwrap());
        db.store.write(|c| g.save(c)).unwrap();
        let stored = db.store.read(|c| Gateway::find(c, &t.id, &g.id)).unwrap();
        let sealed = stored.credentials_sealed.unwrap();
        assert!(!sealed.contains("hunter2"));
        let plain = db.store.cipher().open("gateway.credentials", &sealed).unwrap();
        assert_eq!(plain, b"{\"password\":\"hunter2\"}");
    }
}

/// Kills every other backend of the store's database, through a connection of the pool.
fn kill_pool_backends(db: &catalyst_store::test_support::TestDb) {
    use diesel::prelude::*;
    let held: Vec<_> = (0..3).map(|_| db.store.conn().unwrap()).collect();
    drop(held);
    let mut admin = db.store.conn().unwrap();
    let killed: Vec<bool> = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
        "pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    ))
    .load(&mut *admin)
    .unwrap();
    assert!(!killed.is_empty(), "the pool had other connections to kill");
}

/// PostgreSQL restarts (here: every connection of the pool killed server-side) must not leave
/// dead connections in service: a request already on a dead connection fails as "unavailable",
/// and that failure makes the pool check every connection before its next use.
#[test]
fn killed_postgres_connections_are_replaced_after_the_first_failure() {
    let Some(db) = catalyst_store::test_support::TestDb::postgres() else {
        return;
    };
    let t = tenant(&db.store);
    kill_pool_backends(&db);
    // Take every connection of the pool at once, so the killed ones are handed out too.
    let mut all: Vec<_> = (0..4).map(|_| db.store.conn().unwrap()).collect();
    for conn in &mut all {
        match Tenant::find(conn, &t.id) {
            Ok(found) => assert_eq!(found.name, "Acme"),
            Err(e) => assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}"),
        }
    }
    drop(all);
    let mut all: Vec<_> = (0..4).map(|_| db.store.conn().unwrap()).collect();
    for conn in &mut all {
        assert_eq!(Tenant::find(conn, &t.id).unwrap().name, "Acme");
    }
}

/// Connections idle for longer than the bypass window are checked on checkout, so after a
/// restart in a quiet moment no request fails at all.
#[test]
fn idle_postgres_connections_are_checked_before_use() {
    let Some(db) = catalyst_store::test_support::TestDb::postgres() else {
        return;
    };
    let t = tenant(&db.store);
    kill_pool_backends(&db);
    std::thread::sleep(
        catalyst_store::CHECKOUT_CHECK_AFTER + std::time::Duration::from_millis(100),
    );
    let mut all: Vec<_> = (0..4).map(|_| db.store.conn().unwrap()).collect();
    for conn in &mut all {
        assert_eq!(Tenant::find(conn, &t.id).unwrap().name, "Acme");
    }
}

/// Row UPDATEs run as cached prepared statements (diesel leaves UPDATEs unprepared by default):
/// saving a row twice on one connection prepares its UPDATE once and reuses it.
#[test]
fn row_updates_are_prepared_once_per_connection() {
    use diesel::prelude::*;
    let Some(db) = catalyst_store::test_support::TestDb::postgres() else {
        return;
    };
    let t = tenant(&db.store);
    let mut g = gateway(&db.store, &t.id, "sandbox");
    let mut conn = db.store.conn().unwrap();
    let prepared_updates = |conn: &mut DbConnection| -> i64 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "count(*) FROM pg_prepared_statements WHERE statement LIKE 'UPDATE \"gateways\"%'",
        ))
        .get_result(conn)
        .unwrap()
    };
    assert_eq!(prepared_updates(&mut conn), 0);
    for name in ["renamed", "renamed again"] {
        g.name = name.into();
        g.save(&mut conn).unwrap();
    }
    assert_eq!(prepared_updates(&mut conn), 1);
    assert_eq!(
        Gateway::find(&mut conn, &t.id, &g.id).unwrap().name,
        "renamed again"
    );
}
