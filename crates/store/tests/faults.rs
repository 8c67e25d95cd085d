//! What a transaction reports when its PostgreSQL connection dies under it.

use catalyst_store::test_support::TestDb;
use catalyst_store::{StoreError, tx};
use diesel::RunQueryDsl;

/// The server ends this connection's backend in the middle of a transaction, as a PostgreSQL
/// restart does. The caller must see the database as unavailable (a 503 at the API), not the
/// rollback's "transaction manager is broken" (which was a 500).
#[test]
fn a_connection_killed_mid_transaction_is_unavailable_not_broken() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let mut conn = db.store.conn().unwrap();
    let result: Result<(), StoreError> = tx::write(&mut conn, |c| {
        diesel::sql_query("SELECT pg_terminate_backend(pg_backend_pid())").execute(c)?;
        Ok(())
    });
    match result {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
