//! A minimal XML element tree: enough for Genesis' flat request and response documents.
//!
//! Genesis documents are small, have no mixed content and no namespaces, so an element is a
//! name, its attributes, its text and its child elements. [`Element::parse`] reads a document
//! with `quick-xml` (the declaration, comments and processing instructions are skipped; text is
//! trimmed); [`Element::to_document`] writes one with a UTF-8 declaration and 2-space indentation,
//! like the PHP SDK. [`Element::canonical`] gives an order-insensitive form for comparisons.

use std::fmt::Write as _;

use quick_xml::events::Event;

/// One XML element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// The tag name.
    pub name: String,
    /// Attributes in document order.
    pub attributes: Vec<(String, String)>,
    /// The element's text content, trimmed (empty for elements with children).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

/// The document is not well-formed XML or has no root element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid XML: {0}")]
pub struct XmlError(pub String);

impl Element {
    /// An empty element called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            ..Element::default()
        }
    }

    /// A leaf element with text.
    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            text: text.into(),
            ..Element::default()
        }
    }

    /// Appends a child and returns `self` (builder style).
    pub fn child(mut self, child: Element) -> Self {
        self.children.push(child);
        self
    }

    /// Appends a leaf child with text.
    pub fn push_leaf(&mut self, name: &str, text: impl Into<String>) {
        self.children.push(Element::leaf(name, text));
    }

    /// Appends a leaf child when `text` is `Some` and not blank.
    pub fn push_opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            self.push_leaf(name, t);
        }
    }

    /// The first child called `name`.
    pub fn get(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child called `name`, if that child exists and its text is not
    /// empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(|c| c.text.as_str())
            .filter(|t| !t.is_empty())
    }

    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses a document and returns its root element.
    pub fn parse(input: &str) -> Result<Element, XmlError> {
        // Text is trimmed at the end, not per event: entity references split text events.
        let mut reader = quick_xml::Reader::from_str(input);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| XmlError(format!("{e} at byte {}", reader.error_position())))?;
            match event {
                Event::Start(start) => {
                    if root.is_some() {
                        return Err(XmlError("content after the root element".into()));
                    }
                    stack.push(element_from_start(&start)?);
                }
                Event::Empty(start) => {
                    if root.is_some() {
                        return Err(XmlError("content after the root element".into()));
                    }
                    let element = element_from_start(&start)?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    // quick-xml checks that end tags match their start tags.
                    let mut element = stack
                        .pop()
                        .ok_or_else(|| XmlError("unexpected end tag".into()))?;
                    if !element.children.is_empty() {
                        element.text.clear();
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::Text(text) => {
                    let decoded = text
                        .decode()
                        .map_err(|e| XmlError(format!("bad text: {e}")))?;
                    let unescaped = quick_xml::escape::unescape(&decoded)
                        .map_err(|e| XmlError(format!("bad text: {e}")))?;
                    push_text(&mut stack, &unescaped)?;
                }
                Event::GeneralRef(reference) => {
                    let name = reference
                        .decode()
                        .map_err(|e| XmlError(format!("bad entity: {e}")))?;
                    let resolved = resolve_entity(&name)
                        .ok_or_else(|| XmlError(format!("unknown entity &{name};")))?;
                    push_text(&mut stack, &resolved)?;
                }
                Event::CData(data) => {
                    let text = String::from_utf8(data.into_inner().into_owned())
                        .map_err(|_| XmlError("CDATA is not UTF-8".into()))?;
                    push_text(&mut stack, &text)?;
                }
                Event::Eof => break,
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
        if !stack.is_empty() {
            return Err(XmlError("unclosed element".into()));
        }
        let mut root = root.ok_or_else(|| XmlError("no root element".into()))?;
        trim_all(&mut root);
        Ok(root)
    }

    /// Writes the element as a document: `<?xml version="1.0" encoding="UTF-8"?>` and the
    /// element indented by two spaces per level.
    pub fn to_document(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_into(&mut out, 0);
        out
    }

    fn write_into(&self, out: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        let _ = write!(out, "{indent}<{}", self.name);
        for (k, v) in &self.attributes {
            let _ = write!(out, " {k}=\"{}\"", escape(v));
        }
        if self.children.is_empty() {
            if self.text.is_empty() {
                out.push_str("/>\n");
            } else {
                let _ = writeln!(out, ">{}</{}>", escape(&self.text), self.name);
            }
            return;
        }
        out.push_str(">\n");
        for child in &self.children {
            child.write_into(out, depth + 1);
        }
        let _ = writeln!(out, "{indent}</{}>", self.name);
    }

    /// An order-insensitive copy: attributes and children sorted (children by their own
    /// canonical form), so two documents that differ only in element order compare equal.
    pub fn canonical(&self) -> Element {
        let mut attributes = self.attributes.clone();
        attributes.sort();
        let mut children: Vec<Element> = self.children.iter().map(Element::canonical).collect();
        children.sort_by_key(|c| c.sort_key());
        Element {
            name: self.name.clone(),
            attributes,
            text: self.text.clone(),
            children,
        }
    }

    fn sort_key(&self) -> String {
        let mut key = String::new();
        self.write_into(&mut key, 0);
        key
    }

    /// Removes every child (at any depth) whose name is in `names`.
    pub fn remove_all(&mut self, names: &[&str]) {
        self.children.retain(|c| !names.contains(&c.name.as_str()));
        for child in &mut self.children {
            child.remove_all(names);
        }
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(current) => {
            current.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError("text outside the root element".into())),
    }
}

fn trim_all(element: &mut Element) {
    let trimmed = element.text.trim();
    if trimmed.len() != element.text.len() {
        element.text = trimmed.to_owned();
    }
    for child in &mut element.children {
        trim_all(child);
    }
}

fn resolve_entity(name: &str) -> Option<String> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code).map(String::from);
    }
    quick_xml::escape::resolve_xml_entity(name).map(str::to_owned)
}

fn element_from_start(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, XmlError> {
    let name = String::from_utf8(start.name().as_ref().to_vec())
        .map_err(|_| XmlError("element name is not UTF-8".into()))?;
    let mut element = Element::new(name);
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| XmlError(format!("bad attribute: {e}")))?;
        let key = String::from_utf8(attribute.key.as_ref().to_vec())
            .map_err(|_| XmlError("attribute name is not UTF-8".into()))?;
        let value = attribute
            .unescape_value()
            .map_err(|e| XmlError(format!("bad attribute value: {e}")))?
            .into_owned();
        element.attributes.push((key, value));
    }
    Ok(element)
}

/// Escapes `&`, `<`, `>`, `"` and `'` for text and attribute values.
pub fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_round_trip() {
        let doc = r#"<?xml version='1.0'?>
<payment_responses page="1" per_page="100">
    <payment_response>
        <status>approved</status>
        <usage>Tickets &amp; more &lt;3 &#x263A;</usage>
        <empty/>
    </payment_response>
</payment_responses>"#;
        let root = Element::parse(doc).unwrap();
        assert_eq!(root.name, "payment_responses");
        assert_eq!(root.attribute("per_page"), Some("100"));
        let response = root.get("payment_response").unwrap();
        assert_eq!(response.text_of("status"), Some("approved"));
        assert_eq!(
            response.text_of("usage"),
            Some("Tickets & more <3 \u{263A}")
        );
        assert_eq!(response.text_of("empty"), None);
        assert!(response.get("empty").is_some());
        let again = Element::parse(&root.to_document()).unwrap();
        assert_eq!(again, root);
    }

    #[test]
    fn canonical_ignores_order() {
        let a = Element::parse("<a><b>1</b><c><d>x</d><e>y</e></c></a>").unwrap();
        let b = Element::parse("<a>\n <c><e>y</e><d>x</d></c>\n <b>1</b></a>").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn rejects_broken_documents() {
        for doc in [
            "",
            "not xml",
            "<a><b></a>",
            "<a>",
            "<a/><b/>",
            "<a>&bogus;</a>",
        ] {
            assert!(Element::parse(doc).is_err(), "{doc:?}");
        }
    }

    #[test]
    fn writes_escaped_text() {
        let e = Element::new("r").child(Element::leaf("u", "a&b<c>\"'"));
        let doc = e.to_document();
        assert!(doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r>\n  <u>"));
        assert_eq!(Element::parse(&doc).unwrap(), e);
    }
}
