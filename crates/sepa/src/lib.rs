//! IBAN, BIC and SEPA creditor identifier validation with a compiled-in bank registry, and the
//! SEPA reason-code table, for Catalyst's SEPA Direct Debit platform; and the ISO 20022 bank
//! files of SEPA Direct Debit: the [`pain008`] collection-file writer with the [`epc`] rules and
//! the [`calendar`] of TARGET2 business days, and the [`pain002`] status-report and [`camt054`]
//! debit-notification readers.
//!
//! ```
//! use catalyst_sepa::{Bic, CreditorId, decline_code_for_reason, validate};
//!
//! let iban = validate("de89 3704 0044 0532 0130 00").expect("valid IBAN");
//! assert_eq!(iban.as_str(), "DE89370400440532013000");
//! assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
//! assert_eq!(iban.bank_name(), Some("Commerzbank"));
//! assert_eq!(iban.bic(), Some("COBADEFFXXX"));
//! assert!(iban.is_sepa());
//! assert_eq!(iban.mask_full(), "******************3000");
//!
//! // The error's Display is a sentence for the customer.
//! let err = validate("DE89 3704 0044 0532 0130 01").unwrap_err();
//! assert_eq!(err.to_string(), "The IBAN check digits are wrong.");
//!
//! assert!(Bic::parse("COBADEFFXXX").is_ok());
//! assert!(CreditorId::parse("DE98ZZZ09999999999").is_ok());
//! assert_eq!(decline_code_for_reason("AM04").as_str(), "insufficient_funds");
//! ```
//!
//! Validity follows the reference implementation (the `schwifty` Python package, 2026.10.1)
//! on every row of its test corpus; see the crate README for the data sources.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bic;
pub mod calendar;
pub mod camt054;
mod checksum;
pub mod country;
pub mod creditor_id;
pub mod epc;
mod file_error;
pub mod iban;
mod national;
pub mod pain002;
pub mod pain008;
pub mod reasons;
pub mod registry;
pub mod report;
mod xml_read;

pub use bic::{Bic, BicError};
pub use country::{Country, CountryCode};
pub use creditor_id::{CreditorId, CreditorIdError};
pub use file_error::FileError;
pub use iban::{IbanError, ValidIban, normalize, validate};
pub use reasons::{DeclineCode, ReasonCode, decline_code_for_reason};
pub use registry::Bank;

/// Runs the README's example as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
