//! Payment sessions: create, retrieve, cancel (API.md §3.1, §3.2, §3.7).
