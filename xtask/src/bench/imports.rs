//! `cargo xtask bench imports`: per backend, one `catalyst import` of --rows generated leads,
//! then one of as many orders of those leads, one of a debit per order (each under a mandate
//! of its own) and one of a chargeback for every tenth debit: rows/s (process start to exit)
//! and the process's peak resident set size, which must not grow with the file (the import
//! streams).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::sessions::Deployment;
use super::{Backend, Options, sys};

/// One import's figures.
struct Run {
    backend: Backend,
    kind: &'static str,
    rows: usize,
    wall: Duration,
    peak_rss_kib: u64,
}

pub fn run(options: &Options, target: &Path) -> Result<()> {
    let binary = target.join("release").join(super::exe("catalyst"));
    if !binary.is_file() {
        bail!(
            "{} is missing (build it without --no-build)",
            binary.display()
        );
    }
    println!(
        "bench imports: {} rows per file; load average before: {}",
        options.rows,
        sys::loadavg()
    );
    let mut runs = Vec::new();
    for &backend in &options.backends {
        println!("\n== {} ==", backend.name());
        let mut deployment = Deployment::start(options, backend, &binary, None)?;
        deployment.server.stop();
        let dir = deployment.work.path().to_owned();
        let files = Files {
            leads: dir.join("leads.csv"),
            orders: dir.join("orders.csv"),
            transactions: dir.join("transactions.csv"),
            chargebacks: dir.join("chargebacks.csv"),
        };
        generate(&files, options.rows, &deployment.demo.gateway_id)?;
        for (kind, file, rows) in [
            ("leads", &files.leads, options.rows),
            ("orders", &files.orders, options.rows),
            ("transactions", &files.transactions, options.rows),
            ("chargebacks", &files.chargebacks, options.rows.div_ceil(10)),
        ] {
            let mut cmd = deployment.env.command(&binary);
            cmd.args(["import", kind])
                .arg(file)
                .args(["--tenant", &deployment.demo.tenant_id]);
            let (wall, peak_rss_kib, report) = measure(cmd)?;
            if report["imported"].as_u64() != Some(rows as u64) {
                bail!("catalyst import {kind}: unexpected report {report}");
            }
            let run = Run {
                backend,
                kind,
                rows,
                wall,
                peak_rss_kib,
            };
            println!(
                "{kind}: {} rows in {:.2} s = {:.0} rows/s, peak RSS {:.1} MiB",
                run.rows,
                wall.as_secs_f64(),
                run.rows as f64 / wall.as_secs_f64(),
                peak_rss_kib as f64 / 1024.0
            );
            runs.push(run);
        }
        deployment.finish();
    }
    println!(
        "\n| backend | kind | rows | seconds | rows/s | peak RSS (MiB) |\n|---|---|---|---|---|---|"
    );
    for r in &runs {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.1} |",
            r.backend.name(),
            r.kind,
            r.rows,
            r.wall.as_secs_f64(),
            r.rows as f64 / r.wall.as_secs_f64(),
            r.peak_rss_kib as f64 / 1024.0
        );
    }
    println!("load average after: {}", sys::loadavg());
    Ok(())
}

/// The generated CSV files.
struct Files {
    leads: std::path::PathBuf,
    orders: std::path::PathBuf,
    transactions: std::path::PathBuf,
    chargebacks: std::path::PathBuf,
}

/// Writes `n` leads, one order for each (with its own number), one approved debit per order on
/// `gateway`, and a chargeback of every tenth debit.
fn generate(files: &Files, n: usize, gateway: &str) -> Result<()> {
    let create = |p: &Path| -> Result<BufWriter<std::fs::File>> {
        Ok(BufWriter::new(std::fs::File::create(p)?))
    };
    let (mut l, mut o) = (create(&files.leads)?, create(&files.orders)?);
    let (mut t, mut c) = (create(&files.transactions)?, create(&files.chargebacks)?);
    writeln!(l, "email,first_name,last_name,country,city,postal_code")?;
    writeln!(o, "email,amount,currency,status,order_number")?;
    writeln!(
        t,
        "order_number,gateway_id,iban,iban_holder_name,amount,currency,status,created_at,merchant_transaction_id"
    )?;
    writeln!(c, "merchant_transaction_id,reason_code,report_date")?;
    for i in 0..n {
        writeln!(
            l,
            "lead{i}@bench.example,Lead,\"Number {i}, Jr.\",DE,Berlin,{:05}",
            i % 100_000
        )?;
        let amount = format!("{}.{:02}", 1 + i % 500, i % 100);
        writeln!(o, "lead{i}@bench.example,{amount},EUR,COMPLETED,BENCH-{i}")?;
        writeln!(
            t,
            "BENCH-{i},{gateway},DE89370400440532013000,Lead Number {i},{amount},EUR,approved,2026-11-02T10:00:00Z,BENCH-TXN-{i}"
        )?;
        if i % 10 == 0 {
            writeln!(c, "BENCH-TXN-{i},MD06,2026-11-20")?;
        }
    }
    for mut w in [l, o, t, c] {
        w.flush()?;
    }
    Ok(())
}

/// Runs `cmd` to its end: wall time, peak RSS (KiB, the last `VmHWM` read before it exited)
/// and its JSON report.
fn measure(mut cmd: Command) -> Result<(Duration, u64, Value)> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting catalyst import")?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait()?.is_none() {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(5));
        sys::check_interrupt()?;
    }
    let wall = started.elapsed();
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "catalyst import failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(2000)]),
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let report =
        serde_json::from_slice(&out.stdout).context("catalyst import printed no report")?;
    Ok((wall, peak, report))
}
