//! One page of records in the three formats. Every value is a string or null, so the formats
//! carry exactly the same data:
//!
//! - JSON: `{"next": url|null, "previous": url|null, "results": [{field: value, …}, …]}`.
//! - CSV (RFC 4180): a header row with the field names, then one row per record; CRLF line
//!   ends; a field containing `,` `"` CR or LF is quoted and its quotes doubled; null is an
//!   empty field.
//! - XML: `<transactions next="…" previous="…">` (an absent link has no attribute) holding one
//!   `<transaction>` per record with one child element per field, in column order; null is an
//!   empty element with `xsi:nil="true"`. Characters XML 1.0 cannot carry (control characters
//!   other than tab, LF, CR) are replaced by U+FFFD; CR is written `&#13;` so it survives
//!   parsing.

use serde_json::{Map, Value, json};

use crate::error::ApiError;

/// One record: `(field, value)` in column order.
pub(super) type Record = Vec<(&'static str, Option<String>)>;

/// A page of records under fixed columns.
pub(super) struct Table {
    columns: &'static [&'static str],
    rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &'static [&'static str]) -> Self {
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a record; its fields must be exactly the columns, in order.
    pub fn push(&mut self, record: Record) -> Result<(), ApiError> {
        let names = record.iter().map(|(name, _)| *name);
        if !names.eq(self.columns.iter().copied()) {
            return Err(ApiError::Internal(
                "reconciliation record does not match its columns".into(),
            ));
        }
        self.rows
            .push(record.into_iter().map(|(_, value)| value).collect());
        Ok(())
    }
}

/// Absolute URLs of the neighbouring pages.
pub(super) struct Links {
    /// The next page.
    pub next: Option<String>,
    /// The previous page.
    pub previous: Option<String>,
}

/// The JSON body.
pub(super) fn json(table: &Table, links: &Links) -> Value {
    let results: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let fields: Map<String, Value> = table
                .columns
                .iter()
                .zip(row)
                .map(|(name, value)| {
                    let value = value.clone().map_or(Value::Null, Value::String);
                    ((*name).to_owned(), value)
                })
                .collect();
            Value::Object(fields)
        })
        .collect();
    json!({"next": links.next, "previous": links.previous, "results": results})
}

/// The CSV document.
pub(super) fn csv(table: &Table) -> String {
    let mut out = String::new();
    let header: Vec<Option<&str>> = table.columns.iter().map(|c| Some(*c)).collect();
    csv_line(&mut out, &header);
    for row in &table.rows {
        let fields: Vec<Option<&str>> = row.iter().map(Option::as_deref).collect();
        csv_line(&mut out, &fields);
    }
    out
}

fn csv_line(out: &mut String, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let field = field.unwrap_or_default();
        if field.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&field.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(field);
        }
    }
    out.push_str("\r\n");
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The XML document: `<root>` holding one `<element>` per record.
pub(super) fn xml(root: &str, element: &str, table: &Table, links: &Links) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!("<{root} xmlns:xsi=\"{XSI}\""));
    for (name, link) in [("next", &links.next), ("previous", &links.previous)] {
        if let Some(url) = link {
            out.push_str(&format!(" {name}=\"{}\"", escape(url, true)));
        }
    }
    out.push('>');
    for row in &table.rows {
        out.push_str(&format!("<{element}>"));
        for (name, value) in table.columns.iter().zip(row) {
            match value {
                Some(v) => out.push_str(&format!("<{name}>{}</{name}>", escape(v, false))),
                None => out.push_str(&format!("<{name} xsi:nil=\"true\"/>")),
            }
        }
        out.push_str(&format!("</{element}>"));
    }
    out.push_str(&format!("</{root}>\n"));
    out
}

/// Escapes text content (`attribute: false`) or a double-quoted attribute value.
fn escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\t' | '\n' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push(char::REPLACEMENT_CHARACTER),
        }
    }
    out
}

/// XML 1.0 `Char` (Rust strings hold no surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &[&str] = &["id", "note"];

    fn table() -> Table {
        let mut t = Table::new(COLUMNS);
        t.push(vec![
            ("id", Some("1".into())),
            ("note", Some("a,\"b\"\r\nc".into())),
        ])
        .unwrap();
        t.push(vec![("id", Some("2".into())), ("note", None)])
            .unwrap();
        t
    }

    #[test]
    fn records_must_match_the_columns() {
        let mut t = Table::new(COLUMNS);
        assert!(t.push(vec![("note", None), ("id", None)]).is_err());
        assert!(t.push(vec![("id", None)]).is_err());
    }

    #[test]
    fn csv_quotes_as_rfc_4180_says() {
        assert_eq!(csv(&table()), "id,note\r\n1,\"a,\"\"b\"\"\r\nc\"\r\n2,\r\n");
    }

    #[test]
    fn xml_escapes_text_and_attributes() {
        let links = Links {
            next: Some("http://x/?a=1&b=\"2\"".into()),
            previous: None,
        };
        let mut t = Table::new(COLUMNS);
        t.push(vec![("id", Some("<&>\u{1}\t".into())), ("note", None)])
            .unwrap();
        let doc = xml("things", "thing", &t, &links);
        assert!(
            doc.contains(r#"next="http://x/?a=1&amp;b=&quot;2&quot;">"#),
            "{doc}"
        );
        assert!(!doc.contains("previous="), "{doc}");
        assert!(
            doc.contains("<thing><id>&lt;&amp;&gt;\u{FFFD}\t</id><note xsi:nil=\"true\"/></thing>"),
            "{doc}"
        );
    }

    #[test]
    fn json_keeps_nulls() {
        let body = json(
            &table(),
            &Links {
                next: None,
                previous: None,
            },
        );
        assert_eq!(body["results"][1], json!({"id": "2", "note": null}));
        assert!(body["next"].is_null() && body["previous"].is_null());
    }
}
