//! One page of records in the three formats. Every value is a string or null, so the formats
//! carry exactly the same data:
//!
//! - JSON: `{"next": url|null, "previous": url|null, "results": [{field: value, …}, …]}`.
//! - CSV (RFC 4180, written by the `csv` crate): a header row with the field names, then one
//!   row per record; CRLF line ends; a field containing `,` `"` CR or LF is quoted and its
//!   quotes doubled; null is an empty field. Against formula injection (OWASP), a text value
//!   starting with `=` `+` `-` `@`, tab or CR is written with a leading `'`; number columns
//!   ([`NUMBER_COLUMNS`], e.g. `-12.50`) are written as they are, so spreadsheets read numbers.
//! - XML: `<transactions next="…" previous="…">` (an absent link has no attribute) holding one
//!   `<transaction>` per record with one child element per field, in column order; null is an
//!   empty element with `xsi:nil="true"`. Characters XML 1.0 cannot carry (control characters
//!   other than tab, LF, CR) are replaced by U+FFFD; CR is written `&#13;` so it survives
//!   parsing.

use std::borrow::Cow;

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

/// Columns holding decimal numbers, never text a payer or merchant chose.
pub(super) const NUMBER_COLUMNS: &[&str] = &["amount"];

/// First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The CSV document.
pub(super) fn csv(table: &Table) -> Result<String, ApiError> {
    let failed = |e: &dyn std::fmt::Display| ApiError::Internal(format!("CSV: {e}"));
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(table.columns).map_err(|e| failed(&e))?;
    for row in &table.rows {
        let cells = table
            .columns
            .iter()
            .zip(row)
            .map(|(column, value)| csv_cell(column, value.as_deref().unwrap_or_default()));
        writer.write_record(cells).map_err(|e| failed(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| failed(&e))?;
    String::from_utf8(bytes).map_err(|e| failed(&e))
}

/// A cell as written: text that a spreadsheet would run as a formula gets a leading `'`.
fn csv_cell<'a>(column: &str, value: &'a str) -> Cow<'a, [u8]> {
    if !NUMBER_COLUMNS.contains(&column) && value.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{value}").into_bytes())
    } else {
        Cow::Borrowed(value.as_bytes())
    }
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
        assert_eq!(
            csv(&table()).unwrap(),
            "id,note\r\n1,\"a,\"\"b\"\"\r\nc\"\r\n2,\r\n"
        );
    }

    #[test]
    fn csv_neutralises_formulas_in_text_but_keeps_numbers() {
        let mut t = Table::new(&["tenant_reference_id", "amount"]);
        for start in ["=", "+", "-", "@", "\t", "\r"] {
            let text = format!("{start}HYPERLINK(\"http://x\")");
            t.push(vec![
                ("tenant_reference_id", Some(text)),
                ("amount", Some("-12.50".into())),
            ])
            .unwrap();
        }
        t.push(vec![
            ("tenant_reference_id", Some("ref=1".into())),
            ("amount", Some("12.50".into())),
        ])
        .unwrap();
        let doc = csv(&t).unwrap();
        let mut reader = csv::ReaderBuilder::new().from_reader(doc.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 7, "{doc}");
        for row in &rows[..6] {
            assert!(row[0].starts_with("'"), "{doc}");
            assert_eq!(&row[1], "-12.50", "numbers stay numbers: {doc}");
        }
        assert_eq!(&rows[0][0], "'=HYPERLINK(\"http://x\")");
        assert_eq!((&rows[6][0], &rows[6][1]), ("ref=1", "12.50"));
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
