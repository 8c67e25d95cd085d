//! Typed resource identifiers.
//!
//! Every resource id is a UUID wrapped in its own type so that a [`TenantId`] can never be passed
//! where a [`SessionId`] is expected. New ids are UUID v7 (time-ordered, good for B-tree keys).
//! They serialize as the lowercase hyphenated UUID string and parse from any form the `uuid`
//! crate accepts (hyphenated in either case, simple, braced, URN).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The text given is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: must be a valid UUID")]
pub struct IdParseError {
    /// The id type that was being parsed, e.g. `"TenantId"`.
    pub kind: &'static str,
}

macro_rules! typed_id {
    ($( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        #[allow(clippy::new_without_default)]
        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl fmt::Display for $name {
            /// Lowercase hyphenated UUID.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| IdParseError { kind: stringify!($name) })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    )+};
}

typed_id! {
    /// A tenant (merchant account).
    TenantId,
    /// An API key (`rk_`/`sk_`) record.
    ApiKeyId,
    /// A payment gateway configuration.
    GatewayId,
    /// A campaign (offer + gateway + branding).
    CampaignId,
    /// A hosted payment page (branding).
    HostedPageId,
    /// A webhook profile (signing secret + endpoints).
    WebhookProfileId,
    /// A webhook endpoint of a profile.
    WebhookEndpointId,
    /// A lead (the person paying).
    LeadId,
    /// A payment session (internal id; the public credential is the `ps_` token).
    SessionId,
    /// An order.
    OrderId,
    /// A customer with a saved mandate.
    CustomerId,
}

/// A new merchant transaction id, `TXN-YYYYMMDD-` + 8 upper-case hex digits from the OS
/// CSPRNG (API.md §3.5): the id the gateway knows the debit by.
///
/// The format leaves only 32 random bits per day, so a tenant with tens of thousands of debits
/// a day will see the same id drawn twice: whoever stores it must retry with a new one when the
/// unique index refuses it (`catalyst_store` does).
///
/// ```
/// let id = catalyst_domain::ids::new_merchant_transaction_id(
///     chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
/// );
/// assert!(id.starts_with("TXN-20261121-"));
/// assert_eq!(id.len(), "TXN-20261121-".len() + 8);
/// ```
pub fn new_merchant_transaction_id(day: chrono::NaiveDate) -> String {
    let b = *Uuid::new_v4().as_bytes();
    format!(
        "TXN-{}-{:08X}",
        day.format("%Y%m%d"),
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_v7_and_distinct() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn display_is_lowercase_hyphenated() {
        let id: SessionId = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B".parse().unwrap();
        assert_eq!(id.to_string(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!(
            format!("{id:?}"),
            "SessionId(0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)"
        );
    }

    #[test]
    fn parse_round_trip() {
        let id = OrderId::new();
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        assert_eq!(OrderId::from_uuid(id.as_uuid()), id);
    }

    #[test]
    fn parse_rejects_garbage() {
        let err = "not-a-uuid".parse::<CampaignId>().unwrap_err();
        assert_eq!(err.kind, "CampaignId");
        assert!("".parse::<CampaignId>().is_err());
        assert!(
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5"
                .parse::<CampaignId>()
                .is_err()
        );
        assert!(
            "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5bz"
                .parse::<CampaignId>()
                .is_err()
        );
    }

    #[test]
    fn serde_is_transparent_string() {
        let id: GatewayId = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b\"");
        assert_eq!(serde_json::from_str::<GatewayId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<GatewayId>("\"nope\"").is_err());
        assert!(serde_json::from_str::<GatewayId>("42").is_err());
    }

    #[test]
    fn ordering_follows_creation_time() {
        let first = LeadId::from_uuid(Uuid::from_u128(1));
        let second = LeadId::from_uuid(Uuid::from_u128(2));
        assert!(first < second);
    }
}
