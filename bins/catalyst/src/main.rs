//! `catalyst`: the server and the operator CLI. Configuration and wiring only.

mod batch;
mod config;
mod otel;

use std::time::Duration;

use actix_web::{App, HttpServer};
use anyhow::Context;
use batch::BatchCommand;
use catalyst_api::{ApiConfig, AppState, provision, workers};
use catalyst_domain::TenantId;
use catalyst_domain::token::KeyKind;
use catalyst_store::{Store, StoreConfig};
use clap::{Parser, Subcommand};
use config::Config;

/// mimalloc instead of glibc malloc: the server allocates many short-lived strings and rows
/// on many threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "catalyst",
    version,
    about = "Catalyst: self-hosted SEPA Direct Debit payment sessions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run a local fake of the emerchantpay Genesis gateway (for demos and tests; built with
    /// `--features fake-genesis`).
    #[cfg(feature = "fake-genesis")]
    FakeGenesis {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 9393)]
        port: u16,
        /// Delay before answering each transaction (simulates a slow gateway).
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// The sandbox gateway's operator controls.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// Recurring billing.
    Billing {
        #[command(subcommand)]
        command: BillingCommand,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Manage a tenant's API keys as the operator.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Re-seal every sealed value (IBANs, holder names, gateway credentials, webhook secrets,
    /// secrets in stored idempotent responses) from the configured data key to a new one, in
    /// batches; an interrupted run resumes where it stopped. Stop the servers first.
    RotateDataKey {
        /// The new key's file: read if it exists (a resumed run), else generated (mode 0600).
        #[arg(long)]
        new_key_file: std::path::PathBuf,
        /// Rows per batch (one transaction each).
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Import a CSV file of leads, orders, transactions or chargebacks for a tenant (API.md §12); prints the report as
    /// JSON and fails when nothing was stored.
    Import {
        /// `leads`, `orders`, `transactions` or `chargebacks`.
        kind: String,
        /// The CSV file (read as a stream).
        file: std::path::PathBuf,
        /// The tenant the rows belong to.
        #[arg(long)]
        tenant: String,
        /// Store the good rows and report the bad ones.
        #[arg(long)]
        partial: bool,
        /// The webhook profile the `*.imported` events go to.
        #[arg(long)]
        webhook_profile: Option<String>,
    },
    /// Bank files of BATCH gateways: pain.008 export, bank report import.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// Create (or find again) the demo tenant with a sandbox gateway, campaigns, a hosted page
    /// and a webhook profile; print their ids and fresh keys.
    Demo {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Also deliver the demo profile's webhooks to this URL.
        #[arg(long)]
        webhook_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// Advance the sandbox clock: apply the "later" outcomes (API.md §8) — MD06 chargebacks and
    /// AM04 returns — to approved sandbox debits.
    Settle {
        /// Only this tenant's debits.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum BillingCommand {
    /// Send due pre-notifications and collect due renewals once (what the server does every
    /// minute), then print what was done.
    Run {
        /// List what would be collected and notified; write nothing, call no gateway.
        #[arg(long)]
        dry_run: bool,
        /// The billing date (`YYYY-MM-DD`, default today, UTC): collects what is due by then.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Issue a new key for a tenant (e.g. one that revoked its last `sk_` key) and print it
    /// once: only its hash is stored.
    Create {
        /// The tenant's id.
        #[arg(long)]
        tenant: String,
        /// `secret` (`sk_`, the management API) or `restricted` (`rk_`).
        #[arg(long, value_parser = parse_kind)]
        kind: KeyKind,
        /// A name for the key.
        #[arg(long)]
        name: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn parse_kind(text: &str) -> Result<KeyKind, String> {
    text.parse()
        .map_err(|_| format!("{text:?}: expected secret or restricted"))
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and print its id and first keys.
    Create {
        /// The tenant's name.
        #[arg(long)]
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    catalyst_gateway::install_crypto_provider();
    #[cfg(feature = "fake-genesis")]
    if let Some(Command::FakeGenesis { port, delay_ms }) = cli.command {
        let config = catalyst_gateway::fake::FakeConfig {
            delay: Duration::from_millis(delay_ms),
            ..Default::default()
        };
        return Ok(catalyst_gateway::fake::run_blocking(
            config,
            &format!("127.0.0.1:{port}"),
        )?);
    }
    let config = Config::from_env()?;
    let _telemetry = init_tracing(config.json_logs)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        #[cfg(feature = "fake-genesis")]
        Command::FakeGenesis { .. } => unreachable!("handled before configuration is read"),
        Command::Migrate => {
            open_store(&config, false)?;
            println!("migrations applied to {}", config.database_url);
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::Create { name, json },
        } => {
            let creds = provision::create_tenant(&open_store(&config, false)?, &name)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&creds)?);
            } else {
                println!(
                    "tenant_id:      {}\nsecret_key:     {}\nrestricted_key: {}",
                    creds.tenant_id, creds.secret_key, creds.restricted_key
                );
            }
            Ok(())
        }
        Command::Key {
            command:
                KeyCommand::Create {
                    tenant,
                    kind,
                    name,
                    json,
                },
        } => {
            let store = open_store(&config, false)?;
            let issued =
                match provision::create_key(&store, &TenantId::from(tenant.as_str()), kind, name) {
                    Err(catalyst_store::StoreError::NotFound) => {
                        anyhow::bail!("no tenant with id {tenant}")
                    }
                    other => other?,
                };
            if json {
                println!("{}", serde_json::to_string_pretty(&issued)?);
            } else {
                println!(
                    "tenant_id: {}\nkey_id:    {}\nkind:      {}\nkey:       {}\n(shown once: only its hash is stored)",
                    issued.tenant_id, issued.id, issued.kind, issued.key
                );
            }
            Ok(())
        }
        Command::RotateDataKey {
            new_key_file,
            batch,
        } => rotate_data_key(&config, &new_key_file, batch),
        Command::Sandbox {
            command: SandboxCommand::Settle { tenant },
        } => {
            anyhow::ensure!(
                !config.livemode,
                "the sandbox has no settlement in livemode"
            );
            let reversed = catalyst_api::settlement::settle_sandbox(
                &open_store(&config, false)?,
                tenant.as_deref(),
            )?;
            for c in &reversed {
                println!(
                    "{} {} {} transaction {}",
                    c.kind,
                    c.reason_code.as_deref().unwrap_or("-"),
                    c.id,
                    c.transaction_id
                );
            }
            println!("settled: {}", reversed.len());
            Ok(())
        }
        Command::Billing {
            command:
                BillingCommand::Run {
                    dry_run,
                    date,
                    json,
                },
        } => billing_run(&config, dry_run, date, json),
        Command::Import {
            kind,
            file,
            tenant,
            partial,
            webhook_profile,
        } => {
            let kind = catalyst_api::imports::Kind::parse(&kind).ok_or_else(|| {
                anyhow::anyhow!("KIND is leads, orders, transactions or chargebacks, not {kind}")
            })?;
            let input = std::io::BufReader::new(std::fs::File::open(&file)?);
            let store = open_store(&config, false)?;
            let outcome = catalyst_api::imports::import(
                &store,
                &TenantId::from(tenant.as_str()),
                kind,
                partial,
                webhook_profile.as_deref(),
                input,
            )
            .map_err(|e| anyhow::anyhow!("{}", e.body()))?;
            let (status, body) = catalyst_api::imports::answer(kind, outcome)
                .map_err(|e| anyhow::anyhow!("{}", e.body()))?;
            println!("{body}");
            anyhow::ensure!(status.is_success(), "nothing was imported");
            Ok(())
        }
        Command::Batch { command } => batch::run(&open_store(&config, false)?, command),
        Command::Demo { json, webhook_url } => {
            let setup = provision::demo(
                &open_store(&config, false)?,
                &config.public_url,
                webhook_url.as_deref(),
            )?;
            print_demo(&setup, json)
        }
    }
}

/// `catalyst rotate-data-key`: re-seals everything under the key in `new_key_file`.
fn rotate_data_key(
    config: &Config,
    new_key_file: &std::path::Path,
    batch: i64,
) -> anyhow::Result<()> {
    anyhow::ensure!(batch > 0, "--batch must be above 0");
    let new = config::load_or_create_key(new_key_file)?;
    let old = &config.data_key;
    anyhow::ensure!(
        new.id() != old.id(),
        "{} holds the key in use ({}); give a new file",
        new_key_file.display(),
        config.data_key_source
    );
    let store = open_store(config, false)?;
    let rotation = catalyst_store::rotation::Rotation::new(old, &new, batch);
    let mut conn = store.conn()?;
    let report = rotation.run(&mut conn, None)?;
    println!(
        "re-sealed {} values in {} batches from key {} to key {}.\nNow point CATALYST_DATA_KEY_FILE at {} (or set CATALYST_DATA_KEY to its content), then start the servers; keep the old key file until they run on the new one.",
        report.resealed,
        report.batches,
        old.id(),
        new.id(),
        new_key_file.display()
    );
    Ok(())
}

/// `catalyst billing run`: one billing run on a state of its own (the sandbox answers
/// in-process, as in the server).
fn billing_run(
    config: &Config,
    dry_run: bool,
    date: Option<chrono::NaiveDate>,
    json: bool,
) -> anyhow::Result<()> {
    let store = open_store(config, false)?;
    let mut api_config = ApiConfig::new(config.public_url.clone());
    api_config.livemode = config.livemode;
    api_config.gateway_timeout = config.gateway_timeout;
    api_config.allow_private_targets = config.allow_private_targets;
    let state = AppState::new(store, api_config);
    let now = catalyst_store::now();
    let today = date.unwrap_or(now.date());
    let report = actix_web::rt::System::new()
        .block_on(catalyst_api::billing::run_once(&state, today, now, dry_run))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for item in &report.items {
        println!(
            "{:<21} {} {} {} {} {}",
            item.action,
            item.subscription_id,
            item.billing_period,
            item.amount,
            item.currency,
            item.outcome.unwrap_or("")
        );
    }
    println!(
        "{}{}: due {}, collected {} (approved {}, declined {}, pending {}), cancelled {}, notices {}",
        report.date,
        if dry_run { " (dry run)" } else { "" },
        report.due,
        report.collected,
        report.approved,
        report.declined,
        report.pending,
        report.cancelled,
        report.notices
    );
    Ok(())
}

/// Logs to stderr (text or JSON), plus the OpenTelemetry export when built and configured
/// ([`otel`]); the guard flushes the export when `main` ends.
fn init_tracing(json: bool) -> anyhow::Result<otel::Guard> {
    use tracing_subscriber::prelude::*;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,actix_server=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    let (export, guard) = otel::layer()?;
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(export)
        .init();
    if otel::endpoint_configured() && !cfg!(feature = "otel") {
        tracing::warn!(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but this build has no OpenTelemetry export; build with `--features otel`"
        );
    }
    Ok(guard)
}

/// The store for `serve` (`serving`: one connection kept idle) or for a one-shot command (none:
/// a connection still being opened in the background when the process exits can crash the
/// TLS library's exit-time cleanup).
fn open_store(config: &Config, serving: bool) -> anyhow::Result<Store> {
    let mut store_config = StoreConfig::new(config.database_url.clone(), config.data_key.clone());
    store_config.pool_size = config.pool_size;
    store_config.min_idle = u32::from(serving);
    Store::open(store_config).with_context(|| format!("opening {}", config.database_url))
}

fn print_demo(setup: &provision::DemoSetup, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(setup)?);
        return Ok(());
    }
    for (key, value) in [
        ("tenant_id", setup.tenant_id.as_str()),
        ("secret_key", setup.secret_key.as_str()),
        ("restricted_key", setup.restricted_key.as_str()),
        ("gateway_id", setup.gateway_id.as_str()),
        ("campaign_id", setup.campaign_id.as_str()),
        (
            "recurring_campaign_id",
            setup.recurring_campaign_id.as_str(),
        ),
        ("hosted_page_id", setup.hosted_page_id.as_str()),
        ("webhook_profile_id", setup.webhook_profile_id.as_str()),
        ("webhook_secret", setup.webhook_secret.as_str()),
        ("base_url", setup.base_url.as_str()),
    ] {
        println!("{key:<22} {value}");
    }
    Ok(())
}

/// Hands the first start's demo keys to the operator without putting them in the log: they go
/// to a file only its owner can read, whose path is logged, and to the terminal when stdout is
/// one (a newcomer's `cargo run`). A service manager's captured output never holds them.
fn announce_first_start(
    setup: &provision::DemoSetup,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("replacing {}", path.display()));
        }
        _ => {}
    }
    config::write_private(path, &serde_json::to_string_pretty(setup)?)
        .with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(file = %path.display(), "first start: created the demo tenant; its ids and keys are in this file (mode 0600); `catalyst demo` issues fresh keys and revokes these");
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        println!(
            "\nFirst start: created the demo tenant ({}):\n",
            path.display()
        );
        print_demo(setup, false)?;
        println!();
    }
    Ok(())
}

#[actix_web::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config, true)?;
    tracing::info!(database = %config.database_url, data_key = %config.data_key_source, livemode = config.livemode, "store ready");
    if !config.livemode && provision::is_empty(&store)? {
        let setup = provision::demo(&store, &config.public_url, None)?;
        announce_first_start(&setup, &config.demo_credentials_file)?;
    }
    let mut api_config = ApiConfig::new(config.public_url.clone());
    api_config.livemode = config.livemode;
    api_config.gateway_timeout = config.gateway_timeout;
    api_config.iban_validate_per_sec = config.iban_validate_rate;
    api_config.allow_private_targets = config.allow_private_targets;
    api_config.own_hosts = vec![config::bind_host(&config.bind).to_owned()];
    api_config.metrics_token = config.metrics_token.clone();
    let state = AppState::new(store.clone(), api_config);

    let (stop_workers, shutdown) = tokio::sync::watch::channel(false);
    let sweeper = tokio::spawn(workers::expiry_sweeper(
        state.clone(),
        Duration::from_secs(30),
        shutdown.clone(),
    ));
    let recovery_policy = catalyst_api::recovery::RecoveryPolicy {
        grace: chrono::Duration::from_std(config.recovery_grace)?,
        verification_timeout: chrono::Duration::from_std(config.verification_timeout)?,
        // A claim outlives the reconcile it covers (one gateway call).
        lease: chrono::Duration::from_std(config.gateway_timeout * 2)?
            .max(chrono::Duration::minutes(5)),
        ..Default::default()
    };
    let recovery = tokio::spawn(catalyst_api::recovery::run(
        state.clone(),
        config.recovery_interval,
        recovery_policy,
        shutdown.clone(),
    ));
    let billing = tokio::spawn(catalyst_api::billing::run(
        state.clone(),
        config.billing_interval,
        shutdown.clone(),
    ));
    let mut dispatch = catalyst_api::dispatcher::DispatcherConfig {
        lease: chrono::Duration::from_std(config.webhook_lease)?,
        ..Default::default()
    };
    if let Some(scale) = config.webhook_retry_scale {
        dispatch.retry = catalyst_webhooks::RetryPolicy::scaled(scale)?;
    }
    let dispatcher = tokio::spawn(catalyst_api::dispatcher::run(
        state.clone(),
        dispatch,
        shutdown,
    ));

    let server = HttpServer::new(move || {
        App::new().configure(|cfg| catalyst_api::configure(cfg, state.clone()))
    })
    .workers(config.workers)
    .bind(&config.bind)
    .with_context(|| format!("binding {}", config.bind))?
    .shutdown_timeout(15)
    .run();
    eprintln!(
        "Catalyst listening on {} (public URL {})",
        config.bind, config.public_url
    );
    server.await?;
    let _ = stop_workers.send(true);
    let _ = sweeper.await;
    let _ = recovery.await;
    let _ = billing.await;
    let _ = dispatcher.await;
    tracing::info!("stopped");
    Ok(())
}
