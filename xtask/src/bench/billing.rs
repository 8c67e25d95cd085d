//! `bench billing`: per backend, a fresh database, `catalyst demo --json`, `catalyst serve`,
//! ONE real subscription made through the API (create session + pay on the demo's monthly
//! campaign), then the server stopped and its lead, order, mandate and subscription cloned by
//! SQL (`INSERT … SELECT` over `generate_series` on PostgreSQL, a recursive CTE on SQLite).
//! Every clone keeps the real mandate's sealed IBAN and holder (opened with the deployment's
//! data key) and its `RCUR` sequence and gateway reference, so a clone is collected exactly
//! like the real one.
//!
//! Two sets of `--subscriptions` due subscriptions (`collect_on = anchor_date =
//! next_billing_date`, no pre-notification due), one per billing date:
//!
//! 1. direct: the store's own functions in-process on one connection, as the billing run
//!    calls them — [`billing::due`] in batches of 200, [`billing::claim_renewal`], the sandbox's
//!    immediate approval, [`catalyst_store::outcome::apply_outcome`] — for [`DIRECT_DATE`];
//! 2. the release binary: ONE `catalyst billing run --date` [`RUN_DATE`] `--json`, timed from
//!    process start to exit, its report and the database checked (every subscription of the
//!    set approved once).
//!
//! The direct set runs first, so the billing run works on the larger transactions table.
//!
//! Then `--idle` subscriptions of which none is due (four in five `ACTIVE` with
//! `collect_on` and `notice_on` decades ahead, one in five `CANCELLED` with neither; they share
//! the real subscription's order, lead and mandate: the scans read only `subscriptions`), and
//! a `catalyst billing run --date` [`IDLE_DATE`] over all of them, timed from process start to
//! exit; next to it the due scan alone in-process and, on PostgreSQL, its `EXPLAIN ANALYZE`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use catalyst_store::billing::{self, Claim};
use catalyst_store::outcome;
use catalyst_store::settlement::Settlement;
use catalyst_store::{DatabaseUrl, DbConnection};
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::Value;

use super::load::fmt_share;
use super::pay::create_and_pay;
use super::sessions::{Deployment, ServerEnv};
use super::sys;
use super::{Backend, Options};

/// The target on PostgreSQL: the billing run collects at least this share of the
/// direct rate.
const TARGET: f64 = 0.70;

/// The bound on a run over subscriptions of which none is due.
const IDLE_BOUND: Duration = Duration::from_secs(1);

/// The billing date of the direct set.
const DIRECT_DATE: &str = "2030-01-01";
/// The billing date of the set `catalyst billing run` collects.
const RUN_DATE: &str = "2030-01-02";
/// The date of the run over the idle set: after both sets were collected (their next
/// collection is a month later), before anything idle is due.
const IDLE_DATE: &str = "2030-01-15";
/// `collect_on` of the idle set.
const FAR: &str = "2099-01-01";
/// `notice_on` of the idle set.
const FAR_NOTICE: &str = "2098-12-27";

/// Rows the direct baseline and the billing run read per due scan.
const SCAN_BATCH: i64 = 200;

/// One backend's figures.
struct Row {
    backend: Backend,
    due: usize,
    /// The first batch of the due scan over the full set.
    first_scan: Duration,
    run: Duration,
    direct: Duration,
    idle: Option<Idle>,
    load1: f64,
}

/// The run over subscriptions of which none is due.
struct Idle {
    subscriptions: usize,
    wall: Duration,
    /// `billing::due` alone, in-process (warm).
    scan: Duration,
    /// PostgreSQL: `Execution Time` of `EXPLAIN ANALYZE` of the due scan, in ms.
    explain_ms: Option<f64>,
}

impl Row {
    fn run_rate(&self) -> f64 {
        rate(self.due, self.run)
    }

    fn direct_rate(&self) -> f64 {
        rate(self.due, self.direct)
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

pub fn run(options: &Options, target: &Path) -> Result<()> {
    let binary = target.join("release").join(super::exe("catalyst"));
    if !binary.is_file() {
        bail!(
            "{} is missing (build it without --no-build)",
            binary.display()
        );
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bench billing: {} due subscriptions per set, {} idle; {} cores; load average before: {}",
        options.subscriptions,
        options.idle,
        cores,
        sys::loadavg()
    );
    let mut rows = Vec::new();
    for &backend in &options.backends {
        match run_backend(options, backend, &binary) {
            Ok(row) => rows.push(row),
            Err(e) => {
                print_table(&rows);
                return Err(e.context(format!("{} backend", backend.name())));
            }
        }
    }
    print_table(&rows);
    println!("load average after: {}", sys::loadavg());
    Ok(())
}

fn run_backend(options: &Options, backend: Backend, binary: &Path) -> Result<Row> {
    println!("\n== {} ==", backend.name());
    let mut deployment = Deployment::start(options, backend, binary, None)?;
    let mut demo = deployment.demo.clone();
    demo.campaign_id = demo.recurring_campaign_id.clone();
    create_and_pay(deployment.addr, &demo, "bench-billing-template").map_err(|e| {
        e.context(format!(
            "the template subscription; server log:\n{}",
            sys::tail(&deployment.log, 20)
        ))
    })?;
    // The server's own billing worker must not take part.
    deployment.server.stop();
    let url = DatabaseUrl::parse(&deployment.database_url)?;
    let mut conn = url
        .connect()
        .map_err(|e| anyhow!("connecting to {url}: {e}"))?;
    let template = Template::find(&mut conn)?;
    let n = options.subscriptions;
    let seeder = Seeder {
        backend,
        template: &template,
    };
    let started = Instant::now();
    seeder.due_set(&mut conn, 1, n, DIRECT_DATE)?;
    seeder.due_set(&mut conn, 2, n, RUN_DATE)?;
    println!(
        "seeded 2 × {n} due subscriptions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let first_scan = first_scan(&mut conn, date(DIRECT_DATE))?;
    println!(
        "due scan, first batch of {SCAN_BATCH} over {n} due: {:.2} ms",
        first_scan.as_secs_f64() * 1000.0
    );

    checkpoint(&mut conn, backend)?;
    let direct = direct(&url, date(DIRECT_DATE), n)?;
    check_collected(&mut conn, DIRECT_DATE, n)?;
    println!(
        "direct (store functions in-process): {n} collected in {:.2} s = {:.0} collections/s",
        direct.as_secs_f64(),
        rate(n, direct)
    );

    checkpoint(&mut conn, backend)?;
    let (run, report) = billing_run(binary, &deployment.env, RUN_DATE)?;
    check_report(&report, n, n)?;
    check_collected(&mut conn, RUN_DATE, n)?;
    println!(
        "catalyst billing run: {n} collected in {:.2} s = {:.0} collections/s ({} of direct)",
        run.as_secs_f64(),
        rate(n, run),
        fmt_share(rate(n, run) / rate(n, direct))
    );

    let idle = if options.idle > 0 {
        Some(idle(&mut conn, &seeder, options.idle, binary, &deployment)?)
    } else {
        None
    };
    drop(conn);
    deployment.finish();
    Ok(Row {
        backend,
        due: n,
        first_scan,
        run,
        direct,
        idle,
        load1: sys::load1(),
    })
}

/// Seeds the idle set and times a billing run over it.
fn idle(
    conn: &mut DbConnection,
    seeder: &Seeder,
    count: usize,
    binary: &Path,
    deployment: &Deployment,
) -> Result<Idle> {
    let started = Instant::now();
    seeder.idle_set(conn, 3, count)?;
    println!(
        "seeded {count} idle subscriptions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    analyze(conn, seeder.backend)?;
    checkpoint(conn, seeder.backend)?;
    let (wall, report) = billing_run(binary, &deployment.env, IDLE_DATE)?;
    check_report(&report, 0, 0)?;
    // The due scan alone: once to warm, then timed.
    let day = date(IDLE_DATE);
    billing::due(conn, day, SCAN_BATCH)?;
    let t = Instant::now();
    let found = billing::due(conn, day, SCAN_BATCH)?;
    let scan = t.elapsed();
    if !found.is_empty() {
        bail!("the due scan found {} idle subscriptions due", found.len());
    }
    let explain_ms = match seeder.backend {
        Backend::Postgres => Some(explain(&deployment.database_url)?),
        Backend::Sqlite => None,
    };
    println!(
        "catalyst billing run over {count} idle subscriptions: {:.0} ms (process start to exit, \
         bound {} ms); due scan in-process {:.2} ms{}",
        wall.as_secs_f64() * 1000.0,
        IDLE_BOUND.as_millis(),
        scan.as_secs_f64() * 1000.0,
        explain_ms
            .map(|ms| format!("; EXPLAIN ANALYZE execution {ms:.3} ms"))
            .unwrap_or_default()
    );
    Ok(Idle {
        subscriptions: count,
        wall,
        scan,
        explain_ms,
    })
}

/// The rows of the one subscription made through the API.
struct Template {
    subscription: String,
    order: String,
    lead: String,
    mandate: String,
}

impl Template {
    fn find(conn: &mut DbConnection) -> Result<Template> {
        let n = count(conn, "SELECT count(*) AS n FROM subscriptions")?;
        if n != 1 {
            bail!("expected the one subscription made through the API, found {n}");
        }
        let ids = text(
            conn,
            "SELECT id || ',' || order_id || ',' || lead_id || ',' || mandate_id AS v \
             FROM subscriptions",
        )?;
        let ids: Vec<&str> = ids.split(',').collect();
        let [subscription, order, lead, mandate] = ids[..] else {
            bail!("unexpected template ids {ids:?}");
        };
        let mandate_ready = count(
            conn,
            &format!(
                "SELECT count(*) AS n FROM mandates WHERE id = '{mandate}' \
                 AND sequence_type = 'RCUR' AND gateway_reference IS NOT NULL"
            ),
        )?;
        if mandate_ready != 1 {
            bail!("the template's mandate is not RCUR with a gateway reference");
        }
        // The template itself is neither collected nor announced by the runs (it would be
        // due for every month up to the billing dates).
        exec(
            conn,
            &format!(
                "UPDATE subscriptions SET collect_on = NULL, notice_on = NULL \
                 WHERE id = '{subscription}'"
            ),
        )?;
        Ok(Template {
            subscription: subscription.to_owned(),
            order: order.to_owned(),
            lead: lead.to_owned(),
            mandate: mandate.to_owned(),
        })
    }
}

/// Clones the template's rows by SQL.
struct Seeder<'a> {
    backend: Backend,
    template: &'a Template,
}

impl Seeder<'_> {
    /// `n` subscriptions due on `day`, each with its own lead, order and mandate (copies of
    /// the template's, sealed IBAN included). `set` keeps the ids of different sets apart.
    fn due_set(&self, conn: &mut DbConnection, set: u32, n: usize, day: &str) -> Result<()> {
        let tag = format!("{set:06x}");
        let t = self.template;
        let email = format!("'billing-{tag}-' || g.i || '@example.com'");
        self.clone_rows(
            conn,
            "leads",
            &t.lead,
            n,
            &[
                ("id", self.id("b1", &tag)),
                ("email", email.clone()),
                ("email_normalized", email),
            ],
        )?;
        self.clone_rows(
            conn,
            "orders",
            &t.order,
            n,
            &[
                ("id", self.id("b2", &tag)),
                ("lead_id", self.id("b1", &tag)),
                ("session_id", self.null("text")),
                ("order_number", format!("'BENCH-{tag}-' || g.i")),
            ],
        )?;
        self.clone_rows(
            conn,
            "mandates",
            &t.mandate,
            n,
            &[
                ("id", self.id("b3", &tag)),
                ("lead_id", self.id("b1", &tag)),
                ("reference", format!("'MAND-BENCH-{tag}-' || g.i")),
            ],
        )?;
        let day = self.date(day);
        self.clone_rows(
            conn,
            "subscriptions",
            &t.subscription,
            n,
            &[
                ("id", self.id("b4", &tag)),
                ("order_id", self.id("b2", &tag)),
                ("lead_id", self.id("b1", &tag)),
                ("mandate_id", self.id("b3", &tag)),
                ("session_id", self.null("text")),
                ("status", "'ACTIVE'".into()),
                ("next_billing_date", day.clone()),
                ("anchor_date", day.clone()),
                ("collect_on", day),
                ("notice_on", self.null("date")),
                ("periods_billed", "0".into()),
                ("dunning_attempts", "0".into()),
                ("cancel_at_period_end", self.bool(false)),
            ],
        )
    }

    /// `n` subscriptions none of which is due: four in five `ACTIVE` and scheduled decades
    /// ahead, one in five `CANCELLED` with nothing scheduled. They share the template's order,
    /// lead and mandate.
    fn idle_set(&self, conn: &mut DbConnection, set: u32, n: usize) -> Result<()> {
        let tag = format!("{set:06x}");
        let cancelled = "g.i % 5 = 0";
        let (far, notice) = (self.date(FAR), self.date(FAR_NOTICE));
        let (null_date, null_ts) = (self.null("date"), self.null("timestamp"));
        self.clone_rows(
            conn,
            "subscriptions",
            &self.template.subscription,
            n,
            &[
                ("id", self.id("b5", &tag)),
                ("session_id", self.null("text")),
                (
                    "status",
                    format!("CASE WHEN {cancelled} THEN 'CANCELLED' ELSE 'ACTIVE' END"),
                ),
                ("next_billing_date", far.clone()),
                ("anchor_date", far.clone()),
                (
                    "collect_on",
                    format!("CASE WHEN {cancelled} THEN {null_date} ELSE {far} END"),
                ),
                (
                    "notice_on",
                    format!("CASE WHEN {cancelled} THEN {null_date} ELSE {notice} END"),
                ),
                (
                    "ended_at",
                    format!("CASE WHEN {cancelled} THEN t.updated_at ELSE {null_ts} END"),
                ),
            ],
        )
    }

    /// `INSERT INTO table (every column) SELECT …` of `n` copies of row `id`, with `overrides`
    /// (SQL over the template row `t` and the series number `g.i`) in place of some columns.
    fn clone_rows(
        &self,
        conn: &mut DbConnection,
        table: &str,
        id: &str,
        n: usize,
        overrides: &[(&str, String)],
    ) -> Result<()> {
        let columns = columns(conn, self.backend, table)?;
        for (name, _) in overrides {
            if !columns.iter().any(|c| c == name) {
                bail!("{table} has no column {name}");
            }
        }
        let values: Vec<String> = columns
            .iter()
            .map(|c| match overrides.iter().find(|(name, _)| name == c) {
                Some((_, sql)) => sql.clone(),
                None => format!("t.{c}"),
            })
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({}) SELECT {} FROM {table} t",
            columns.join(", "),
            values.join(", ")
        );
        let sql = match self.backend {
            Backend::Postgres => {
                format!("{insert}, generate_series(1, {n}) AS g(i) WHERE t.id = '{id}'")
            }
            Backend::Sqlite => format!(
                "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < {n}) \
                 {insert}, g WHERE t.id = '{id}'"
            ),
        };
        exec(conn, &sql)
    }

    /// A UUID-shaped id per series number: `<kind><set>-0000-7000-8000-<i as 12 hex digits>`.
    fn id(&self, kind: &str, tag: &str) -> String {
        match self.backend {
            Backend::Postgres => {
                format!("'{kind}{tag}-0000-7000-8000-' || lpad(to_hex(g.i), 12, '0')")
            }
            Backend::Sqlite => format!("printf('{kind}{tag}-0000-7000-8000-%012x', g.i)"),
        }
    }

    fn date(&self, day: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("DATE '{day}'"),
            Backend::Sqlite => format!("'{day}'"),
        }
    }

    fn null(&self, ty: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("NULL::{ty}"),
            Backend::Sqlite => "NULL".into(),
        }
    }

    fn bool(&self, v: bool) -> String {
        match (self.backend, v) {
            (Backend::Postgres, v) => v.to_string(),
            (Backend::Sqlite, v) => u8::from(v).to_string(),
        }
    }
}

/// The direct baseline: the billing run's store calls for every subscription due on `today`
/// on one connection, the sandbox's immediate approval in place of the gateway call. Fails
/// unless exactly `expected` were collected, all approved.
fn direct(url: &DatabaseUrl, today: NaiveDate, expected: usize) -> Result<Duration> {
    let mut conn = url
        .connect()
        .map_err(|e| anyhow!("connecting to {url}: {e}"))?;
    let started = Instant::now();
    let mut collected = 0;
    loop {
        sys::check_interrupt()?;
        let batch = billing::due(&mut conn, today, SCAN_BATCH)?;
        if batch.is_empty() {
            break;
        }
        for s in batch {
            let claimed = billing::claim_renewal(&mut conn, &s.id, today, catalyst_store::now())?;
            let Claim::Collect(claimed) = claimed else {
                bail!(
                    "direct: subscription {} was not collected: {claimed:?}",
                    s.id
                );
            };
            let settlement = Settlement::Approved {
                reference: format!("sbx_{}", uuid::Uuid::new_v4().simple()),
            };
            outcome::apply_outcome(
                &mut conn,
                &claimed.transaction.id,
                &settlement,
                catalyst_store::now(),
            )?;
            collected += 1;
        }
    }
    let elapsed = started.elapsed();
    if collected != expected {
        bail!("direct: collected {collected}, expected {expected}");
    }
    Ok(elapsed)
}

/// The first batch of the due scan over a full set (the costliest: every due row qualifies),
/// warm.
fn first_scan(conn: &mut DbConnection, today: NaiveDate) -> Result<Duration> {
    billing::due(conn, today, SCAN_BATCH)?;
    let t = Instant::now();
    let batch = billing::due(conn, today, SCAN_BATCH)?;
    let elapsed = t.elapsed();
    if batch.is_empty() {
        bail!("the due scan found nothing due on {today}");
    }
    Ok(elapsed)
}

/// `catalyst billing run --date <day> --json`: the wall time from process start to exit and
/// the report.
fn billing_run(binary: &Path, env: &ServerEnv, day: &str) -> Result<(Duration, Value)> {
    let mut cmd: Command = env.command(binary);
    cmd.args(["billing", "run", "--date", day, "--json"]);
    let started = Instant::now();
    let out = cmd.output().context("running catalyst billing run")?;
    let wall = started.elapsed();
    sys::check_interrupt()?;
    if !out.status.success() {
        bail!(
            "catalyst billing run --date {day} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "catalyst billing run --json printed no report:\n{}",
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(2000)])
        )
    })?;
    Ok((wall, report))
}

/// The report counts `due` due subscriptions, `approved` of them collected and approved,
/// nothing else.
fn check_report(report: &Value, due: usize, approved: usize) -> Result<()> {
    let num = |k: &str| report[k].as_u64().unwrap_or(u64::MAX);
    let expected = [
        ("due", due),
        ("collected", approved),
        ("approved", approved),
        ("declined", 0),
        ("pending", 0),
        ("cancelled", 0),
        ("notices", 0),
    ];
    for (k, v) in expected {
        if num(k) != v as u64 {
            bail!(
                "catalyst billing run reported {k} = {}, expected {v}",
                report[k]
            );
        }
    }
    Ok(())
}

/// Exactly one approved renewal of period `day` per subscription of its set, none pending.
fn check_collected(conn: &mut DbConnection, day: &str, n: usize) -> Result<()> {
    let q = |what: &str| {
        format!(
            "SELECT count({what}) AS n FROM transactions WHERE subscription_id IS NOT NULL \
             AND billing_period = '{day}' AND status = 'approved'"
        )
    };
    let (rows, subscriptions) = (
        count(conn, &q("*"))?,
        count(conn, &q("DISTINCT subscription_id"))?,
    );
    let pending = count(
        conn,
        "SELECT count(*) AS n FROM transactions WHERE status = 'pending'",
    )?;
    if (rows, subscriptions, pending) != (n as i64, n as i64, 0) {
        bail!(
            "period {day}: {rows} approved renewals of {subscriptions} subscriptions and \
             {pending} pending transactions, expected {n}, {n} and 0"
        );
    }
    Ok(())
}

/// PostgreSQL: `EXPLAIN ANALYZE` of the due scan (the statement `billing::due` sends) over the
/// idle set, through psql; its execution time in ms.
fn explain(database_url: &str) -> Result<f64> {
    let sql = format!(
        "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM subscriptions \
         WHERE subscriptions.collect_on IS NOT NULL AND collect_on <= DATE '{IDLE_DATE}' \
         AND status IN ('ACTIVE', 'PAST_DUE') AND NOT EXISTS (SELECT 1 FROM transactions t \
         WHERE t.subscription_id = subscriptions.id AND t.status = 'pending') \
         ORDER BY collect_on, id LIMIT {SCAN_BATCH}"
    );
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-d", database_url, "-c", &sql])
        .output()
        .context("running psql (Debian: apt-get install postgresql-client)")?;
    if !out.status.success() {
        bail!(
            "psql EXPLAIN failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let plan = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("EXPLAIN ANALYZE of the due scan:\n{}", plan.trim_end());
    plan.lines()
        .find_map(|l| l.strip_prefix("Execution Time: "))
        .and_then(|l| l.trim_end_matches(" ms").trim().parse().ok())
        .with_context(|| format!("no Execution Time in:\n{plan}"))
}

/// PostgreSQL: fresh planner statistics after the bulk insert of the idle set. Not on SQLite,
/// and not before the due runs: statistics taken while `transactions` holds no renewal lead
/// SQLite to scan `transactions` for every "renewal in flight" check (the due scan's
/// `NOT EXISTS` and the claim's), which made both runs quadratic in N.
fn analyze(conn: &mut DbConnection, backend: Backend) -> Result<()> {
    match backend {
        Backend::Postgres => exec(conn, "ANALYZE subscriptions"),
        Backend::Sqlite => Ok(()),
    }
}

/// PostgreSQL: `CHECKPOINT` before a timed run (no dirty buffers of the seeding to write).
fn checkpoint(conn: &mut DbConnection, backend: Backend) -> Result<()> {
    match backend {
        Backend::Postgres => exec(conn, "CHECKPOINT"),
        Backend::Sqlite => exec(conn, "PRAGMA wal_checkpoint(TRUNCATE)"),
    }
}

fn date(day: &str) -> NaiveDate {
    day.parse().expect("a constant date")
}

fn exec(conn: &mut DbConnection, sql: &str) -> Result<()> {
    match conn {
        DbConnection::Postgres(c) => c.batch_execute(sql),
        DbConnection::Sqlite(c) => c.batch_execute(sql),
    }
    .with_context(|| format!("running {}", abbreviate(sql)))
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    v: String,
}

#[derive(QueryableByName)]
struct CountRow {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn text(conn: &mut DbConnection, sql: &str) -> Result<String> {
    let q = diesel::sql_query(sql);
    match conn {
        DbConnection::Postgres(c) => q.get_result::<TextRow>(c),
        DbConnection::Sqlite(c) => q.get_result::<TextRow>(c),
    }
    .map(|r| r.v)
    .with_context(|| format!("running {}", abbreviate(sql)))
}

fn count(conn: &mut DbConnection, sql: &str) -> Result<i64> {
    let q = diesel::sql_query(sql);
    match conn {
        DbConnection::Postgres(c) => q.get_result::<CountRow>(c),
        DbConnection::Sqlite(c) => q.get_result::<CountRow>(c),
    }
    .map(|r| r.n)
    .with_context(|| format!("running {}", abbreviate(sql)))
}

/// The columns of `table` in their order.
fn columns(conn: &mut DbConnection, backend: Backend, table: &str) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Postgres => format!(
            "SELECT string_agg(column_name::text, ',' ORDER BY ordinal_position) AS v \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        Backend::Sqlite => {
            format!("SELECT group_concat(name, ',') AS v FROM pragma_table_info('{table}')")
        }
    };
    Ok(text(conn, &sql)?.split(',').map(str::to_owned).collect())
}

fn abbreviate(sql: &str) -> String {
    let mut s: String = sql.chars().take(300).collect();
    if s.len() < sql.len() {
        s.push('…');
    }
    s
}

fn print_table(rows: &[Row]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\nbilling run (sandbox): N due subscriptions collected by ONE `catalyst billing run` \
         (release binary,\nprocess start to exit) vs the store's functions called directly \
         in-process on one connection\n(due scan, claim_renewal, sandbox approval, apply_outcome; \
         no IBAN opening, no gateway adapter, no report);\nscan1 = the due scan's first batch \
         of 200 over the N due (in-process, warm)\n"
    );
    println!(
        "{:<9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7} {:>8} {:>6}",
        "backend",
        "N",
        "run s",
        "run/s",
        "direct s",
        "direct/s",
        "run/dir",
        "target",
        "scan1 ms",
        "load1"
    );
    for r in rows {
        let share = r.run_rate() / r.direct_rate();
        let verdict = match r.backend {
            Backend::Postgres if share >= TARGET => "met",
            Backend::Postgres => "MISSED",
            Backend::Sqlite => "-",
        };
        println!(
            "{:<9} {:>8} {:>9.2} {:>9.0} {:>9.2} {:>9.0} {:>8} {:>7} {:>8.2} {:>6.2}",
            r.backend.name(),
            r.due,
            r.run.as_secs_f64(),
            r.run_rate(),
            r.direct.as_secs_f64(),
            r.direct_rate(),
            fmt_share(share),
            verdict,
            r.first_scan.as_secs_f64() * 1000.0,
            r.load1
        );
    }
    let idle: Vec<(&Row, &Idle)> = rows
        .iter()
        .filter_map(|r| Some((r, r.idle.as_ref()?)))
        .collect();
    if idle.is_empty() {
        return;
    }
    println!(
        "\nnone due: one `catalyst billing run` over subscriptions of which none is due \
         (process start to exit;\nbound {} ms), the due scan alone in-process, and its EXPLAIN \
         ANALYZE execution time on PostgreSQL\n",
        IDLE_BOUND.as_millis()
    );
    println!(
        "{:<9} {:>10} {:>9} {:>8} {:>9} {:>8}",
        "backend", "idle subs", "run ms", "bound", "scan ms", "explain"
    );
    for (r, i) in idle {
        println!(
            "{:<9} {:>10} {:>9.0} {:>8} {:>9.2} {:>8}",
            r.backend.name(),
            i.subscriptions,
            i.wall.as_secs_f64() * 1000.0,
            if i.wall < IDLE_BOUND { "met" } else { "MISSED" },
            i.scan.as_secs_f64() * 1000.0,
            i.explain_ms
                .map(|ms| format!("{ms:.3}"))
                .unwrap_or_else(|| "-".into())
        );
    }
}
