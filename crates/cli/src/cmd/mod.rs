//! One module per command.

pub mod calibrate;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod runtime;
pub mod verify;

use facekiosk_face::engine::FaceEngine;
use facekiosk_face::quality::QualityReport;

use crate::config::KioskConfig;

/// Loads the face engine as configured.
pub fn engine(config: &KioskConfig) -> anyhow::Result<FaceEngine> {
    Ok(FaceEngine::load(&config.runtime, &config.face)?)
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
