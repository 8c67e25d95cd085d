//! `cargo xtask registry`: regenerates `crates/sepa/data/bank-registry.csv` from the bank
//! registry that the `schwifty` package (PyPI, MIT) ships.
//!
//! Steps: `pip download` the newest `schwifty` wheel (or the version given with `--version`, or
//! a local wheel given with `--wheel`), unpack it with `python3 -m zipfile`, and convert its
//! `bank_registry/*.json` to one CSV row per (country, bank code) with an embedded Python script
//! that applies the reference's own choice rules:
//!
//! * BIC: among the entries with a BIC, primary entries first; if there are several, the
//!   8-character BICs (the alphabetically greatest, primary ones preferred), else those with
//!   branch `XXX` (likewise), else the first; none if any candidate is not a well-formed BIC
//!   (the reference then answers no BIC at all).
//! * Name: the first primary record, else the first record; whitespace runs collapsed.
//!
//! Rows are sorted by (country, bank_code). Needs `python3` with `pip` and network access to
//! PyPI; it is not part of the test suite.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

const USAGE: &str = "\
usage: cargo xtask registry [--version X.Y.Z] [--wheel PATH] [--output PATH]

Regenerates crates/sepa/data/bank-registry.csv from the schwifty wheel on PyPI.
  --version  schwifty version to download (default: the newest)
  --wheel    use this local wheel instead of downloading one
  --output   where to write the CSV (default: crates/sepa/data/bank-registry.csv)";

/// The JSON → CSV conversion, run as `python3 - <bank_registry dir> <output csv>`.
const CONVERT_PY: &str = r#"
import csv, json, re, sys
from pathlib import Path

registry_dir, output = Path(sys.argv[1]), sys.argv[2]
BIC_RE = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")

def parse_v2(data):
    out = []
    for entry in data["entries"]:
        values = entry.pop(data["expand_from"])
        entry.setdefault("primary", False)
        out.extend({**entry, data["expand_into"]: value} for value in values)
    return out

# Same file order and country attribution as schwifty's Registry: sorted paths, the country
# taken from the file name <source>_<country>[.v2].json.
by_country = {}
for path in sorted(registry_dir.glob("*.json")):
    country = path.name.split(".")[0].rsplit("_", 1)[-1].upper()
    with path.open(encoding="utf-8") as fp:
        chunk = json.load(fp)
    entries = parse_v2(chunk) if path.stem.endswith("v2") else chunk
    by_country.setdefault(country, []).extend(entries)

def clean(s):
    return re.sub(r"\s+", "", s or "").upper()

def choose_bic(banks):
    ordered = sorted(banks, key=lambda b: bool(b.get("primary", False)), reverse=True)
    candidates = [clean(b["bic"]) for b in ordered if b.get("bic")]
    if any(len(c) not in (8, 11) or not BIC_RE.fullmatch(c) for c in candidates):
        return ""
    if not candidates:
        return ""
    if len(candidates) > 1:
        primary = {clean(b["bic"]) for b in banks if b.get("primary", False) and b.get("bic")}
        def prefer_primary(codes):
            return [c for c in codes if c in primary] or codes
        generic = [c for c in candidates if len(c) == 8]
        if generic:
            return max(prefer_primary(generic))
        generic = [c for c in candidates if c[8:11] == "XXX"]
        if generic:
            return max(prefer_primary(generic))
    return candidates[0]

rows, problems = [], []
for country, entries in by_country.items():
    by_code = {}
    for entry in entries:
        if entry.get("bank_code"):
            by_code.setdefault(entry["bank_code"], []).append(entry)
    for code, banks in by_code.items():
        named = max(banks, key=lambda b: bool(b.get("primary", False)))
        name = " ".join((named.get("name") or "").split())
        if not name:
            problems.append(f"{country} {code}: no name")
        if not (1 <= len(code) <= 8 and code.isascii() and code.isalnum() and code == code.upper()):
            problems.append(f"{country} {code!r}: bank code must be 1-8 upper-case letters or digits")
        rows.append((country, code, choose_bic(banks), name))

if problems:
    sys.exit("cannot build the registry:\n" + "\n".join(problems[:50]))
rows.sort(key=lambda r: (r[0], r[1]))
with open(output, "w", encoding="utf-8", newline="") as fp:
    writer = csv.writer(fp, lineterminator="\n")
    writer.writerow(["country", "bank_code", "bic", "name"])
    writer.writerows(rows)
print(f"{len(rows)} banks in {len({r[0] for r in rows})} countries, {sum(1 for r in rows if not r[2])} without BIC")
"#;

/// Removes the working directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `cargo xtask registry` with the arguments after `registry`.
pub fn run(args: &[String]) -> Result<()> {
    let mut version = None;
    let mut wheel = None;
    let mut output = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow!("{name} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--version" => version = Some(value("--version")?),
            "--wheel" => wheel = Some(PathBuf::from(value("--wheel")?)),
            "--output" => output = Some(PathBuf::from(value("--output")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives inside the workspace")?
        .to_path_buf();
    let output = output.unwrap_or_else(|| root.join("crates/sepa/data/bank-registry.csv"));

    let work =
        TempDir(std::env::temp_dir().join(format!("catalyst-registry-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).with_context(|| format!("creating {}", work.0.display()))?;

    let wheel = match wheel {
        Some(path) => path,
        None => download(&work.0, version.as_deref())?,
    };
    println!("using {}", wheel.display());

    let unpacked = work.0.join("unpacked");
    let wheel_arg = wheel.to_str().context("wheel path is not UTF-8")?;
    let unpacked_arg = unpacked.to_str().context("temp path is not UTF-8")?;
    run_command(Command::new("python3").args(["-m", "zipfile", "-e", wheel_arg, unpacked_arg]))
        .context("unpacking the wheel")?;
    let registry_dir = unpacked.join("schwifty/bank_registry");
    if !registry_dir.is_dir() {
        bail!(
            "{} has no schwifty/bank_registry directory",
            wheel.display()
        );
    }

    let output_arg = output.to_str().context("output path is not UTF-8")?;
    let registry_arg = registry_dir.to_str().context("temp path is not UTF-8")?;
    let mut child = Command::new("python3")
        .args(["-", registry_arg, output_arg])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("starting python3")?;
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().context("python3 stdin")?;
        stdin
            .write_all(CONVERT_PY.as_bytes())
            .context("sending the conversion script")?;
    }
    let status = child.wait().context("waiting for python3")?;
    if !status.success() {
        bail!("the conversion script failed ({status})");
    }
    println!("wrote {}", output.display());
    println!("rebuild catalyst-sepa and run its tests: the corpus test checks BICs and names");
    Ok(())
}

/// Downloads the schwifty wheel into `dir` and returns its path.
fn download(dir: &Path, version: Option<&str>) -> Result<PathBuf> {
    let spec = match version {
        Some(v) => format!("schwifty=={v}"),
        None => "schwifty".to_string(),
    };
    let dir_arg = dir.to_str().context("temp path is not UTF-8")?;
    let pip_args = [
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        spec.as_str(),
        "-d",
        dir_arg,
    ];
    let via_pip = run_command(Command::new("pip").args(pip_args));
    if via_pip.is_err() {
        run_command(Command::new("python3").arg("-m").arg("pip").args(pip_args)).context(
            "pip download schwifty (is python3 with pip installed, and PyPI reachable?)",
        )?;
    }
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    wheels.sort();
    wheels.pop().context("pip downloaded no wheel")
}

fn run_command(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
