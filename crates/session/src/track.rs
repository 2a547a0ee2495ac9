//! The chain of frames from the first capture to the last: every frame must show the same face
//! as the frame before it, moving as a head moves, with no gap in time.
//!
//! This is what ties the face that did the challenges to the face that was matched: a face
//! swapped in (another person, a photo put in front of the camera) breaks the chain.

use facekiosk_face::embed::Embedding;
use facekiosk_face::geometry::BoundingBox;

use crate::failure::LivenessFailure;
use crate::observation::FrameObservation;

/// Largest move of the face centre between two frames, in face widths.
const MAX_STEP: f32 = 0.5;
/// Largest change of the face's size between two frames (ratio).
const MAX_SIZE_RATIO: f32 = 1.5;
/// Yaw noise of the landmark model between two frames of a still head, degrees.
const YAW_NOISE: f32 = 4.0;

#[derive(Clone, Debug)]
struct Point {
    at: u64,
    bbox: BoundingBox,
    embedding: Embedding,
    yaw: Option<f32>,
}

/// The settings of the chain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackLimits {
    /// Two consecutive frames of one person score at least this (cosine).
    pub chain_threshold: f32,
    /// Every frame scores at least this against the first capture (cosine).
    pub anchor_threshold: f32,
    /// Longest time between two frames, ms.
    pub max_gap_ms: u64,
    /// Fastest head turn, degrees per second.
    pub max_yaw_speed: f32,
}

/// The chain of frames of one attempt.
#[derive(Clone, Debug)]
pub struct FaceTrack {
    limits: TrackLimits,
    anchor: Embedding,
    last: Point,
    frames: usize,
}

impl FaceTrack {
    /// A chain starting at the last frame of the first capture, anchored on that capture's
    /// fused embedding.
    pub fn start(
        limits: TrackLimits,
        anchor: Embedding,
        at: u64,
        bbox: BoundingBox,
        embedding: Embedding,
        yaw: Option<f32>,
    ) -> Self {
        Self {
            limits,
            anchor,
            last: Point {
                at,
                bbox,
                embedding,
                yaw,
            },
            frames: 1,
        }
    }

    /// Frames chained so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Time of the last frame chained, unix ms.
    pub fn last_at(&self) -> u64 {
        self.last.at
    }

    /// Adds a frame to the chain, or says why it breaks it.
    pub fn step(&mut self, now: u64, obs: &FrameObservation) -> Result<(), LivenessFailure> {
        let l = self.limits;
        let dt = now.saturating_sub(self.last.at);
        if dt > l.max_gap_ms {
            return Err(LivenessFailure::FrameGap);
        }
        let face = obs.face.as_ref().ok_or(LivenessFailure::FaceLost)?;
        // A face the engine could not embed cannot be tied to the person: it is lost.
        let embedding = face.embedding.clone().ok_or(LivenessFailure::FaceLost)?;
        let (a, b) = (&self.last.bbox, &face.bbox);
        let width = a.width.max(b.width).max(1.0);
        let size_ratio =
            (a.width.max(1.0) / b.width.max(1.0)).max(b.width.max(1.0) / a.width.max(1.0));
        if a.center().distance(b.center()) > MAX_STEP * width || size_ratio > MAX_SIZE_RATIO {
            return Err(LivenessFailure::IdentityChanged);
        }
        if embedding.similarity(&self.last.embedding) < l.chain_threshold
            || embedding.similarity(&self.anchor) < l.anchor_threshold
        {
            return Err(LivenessFailure::IdentityChanged);
        }
        let yaw = face.signals.map(|s| s.pose.yaw);
        if let (Some(prev), Some(cur)) = (self.last.yaw, yaw) {
            let allowed = l.max_yaw_speed * dt as f32 / 1000.0 + YAW_NOISE;
            if (cur - prev).abs() > allowed {
                return Err(LivenessFailure::PoseJump);
            }
        }
        self.last = Point {
            at: now,
            bbox: face.bbox,
            embedding,
            yaw: yaw.or(self.last.yaw),
        };
        self.frames += 1;
        Ok(())
    }
}
