//! What the session needs to know about one camera frame: a digest of the face engine's
//! analysis. Tests build these directly (scripted landmark tracks, chosen embeddings).

use std::sync::Arc;

use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::{EmbedWhen, FrameAnalysis};
use facekiosk_face::geometry::BoundingBox;
use facekiosk_face::liveness::{HeadPoints, LivenessSignals, PassiveScore};
use facekiosk_face::quality::{QualityMetrics, QualityReport};
use image::RgbImage;

/// One frame, as the session sees it.
#[derive(Clone, Default)]
pub struct FrameObservation {
    /// Frame width, px.
    pub width: u32,
    /// Frame height, px.
    pub height: u32,
    /// Faces found.
    pub faces: usize,
    /// The quality verdict of the main face.
    pub quality: QualityReport,
    /// The main face.
    pub face: Option<FaceObservation>,
    /// The frame itself, only when the session keeps an audit image.
    pub image: Option<Arc<RgbImage>>,
}

impl std::fmt::Debug for FrameObservation {
    // Never the pixels: a frame is biometric data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameObservation")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("faces", &self.faces)
            .field("quality", &self.quality)
            .field("face", &self.face)
            .field("image", &self.image.as_ref().map(|_| "<frame kept>"))
            .finish()
    }
}

/// The main face of a frame.
#[derive(Clone, Debug, Default)]
pub struct FaceObservation {
    /// Its box, px.
    pub bbox: BoundingBox,
    /// Eye openness, mouth, head pose (from the dense landmarks).
    pub signals: Option<LivenessSignals>,
    /// The landmarks the 3-D check uses, with the landmark model's presence score.
    pub head: Option<HeadPoints>,
    /// The passive liveness score, when a model is installed.
    pub passive: Option<PassiveScore>,
    /// The embedding (its `Debug` shows no values).
    pub embedding: Option<Embedding>,
}

impl FrameObservation {
    /// The digest of an analysis; `image` is kept only when an audit image is wanted.
    pub fn from_analysis(a: FrameAnalysis, image: Option<Arc<RgbImage>>) -> Self {
        let face = a.face.map(|f| FaceObservation {
            bbox: f.detection.bbox,
            signals: f.signals,
            head: f.landmarks.as_ref().map(HeadPoints::from_landmarks),
            passive: f.passive,
            embedding: f.embedding,
        });
        Self {
            width: a.width,
            height: a.height,
            faces: a.faces.len(),
            quality: a.quality,
            face,
            image,
        }
    }

    /// The quality measurements, when a face was found.
    pub fn metrics(&self) -> Option<&QualityMetrics> {
        self.quality.metrics.as_ref()
    }
}

/// What the session needs computed for the next frame (the caller maps it onto the face
/// engine's analysis options, so no work is done that the session would not use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameNeeds {
    /// Dense landmarks (liveness signals, precise pose, the 3-D check).
    pub landmarks: bool,
    /// When to embed the main face.
    pub embed: EmbedWhen,
    /// Run the passive liveness model.
    pub passive: bool,
}
