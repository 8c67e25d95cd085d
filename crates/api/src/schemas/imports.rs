//! CSV imports (API.md §12).
