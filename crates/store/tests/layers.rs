//! The store's modules form layers: rows (and their lookups) at the bottom, the row changes the
//! flows share and the events on top of the rows, and the flows that change rows together with
//! their events in one transaction on top of all. A row module that called into events, a
//! change, a flow or the transaction runner would close a circle again.

use std::path::Path;

/// Modules that hold rows and their queries.
const ROWS: &[&str] = &["sessions", "payments", "chargebacks", "config", "tenants"];
/// Row changes the flows share, made inside the caller's transaction.
const CHANGES: &[&str] = &["changes"];
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
        // `use crate::{DbConnection, tx};`: the modules of the group.
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(
                group
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or_default())
                    .filter(|name| name.starts_with(|c: char| c.is_ascii_lowercase()))
                    .map(str::to_owned),
            );
            continue;
        }
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
fn rows_depend_on_neither_events_nor_changes_nor_flows() {
    for row in ROWS {
        for used in references(row) {
            assert!(
                !["events", "tx", "outbox"].contains(&used.as_str())
                    && !CHANGES.contains(&used.as_str())
                    && !FLOWS.contains(&used.as_str()),
                "the row module {row} uses crate::{used}"
            );
        }
    }
}

#[test]
fn row_changes_depend_on_rows_only() {
    for change in CHANGES {
        let used = references(change);
        assert!(used.iter().any(|u| u == "payments"), "{used:?}");
        for u in used {
            assert!(
                u != "events" && !FLOWS.contains(&u.as_str()),
                "{change} uses crate::{u}"
            );
        }
    }
}

#[test]
fn the_transaction_runner_knows_no_outbox_and_errors_have_no_side_channel() {
    let tx = references("tx");
    assert!(
        !tx.iter().any(|u| u == "outbox"),
        "tx uses the outbox: {tx:?}"
    );
    let error = references("error");
    assert!(
        !error.iter().any(|u| u == "connection" || u == "liveness"),
        "StoreError's conversions reach into the connection: {error:?}"
    );
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
