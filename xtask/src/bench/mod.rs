//! `cargo xtask bench …`: load benchmarks against the release binary.

mod billing;
pub(crate) mod direct;
mod imports;
mod load;
mod page;
pub(crate) mod pay;
pub(crate) mod sessions;
pub(crate) mod sys;
pub(crate) mod webhooks;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

const USAGE: &str = "\
usage: cargo xtask bench <sessions|pay|webhooks|billing|imports> [options]

scenarios:
  sessions   HTTP load benchmark of POST /api/v1/payment-sessions/ (campaign mode, a new lead per
             request) against the release binary, driven by wrk (fixtures/bench/sessions.lua),
             next to the same SQL done directly: pgbench (fixtures/bench/sessions.pgbench.sql)
             and in-process diesel on PostgreSQL, in-process diesel (BEGIN IMMEDIATE) on SQLite.
  pay        end-to-end create-session + pay (sandbox adapter, DE89370400440532013000): one
             operation = POST /payment-sessions/ then POST /payment-sessions/{token}/pay/ ->
             200 \"completed\", chained per connection by wrk (fixtures/bench/pay.lua); next to
             pgbench with the same statements in one transaction (fixtures/bench/pay.pgbench.sql)
             and in the server's two write transactions (derived from the same file), and the
             store's own functions in-process (diesel) on PostgreSQL; in-process diesel on
             SQLite.
  webhooks   webhook delivery: a local receiver on 127.0.0.1 answering 200, `catalyst demo
             --webhook-url` pointing at it, then --sessions create+pay operations from
             --concurrency client threads; delivered events/s and the time from the commit of
             payment_session.completed (webhook_events.created_at) to its arrival (p50/p99);
             then a backlog drain: the same number of sessions written while the server is
             stopped, delivered after it starts again (events/s).
  billing    the billing run: ONE real subscription made through the API (demo monthly
             campaign, create session + pay), cloned by SQL into --subscriptions due
             subscriptions (own lead, order and RCUR mandate each) for two billing dates; one
             set collected by the store's functions in-process (due scan, claim_renewal,
             sandbox approval, apply_outcome: the direct baseline), the other by ONE
             `catalyst billing run --date D --json` (release binary, process start to exit,
             report and database checked) -> collections/s and run/direct (target >= 70 % on
             PostgreSQL); then --idle subscriptions none of which is due and one billing run
             over them (must finish in < 1 s), with the due scan alone and, on PostgreSQL,
             its EXPLAIN ANALYZE.
  page       the hosted payment page GET /s/{token} of one demo session under wrk -c 16
             --latency (release binary): req/s, p50/p99 (client-side: an upper bound of the
             server's time), and the bytes of the HTML and of every same-origin script and
             stylesheet it loads (headers included; the logo left out).
  imports    CSV imports: --rows generated leads, --rows orders of them, a debit per order and
             a chargeback of every tenth debit, each file imported by
             ONE `catalyst import KIND FILE --tenant ID` (release binary, process start to
             exit, one streaming pass, one transaction) -> rows/s and the process's peak RSS
             (VmHWM from /proc, sampled every 5 ms until it exits).

options:
  --duration SECS        measured seconds per run (default 10 for sessions, 6 for pay; at most
                         300; sessions, pay)
  --warmup SECS          unmeasured seconds before each run (default 2, at most 60; sessions,
                         pay); pay: only before the first round of each tool per level
  --rounds N             pay: interleaved rounds per concurrency level (default 5, 1..=20); each
                         round runs every tool once in turn (HTTP, pgbench 1tx, pgbench 2tx,
                         diesel on PostgreSQL; HTTP, diesel on SQLite), each round starting one
                         tool further along, with a CHECKPOINT before every PostgreSQL run; the
                         tables show the median over the rounds of each figure (rate, p50, p99
                         independently) and the median of the per-round ratios (HTTP of a round
                         / the same round's baseline). sessions and webhooks ignore --rounds
  --concurrency LIST     connections / clients / threads (default 1,4,16,64 for sessions,
                         1,4,16 for pay; webhooks: client threads, default 4)
  --sessions N           webhooks: create+pay operations per phase (default 500, at most 100000)
  --no-drain             webhooks: skip the backlog-drain phase
  --subscriptions N      billing: due subscriptions per set (default 100000, at most 1000000)
  --idle N               billing: subscriptions none of which is due (default 1000000, at most
                         10000000; 0 skips the none-due run)
  --rows N               imports: rows per file (default 100000, at most 1000000)
  --backends LIST        sqlite,postgres (default both)
  --rust-log FILTER      RUST_LOG for the server (default: unset, i.e. the server's default
                         `info,actix_server=warn`, one access-log line per request)
  --no-build             use the existing target/release binaries
  --keep                 keep the work directory and the PostgreSQL database

environment:
  BENCH_DATABASE_URL     PostgreSQL server to create the database catalyst_bench_<random> on
                         (default postgres://postgres@127.0.0.1:5432/; must be local)
  CATALYST_POOL_SIZE     passed on to the server (its default: 8 on SQLite, 16 on PostgreSQL)

Release build first (`cargo build --release -p catalyst -p xtask`); then this command re-runs
itself from target/release/xtask so that the in-process diesel baseline and the bundled SQLite
are optimised. Needs wrk (installed with apt-get if missing) and, for PostgreSQL, pgbench.";

/// Set in the environment of the re-executed release xtask.
const CHILD_ENV: &str = "CATALYST_XTASK_BENCH_CHILD";

/// Runs `cargo xtask bench` with the arguments after `bench`.
pub fn run(args: &[String]) -> Result<()> {
    let scenario = match args.first().map(String::as_str) {
        Some("sessions") => Scenario::Sessions,
        Some("pay") => Scenario::Pay,
        Some("webhooks") => Scenario::Webhooks,
        Some("billing") => Scenario::Billing,
        Some("imports") => Scenario::Imports,
        Some("page") => Scenario::Page,
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            return Ok(());
        }
        Some(other) => bail!("unknown benchmark {other:?}\n\n{USAGE}"),
    };
    let options = Options::parse(&args[1..], scenario)?;
    if options.help {
        println!("{USAGE}");
        return Ok(());
    }
    sys::install_interrupt_handler();
    let root = workspace_root()?;
    let target = target_dir(&root);
    let child = std::env::var_os(CHILD_ENV).is_some();
    if !child && !options.no_build {
        build(&root)?;
    }
    if !child && cfg!(debug_assertions) {
        let exe = target.join("release").join(exe("xtask"));
        if !exe.is_file() {
            bail!(
                "{} is missing; run without --no-build (or `cargo build --release -p xtask`)",
                exe.display()
            );
        }
        let code = reexec(&exe, args)?;
        std::process::exit(code);
    }
    match scenario {
        Scenario::Sessions => sessions::run(&options, &root, &target),
        Scenario::Pay => pay::run(&options, &root, &target),
        Scenario::Webhooks => webhooks::run(&options, &target),
        Scenario::Billing => billing::run(&options, &target),
        Scenario::Imports => imports::run(&options, &target),
        Scenario::Page => page::run(&options, &target),
    }
}

/// Which benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Sessions,
    Pay,
    Webhooks,
    Billing,
    Imports,
    Page,
}

/// What `bench …` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: u64,
    pub warmup: u64,
    /// `pay`: interleaved rounds per concurrency level (the others ignore it).
    pub rounds: usize,
    pub concurrency: Vec<usize>,
    /// `webhooks`: create+pay operations per phase.
    pub sessions: usize,
    /// `webhooks`: run the backlog-drain phase.
    pub drain: bool,
    /// `billing`: due subscriptions per set.
    pub subscriptions: usize,
    /// `billing`: subscriptions none of which is due (0: no none-due run).
    pub idle: usize,
    /// `imports`: rows per file.
    pub rows: usize,
    pub backends: Vec<Backend>,
    pub rust_log: Option<String>,
    /// Further environment of the `catalyst` processes (`cargo xtask chaos` shortens the
    /// server's timers with it); empty for the benchmarks.
    pub server_env: Vec<(String, String)>,
    pub no_build: bool,
    pub keep: bool,
    help: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl Options {
    /// What a [`sessions::Deployment`] needs outside the benchmarks: PostgreSQL only, the given
    /// server environment, the log filter and whether to keep the work directory and database.
    pub(crate) fn deployment(
        keep: bool,
        rust_log: Option<String>,
        server_env: Vec<(String, String)>,
    ) -> Self {
        Options {
            backends: vec![Backend::Postgres],
            rust_log,
            server_env,
            keep,
            ..Options::parse(&[], Scenario::Webhooks).expect("no arguments parse")
        }
    }

    fn parse(args: &[String], scenario: Scenario) -> Result<Self> {
        let mut o = Options {
            // pay runs each tool --rounds times per level: shorter runs.
            duration: match scenario {
                Scenario::Pay => 6,
                Scenario::Sessions
                | Scenario::Webhooks
                | Scenario::Billing
                | Scenario::Imports
                | Scenario::Page => 10,
            },
            warmup: 2,
            rounds: 5,
            concurrency: match scenario {
                Scenario::Sessions => vec![1, 4, 16, 64],
                Scenario::Pay => vec![1, 4, 16],
                Scenario::Webhooks | Scenario::Billing | Scenario::Imports => vec![4],
                Scenario::Page => vec![16],
            },
            sessions: 500,
            drain: true,
            subscriptions: 100_000,
            idle: 1_000_000,
            rows: 100_000,
            backends: vec![Backend::Sqlite, Backend::Postgres],
            rust_log: None,
            server_env: Vec::new(),
            no_build: false,
            keep: false,
            help: false,
        };
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
                "--duration" => o.duration = seconds(&value()?, 1, 300, "--duration")?,
                "--warmup" => o.warmup = seconds(&value()?, 0, 60, "--warmup")?,
                "--rounds" => {
                    o.rounds = match value()?.trim().parse::<usize>() {
                        Ok(n @ 1..=20) => n,
                        _ => bail!("--rounds: not a number in 1..=20"),
                    };
                }
                "--concurrency" => {
                    o.concurrency = value()?
                        .split(',')
                        .map(|c| match c.trim().parse::<usize>() {
                            Ok(n @ 1..=1024) => Ok(n),
                            _ => Err(anyhow!("--concurrency: {c:?} is not in 1..=1024")),
                        })
                        .collect::<Result<_>>()?;
                }
                "--backends" => {
                    o.backends = value()?
                        .split(',')
                        .map(|b| match b.trim() {
                            "sqlite" => Ok(Backend::Sqlite),
                            "postgres" | "postgresql" | "pg" => Ok(Backend::Postgres),
                            other => Err(anyhow!("--backends: unknown backend {other:?}")),
                        })
                        .collect::<Result<_>>()?;
                }
                "--sessions" => {
                    o.sessions = match value()?.trim().parse::<usize>() {
                        Ok(n @ 1..=100_000) => n,
                        _ => bail!("--sessions: not a number in 1..=100000"),
                    };
                }
                "--subscriptions" => {
                    o.subscriptions = match value()?.trim().parse::<usize>() {
                        Ok(n @ 1..=1_000_000) => n,
                        _ => bail!("--subscriptions: not a number in 1..=1000000"),
                    };
                }
                "--rows" => {
                    o.rows = match value()?.trim().parse::<usize>() {
                        Ok(n @ 1..=1_000_000) => n,
                        _ => bail!("--rows: not a number in 1..=1000000"),
                    };
                }
                "--idle" => {
                    o.idle = match value()?.trim().parse::<usize>() {
                        Ok(n @ 0..=10_000_000) => n,
                        _ => bail!("--idle: not a number in 0..=10000000"),
                    };
                }
                "--no-drain" => o.drain = false,
                "--rust-log" => o.rust_log = Some(value()?),
                "--no-build" => o.no_build = true,
                "--keep" => o.keep = true,
                "-h" | "--help" => o.help = true,
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        if o.concurrency.is_empty() || o.backends.is_empty() {
            bail!("--concurrency and --backends need at least one value");
        }
        if scenario == Scenario::Webhooks && o.concurrency.len() != 1 {
            bail!("webhooks: --concurrency takes one number (client threads)");
        }
        Ok(o)
    }
}

fn seconds(s: &str, min: u64, max: u64, flag: &str) -> Result<u64> {
    match s.trim().trim_end_matches('s').parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => bail!("{flag}: {s:?} is not a number of seconds in {min}..={max}"),
    }
}

pub(crate) fn workspace_root() -> Result<PathBuf> {
    Ok(Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives inside the workspace")?
        .to_path_buf())
}

pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_relative() { root.join(p) } else { p })
        .unwrap_or_else(|| root.join("target"))
}

pub(crate) fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// `cargo build --release -p catalyst -p xtask` (one build: the same dependency artifacts).
fn build(root: &Path) -> Result<()> {
    eprintln!("building: cargo build --release -p catalyst -p xtask");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "catalyst", "-p", "xtask"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed ({status})");
    }
    Ok(())
}

/// Runs the benchmark in the optimised xtask and returns its exit code. A SIGINT reaches the
/// child through the terminal's process group; a SIGTERM sent to this process is passed on.
fn reexec(exe: &Path, args: &[String]) -> Result<i32> {
    let mut child = Command::new(exe)
        .arg("bench")
        .args(args)
        .env(CHILD_ENV, "1")
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let mut forwarded = false;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status.code().unwrap_or(1));
        }
        if sys::interrupted() && !forwarded {
            forwarded = true;
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], scenario: Scenario) -> Result<Options> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Options::parse(&args, scenario)
    }

    #[test]
    fn per_scenario_defaults_and_rounds() {
        let pay = parse(&[], Scenario::Pay).unwrap();
        assert_eq!((pay.duration, pay.rounds), (6, 5));
        assert_eq!(parse(&[], Scenario::Sessions).unwrap().duration, 10);
        let o = parse(&["--rounds", "5", "--duration=2"], Scenario::Pay).unwrap();
        assert_eq!((o.duration, o.rounds), (2, 5));
        assert!(parse(&["--rounds", "0"], Scenario::Pay).is_err());
        assert!(parse(&["--rounds=21"], Scenario::Pay).is_err());
    }

    #[test]
    fn billing_sizes() {
        let o = parse(&[], Scenario::Billing).unwrap();
        assert_eq!((o.subscriptions, o.idle), (100_000, 1_000_000));
        let o = parse(&["--subscriptions", "500", "--idle=0"], Scenario::Billing).unwrap();
        assert_eq!((o.subscriptions, o.idle), (500, 0));
        assert!(parse(&["--subscriptions", "0"], Scenario::Billing).is_err());
        assert!(parse(&["--idle", "10000001"], Scenario::Billing).is_err());
    }
}
