//! The error of the bank-file layer (pain.008 writer, EPC rules, pain.002 and camt.054 readers).

use crate::epc::EpcViolation;

/// Why a bank file could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The batch breaks EPC rules the ISO schema cannot express; every violation is listed.
    #[error("the batch breaks {} EPC rule(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Epc(Vec<EpcViolation>),
    /// The batch has no collections.
    #[error("the batch has no collections")]
    Empty,
    /// The input is larger than the reader accepts.
    #[error("the file is {size} bytes, more than the {limit} bytes accepted")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The input is not well-formed or hostile XML, or not the expected message.
    #[error("line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column (in bytes) of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Writing the XML failed (an I/O error of the in-memory writer).
    #[error("writing the XML failed: {0}")]
    Write(String),
}
