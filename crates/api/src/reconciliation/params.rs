//! The query string of a reconciliation listing, checked all at once: every problem is reported
//! under its parameter's name in one 400 `validation_error`.

use std::collections::BTreeMap;

use catalyst_domain::validation::{ValidationErrors, messages};
use catalyst_store::reconciliation::{Days, Listing, Seek, Slice, SortKey};
use chrono::NaiveDate;

use crate::error::ApiError;
use crate::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Longest window: `end_date` at most this many days after `start_date`.
pub const MAX_WINDOW_DAYS: u64 = 90;

/// Response formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"next", "previous", "results"}` (default).
    Json,
    /// `<listing next=… previous=…>` with one element per record.
    Xml,
    /// RFC 4180, header row, CRLF; links in the `Link` header.
    Csv,
}

/// How a listing treats `status` or `type`.
pub(super) enum Choices {
    /// These values (canonical spelling, matched case-insensitively); some known values may be
    /// refused with a reason (`(value, message)`).
    OneOf(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
    /// The parameter does not apply to this listing; the message says why.
    NotApplicable(&'static str),
}

/// What a listing accepts beyond the common parameters.
pub(super) struct Spec {
    /// Which listing (cursors are bound to it).
    pub listing: Listing,
    /// `status` values.
    pub status: Choices,
    /// `type` values.
    pub kind: Choices,
    /// Whether `next_billing_date_from`/`_to` apply.
    pub next_billing: bool,
}

/// A checked query string.
#[derive(Debug)]
pub(super) struct Params<K> {
    /// `start_date`..=`end_date`.
    pub days: Days,
    /// `status` values, canonical, without repeats.
    pub statuses: Vec<String>,
    /// `type` values, canonical, without repeats.
    pub kinds: Vec<String>,
    /// `payment_gateway_id`.
    pub gateway_id: Option<String>,
    /// `next_billing_date_from`.
    pub next_billing_from: Option<NaiveDate>,
    /// `next_billing_date_to`.
    pub next_billing_to: Option<NaiveDate>,
    /// `format`.
    pub format: Format,
    /// `page_size` and `cursor`.
    pub slice: Slice<K>,
}

const COMMON: &[&str] = &[
    "start_date",
    "end_date",
    "status",
    "type",
    "payment_gateway_id",
    "format",
    "page_size",
    "cursor",
];
const NEXT_BILLING: &[&str] = &["next_billing_date_from", "next_billing_date_to"];

/// The raw values of each parameter, in order of appearance.
struct Raw(BTreeMap<String, Vec<String>>);

impl Raw {
    /// The one value of a single-valued parameter (`None` when absent or repeated; a repeat is
    /// reported).
    fn single(&self, name: &str, errors: &mut ValidationErrors) -> Option<&str> {
        match self.0.get(name).map(Vec::as_slice) {
            None | Some([]) => None,
            Some([one]) => Some(one),
            Some(_) => {
                errors.add(name, "Give this parameter at most once.");
                None
            }
        }
    }
}

/// Parses and checks the query string of `spec`'s listing.
pub(super) fn parse<K: SortKey>(query: &str, spec: &Spec) -> Result<Params<K>, ApiError> {
    let mut raw = Raw(BTreeMap::new());
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        raw.0
            .entry(key.into_owned())
            .or_default()
            .push(value.into_owned());
    }
    let mut errors = ValidationErrors::new();
    for name in raw.0.keys() {
        let known = COMMON.contains(&name.as_str())
            || (spec.next_billing && NEXT_BILLING.contains(&name.as_str()));
        if !known {
            errors.add(name.as_str(), "Unknown query parameter.");
        }
    }

    let days = window(&raw, &mut errors);
    let statuses = choices(&raw, "status", &spec.status, &mut errors);
    let kinds = choices(&raw, "type", &spec.kind, &mut errors);
    let gateway_id = raw.single("payment_gateway_id", &mut errors).and_then(|v| {
        match uuid::Uuid::parse_str(v) {
            Ok(id) => Some(id.hyphenated().to_string()),
            Err(_) => {
                errors.add("payment_gateway_id", messages::INVALID_UUID);
                None
            }
        }
    });
    let (next_billing_from, next_billing_to) = if spec.next_billing {
        let from = optional_date(&raw, "next_billing_date_from", &mut errors);
        let to = optional_date(&raw, "next_billing_date_to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.add(
                "next_billing_date_to",
                "next_billing_date_to must not be before next_billing_date_from.",
            );
        }
        (from, to)
    } else {
        (None, None)
    };
    let format = format(&raw, &mut errors);
    let size = page_size(&raw, &mut errors);
    let seek = raw.single("cursor", &mut errors).and_then(|text| {
        let seek = Seek::decode(spec.listing, text);
        if seek.is_none() {
            errors.add("cursor", "Invalid cursor.");
        }
        seek
    });

    match days {
        Some(days) if errors.is_empty() => Ok(Params {
            days,
            statuses,
            kinds,
            gateway_id,
            next_billing_from,
            next_billing_to,
            format,
            slice: Slice { size, seek },
        }),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// A strict `YYYY-MM-DD` date.
fn date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

const DATE_FORMAT_MESSAGE: &str = "Enter a valid date in the format YYYY-MM-DD.";

fn optional_date(raw: &Raw, name: &str, errors: &mut ValidationErrors) -> Option<NaiveDate> {
    let text = raw.single(name, errors)?;
    let day = date(text);
    if day.is_none() {
        errors.add(name, DATE_FORMAT_MESSAGE);
    }
    day
}

/// `start_date` (required) and `end_date` (default: 90 days after `start_date`).
fn window(raw: &Raw, errors: &mut ValidationErrors) -> Option<Days> {
    let first = match raw.single("start_date", errors) {
        None if !raw.0.contains_key("start_date") => {
            errors.add("start_date", messages::REQUIRED);
            None
        }
        None => None,
        Some(text) => {
            let day = date(text);
            if day.is_none() {
                errors.add("start_date", DATE_FORMAT_MESSAGE);
            }
            day
        }
    };
    let last = optional_date(raw, "end_date", errors);
    let first = first?;
    let latest = first.checked_add_days(chrono::Days::new(MAX_WINDOW_DAYS));
    let last = match (last, latest) {
        (Some(last), _) if last < first => {
            errors.add("end_date", "end_date must not be before start_date.");
            return None;
        }
        (Some(last), Some(latest)) if last > latest => {
            errors.add(
                "end_date",
                format!("end_date must be at most {MAX_WINDOW_DAYS} days after start_date."),
            );
            return None;
        }
        (Some(last), _) => last,
        (None, Some(latest)) => latest,
        (None, None) => {
            errors.add("start_date", DATE_FORMAT_MESSAGE);
            return None;
        }
    };
    Some(Days { first, last })
}

/// A comma-separated list (the parameter may also be repeated), checked against `choices`.
fn choices(raw: &Raw, name: &str, choices: &Choices, errors: &mut ValidationErrors) -> Vec<String> {
    let Some(values) = raw.0.get(name) else {
        return Vec::new();
    };
    let (allowed, refused) = match choices {
        Choices::NotApplicable(why) => {
            errors.add(name, *why);
            return Vec::new();
        }
        Choices::OneOf(allowed, refused) => (allowed, refused),
    };
    let mut out: Vec<String> = Vec::new();
    for value in values.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if value.is_empty() {
            errors.add(name, "Values may not be blank.");
        } else if let Some((_, why)) = refused.iter().find(|(v, _)| v.eq_ignore_ascii_case(value)) {
            errors.add(name, *why);
        } else if let Some(canonical) = allowed.iter().find(|v| v.eq_ignore_ascii_case(value)) {
            if !out.iter().any(|v| v == canonical) {
                out.push((*canonical).to_owned());
            }
        } else {
            errors.add(
                name,
                format!(
                    "{} Choose from: {}.",
                    messages::invalid_choice(value),
                    allowed.join(", ")
                ),
            );
        }
    }
    out
}

fn format(raw: &Raw, errors: &mut ValidationErrors) -> Format {
    match raw.single("format", errors) {
        None => Format::Json,
        Some(v) if v.eq_ignore_ascii_case("json") => Format::Json,
        Some(v) if v.eq_ignore_ascii_case("xml") => Format::Xml,
        Some(v) if v.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(v) => {
            errors.add(
                "format",
                format!(
                    "{} Choose from: json, xml, csv.",
                    messages::invalid_choice(v)
                ),
            );
            Format::Json
        }
    }
}

fn page_size(raw: &Raw, errors: &mut ValidationErrors) -> u32 {
    match raw.single("page_size", errors) {
        None => DEFAULT_PAGE_SIZE,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                errors.add(
                    "page_size",
                    format!("Enter a whole number from 1 to {MAX_PAGE_SIZE}."),
                );
                DEFAULT_PAGE_SIZE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;

    const SPEC: Spec = Spec {
        listing: Listing::Transactions,
        status: Choices::OneOf(&["approved", "declined"], &[("pending", "Not listed.")]),
        kind: Choices::NotApplicable("No types here."),
        next_billing: false,
    };

    fn errors(query: &str) -> Vec<String> {
        match parse::<NaiveDateTime>(query, &SPEC) {
            Err(ApiError::Validation(e)) => e.iter().map(|(k, _)| k.to_owned()).collect(),
            other => panic!("{query}: {other:?}"),
        }
    }

    fn day(text: &str) -> NaiveDate {
        date(text).unwrap()
    }

    #[test]
    fn defaults_and_canonical_values() {
        let p = parse::<NaiveDateTime>(
            "start_date=2026-01-31&status=APPROVED,declined&status=approved",
            &SPEC,
        )
        .unwrap();
        assert_eq!(
            p.days,
            Days {
                first: day("2026-01-31"),
                last: day("2026-05-01")
            }
        );
        assert_eq!(p.statuses, ["approved", "declined"]);
        assert_eq!((p.format, p.slice.size), (Format::Json, DEFAULT_PAGE_SIZE));
        assert!(p.slice.seek.is_none() && p.kinds.is_empty() && p.gateway_id.is_none());
    }

    #[test]
    fn every_bad_parameter_is_named() {
        assert_eq!(errors(""), ["start_date"]);
        assert_eq!(errors("start_date=2026-1-31"), ["start_date"]);
        assert_eq!(errors("start_date=2026-02-30"), ["start_date"]);
        assert_eq!(
            errors("start_date=2026-01-01&start_date=2026-01-02"),
            ["start_date"]
        );
        assert!(parse::<NaiveDateTime>("start_date=2026-01-01&end_date=2026-04-01", &SPEC).is_ok());
        assert_eq!(
            errors("start_date=2026-01-01&end_date=2026-04-02"),
            ["end_date"]
        );
        assert_eq!(
            errors("start_date=2026-01-02&end_date=2026-01-01"),
            ["end_date"]
        );
        assert_eq!(errors("start_date=2026-01-01&status=pending"), ["status"]);
        assert_eq!(errors("start_date=2026-01-01&status=nope"), ["status"]);
        assert_eq!(errors("start_date=2026-01-01&status="), ["status"]);
        assert_eq!(errors("start_date=2026-01-01&type=sdd_sale"), ["type"]);
        assert_eq!(
            errors("start_date=2026-01-01&payment_gateway_id=x"),
            ["payment_gateway_id"]
        );
        assert_eq!(errors("start_date=2026-01-01&format=pdf"), ["format"]);
        for size in ["0", "1001", "-1", "ten", ""] {
            assert_eq!(
                errors(&format!("start_date=2026-01-01&page_size={size}")),
                ["page_size"]
            );
        }
        assert_eq!(errors("start_date=2026-01-01&cursor=abc"), ["cursor"]);
        assert_eq!(
            errors("start_date=2026-01-01&next_billing_date_from=2026-01-01"),
            ["next_billing_date_from"]
        );
        assert_eq!(
            errors("end_date=x&format=x&page_size=0&cursor=x&extra=1"),
            [
                "cursor",
                "end_date",
                "extra",
                "format",
                "page_size",
                "start_date"
            ]
        );
    }
}
