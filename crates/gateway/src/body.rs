//! Reading HTTP response bodies with a size cap.
//!
//! A gateway (or a notification receiver, for the fake server) controls the size of its
//! answers; reading one whole would let it take all our memory. [`read_limited`] reads chunk by
//! chunk and stops at the cap; the rest is never read (dropping the response closes the
//! connection).

/// Most bytes of a Genesis answer the `EMP` adapter reads: the XML parser's own limit
/// ([`crate::xml::Limits::DEFAULT`]), 1 MiB.
pub const MAX_GATEWAY_RESPONSE_BYTES: usize = crate::xml::Limits::DEFAULT.max_bytes;

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is longer than the cap (by its `Content-Length`, or by what arrived).
    TooLarge,
    /// Reading failed (timeout, connection reset, bad chunking).
    Transport(reqwest::Error),
}

/// The body of `response`, or [`BodyError::TooLarge`] as soon as it is known to exceed `limit`
/// bytes: from the `Content-Length` before anything is read, else once the bytes received pass
/// `limit`. At most `limit` bytes plus one chunk are ever held.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let declared = response.content_length();
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(BodyError::TooLarge);
    }
    let capacity = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(limit);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if chunk.len() > limit - body.len() {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
