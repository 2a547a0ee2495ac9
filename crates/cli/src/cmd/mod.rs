//! One module per command.

pub mod bench;
pub mod bench_api;
pub mod bench_queue;
pub mod bench_session;
pub mod calibrate;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod eval_liveness;
pub mod keys;
pub mod models;
pub mod runtime;
pub mod serve;
pub mod session;
pub mod staff;
pub mod stat;
pub mod sync;
pub mod verify;

use facekiosk_face::engine::FaceEngine;
use facekiosk_face::quality::QualityReport;

use crate::config::KioskConfig;

/// Loads the face engine as configured (`facekiosk_kiosk::store::load_engine`).
pub fn engine(config: &KioskConfig) -> anyhow::Result<FaceEngine> {
    let store = facekiosk_kiosk::store::KioskStore::new(config)?;
    Ok(facekiosk_kiosk::store::load_engine(config, &store)?)
}

/// The unix time now, ms (the edge of the program: the session itself never reads a clock).
pub use facekiosk_kiosk::store::unix_ms;

/// "good" or the issue codes.
pub fn quality_text(q: &QualityReport) -> String {
    if q.is_good() {
        "good".to_owned()
    } else {
        q.issues
            .iter()
            .map(|i| i.code())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
