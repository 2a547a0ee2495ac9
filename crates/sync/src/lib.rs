//! # facekiosk-sync — no verification is ever lost
//!
//! The kiosk's **outbox** ([`Outbox`]): a SQLite file (WAL, `synchronous = FULL`, versioned
//! migrations) where every finished session's signed result and its trace events are written
//! in one transaction before the outcome is shown. Payloads are sealed at rest (a result may
//! carry the audit image) with a key from the kiosk's key store, and emptied as soon as the
//! API acknowledges them. Entries go pending → in flight → acknowledged (then purged) or dead
//! (a permanent refusal, with the server's reason, for staff); nothing is dropped silently.
//! [`backoff`] is the retry schedule the sync worker follows.
//!
//! **Never:** drops a result before the API acknowledged it; overwrites or recreates an outbox
//! file it cannot read; writes a payload unsealed.

pub mod backoff;
pub mod client;
mod outbox;
pub mod worker;

pub use client::{ApiClient, Claim, ClientError, Delivery};
pub use outbox::{
    DueEntry, EntryInfo, EntryKind, EntryState, NewResult, Outbox, OutboxError, QueueStatus,
    SEAL_KEY_FILE,
};
pub use worker::{
    DrainReport, KeyPublisher, SyncConfig, SystemEnv, WatchEvent, WorkerEnv, apply_retention,
    drain_once, watch,
};
