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
        let obj = object(body)?;
        let mut errors = ValidationErrors::new();
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                errors.add(key.clone(), "Unknown field.");
            }
        }
        Ok(Self {
            obj,
            creating,
            errors,
        })
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
