//! `cargo xtask chaos …`: faults the service must survive, each run against the server binary
//! on a fresh PostgreSQL database, checked against the database afterwards.
//!
//! * `pg-restart` — PostgreSQL restarted while create + pay runs from 16 clients.
//! * `kill-loop` — the server SIGKILLed every 2 s while 10,000 webhook events are produced and
//!   delivered to a local receiver.
//! * `two-instances` — two `catalyst serve` on one database: stuck debits reconciled and due
//!   webhooks delivered by both at once.
//! * `billing` — due subscriptions collected by two `catalyst serve` and two
//!   `catalyst billing run` at once, then by a server SIGKILLed mid-run and a fresh one: each
//!   period collected exactly once.

mod billing;
mod checks;
mod kill_loop;
mod pg_restart;
mod traffic;
mod two_instances;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::bench::sessions::Deployment;
use crate::bench::{self, sys};

const USAGE: &str = "\
usage: cargo xtask chaos <pg-restart|kill-loop|two-instances|billing|all> [options]

scenarios (PostgreSQL; each on a fresh database catalyst_bench_<random>, a local webhook
receiver on 127.0.0.1 and `catalyst demo --webhook-url` pointing at it):
  pg-restart     create + pay from --clients threads; after --warmup s, `pg_ctlcluster <v> main
                 restart`; the load goes on for --after s once PostgreSQL accepts connections.
                 Reports the outage window, 5xx answers inside and outside it, the time from
                 PostgreSQL being back to the first successful answer (must be < 5 s).
                 RESTARTS THE MACHINE'S POSTGRESQL (waits for it and leaves it running).
  kill-loop      create + pay from 4 threads until --events webhook events exist, while the
                 server is SIGKILLed every --kill-every s and started again at once. Reports
                 events produced / delivered / duplicates and kills done.
  two-instances  --stuck debits left pending (as by a server that died after the gateway call),
                 then two `catalyst serve` on the database; each stuck debit must be reconciled
                 once (counted from both servers' logs); then --sessions create + pay spread over
                 both while both dispatchers deliver: one arrival per recorded attempt.
  billing        --subscriptions monthly subscriptions (create + pay, then made due by SQL);
                 part 1: two `catalyst serve` (billing every 1 s) and two `catalyst billing
                 run` start at once; part 2 (fresh database, EMP gateway on `catalyst
                 fake-genesis`): one server SIGKILLed at --kill-at % of the renewals with a
                 renewal at the gateway, then a fresh server. Each subscription must have
                 exactly one approved renewal for the period and be one period further;
                 reports the claims per process, the kill timing and who finished the renewal
                 in flight.
  all            the four in turn.

Afterwards, for each: no session PAYMENT_IN_PROGRESS, no transaction pending, no session
half-paid (COMPLETED ⇔ exactly one approved transaction ⇔ order COMPLETED), every webhook event
delivered to every endpoint (a `delivered` row) and seen by the receiver. Exits non-zero when an
invariant fails.

options:
  --debug                use target/debug/catalyst (`cargo build -p catalyst`) instead of the
                         release build (`cargo build --release -p catalyst`, fat LTO: minutes)
  --no-build             use the existing binary
  --clients N            pg-restart: client threads (default 16)
  --warmup SECS          pg-restart: load before the restart (default 5)
  --after SECS           pg-restart: load after PostgreSQL is back (default 10)
  --events N             kill-loop: webhook events to produce (default 10000)
  --kill-every SECS      kill-loop: server lifetime between kills (default 2)
  --stuck N              two-instances: stuck debits (default 200)
  --sessions N           two-instances: create + pay operations (default 500)
  --subscriptions N      billing: due subscriptions per part (default 2000)
  --kill-at PERCENT      billing: renewals written before the SIGKILL (default 40, 10..=90)
  --rust-log FILTER      RUST_LOG for the servers (default: their own, info)
  --keep                 keep the work directories (server logs) and the databases

environment: BENCH_DATABASE_URL as for `cargo xtask bench` (default
postgres://postgres@127.0.0.1:5432/, must be local).";

/// What `chaos …` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub debug: bool,
    pub no_build: bool,
    pub clients: usize,
    pub warmup: u64,
    pub after: u64,
    pub events: usize,
    pub kill_every: u64,
    pub stuck: usize,
    pub sessions: usize,
    pub subscriptions: usize,
    pub kill_at: usize,
    pub rust_log: Option<String>,
    pub keep: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            debug: false,
            no_build: false,
            clients: 16,
            warmup: 5,
            after: 10,
            events: 10_000,
            kill_every: 2,
            stuck: 200,
            sessions: 500,
            subscriptions: 2_000,
            kill_at: 40,
            rust_log: None,
            keep: false,
        }
    }
}

/// The scenarios, in the order `all` runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    PgRestart,
    KillLoop,
    TwoInstances,
    Billing,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::PgRestart => "pg-restart",
            Scenario::KillLoop => "kill-loop",
            Scenario::TwoInstances => "two-instances",
            Scenario::Billing => "billing",
        }
    }
}

/// The outcome of one scenario: figures to print and the invariants that failed.
#[derive(Debug, Default)]
pub struct Report {
    pub figures: Vec<(String, String)>,
    pub violations: Vec<String>,
}

impl Report {
    pub fn figure(&mut self, name: &str, value: impl std::fmt::Display) {
        self.figures.push((name.to_owned(), value.to_string()));
    }

    pub fn violation(&mut self, what: impl Into<String>) {
        self.violations.push(what.into());
    }
}

/// Runs `cargo xtask chaos` with the arguments after `chaos`.
pub fn run(args: &[String]) -> Result<()> {
    let scenarios = match args.first().map(String::as_str) {
        Some("pg-restart") => vec![Scenario::PgRestart],
        Some("kill-loop") => vec![Scenario::KillLoop],
        Some("two-instances") => vec![Scenario::TwoInstances],
        Some("billing") => vec![Scenario::Billing],
        Some("all") => vec![
            Scenario::PgRestart,
            Scenario::KillLoop,
            Scenario::TwoInstances,
            Scenario::Billing,
        ],
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            return Ok(());
        }
        Some(other) => bail!("unknown chaos scenario {other:?}\n\n{USAGE}"),
    };
    let options = parse(&args[1..])?;
    sys::install_interrupt_handler();
    let binary = binary(&options)?;
    println!(
        "chaos: {} with {}; load average before: {}",
        scenarios
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        binary.display(),
        sys::loadavg()
    );
    let mut failed = Vec::new();
    for scenario in scenarios {
        println!("\n== {} ==", scenario.name());
        let started = std::time::Instant::now();
        let report = match scenario {
            Scenario::PgRestart => pg_restart::run(&options, &binary),
            Scenario::KillLoop => kill_loop::run(&options, &binary),
            Scenario::TwoInstances => two_instances::run(&options, &binary),
            Scenario::Billing => billing::run(&options, &binary),
        }
        .with_context(|| format!("chaos {}", scenario.name()))?;
        println!(
            "\n{} — took {:.0} s",
            scenario.name(),
            started.elapsed().as_secs_f64()
        );
        for (name, value) in &report.figures {
            println!("  {name:<44} {value}");
        }
        if report.violations.is_empty() {
            println!("  invariants: all held");
        } else {
            println!("  INVARIANTS FAILED:");
            for v in &report.violations {
                println!("    - {v}");
            }
            failed.push(scenario.name());
        }
    }
    println!("\nload average after: {}", sys::loadavg());
    if !failed.is_empty() {
        bail!("invariants failed in: {}", failed.join(", "));
    }
    Ok(())
}

/// Stops the servers and drops the database and work directory (kept with `--keep`), showing
/// the end of the server log first when an invariant failed.
fn finish(deployment: Deployment, report: &Report) {
    if !report.violations.is_empty() {
        println!(
            "  end of the server log ({}):\n{}",
            deployment.log.display(),
            sys::tail(&deployment.log, 15)
        );
    }
    deployment.finish();
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| anyhow!("{flag} needs a value\n\n{USAGE}"))
        };
        match flag {
            "--debug" => o.debug = true,
            "--no-build" => o.no_build = true,
            "--keep" => o.keep = true,
            "--rust-log" => o.rust_log = Some(value()?),
            "--clients" => o.clients = number(&value()?, 1, 256, flag)?,
            "--warmup" => o.warmup = number(&value()?, 1, 60, flag)? as u64,
            "--after" => o.after = number(&value()?, 6, 120, flag)? as u64,
            "--events" => o.events = number(&value()?, 4, 100_000, flag)?,
            "--kill-every" => o.kill_every = number(&value()?, 1, 60, flag)? as u64,
            "--stuck" => o.stuck = number(&value()?, 1, 5_000, flag)?,
            "--sessions" => o.sessions = number(&value()?, 1, 20_000, flag)?,
            "--subscriptions" => o.subscriptions = number(&value()?, 10, 100_000, flag)?,
            "--kill-at" => o.kill_at = number(&value()?, 10, 90, flag)?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(o)
}

fn number(s: &str, min: usize, max: usize, flag: &str) -> Result<usize> {
    match s.trim().trim_end_matches('s').parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => bail!("{flag}: {s:?} is not a number in {min}..={max}"),
    }
}

/// The server binary: built first unless `--no-build`.
fn binary(options: &Options) -> Result<PathBuf> {
    let root = bench::workspace_root()?;
    let profile = if options.debug { "debug" } else { "release" };
    if !options.no_build {
        build(&root, options.debug)?;
    }
    let binary = bench::target_dir(&root)
        .join(profile)
        .join(bench::exe("catalyst"));
    if !binary.is_file() {
        bail!("{} is missing (run without --no-build)", binary.display());
    }
    Ok(binary)
}

fn build(root: &Path, debug: bool) -> Result<()> {
    // Part 2 of `chaos billing` runs `catalyst fake-genesis`.
    let mut args = vec![
        "build",
        "-p",
        "catalyst",
        "--features",
        "catalyst/fake-genesis",
    ];
    if !debug {
        args.push("--release");
    }
    eprintln!("building: cargo {}", args.join(" "));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_have_bounds() {
        let o = parse(&args(&["--events=400", "--kill-every", "3", "--debug"])).unwrap();
        assert_eq!((o.events, o.kill_every, o.debug), (400, 3, true));
        assert_eq!(o.clients, 16);
        assert!(parse(&args(&["--events", "0"])).is_err());
        assert!(parse(&args(&["--clients"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
        let o = parse(&args(&["--subscriptions", "300", "--kill-at=60"])).unwrap();
        assert_eq!((o.subscriptions, o.kill_at), (300, 60));
        assert_eq!(Options::default().subscriptions, 2_000);
        assert!(parse(&args(&["--kill-at", "95"])).is_err());
    }
}
