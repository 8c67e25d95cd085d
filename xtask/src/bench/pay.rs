//! `bench pay`: per backend, a fresh database, `catalyst demo --json`, `catalyst serve`, then
//! per concurrency level: wrk chaining create-session → pay (fixtures/bench/pay.lua), and the
//! direct baselines. On PostgreSQL: pgbench with every statement of the operation in one
//! transaction (fixtures/bench/pay.pgbench.sql, the issue's baseline), pgbench with the same
//! statements in the server's two write transactions (derived from the same file, see
//! [`server_transactions`]), and the store's own functions in-process
//! (`direct::create_and_pay`). On SQLite: the in-process one.
//!
//! The machine drifts over minutes, so each level runs `--rounds` interleaved rounds of
//! [HTTP, pgbench 1tx, pgbench 2tx, diesel] (PostgreSQL) or [HTTP, diesel] (SQLite), each round
//! starting one tool further along that cycle, with a `CHECKPOINT` before every run on
//! PostgreSQL and the warm-up only before the first round; it reports the median over the
//! rounds of each figure and the median of the paired per-round ratios (a round's HTTP run over
//! the same round's baseline run).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::direct;
use super::load::{
    Figures, Pgbench, Wrk, fmt_share, median, non_2xx_line, paired_ratio, share, threads_for,
};
use super::sessions::{Demo, Deployment, create_request, ensure_wrk, ms};
use super::sys;
use super::{Backend, Options};

/// The issue's target: HTTP throughput at least this share of pgbench's on PostgreSQL.
const TARGET: f64 = 0.80;

/// The body of every pay request.
pub(crate) const PAY_BODY: &str =
    r#"{"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}"#;

/// What the Lua `done` hook reported for one wrk run.
#[derive(Debug, Default)]
struct PayHttp {
    /// Completed operations (pay answers with "completed") per second; p50/p99 of the
    /// operation (create sent → pay answered).
    ops: Figures,
    create_p50_ms: f64,
    create_p99_ms: f64,
    pay_p50_ms: f64,
    pay_p99_ms: f64,
    requests: u64,
}

impl PayHttp {
    /// The median over `runs` of each figure on its own; `requests` summed.
    fn median_of(runs: &[&PayHttp]) -> PayHttp {
        let of = |figure: fn(&PayHttp) -> f64| median(runs.iter().map(|r| figure(r)));
        PayHttp {
            ops: Figures::median_of(&runs.iter().map(|r| &r.ops).collect::<Vec<_>>()),
            create_p50_ms: of(|r| r.create_p50_ms),
            create_p99_ms: of(|r| r.create_p99_ms),
            pay_p50_ms: of(|r| r.pay_p50_ms),
            pay_p99_ms: of(|r| r.pay_p99_ms),
            requests: runs.iter().map(|r| r.requests).sum(),
        }
    }
}

/// The tools of a round.
#[derive(Clone, Copy)]
enum Tool {
    Http,
    Pgbench1,
    Pgbench2,
    Diesel,
}

/// One round at one concurrency level: every tool once, one after another.
struct Round {
    http: PayHttp,
    /// pgbench (one transaction per operation) on PostgreSQL, in-process diesel on SQLite.
    direct: Figures,
    /// pgbench with the server's transaction boundaries, on PostgreSQL.
    pgbench2: Option<Figures>,
    /// In-process diesel on PostgreSQL.
    diesel: Option<Figures>,
}

impl Round {
    /// HTTP throughput over the direct baseline's in this round.
    fn share(&self) -> f64 {
        share(self.http.ops.rate, self.direct.rate)
    }
}

/// One concurrency level of one backend: the medians over its rounds.
struct Row {
    backend: Backend,
    concurrency: usize,
    http: PayHttp,
    /// pgbench (one transaction per operation) on PostgreSQL, in-process diesel on SQLite.
    direct: Figures,
    /// pgbench with the server's transaction boundaries, on PostgreSQL.
    pgbench2: Option<Figures>,
    /// In-process diesel on PostgreSQL.
    diesel: Option<Figures>,
    /// HTTP / direct of each round, in order.
    round_shares: Vec<f64>,
    /// Medians of the paired per-round ratios HTTP / direct, pgbench2, diesel.
    share_direct: f64,
    share_pgbench2: f64,
    share_diesel: f64,
    load1: f64,
}

impl Row {
    fn new(backend: Backend, concurrency: usize, rounds: &[Round]) -> Row {
        let all = |f: fn(&Round) -> &Figures| rounds.iter().map(f).collect::<Vec<_>>();
        let some =
            |f: fn(&Round) -> Option<&Figures>| rounds.iter().map(f).collect::<Option<Vec<_>>>();
        let paired = |f: fn(&Round) -> Option<&Figures>| {
            paired_ratio(
                rounds
                    .iter()
                    .filter_map(|r| Some((r.http.ops.rate, f(r)?.rate))),
            )
        };
        let round_shares: Vec<f64> = rounds.iter().map(Round::share).collect();
        Row {
            backend,
            concurrency,
            http: PayHttp::median_of(&rounds.iter().map(|r| &r.http).collect::<Vec<_>>()),
            direct: Figures::median_of(&all(|r| &r.direct)),
            pgbench2: some(|r| r.pgbench2.as_ref()).map(|v| Figures::median_of(&v)),
            diesel: some(|r| r.diesel.as_ref()).map(|v| Figures::median_of(&v)),
            share_direct: median(round_shares.iter().copied()),
            round_shares,
            share_pgbench2: paired(|r| r.pgbench2.as_ref()),
            share_diesel: paired(|r| r.diesel.as_ref()),
            load1: sys::load1(),
        }
    }
}

pub fn run(options: &Options, root: &Path, target: &Path) -> Result<()> {
    let binary = target.join("release").join(super::exe("catalyst"));
    if !binary.is_file() {
        bail!(
            "{} is missing (build it without --no-build)",
            binary.display()
        );
    }
    let lua = root.join("fixtures/bench/pay.lua");
    let pgbench_sql = root.join("fixtures/bench/pay.pgbench.sql");
    ensure_wrk()?;
    if options.backends.contains(&Backend::Postgres) && !sys::on_path("pgbench") {
        bail!("pgbench is not on PATH (Debian: apt-get install postgresql-client)");
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bench pay: {} interleaved rounds per level, {} s measured per run, {} s warm-up before \
         the first round of each tool; concurrency {:?}; {} cores; load average before: {}",
        options.rounds,
        options.duration,
        options.warmup,
        options.concurrency,
        cores,
        sys::loadavg()
    );
    let mut rows = Vec::new();
    for &backend in &options.backends {
        let result = run_backend(options, backend, &binary, &lua, &pgbench_sql, &mut rows);
        if let Err(e) = result {
            if !rows.is_empty() {
                print_table(&rows, options.rounds);
            }
            return Err(e.context(format!("{} backend", backend.name())));
        }
    }
    print_table(&rows, options.rounds);
    println!("load average after: {}", sys::loadavg());
    Ok(())
}

fn run_backend(
    options: &Options,
    backend: Backend,
    binary: &Path,
    lua: &Path,
    pgbench_sql: &Path,
    rows: &mut Vec<Row>,
) -> Result<()> {
    println!("\n== {} ==", backend.name());
    let deployment = Deployment::start(options, backend, binary, None)?;
    let (demo, addr, log) = (&deployment.demo, deployment.addr, &deployment.log);
    create_and_pay(addr, demo, &format!("bench-smoke-{}", sys::unique_suffix()))
        .map_err(|e| e.context(format!("smoke test; server log:\n{}", sys::tail(log, 20))))?;
    let target = deployment.direct_target()?;
    direct::check(&target)?;
    let url = format!("http://{addr}/api/v1/payment-sessions/");
    let pgbench_2tx = deployment.work.path().join("pay.pgbench.2tx.sql");
    std::fs::write(
        &pgbench_2tx,
        server_transactions(
            &std::fs::read_to_string(pgbench_sql)
                .with_context(|| format!("reading {}", pgbench_sql.display()))?,
        ),
    )?;
    let pg_vars = [
        ("tenant_id", demo.tenant_id.clone()),
        ("key_hash", target.key_hash.clone()),
        ("campaign_id", demo.campaign_id.clone()),
        ("gateway_id", demo.gateway_id.clone()),
        ("hosted_page_id", demo.hosted_page_id.clone()),
        ("webhook_profile_id", demo.webhook_profile_id.clone()),
    ];
    for &concurrency in &options.concurrency {
        let level = Level {
            options,
            backend,
            deployment: &deployment,
            target: &target,
            url: &url,
            lua,
            pgbench_1tx: pgbench_sql,
            pgbench_2tx: &pgbench_2tx,
            pg_vars: &pg_vars,
            concurrency,
        };
        let row = level.run()?;
        print_progress(&row);
        rows.push(row);
    }
    deployment.finish();
    Ok(())
}

/// Everything the runs at one concurrency level of one backend need.
struct Level<'a> {
    options: &'a Options,
    backend: Backend,
    deployment: &'a Deployment,
    target: &'a direct::Target,
    url: &'a str,
    lua: &'a Path,
    /// pgbench scripts: every statement in one transaction; the server's two transactions.
    pgbench_1tx: &'a Path,
    pgbench_2tx: &'a Path,
    pg_vars: &'a [(&'a str, String)],
    concurrency: usize,
}

impl Level<'_> {
    /// `--rounds` interleaved rounds, summarised.
    fn run(&self) -> Result<Row> {
        let mut rounds = Vec::with_capacity(self.options.rounds);
        for round in 1..=self.options.rounds {
            sys::check_interrupt()?;
            let r = self.round(round)?;
            print_round(self.backend, round, self.options.rounds, &r);
            rounds.push(r);
        }
        Ok(Row::new(self.backend, self.concurrency, &rounds))
    }

    /// Round `round` (from 1): every tool once. Each round starts one place further along the
    /// cycle [HTTP, pgbench 1tx, pgbench 2tx, diesel] (PostgreSQL) or [HTTP, diesel] (SQLite),
    /// so that no tool always runs first, last, or right after the same other one while the
    /// tables grow.
    fn round(&self, round: usize) -> Result<Round> {
        let tools: &[Tool] = match self.backend {
            Backend::Postgres => &[Tool::Http, Tool::Pgbench1, Tool::Pgbench2, Tool::Diesel],
            Backend::Sqlite => &[Tool::Http, Tool::Diesel],
        };
        let (mut http, mut pgbench1, mut pgbench2, mut diesel) = (None, None, None, None);
        for k in 0..tools.len() {
            self.checkpoint()?;
            match tools[(k + round - 1) % tools.len()] {
                Tool::Http => http = Some(self.http(round)?),
                Tool::Pgbench1 => {
                    pgbench1 = Some(self.pgbench(self.pgbench_1tx, "pgbench_pay", round)?)
                }
                Tool::Pgbench2 => {
                    pgbench2 = Some(self.pgbench(self.pgbench_2tx, "pgbench_pay_2tx", round)?)
                }
                Tool::Diesel => diesel = Some(self.diesel(round)?),
            }
        }
        let http = http.context("the round ran no HTTP run")?;
        Ok(match self.backend {
            Backend::Postgres => Round {
                http,
                direct: pgbench1.context("the round ran no pgbench run")?,
                pgbench2,
                diesel,
            },
            Backend::Sqlite => Round {
                http,
                direct: diesel.context("the round ran no diesel run")?,
                pgbench2: None,
                diesel: None,
            },
        })
    }

    /// PostgreSQL: `CHECKPOINT` before every run, so that each starts with no dirty buffers to
    /// write and the same full-page-write burst, instead of whichever run the periodic
    /// checkpoint happens to fall into (under this load one starts every minute or so).
    fn checkpoint(&self) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        use diesel::connection::SimpleConnection;
        let mut conn = self
            .target
            .url
            .connect()
            .context("connecting for CHECKPOINT")?;
        conn.batch_execute("CHECKPOINT").context("CHECKPOINT")
    }

    /// Unmeasured seconds before a tool's run: `--warmup` in the first round, none after.
    fn warmup(&self, round: usize) -> u64 {
        if round == 1 { self.options.warmup } else { 0 }
    }

    /// HTTP through the server (wrk + pay.lua); every run validated.
    fn http(&self, round: usize) -> Result<PayHttp> {
        let c = self.concurrency;
        let log = &self.deployment.log;
        let wrk = |run_id: String, secs: u64| Wrk {
            url: self.url,
            script: self.lua,
            key: &self.deployment.demo.restricted_key,
            campaign_id: &self.deployment.demo.campaign_id,
            run_id,
            connections: c,
            secs,
        };
        let warmup = self.warmup(round);
        if warmup > 0 {
            let out = wrk(format!("p{c}w"), warmup).output()?;
            parse_pay(&out).and_then(|r| validate(&r, &out, log, "warm-up"))?;
        }
        let out = wrk(format!("p{c}r{round}"), self.options.duration).output()?;
        let h = parse_pay(&out)?;
        validate(&h, &out, log, &format!("measured run, round {round}"))?;
        Ok(h.figures)
    }

    /// pgbench with `script`; its transaction log and output go to `<name>_c<c>_r<round>*` in
    /// the work directory.
    fn pgbench(&self, script: &Path, name: &str, round: usize) -> Result<Figures> {
        let run = |secs: u64, log_prefix: Option<PathBuf>| {
            Pgbench {
                url: &self.deployment.database_url,
                script,
                vars: self.pg_vars,
                clients: self.concurrency,
                secs,
                log_prefix,
            }
            .run()
        };
        let warmup = self.warmup(round);
        if warmup > 0 {
            run(warmup, None)?;
        }
        let work = self.deployment.work.path();
        let name = format!("{name}_c{}_r{round}", self.concurrency);
        let p = run(self.options.duration, Some(work.join(&name)))?;
        std::fs::write(work.join(format!("{name}.out")), &p.stdout)?;
        if p.failed > 0 {
            bail!("pgbench: {} failed transactions\n{}", p.failed, p.stdout);
        }
        Ok(p.figures)
    }

    /// The store's functions in-process (`direct::create_and_pay`).
    fn diesel(&self, round: usize) -> Result<Figures> {
        let c = self.concurrency;
        direct::run(
            self.target,
            direct::create_and_pay,
            c,
            Duration::from_secs(self.warmup(round)),
            Duration::from_secs(self.options.duration),
            &format!("dp{c}r{round}"),
        )
    }
}

/// The server's transaction boundaries from the one-transaction script: drops the lines that
/// end in `-- 1tx` and un-comments the lines that start with `--2tx `.
fn server_transactions(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        if line.trim_end().ends_with("-- 1tx") {
            continue;
        }
        out.push_str(line.strip_prefix("--2tx ").unwrap_or(line));
        out.push('\n');
    }
    out
}

/// One create + pay over plain HTTP/1.1 (`Connection: close`): the token, or an error with the
/// answer that was not as expected.
pub(crate) fn create_and_pay(addr: SocketAddr, demo: &Demo, label: &str) -> Result<String> {
    let auth = format!("Bearer {}", demo.restricted_key);
    let created = sys::http(
        addr,
        "POST",
        "/api/v1/payment-sessions/",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &create_request(demo, &format!("{label}@example.com")),
    )?;
    if created.status != 201 {
        bail!(
            "POST /api/v1/payment-sessions/ answered {} (expected 201): {}",
            created.status,
            created.body.trim()
        );
    }
    let token = serde_json::from_str::<Value>(&created.body)
        .ok()
        .and_then(|v| v["session_token"].as_str().map(str::to_owned))
        .with_context(|| format!("no session_token in {}", created.body.trim()))?;
    let paid = sys::http(
        addr,
        "POST",
        &format!("/api/v1/payment-sessions/{token}/pay/"),
        &[("Content-Type", "application/json")],
        PAY_BODY,
    )?;
    if paid.status != 200 || !paid.body.contains(r#""status":"completed""#) {
        bail!(
            "POST /api/v1/payment-sessions/{{token}}/pay/ answered {} (expected 200 with \
             \"status\":\"completed\"): {}",
            paid.status,
            paid.body.trim()
        );
    }
    Ok(token)
}

/// The `BENCH_PAY {…}` line of pay.lua plus wrk's own non-2xx count.
#[derive(Debug)]
struct PayResult {
    figures: PayHttp,
    create_fail: u64,
    pay_fail: u64,
    unmatched: u64,
    waiting: u64,
    non_2xx: u64,
    socket_errors: u64,
    socket_detail: String,
    sample: String,
}

fn parse_pay(stdout: &str) -> Result<PayResult> {
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_PAY "))
        .with_context(|| format!("wrk printed no BENCH_PAY line:\n{stdout}"))?;
    let v: Value = serde_json::from_str(json).context("wrk BENCH_PAY")?;
    let num = |k: &str| v[k].as_f64().with_context(|| format!("BENCH_PAY.{k}"));
    // -1 = no sample.
    let ms_of = |k: &str| -> Result<f64> {
        let us = num(k)?;
        Ok(if us < 0.0 { f64::NAN } else { us / 1000.0 })
    };
    let duration_s = num("duration_us")? / 1e6;
    let completed = num("completed")? as u64;
    let (connect, read, write, timeout) = (
        num("errors_connect")? as u64,
        num("errors_read")? as u64,
        num("errors_write")? as u64,
        num("errors_timeout")? as u64,
    );
    Ok(PayResult {
        figures: PayHttp {
            ops: Figures {
                rate: if duration_s > 0.0 {
                    completed as f64 / duration_s
                } else {
                    0.0
                },
                p50_ms: ms_of("op_p50_us")?,
                p99_ms: ms_of("op_p99_us")?,
                count: completed,
                failed: 0,
            },
            create_p50_ms: ms_of("create_p50_us")?,
            create_p99_ms: ms_of("create_p99_us")?,
            pay_p50_ms: ms_of("pay_p50_us")?,
            pay_p99_ms: ms_of("pay_p99_us")?,
            requests: num("requests")? as u64,
        },
        create_fail: num("create_fail")? as u64,
        pay_fail: num("pay_fail")? as u64,
        unmatched: num("unmatched")? as u64,
        waiting: num("waiting")?.max(0.0) as u64,
        non_2xx: (num("errors_status")? as u64).max(non_2xx_line(stdout)),
        socket_errors: connect + read + write + timeout,
        socket_detail: format!("connect {connect}, read {read}, write {write}, timeout {timeout}"),
        sample: v["sample"].as_str().unwrap_or_default().to_owned(),
    })
}

/// The run is invalid unless every answer was 2xx, every create gave a token, every pay
/// answered "completed", and at least one operation completed.
fn validate(r: &PayResult, stdout: &str, log: &Path, what: &str) -> Result<()> {
    let clean = r.create_fail == 0
        && r.pay_fail == 0
        && r.unmatched == 0
        && r.non_2xx == 0
        && r.socket_errors == 0
        && r.figures.ops.count > 0;
    if clean {
        return Ok(());
    }
    bail!(
        "INVALID RUN ({what}): {} requests, {} operations completed ({} tokens still waiting \
         for their pay); failed creates {}, failed pays {}, unmatched answers {}, non-2xx {}, \
         socket errors: {}.\nfirst failing answer: {}\nwrk:\n{}\nserver log:\n{}",
        r.figures.requests,
        r.figures.ops.count,
        r.waiting,
        r.create_fail,
        r.pay_fail,
        r.unmatched,
        r.non_2xx,
        r.socket_detail,
        if r.sample.is_empty() { "-" } else { &r.sample },
        stdout.trim_end(),
        sys::tail(log, 20)
    )
}

/// `HTTP/<baseline>`: the ratio of HTTP to the direct baseline of `backend`.
fn share_label(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "HTTP/pgb",
        Backend::Sqlite => "HTTP/dsl",
    }
}

/// "met" / "MISSED" for the target share of HTTP over pgbench (one transaction).
fn verdict(share: f64) -> &'static str {
    if share.is_nan() {
        "-"
    } else if share >= TARGET {
        "met"
    } else {
        "MISSED"
    }
}

/// One round's throughputs, as it finishes.
fn print_round(backend: Backend, round: usize, rounds: usize, r: &Round) {
    let mut line = format!("    round {round}/{rounds}: HTTP {:>6.0}", r.http.ops.rate);
    match backend {
        Backend::Postgres => line.push_str(&format!(" | pgbench {:>6.0}", r.direct.rate)),
        Backend::Sqlite => line.push_str(&format!(" | diesel {:>6.0}", r.direct.rate)),
    }
    if let Some(p) = &r.pgbench2 {
        line.push_str(&format!(" | pgbench 2tx {:>6.0}", p.rate));
    }
    if let Some(d) = &r.diesel {
        line.push_str(&format!(" | diesel {:>6.0}", d.rate));
    }
    line.push_str(&format!(
        " op/s | {} {} | load {:.2}",
        share_label(backend),
        fmt_share(r.share()),
        sys::load1()
    ));
    println!("{line}");
}

/// One level's medians and its per-round ratios.
fn print_progress(r: &Row) {
    let h = &r.http;
    let mut line = format!(
        "  c={:<3} (wrk -t{}) median HTTP {:>6.0} op/s create p50 {} p99 {} | pay p50 {} p99 {} \
         | op p50 {} p99 {} ms | direct {:>6.0} op/s p50 {} p99 {} ms failed {}",
        r.concurrency,
        threads_for(r.concurrency),
        h.ops.rate,
        ms(h.create_p50_ms),
        ms(h.create_p99_ms),
        ms(h.pay_p50_ms),
        ms(h.pay_p99_ms),
        ms(h.ops.p50_ms),
        ms(h.ops.p99_ms),
        r.direct.rate,
        ms(r.direct.p50_ms),
        ms(r.direct.p99_ms),
        r.direct.failed
    );
    if let Some(p) = &r.pgbench2 {
        line.push_str(&format!(
            " | pgbench 2tx {:>6.0} op/s p50 {} p99 {} ms",
            p.rate,
            ms(p.p50_ms),
            ms(p.p99_ms)
        ));
    }
    if let Some(d) = &r.diesel {
        line.push_str(&format!(
            " | diesel {:>6.0} op/s p50 {} p99 {} ms",
            d.rate,
            ms(d.p50_ms),
            ms(d.p99_ms)
        ));
    }
    let shares: Vec<String> = r.round_shares.iter().map(|&v| fmt_share(v)).collect();
    line.push_str(&format!(
        " | rounds {} {} (median {}) | load {:.2}",
        share_label(r.backend),
        shares.join(" "),
        fmt_share(r.share_direct),
        r.load1
    ));
    println!("{line}");
}

fn print_table(rows: &[Row], rounds: usize) {
    println!(
        "\ncreate-session + pay (sandbox) — HTTP (wrk, release binary) vs the same SQL done \
         directly\n(figures are medians over {rounds} interleaved round(s) per level, each figure \
         on its own (rate, p50, p99);\n failed is summed over the rounds; HTTP/x = median of the \
         per-round ratios, each round's HTTP run over\n the same round's baseline run;\n one \
         operation = POST /payment-sessions/ → 201, then POST /payment-sessions/{{token}}/pay/ → \
         200 \"completed\";\n op/s = completed pay answers per second (HTTP requests/s = 2 × \
         op/s); latencies in ms: create and pay per request,\n op = create sent → pay answered; \
         direct = pgbench -M prepared, every statement of the operation\n in ONE transaction, on \
         PostgreSQL; in-process diesel (the store's functions, the server's two write\n \
         transactions) on SQLite; failed = direct operations that gave up with \"database is \
         locked\")\n"
    );
    println!(
        "{:<9} {:>4} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10} {:>7} {:>7} {:>6} {:>7} \
         {:>6}",
        "backend",
        "conc",
        "HTTP op/s",
        "create50",
        "99",
        "pay50",
        "99",
        "op50",
        "99",
        "direct/s",
        "p50",
        "p99",
        "failed",
        "HTTP/dir",
        "load1"
    );
    for r in rows {
        let h = &r.http;
        println!(
            "{:<9} {:>4} {:>9.0} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>10.0} {:>7} {:>7} {:>6} \
             {:>7} {:>6.2}",
            r.backend.name(),
            r.concurrency,
            h.ops.rate,
            ms(h.create_p50_ms),
            ms(h.create_p99_ms),
            ms(h.pay_p50_ms),
            ms(h.pay_p99_ms),
            ms(h.ops.p50_ms),
            ms(h.ops.p99_ms),
            r.direct.rate,
            ms(r.direct.p50_ms),
            ms(r.direct.p99_ms),
            r.direct.failed,
            fmt_share(r.share_direct),
            r.load1
        );
    }
    let pg: Vec<&Row> = rows.iter().filter(|r| r.diesel.is_some()).collect();
    if !pg.is_empty() {
        println!(
            "\nPostgreSQL: the target (HTTP ≥ {:.0}% of pgbench in one transaction, by the median \
             paired ratio HTTP/pgb), and two\nmore baselines with the server's transaction \
             boundaries (two write transactions, reads in autocommit):\npgbench 2tx (the same \
             statements) and in-process diesel (the store's functions, one connection per\n\
             thread); medians over {rounds} interleaved round(s)\n",
            TARGET * 100.0
        );
        println!(
            "{:<9} {:>4} {:>9} {:>8} {:>7} {:>7} {:>11} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7}",
            "backend",
            "conc",
            "HTTP op/s",
            "pgb2 /s",
            "p50",
            "p99",
            "diesel op/s",
            "p50",
            "p99",
            "HTTP/pgb2",
            "HTTP/dsl",
            "HTTP/pgb",
            "target"
        );
        for r in pg {
            let (Some(d), Some(p3)) = (&r.diesel, &r.pgbench2) else {
                continue;
            };
            println!(
                "{:<9} {:>4} {:>9.0} {:>8.0} {:>7} {:>7} {:>11.0} {:>7} {:>7} {:>8} {:>8} {:>8} \
                 {:>7}",
                r.backend.name(),
                r.concurrency,
                r.http.ops.rate,
                p3.rate,
                ms(p3.p50_ms),
                ms(p3.p99_ms),
                d.rate,
                ms(d.p50_ms),
                ms(d.p99_ms),
                fmt_share(r.share_pgbench2),
                fmt_share(r.share_diesel),
                fmt_share(r.share_direct),
                verdict(r.share_direct)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_server_transaction_script() {
        let one = "\\set r 1\nBEGIN;  -- 1tx\nSELECT 1;\n--2tx BEGIN;\nINSERT 1;\n--2tx END;\n\
                   END;  -- 1tx\n";
        assert_eq!(
            server_transactions(one),
            "\\set r 1\nSELECT 1;\nBEGIN;\nINSERT 1;\nEND;\n"
        );
        let file = include_str!("../../../fixtures/bench/pay.pgbench.sql");
        let two = server_transactions(file);
        let count = |s: &str, l: &str| s.lines().filter(|x| x.trim_end() == l).count();
        assert_eq!(
            (count(file, "BEGIN;  -- 1tx"), count(file, "END;  -- 1tx")),
            (1, 1)
        );
        assert_eq!((count(&two, "BEGIN;"), count(&two, "END;")), (2, 2));
    }

    #[test]
    fn a_row_takes_medians_and_paired_ratios() {
        let rate = |rate| Figures {
            rate,
            ..Figures::default()
        };
        let round = |http, one, two| Round {
            http: PayHttp {
                ops: rate(http),
                ..PayHttp::default()
            },
            direct: rate(one),
            pgbench2: Some(rate(two)),
            diesel: None,
        };
        let rounds = [
            round(70.0, 100.0, 70.0),
            round(60.0, 50.0, 120.0),
            round(90.0, 80.0, 90.0),
        ];
        let row = Row::new(Backend::Postgres, 4, &rounds);
        assert_eq!((row.http.ops.rate, row.direct.rate), (70.0, 80.0));
        assert_eq!(row.round_shares, [0.7, 1.2, 1.125]);
        // The median of the per-round ratios, not 70 / 80.
        assert_eq!(row.share_direct, 1.125);
        assert_eq!(row.share_pgbench2, 1.0);
        assert!(row.diesel.is_none() && row.share_diesel.is_nan());
        assert_eq!(verdict(row.share_direct), "met");
        assert_eq!(verdict(0.79), "MISSED");
    }

    #[test]
    fn reads_the_pay_summary() {
        let out = "Running 2s test\n  Non-2xx or 3xx responses: 2\n\
            BENCH_PAY {\"duration_us\":2000000,\"requests\":402,\"creates\":201,\"completed\":200,\
            \"create_fail\":0,\"pay_fail\":1,\"unmatched\":0,\"waiting\":1,\
            \"create_p50_us\":1500,\"create_p99_us\":4000,\"pay_p50_us\":2500,\"pay_p99_us\":6000,\
            \"op_p50_us\":4200,\"op_p99_us\":9000,\"errors_connect\":0,\"errors_read\":0,\
            \"errors_write\":0,\"errors_status\":1,\"errors_timeout\":0,\"sample\":\"409 x\"}\n";
        let r = parse_pay(out).unwrap();
        assert_eq!(r.figures.ops.rate, 100.0);
        assert_eq!((r.figures.ops.p50_ms, r.figures.ops.p99_ms), (4.2, 9.0));
        assert_eq!((r.figures.create_p50_ms, r.figures.pay_p99_ms), (1.5, 6.0));
        assert_eq!((r.pay_fail, r.non_2xx, r.waiting), (1, 2, 1));
        assert_eq!(r.sample, "409 x");
        assert!(validate(&r, out, Path::new("/nonexistent"), "test").is_err());
    }
}
