//! `cargo xtask …`: project chores that are not part of `cargo test`.
//!
//! * `bench sessions` — HTTP load benchmark of `POST /api/v1/payment-sessions/` against the
//!   release binary, next to the same database work done directly (pgbench / in-process diesel).
//! * `bench pay` — end-to-end create-session + pay (sandbox adapter), the same way.
//! * `bench webhooks` — webhook delivery throughput and commit → delivery latency.
//! * `chaos` — faults the service must survive (PostgreSQL restart, SIGKILL loop, two
//!   instances), checked against the database afterwards.
//! * `registry` — regenerates the SEPA bank registry CSV.
//! * `screenshots` — regenerates the hosted page's screenshots in docs/hosted-page/.

mod bench;
mod chaos;
mod registry;
mod screenshots;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  bench sessions [--duration SECS] [--concurrency 1,4,16,64] [--backends sqlite,postgres] …
                 HTTP load benchmark of POST /api/v1/payment-sessions/ (release build, wrk)
                 next to the same SQL done directly (pgbench, in-process diesel);
                 `cargo xtask bench help` for all options
  bench pay [--duration SECS] [--concurrency 1,4,16] [--backends sqlite,postgres] …
                 create-session + pay (sandbox) over HTTP (wrk chaining both requests) next to
                 the same SQL done directly (pgbench in one transaction, in-process diesel)
  bench webhooks [--sessions 500] [--concurrency 4] [--no-drain] [--backends …] …
                 webhook delivery to a local receiver: delivered events/s and the time from
                 the commit of payment_session.completed to its arrival (p50/p99)
  chaos <pg-restart|kill-loop|two-instances|all> [--debug] [--no-build] …
                 faults survived: PostgreSQL restarted under create + pay, the server
                 SIGKILLed every 2 s during 10,000 webhook events, two servers on one
                 database; invariants checked in the database; `cargo xtask chaos help`
  registry [--version X.Y.Z] [--wheel PATH] [--output PATH]
                 regenerate crates/sepa/data/bank-registry.csv from the schwifty wheel
  screenshots    run the hosted page's browser suite (installs chromium, chromedriver, axe-core)
                 and copy its screenshots (390/1280 px, en/de) to docs/hosted-page/
  help           this text";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = dispatch(&args) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn dispatch(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "bench" => bench::run(rest),
        "chaos" => chaos::run(rest),
        "registry" => registry::run(rest),
        "screenshots" => screenshots::run(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
