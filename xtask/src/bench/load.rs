//! The external load generators: `wrk` (HTTP) and `pgbench` (the PostgreSQL baseline).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::sys;

/// Throughput and latency of one measured run.
#[derive(Clone, Debug, Default)]
pub struct Figures {
    /// Requests or transactions per second.
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests or transactions completed in the measured window.
    pub count: u64,
    /// Transactions that failed in the measured window (direct baselines only; an HTTP run with
    /// errors is rejected instead).
    pub failed: u64,
}

impl Figures {
    /// The median over `runs` of each figure on its own (rate, p50, p99: the median p50 need not
    /// come from the run with the median rate); `count` and `failed` are summed.
    pub fn median_of(runs: &[&Figures]) -> Figures {
        let of = |figure: fn(&Figures) -> f64| median(runs.iter().map(|r| figure(r)));
        Figures {
            rate: of(|r| r.rate),
            p50_ms: of(|r| r.p50_ms),
            p99_ms: of(|r| r.p99_ms),
            count: runs.iter().map(|r| r.count).sum(),
            failed: runs.iter().map(|r| r.failed).sum(),
        }
    }
}

/// The median of the values that are not NaN (for an even count, the mean of the middle two);
/// NaN when there are none.
pub fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    v.sort_unstable_by(f64::total_cmp);
    let mid = v.len() / 2;
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[mid],
        _ => (v[mid - 1] + v[mid]) / 2.0,
    }
}

/// `a / b`, or NaN when `b` is not positive.
pub fn share(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

/// A ratio with two decimals, `-` for NaN.
pub fn fmt_share(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else {
        format!("{v:.2}")
    }
}

/// The median of the paired ratios `a_i / b_i` (each run against the baseline run of the same
/// round), leaving out pairs whose `b_i` is not positive; NaN when none is left.
pub fn paired_ratio(pairs: impl IntoIterator<Item = (f64, f64)>) -> f64 {
    median(pairs.into_iter().map(|(a, b)| share(a, b)))
}

/// Nearest-rank percentile of sorted microsecond latencies, in milliseconds.
pub fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    sorted_us[rank.clamp(1, sorted_us.len()) - 1] as f64 / 1000.0
}

/// `wrk` threads for `connections`: min(2, connections).
pub fn threads_for(connections: usize) -> usize {
    connections.clamp(1, 2)
}

/// One `wrk` run against `POST /api/v1/payment-sessions/` (the script may chain further
/// requests; `bench pay` does).
pub struct Wrk<'a> {
    pub url: &'a str,
    pub script: &'a Path,
    pub key: &'a str,
    pub campaign_id: &'a str,
    /// Goes into every lead email, so that each run creates new leads.
    pub run_id: String,
    pub connections: usize,
    pub secs: u64,
}

/// What `wrk` reported.
#[derive(Debug, Default)]
pub struct WrkResult {
    pub figures: Figures,
    pub non_2xx: u64,
    pub socket_errors: u64,
    pub socket_detail: String,
}

impl Wrk<'_> {
    /// Runs wrk and reads the `BENCH_RESULT` line of `sessions.lua`.
    pub fn run(&self) -> Result<WrkResult> {
        parse_wrk(&self.output()?)
    }

    /// Runs wrk and returns what it printed (the script's `done` hook included).
    pub fn output(&self) -> Result<String> {
        let threads = threads_for(self.connections);
        let mut cmd = Command::new("wrk");
        cmd.args(["-t", &threads.to_string()])
            .args(["-c", &self.connections.to_string()])
            .args(["-d", &format!("{}s", self.secs)])
            .args(["--timeout", "10s"])
            .arg("-s")
            .arg(self.script)
            .arg(self.url)
            .env("BENCH_KEY", self.key)
            .env("BENCH_CAMPAIGN", self.campaign_id)
            .env("BENCH_RUN", &self.run_id);
        let out = sys::run_bounded(
            &mut cmd,
            Duration::from_secs(self.secs + 30),
            &format!("wrk -c {}", self.connections),
        )?
        .check("wrk")?;
        Ok(out.stdout)
    }
}

/// Reads the `BENCH_RESULT {…}` line the Lua `done` hook prints, cross-checked with wrk's own
/// "Non-2xx or 3xx responses" line.
fn parse_wrk(stdout: &str) -> Result<WrkResult> {
    let json = stdout
        .lines()
        .find_map(|l| l.strip_prefix("BENCH_RESULT "))
        .with_context(|| format!("wrk printed no BENCH_RESULT line:\n{stdout}"))?;
    let v: Value = serde_json::from_str(json).context("wrk BENCH_RESULT")?;
    let num = |k: &str| v[k].as_f64().with_context(|| format!("BENCH_RESULT.{k}"));
    let requests = num("requests")? as u64;
    let duration_s = num("duration_us")? / 1e6;
    let status_errors = num("errors_status")? as u64;
    let non_2xx_line = non_2xx_line(stdout);
    let (connect, read, write, timeout) = (
        num("errors_connect")? as u64,
        num("errors_read")? as u64,
        num("errors_write")? as u64,
        num("errors_timeout")? as u64,
    );
    Ok(WrkResult {
        figures: Figures {
            rate: if duration_s > 0.0 {
                requests as f64 / duration_s
            } else {
                0.0
            },
            p50_ms: num("p50_us")? / 1000.0,
            p99_ms: num("p99_us")? / 1000.0,
            count: requests,
            failed: 0,
        },
        non_2xx: status_errors.max(non_2xx_line),
        socket_errors: connect + read + write + timeout,
        socket_detail: format!("connect {connect}, read {read}, write {write}, timeout {timeout}"),
    })
}

/// wrk's own "Non-2xx or 3xx responses: N" line (absent when there were none).
pub fn non_2xx_line(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// One `pgbench` run of a benchmark script.
pub struct Pgbench<'a> {
    pub url: &'a str,
    pub script: &'a Path,
    /// `-D name=value` variables for the script.
    pub vars: &'a [(&'a str, String)],
    pub clients: usize,
    pub secs: u64,
    /// Per-transaction log (`--log --log-prefix`), for the percentiles; none for warm-ups.
    pub log_prefix: Option<PathBuf>,
}

/// What `pgbench` reported.
#[derive(Debug, Default)]
pub struct PgbenchResult {
    pub figures: Figures,
    pub failed: u64,
    pub stdout: String,
}

impl Pgbench<'_> {
    pub fn run(&self) -> Result<PgbenchResult> {
        let mut cmd = Command::new("pgbench");
        cmd.args(["-n", "-M", "prepared", "-r"])
            .arg("-f")
            .arg(self.script)
            .args(["-c", &self.clients.to_string()])
            .args(["-j", &threads_for(self.clients).to_string()])
            .args(["-T", &self.secs.to_string()]);
        for (name, value) in self.vars {
            cmd.arg("-D").arg(format!("{name}={value}"));
        }
        if let Some(prefix) = &self.log_prefix {
            cmd.arg("--log")
                .arg(format!("--log-prefix={}", prefix.display()));
        }
        cmd.arg(self.url);
        let out = sys::run_bounded(
            &mut cmd,
            Duration::from_secs(self.secs + 60),
            &format!("pgbench -c {}", self.clients),
        )?
        .check("pgbench")?;
        let tps = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("tps = "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .with_context(|| format!("pgbench printed no tps:\n{}", out.stdout))?;
        let failed = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions: "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let mut figures = Figures {
            rate: tps,
            p50_ms: f64::NAN,
            p99_ms: f64::NAN,
            count: 0,
            failed,
        };
        if let Some(prefix) = &self.log_prefix {
            let mut lat = read_pgbench_logs(prefix)?;
            lat.sort_unstable();
            figures.p50_ms = percentile_ms(&lat, 50.0);
            figures.p99_ms = percentile_ms(&lat, 99.0);
            figures.count = lat.len() as u64;
        }
        Ok(PgbenchResult {
            figures,
            failed,
            stdout: out.stdout,
        })
    }
}

/// Latencies (µs, third field) from pgbench's per-transaction logs `<prefix>.<pid>[.<thread>]`.
fn read_pgbench_logs(prefix: &Path) -> Result<Vec<u64>> {
    let dir = prefix.parent().context("log prefix has a directory")?;
    let stem = format!(
        "{}.",
        prefix
            .file_name()
            .context("log prefix has a file name")?
            .to_string_lossy()
    );
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !name.starts_with(&stem) {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            // client_id transaction_no time script_no time_epoch time_us
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|t| t.parse::<u64>().ok())
            {
                latencies.push(us);
            }
        }
    }
    if latencies.is_empty() {
        bail!("no pgbench transaction log under {}", prefix.display());
    }
    Ok(latencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&v, 50.0), 50.0);
        assert_eq!(percentile_ms(&v, 99.0), 99.0);
        assert_eq!(percentile_ms(&[7000], 99.0), 7.0);
        assert!(percentile_ms(&[], 50.0).is_nan());
    }

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median([5.0]), 5.0);
        // Even count: the mean of the middle two.
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median([1.0, 2.0]), 1.5);
        // NaN (no sample) is left out.
        assert_eq!(median([f64::NAN, 1.0, 3.0]), 2.0);
        assert!(median([]).is_nan());
        assert!(median([f64::NAN]).is_nan());
    }

    #[test]
    fn paired_ratio_medians() {
        // Per pair: 0.8, 0.5, 0.9 -> 0.8; not the ratio of the medians (90 / 120 = 0.75).
        let pairs = [(80.0, 100.0), (60.0, 120.0), (90.0, 100.0)];
        assert_eq!(paired_ratio(pairs), 0.8);
        // Even count: (0.5 + 0.8) / 2.
        assert!((paired_ratio([(80.0, 100.0), (60.0, 120.0)]) - 0.65).abs() < 1e-12);
        // A baseline without throughput is left out.
        assert_eq!(paired_ratio([(80.0, 100.0), (60.0, 0.0)]), 0.8);
        assert!(paired_ratio([(1.0, 0.0)]).is_nan());
        assert!(paired_ratio([]).is_nan());
    }

    #[test]
    fn median_figures() {
        let f = |rate, p50_ms, p99_ms, failed| Figures {
            rate,
            p50_ms,
            p99_ms,
            count: 10,
            failed,
        };
        let (a, b, c) = (
            f(100.0, 3.0, 9.0, 1),
            f(300.0, 1.0, 7.0, 0),
            f(200.0, 2.0, 8.0, 2),
        );
        let m = Figures::median_of(&[&a, &b, &c]);
        assert_eq!((m.rate, m.p50_ms, m.p99_ms), (200.0, 2.0, 8.0));
        assert_eq!((m.count, m.failed), (30, 3));
    }

    #[test]
    fn reads_the_lua_summary_and_the_non_2xx_line() {
        let out = "Running 1s test\n  Non-2xx or 3xx responses: 3\n\
            BENCH_RESULT {\"requests\":200,\"duration_us\":2000000,\"p50_us\":1500,\
            \"p90_us\":2000,\"p99_us\":4000,\"max_us\":9000,\"errors_connect\":0,\
            \"errors_read\":1,\"errors_write\":0,\"errors_status\":3,\"errors_timeout\":0}\n";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.figures.rate, 100.0);
        assert_eq!((r.figures.p50_ms, r.figures.p99_ms), (1.5, 4.0));
        assert_eq!((r.non_2xx, r.socket_errors), (3, 1));
    }
}
