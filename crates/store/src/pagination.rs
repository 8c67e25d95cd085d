//! Keyset pagination over time-ordered (UUID v7) ids, newest first.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Where a page starts: after (older than) or before (newer than) a known id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Rows older than this id (the `next` link).
    After(String),
    /// Rows newer than this id (the `previous` link).
    Before(String),
}

impl Cursor {
    /// The opaque form used in URLs.
    pub fn encode(&self) -> String {
        let raw = match self {
            Cursor::After(id) => format!("a:{id}"),
            Cursor::Before(id) => format!("b:{id}"),
        };
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses the opaque form; `None` for anything we did not produce.
    pub fn decode(text: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let (dir, id) = raw.split_once(':')?;
        uuid::Uuid::parse_str(id).ok()?;
        match dir {
            "a" => Some(Cursor::After(id.to_owned())),
            "b" => Some(Cursor::Before(id.to_owned())),
            _ => None,
        }
    }
}

/// A page request: size (already bounds-checked by the caller) and optional cursor.
#[derive(Clone, Debug)]
pub struct PageRequest {
    /// Rows per page.
    pub size: u32,
    /// Where to start.
    pub cursor: Option<Cursor>,
}

/// One page of rows, newest first, with cursors to its neighbours.
#[derive(Debug)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Cursor for the next (older) page.
    pub next: Option<Cursor>,
    /// Cursor for the previous (newer) page.
    pub previous: Option<Cursor>,
}

/// Rows that have a keyset id.
pub trait Keyed {
    /// The row's id.
    fn key(&self) -> &str;
}

impl<T: Keyed> Page<T> {
    /// Builds a page from `size + 1` rows loaded newest first (`had_cursor`: we came from a newer page).
    pub fn from_descending(mut rows: Vec<T>, size: u32, had_cursor: bool) -> Self {
        let has_more = rows.len() > size as usize;
        rows.truncate(size as usize);
        let next = if has_more {
            rows.last().map(|r| Cursor::After(r.key().to_owned()))
        } else {
            None
        };
        let previous = if had_cursor {
            rows.first().map(|r| Cursor::Before(r.key().to_owned()))
        } else {
            None
        };
        Self {
            items: rows,
            next,
            previous,
        }
    }

    /// Builds a page from `size + 1` rows loaded oldest first after a `Before` cursor.
    pub fn from_ascending(mut rows: Vec<T>, size: u32) -> Self {
        let has_more = rows.len() > size as usize;
        rows.truncate(size as usize);
        rows.reverse();
        let previous = if has_more {
            rows.first().map(|r| Cursor::Before(r.key().to_owned()))
        } else {
            None
        };
        let next = rows.last().map(|r| Cursor::After(r.key().to_owned()));
        Self {
            items: rows,
            next,
            previous,
        }
    }

    /// Maps the rows, keeping the cursors.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            previous: self.previous,
        }
    }
}

/// Loads one page of `$query` (a tenant-filtered select) ordered by `$id`.
macro_rules! load_page {
    ($query:expr, $id:expr, $page:expr, $conn:expr) => {{
        use diesel::prelude::*;
        let page: &$crate::pagination::PageRequest = $page;
        let limit = i64::from(page.size) + 1;
        match &page.cursor {
            None => $crate::pagination::Page::from_descending(
                $crate::connection::on_backend!($conn, |c| $query
                    .order($id.desc())
                    .limit(limit)
                    .load(c))?,
                page.size,
                false,
            ),
            Some($crate::pagination::Cursor::After(c)) => {
                $crate::pagination::Page::from_descending(
                    $crate::connection::on_backend!($conn, |conn| $query
                        .filter($id.lt(c.clone()))
                        .order($id.desc())
                        .limit(limit)
                        .load(conn))?,
                    page.size,
                    true,
                )
            }
            Some($crate::pagination::Cursor::Before(c)) => {
                $crate::pagination::Page::from_ascending(
                    $crate::connection::on_backend!($conn, |conn| $query
                        .filter($id.gt(c.clone()))
                        .order($id.asc())
                        .limit(limit)
                        .load(conn))?,
                    page.size,
                )
            }
        }
    }};
}
pub(crate) use load_page;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_foreign_text() {
        let id = uuid::Uuid::now_v7().to_string();
        for c in [Cursor::After(id.clone()), Cursor::Before(id)] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode("garbage"), None);
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("a:not-a-uuid")),
            None
        );
        assert_eq!(
            Cursor::decode(&URL_SAFE_NO_PAD.encode("x:0190b6a0-0000-7000-8000-000000000000")),
            None
        );
    }
}
