//! `/hosted-pages/` (API.md §9): branding and content of the hosted payment page.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// How the customer accepts the mandate on the page.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HostedPageAcceptanceMode {
    Checkbox,
}

/// The page's colours and logo; null clears a value. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageBrandingInput {
    #[schema(format = "uri")]
    pub logo_url: Option<String>,
    /// A CSS hex colour (`#1f4ed8`, `#fff`).
    pub primary_color: Option<String>,
    pub accent_color: Option<String>,
}

/// The page's texts; null clears a value. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageContentInput {
    #[schema(max_length = 255)]
    pub headline: Option<String>,
}

/// `POST /hosted-pages/` body. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageCreate {
    #[schema(max_length = 255)]
    pub name: String,
    #[schema(nullable = false)]
    pub branding: Option<HostedPageBrandingInput>,
    #[schema(nullable = false)]
    pub content: Option<HostedPageContentInput>,
    /// Default true.
    #[schema(nullable = false)]
    pub show_product_name: Option<bool>,
    /// Default true.
    #[schema(nullable = false)]
    pub show_product_price: Option<bool>,
    /// Default true.
    #[schema(nullable = false)]
    pub show_product_description: Option<bool>,
    #[schema(nullable = false)]
    pub mandate_acceptance_mode: Option<HostedPageAcceptanceMode>,
    /// The creditor the mandate names, over the gateway's.
    #[schema(max_length = 70)]
    pub creditor_name: Option<String>,
    /// One line.
    #[schema(max_length = 255)]
    pub creditor_address: Option<String>,
    /// A SEPA creditor identifier, stored in canonical form.
    pub creditor_identifier: Option<String>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// `PATCH /hosted-pages/{id}/` body: any of the create fields. Unknown fields are refused.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageUpdate {
    #[schema(max_length = 255, nullable = false)]
    pub name: Option<String>,
    #[schema(nullable = false)]
    pub branding: Option<HostedPageBrandingInput>,
    #[schema(nullable = false)]
    pub content: Option<HostedPageContentInput>,
    #[schema(nullable = false)]
    pub show_product_name: Option<bool>,
    #[schema(nullable = false)]
    pub show_product_price: Option<bool>,
    #[schema(nullable = false)]
    pub show_product_description: Option<bool>,
    #[schema(nullable = false)]
    pub mandate_acceptance_mode: Option<HostedPageAcceptanceMode>,
    #[schema(max_length = 70)]
    pub creditor_name: Option<String>,
    #[schema(max_length = 255)]
    pub creditor_address: Option<String>,
    pub creditor_identifier: Option<String>,
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

/// A page's branding as shown.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageBranding {
    #[schema(required = true, format = "uri")]
    pub logo_url: Option<String>,
    #[schema(required = true)]
    pub primary_color: Option<String>,
    #[schema(required = true)]
    pub accent_color: Option<String>,
}

/// A page's content as shown.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPageContent {
    #[schema(required = true)]
    pub headline: Option<String>,
}

/// A hosted page.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostedPage {
    pub id: Uuid,
    pub name: String,
    pub branding: HostedPageBranding,
    pub content: HostedPageContent,
    pub show_product_name: bool,
    pub show_product_price: bool,
    pub show_product_description: bool,
    pub mandate_acceptance_mode: HostedPageAcceptanceMode,
    #[schema(required = true)]
    pub creditor_name: Option<String>,
    #[schema(required = true)]
    pub creditor_address: Option<String>,
    #[schema(required = true)]
    pub creditor_identifier: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
