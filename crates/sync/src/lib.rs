//! # facekiosk-sync — the offline queue and the API client
//!
//! An SQLite outbox of signed results and trace events, written in the same transaction and
//! drained to the verification API when the network allows, so a branch with a flaky network
//! never loses a verification.
//!
//! **Never:** this crate never drops or rewrites a queued result before the API has
//! acknowledged it, never decides a verification, and never logs a result's payload, an
//! image or a client secret.
