//! A capture: the good frames collected while the person holds still, and the embedding they
//! give together (quality-aware matching: the best few frames fused, never a frame whose
//! quality gates failed).

use std::sync::Arc;

use facekiosk_face::embed::Embedding;
use facekiosk_face::geometry::BoundingBox;
use facekiosk_face::liveness::{LivenessSignals, PassiveScore};
use facekiosk_face::quality::QualityMetrics;
use image::RgbImage;

use crate::observation::FrameObservation;

/// A frame that passed every quality gate, with what the session keeps of it.
#[derive(Clone)]
pub struct Candidate {
    /// Its embedding.
    pub embedding: Embedding,
    /// Sharp and frontal first: sharpness (saturating) times the cosine of the pose.
    pub rank: f32,
    /// Its quality measurements.
    pub metrics: Option<QualityMetrics>,
    /// The face box.
    pub bbox: BoundingBox,
    /// Liveness signals (the person's neutral eyes, mouth and pose).
    pub signals: Option<LivenessSignals>,
    /// Passive liveness.
    pub passive: Option<PassiveScore>,
    /// The frame, when an audit image is wanted.
    pub image: Option<Arc<RgbImage>>,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("rank", &self.rank)
            .field("bbox", &self.bbox)
            .field("image", &self.image.as_ref().map(|_| "<frame kept>"))
            .finish_non_exhaustive()
    }
}

impl Candidate {
    /// The candidate of a frame: only a frame whose quality gates all passed, with an embedding.
    pub fn of(obs: &FrameObservation) -> Option<Candidate> {
        if !obs.quality.is_good() {
            return None;
        }
        let face = obs.face.as_ref()?;
        let embedding = face.embedding.clone()?;
        let metrics = obs.quality.metrics;
        let rank = metrics.map_or(0.0, |m| {
            let sharp = (m.sharpness / 200.0).min(1.0);
            let frontal = m.pose.yaw.to_radians().cos() * m.pose.pitch.to_radians().cos();
            sharp * frontal
        });
        Some(Candidate {
            embedding,
            rank,
            metrics,
            bbox: face.bbox,
            signals: face.signals,
            passive: face.passive,
            image: obs.image.clone(),
        })
    }
}

/// The good frames of one capture.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    frames: Vec<Candidate>,
}

/// Frames a capture keeps at most (the best by rank).
const MAX_FRAMES: usize = 16;

impl Capture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a good frame.
    pub fn push(&mut self, c: Candidate) {
        self.frames.push(c);
        if self.frames.len() > MAX_FRAMES {
            // Drop the worst; keep the image of the best only.
            if let Some(worst) = self
                .frames
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.rank.total_cmp(&b.1.rank))
                .map(|(i, _)| i)
            {
                self.frames.swap_remove(worst);
            }
        }
    }

    /// Frames collected.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// True when no frame was collected.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The first frame (where the capture started).
    pub fn first(&self) -> Option<&Candidate> {
        self.frames.first()
    }

    /// Every frame.
    pub fn frames(&self) -> &[Candidate] {
        &self.frames
    }

    /// The best frame (audit image, quality report).
    pub fn best(&self) -> Option<&Candidate> {
        self.frames.iter().max_by(|a, b| a.rank.total_cmp(&b.rank))
    }

    /// The embedding of the `k` best frames fused (their mean, normalised), and how many were
    /// fused. Averaging the best few frames steadies the match against one frame's blur or
    /// expression.
    pub fn fused(&self, k: usize) -> Option<(Embedding, usize)> {
        let mut order: Vec<&Candidate> = self.frames.iter().collect();
        order.sort_by(|a, b| b.rank.total_cmp(&a.rank));
        order.truncate(k.max(1));
        let dims = order.first()?.embedding.dims();
        let mut sum = vec![0.0f32; dims];
        for c in &order {
            if c.embedding.dims() != dims {
                return None;
            }
            for (s, v) in sum.iter_mut().zip(c.embedding.as_slice()) {
                *s += v;
            }
        }
        Embedding::from_raw(sum).map(|e| (e, order.len()))
    }

    /// Median of a liveness signal over the capture's frames (the person's neutral value).
    pub fn median_signal(&self, f: impl Fn(&LivenessSignals) -> f32) -> Option<f32> {
        let mut v: Vec<f32> = self
            .frames
            .iter()
            .filter_map(|c| c.signals.as_ref().map(&f))
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f32::total_cmp);
        Some(v[v.len() / 2])
    }
}
