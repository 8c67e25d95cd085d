//! Leads: the person asked to pay, as sent in a session's `lead` object.

use serde_json::Value;

use crate::country::is_iso_country;
use crate::macros::string_enum;
use crate::validation::{
    NON_FIELD_ERRORS, ValidationErrors, char_field, messages, optional, optional_char_field,
    required,
};

/// Longest accepted e-mail address (RFC 5321 path limit).
pub const EMAIL_MAX_LEN: usize = 254;
/// Longest accepted local part of an e-mail address.
pub const EMAIL_LOCAL_MAX_LEN: usize = 64;
/// Longest accepted phone number.
pub const PHONE_MAX_LEN: usize = 32;
/// Longest accepted name/address/city/postal code.
pub const TEXT_MAX_LEN: usize = 255;

/// A validated lead from a create-session request. Strings are trimmed; optional fields sent
/// blank are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLead {
    /// Given name (≤ 255).
    pub first_name: String,
    /// Family name (≤ 255).
    pub last_name: String,
    /// E-mail as given (trimmed); see [`NewLead::normalized_email`].
    pub email: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// Street address (≤ 255).
    pub address: Option<String>,
    /// City (≤ 255).
    pub city: Option<String>,
    /// Postal code (≤ 255).
    pub postal_code: Option<String>,
    /// Phone number, E.164-ish (≤ 32).
    pub phone: Option<String>,
}

impl NewLead {
    /// Validates a `lead` object. Errors are keyed by field name without prefix (`email`);
    /// a non-object gives an error on `non_field_errors`. Unknown fields are ignored.
    pub fn from_json(v: &Value) -> Result<NewLead, ValidationErrors> {
        let Some(obj) = v.as_object() else {
            return Err(ValidationErrors::single(
                NON_FIELD_ERRORS,
                messages::expected_object(v),
            ));
        };
        let mut errors = ValidationErrors::new();
        let text = |v: &Value| char_field(v, TEXT_MAX_LEN);
        let optional_text = |v: &Value| optional_char_field(v, TEXT_MAX_LEN);

        let first_name = required(obj, "first_name", &mut errors, text);
        let last_name = required(obj, "last_name", &mut errors, text);
        let email = required(obj, "email", &mut errors, email_field);
        let country = required(obj, "country", &mut errors, country_field);
        let address = optional(obj, "address", &mut errors, optional_text).flatten();
        let city = optional(obj, "city", &mut errors, optional_text).flatten();
        let postal_code = optional(obj, "postal_code", &mut errors, optional_text).flatten();
        let phone = optional(obj, "phone", &mut errors, phone_field).flatten();

        match (first_name, last_name, email, country) {
            (Some(first_name), Some(last_name), Some(email), Some(country))
                if errors.is_empty() =>
            {
                Ok(NewLead {
                    first_name,
                    last_name,
                    email,
                    country,
                    address,
                    city,
                    postal_code,
                    phone,
                })
            }
            _ => Err(errors),
        }
    }

    /// The e-mail lower-cased: the key for duplicate lookup.
    pub fn normalized_email(&self) -> String {
        normalize_email(&self.email)
    }

    /// Fills this lead's empty optional fields from `other` (the `REUSE` policy); returns true
    /// if anything changed. Required fields are left alone.
    pub fn fill_empty_from(&mut self, other: &NewLead) -> bool {
        let mut changed = false;
        for (mine, theirs) in [
            (&mut self.address, &other.address),
            (&mut self.city, &other.city),
            (&mut self.postal_code, &other.postal_code),
            (&mut self.phone, &other.phone),
        ] {
            if mine.is_none() && theirs.is_some() {
                mine.clone_from(theirs);
                changed = true;
            }
        }
        changed
    }
}

/// Lower-cases an e-mail address (whole address) for duplicate lookup.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A practical e-mail check: `local@domain`; local part a dot-atom of RFC 5322 `atext`
/// (≤ 64 characters); domain of at least two dot-separated labels of letters, digits and
/// hyphens (not at a label's ends; non-ASCII letters allowed for IDNs), a top-level label of
/// two or more characters that is not all digits; no whitespace; ≤ 254 characters overall.
pub fn is_valid_email(s: &str) -> bool {
    if s.chars().count() > EMAIL_MAX_LEN {
        return false;
    }
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    is_valid_local_part(local) && is_valid_domain(domain)
}

fn is_valid_local_part(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= EMAIL_LOCAL_MAX_LEN
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        })
}

fn is_valid_domain(domain: &str) -> bool {
    if domain.is_empty() || domain.chars().count() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.chars().count() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && tld.chars().count() >= 2
        && !tld.chars().all(|c| c.is_ascii_digit())
}

/// Phone check: optional leading `+`, then 4–32 characters of digits, spaces, `(`, `)`, `-`
/// with at least 4 digits; ≤ 32 characters overall.
pub fn is_valid_phone(s: &str) -> bool {
    let rest = s.strip_prefix('+').unwrap_or(s);
    let len = rest.chars().count();
    s.chars().count() <= PHONE_MAX_LEN
        && (4..=PHONE_MAX_LEN).contains(&len)
        && rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-'))
        && rest.chars().filter(char::is_ascii_digit).count() >= 4
}

fn email_field(v: &Value) -> Result<String, String> {
    let email = char_field(v, EMAIL_MAX_LEN)?;
    if is_valid_email(&email) {
        Ok(email)
    } else {
        Err(messages::INVALID_EMAIL.to_owned())
    }
}

fn country_field(v: &Value) -> Result<String, String> {
    let code = char_field(v, TEXT_MAX_LEN)?;
    if is_iso_country(&code) {
        Ok(code)
    } else {
        Err(messages::invalid_choice(&code))
    }
}

fn phone_field(v: &Value) -> Result<Option<String>, String> {
    match optional_char_field(v, PHONE_MAX_LEN)? {
        Some(p) if is_valid_phone(&p) => Ok(Some(p)),
        Some(_) => Err(messages::INVALID_PHONE.to_owned()),
        None => Ok(None),
    }
}

string_enum! {
    /// What a campaign does when a session's lead e-mail is already known.
    #[derive(Default)]
    pub enum DuplicatePolicy {
        /// Attach the session to the existing lead and fill its empty fields (default; direct
        /// mode always uses it).
        #[default]
        Reuse => "REUSE",
        /// Always create a new lead.
        Allow => "ALLOW",
        /// Refuse (409 `duplicate_lead`) when the existing lead has a completed order.
        Reject => "REJECT",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "first_name": "Max",
            "last_name": "Mustermann",
            "email": "Max.Mustermann@Example.DE",
            "country": "DE",
            "address": "Hauptstr. 1",
            "city": "Berlin",
            "postal_code": "10115",
            "phone": "+49 30 1234567",
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = valid();
        v[field] = value;
        v
    }

    fn without(field: &str) -> Value {
        let mut v = valid();
        v.as_object_mut().unwrap().remove(field);
        v
    }

    fn err_on(v: Value, field: &str) -> Vec<String> {
        let errors = NewLead::from_json(&v).expect_err("expected an error");
        errors
            .get(field)
            .unwrap_or_else(|| panic!("no error on {field}: {errors:?}"))
            .to_vec()
    }

    #[test]
    fn valid_lead_parses() {
        let lead = NewLead::from_json(&valid()).unwrap();
        assert_eq!(lead.first_name, "Max");
        assert_eq!(lead.email, "Max.Mustermann@Example.DE");
        assert_eq!(lead.normalized_email(), "max.mustermann@example.de");
        assert_eq!(lead.country, "DE");
        assert_eq!(lead.phone.as_deref(), Some("+49 30 1234567"));
        assert_eq!(lead.postal_code.as_deref(), Some("10115"));
    }

    #[test]
    fn minimal_lead_parses_and_ignores_unknown_fields() {
        let lead = NewLead::from_json(&json!({
            "first_name": "A", "last_name": "B", "email": "a@b.co", "country": "FR",
            "favourite_colour": "blue", "address": null, "city": "", "phone": "  "
        }))
        .unwrap();
        assert_eq!(lead.address, None);
        assert_eq!(lead.city, None);
        assert_eq!(lead.phone, None);
    }

    #[test]
    fn not_an_object() {
        let e = NewLead::from_json(&json!("lead")).unwrap_err();
        assert_eq!(
            e.get(NON_FIELD_ERRORS).unwrap(),
            ["Invalid data. Expected a dictionary, but got str."]
        );
    }

    #[test]
    fn required_fields() {
        for f in ["first_name", "last_name", "email", "country"] {
            assert_eq!(err_on(without(f), f), [messages::REQUIRED], "{f}");
            assert_eq!(err_on(with(f, json!(null)), f), [messages::NULL], "{f}");
            assert_eq!(err_on(with(f, json!("  ")), f), [messages::BLANK], "{f}");
            assert_eq!(
                err_on(with(f, json!(["x"])), f),
                [messages::NOT_A_STRING],
                "{f}"
            );
        }
    }

    #[test]
    fn collects_all_errors() {
        let e = NewLead::from_json(&json!({"email": "nope", "country": "de", "phone": "x"}))
            .unwrap_err();
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(e.contains("first_name") && e.contains("last_name"));
        assert_eq!(e.get("email").unwrap(), [messages::INVALID_EMAIL]);
        assert_eq!(e.get("country").unwrap(), ["\"de\" is not a valid choice."]);
        assert_eq!(e.get("phone").unwrap(), [messages::INVALID_PHONE]);
    }

    #[test]
    fn name_length_boundary() {
        assert!(NewLead::from_json(&with("first_name", json!("a".repeat(255)))).is_ok());
        assert_eq!(
            err_on(with("first_name", json!("a".repeat(256))), "first_name"),
            ["Ensure this field has no more than 255 characters."]
        );
        assert_eq!(
            err_on(with("last_name", json!("ü".repeat(256))), "last_name"),
            ["Ensure this field has no more than 255 characters."]
        );
    }

    #[test]
    fn optional_text_length_boundary() {
        for f in ["address", "city", "postal_code"] {
            assert!(NewLead::from_json(&with(f, json!("a".repeat(255)))).is_ok());
            assert_eq!(
                err_on(with(f, json!("a".repeat(256))), f),
                ["Ensure this field has no more than 255 characters."]
            );
            assert_eq!(err_on(with(f, json!(true)), f), [messages::NOT_A_STRING]);
        }
    }

    #[test]
    fn country_rules() {
        assert!(NewLead::from_json(&with("country", json!("AT"))).is_ok());
        for bad in ["de", "De", "DEU", "XX", "EU", "D"] {
            assert_eq!(
                err_on(with("country", json!(bad)), "country"),
                [format!("\"{bad}\" is not a valid choice.")]
            );
        }
    }

    #[test]
    fn email_rules() {
        for good in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "o'brien@example.ie",
            "x_y-z@ex-ample.org",
            "user@münchen.de",
            "UPPER@EXAMPLE.COM",
        ] {
            assert!(is_valid_email(good), "{good}");
            assert!(
                NewLead::from_json(&with("email", json!(good))).is_ok(),
                "{good}"
            );
        }
        for bad in [
            "plain",
            "@example.com",
            "user@",
            "user@localhost",
            "user@@example.com",
            "us er@example.com",
            "user@exa mple.com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "user@.example.com",
            "user@example..com",
            "user@example.com.",
            "user@-example.com",
            "user@example-.com",
            "user@example.c",
            "user@1.2.3.4",
            "a@b@example.com",
            "user@exa_mple.com",
            "\"quoted\"@example.com",
            "user@example.com\n",
        ] {
            assert!(!is_valid_email(bad), "{bad:?}");
        }
        assert_eq!(
            err_on(with("email", json!("plain")), "email"),
            [messages::INVALID_EMAIL]
        );
    }

    #[test]
    fn email_length_boundaries() {
        let local64 = "a".repeat(64);
        assert!(is_valid_email(&format!("{local64}@example.com")));
        assert!(!is_valid_email(&format!("a{local64}@example.com")));
        // 254 total is fine, 255 is not
        let domain = format!(
            "{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(57)
        );
        let email = format!("{local64}@{domain}");
        assert_eq!(email.len(), 254);
        assert!(is_valid_email(&email));
        assert!(NewLead::from_json(&with("email", json!(email))).is_ok());
        let email255 = format!("{local64}@e{domain}");
        assert_eq!(
            err_on(with("email", json!(email255)), "email"),
            ["Ensure this field has no more than 254 characters."]
        );
    }

    #[test]
    fn email_stored_as_given_but_trimmed() {
        let lead = NewLead::from_json(&with("email", json!("  Foo@Example.com "))).unwrap();
        assert_eq!(lead.email, "Foo@Example.com");
        assert_eq!(lead.normalized_email(), "foo@example.com");
        assert_eq!(normalize_email(" ÄB@X.DE"), "äb@x.de");
    }

    #[test]
    fn phone_rules() {
        for good in [
            "+4930123456",
            "030 123456",
            "(030) 123-456",
            "1234",
            "+1 (555) 010-9999",
        ] {
            assert!(is_valid_phone(good), "{good}");
        }
        for bad in [
            "123",
            "+123",
            "----",
            "+49 30 abc",
            "++4930123",
            "49+30123",
            "+",
        ] {
            assert!(!is_valid_phone(bad), "{bad}");
        }
        assert!(is_valid_phone(&"1".repeat(32)));
        assert!(!is_valid_phone(&"1".repeat(33)));
        assert!(!is_valid_phone(&format!("+{}", "1".repeat(32))));
        assert_eq!(
            err_on(with("phone", json!("1".repeat(33))), "phone"),
            ["Ensure this field has no more than 32 characters."]
        );
        assert_eq!(
            err_on(with("phone", json!("call me")), "phone"),
            [messages::INVALID_PHONE]
        );
        // numbers are accepted as their text (DRF CharField)
        let lead = NewLead::from_json(&with("phone", json!(4930123456_u64))).unwrap();
        assert_eq!(lead.phone.as_deref(), Some("4930123456"));
    }

    #[test]
    fn fill_empty_from_only_fills_none() {
        let mut a = NewLead::from_json(&json!({
            "first_name": "A", "last_name": "B", "email": "a@b.co", "country": "FR", "city": "Paris"
        }))
        .unwrap();
        let b = NewLead::from_json(&valid()).unwrap();
        assert!(a.fill_empty_from(&b));
        assert_eq!(a.city.as_deref(), Some("Paris"));
        assert_eq!(a.address.as_deref(), Some("Hauptstr. 1"));
        assert_eq!(a.first_name, "A");
        assert!(!a.fill_empty_from(&b));
    }

    #[test]
    fn duplicate_policy_strings() {
        assert_eq!(DuplicatePolicy::default(), DuplicatePolicy::Reuse);
        assert_eq!(DuplicatePolicy::Reuse.as_str(), "REUSE");
        assert_eq!(
            "ALLOW".parse::<DuplicatePolicy>(),
            Ok(DuplicatePolicy::Allow)
        );
        assert_eq!(
            "REJECT".parse::<DuplicatePolicy>(),
            Ok(DuplicatePolicy::Reject)
        );
        assert!("reject".parse::<DuplicatePolicy>().is_err());
        assert_eq!(
            serde_json::to_value(DuplicatePolicy::Allow).unwrap(),
            json!("ALLOW")
        );
        assert_eq!(
            serde_json::from_value::<DuplicatePolicy>(json!("REJECT")).unwrap(),
            DuplicatePolicy::Reject
        );
    }
}
