//! The hosted page's words and formats per locale: one Fluent bundle per locale, embedded at
//! compile time from `crates/api/locales/<lang>/hosted.ftl`.
//!
//! The `.ftl` files also hold each locale's number, amount and date patterns (`format-*`,
//! `month-*`), so adding a locale is adding a file and a line to [`SOURCES`].

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::LazyLock;

use catalyst_domain::session::Locale;
use chrono::{Datelike, NaiveDate};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// The Fluent source of each locale's page, by locale code.
pub const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("../../locales/en/hosted.ftl")),
    ("de", include_str!("../../locales/de/hosted.ftl")),
    ("fr", include_str!("../../locales/fr/hosted.ftl")),
    ("es", include_str!("../../locales/es/hosted.ftl")),
    ("it", include_str!("../../locales/it/hosted.ftl")),
    ("nl", include_str!("../../locales/nl/hosted.ftl")),
    ("ja", include_str!("../../locales/ja/hosted.ftl")),
    ("pl", include_str!("../../locales/pl/hosted.ftl")),
    ("pt", include_str!("../../locales/pt/hosted.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

fn bundle(code: &str, source: &str) -> Bundle {
    // A file that does not parse keeps the messages that do (a test requires zero errors).
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
    let lang: LanguageIdentifier = code.parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // Plain text: the page escapes on output, isolation marks would only get in the way.
    bundle.set_use_isolating(false);
    // Ids are unique per file (tested); a duplicate would keep the first.
    let _ = bundle.add_resource(resource);
    bundle
}

static BUNDLES: LazyLock<Vec<(&'static str, Bundle)>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(code, source)| (*code, bundle(code, source)))
        .collect()
});

/// The messages and formats of one locale.
#[derive(Clone, Copy)]
pub struct Messages {
    locale: Locale,
    bundle: &'static Bundle,
    fallback: &'static Bundle,
}

/// A message argument.
pub enum Arg<'a> {
    /// Text, inserted as is.
    Text(Cow<'a, str>),
    /// A number (selects plural forms).
    Number(i64),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(text: &'a str) -> Self {
        Arg::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Arg<'_> {
    fn from(text: String) -> Self {
        Arg::Text(Cow::Owned(text))
    }
}

impl From<i64> for Arg<'_> {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl Messages {
    /// The messages of `locale` (English for a locale without a file).
    pub fn of(locale: Locale) -> Messages {
        let find = |code: &str| BUNDLES.iter().find(|(c, _)| *c == code).map(|(_, b)| b);
        let fallback = find("en").unwrap_or(&BUNDLES[0].1);
        Messages {
            locale,
            bundle: find(locale.as_str()).unwrap_or(fallback),
            fallback,
        }
    }

    /// The locale these messages are in.
    pub fn locale(&self) -> Locale {
        self.locale
    }

    /// The message `id` without arguments.
    pub fn get(&self, id: &str) -> String {
        self.with(id, &[])
    }

    /// The message `id` with `args`; the English message when this locale lacks it, the id
    /// itself when English does too.
    pub fn with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let value = match value {
                Arg::Text(t) => FluentValue::from(t.as_ref()),
                Arg::Number(n) => FluentValue::from(*n),
            };
            fluent_args.set(*name, value);
        }
        for bundle in [self.bundle, self.fallback] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle
                    .format_pattern(pattern, Some(&fluent_args), &mut errors)
                    .into_owned();
            }
        }
        id.to_owned()
    }

    /// A decimal amount string (`"1234.50"`) of `currency`, grouped, with the locale's decimal
    /// mark and the currency symbol where the locale puts it.
    pub fn amount(&self, amount: &str, currency: &str) -> String {
        let (negative, digits) = match amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, amount),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let group = self.get("format-group");
        let mut number = String::with_capacity(int.len() + 8);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                number.push_str(&group);
            }
            number.push(c);
        }
        if !frac.is_empty() {
            number.push_str(&self.get("format-decimal"));
            number.push_str(frac);
        }
        let formatted = self.with(
            "format-amount",
            &[
                ("symbol", currency_symbol(currency).into()),
                ("number", number.into()),
            ],
        );
        if negative {
            format!("-{formatted}")
        } else {
            formatted
        }
    }

    /// `date` in the locale's short form (`format-date`, chrono strftime).
    pub fn date(&self, date: NaiveDate) -> String {
        let mut out = String::new();
        if write!(out, "{}", date.format(&self.get("format-date"))).is_err() {
            return date.to_string();
        }
        out
    }

    /// Day and month in words ("5 January", "5. Januar").
    pub fn day_month(&self, date: NaiveDate) -> String {
        self.with(
            "format-day-month",
            &[
                ("day", i64::from(date.day()).into()),
                ("month", self.get(&format!("month-{}", date.month())).into()),
            ],
        )
    }
}

/// The symbol shown for a currency code (the code itself when it has none here).
pub fn currency_symbol(code: &str) -> &str {
    const SYMBOLS: &[(&str, &str)] = &[
        ("EUR", "€"),
        ("GBP", "£"),
        ("USD", "$"),
        ("JPY", "¥"),
        ("CHF", "CHF"),
        ("PLN", "zł"),
    ];
    SYMBOLS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast::Entry;
    use std::collections::BTreeSet;

    fn ids(source: &str) -> Vec<String> {
        let resource = fluent_syntax::parser::parse(source).expect("parses");
        resource
            .body
            .iter()
            .filter_map(|e| match e {
                Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_locale_has_a_file_and_every_file_parses() {
        for locale in Locale::ALL {
            assert!(
                SOURCES.iter().any(|(c, _)| *c == locale.as_str()),
                "{locale:?} has no .ftl"
            );
        }
        for (code, source) in SOURCES {
            assert!(
                FluentResource::try_new((*source).to_owned()).is_ok(),
                "{code}: parse errors"
            );
        }
    }

    #[test]
    fn every_locale_has_exactly_the_english_message_ids() {
        let en: BTreeSet<String> = ids(SOURCES[0].1).into_iter().collect();
        assert!(en.len() > 60, "{en:?}");
        for (code, source) in SOURCES {
            let list = ids(source);
            let set: BTreeSet<String> = list.iter().cloned().collect();
            assert_eq!(set.len(), list.len(), "{code}: duplicate ids");
            let missing: Vec<_> = en.difference(&set).collect();
            let extra: Vec<_> = set.difference(&en).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{code}: missing {missing:?}, extra {extra:?}"
            );
        }
    }

    #[test]
    fn every_message_formats_without_errors() {
        let mut args = FluentArgs::new();
        for name in [
            "symbol",
            "number",
            "day",
            "month",
            "amount",
            "frequency",
            "start",
            "unit",
            "count",
            "price",
            "creditor",
            "days",
            "character",
            "country",
            "expected",
            "actual",
            "max",
        ] {
            args.set(name, FluentValue::from(2));
        }
        for (code, source) in SOURCES {
            let b = bundle(code, source);
            for id in ids(source) {
                let pattern = b.get_message(&id).and_then(|m| m.value()).expect("value");
                let mut errors = Vec::new();
                let _ = b.format_pattern(pattern, Some(&args), &mut errors);
                assert!(errors.is_empty(), "{code} {id}: {errors:?}");
            }
        }
    }

    #[test]
    fn amounts_and_dates_per_locale() {
        let m = |l: &str| Messages::of(l.parse().unwrap());
        assert_eq!(m("de").amount("9.99", "EUR"), "9,99\u{a0}€");
        assert_eq!(m("en").amount("9.99", "EUR"), "€9.99");
        assert_eq!(m("fr").amount("1234.50", "EUR"), "1\u{202f}234,50\u{a0}€");
        assert_eq!(m("en").amount("1234567.00", "EUR"), "€1,234,567.00");
        assert_eq!(m("nl").amount("1234.00", "EUR"), "€\u{a0}1.234,00");
        assert_eq!(m("pl").amount("1234.00", "PLN"), "1\u{a0}234,00\u{a0}zł");
        assert_eq!(m("en").amount("-5.00", "EUR"), "-€5.00");
        let d = NaiveDate::from_ymd_opt(2027, 1, 5).unwrap();
        assert_eq!(m("en").date(d), "5 January 2027");
        assert_eq!(m("de").date(d), "05.01.2027");
        assert_eq!(m("ja").date(d), "2027年1月5日");
        assert_eq!(m("en").day_month(d), "5 January");
        assert_eq!(m("de").day_month(d), "5. Januar");
        assert_eq!(m("pt").day_month(d), "5 de janeiro");
        assert_eq!(m("pl").day_month(d), "5 stycznia");
    }

    #[test]
    fn plurals_follow_the_locale() {
        let m = |l: &str| Messages::of(l.parse().unwrap());
        let trial = |l: &str, n: i64| {
            m(l).with(
                "trial-free",
                &[("unit", "month".into()), ("count", n.into())],
            )
        };
        assert_eq!(trial("en", 1), "first month free");
        assert_eq!(trial("en", 3), "first 3 months free");
        assert_eq!(trial("pl", 3), "pierwsze 3 miesiące gratis");
        assert_eq!(trial("pl", 5), "pierwszych 5 miesięcy gratis");
    }
}
