//! `page_size`/`cursor` query parameters and the `{next, previous, results}` list body.

use actix_web::HttpRequest;
use catalyst_store::{Cursor, Page, PageRequest};
use serde_json::{Value, json};

use crate::error::ApiError;

/// Default and maximum page sizes (API.md §6).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Reads `page_size` (1–1000, default 100) and `cursor` from the query string.
pub fn page_request(req: &HttpRequest) -> Result<PageRequest, ApiError> {
    let mut size = DEFAULT_PAGE_SIZE;
    let mut cursor = None;
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "page_size" => {
                size = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                    .ok_or_else(|| {
                        ApiError::field(
                            "page_size",
                            format!("Enter a whole number from 1 to {MAX_PAGE_SIZE}."),
                        )
                    })?;
            }
            "cursor" => {
                cursor = Some(
                    Cursor::decode(&value)
                        .ok_or_else(|| ApiError::field("cursor", "Invalid cursor."))?,
                );
            }
            _ => {}
        }
    }
    Ok(PageRequest { size, cursor })
}

/// The list body, with absolute `next`/`previous` URLs that keep the other query parameters.
pub fn list_body(req: &HttpRequest, public_url: &str, page: Page<Value>) -> Value {
    let link = |cursor: Option<Cursor>| {
        cursor.map(|c| {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
                if k != "cursor" {
                    query.append_pair(&k, &v);
                }
            }
            query.append_pair("cursor", &c.encode());
            format!("{public_url}{}?{}", req.path(), query.finish())
        })
    };
    json!({"next": link(page.next), "previous": link(page.previous), "results": page.items})
}
