//! Typed resource identifiers.
//!
//! Every resource id is its own type, so that a [`TenantId`] can never be passed where a
//! [`GatewayId`] is expected. Each is a newtype over the id's text as it is stored and sent:
//! [`TenantId::as_str`] (and `Deref<Target = str>`) reads it, `From<String>` wraps stored text
//! as it is, unchecked. New ids are UUID v7 (time-ordered, good for B-tree keys), written as the
//! lowercase hyphenated UUID; [`FromStr`] accepts any form the `uuid` crate parses (hyphenated
//! in either case, simple, braced, URN) and normalises it.
//!
//! With the `diesel` feature every id is a diesel `Text` value on every backend.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use uuid::Uuid;

/// The text given is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: must be a valid UUID")]
pub struct IdParseError {
    /// The id type that was being parsed, e.g. `"TenantId"`.
    pub kind: &'static str,
}

/// Declares id newtypes over text (`text:`), or over text that new ids and parsed ones fill
/// with a UUID (`uuid:`: adds `new()`, `from_uuid`, a UUID-checking `FromStr` and serde).
macro_rules! typed_id {
    (uuid: $( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {$(
        typed_id!(text: $(#[$meta])* $name);

        #[allow(clippy::new_without_default)]
        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self::from_uuid(Uuid::now_v7())
            }

            /// The id of an existing UUID (lowercase hyphenated).
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid.hyphenated().to_string())
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            /// Parses a UUID in any form and keeps it lowercase hyphenated.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s)
                    .map(Self::from_uuid)
                    .map_err(|_| IdParseError { kind: stringify!($name) })
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self::from_uuid(uuid)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// A UUID string; anything else is refused.
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    )+};
    (text: $( $(#[$meta:meta])* $name:ident ),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[cfg_attr(feature = "diesel", derive(::diesel::AsExpression, ::diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = ::diesel::sql_types::Text))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            /// Wraps stored text as it is (no check).
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            /// Wraps stored text as it is (no check).
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        #[cfg(feature = "diesel")]
        impl<DB> ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            str: ::diesel::serialize::ToSql<::diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, DB>,
            ) -> ::diesel::serialize::Result {
                self.0.as_str().to_sql(out)
            }
        }

        #[cfg(feature = "diesel")]
        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                <String as ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>>::from_sql(bytes)
                    .map(Self)
            }
        }
    )+};
}

typed_id! { uuid:
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
    /// A subscription.
    SubscriptionId,
    /// A signed SEPA mandate.
    MandateId,
    /// A bank file (`pain.008`) batch.
    BatchId,
    /// One event's delivery to one webhook endpoint.
    DeliveryId,
    /// A transaction (internal id; the gateway knows it by its merchant transaction id).
    TransactionId,
    /// A chargeback or return of a debit.
    ChargebackId,
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
        assert_eq!(Uuid::try_parse(a.as_str()).unwrap().get_version_num(), 7);
    }

    #[test]
    fn display_is_lowercase_hyphenated() {
        let id: SessionId = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B".parse().unwrap();
        assert_eq!(id.to_string(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!(id.as_str(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!(
            format!("{id:?}"),
            "SessionId(0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)"
        );
    }

    #[test]
    fn parse_round_trip() {
        let id = OrderId::new();
        assert_eq!(id.to_string().parse::<OrderId>().unwrap(), id);
        let uuid = Uuid::try_parse(id.as_str()).unwrap();
        assert_eq!(OrderId::from_uuid(uuid), id);
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
    fn stored_text_is_wrapped_as_it_is() {
        let id = TenantId::from("legacy-tenant".to_owned());
        assert_eq!(id.as_str(), "legacy-tenant");
        assert_eq!(id, "legacy-tenant");
        assert_eq!(String::from(id.clone()), "legacy-tenant");
        assert_eq!(&*id, "legacy-tenant");
        assert_ne!(TenantId::from("a"), TenantId::from("A"));
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
