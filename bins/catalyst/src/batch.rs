//! `catalyst batch …`: bank files of `BATCH` gateways: cutting pain.008 files
//! (docs/bank-files.md) and importing the bank's reports (SEPA.md "Importing bank reports").

use catalyst_domain::TenantId;
use std::path::PathBuf;

use anyhow::Context;
use catalyst_api::bank_reports;
use catalyst_domain::money::{Currency, decimal_string};
use catalyst_store::Store;
use catalyst_store::batches::{self, Cut};
use clap::Subcommand;

/// The `batch` subcommands.
#[derive(Subcommand)]
pub enum BatchCommand {
    /// Cut a pain.008 file of the pending collections of every active BATCH gateway (or the
    /// one given), write each as `<message_id>.xml` into --out, and print a summary line per
    /// gateway.
    Export {
        /// Only this tenant's gateways.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this gateway.
        #[arg(long)]
        gateway: Option<String>,
        /// The requested collection date (`YYYY-MM-DD`); default the earliest allowed: the
        /// first TARGET2 business day after today (UTC).
        #[arg(long)]
        collection_date: Option<chrono::NaiveDate>,
        /// Where the files go (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Import a bank report (pain.002 status report or camt.054 notification) for a tenant's
    /// BATCH gateway; prints the summary as JSON. Importing the same file again changes nothing
    /// and prints the first summary with `"duplicate": true`.
    Import {
        /// The XML file.
        file: PathBuf,
        /// The tenant whose collections it reports on.
        #[arg(long)]
        tenant: String,
        /// The BATCH gateway (default: the tenant's only active BATCH gateway).
        #[arg(long)]
        gateway: Option<String>,
    },
}

/// Runs a `batch` subcommand.
pub fn run(store: &Store, command: BatchCommand) -> anyhow::Result<()> {
    match command {
        BatchCommand::Export {
            tenant,
            gateway,
            collection_date,
            out,
        } => export(
            store,
            tenant.as_deref(),
            gateway.as_deref(),
            collection_date,
            &out,
        ),
        BatchCommand::Import {
            file,
            tenant,
            gateway,
        } => import(store, &file, &TenantId::from(tenant), gateway),
    }
}

fn export(
    store: &Store,
    tenant: Option<&str>,
    gateway: Option<&str>,
    collection_date: Option<chrono::NaiveDate>,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let gateways = store.read(|c| batches::batch_gateways(c, tenant, gateway))?;
    if let Some(id) = gateway {
        anyhow::ensure!(!gateways.is_empty(), "no active BATCH gateway {id}");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (mut files, mut failed) = (0, 0);
    for g in &gateways {
        // A file holds at most MAX_COLLECTIONS_PER_FILE: cut again until the rest is filed.
        let mut filed_any = false;
        loop {
            let cut = catalyst_api::batches::cut_for_gateway(
                store,
                &g.tenant_id,
                &g.id,
                collection_date,
                catalyst_store::now(),
            );
            match cut {
                Ok(Cut::Empty) => {
                    if !filed_any {
                        println!("gateway {} (tenant {}): nothing pending", g.id, g.tenant_id);
                    }
                    break;
                }
                Ok(Cut::Cut(b)) => {
                    let path = out.join(format!("{}.xml", b.message_id));
                    std::fs::write(&path, &b.file)
                        .with_context(|| format!("writing {}", path.display()))?;
                    files += 1;
                    filed_any = true;
                    println!(
                        "gateway {} (tenant {}): batch {} {} collections {} EUR, collection date {}, {} -> {}",
                        g.id,
                        g.tenant_id,
                        b.id,
                        b.transaction_count,
                        decimal_string(b.control_sum_minor, Currency::EUR),
                        b.collection_date,
                        b.pain_version,
                        path.display()
                    );
                    if i64::from(b.transaction_count) < batches::MAX_COLLECTIONS_PER_FILE {
                        break;
                    }
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("gateway {} (tenant {}): {}", g.id, g.tenant_id, e.body());
                    break;
                }
            }
        }
    }
    println!("files written: {files}");
    anyhow::ensure!(failed == 0, "{failed} gateway(s) could not be cut");
    Ok(())
}

fn import(
    store: &Store,
    file: &std::path::Path,
    tenant: &TenantId,
    gateway: Option<String>,
) -> anyhow::Result<()> {
    let gateway = match gateway {
        Some(g) => catalyst_domain::GatewayId::from(g),
        None => {
            let gateways = store.read(|c| batches::batch_gateways(c, Some(tenant), None))?;
            match gateways.as_slice() {
                [one] => one.id.clone(),
                [] => anyhow::bail!("tenant {tenant} has no active BATCH gateway"),
                many => anyhow::bail!(
                    "tenant {tenant} has several BATCH gateways, choose one with --gateway: {}",
                    many.iter()
                        .map(|g| g.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
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
