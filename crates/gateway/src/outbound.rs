//! Outbound HTTP that keeps to a [`TargetPolicy`]: the clients for gateway calls and webhook
//! deliveries resolve names with [`GuardedResolver`], which drops every address the policy
//! refuses, so a name that resolves (or re-resolves, DNS rebinding) to a private address is
//! never connected to. reqwest does not resolve IP-literal hosts, so callers check each URL
//! with [`TargetPolicy::check_url`] before sending. The clients follow no redirects and use no
//! proxy (a proxy would resolve, and connect, on our behalf).

use std::error::Error;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

pub use catalyst_domain::net::{TargetError, TargetPolicy, is_public};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The cause inside a transport error when the resolver refused a target. It travels as an
/// [`io::Error`] of kind [`io::ErrorKind::PermissionDenied`], so code that does not know this
/// type (the `catalyst-webhooks` crate) can still recognise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("target address not allowed")]
pub struct TargetRefused;

impl From<TargetRefused> for io::Error {
    fn from(refused: TargetRefused) -> io::Error {
        io::Error::new(io::ErrorKind::PermissionDenied, refused)
    }
}

/// True when `err` or one of its sources is a [`TargetRefused`].
pub fn is_refused(err: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if e.is::<TargetRefused>()
            || e.downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .is_some_and(|inner| inner.is::<TargetRefused>())
        {
            return true;
        }
        cause = e.source();
    }
    false
}

/// A DNS resolver (the system's, through tokio) that keeps only the addresses `policy` allows;
/// a name with none left, or a name the policy refuses outright, fails with [`TargetRefused`].
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<TargetPolicy>,
}

impl GuardedResolver {
    /// A resolver for `policy`.
    pub fn new(policy: Arc<TargetPolicy>) -> GuardedResolver {
        GuardedResolver { policy }
    }

    /// Resolves `host` and filters its addresses (the port of each is 0).
    pub async fn lookup(&self, host: &str) -> io::Result<Vec<SocketAddr>> {
        self.policy.check_name(host).map_err(|_| TargetRefused)?;
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
        let allowed: Vec<SocketAddr> = found
            .iter()
            .filter(|a| self.policy.check_ip(a.ip()).is_ok())
            .copied()
            .collect();
        if allowed.is_empty() && !found.is_empty() {
            return Err(TargetRefused.into());
        }
        Ok(allowed)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.lookup(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A client builder for outbound calls under `policy`: rustls (ring), the [`GuardedResolver`],
/// no redirects (a 3xx is an answer, never followed), no proxies.
pub fn client_builder(policy: Arc<TargetPolicy>) -> reqwest::ClientBuilder {
    crate::install_crypto_provider();
    reqwest::Client::builder()
        .dns_resolver(GuardedResolver::new(policy))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_resolver_drops_non_public_addresses() {
        let strict = GuardedResolver::new(Arc::new(TargetPolicy::public_only()));
        for host in ["localhost", "127.0.0.1", "[::1]", "app.localhost"] {
            let err = strict.lookup(host).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{host}");
            assert!(is_refused(&err), "{host}");
        }
        let open = GuardedResolver::new(Arc::new(TargetPolicy::allow_all()));
        let addrs = open.lookup("localhost").await.unwrap();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[tokio::test]
    async fn a_refusal_is_recognised_through_the_client_error() {
        let client = client_builder(Arc::new(TargetPolicy::public_only()))
            .build()
            .unwrap();
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(err.is_connect());
        assert!(is_refused(&err), "{err:?}");
        let other = io::Error::new(io::ErrorKind::ConnectionRefused, "refused");
        assert!(!is_refused(&other));
    }
}
