//! Opaque keyset cursors of the reconciliation listings.
//!
//! A cursor names a row's place in the listing order — its sort key (a timestamp or a date)
//! and its id — plus the direction to read in and the listing it belongs to. Its text form is
//! base64url (no padding) of `<listing>|<a or b>|<sort key>|<id>`, e.g.
//! `t|a|2026-11-21T10:15:00.123456|0190b6a0-…`. Nothing but the position is stored, so a
//! cursor stays valid however many rows are inserted before or after it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{NaiveDate, NaiveDateTime};

/// Longest cursor text accepted (ours are about 110 characters).
const MAX_CURSOR_LEN: usize = 256;

/// The three reconciliation listings. A cursor is only valid on the listing that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// `/reconciliation/transactions/`, ordered by `processed_at`.
    Transactions,
    /// `/reconciliation/chargebacks/`, ordered by `report_date`.
    Chargebacks,
    /// `/reconciliation/subscriptions/`, ordered by `created_at`.
    Subscriptions,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Transactions => "t",
            Listing::Chargebacks => "c",
            Listing::Subscriptions => "s",
        }
    }
}

/// A sort key that can travel inside a cursor, in one canonical spelling.
pub trait SortKey: Copy + Ord + Sized {
    /// The canonical text.
    fn to_text(&self) -> String;
    /// Parses the canonical text; anything else is `None`.
    fn from_text(text: &str) -> Option<Self>;
}

const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";
const DATE_FORMAT: &str = "%Y-%m-%d";

impl SortKey for NaiveDateTime {
    /// Microseconds, as stored on both backends.
    fn to_text(&self) -> String {
        self.format(TIMESTAMP_FORMAT).to_string()
    }

    fn from_text(text: &str) -> Option<Self> {
        let at = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        (at.to_text() == text).then_some(at)
    }
}

impl SortKey for NaiveDate {
    fn to_text(&self) -> String {
        self.format(DATE_FORMAT).to_string()
    }

    fn from_text(text: &str) -> Option<Self> {
        let day = NaiveDate::parse_from_str(text, DATE_FORMAT).ok()?;
        (day.to_text() == text).then_some(day)
    }
}

/// A row's place in a listing: its sort key, then its id (the tie-breaker).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Position<K> {
    /// The value of the listing's date field.
    pub key: K,
    /// The row id (lower-case hyphenated UUID).
    pub id: String,
}

/// Where a page starts, relative to a known position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seek<K> {
    /// The rows after this position (the `next` link).
    After(Position<K>),
    /// The rows before this position (the `previous` link).
    Before(Position<K>),
}

impl<K: SortKey> Seek<K> {
    /// The opaque text used in URLs.
    pub fn encode(&self, listing: Listing) -> String {
        let (dir, p) = match self {
            Seek::After(p) => ("a", p),
            Seek::Before(p) => ("b", p),
        };
        let raw = format!("{}|{dir}|{}|{}", listing.tag(), p.key.to_text(), p.id);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Parses a cursor issued by [`Seek::encode`] for `listing`; `None` for anything else
    /// (garbage, another listing's cursor, a non-canonical key or id).
    pub fn decode(listing: Listing, text: &str) -> Option<Self> {
        if text.len() > MAX_CURSOR_LEN {
            return None;
        }
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let mut parts = raw.splitn(4, '|');
        let (tag, dir, key, id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if tag != listing.tag() || !is_canonical_uuid(id) {
            return None;
        }
        let position = Position {
            key: K::from_text(key)?,
            id: id.to_owned(),
        };
        match dir {
            "a" => Some(Seek::After(position)),
            "b" => Some(Seek::Before(position)),
            _ => None,
        }
    }
}

fn is_canonical_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok_and(|u| u.hyphenated().to_string() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position<K>(key: K) -> Position<K> {
        Position {
            key,
            id: uuid::Uuid::now_v7().to_string(),
        }
    }

    #[test]
    fn cursors_round_trip_on_their_listing_only() {
        let at = NaiveDate::from_ymd_opt(2026, 11, 21)
            .and_then(|d| d.and_hms_micro_opt(10, 15, 0, 123_456))
            .unwrap();
        for seek in [Seek::After(position(at)), Seek::Before(position(at))] {
            let text = seek.encode(Listing::Transactions);
            assert_eq!(Seek::decode(Listing::Transactions, &text), Some(seek));
            assert_eq!(
                Seek::<NaiveDateTime>::decode(Listing::Subscriptions, &text),
                None
            );
        }
        let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let seek = Seek::After(position(day));
        assert_eq!(
            Seek::decode(Listing::Chargebacks, &seek.encode(Listing::Chargebacks)),
            Some(seek)
        );
    }

    #[test]
    fn foreign_text_is_refused() {
        let id = "0190b6a0-0000-7000-8000-000000000000";
        for raw in [
            "garbage".to_owned(),
            format!("t|a|2026-11-21T10:15:00.123456|{}", id.to_uppercase()),
            format!("t|x|2026-11-21T10:15:00.123456|{id}"),
            format!("t|a|2026-11-21T10:15:00|{id}"),
            format!("t|a|2026-11-21 10:15:00.123456|{id}"),
            format!("c|a|2026-1-2|{id}"),
            "t|a|2026-11-21T10:15:00.123456|not-a-uuid".to_owned(),
        ] {
            let text = URL_SAFE_NO_PAD.encode(&raw);
            assert_eq!(
                Seek::<NaiveDateTime>::decode(Listing::Transactions, &text),
                None,
                "{raw}"
            );
            assert_eq!(
                Seek::<NaiveDate>::decode(Listing::Chargebacks, &text),
                None,
                "{raw}"
            );
        }
        assert_eq!(
            Seek::<NaiveDate>::decode(Listing::Chargebacks, &"A".repeat(1000)),
            None
        );
    }
}
