//! `outbox::deliveries_committed`: what tells the server to wake its webhook dispatcher. Its
//! own test binary, because the counter is process-wide and other tests would move it.

mod common;

use std::sync::Mutex;

use catalyst_store::outbox;
use catalyst_store::test_support::TestDb;
use catalyst_store::*;
use common::*;

/// The two backends' runs share the counter: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn counts_committed_deliveries_only(db: TestDb) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let t = tenant(&db.store);
    let (with_two, _) = profile_with_endpoints(&db.store, &t.id, &[None, Some("order.created")]);
    let (without, _) = profile_with_endpoints(&db.store, &t.id, &[]);

    let before = outbox::deliveries_committed();
    emit(&db.store, &t.id, Some(&with_two.id), "order.created");
    assert_eq!(
        outbox::deliveries_committed(),
        before + 2,
        "two subscribed endpoints"
    );
    emit(&db.store, &t.id, Some(&with_two.id), "transaction.created");
    assert_eq!(
        outbox::deliveries_committed(),
        before + 3,
        "one endpoint takes every event"
    );

    // No endpoint, no profile: the event is recorded, nothing is queued, nobody is woken.
    emit(&db.store, &t.id, Some(&without.id), "order.created");
    emit(&db.store, &t.id, None, "order.created");
    assert_eq!(outbox::deliveries_committed(), before + 3);

    // A rolled-back transaction queued nothing.
    let rolled_back: Result<(), StoreError> = db.store.write(|c| {
        outbox::emit(
            c,
            outbox::NewEvent {
                tenant_id: &t.id,
                profile_id: Some(&with_two.id),
                event_type: "order.created",
                payload: serde_json::json!({}),
                context: serde_json::json!({}),
            },
            now(),
        )?;
        Err(StoreError::StateConflict)
    });
    assert!(rolled_back.is_err());
    assert_eq!(outbox::deliveries_committed(), before + 3);
    emit(&db.store, &t.id, Some(&with_two.id), "order.created");
    assert_eq!(
        outbox::deliveries_committed(),
        before + 5,
        "the rollback left nothing behind"
    );
}

#[test]
fn sqlite() {
    counts_committed_deliveries_only(TestDb::sqlite());
}

#[test]
fn postgres() {
    if let Some(db) = TestDb::postgres() {
        counts_committed_deliveries_only(db);
    }
}
