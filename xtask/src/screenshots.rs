//! `cargo xtask screenshots`: regenerates the hosted page's screenshots (docs/hosted-page.md).
//!
//! Installs the browser tools (scripts/install-browser.sh), runs the browser suite
//! (crates/api/tests/browser.rs, SQLite run) which writes `target/screenshots/*.png`, and copies
//! those PNGs to docs/hosted-page/, replacing the checked-in set.

use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::bench::workspace_root;

/// Runs the command.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(extra) = args.first() {
        bail!("screenshots takes no options (got {extra:?})");
    }
    let root = workspace_root()?;
    let shots = root.join("target/screenshots");
    let status = Command::new("bash")
        .arg(root.join("scripts/install-browser.sh"))
        .current_dir(&root)
        .status()
        .context("running scripts/install-browser.sh")?;
    ensure!(status.success(), "scripts/install-browser.sh failed");
    if shots.exists() {
        std::fs::remove_dir_all(&shots).with_context(|| format!("clearing {}", shots.display()))?;
    }
    let status = Command::new(env!("CARGO"))
        .args(["test", "-p", "catalyst-api", "--test", "browser", "sqlite"])
        .env("CATALYST_BROWSER_TESTS", "required")
        .env("AXE_CORE_DIR", root.join("target/axe-core"))
        .current_dir(&root)
        .status()
        .context("running the browser tests")?;
    ensure!(status.success(), "the browser tests failed");
    let docs = root.join("docs/hosted-page");
    if docs.exists() {
        for entry in std::fs::read_dir(&docs)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "png") {
                std::fs::remove_file(&path)?;
            }
        }
    }
    std::fs::create_dir_all(&docs)?;
    let mut copied = 0;
    for entry in
        std::fs::read_dir(&shots).with_context(|| format!("reading {}", shots.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::copy(&path, docs.join(path.file_name().unwrap_or_default()))?;
            copied += 1;
        }
    }
    ensure!(copied > 0, "the browser tests wrote no screenshots");
    println!("{copied} screenshots copied to {}", docs.display());
    Ok(())
}
