//! A bounded XML reader shared by the pain.002 and camt.054 readers: it builds a small element
//! tree (local names, trimmed text) and refuses what a bank file never needs: more than
//! [`MAX_FILE_BYTES`], nesting deeper than [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements,
//! DTDs (so no entity expansion), and processing instructions other than the XML declaration.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::file_error::FileError;

/// Largest file the readers accept (8 MiB).
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Deepest element nesting accepted (ISO 20022 messages stay under 20).
pub const MAX_DEPTH: usize = 48;
/// Most elements accepted in one file.
pub const MAX_ELEMENTS: usize = 500_000;

/// One element: local name, its own trimmed text, attributes, children and where it starts.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub text: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub line: usize,
    pub column: usize,
}

impl Node {
    /// The first child called `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child called `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The descendant at `path` (child names), if every step exists.
    pub fn at(&self, path: &[&str]) -> Option<&Node> {
        path.iter().try_fold(self, |n, p| n.child(p))
    }

    /// The text at `path`, if present and not empty.
    pub fn text_at(&self, path: &[&str]) -> Option<String> {
        self.at(path)
            .map(|n| n.text.clone())
            .filter(|t| !t.is_empty())
    }

    /// The text at `path`, or a [`FileError::Malformed`] at this element naming the path.
    pub fn required(&self, path: &[&str]) -> Result<String, FileError> {
        self.text_at(path)
            .ok_or_else(|| self.error(format!("<{}> has no <{}>", self.name, path.join("/"))))
    }

    /// An error located at this element.
    pub fn error(&self, message: String) -> FileError {
        FileError::Malformed {
            line: self.line,
            column: self.column,
            message,
        }
    }

    /// The attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn position(input: &[u8], offset: usize) -> (usize, usize) {
    let upto = &input[..offset.min(input.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    match s.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => s.into_owned(),
    }
}

/// Parses `input` into its root element, within the limits above.
pub(crate) fn parse(input: &[u8]) -> Result<Node, FileError> {
    if input.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge {
            size: input.len(),
            limit: MAX_FILE_BYTES,
        });
    }
    let err_at = |offset: usize, message: String| {
        let (line, column) = position(input, offset);
        FileError::Malformed {
            line,
            column,
            message,
        }
    };
    let mut reader = Reader::from_reader(input);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| err_at(reader.error_position() as usize, e.to_string()))?;
        let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Node, FileError> {
            let (line, column) = position(input, start);
            let mut attrs = Vec::new();
            for a in e.attributes() {
                let a = a.map_err(|x| err_at(start, x.to_string()))?;
                let v = a
                    .unescape_value()
                    .map_err(|x| err_at(start, x.to_string()))?;
                attrs.push((local(a.key.as_ref()), v.into_owned()));
            }
            Ok(Node {
                name: local(e.name().as_ref()),
                attrs,
                line,
                column,
                ..Node::default()
            })
        };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(err_at(start, "content after the root element".into()));
            }
            Event::Start(e) => {
                elements += 1;
                if stack.len() >= MAX_DEPTH || elements > MAX_ELEMENTS {
                    return Err(err_at(
                        start,
                        format!("more than {MAX_DEPTH} levels or {MAX_ELEMENTS} elements"),
                    ));
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(err_at(start, format!("more than {MAX_ELEMENTS} elements")));
                }
                let node = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let mut node = stack
                    .pop()
                    .ok_or_else(|| err_at(start, "unexpected closing tag".into()))?;
                node.text = node.text.trim().to_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|x| err_at(start, x.to_string()))?;
                let text =
                    quick_xml::escape::unescape(&text).map_err(|x| err_at(start, x.to_string()))?;
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(err_at(start, "text outside the root element".into())),
                }
            }
            Event::GeneralRef(r) => {
                let name = String::from_utf8_lossy(&r).into_owned();
                let ch = match name.as_str() {
                    "amp" => "&".to_owned(),
                    "lt" => "<".to_owned(),
                    "gt" => ">".to_owned(),
                    "quot" => "\"".to_owned(),
                    "apos" => "'".to_owned(),
                    n => match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(err_at(start, format!("unknown entity &{n};"))),
                    },
                };
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&ch),
                    None => return Err(err_at(start, "text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let text = String::from_utf8_lossy(&c).into_owned();
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Event::DocType(_) => return Err(err_at(start, "DTDs are not accepted".into())),
            Event::PI(_) => {
                return Err(err_at(
                    start,
                    "processing instructions are not accepted".into(),
                ));
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(err_at(
            input.len(),
            "the file ends inside an element".into(),
        ));
    }
    root.ok_or_else(|| err_at(0, "no root element".into()))
}

/// Parses an ISO amount (`"19.99"`, `"20"`, `"0.5"`) into minor units, exactly.
pub(crate) fn parse_amount(s: &str) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty()
        || int.len() > 16
        || frac.len() > 2
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    int.checked_mul(100)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("19.99"), Some(1999));
        assert_eq!(parse_amount("20"), Some(2000));
        assert_eq!(parse_amount("0.5"), Some(50));
        for bad in [
            "",
            "-1",
            "1.",
            ".5",
            "1.234",
            "1e3",
            " 1",
            "12345678901234567",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}
