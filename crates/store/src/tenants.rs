//! Tenants and their API keys.

use catalyst_domain::{ApiKeyId, TenantId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::connection::on_backend;
use crate::schema::{api_keys, tenants};
use crate::{DbConnection, StoreResult};

/// A merchant account; everything else belongs to one.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = tenants, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// Created by `catalyst demo` (found again by later runs).
    pub demo: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Tenant {
    /// Inserts this tenant.
    pub fn insert(&self, conn: &mut DbConnection) -> StoreResult<()> {
        on_backend!(conn, |c| diesel::insert_into(tenants::table)
            .values(self)
            .execute(c))?;
        Ok(())
    }

    /// Loads a tenant by id.
    pub fn find(conn: &mut DbConnection, id: &TenantId) -> StoreResult<Self> {
        on_backend!(conn, |c| tenants::table
            .find(id)
            .select(Self::as_select())
            .first(c))
        .map_err(Into::into)
    }

    /// Locks the tenant's row until the transaction ends (PostgreSQL `FOR UPDATE`; SQLite's
    /// write transaction is already the only writer), so checks across its keys hold.
    pub fn lock(conn: &mut DbConnection, id: &TenantId) -> StoreResult<()> {
        on_backend!(
            conn,
            pg | c
                | tenants::table
                    .find(id)
                    .select(tenants::id)
                    .for_update()
                    .first::<String>(c)?,
            sqlite
                | c
                | tenants::table
                    .find(id)
                    .select(tenants::id)
                    .first::<String>(c)?
        );
        Ok(())
    }

    /// The demo tenant, if `catalyst demo` ran before.
    pub fn find_demo(conn: &mut DbConnection) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| tenants::table
            .filter(tenants::demo.eq(true))
            .order(tenants::id.asc())
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }
}

/// An API key; only its SHA-256 hash and a display prefix are stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = api_keys, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    /// `restricted` or `secret`.
    pub kind: String,
    pub name: Option<String>,
    pub key_hash: String,
    pub key_prefix: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

crate::scoped::tenant_scoped!(ApiKey, api_keys, ApiKeyId);

impl ApiKey {
    /// The active key with this hash, if any.
    pub fn find_active_by_hash(conn: &mut DbConnection, hash: &str) -> StoreResult<Option<Self>> {
        Ok(on_backend!(conn, |c| api_keys::table
            .filter(api_keys::key_hash.eq(hash))
            .filter(api_keys::active.eq(true))
            .select(Self::as_select())
            .first(c)
            .optional())?)
    }

    /// How many active keys of `kind` (`restricted`, `secret`) `tenant` has.
    pub fn count_active(
        conn: &mut DbConnection,
        tenant: &TenantId,
        kind: &str,
    ) -> StoreResult<i64> {
        Ok(on_backend!(conn, |c| api_keys::table
            .filter(api_keys::tenant_id.eq(tenant))
            .filter(api_keys::kind.eq(kind))
            .filter(api_keys::active.eq(true))
            .count()
            .get_result(c))?)
    }

    /// Revokes every active key of `tenant` whose name is one of `names`; returns how many.
    pub fn revoke_named(
        conn: &mut DbConnection,
        tenant: &TenantId,
        names: &[&str],
        at: NaiveDateTime,
    ) -> StoreResult<usize> {
        Ok(on_backend!(conn, |c| diesel::update(
            api_keys::table
                .filter(api_keys::tenant_id.eq(tenant))
                .filter(api_keys::name.eq_any(names))
                .filter(api_keys::active.eq(true))
        )
        .set((api_keys::active.eq(false), api_keys::updated_at.eq(at)))
        .execute(c))?)
    }
}
