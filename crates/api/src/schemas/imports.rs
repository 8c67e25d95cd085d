//! CSV imports (API.md §12).

use serde::Serialize;
use utoipa::ToSchema;

use super::ErrorBody;

/// What an import holds (the `{kind}` of the path).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Leads,
    Orders,
    Transactions,
    Chargebacks,
}

/// A `multipart/form-data` upload: the CSV in the field `file`; other fields are ignored.
#[derive(Serialize, ToSchema)]
pub struct ImportUpload {
    /// The CSV file (UTF-8, a header row; at most 64 MiB).
    #[schema(value_type = String, format = Binary, content_media_type = "text/csv")]
    pub file: Vec<u8>,
}

/// One bad row, or the file itself (`row` 0).
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRowError {
    /// Data rows count from 1; 0 is the header (or the file).
    pub row: u64,
    /// The file line.
    pub line: u64,
    /// The column named; empty when the file could not be split into columns.
    pub column: String,
    pub message: String,
}

/// The `201` answer: what was stored and, for a partial import, the bad rows.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// Always `import`.
    #[schema(pattern = "^import$")]
    pub object: String,
    pub kind: ImportKind,
    /// Data rows read.
    pub rows: u64,
    pub imported: u64,
    /// Bad rows, all counted.
    pub failed: u64,
    /// The first 100 bad rows.
    pub errors: Vec<ImportRowError>,
}

/// Why an import stored nothing.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportErrorCode {
    /// Rows are bad and `partial` is not set.
    ImportInvalid,
    /// The file cannot be read as this kind (header, quoting, encoding).
    MalformedCsv,
}

/// A `400` of an import whose file was read: nothing was stored.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRejection {
    pub detail: String,
    pub code: ImportErrorCode,
    /// `import_invalid` only: data rows read.
    pub rows: Option<u64>,
    /// `import_invalid` only: bad rows, all counted.
    pub failed: Option<u64>,
    /// The first 100 bad rows (`malformed_csv`: the one error that stopped the reading).
    pub errors: Vec<ImportRowError>,
}

/// The `400` of `POST /imports/{kind}/`: a rejected file, or a request error
/// (`validation_error` on `file` or `webhook_profile_id`, `malformed_json`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ImportBadRequest {
    Rejection(ImportRejection),
    Error(ErrorBody),
}
