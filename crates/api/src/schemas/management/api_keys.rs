//! `/api-keys/` (API.md §1, §9): the tenant's `rk_`/`sk_` keys.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a key may call (API.md §1).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyKind {
    /// `rk_`: the merchant backend's key.
    Restricted,
    /// `sk_`: also the management API.
    Secret,
}

/// `POST /api-keys/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    pub kind: ApiKeyKind,
    #[schema(max_length = 255)]
    pub name: Option<String>,
}

/// `PATCH /api-keys/{id}/` body: only `name` changes (`kind` is refused). Unknown fields are
/// refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    #[schema(max_length = 255)]
    pub name: Option<String>,
}

/// An API key: only its visible prefix, never the key.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub id: Uuid,
    pub kind: ApiKeyKind,
    #[schema(required = true)]
    pub name: Option<String>,
    /// The key's first characters (`sk_ab12…`), to recognise it.
    pub prefix: String,
    /// False once revoked.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A key just created, with the full `key`: the only time it is shown.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreated {
    pub id: Uuid,
    pub kind: ApiKeyKind,
    #[schema(required = true)]
    pub name: Option<String>,
    pub prefix: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `rk_` or `sk_` + 40 characters.
    #[schema(pattern = "^(rk|sk)_[a-z0-9]{40}$")]
    pub key: String,
}
