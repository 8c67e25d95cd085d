//! The `BATCH` adapter: SEPA debits collected by handing the creditor's bank a `pain.008`
//! file instead of calling a gateway.
//!
//! Nothing leaves the process at pay time: a debit is recorded as pending under our own
//! transaction id, and stays pending until a batch carrying it is cut and the bank's status
//! report (`pain.002`) or debit notification (`camt.054`) is imported. The adapter therefore
//! answers in-process ([`InProcessGateway`]), has nothing to reconcile and sends no
//! notifications.

use catalyst_domain::secret::Secret;
use catalyst_sepa::pain008::Version;
use catalyst_sepa::{Bic, CreditorId};
use serde::Deserialize;

use crate::{
    DebitRequest, Echo, GatewayAdapter, GatewayError, GatewayOutcome, GatewaySettings,
    InProcessGateway, Notification, ReconcileRequest, RefundRequest, SandboxLedger,
};

/// The adapter's name in a gateway row.
pub const NAME: &str = "BATCH";

/// The creditor a `BATCH` gateway collects for: the credentials JSON
/// `{"creditor_name", "creditor_id", "iban", "bic"}`, each validated, and the optional
/// `pain_version` of its files.
#[derive(Debug, Clone)]
pub struct BatchCredentials {
    /// The creditor's name as the debtor's bank shows it (at most 70 characters).
    pub creditor_name: String,
    /// The SEPA creditor identifier, in its normalised form.
    pub creditor_id: CreditorId,
    /// The creditor's IBAN, electronic form.
    pub iban: Secret<String>,
    /// The BIC of the creditor's bank.
    pub bic: Bic,
    /// The pain.008 version the creditor's bank takes: `pain.008.001.08` unless the
    /// credentials say `pain.008.001.02`.
    pub pain_version: Version,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    creditor_name: String,
    creditor_id: String,
    iban: String,
    bic: String,
    #[serde(default)]
    pain_version: Option<String>,
}

/// The pain.008 versions a `BATCH` gateway's `pain_version` may name.
pub const PAIN_VERSIONS: [Version; 2] = [Version::V08, Version::V02];

/// Reads a `pain_version` setting (`pain.008.001.08` or `pain.008.001.02`).
pub fn parse_pain_version(s: &str) -> Result<Version, CredentialError> {
    PAIN_VERSIONS
        .into_iter()
        .find(|v| v.message_name() == s.trim())
        .ok_or_else(|| CredentialError {
            field: "pain_version",
            message: "Give pain.008.001.08 (the default) or pain.008.001.02.".into(),
        })
}

/// Why a credential is refused: the credential's key and a message for the API's field error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialError {
    /// `creditor_name`, `creditor_id`, `iban` or `bic`; empty when the JSON itself is wrong.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl BatchCredentials {
    /// Validates each credential; every refusal is returned, not only the first.
    pub fn validate(
        creditor_name: &str,
        creditor_id: &str,
        iban: &str,
        bic: &str,
    ) -> Result<BatchCredentials, Vec<CredentialError>> {
        let mut errors = Vec::new();
        let name = creditor_name.trim();
        if name.is_empty() || name.chars().count() > 70 {
            errors.push(CredentialError {
                field: "creditor_name",
                message: "Give the creditor's name (1 to 70 characters).".into(),
            });
        }
        let creditor_id = CreditorId::parse(creditor_id).map_err(|e| CredentialError {
            field: "creditor_id",
            message: e.to_string(),
        });
        let iban = catalyst_sepa::validate(iban).map_err(|e| CredentialError {
            field: "iban",
            message: e.to_string(),
        });
        let bic = Bic::parse(bic).map_err(|e| CredentialError {
            field: "bic",
            message: e.to_string(),
        });
        match (creditor_id, iban, bic) {
            (Ok(creditor_id), Ok(iban), Ok(bic)) if errors.is_empty() => Ok(BatchCredentials {
                creditor_name: name.to_owned(),
                creditor_id,
                iban: Secret::new(iban.as_str().to_owned()),
                bic,
                pain_version: Version::V08,
            }),
            (c, i, b) => {
                errors.extend([c.err(), i.err(), b.err()].into_iter().flatten());
                Err(errors)
            }
        }
    }

    /// Reads the stored credentials JSON.
    pub fn from_json(json: &str) -> Result<BatchCredentials, GatewayError> {
        let raw: RawCredentials = serde_json::from_str(json)
            .map_err(|e| GatewayError::Config(format!("BATCH credentials: {e}")))?;
        let version = raw.pain_version.as_deref().map(parse_pain_version);
        let validated =
            BatchCredentials::validate(&raw.creditor_name, &raw.creditor_id, &raw.iban, &raw.bic);
        let validated = match (validated, version) {
            (Ok(c), None) => Ok(c),
            (Ok(c), Some(Ok(pain_version))) => Ok(BatchCredentials { pain_version, ..c }),
            (Ok(_), Some(Err(e))) => Err(vec![e]),
            (Err(mut errors), v) => {
                errors.extend(v.and_then(Result::err));
                Err(errors)
            }
        };
        validated.map_err(|errors| {
            let why: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            GatewayError::Config(format!("BATCH credentials: {}", why.join("; ")))
        })
    }
}

/// The `BATCH` adapter (see the module documentation).
#[derive(Debug, Clone)]
pub struct BatchAdapter {
    credentials: BatchCredentials,
}

impl BatchAdapter {
    /// Builds the adapter from a gateway row; its credentials are required and validated.
    pub fn from_settings(settings: &GatewaySettings) -> Result<BatchAdapter, GatewayError> {
        let json = settings.credentials.as_ref().ok_or_else(|| {
            GatewayError::Config(
                "BATCH gateways need creditor_name, creditor_id, iban and bic".into(),
            )
        })?;
        Ok(BatchAdapter {
            credentials: BatchCredentials::from_json(json.expose())?,
        })
    }

    /// The creditor this gateway collects for.
    pub fn credentials(&self) -> &BatchCredentials {
        &self.credentials
    }
}

#[async_trait::async_trait]
impl GatewayAdapter for BatchAdapter {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn debit(&self, req: &DebitRequest) -> Result<GatewayOutcome, GatewayError> {
        Ok(pending(&req.transaction_id))
    }

    async fn verify(&self, req: &ReconcileRequest) -> Result<GatewayOutcome, GatewayError> {
        Ok(GatewayOutcome::Pending {
            reference: req.transaction_id.clone(),
        })
    }

    async fn reconcile(
        &self,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        Ok(Some(pending(&req.transaction_id)))
    }

    async fn refund(&self, _req: &RefundRequest) -> Result<GatewayOutcome, GatewayError> {
        Err(GatewayError::Config(
            "BATCH gateways cannot refund: credit the debtor from the creditor's bank".into(),
        ))
    }

    fn parse_notification(
        &self,
        _content_type: Option<&str>,
        _body: &[u8],
    ) -> Result<Notification, GatewayError> {
        Err(GatewayError::Protocol(
            "the BATCH gateway sends no notifications (import the bank's files)".into(),
        ))
    }

    fn notification_echo(&self, _n: &Notification) -> Echo {
        Echo {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: "OK".to_owned(),
        }
    }

    fn in_process(&self) -> Option<&dyn InProcessGateway> {
        Some(self)
    }
}

/// Every debit stays pending under our transaction id until a batch carries it to the bank,
/// and the bank answers with files, not queries: the state is whatever the last import set.
fn pending(transaction_id: &str) -> GatewayOutcome {
    GatewayOutcome::Pending {
        reference: transaction_id.to_owned(),
    }
}

impl InProcessGateway for BatchAdapter {
    /// Records nothing in the ledger: the database's transaction row is the record.
    fn debit_now(
        &self,
        _ledger: &mut dyn SandboxLedger,
        req: &DebitRequest,
    ) -> Result<GatewayOutcome, GatewayError> {
        Ok(pending(&req.transaction_id))
    }

    /// Whatever the last import set: pending until then.
    fn reconcile_now(
        &self,
        _ledger: &mut dyn SandboxLedger,
        req: &ReconcileRequest,
    ) -> Result<Option<GatewayOutcome>, GatewayError> {
        Ok(Some(pending(&req.transaction_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_every_credential() {
        let ok = BatchCredentials::validate(
            "Muster GmbH",
            "DE98ZZZ09999999999",
            "DE89 3704 0044 0532 0130 00",
            "COBADEFFXXX",
        )
        .unwrap();
        assert_eq!(ok.iban.expose(), "DE89370400440532013000");
        assert_eq!(ok.creditor_id.to_string(), "DE98ZZZ09999999999");
        let bad = BatchCredentials::validate("", "DE00ZZZ09999999999", "DE00", "NOPE").unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["creditor_name", "creditor_id", "iban", "bic"]);
    }

    #[test]
    fn the_pain_version_defaults_to_08_and_is_validated() {
        let json = |extra: &str| {
            format!(
                r#"{{"creditor_name":"Muster GmbH","creditor_id":"DE98ZZZ09999999999","iban":"DE89370400440532013000","bic":"COBADEFFXXX"{extra}}}"#
            )
        };
        let version =
            |extra: &str| BatchCredentials::from_json(&json(extra)).map(|c| c.pain_version);
        assert_eq!(version("").unwrap(), Version::V08);
        assert_eq!(
            version(r#","pain_version":"pain.008.001.02""#).unwrap(),
            Version::V02
        );
        assert_eq!(
            version(r#","pain_version":"pain.008.001.08""#).unwrap(),
            Version::V08
        );
        let err = version(r#","pain_version":"pain.008.001.05""#).unwrap_err();
        assert!(err.to_string().contains("pain_version"), "{err}");
        assert_eq!(
            parse_pain_version("pain.008.001.09").unwrap_err().field,
            "pain_version"
        );
    }

    #[test]
    fn debits_stay_pending_under_our_id() {
        let mut settings = GatewaySettings::sandbox();
        settings.adapter = NAME.into();
        assert!(BatchAdapter::from_settings(&settings).is_err());
        settings.credentials = Some(Secret::new(
            r#"{"creditor_name":"Muster GmbH","creditor_id":"DE98ZZZ09999999999","iban":"DE89370400440532013000","bic":"COBADEFFXXX"}"#.into(),
        ));
        let adapter = BatchAdapter::from_settings(&settings).unwrap();
        let req = DebitRequest::example("TXN-20261204-0000ABCD");
        assert_eq!(
            adapter
                .debit_now(&mut crate::sandbox::MemoryRecords::default(), &req)
                .unwrap(),
            GatewayOutcome::Pending {
                reference: "TXN-20261204-0000ABCD".into()
            }
        );
    }
}
