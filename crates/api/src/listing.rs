//! The `GET` handlers every tenant-scoped collection shares: one page of rows as
//! `{next, previous, results}` (API.md §6 paging) and one row by id (404 for another tenant's).
//!
//! A collection implements [`Render`] (its JSON object) and, when its rows are found by tenant
//! alone, [`Resource`] (the store calls); its handlers then call [`list`] and [`retrieve`].
//! Collections nested in another (a profile's endpoints) or with list filters load the rows
//! themselves and call [`list_with`] / [`retrieve_with`].

use actix_web::{HttpRequest, HttpResponse};
use catalyst_domain::TenantId;
use catalyst_store::{DbConnection, Page, PageRequest};
use serde_json::Value;

use crate::error::ApiError;
use crate::management::read;
use crate::paging;
use crate::state::AppState;

/// A row as the API shows it.
pub(crate) trait Render {
    /// The row's JSON object.
    fn render(&self) -> Result<Value, ApiError>;
}

/// A collection whose rows are looked up by tenant: the store calls behind [`list`] and
/// [`retrieve`]. Each loads whatever [`Render::render`] shows.
pub(crate) trait Resource: Render + Sized + Send + 'static {
    /// One page of the tenant's rows, newest first.
    fn page(
        conn: &mut DbConnection,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Self>, ApiError>;

    /// The tenant's row `id`; [`ApiError::NotFound`] when missing or another tenant's.
    fn find(conn: &mut DbConnection, tenant: &TenantId, id: &str) -> Result<Self, ApiError>;
}

/// A row rendered while it was read (it needed more rows than its own).
impl Render for Value {
    fn render(&self) -> Result<Value, ApiError> {
        Ok(self.clone())
    }
}

/// `GET /<collection>/`: the page `page_size`/`cursor` ask for.
pub(crate) async fn list<R: Resource>(
    state: &AppState,
    tenant: TenantId,
    req: &HttpRequest,
) -> Result<HttpResponse, ApiError> {
    list_with(state, req, move |c, page| R::page(c, &tenant, page)).await
}

/// `GET /<collection>/{id}/`.
pub(crate) async fn retrieve<R: Resource>(
    state: &AppState,
    tenant: TenantId,
    id: String,
) -> Result<HttpResponse, ApiError> {
    retrieve_with(state, move |c| R::find(c, &tenant, &id)).await
}

/// A list whose page `load` reads (with the collection's own filters or parent).
pub(crate) async fn list_with<R, F>(
    state: &AppState,
    req: &HttpRequest,
    load: F,
) -> Result<HttpResponse, ApiError>
where
    R: Render + Send + 'static,
    F: FnOnce(&mut DbConnection, &PageRequest) -> Result<Page<R>, ApiError> + Send + 'static,
{
    let page = paging::page_request(req)?;
    let rows = read(state, move |c| load(c, &page)).await?;
    let items = rows
        .items
        .iter()
        .map(Render::render)
        .collect::<Result<Vec<_>, _>>()?;
    let page = Page {
        items,
        next: rows.next,
        previous: rows.previous,
    };
    Ok(HttpResponse::Ok().json(paging::list_body(req, &state.config.public_url, page)))
}

/// A row that `find` reads.
pub(crate) async fn retrieve_with<R, F>(state: &AppState, find: F) -> Result<HttpResponse, ApiError>
where
    R: Render + Send + 'static,
    F: FnOnce(&mut DbConnection) -> Result<R, ApiError> + Send + 'static,
{
    let row = read(state, find).await?;
    Ok(HttpResponse::Ok().json(row.render()?))
}
