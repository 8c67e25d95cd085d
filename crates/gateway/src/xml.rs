//! A minimal XML element tree: enough for Genesis' flat request and response documents.
//!
//! Genesis documents are small, have no mixed content and no namespaces, so an element is a
//! name, its attributes, its text and its child elements. [`Element::parse`] reads a document
//! with `quick-xml` (the declaration, comments and processing instructions are skipped; text is
//! trimmed); [`Element::to_document`] writes one with a UTF-8 declaration and 2-space indentation,
//! like the PHP SDK. [`Element::canonical`] gives an order-insensitive form for comparisons.
//!
//! Gateway answers are hostile input: [`Element::parse`] refuses documents beyond [`Limits`]
//! (size, depth, element count), and no function here recurses over the tree, so neither a
//! parsed nor a built tree can exhaust the stack.

use std::fmt::Write as _;

use quick_xml::events::Event;

/// What [`Element::parse_with`] accepts. The default bounds are far above any Genesis document
/// (fewer than 10 levels; a by-date page of 100 responses has about 3,000 elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of input.
    pub max_bytes: usize,
    /// Most levels of nesting; the root element is level 1.
    pub max_depth: usize,
    /// Most elements in the document.
    pub max_elements: usize,
}

impl Limits {
    /// The bounds of [`Element::parse`]: 1 MiB, 32 levels, 10,000 elements.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 1 << 20,
        max_depth: 32,
        max_elements: 10_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// One XML element.
///
/// Dropping, writing, comparing canonically and [`Element::remove_all`] walk the tree with an
/// explicit stack. The derived `Clone`, `PartialEq` and `Debug` recurse, which is safe for
/// parsed trees (at most [`Limits::max_depth`] levels).
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

impl Drop for Element {
    /// Flattens the subtree so that each element is dropped without children: no recursion.
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.children);
        while let Some(mut child) = pending.pop() {
            pending.append(&mut child.children);
        }
    }
}

/// The document is not well-formed XML, has no root element, or exceeds the [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid XML: {0}")]
pub struct XmlError(pub String);

impl Element {
    /// An empty element called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Element::leaf(name, String::new())
    }

    /// A leaf element with text.
    pub fn leaf(name: impl Into<String>, text: impl Into<String>) -> Self {
        Element {
            name: name.into(),
            attributes: Vec::new(),
            text: text.into(),
            children: Vec::new(),
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

    /// Parses a document within [`Limits::DEFAULT`] and returns its root element.
    pub fn parse(input: &str) -> Result<Element, XmlError> {
        Element::parse_with(input, Limits::DEFAULT)
    }

    /// Parses a document within `limits` and returns its root element.
    pub fn parse_with(input: &str, limits: Limits) -> Result<Element, XmlError> {
        if input.len() > limits.max_bytes {
            return Err(XmlError(format!(
                "document of {} bytes exceeds the limit of {} bytes",
                input.len(),
                limits.max_bytes
            )));
        }
        // Text is trimmed when its element ends, not per event: entity references split text
        // events.
        let mut reader = quick_xml::Reader::from_str(input);
        let mut stack: Vec<Element> = Vec::new();
        let mut root: Option<Element> = None;
        let mut elements = 0usize;
        let mut admit = |stack: &[Element], root: &Option<Element>| {
            if root.is_some() {
                return Err(XmlError("content after the root element".into()));
            }
            if stack.len() >= limits.max_depth {
                return Err(XmlError(format!(
                    "elements nested deeper than {} levels",
                    limits.max_depth
                )));
            }
            elements += 1;
            if elements > limits.max_elements {
                return Err(XmlError(format!(
                    "more than {} elements",
                    limits.max_elements
                )));
            }
            Ok(())
        };
        loop {
            let event = reader
                .read_event()
                .map_err(|e| XmlError(format!("{e} at byte {}", reader.error_position())))?;
            match event {
                Event::Start(start) => {
                    admit(&stack, &root)?;
                    stack.push(element_from_start(&start)?);
                }
                Event::Empty(start) => {
                    admit(&stack, &root)?;
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
                    if element.children.is_empty() {
                        trim_in_place(&mut element.text);
                    } else {
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
        root.ok_or_else(|| XmlError("no root element".into()))
    }

    /// Writes the element as a document: `<?xml version="1.0" encoding="UTF-8"?>` and the
    /// element indented by two spaces per level.
    pub fn to_document(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write_into(&mut out);
        out
    }

    /// Writes the element, one line per start tag, leaf or end tag, with an explicit stack of
    /// open elements and the index of the next child of each.
    fn write_into(&self, out: &mut String) {
        let mut open: Vec<(&Element, usize)> = Vec::new();
        let mut next = Some(self);
        loop {
            if let Some(element) = next.take() {
                let indent = "  ".repeat(open.len());
                let _ = write!(out, "{indent}<{}", element.name);
                for (k, v) in &element.attributes {
                    let _ = write!(out, " {k}=\"{}\"", escape(v));
                }
                if !element.children.is_empty() {
                    out.push_str(">\n");
                    open.push((element, 0));
                } else if element.text.is_empty() {
                    out.push_str("/>\n");
                } else {
                    let _ = writeln!(out, ">{}</{}>", escape(&element.text), element.name);
                }
            }
            let Some((parent, index)) = open.last_mut() else {
                return;
            };
            match parent.children.get(*index) {
                Some(child) => {
                    *index += 1;
                    next = Some(child);
                }
                None => {
                    let name = &parent.name;
                    open.pop();
                    let indent = "  ".repeat(open.len());
                    let _ = writeln!(out, "{indent}</{name}>");
                }
            }
        }
    }

    /// An order-insensitive copy: attributes and children sorted (children by their own
    /// canonical form), so two documents that differ only in element order compare equal.
    pub fn canonical(&self) -> Element {
        // Post-order with an explicit stack: each frame is a source element and the canonical
        // copies of its children made so far.
        let mut stack: Vec<(&Element, Vec<Element>)> = vec![(self, Vec::new())];
        let mut result = Element::default();
        while let Some(frame) = stack.last_mut() {
            let source = frame.0;
            if let Some(child) = source.children.get(frame.1.len()) {
                stack.push((child, Vec::with_capacity(child.children.len())));
                continue;
            }
            let mut children = std::mem::take(&mut frame.1);
            stack.pop();
            children.sort_by_cached_key(Element::sort_key);
            let mut attributes = source.attributes.clone();
            attributes.sort();
            let copy = Element {
                name: source.name.clone(),
                attributes,
                text: source.text.clone(),
                children,
            };
            match stack.last_mut() {
                Some((_, done)) => done.push(copy),
                None => result = copy,
            }
        }
        result
    }

    fn sort_key(&self) -> String {
        let mut key = String::new();
        self.write_into(&mut key);
        key
    }

    /// Removes every child (at any depth) whose name is in `names`.
    pub fn remove_all(&mut self, names: &[&str]) {
        let mut pending: Vec<&mut Element> = vec![self];
        while let Some(element) = pending.pop() {
            element
                .children
                .retain(|c| !names.contains(&c.name.as_str()));
            pending.extend(element.children.iter_mut());
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

fn trim_in_place(text: &mut String) {
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        *text = trimmed.to_owned();
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

    /// Runs `f` on a thread with a 128 KiB stack: recursion over thousands of levels
    /// overflows it.
    fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("no stack overflow")
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn deep_documents_are_refused_without_recursion() {
        let err =
            on_small_stack(|| Element::parse(&nested(60_000)).map(|_| ())).expect_err("too deep");
        assert!(err.0.contains("deeper than 32 levels"), "{err}");
        assert!(Element::parse(&nested(Limits::DEFAULT.max_depth)).is_ok());
        assert!(Element::parse(&nested(Limits::DEFAULT.max_depth + 1)).is_err());
        let self_closing = format!("{}<b/>{}", "<a>".repeat(32), "</a>".repeat(32));
        assert!(Element::parse(&self_closing).is_err());
    }

    #[test]
    fn element_count_and_size_are_bounded() {
        let limits = Limits {
            max_bytes: 100,
            max_depth: 4,
            max_elements: 3,
        };
        assert!(Element::parse_with("<a><b/><c>x</c></a>", limits).is_ok());
        let err = Element::parse_with("<a><b/><c/><d/></a>", limits).expect_err("4 elements");
        assert!(err.0.contains("more than 3 elements"), "{err}");
        let long = format!("<a>{}</a>", "x".repeat(94));
        assert_eq!(long.len(), 101);
        let err = Element::parse_with(&long, limits).expect_err("101 bytes");
        assert!(err.0.contains("exceeds the limit of 100 bytes"), "{err}");
        let flat = format!("<a>{}</a>", "<b/>".repeat(Limits::DEFAULT.max_elements));
        assert!(Element::parse(&flat).is_err());
    }

    #[test]
    fn built_deep_trees_are_walked_without_recursion() {
        fn chain(depth: usize) -> Element {
            let mut root = Element::leaf("a", "x");
            for _ in 1..depth {
                root = Element::new("a").child(root);
            }
            root
        }
        on_small_stack(|| {
            let mut deep = chain(100_000);
            deep.remove_all(&["b"]);
            let canonical = deep.canonical();
            drop(canonical);
            drop(deep);
            // Writing is quadratic in depth (indentation), so a smaller chain.
            let document = chain(3_000).to_document();
            assert!(document.ends_with("</a>\n"));
            assert_eq!(document.matches("<a>").count(), 3_000);
        });
    }
}
