//! Liveness building blocks. Each gives a measure and a verdict; the session combines them.
//!
//! - [`LivenessSignals`]: eye openness, mouth and head pose of one frame.
//! - [`BlinkTracker`]: a blink is the eyes closing and reopening within a human time span.
//! - [`ThreeDTracker`]: the 3-D consistency check. While a real head turns, its landmarks move
//!   as a rigid head does (the nose tip against the cheeks); a photo or a screen moves as one
//!   plane, which a homography explains, and a bent photo moves as neither.
//! - [`PassiveModel`]: an operator-installed presentation-attack model (optional slot).
//!
//! Time is always passed in (milliseconds of a monotonic clock), never read here.

mod blink;
mod passive;
mod three_d;

use serde::{Deserialize, Serialize};

use crate::landmarks::FaceLandmarks;

pub use blink::{BlinkConfig, BlinkEvent, BlinkTracker};
pub use passive::{PassiveModel, PassiveScore};
pub use three_d::{
    AxisScore, HEAD_LANDMARKS, HeadPoints, ThreeDConfig, ThreeDScore, ThreeDTracker,
};

/// The per-frame liveness measures of one face (from dense landmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessSignals {
    /// Eye aspect ratios (right, left).
    pub eye_aspect_ratio: (f32, f32),
    /// Inner-lip gap over mouth width.
    pub mouth_open: f32,
    /// Mouth width over outer-eye-corner distance.
    pub smile: f32,
    /// Head pose, degrees.
    pub pose: crate::landmarks::HeadPose,
}

impl LivenessSignals {
    /// The measures of a face's landmarks.
    pub fn from_landmarks(l: &FaceLandmarks) -> Self {
        Self {
            eye_aspect_ratio: l.eye_aspect_ratios(),
            mouth_open: l.mouth_open_ratio(),
            smile: l.smile_ratio(),
            pose: l.head_pose(),
        }
    }

    /// The mean of the two eye aspect ratios.
    pub fn mean_ear(&self) -> f32 {
        (self.eye_aspect_ratio.0 + self.eye_aspect_ratio.1) * 0.5
    }
}
