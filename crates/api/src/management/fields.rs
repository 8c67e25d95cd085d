//! Reading management request bodies: strict field sets, create vs. partial update.

use catalyst_domain::validation::{self, ValidationErrors, messages};
use serde_json::{Map, Value};

use crate::body::object;
use crate::error::ApiError;

/// Collects every field error of one request body. Unknown fields are errors (API.md §9).
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    creating: bool,
    /// Errors so far, by field name.
    pub errors: ValidationErrors,
}

impl<'a> Fields<'a> {
    /// Starts reading `body`; `creating` makes required fields required (PATCH: all optional).
    pub fn new(body: &'a Value, allowed: &[&str], creating: bool) -> Result<Self, ApiError> {
        Ok(Self::over(object(body)?, allowed, creating))
    }

    fn over(obj: &'a Map<String, Value>, allowed: &[&str], creating: bool) -> Self {
        let mut errors = ValidationErrors::new();
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.add(key.clone(), "Unknown field.");
            }
        }
        Self {
            obj,
            creating,
            errors,
        }
    }

    /// True when reading a create (`POST`) body, false for a partial update (`PATCH`).
    pub fn creating(&self) -> bool {
        self.creating
    }

    /// Reads the nested object `key` with its own field set; errors inside it are reported as
    /// `key.field`. Absent → `None` (an error on create when `required`); `null` or not an
    /// object → an error on `key`.
    pub fn nested<T>(
        &mut self,
        key: &str,
        allowed: &[&str],
        required: bool,
        read: impl FnOnce(&mut Fields<'a>) -> T,
    ) -> Option<T> {
        let obj = match self.obj.get(key) {
            None => {
                if required && self.creating {
                    self.errors.add(key, messages::REQUIRED);
                }
                return None;
            }
            Some(Value::Null) => {
                self.errors.add(key, messages::NULL);
                return None;
            }
            Some(v) => match v.as_object() {
                Some(obj) => obj,
                None => {
                    self.errors.add(key, messages::expected_object(v));
                    return None;
                }
            },
        };
        let mut inner = Fields::over(obj, allowed, self.creating);
        let out = read(&mut inner);
        self.errors.merge_prefixed(key, inner.errors);
        Some(out)
    }

    /// A required, non-null field: must be present on create, may be omitted on update.
    pub fn required<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.creating {
            validation::required(self.obj, key, &mut self.errors, parse)
        } else {
            self.set(key, parse)
        }
    }

    /// A non-null field with a default: absent → `None` (keep the current value).
    pub fn set<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.obj.get(key) {
            None => None,
            Some(Value::Null) => {
                self.errors.add(key, messages::NULL);
                None
            }
            Some(v) => parse(v).map_err(|m| self.errors.add(key, m)).ok(),
        }
    }

    /// A nullable field: absent → `None` (keep), `null` → `Some(None)` (clear), value → `Some(Some(v))`.
    pub fn nullable<T>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.obj.get(key) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(v) => parse(v).map_err(|m| self.errors.add(key, m)).ok().map(Some),
        }
    }

    /// True when the body has `key`, whatever its value (`null` included).
    pub fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    /// The raw value of `key`, if present and not null.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        validation::present(self.obj, key)
    }

    /// Records an error under `key`.
    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.add(key, message);
    }

    /// `Ok` when no field had an error, else the 400.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A trimmed string of at most `max` characters, not blank.
pub fn text(max: usize) -> impl FnOnce(&Value) -> Result<String, String> {
    move |v| validation::char_field(v, max)
}

/// A boolean.
pub fn boolean(v: &Value) -> Result<bool, String> {
    validation::bool_field(v)
}

/// Longest URL accepted in a management field.
pub const URL_MAX_LEN: usize = 2048;

/// An absolute `http`/`https` URL of at most [`URL_MAX_LEN`] characters.
pub fn url(v: &Value) -> Result<String, String> {
    validation::url_field(v, URL_MAX_LEN)
}

/// An integer in `min..=max`.
pub fn int(min: i64, max: i64) -> impl FnOnce(&Value) -> Result<i64, String> {
    move |v| validation::int_field(v, min, max)
}

/// One of the API strings of `T` (a domain enum).
pub fn choice<T: std::str::FromStr>(v: &Value) -> Result<T, String> {
    validation::choice_field(v)
}

/// One of `choices`, exactly.
pub fn one_of(choices: &'static [&'static str]) -> impl FnOnce(&Value) -> Result<String, String> {
    move |v| match v.as_str() {
        Some(s) if choices.contains(&s) => Ok(s.to_owned()),
        Some(s) => Err(messages::invalid_choice(s)),
        None => Err(messages::invalid_choice(&v.to_string())),
    }
}

/// A UUID, returned in the canonical lower-case hyphenated form the store uses.
pub fn uuid(v: &Value) -> Result<String, String> {
    validation::uuid_field::<::uuid::Uuid>(v).map(|id| id.to_string())
}
