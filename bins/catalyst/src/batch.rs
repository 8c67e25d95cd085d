//! `catalyst batch …`: the bank files of BATCH gateways (SEPA.md "Importing bank reports").

use anyhow::Context;
use catalyst_api::bank_reports;
use catalyst_store::Store;
use clap::Subcommand;

/// Bank-file commands.
#[derive(Subcommand)]
pub enum BatchCommand {
    /// Import a bank report (pain.002 status report or camt.054 notification) for a tenant's
    /// BATCH gateway; prints the summary as JSON. Importing the same file again changes nothing
    /// and prints the first summary with `"duplicate": true`.
    Import {
        /// The XML file.
        file: std::path::PathBuf,
        /// The tenant whose collections it reports on.
        #[arg(long)]
        tenant: String,
        /// The BATCH gateway (default: the tenant's only active BATCH gateway).
        #[arg(long)]
        gateway: Option<String>,
    },
}

/// Runs a `batch` command.
pub fn run(store: &Store, command: BatchCommand) -> anyhow::Result<()> {
    match command {
        BatchCommand::Import {
            file,
            tenant,
            gateway,
        } => import(store, &file, &tenant, gateway),
    }
}

fn import(
    store: &Store,
    file: &std::path::Path,
    tenant: &str,
    gateway: Option<String>,
) -> anyhow::Result<()> {
    let gateway = match gateway {
        Some(g) => g,
        None => {
            let ids = store.read(|c| catalyst_store::bank_reports::batch_gateway_ids(c, tenant))?;
            match ids.as_slice() {
                [one] => one.clone(),
                [] => anyhow::bail!("tenant {tenant} has no active BATCH gateway"),
                many => anyhow::bail!(
                    "tenant {tenant} has several BATCH gateways, choose one with --gateway: {}",
                    many.join(", ")
                ),
            }
        }
    };
    let len = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    anyhow::ensure!(
        len <= bank_reports::MAX_REPORT_BYTES as u64,
        "{} is {len} bytes, more than the {} accepted",
        file.display(),
        bank_reports::MAX_REPORT_BYTES
    );
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let outcome = bank_reports::import(store, tenant, &gateway, &bytes)
        .map_err(|e| anyhow::anyhow!("{}", e.body()))?;
    let (status, body) =
        bank_reports::answer(outcome).map_err(|e| anyhow::anyhow!("{}", e.body()))?;
    println!("{body}");
    anyhow::ensure!(status.is_success(), "nothing was imported");
    Ok(())
}
