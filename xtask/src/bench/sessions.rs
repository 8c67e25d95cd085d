//! `bench sessions`: per backend, a fresh database, `catalyst demo --json`, `catalyst serve`,
//! then per concurrency level: wrk against the server, and the direct baselines.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use catalyst_domain::ApiKeyToken;
use catalyst_store::DatabaseUrl;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;

use super::load::{Figures, Pgbench, Wrk, threads_for};
use super::sys::{self, ChildGuard, WorkDir};
use super::{Backend, Options, direct};

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/";

/// One concurrency level of one backend.
struct Row {
    backend: Backend,
    concurrency: usize,
    http: Figures,
    /// pgbench on PostgreSQL, in-process diesel on SQLite.
    direct: Figures,
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
    let lua = root.join("fixtures/bench/sessions.lua");
    let pgbench_sql = root.join("fixtures/bench/sessions.pgbench.sql");
    ensure_wrk()?;
    if options.backends.contains(&Backend::Postgres) && !sys::on_path("pgbench") {
        bail!("pgbench is not on PATH (Debian: apt-get install postgresql-client)");
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "bench sessions: {} s measured after {} s warm-up per run; concurrency {:?}; {} cores; \
         load average before: {}",
        options.duration,
        options.warmup,
        options.concurrency,
        cores,
        sys::loadavg()
    );
    let mut rows = Vec::new();
    for &backend in &options.backends {
        let fixtures = Fixtures {
            binary: &binary,
            lua: &lua,
            pgbench_sql: &pgbench_sql,
        };
        let result = run_backend(options, backend, &fixtures, &mut rows);
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

struct Fixtures<'a> {
    binary: &'a Path,
    lua: &'a Path,
    pgbench_sql: &'a Path,
}

/// What `catalyst demo --json` printed.
#[derive(Clone)]
pub(crate) struct Demo {
    pub tenant_id: String,
    pub secret_key: String,
    pub restricted_key: String,
    pub gateway_id: String,
    pub campaign_id: String,
    /// The monthly campaign (`chaos billing`, `bench billing`).
    pub recurring_campaign_id: String,
    pub hosted_page_id: String,
    pub webhook_profile_id: String,
}

/// `catalyst serve` on a fresh database (SQLite file in the work directory, or a new
/// PostgreSQL database) with the demo tenant, answering and smoke-tested. The fields drop in
/// declaration order: server, then benchmark database, then work directory.
pub(crate) struct Deployment {
    pub server: ChildGuard,
    pg_database: Option<PgDatabase>,
    pub work: WorkDir,
    pub env: ServerEnv,
    pub demo: Demo,
    pub addr: SocketAddr,
    pub log: PathBuf,
    pub database_url: String,
}

impl Deployment {
    /// Creates the database, runs `catalyst demo --json [--webhook-url URL]`, starts the server,
    /// waits until it answers and sends one `POST /payment-sessions/` (201 or an error).
    pub(crate) fn start(
        options: &Options,
        backend: Backend,
        binary: &Path,
        webhook_url: Option<&str>,
    ) -> Result<Self> {
        // Locals drop in reverse order on an early return: server, database, work directory.
        let work = WorkDir::new(options.keep)?;
        let mut pg_database = None;
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite://{}", work.path().join("bench.db").display()),
            Backend::Postgres => {
                let server = PgServer::from_env()?;
                server.ensure_running()?;
                let db = PgDatabase::create(&server, options.keep)?;
                let url = db.url.clone();
                pg_database = Some(db);
                url
            }
        };
        let env = ServerEnv {
            database_url: database_url.clone(),
            key_file: work.path().join("data.key"),
            work: work.path().to_path_buf(),
            rust_log: options.rust_log.clone(),
            extra: options.server_env.clone(),
        };
        let demo = demo(binary, &env, webhook_url)?;
        let port = sys::free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = work.path().join("server.log");
        let mut server = start_server(binary, &env, addr, &log)?;
        wait_ready(&mut server, addr, &log)?;
        smoke(addr, &demo, &log)?;
        println!(
            "server {} on {addr}; log {}",
            DatabaseUrl::parse(&database_url)?,
            if options.keep {
                log.display().to_string()
            } else {
                "in the (removed) work directory; --keep keeps it".into()
            }
        );
        Ok(Self {
            server,
            pg_database,
            work,
            env,
            demo,
            addr,
            log,
            database_url,
        })
    }

    /// Starts the server again (after `server.stop()`), appending to the same log.
    pub(crate) fn restart(&mut self, binary: &Path) -> Result<()> {
        self.server.stop();
        self.server = start_server(binary, &self.env, self.addr, &self.log)?;
        wait_ready(&mut self.server, self.addr, &self.log)
    }

    /// What the in-process baselines need: URL, key hash, campaign.
    pub(crate) fn direct_target(&self) -> Result<direct::Target> {
        Ok(direct::Target {
            url: DatabaseUrl::parse(&self.database_url)?,
            key_hash: ApiKeyToken::parse(&self.demo.restricted_key)
                .context("demo restricted key")?
                .hash(),
            campaign_id: self.demo.campaign_id.clone(),
        })
    }

    /// Stops the server, then drops the benchmark database and the work directory.
    pub(crate) fn finish(mut self) {
        self.server.stop();
        drop(self.pg_database.take());
    }
}

fn run_backend(
    options: &Options,
    backend: Backend,
    fixtures: &Fixtures,
    rows: &mut Vec<Row>,
) -> Result<()> {
    println!("\n== {} ==", backend.name());
    let deployment = Deployment::start(options, backend, fixtures.binary, None)?;
    let (demo, addr, log) = (&deployment.demo, deployment.addr, &deployment.log);
    let database_url = deployment.database_url.clone();
    let target = deployment.direct_target()?;
    direct::check(&target)?;
    let url = format!("http://{addr}/api/v1/payment-sessions/");
    let warmup = Duration::from_secs(options.warmup);
    let duration = Duration::from_secs(options.duration);
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
            script: fixtures.lua,
            key: &demo.restricted_key,
            campaign_id: &demo.campaign_id,
            run_id,
            connections: c,
            secs,
        };
        if options.warmup > 0 {
            let w = wrk(format!("c{c}w"), options.warmup).run()?;
            check_http(&w, addr, demo, log, "warm-up")?;
        }
        let h = wrk(format!("c{c}"), options.duration).run()?;
        check_http(&h, addr, demo, log, "measured run")?;

        // The same SQL directly.
        let (direct, diesel) = match backend {
            Backend::Postgres => {
                let pgbench = |secs: u64, log_prefix: Option<PathBuf>| Pgbench {
                    url: &database_url,
                    script: fixtures.pgbench_sql,
                    vars: &pg_vars,
                    clients: c,
                    secs,
                    log_prefix,
                };
                if options.warmup > 0 {
                    pgbench(options.warmup, None).run()?;
                }
                let prefix = deployment.work.path().join(format!("pgbench_c{c}"));
                let p = pgbench(options.duration, Some(prefix)).run()?;
                std::fs::write(
                    deployment.work.path().join(format!("pgbench_c{c}.out")),
                    &p.stdout,
                )?;
                if p.failed > 0 {
                    bail!("pgbench: {} failed transactions\n{}", p.failed, p.stdout);
                }
                let d = direct::run(
                    &target,
                    direct::create_session,
                    c,
                    warmup,
                    duration,
                    &format!("d{c}"),
                )?;
                (p.figures, Some(d))
            }
            Backend::Sqlite => (
                direct::run(
                    &target,
                    direct::create_session,
                    c,
                    warmup,
                    duration,
                    &format!("d{c}"),
                )?,
                None,
            ),
        };
        let row = Row {
            backend,
            concurrency: c,
            http: h.figures,
            direct,
            diesel,
            load1: sys::load1(),
        };
        print_progress(&row);
        rows.push(row);
    }
    deployment.finish();
    Ok(())
}

/// Environment of the `catalyst` processes.
pub(crate) struct ServerEnv {
    database_url: String,
    key_file: PathBuf,
    work: PathBuf,
    rust_log: Option<String>,
    /// Further variables (`Options::server_env`).
    extra: Vec<(String, String)>,
}

impl ServerEnv {
    /// `binary` with the deployment's database, data key, work directory and variables.
    pub(crate) fn command(&self, binary: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.current_dir(&self.work)
            .env("DATABASE_URL", &self.database_url)
            .env("CATALYST_DATA_KEY_FILE", &self.key_file)
            .env_remove("CATALYST_DATA_KEY")
            .env_remove("CATALYST_PUBLIC_URL")
            .env_remove("CATALYST_LIVEMODE")
            .env_remove("CATALYST_LOG_FORMAT");
        match &self.rust_log {
            Some(filter) => cmd.env("RUST_LOG", filter),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd.envs(self.extra.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

fn demo(binary: &Path, env: &ServerEnv, webhook_url: Option<&str>) -> Result<Demo> {
    let mut cmd = env.command(binary);
    cmd.args(["demo", "--json"]);
    if let Some(url) = webhook_url {
        cmd.args(["--webhook-url", url]);
    }
    let out = sys::run_bounded(&mut cmd, Duration::from_secs(120), "catalyst demo --json")?
        .check("catalyst demo --json")?;
    let v: Value = serde_json::from_str(&out.stdout)
        .with_context(|| format!("catalyst demo --json printed:\n{}", out.stdout))?;
    let field = |k: &str| -> Result<String> {
        v[k].as_str()
            .map(str::to_owned)
            .with_context(|| format!("catalyst demo --json: no {k}"))
    };
    Ok(Demo {
        tenant_id: field("tenant_id")?,
        secret_key: field("secret_key")?,
        restricted_key: field("restricted_key")?,
        gateway_id: field("gateway_id")?,
        campaign_id: field("campaign_id")?,
        recurring_campaign_id: field("recurring_campaign_id")?,
        hosted_page_id: field("hosted_page_id")?,
        webhook_profile_id: field("webhook_profile_id")?,
    })
}

pub(crate) fn start_server(
    binary: &Path,
    env: &ServerEnv,
    addr: SocketAddr,
    log: &Path,
) -> Result<ChildGuard> {
    // Appends: a restarted server (bench webhooks) writes to the same log.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let mut cmd = env.command(binary);
    cmd.arg("serve")
        .env("CATALYST_BIND", addr.to_string())
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file);
    ChildGuard::spawn("catalyst serve", &mut cmd)
}

/// Polls until the server answers HTTP (any status), at most 60 s.
pub(crate) fn wait_ready(server: &mut ChildGuard, addr: SocketAddr, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        sys::check_interrupt()?;
        if let Some(status) = server.exited() {
            bail!(
                "catalyst serve exited ({status}) before answering:\n{}",
                sys::tail(log, 30)
            );
        }
        if sys::http(addr, "GET", "/api/v1/", &[], "").is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "catalyst serve did not answer on {addr} within 60 s:\n{}",
                sys::tail(log, 30)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn create_request(demo: &Demo, email: &str) -> String {
    serde_json::json!({"campaign_id": demo.campaign_id,
        "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": email, "country": "DE"}})
    .to_string()
}

/// One request before the load: 201 or a loud failure with the response body.
fn smoke(addr: SocketAddr, demo: &Demo, log: &Path) -> Result<()> {
    let email = format!("bench-smoke-{}@example.com", sys::unique_suffix());
    let auth = format!("Bearer {}", demo.restricted_key);
    let r = sys::http(
        addr,
        "POST",
        "/api/v1/payment-sessions/",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &create_request(demo, &email),
    )?;
    if r.status != 201 {
        bail!(
            "POST /api/v1/payment-sessions/ answered {} (expected 201): {}\nserver log:\n{}",
            r.status,
            r.body.trim(),
            sys::tail(log, 20)
        );
    }
    Ok(())
}

/// The run is invalid if any request failed: report counts, one sample response and the log.
pub(super) fn check_http(
    r: &super::load::WrkResult,
    addr: SocketAddr,
    demo: &Demo,
    log: &Path,
    what: &str,
) -> Result<()> {
    if r.non_2xx == 0 && r.socket_errors == 0 {
        return Ok(());
    }
    let sample = match smoke(addr, demo, log) {
        Ok(()) => "a request sent afterwards succeeded".to_owned(),
        Err(e) => format!("{e:#}"),
    };
    bail!(
        "INVALID RUN ({what}): {} of {} requests were not 2xx/3xx; socket errors: {}.\n{sample}\n\
         server log:\n{}",
        r.non_2xx,
        r.figures.count,
        r.socket_detail,
        sys::tail(log, 20)
    )
}

pub(super) fn ensure_wrk() -> Result<()> {
    if sys::on_path("wrk") {
        return Ok(());
    }
    eprintln!("wrk is missing; installing it with apt-get");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !install() {
        let _ = Command::new("apt-get").arg("update").status();
        if !install() {
            bail!("could not install wrk (apt-get install -y wrk)");
        }
    }
    Ok(())
}

/// The PostgreSQL server the benchmark database is created on.
struct PgServer {
    /// `postgres://user@host:port` (no path).
    base: String,
    /// `?…` query of the given URL, if any.
    query: String,
    default: bool,
}

impl PgServer {
    fn from_env() -> Result<Self> {
        let given = std::env::var("BENCH_DATABASE_URL").ok();
        let url = given.as_deref().unwrap_or(DEFAULT_PG);
        let rest = url
            .strip_prefix("postgres://")
            .or_else(|| url.strip_prefix("postgresql://"))
            .with_context(|| format!("BENCH_DATABASE_URL must be postgres://…, not {url:?}"))?;
        let (before_query, query) = match rest.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (rest, String::new()),
        };
        let authority = before_query.split('/').next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let host = if let Some(v6) = host_port.strip_prefix('[') {
            v6.split(']').next().unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        if !matches!(host, "" | "127.0.0.1" | "localhost" | "::1") {
            bail!("BENCH_DATABASE_URL must point at this machine (127.0.0.1), not {host:?}");
        }
        Ok(Self {
            base: format!("postgres://{authority}"),
            query,
            default: given.is_none(),
        })
    }

    fn url(&self, database: &str) -> String {
        format!("{}/{database}{}", self.base, self.query)
    }

    fn ready(&self) -> bool {
        Command::new("pg_isready")
            .args(["-q", "-d", &self.url("postgres")])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts the local Debian cluster (`pg_ctlcluster <version> main start`) if it is down.
    fn ensure_running(&self) -> Result<()> {
        if self.ready() {
            return Ok(());
        }
        if !self.default {
            bail!("PostgreSQL at BENCH_DATABASE_URL is not accepting connections");
        }
        let version = std::fs::read_dir("/etc/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("main").is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .max_by_key(|v| v.parse::<u32>().unwrap_or(0))
            .unwrap_or_else(|| "15".into());
        eprintln!("PostgreSQL is down; pg_ctlcluster {version} main start");
        let status = Command::new("pg_ctlcluster")
            .args([&version, "main", "start"])
            .status()
            .context("running pg_ctlcluster")?;
        if !status.success() {
            bail!("pg_ctlcluster {version} main start failed ({status})");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.ready() {
            if Instant::now() >= deadline {
                bail!("PostgreSQL did not accept connections within 30 s of starting it");
            }
            sys::sleep(Duration::from_millis(200))?;
        }
        Ok(())
    }
}

/// `catalyst_bench_<random>`, dropped (with `FORCE`) when the guard drops unless kept.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
    keep: bool,
}

impl PgDatabase {
    fn create(server: &PgServer, keep: bool) -> Result<Self> {
        let name = format!("catalyst_bench_{}", sys::unique_suffix());
        let admin_url = server.url("postgres");
        let shown = DatabaseUrl::parse(&admin_url)?.to_string();
        let mut conn = PgConnection::establish(&admin_url)
            .with_context(|| format!("connecting to {shown}"))?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .with_context(|| format!("CREATE DATABASE {name}"))?;
        Ok(Self {
            url: server.url(&name),
            admin_url,
            name,
            keep,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept database {}", self.name);
            return;
        }
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                c.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("could not drop database {}: {e}", self.name);
        }
    }
}

pub(super) fn ms(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

pub(super) fn ratio(a: f64, b: f64) -> String {
    super::load::fmt_share(super::load::share(a, b))
}

fn print_progress(r: &Row) {
    let mut line = format!(
        "  c={:<3} (wrk -t{}) HTTP {:>7.0} req/s p50 {} p99 {} ms | direct {:>7.0} tx/s p50 {} \
         p99 {} ms failed {}",
        r.concurrency,
        threads_for(r.concurrency),
        r.http.rate,
        ms(r.http.p50_ms),
        ms(r.http.p99_ms),
        r.direct.rate,
        ms(r.direct.p50_ms),
        ms(r.direct.p99_ms),
        r.direct.failed
    );
    if let Some(d) = &r.diesel {
        line.push_str(&format!(
            " | diesel {:>7.0} tx/s p50 {} p99 {} ms",
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
        "\nPOST /api/v1/payment-sessions/ — HTTP (wrk, release binary) vs the same SQL done \
         directly\n(direct = pgbench -M prepared on PostgreSQL, in-process diesel with BEGIN \
         IMMEDIATE on SQLite; latencies in ms;\n failed = direct transactions that gave up with \
         \"database is locked\" after busy_timeout, not counted in tx/s)\n"
    );
    println!(
        "{:<9} {:>5} {:>10} {:>8} {:>8} {:>11} {:>8} {:>8} {:>6} {:>11} {:>6}",
        "backend",
        "conc",
        "HTTP req/s",
        "p50",
        "p99",
        "direct tx/s",
        "p50",
        "p99",
        "failed",
        "HTTP/direct",
        "load1"
    );
    for r in rows {
        println!(
            "{:<9} {:>5} {:>10.0} {:>8} {:>8} {:>11.0} {:>8} {:>8} {:>6} {:>11} {:>6.2}",
            r.backend.name(),
            r.concurrency,
            r.http.rate,
            ms(r.http.p50_ms),
            ms(r.http.p99_ms),
            r.direct.rate,
            ms(r.direct.p50_ms),
            ms(r.direct.p99_ms),
            r.direct.failed,
            ratio(r.http.rate, r.direct.rate),
            r.load1
        );
    }
    let pg: Vec<&Row> = rows.iter().filter(|r| r.diesel.is_some()).collect();
    if !pg.is_empty() {
        println!(
            "\nPostgreSQL, the same transaction through in-process diesel (the store's queries, \
             one connection per thread)\n"
        );
        println!(
            "{:<9} {:>5} {:>10} {:>8} {:>8} {:>12} {:>12}",
            "backend", "conc", "diesel tx/s", "p50", "p99", "HTTP/diesel", "diesel/pgb"
        );
        for r in pg {
            let Some(d) = &r.diesel else { continue };
            println!(
                "{:<9} {:>5} {:>10.0} {:>8} {:>8} {:>12} {:>12}",
                r.backend.name(),
                r.concurrency,
                d.rate,
                ms(d.p50_ms),
                ms(d.p99_ms),
                ratio(r.http.rate, d.rate),
                ratio(d.rate, r.direct.rate)
            );
        }
    }
}
