//! A stored gateway's adapter: its settings with the credentials opened, built against the
//! process's [`AdapterContext`] (HTTP client, target policy).

use std::sync::Arc;

use catalyst_domain::secret::Secret;
use catalyst_gateway::{AdapterContext, GatewayAdapter, GatewayError, GatewaySettings};
use catalyst_store::{Cipher, Gateway, StoreError};

use crate::error::ApiError;
use crate::state::AppState;

/// Sealing context of gateway credentials.
pub const CREDENTIALS_CONTEXT: &str = catalyst_store::crypto::GATEWAY_CREDENTIALS;

/// How a stored gateway becomes an adapter: `gateway.adapter(cipher, ctx)`.
pub trait GatewayAdapterExt {
    /// The adapter settings, with the credentials opened.
    fn settings(&self, cipher: &Cipher) -> Result<GatewaySettings, StoreError>;

    /// The adapter, or the adapter's refusal of the stored settings (a row saved before
    /// create/patch checked them): a gateway fault, not an internal error. Fails only when the
    /// credentials cannot be opened.
    fn adapter(
        &self,
        cipher: &Cipher,
        ctx: &AdapterContext,
    ) -> Result<Result<Arc<dyn GatewayAdapter>, GatewayError>, StoreError>;
}

impl GatewayAdapterExt for Gateway {
    fn settings(&self, cipher: &Cipher) -> Result<GatewaySettings, StoreError> {
        let credentials = match &self.credentials_sealed {
            Some(sealed) => Some(Secret::new(
                String::from_utf8(cipher.open(CREDENTIALS_CONTEXT, sealed)?)
                    .map_err(|_| StoreError::Crypto)?,
            )),
            None => None,
        };
        Ok(GatewaySettings {
            adapter: self.adapter.clone(),
            test_mode: self.test_mode,
            requires_verification: self.requires_verification,
            credentials,
            descriptor: self.descriptor.clone(),
        })
    }

    fn adapter(
        &self,
        cipher: &Cipher,
        ctx: &AdapterContext,
    ) -> Result<Result<Arc<dyn GatewayAdapter>, GatewayError>, StoreError> {
        let built = catalyst_gateway::build_adapter(&self.settings(cipher)?, ctx);
        if let Err(error) = &built {
            tracing::error!(gateway = %self.id, %error, "the adapter refuses the gateway's settings");
        }
        Ok(built)
    }
}

/// [`GatewayAdapterExt::adapter`] with the server's cipher and adapter context.
pub fn try_adapter_for(
    state: &AppState,
    gateway: &Gateway,
) -> Result<Result<Arc<dyn GatewayAdapter>, GatewayError>, ApiError> {
    Ok(gateway.adapter(state.store.cipher(), &state.gateways)?)
}

/// [`try_adapter_for`], a refusal answered 503 `service_unavailable` (the caller may retry once
/// an operator has fixed the gateway).
pub fn adapter_for(
    state: &AppState,
    gateway: &Gateway,
) -> Result<Arc<dyn GatewayAdapter>, ApiError> {
    try_adapter_for(state, gateway)?
        .map_err(|e| ApiError::ServiceUnavailable(format!("gateway {}: {e}", gateway.id)))
}
