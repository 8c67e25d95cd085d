//! Embedded migrations, one tree per backend, run on the concrete connection.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::{DbConnection, on_backend};
use crate::error::{StoreError, StoreResult};

const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration; returns how many ran.
pub fn run_pending(conn: &mut DbConnection) -> StoreResult<usize> {
    let applied = on_backend!(
        conn,
        pg | c | c.run_pending_migrations(POSTGRES).map(|v| v.len()),
        sqlite | c | c.run_pending_migrations(SQLITE).map(|v| v.len())
    );
    applied.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Whether a migration embedded in this build is not applied to the database yet (the
/// readiness probe: a server must not serve a schema older than its code).
pub fn has_pending(conn: &mut DbConnection) -> StoreResult<bool> {
    let pending = on_backend!(
        conn,
        pg | c | c.has_pending_migration(POSTGRES),
        sqlite | c | c.has_pending_migration(SQLITE)
    );
    pending.map_err(|e| StoreError::Migration(e.to_string()))
}

/// Reverts every applied migration (used by the up → down → up test and operators' tooling).
pub fn revert_all(conn: &mut DbConnection) -> StoreResult<usize> {
    let reverted = on_backend!(
        conn,
        pg | c | c.revert_all_migrations(POSTGRES).map(|v| v.len()),
        sqlite | c | c.revert_all_migrations(SQLITE).map(|v| v.len())
    );
    reverted.map_err(|e| StoreError::Migration(e.to_string()))
}
