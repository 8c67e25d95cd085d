//! Re-sealing every sealed value under a new data key (`catalyst rotate-data-key`).
//!
//! The sealed values: gateway credentials, webhook signing secrets, mandate IBANs and holder
//! names, and the secrets kept in stored idempotent responses (their `*_sealed` fields). Each
//! target is walked in key order in batches; a batch is one write transaction that re-seals its
//! rows and records the position it reached in `data_key_rotation`, so a rotation interrupted
//! anywhere resumes after the last committed batch. A value that already opens with the new key
//! is left alone (AES-GCM tells the keys apart: a value opens only under the key that sealed
//! it), so nothing is sealed twice and a value that opens under neither key stops the run.
//!
//! Run it with the servers stopped: a value a server seals with the old key behind the
//! rotation's position would be missed.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::Value;

use crate::connection::on_backend;
use crate::crypto::{Cipher, DataKey, GATEWAY_CREDENTIALS, IDEMPOTENCY_SECRET, WEBHOOK_SECRET};
use crate::payments::{HOLDER_CONTEXT, IBAN_CONTEXT};
use crate::schema::{data_key_rotation, gateways, idempotency_keys, mandates, webhook_profiles};
use crate::{DbConnection, StoreError, StoreResult, now, tx};

/// The sealed targets, in the order a rotation walks them.
pub const TARGETS: &[&str] = &[
    "gateways",
    "webhook_profiles",
    "mandates",
    "idempotency_keys",
];

/// Separates tenant and key in the recorded position of `idempotency_keys`.
const KEY_SEPARATOR: char = '\u{1f}';

/// What a [`Rotation::run`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Batches committed.
    pub batches: usize,
    /// Values re-sealed (a row with two sealed columns counts two).
    pub resealed: usize,
    /// Every target is done.
    pub finished: bool,
}

/// A rotation from one data key to another.
pub struct Rotation {
    old: Cipher,
    new: Cipher,
    key_id: String,
    batch: i64,
}

#[derive(Queryable, Insertable)]
#[diesel(table_name = data_key_rotation)]
struct Progress {
    target: String,
    key_id: String,
    position: String,
    done: bool,
    updated_at: NaiveDateTime,
}

impl Rotation {
    /// A rotation from `old` to `new`, `batch` rows per transaction.
    pub fn new(old: &DataKey, new: &DataKey, batch: i64) -> Self {
        Self {
            old: Cipher::new(old),
            new: Cipher::new(new),
            key_id: new.id(),
            batch: batch.max(1),
        }
    }

    /// Runs batches until every target is done, or `max_batches` were committed (then
    /// `finished` is false and a later run goes on from there).
    pub fn run(
        &self,
        conn: &mut DbConnection,
        max_batches: Option<usize>,
    ) -> StoreResult<RotationReport> {
        let mut report = RotationReport::default();
        for target in TARGETS {
            loop {
                if max_batches.is_some_and(|max| report.batches >= max) {
                    return Ok(report);
                }
                let Some(resealed) = tx::write(conn, |c| self.batch(c, target))? else {
                    break;
                };
                report.batches += 1;
                report.resealed += resealed;
            }
        }
        report.finished = true;
        Ok(report)
    }

    /// One batch of `target` in one transaction: how many values it re-sealed, or `None` when
    /// the target was already done.
    fn batch(&self, c: &mut DbConnection, target: &str) -> StoreResult<Option<usize>> {
        let recorded: Option<Progress> = on_backend!(c, |c| data_key_rotation::table
            .find(target)
            .first(c)
            .optional())?;
        let position = match recorded {
            Some(p) if p.key_id == self.key_id && p.done => return Ok(None),
            Some(p) if p.key_id == self.key_id => p.position,
            _ => String::new(),
        };
        let (last, resealed) = match target {
            "gateways" => self.gateways(c, &position)?,
            "webhook_profiles" => self.webhook_profiles(c, &position)?,
            "mandates" => self.mandates(c, &position)?,
            "idempotency_keys" => self.idempotency_keys(c, &position)?,
            other => return Err(StoreError::Corrupt(format!("unknown target {other}"))),
        };
        let progress = Progress {
            target: target.to_owned(),
            key_id: self.key_id.clone(),
            done: last.is_none(),
            position: last.unwrap_or(position),
            updated_at: now(),
        };
        on_backend!(c, |c| diesel::delete(data_key_rotation::table.find(target))
            .execute(c))?;
        on_backend!(c, |c| diesel::insert_into(data_key_rotation::table)
            .values(&progress)
            .execute(c))?;
        Ok(Some(resealed))
    }

    /// The value sealed under the new key, or `None` when it already is.
    fn reseal(&self, context: &str, sealed: &str, row: &str) -> StoreResult<Option<String>> {
        if self.new.open(context, sealed).is_ok() {
            return Ok(None);
        }
        let plain = self.old.open(context, sealed).map_err(|_| {
            StoreError::Corrupt(format!("{row}: {context} opens under neither key"))
        })?;
        self.new.seal(context, &plain).map(Some)
    }

    fn gateways(&self, c: &mut DbConnection, after: &str) -> StoreResult<(Option<String>, usize)> {
        let rows: Vec<(String, Option<String>)> = on_backend!(c, |c| gateways::table
            .filter(gateways::id.gt(after))
            .order(gateways::id.asc())
            .limit(self.batch)
            .select((gateways::id, gateways::credentials_sealed))
            .load(c))?;
        let mut resealed = 0;
        for (id, sealed) in &rows {
            let Some(sealed) = sealed else { continue };
            if let Some(new) = self.reseal(GATEWAY_CREDENTIALS, sealed, &format!("gateway {id}"))? {
                on_backend!(c, |c| diesel::update(gateways::table.find(id))
                    .set(gateways::credentials_sealed.eq(Some(&new)))
                    .execute(c))?;
                resealed += 1;
            }
        }
        Ok((rows.last().map(|r| r.0.clone()), resealed))
    }

    fn webhook_profiles(
        &self,
        c: &mut DbConnection,
        after: &str,
    ) -> StoreResult<(Option<String>, usize)> {
        let rows: Vec<(String, String)> = on_backend!(c, |c| webhook_profiles::table
            .filter(webhook_profiles::id.gt(after))
            .order(webhook_profiles::id.asc())
            .limit(self.batch)
            .select((webhook_profiles::id, webhook_profiles::secret_sealed))
            .load(c))?;
        let mut resealed = 0;
        for (id, sealed) in &rows {
            let row = format!("webhook profile {id}");
            if let Some(new) = self.reseal(WEBHOOK_SECRET, sealed, &row)? {
                on_backend!(c, |c| diesel::update(webhook_profiles::table.find(id))
                    .set(webhook_profiles::secret_sealed.eq(&new))
                    .execute(c))?;
                resealed += 1;
            }
        }
        Ok((rows.last().map(|r| r.0.clone()), resealed))
    }

    fn mandates(&self, c: &mut DbConnection, after: &str) -> StoreResult<(Option<String>, usize)> {
        let rows: Vec<(String, String, String)> = on_backend!(c, |c| mandates::table
            .filter(mandates::id.gt(after))
            .order(mandates::id.asc())
            .limit(self.batch)
            .select((mandates::id, mandates::iban_sealed, mandates::holder_sealed))
            .load(c))?;
        let mut resealed = 0;
        for (id, iban, holder) in &rows {
            let row = format!("mandate {id}");
            if let Some(new) = self.reseal(IBAN_CONTEXT, iban, &row)? {
                on_backend!(c, |c| diesel::update(mandates::table.find(id))
                    .set(mandates::iban_sealed.eq(&new))
                    .execute(c))?;
                resealed += 1;
            }
            if let Some(new) = self.reseal(HOLDER_CONTEXT, holder, &row)? {
                on_backend!(c, |c| diesel::update(mandates::table.find(id))
                    .set(mandates::holder_sealed.eq(&new))
                    .execute(c))?;
                resealed += 1;
            }
        }
        Ok((rows.last().map(|r| r.0.clone()), resealed))
    }

    /// Stored responses whose JSON object has `*_sealed` string fields.
    fn idempotency_keys(
        &self,
        c: &mut DbConnection,
        after: &str,
    ) -> StoreResult<(Option<String>, usize)> {
        let (tenant, key) = after.split_once(KEY_SEPARATOR).unwrap_or(("", ""));
        let rows: Vec<(String, String, Option<String>)> = on_backend!(c, |c| {
            idempotency_keys::table
                .filter(
                    idempotency_keys::tenant_id
                        .gt(tenant)
                        .or(idempotency_keys::tenant_id
                            .eq(tenant)
                            .and(idempotency_keys::idem_key.gt(key))),
                )
                .order((
                    idempotency_keys::tenant_id.asc(),
                    idempotency_keys::idem_key.asc(),
                ))
                .limit(self.batch)
                .select((
                    idempotency_keys::tenant_id,
                    idempotency_keys::idem_key,
                    idempotency_keys::response_body,
                ))
                .load(c)
        })?;
        let mut resealed = 0;
        for (tenant, key, body) in &rows {
            let Some(body) = body.as_deref().filter(|b| b.contains("_sealed\"")) else {
                continue;
            };
            let Ok(mut value) = serde_json::from_str::<Value>(body) else {
                continue;
            };
            let Some(object) = value.as_object_mut() else {
                continue;
            };
            let mut changed = 0;
            for (field, sealed) in object.iter_mut() {
                let Some(text) = sealed.as_str().filter(|_| field.ends_with("_sealed")) else {
                    continue;
                };
                let row = format!("idempotent response {tenant}/{key}");
                if let Some(new) = self.reseal(IDEMPOTENCY_SECRET, text, &row)? {
                    *sealed = Value::String(new);
                    changed += 1;
                }
            }
            if changed > 0 {
                let body = value.to_string();
                on_backend!(c, |c| diesel::update(
                    idempotency_keys::table.find((tenant, key))
                )
                .set(idempotency_keys::response_body.eq(Some(&body)))
                .execute(c))?;
                resealed += changed;
            }
        }
        Ok((
            rows.last()
                .map(|(tenant, key, _)| format!("{tenant}{KEY_SEPARATOR}{key}")),
            resealed,
        ))
    }
}
