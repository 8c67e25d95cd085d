//! `Idempotency-Key` bookkeeping: one row per (tenant, key).

use catalyst_domain::TenantId;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::schema::idempotency_keys as ik;
use crate::{DbConnection, StoreError, StoreResult, tx};

/// How long a stored response is replayed.
pub const RETENTION: Duration = Duration::hours(24);

/// What to do with a request that carries an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use (or the old record expired): run the request, then call [`complete`].
    Proceed,
    /// Same key and body seen before: answer with this stored response.
    Replay { status: u16, body: String },
    /// The first request with this key is still running.
    InUse,
    /// The key was used with a different request.
    Reused,
}

/// How long a key stays `in use` by a request that never stored its answer. A request whose
/// process died mid-flight would otherwise block its key for [`RETENTION`]; every request that
/// takes a key is over long before this (creating POSTs make no gateway call).
pub const IN_USE_LEASE: Duration = Duration::seconds(60);

/// Claims `key` for a request whose method, path and body hash to `fingerprint`.
///
/// A record past [`RETENTION`], or still without an answer past [`IN_USE_LEASE`], is taken over
/// as if it were absent; of several requests taking one over at once, exactly one proceeds.
pub fn begin(
    conn: &mut DbConnection,
    tenant: &TenantId,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
) -> StoreResult<IdempotencyStart> {
    let outcome = tx::write(conn, |conn| {
        let row: Option<(String, Option<i32>, Option<String>, NaiveDateTime)> =
            on_backend!(conn, |c| ik::table
                .filter(ik::tenant_id.eq(tenant))
                .filter(ik::idem_key.eq(key))
                .select((
                    ik::fingerprint,
                    ik::response_status,
                    ik::response_body,
                    ik::created_at,
                ))
                .first(c)
                .optional())?;
        match row {
            None => {
                on_backend!(conn, |c| diesel::insert_into(ik::table)
                    .values((
                        ik::tenant_id.eq(tenant),
                        ik::idem_key.eq(key),
                        ik::fingerprint.eq(fingerprint),
                        ik::created_at.eq(now),
                    ))
                    .execute(c))?;
                Ok(IdempotencyStart::Proceed)
            }
            Some((_, status, _, created))
                if created + RETENTION <= now
                    || (status.is_none() && created + IN_USE_LEASE <= now) =>
            {
                // Conditional on the stamp read above: a concurrent taker that got there first
                // changed it, and this request then finds the key in use.
                let taken = on_backend!(conn, |c| diesel::update(
                    ik::table
                        .find((tenant, key))
                        .filter(ik::created_at.eq(created))
                )
                .set((
                    ik::fingerprint.eq(fingerprint),
                    ik::response_status.eq(None::<i32>),
                    ik::response_body.eq(None::<String>),
                    ik::created_at.eq(now),
                ))
                .execute(c))?;
                Ok(if taken == 1 {
                    IdempotencyStart::Proceed
                } else {
                    IdempotencyStart::InUse
                })
            }
            Some((stored, _, _, _)) if stored != fingerprint => Ok(IdempotencyStart::Reused),
            Some((_, Some(status), Some(body), _)) => Ok(IdempotencyStart::Replay {
                status: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt("idempotency status".into()))?,
                body,
            }),
            Some(_) => Ok(IdempotencyStart::InUse),
        }
    });
    match outcome {
        // Two first uses raced on PostgreSQL: the loser sees the winner's row.
        Err(StoreError::Conflict(_)) => Ok(IdempotencyStart::InUse),
        other => other,
    }
}

/// Stores the response of the request that claimed `key`.
pub fn complete(
    conn: &mut DbConnection,
    tenant: &TenantId,
    key: &str,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    on_backend!(conn, |c| diesel::update(ik::table.find((tenant, key)))
        .set((
            ik::response_status.eq(i32::from(status)),
            ik::response_body.eq(body),
        ))
        .execute(c))?;
    Ok(())
}

/// Forgets `key` (the request failed in a way the client may retry).
pub fn release(conn: &mut DbConnection, tenant: &TenantId, key: &str) -> StoreResult<()> {
    on_backend!(conn, |c| diesel::delete(ik::table.find((tenant, key)))
        .execute(c))?;
    Ok(())
}
