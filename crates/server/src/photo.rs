//! The ID-photo check: exactly one usable face, with the quality gates a kiosk applies to a
//! reference (the same code: `facekiosk_session::Reference::from_photo`).

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::FaceEngine;
use facekiosk_session::claims::ReferenceSource;
use facekiosk_session::reference::Reference;

/// Why a photo was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhotoRejection {
    /// Not a usable reference (422 `INVALID_REFERENCE_IMAGE`), with the reason.
    Unusable(String),
    /// The engine failed (500).
    Engine(String),
}

/// Checks an ID photo.
pub trait PhotoCheck: Send + Sync {
    /// `Ok` when the photo holds exactly one face good enough to match against.
    fn check(&self, bytes: &[u8]) -> Result<(), PhotoRejection>;
}

/// The face engine's check.
pub struct EnginePhotoCheck {
    engine: FaceEngine,
    limits: DecodeLimits,
}

impl EnginePhotoCheck {
    /// A check with this engine and decoding limits.
    pub fn new(engine: FaceEngine, limits: DecodeLimits) -> Self {
        Self { engine, limits }
    }
}

impl PhotoCheck for EnginePhotoCheck {
    fn check(&self, bytes: &[u8]) -> Result<(), PhotoRejection> {
        let img = decode(bytes, self.limits)
            .map_err(|e| PhotoRejection::Unusable(format!("the ID photo cannot be read: {e}")))?;
        let analysis = self
            .engine
            .analyze(&img, &self.engine.photo_options())
            .map_err(|e| PhotoRejection::Engine(e.to_string()))?;
        Reference::from_photo(&analysis, String::new(), ReferenceSource::Api)
            .map(|_| ())
            .map_err(|e| {
                PhotoRejection::Unusable(
                    e.message
                        .unwrap_or_else(|| "the ID photo is not usable".to_owned())
                        .replace("reference photo", "ID photo"),
                )
            })
    }
}

/// The image type from its first bytes (`image/jpeg`, `image/png`, `image/webp`, `image/bmp`).
pub fn sniff_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    }
}
