//! # facekiosk-kiosk — what a kiosk does, without a window
//!
//! Shared by the `facekiosk` command and the kiosk app (`src-tauri`), so that both read the
//! same `facekiosk.toml` ([`config`]), keep their state in the same places ([`store`]: the
//! kiosk's identity, its registration with the verification API, its outbox), and run a
//! customer's visit the same way ([`visit`]: a session claimed from the API, run on the
//! camera, its result queued before the outcome is shown).
//!
//! ```no_run
//! # fn main() -> Result<(), facekiosk_kiosk::KioskError> {
//! let config = facekiosk_kiosk::config::KioskConfig::default();
//! let store = facekiosk_kiosk::store::KioskStore::new(&config)?;
//! println!("registered: {}", store.registration()?.is_some());
//! # Ok(()) }
//! ```
//!
//! **Never:** shows anything (no terminal output, no window), or holds face or session logic
//! of its own: it wires the crates below it.

pub mod config;
mod error;
pub mod panel;
pub mod scan;
pub mod staff;
pub mod store;
pub mod texts;
pub mod theme;
pub mod visit;
pub mod walkin;

pub use error::KioskError;
