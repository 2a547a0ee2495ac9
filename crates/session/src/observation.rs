//! What the session needs to know about one camera frame: a digest of the face engine's
//! analysis. Tests build these directly (scripted landmark tracks, chosen embeddings).

use std::sync::Arc;

use facekiosk_face::embed::Embedding;
use facekiosk_face::engine::FrameAnalysis;
use facekiosk_face::geometry::{BoundingBox, Point};
use facekiosk_face::liveness::{LivenessSignals, PassiveScore, parallax_points};
use facekiosk_face::quality::{QualityMetrics, QualityReport};
use image::RgbImage;

/// One frame, as the session sees it.
#[derive(Clone, Debug, Default)]
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

/// The main face of a frame.
#[derive(Clone, Debug, Default)]
pub struct FaceObservation {
    /// Its box, px.
    pub bbox: BoundingBox,
    /// Eye openness, mouth, head pose (from the dense landmarks).
    pub signals: Option<LivenessSignals>,
    /// The parallax landmark subset and the outer-eye distance (for the 3-D check).
    pub parallax: Option<(Vec<Point>, f32)>,
    /// The passive liveness score, when a model is installed.
    pub passive: Option<PassiveScore>,
    /// The embedding (good frames only).
    pub embedding: Option<Embedding>,
}

impl FrameObservation {
    /// The digest of an analysis; `image` is kept only when an audit image is wanted.
    pub fn from_analysis(a: FrameAnalysis, image: Option<Arc<RgbImage>>) -> Self {
        let face = a.face.map(|f| FaceObservation {
            bbox: f.detection.bbox,
            signals: f.signals,
            parallax: f.landmarks.as_ref().map(parallax_points),
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
