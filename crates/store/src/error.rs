//! The store's one error type.

/// Everything that can go wrong in the store, in terms callers can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was violated; the payload names what.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// A conditional update found the row in another state than expected.
    #[error("the row changed concurrently or is not in the expected state")]
    StateConflict,
    /// The database could not be reached (pool timeout, refused connection).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The configured URL names no supported backend.
    #[error("unsupported database URL: {0}")]
    UnsupportedUrl(String),
    /// Running migrations failed.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Sealing or opening an encrypted value failed (wrong data key or corrupt value).
    #[error("encrypted value could not be opened")]
    Crypto,
    /// A stored value could not be read back into its type.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] diesel::result::Error),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => StoreError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                StoreError::Conflict("unique")
            }
            // The pool learns of the lost connection on its own (`crate::liveness`).
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            // Left behind by a connection that died mid-transaction: the pool drops it.
            Error::BrokenTransactionManager => {
                StoreError::Unavailable("the connection's transaction state was lost".into())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

/// Result alias for store operations.
pub type StoreResult<T> = Result<T, StoreError>;
