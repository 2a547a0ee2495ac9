//! One module per command.

pub mod bench;
pub mod bench_session;
pub mod calibrate;
pub mod demo;
pub mod detect;
pub mod eval;
pub mod keys;
pub mod models;
pub mod runtime;
pub mod session;
pub mod verify;

use facekiosk_face::engine::FaceEngine;
use facekiosk_face::quality::QualityReport;

use crate::config::KioskConfig;

/// Loads the face engine as configured. Models an operator installed with `facekiosk models
/// install` (in the default models directory) are used without further configuration.
pub fn engine(config: &KioskConfig) -> anyhow::Result<FaceEngine> {
    let mut face = config.face.clone();
    if face.models_dir.is_none()
        && let Ok(installed) = models::install_dir(config)
        && installed
            .join(facekiosk_face::manifest::MANIFEST_FILE)
            .is_file()
    {
        face.models_dir = Some(installed);
    }
    Ok(FaceEngine::load(&config.runtime, &face)?)
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
