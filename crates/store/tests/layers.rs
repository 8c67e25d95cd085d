//! The store's modules form layers: rows (and their queries) at the bottom, events on top of
//! the rows, and the flows that change rows together with their events on top of both. A row
//! module that called into events or a flow would close a circle again.

use std::path::Path;

/// Modules that hold rows and their queries.
const ROWS: &[&str] = &["sessions", "payments", "chargebacks", "config", "tenants"];
/// Modules that change rows and emit events.
const FLOWS: &[&str] = &[
    "checkout",
    "session_pay",
    "outcome",
    "reversals",
    "billing",
    "charges",
    "customers",
    "refunds",
    "subscriptions",
    "collection",
    "recovery",
    "imports",
];

/// The `crate::<module>` references of a source file, comments left out.
fn references(module: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/{module}.rs"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.push(name);
        }
    }
    found
}

#[test]
fn rows_depend_on_neither_events_nor_flows() {
    for row in ROWS {
        for used in references(row) {
            assert!(
                used != "events" && !FLOWS.contains(&used.as_str()),
                "the row module {row} uses crate::{used}"
            );
        }
    }
}

#[test]
fn events_depend_on_rows_only() {
    let used = references("events");
    assert!(used.iter().any(|u| u == "payments"), "{used:?}");
    for u in used {
        assert!(
            !FLOWS.contains(&u.as_str()),
            "events uses the flow crate::{u}"
        );
    }
}
