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
pub mod stat;
pub mod sync;
pub mod verify;

use facekiosk_face::engine::FaceEngine;
use facekiosk_face::quality::QualityReport;

use crate::config::KioskConfig;

/// Loads the face engine as configured. A passive-liveness model an operator installed with
/// `facekiosk models install` (in the default models directory) is used without further
/// configuration; replacing a shipped model needs `face.models_dir` (or `--models`).
pub fn engine(config: &KioskConfig) -> anyhow::Result<FaceEngine> {
    let mut face = config.face.clone();
    if let Ok(installed) = models::install_dir(config)
        && face.models_dir.as_deref() != Some(installed.as_path())
        && installed
            .join(facekiosk_face::manifest::MANIFEST_FILE)
            .is_file()
    {
        face.drop_in_models_dir = Some(installed);
    }
    Ok(FaceEngine::load(&config.runtime, &face)?)
}

/// The unix time now, ms (the edge of the program: the session itself never reads a clock).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

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
