//! The id of the API request a gateway call serves: the API runs each request inside
//! [`with_request_id`], and the Genesis adapter sends it as `X-Request-Id`, so one id links the
//! API's log lines to the gateway's.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Runs `fut` with `id` as the current request id.
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(id, fut).await
}

/// The request id of the task, if it runs inside [`with_request_id`].
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_visible_inside_the_scope_only() {
        assert_eq!(current_request_id(), None);
        let inside = with_request_id("req-1".into(), async { current_request_id() }).await;
        assert_eq!(inside.as_deref(), Some("req-1"));
        assert_eq!(current_request_id(), None);
    }
}
