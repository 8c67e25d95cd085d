//! `cargo xtask bench page`: the hosted payment page (`GET /s/{token}`) of one demo session
//! under `wrk` at 16 connections (release binary): requests/s and the latency percentiles wrk
//! measured (client-side, so an upper bound of the server's own time), the server's own median
//! from its access log (`ms` of each `GET /s/{token}` line), and what the page
//! weighs: the HTML and every same-origin script and stylesheet it loads (headers included),
//! images (the logo) left out.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::sessions::Deployment;
use super::{Backend, Options, sys};

/// One backend's figures at one concurrency.
struct Run {
    backend: Backend,
    connections: usize,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// From the server's access log: the median of its own `ms` for the page's requests.
    server_p50_ms: f64,
    html_bytes: usize,
    script_bytes: usize,
    style_bytes: usize,
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
        "bench page: GET /s/{{token}}, wrk -c {:?} for {} s after {} s warm-up; load average before: {}",
        options.concurrency,
        options.duration,
        options.warmup,
        sys::loadavg()
    );
    super::sessions::ensure_wrk()?;
    let mut runs = Vec::new();
    for &backend in &options.backends {
        println!("\n== {} ==", backend.name());
        let deployment = Deployment::start(options, backend, &binary, None)?;
        let token = new_session(
            deployment.addr,
            &deployment.demo.restricted_key,
            &deployment.demo.campaign_id,
        )?;
        let path = format!("/s/{token}");
        let page = sys::http(
            deployment.addr,
            "GET",
            &path,
            &[("Accept-Language", "de")],
            "",
        )?;
        if page.status != 200 {
            bail!("GET {path} answered {}", page.status);
        }
        let (mut script_bytes, mut style_bytes) = (0, 0);
        for (kind, url) in resources(&page.body) {
            let r = sys::http(deployment.addr, "GET", &url, &[], "")?;
            if r.status != 200 {
                bail!("GET {url} (from the page) answered {}", r.status);
            }
            match kind {
                Resource::Script => script_bytes += r.raw_len,
                Resource::Style => style_bytes += r.raw_len,
            }
        }
        let url = format!("http://{}{path}", deployment.addr);
        for &connections in &options.concurrency {
            wrk(&url, connections, options.warmup.max(1))?;
            let lines_before = access_log_lines(&deployment.log)?;
            let out = wrk(&url, connections, options.duration)?;
            if out.contains("Non-2xx") || out.contains("Socket errors") {
                bail!("wrk saw failed requests:\n{out}");
            }
            let run = Run {
                backend,
                connections,
                rate: number_after(&out, "Requests/sec:")?,
                p50_ms: percentile(&out, "50%")?,
                p99_ms: percentile(&out, "99%")?,
                server_p50_ms: server_median(&deployment.log, lines_before)?,
                html_bytes: page.raw_len,
                script_bytes,
                style_bytes,
            };
            println!(
                "-c {connections}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms (server p50 {:.3} ms); HTML {} B, scripts {} B, styles {} B",
                run.rate,
                run.p50_ms,
                run.p99_ms,
                run.server_p50_ms,
                run.html_bytes,
                run.script_bytes,
                run.style_bytes
            );
            runs.push(run);
        }
        deployment.finish();
    }
    println!(
        "\n| backend | connections | req/s | wrk p50 (ms) | wrk p99 (ms) | server p50 (ms) | HTML (B) | scripts (B) | styles (B) | total before the logo (B) |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in &runs {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.3} | {} | {} | {} | {} |",
            r.backend.name(),
            r.connections,
            r.rate,
            r.p50_ms,
            r.p99_ms,
            r.server_p50_ms,
            r.html_bytes,
            r.script_bytes,
            r.style_bytes,
            r.html_bytes + r.script_bytes + r.style_bytes
        );
    }
    println!("load average after: {}", sys::loadavg());
    Ok(())
}

/// The median `ms` of the page's access-log lines (`route="/s/{token}"`): the time the server
/// spent on each request, from the middleware's start to its answer (so with 2 cores and more
/// connections than workers, also the time a request waited for its worker). `skip`: lines
/// written before the measured run.
fn server_median(log: &Path, skip: usize) -> Result<f64> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    let mut ms: Vec<f64> = text
        .lines()
        .skip(skip)
        .filter(|l| l.contains("/s/{token}") && l.contains("GET"))
        .filter_map(|l| {
            let v = l.split("ms=").nth(1)?;
            v.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()?
                .parse()
                .ok()
        })
        .collect();
    if ms.is_empty() {
        bail!(
            "no access-log line of GET /s/{{token}} in {}",
            log.display()
        );
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms[ms.len() / 2])
}

/// How many lines the server's log has (the measured run's lines come after them).
fn access_log_lines(log: &Path) -> Result<usize> {
    Ok(std::fs::read_to_string(log)
        .with_context(|| format!("reading {}", log.display()))?
        .lines()
        .count())
}

/// Creates a campaign session of the demo tenant; its token.
fn new_session(addr: SocketAddr, key: &str, campaign: &str) -> Result<String> {
    let body = serde_json::json!({"campaign_id": campaign,
        "lead": {"first_name": "Ada", "last_name": "Lovelace", "email": "page-bench@example.com", "country": "DE"}})
    .to_string();
    let auth = format!("Bearer {key}");
    let r = sys::http(
        addr,
        "POST",
        "/api/v1/payment-sessions/",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        &body,
    )?;
    if r.status != 201 {
        bail!("creating the session answered {}: {}", r.status, r.body);
    }
    let v: Value = serde_json::from_str(&r.body).context("the session's JSON")?;
    v["session_token"]
        .as_str()
        .map(str::to_owned)
        .context("no session_token in the answer")
}

enum Resource {
    Script,
    Style,
}

/// Same-origin scripts (`<script src>`) and stylesheets (`<link rel=stylesheet href>`).
fn resources(html: &str) -> Vec<(Resource, String)> {
    let mut found = Vec::new();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        let attr = |name: &str| {
            let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
            tag[start..].split('"').next().map(str::to_owned)
        };
        let (kind, url) = if tag.starts_with("script") {
            (Resource::Script, attr("src"))
        } else if tag.starts_with("link") && tag.contains("stylesheet") {
            (Resource::Style, attr("href"))
        } else {
            continue;
        };
        if let Some(url) = url.filter(|u| u.starts_with('/')) {
            found.push((kind, url));
        }
    }
    found
}

/// `wrk -t{1,2} -c{connections} -d{secs}s --latency URL`, its output.
fn wrk(url: &str, connections: usize, secs: u64) -> Result<String> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t", &super::load::threads_for(connections).to_string()])
        .args(["-c", &connections.to_string()])
        .args(["-d", &format!("{secs}s")])
        .arg("--latency")
        .arg(url);
    Ok(
        sys::run_bounded(&mut cmd, Duration::from_secs(secs + 30), "wrk")?
            .check("wrk")?
            .stdout,
    )
}

/// The number after `label` in wrk's output (`Requests/sec:   1234.56`).
fn number_after(out: &str, label: &str) -> Result<f64> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no {label:?} in wrk's output:\n{out}"))
}

/// A latency percentile of wrk's `--latency` distribution, in milliseconds.
fn percentile(out: &str, label: &str) -> Result<f64> {
    let value = out
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
        .with_context(|| format!("no {label} line in wrk's output:\n{out}"))?;
    let (number, unit) = value.split_at(
        value
            .find(|c: char| c.is_alphabetic())
            .unwrap_or(value.len()),
    );
    let n: f64 = number
        .parse()
        .with_context(|| format!("wrk latency {value:?}"))?;
    Ok(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        _ => bail!("wrk latency unit {unit:?}"),
    })
}
