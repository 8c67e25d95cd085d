//! `bench pay`: per backend, a fresh database, `catalyst demo --json`, `catalyst serve`, then
//! per concurrency level: wrk chaining create-session → pay (fixtures/bench/pay.lua), and the
//! direct baselines. On PostgreSQL: pgbench with every statement of the operation in one
//! transaction (fixtures/bench/pay.pgbench.sql, the issue's baseline), pgbench with the same
//! statements in the server's three write transactions (derived from the same file, see
//! [`three_transactions`]), and the store's own functions in-process
//! (`direct::create_and_pay`). On SQLite: the in-process one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::direct;
use super::load::{Figures, Pgbench, Wrk, non_2xx_line, threads_for};
use super::sessions::{Demo, Deployment, create_request, ensure_wrk, ms, ratio};
use super::sys;
use super::{Backend, Options};

/// The issue's target: HTTP throughput at least this share of pgbench's on PostgreSQL.
const TARGET: f64 = 0.80;

/// The body of every pay request.
const PAY_BODY: &str = r#"{"iban": "DE89370400440532013000", "iban_holder_name": "Ada Lovelace"}"#;

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

/// One concurrency level of one backend.
struct Row {
    backend: Backend,
    concurrency: usize,
    http: PayHttp,
    /// pgbench (one transaction per operation) on PostgreSQL, in-process diesel on SQLite.
    direct: Figures,
    /// pgbench with the server's transaction boundaries, on PostgreSQL.
    pgbench3: Option<Figures>,
    /// In-process diesel on PostgreSQL.
    diesel: Option<Figures>,
    load1: f64,
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
        "bench pay: {} s measured after {} s warm-up per run; concurrency {:?}; {} cores; \
         load average before: {}",
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
                print_table(&rows);
            }
            return Err(e.context(format!("{} backend", backend.name())));
        }
    }
    print_table(&rows);
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
    let warmup = Duration::from_secs(options.warmup);
    let duration = Duration::from_secs(options.duration);
    let pgbench_3tx = deployment.work.path().join("pay.pgbench.3tx.sql");
    std::fs::write(
        &pgbench_3tx,
        three_transactions(
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
    for &c in &options.concurrency {
        sys::check_interrupt()?;
        // HTTP through the server.
        let wrk = |run_id: String, secs: u64| Wrk {
            url: &url,
            script: lua,
            key: &demo.restricted_key,
            campaign_id: &demo.campaign_id,
            run_id,
            connections: c,
            secs,
        };
        if options.warmup > 0 {
            let out = wrk(format!("p{c}w"), options.warmup).output()?;
            parse_pay(&out).and_then(|r| validate(&r, &out, log, "warm-up"))?;
        }
        let out = wrk(format!("p{c}"), options.duration).output()?;
        let h = parse_pay(&out)?;
        validate(&h, &out, log, "measured run")?;
        let http = h.figures;

        // The same SQL directly.
        let (direct, pgbench3, diesel) = match backend {
            Backend::Postgres => {
                let pgbench = |script: &Path, name: &str| -> Result<Figures> {
                    let run = |secs: u64, log_prefix: Option<PathBuf>| {
                        Pgbench {
                            url: &deployment.database_url,
                            script,
                            vars: &pg_vars,
                            clients: c,
                            secs,
                            log_prefix,
                        }
                        .run()
                    };
                    if options.warmup > 0 {
                        run(options.warmup, None)?;
                    }
                    let prefix = deployment.work.path().join(format!("{name}_c{c}"));
                    let p = run(options.duration, Some(prefix))?;
                    std::fs::write(
                        deployment.work.path().join(format!("{name}_c{c}.out")),
                        &p.stdout,
                    )?;
                    if p.failed > 0 {
                        bail!("pgbench: {} failed transactions\n{}", p.failed, p.stdout);
                    }
                    Ok(p.figures)
                };
                let one = pgbench(pgbench_sql, "pgbench_pay")?;
                let three = pgbench(&pgbench_3tx, "pgbench_pay_3tx")?;
                let d = direct::run(
                    &target,
                    direct::create_and_pay,
                    c,
                    warmup,
                    duration,
                    &format!("dp{c}"),
                )?;
                (one, Some(three), Some(d))
            }
            Backend::Sqlite => (
                direct::run(
                    &target,
                    direct::create_and_pay,
                    c,
                    warmup,
                    duration,
                    &format!("dp{c}"),
                )?,
                None,
                None,
            ),
        };
        let row = Row {
            backend,
            concurrency: c,
            http,
            direct,
            pgbench3,
            diesel,
            load1: sys::load1(),
        };
        print_progress(&row);
        rows.push(row);
    }
    deployment.finish();
    Ok(())
}

/// The server's transaction boundaries from the one-transaction script: drops the lines that
/// end in `-- 1tx` and un-comments the lines that start with `--3tx `.
fn three_transactions(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for line in script.lines() {
        if line.trim_end().ends_with("-- 1tx") {
            continue;
        }
        out.push_str(line.strip_prefix("--3tx ").unwrap_or(line));
        out.push('\n');
    }
    out
}

/// One create + pay over plain HTTP/1.1 (`Connection: close`): the token, or an error with the
/// answer that was not as expected.
pub(super) fn create_and_pay(addr: SocketAddr, demo: &Demo, label: &str) -> Result<String> {
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

fn print_progress(r: &Row) {
    let h = &r.http;
    let mut line = format!(
        "  c={:<3} (wrk -t{}) HTTP {:>6.0} op/s create p50 {} p99 {} | pay p50 {} p99 {} | op \
         p50 {} p99 {} ms | direct {:>6.0} op/s p50 {} p99 {} ms failed {}",
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
    if let Some(p) = &r.pgbench3 {
        line.push_str(&format!(
            " | pgbench 3tx {:>6.0} op/s p50 {} p99 {} ms",
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
    line.push_str(&format!(" | load {:.2}", r.load1));
    println!("{line}");
}

fn print_table(rows: &[Row]) {
    println!(
        "\ncreate-session + pay (sandbox) — HTTP (wrk, release binary) vs the same SQL done \
         directly\n(one operation = POST /payment-sessions/ → 201, then POST \
         /payment-sessions/{{token}}/pay/ → 200 \"completed\";\n op/s = completed pay answers \
         per second (HTTP requests/s = 2 × op/s); latencies in ms: create and pay per request,\n \
         op = create sent → pay answered; direct = pgbench -M prepared, every statement of the \
         operation\n in ONE transaction, on PostgreSQL; in-process diesel (the store's functions, \
         the server's three write\n transactions) on SQLite; failed = direct operations that \
         gave up with \"database is locked\")\n"
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
            ratio(h.ops.rate, r.direct.rate),
            r.load1
        );
    }
    let pg: Vec<&Row> = rows.iter().filter(|r| r.diesel.is_some()).collect();
    if !pg.is_empty() {
        println!(
            "\nPostgreSQL: the target (HTTP ≥ {:.0}% of pgbench in one transaction), and two more \
             baselines with the server's\ntransaction boundaries (three write transactions, \
             reads in autocommit): pgbench 3tx (the same statements)\nand in-process diesel (the \
             store's functions, one connection per thread)\n",
            TARGET * 100.0
        );
        println!(
            "{:<9} {:>4} {:>9} {:>8} {:>7} {:>7} {:>11} {:>7} {:>7} {:>8} {:>8} {:>8} {:>7}",
            "backend",
            "conc",
            "HTTP op/s",
            "pgb3 /s",
            "p50",
            "p99",
            "diesel op/s",
            "p50",
            "p99",
            "HTTP/pgb3",
            "HTTP/dsl",
            "HTTP/pgb",
            "target"
        );
        for r in pg {
            let (Some(d), Some(p3)) = (&r.diesel, &r.pgbench3) else {
                continue;
            };
            let share = if r.direct.rate > 0.0 {
                r.http.ops.rate / r.direct.rate
            } else {
                f64::NAN
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
                ratio(r.http.ops.rate, p3.rate),
                ratio(r.http.ops.rate, d.rate),
                ratio(r.http.ops.rate, r.direct.rate),
                if share.is_nan() {
                    "-"
                } else if share >= TARGET {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_the_three_transaction_script() {
        let one = "\\set r 1\nBEGIN;  -- 1tx\nSELECT 1;\n--3tx BEGIN;\nINSERT 1;\n--3tx END;\n\
                   END;  -- 1tx\n";
        assert_eq!(
            three_transactions(one),
            "\\set r 1\nSELECT 1;\nBEGIN;\nINSERT 1;\nEND;\n"
        );
        let file = include_str!("../../../fixtures/bench/pay.pgbench.sql");
        let three = three_transactions(file);
        let count = |s: &str, l: &str| s.lines().filter(|x| x.trim_end() == l).count();
        assert_eq!(
            (count(file, "BEGIN;  -- 1tx"), count(file, "END;  -- 1tx")),
            (1, 1)
        );
        assert_eq!((count(&three, "BEGIN;"), count(&three, "END;")), (3, 3));
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
