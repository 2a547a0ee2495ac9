//! One attempt: what was captured, the chain of frames, the challenges done, the 3-D check.

use facekiosk_face::liveness::{ThreeDConfig, ThreeDTracker};

use crate::capture::Capture;
use crate::challenge::Baseline;
use crate::claims::{CaptureMatchClaim, ChallengeClaim, PassiveClaim, ThreeDClaim};
use crate::track::FaceTrack;

/// One attempt's state.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The capture before the challenges.
    pub before: Capture,
    /// The capture after them (active liveness only).
    pub after: Capture,
    /// The person's neutral pose and expression, from the first capture.
    pub baseline: Option<Baseline>,
    /// The chain of frames since the first capture ended.
    pub track: Option<FaceTrack>,
    /// The 3-D check's frames: the challenges' and the way back to neutral after them.
    pub three_d: ThreeDTracker,
    /// The challenges, as performed.
    pub challenges: Vec<ChallengeClaim>,
    /// The 3-D check's verdict, once made.
    pub three_d_claim: Option<ThreeDClaim>,
    /// The passive model's verdict, once made.
    pub passive: Option<PassiveClaim>,
    /// Each capture's comparison with the reference, once made.
    pub matches: Vec<CaptureMatchClaim>,
}

impl Attempt {
    /// A fresh attempt.
    pub fn new() -> Self {
        Self {
            before: Capture::new(),
            after: Capture::new(),
            baseline: None,
            track: None,
            three_d: ThreeDTracker::new(ThreeDConfig::default()),
            challenges: Vec::new(),
            three_d_claim: None,
            passive: None,
            matches: Vec::new(),
        }
    }

    /// The person's neutral values from the first capture.
    pub fn measure_baseline(&self) -> Baseline {
        let c = &self.before;
        let t = Baseline::TYPICAL;
        Baseline {
            yaw: c.median_signal(|s| s.pose.yaw).unwrap_or(t.yaw),
            pitch: c.median_signal(|s| s.pose.pitch).unwrap_or(t.pitch),
            ear: c.median_signal(|s| s.mean_ear()).unwrap_or(t.ear),
            smile: c.median_signal(|s| s.smile).unwrap_or(t.smile),
            mouth_open: c.median_signal(|s| s.mouth_open).unwrap_or(t.mouth_open),
        }
    }

    /// The capture whose best frame shows the decision: the last one taken.
    pub fn last_capture(&self) -> &Capture {
        if self.after.is_empty() {
            &self.before
        } else {
            &self.after
        }
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Self::new()
    }
}
