//! The expiry sweeper racing a payer's claim or another sweeper: it acts only on the rows its
//! own update changed. Each test on SQLite and on PostgreSQL; on PostgreSQL the other
//! transaction commits while the sweeper waits on its row lock.

mod common;

use catalyst_domain::DuplicatePolicy;
use catalyst_domain::status::OrderStatus;
use catalyst_domain::status::SessionStatus;
use catalyst_store::checkout::CreatedSession;
use catalyst_store::test_support::TestDb;
use catalyst_store::*;
use chrono::Duration;
use common::*;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn scalar(store: &Store, sql: &str) -> i64 {
    let mut conn = store.conn().unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn)
        .unwrap()
        .n
}

fn due_session(store: &Store) -> CreatedSession {
    let t = tenant(store);
    let g = gateway(store, &t.id, "gw");
    let s = session(&t.id, &g.id, Duration::hours(1));
    let o = order(&t.id, &order_number());
    let mut conn = store.conn().unwrap();
    catalyst_store::checkout::create_session(
        &mut conn,
        lead(&t.id, "a@example.com"),
        DuplicatePolicy::Allow,
        s,
        o,
        order_number,
    )
    .unwrap()
}

/// Runs `other` (statements of a concurrent transaction) uncommitted, starts the sweeper, lets
/// it reach the session's row (PostgreSQL: waiting on its lock), commits `other`, and returns
/// how many sessions the sweeper expired.
fn sweep_while(db: &TestDb, other: &str) -> usize {
    let mut holder = db.store.conn().unwrap();
    let begin = match db.backend() {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    holder.batch_execute(&format!("{begin}; {other}")).unwrap();
    let store = db.store.clone();
    let later = now() + Duration::hours(2);
    let sweeper = std::thread::spawn(move || {
        store.read(|c| catalyst_store::checkout::expire_due_sessions(c, later, 100))
    });
    if db.backend() == Backend::Postgres {
        // The sweeper read the session as PENDING and now waits for the other transaction.
        let waiting = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                       WHERE datname = current_database() AND wait_event_type = 'Lock'";
        while scalar(&db.store, waiting) == 0 {
            assert!(
                !sweeper.is_finished(),
                "the sweeper did not wait for the row"
            );
            std::thread::yield_now();
        }
    }
    holder.batch_execute("COMMIT").unwrap();
    sweeper.join().unwrap().unwrap()
}

fn expired_events(store: &Store) -> i64 {
    scalar(
        store,
        "SELECT COUNT(*) AS n FROM webhook_events WHERE event_type = 'payment_session.expired'",
    )
}

test_both! {
    fn a_session_claimed_while_the_sweeper_waits_keeps_its_order(db) {
        let created = due_session(&db.store);
        let id = &created.session.id;
        let claim = format!(
            "UPDATE payment_sessions SET status = 'PAYMENT_IN_PROGRESS', version = version + 1 WHERE id = '{id}'; \
             UPDATE orders SET status = 'PENDING' WHERE session_id = '{id}'"
        );
        assert_eq!(sweep_while(&db, &claim), 0, "the claimed session is not counted as expired");
        let s = db.store.read(|c| PaymentSession::find_by_token(c, &created.session.token)).unwrap();
        assert_eq!(s.status, SessionStatus::PaymentInProgress);
        let order = db.store.read(|c| Order::find_by_session(c, id)).unwrap();
        assert_eq!(order.status, OrderStatus::Pending, "the payer's order is not cancelled");
        assert_eq!(expired_events(&db.store), 0);
    }

    fn a_session_expired_by_another_sweeper_gets_one_event(db) {
        let created = due_session(&db.store);
        let id = &created.session.id;
        let other_sweeper = format!(
            "UPDATE payment_sessions SET status = 'EXPIRED', version = version + 1 WHERE id = '{id}'; \
             UPDATE orders SET status = 'CANCELLED' WHERE session_id = '{id}'"
        );
        assert_eq!(sweep_while(&db, &other_sweeper), 0);
        let s = db.store.read(|c| PaymentSession::find_by_token(c, &created.session.token)).unwrap();
        assert_eq!((s.status.as_str(), s.version), ("EXPIRED", 1), "expired once");
        assert_eq!(expired_events(&db.store), 0, "the other sweeper's event is the only one");
    }
}
