//! Configuration from environment variables, with safe defaults for a first run.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use catalyst_store::{Backend, DataKey, DatabaseUrl};

/// Everything the binary reads from its environment.
#[derive(Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: String,
    pub public_url: String,
    pub livemode: bool,
    pub pool_size: u32,
    /// HTTP worker threads (`CATALYST_WORKERS`, default: the pool size). A request's database
    /// step runs on its worker when a pooled connection is idle (`catalyst_api::db`), so as
    /// many workers as connections keep them all busy.
    pub workers: usize,
    pub data_key: DataKey,
    /// Where the data key came from (for the start-up message).
    pub data_key_source: String,
    /// Where the first start writes the demo tenant's ids and keys (mode 0600): next to the
    /// data key file, `catalyst-demo.json`.
    pub demo_credentials_file: PathBuf,
    pub json_logs: bool,
    /// Upper bound of one gateway call (`CATALYST_GATEWAY_TIMEOUT_SECS`, default 30).
    pub gateway_timeout: std::time::Duration,
    /// How old a pending transaction must be before the recovery worker reconciles it
    /// (`CATALYST_RECOVERY_GRACE_SECS`, default 90).
    pub recovery_grace: std::time::Duration,
    /// How often the recovery worker looks (`CATALYST_RECOVERY_INTERVAL_SECS`, default 15).
    pub recovery_interval: std::time::Duration,
    /// How often the billing run sends due notices and collects due renewals
    /// (`CATALYST_BILLING_INTERVAL_SECS`, default 60).
    pub billing_interval: std::time::Duration,
    /// How long a debit may await the customer's verification before it is reconciled and, if
    /// never completed, expired (`CATALYST_VERIFICATION_TIMEOUT_SECS`, default 3600).
    pub verification_timeout: std::time::Duration,
    /// Shrinks the webhook retry ladder (`CATALYST_WEBHOOK_RETRY_SCALE`, e.g. `0.001` turns
    /// 1 min into 60 ms) for demos and tests; unset = the documented ladder.
    pub webhook_retry_scale: Option<f64>,
    /// How long a claimed delivery stays with its worker (`CATALYST_WEBHOOK_LEASE_SECS`,
    /// default 60): after a crash, its deliveries are sent again once the lease runs out.
    pub webhook_lease: std::time::Duration,
    /// The `iban_validate` rate limit per key and second (`CATALYST_IBAN_VALIDATE_RATE`, 50).
    pub iban_validate_rate: f64,
    /// Whether webhook and gateway endpoints may be loopback, private or link-local addresses
    /// or this server's own host (`CATALYST_ALLOW_PRIVATE_TARGETS`, default: not livemode).
    pub allow_private_targets: bool,
    /// The bearer token `GET /metrics` requires (`CATALYST_METRICS_TOKEN`, at least 16
    /// characters); unset = no metrics route.
    pub metrics_token: Option<String>,
}

fn seconds(name: &str, default: u64) -> anyhow::Result<std::time::Duration> {
    let secs = match var(name) {
        Some(v) => v
            .parse()
            .with_context(|| format!("{name} must be a whole number of seconds"))?,
        None => default,
    };
    Ok(std::time::Duration::from_secs(secs))
}

/// Values from the optional configuration file, loaded once by [`Config::from_env`].
static FILE: std::sync::OnceLock<std::collections::HashMap<String, String>> =
    std::sync::OnceLock::new();

/// An environment variable, else the same key in the configuration file.
fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .or_else(|| FILE.get().and_then(|f| f.get(name).cloned()))
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Reads `catalyst.toml` (or the file `CATALYST_CONFIG` names, which must then exist): the same
/// keys as the environment variables, upper or lower case (`DATABASE_URL = "…"` or
/// `database_url = "…"`), strings, numbers or booleans. The environment wins over the file.
pub fn parse_file(text: &str) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let table: toml::Table = text.parse().context("catalyst.toml is not valid TOML")?;
    table
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => anyhow::bail!(
                    "catalyst.toml: {key} must be a string, number or boolean, not {}",
                    other.type_str()
                ),
            };
            Ok((key.to_ascii_uppercase(), text))
        })
        .collect()
}

fn load_file() -> anyhow::Result<()> {
    let (path, required) = match std::env::var("CATALYST_CONFIG") {
        Ok(p) if !p.trim().is_empty() => (PathBuf::from(p.trim()), true),
        _ => (PathBuf::from("catalyst.toml"), false),
    };
    let values = match std::fs::read_to_string(&path) {
        Ok(text) => parse_file(&text).with_context(|| path.display().to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Default::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let _ = FILE.set(values);
    Ok(())
}

impl Config {
    /// Reads `DATABASE_URL`, `CATALYST_BIND`, `CATALYST_PUBLIC_URL`, `CATALYST_DATA_KEY`
    /// (or `CATALYST_DATA_KEY_FILE`), `CATALYST_LIVEMODE`, `CATALYST_POOL_SIZE`, `CATALYST_WORKERS`,
    /// `CATALYST_LOG_FORMAT`.
    pub fn from_env() -> anyhow::Result<Self> {
        load_file()?;
        let database_url = DatabaseUrl::parse(
            &var("DATABASE_URL").unwrap_or_else(|| "sqlite://./catalyst.db".into()),
        )
        .context("DATABASE_URL")?;
        let bind = var("CATALYST_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let public_url = var("CATALYST_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        let livemode = flag(
            "CATALYST_LIVEMODE",
            var("CATALYST_LIVEMODE").as_deref(),
            false,
        )?;
        let allow_private_targets = flag(
            "CATALYST_ALLOW_PRIVATE_TARGETS",
            var("CATALYST_ALLOW_PRIVATE_TARGETS").as_deref(),
            !livemode,
        )?;
        let pool_size = match var("CATALYST_POOL_SIZE") {
            Some(n) => n.parse().context("CATALYST_POOL_SIZE")?,
            None if database_url.backend() == Backend::Sqlite => 8,
            None => 16,
        };
        let workers = workers(var("CATALYST_WORKERS").as_deref(), pool_size)?;
        let key_path = var("CATALYST_DATA_KEY_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| default_key_path(&database_url));
        let demo_credentials_file = key_path.with_file_name("catalyst-demo.json");
        let (data_key, data_key_source) = match var("CATALYST_DATA_KEY") {
            Some(b64) => (
                DataKey::from_base64(&b64).context("CATALYST_DATA_KEY must be 32 bytes, base64")?,
                "CATALYST_DATA_KEY".into(),
            ),
            None => (
                load_or_create_key(&key_path)?,
                key_path.display().to_string(),
            ),
        };
        let metrics_token = var("CATALYST_METRICS_TOKEN");
        if metrics_token.as_ref().is_some_and(|t| t.len() < 16) {
            bail!("CATALYST_METRICS_TOKEN must be at least 16 characters");
        }
        let json_logs = matches!(var("CATALYST_LOG_FORMAT").as_deref(), Some("json"));
        Ok(Self {
            database_url,
            bind,
            public_url,
            livemode,
            pool_size,
            workers,
            data_key,
            data_key_source,
            demo_credentials_file,
            json_logs,
            allow_private_targets,
            metrics_token,
            gateway_timeout: seconds("CATALYST_GATEWAY_TIMEOUT_SECS", 30)?,
            recovery_grace: seconds("CATALYST_RECOVERY_GRACE_SECS", 90)?,
            recovery_interval: seconds("CATALYST_RECOVERY_INTERVAL_SECS", 15)?,
            billing_interval: seconds("CATALYST_BILLING_INTERVAL_SECS", 60)?,
            verification_timeout: seconds("CATALYST_VERIFICATION_TIMEOUT_SECS", 3600)?,
            webhook_retry_scale: var("CATALYST_WEBHOOK_RETRY_SCALE")
                .map(|v| v.parse::<f64>())
                .transpose()
                .context("CATALYST_WEBHOOK_RETRY_SCALE must be a number")?,
            webhook_lease: seconds("CATALYST_WEBHOOK_LEASE_SECS", 60)?,
            iban_validate_rate: var("CATALYST_IBAN_VALIDATE_RATE")
                .map(|v| v.parse::<f64>())
                .transpose()
                .context("CATALYST_IBAN_VALIDATE_RATE must be a number")?
                .unwrap_or(50.0),
        })
    }
}

/// A boolean setting: `true`/`1`/`yes` or `false`/`0`/`no`, else `default` when unset.
fn flag(name: &str, value: Option<&str>, default: bool) -> anyhow::Result<bool> {
    match value {
        None => Ok(default),
        Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(other) => bail!("{name} must be true or false, not {other:?}"),
    }
}

/// The host of a listen address (`127.0.0.1:8080` → `127.0.0.1`, `[::]:8080` → `[::]`): outbound
/// targets may not name it unless private targets are allowed.
pub fn bind_host(bind: &str) -> &str {
    bind.rsplit_once(':').map_or(bind, |(host, _)| host)
}

/// Next to the SQLite file (`./catalyst.db` → `./catalyst.key`), else `./catalyst.key`.
fn default_key_path(url: &DatabaseUrl) -> PathBuf {
    match url.backend() {
        Backend::Sqlite => Path::new(url.target()).with_extension("key"),
        Backend::Postgres => PathBuf::from("./catalyst.key"),
    }
}

/// The key in the data key file at `path`, created with a fresh key (mode 0600) if absent.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<DataKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            DataKey::from_base64(&text).with_context(|| format!("data key file {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = DataKey::generate();
            write_private(path, &key.to_base64())
                .with_context(|| format!("writing data key {}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading data key {}", path.display())),
    }
}

/// `CATALYST_WORKERS`: a whole number above 0, by default the pool size.
fn workers(value: Option<&str>, pool_size: u32) -> anyhow::Result<usize> {
    match value {
        Some(n) => n
            .parse()
            .ok()
            .filter(|&n: &usize| n > 0)
            .context("CATALYST_WORKERS must be a whole number above 0"),
        None => Ok(pool_size.max(1) as usize),
    }
}

/// Writes `text` to a new file at `path` that only its owner can read (0600); an existing file
/// is an error.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::{bind_host, flag, parse_file, workers};

    #[test]
    fn the_bind_host_drops_the_port() {
        assert_eq!(bind_host("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(bind_host("[::]:8080"), "[::]");
        assert_eq!(bind_host("pay.example"), "pay.example");
    }

    #[test]
    fn flags_take_true_or_false_else_the_default() {
        assert!(flag("X", None, true).unwrap());
        assert!(!flag("X", None, false).unwrap());
        assert!(flag("X", Some("yes"), false).unwrap());
        assert!(!flag("X", Some("0"), true).unwrap());
        let err = flag("CATALYST_ALLOW_PRIVATE_TARGETS", Some("maybe"), true).unwrap_err();
        assert!(err.to_string().contains("CATALYST_ALLOW_PRIVATE_TARGETS"));
    }

    #[test]
    fn workers_default_to_the_pool_size() {
        assert_eq!(workers(None, 16).unwrap(), 16);
        assert_eq!(workers(None, 0).unwrap(), 1);
        assert_eq!(workers(Some("3"), 16).unwrap(), 3);
        assert!(workers(Some("0"), 16).is_err());
        assert!(workers(Some("many"), 16).is_err());
    }

    #[test]
    fn the_file_takes_the_environment_keys_in_either_case() {
        let values = parse_file(
            "database_url = \"sqlite://x.db\"\nCATALYST_POOL_SIZE = 4\ncatalyst_livemode = true\n",
        )
        .unwrap();
        assert_eq!(values["DATABASE_URL"], "sqlite://x.db");
        assert_eq!(values["CATALYST_POOL_SIZE"], "4");
        assert_eq!(values["CATALYST_LIVEMODE"], "true");
        assert!(parse_file("database_url = [1]").is_err());
        assert!(parse_file("not toml =").is_err());
    }
}
