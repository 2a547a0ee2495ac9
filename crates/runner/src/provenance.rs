//! What the result says about where a session ran: the source, the models, the calibration.

use facekiosk_capture::{CaptureError, SourceInfo, SourceKind};
use facekiosk_face::engine::FaceEngine;
use facekiosk_session::claims::{CalibrationClaim, CaptureClaim, CaptureSource, ModelsClaim};
use facekiosk_session::{ErrorCode, OperationError, Provenance};

/// The provenance of a session on `source` with `engine`.
pub fn provenance(
    engine: &FaceEngine,
    source: &SourceInfo,
    allow_virtual_camera: bool,
) -> Provenance {
    let (calibration, _) = engine.calibration();
    Provenance {
        capture: CaptureClaim {
            source: match source.kind {
                SourceKind::Camera => CaptureSource::Camera,
                SourceKind::Video => CaptureSource::File,
                SourceKind::Folder => CaptureSource::Folder,
            },
            device: source.name.clone(),
            r#virtual: source.is_virtual,
        },
        allow_virtual_camera,
        models: ModelsClaim {
            sha256: engine
                .models()
                .into_iter()
                .map(|m| (m.role.key().to_owned(), m.sha256))
                .collect(),
            replaced: engine
                .replaced_roles()
                .iter()
                .map(|r| r.key().to_owned())
                .collect(),
        },
        calibration: CalibrationClaim {
            sha256: calibration.file_sha256.clone(),
            set: calibration.set.name.clone(),
            images: calibration.set.images,
            identities: calibration.set.identities,
        },
    }
}

/// Maps a source error to the session's error.
pub fn media_error(e: &CaptureError) -> OperationError {
    let code = match e {
        CaptureError::NotFound(_) | CaptureError::Disconnected(_) => ErrorCode::MediaNotFoundError,
        CaptureError::NotAllowed(_) => ErrorCode::MediaNotAllowedError,
        CaptureError::VirtualCamera(_) => ErrorCode::MediaVirtualCameraDetected,
        CaptureError::Invalid(_) | CaptureError::Io { .. } | CaptureError::CorruptFrame { .. } => {
            ErrorCode::InvalidConfig
        }
    };
    OperationError::new(code, e.to_string())
}
