//! Running python3 (present on every Catalyst dev and CI machine) as the reference.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `script` with `python3 -c`, feeding `stdin`; returns stdout. Panics (failing the test)
/// when python3 is missing or the script fails.
pub fn python(script: &str, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need python3 on PATH");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // Write from a thread so a large input cannot deadlock against python's output.
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().expect("python3 runs");
    writer
        .join()
        .expect("stdin writer")
        .expect("write python stdin");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("python prints UTF-8")
}
