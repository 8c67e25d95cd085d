//! The operations every tenant-scoped configuration table shares.

/// Implements `find`, `page`, `insert` and `save` for a row type whose table has
/// `id` and `tenant_id` columns. Lookups always filter by tenant: another tenant's row is
/// simply not found. `find` takes the tenant and the row's id typed (`$id`).
macro_rules! tenant_scoped {
    ($row:ty, $table:ident, $id:ty) => {
        impl $row {
            /// Loads one row of this tenant; another tenant's row is not found, like a
            /// missing one. The statement looks the row up by primary key alone and the
            /// tenant is compared here: with `tenant_id` in the `WHERE` clause too, a plan
            /// PostgreSQL made while the table was empty could pick an index that starts with
            /// `tenant_id` (leads, transactions) and read every row of the tenant.
            pub fn find(
                conn: &mut $crate::DbConnection,
                tenant: &catalyst_domain::TenantId,
                id: &$id,
            ) -> $crate::StoreResult<Self> {
                use diesel::prelude::*;
                let row: Self =
                    $crate::connection::on_backend!(conn, |c| $crate::schema::$table::table
                        .filter($crate::schema::$table::id.eq(id))
                        .select(<$row>::as_select())
                        .first(c))?;
                if row.tenant_id == *tenant {
                    Ok(row)
                } else {
                    Err($crate::StoreError::NotFound)
                }
            }

            /// One page of this tenant's rows, newest first.
            pub fn page(
                conn: &mut $crate::DbConnection,
                tenant: &catalyst_domain::TenantId,
                page: &$crate::pagination::PageRequest,
            ) -> $crate::StoreResult<$crate::pagination::Page<Self>> {
                Ok($crate::pagination::load_page!(
                    $crate::schema::$table::table
                        .filter($crate::schema::$table::tenant_id.eq(tenant.clone()))
                        .select(<$row>::as_select()),
                    $crate::schema::$table::id,
                    page,
                    conn
                ))
            }

            /// Inserts this row.
            pub fn insert(&self, conn: &mut $crate::DbConnection) -> $crate::StoreResult<()> {
                use diesel::prelude::*;
                $crate::connection::on_backend!(conn, |c| diesel::insert_into(
                    $crate::schema::$table::table
                )
                .values(self)
                .execute(c))?;
                Ok(())
            }

            /// Writes every column of this row back.
            pub fn save(&self, conn: &mut $crate::DbConnection) -> $crate::StoreResult<()> {
                use diesel::prelude::*;
                let n = $crate::connection::on_backend!(conn, |c| $crate::prepared::update(
                    $crate::schema::$table::table,
                    $crate::schema::$table::id.eq(&self.id),
                    self,
                )
                .execute(c))?;
                if n == 1 {
                    Ok(())
                } else {
                    Err($crate::StoreError::NotFound)
                }
            }
        }

        impl $crate::pagination::Keyed for $row {
            fn key(&self) -> &str {
                &self.id
            }
        }
    };
}
pub(crate) use tenant_scoped;
