//! `cargo xtask bench imports`: one `catalyst import` of --rows generated leads, then one of
//! as many orders of those leads, per backend: rows/s (process start to exit) and the
//! process's peak resident set size, which must not grow with the file (the import streams).

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
        let leads = dir.join("leads.csv");
        let orders = dir.join("orders.csv");
        generate(&leads, &orders, options.rows)?;
        for (kind, file) in [("leads", &leads), ("orders", &orders)] {
            let mut cmd = deployment.env.command(&binary);
            cmd.args(["import", kind])
                .arg(file)
                .args(["--tenant", &deployment.demo.tenant_id]);
            let (wall, peak_rss_kib, report) = measure(cmd)?;
            if report["imported"].as_u64() != Some(options.rows as u64) {
                bail!("catalyst import {kind}: unexpected report {report}");
            }
            let run = Run {
                backend,
                kind,
                rows: options.rows,
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

/// Writes `n` leads and one order for each of them.
fn generate(leads: &Path, orders: &Path, n: usize) -> Result<()> {
    let mut l = BufWriter::new(std::fs::File::create(leads)?);
    let mut o = BufWriter::new(std::fs::File::create(orders)?);
    writeln!(l, "email,first_name,last_name,country,city,postal_code")?;
    writeln!(o, "email,amount,currency,status")?;
    for i in 0..n {
        writeln!(
            l,
            "lead{i}@bench.example,Lead,\"Number {i}, Jr.\",DE,Berlin,{:05}",
            i % 100_000
        )?;
        writeln!(
            o,
            "lead{i}@bench.example,{}.{:02},EUR,COMPLETED",
            1 + i % 500,
            i % 100
        )?;
    }
    l.flush()?;
    o.flush()?;
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
