//! What exactly failed in a liveness check: one code, shared by the challenge protocol, the
//! chain of frames and the result's claims.

use serde::{Deserialize, Serialize};

/// What exactly failed in a liveness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LivenessFailure {
    /// The challenge was not done in time.
    ChallengeTimeout,
    /// Another action than the one asked for (the `action` field says which).
    UnrequestedAction,
    /// An action before the prompt was shown.
    ActionBeforePrompt,
    /// The movement started sooner after the prompt than a person can react.
    TooEarly,
    /// No movement started within the reaction time allowed.
    NoResponse,
    /// The person did not come back to a neutral, frontal pose between challenges.
    NotNeutral,
    /// The face left the view (or could not be measured) during the challenges.
    FaceLost,
    /// The face changed between two frames: not the same person, or a jump no head makes.
    IdentityChanged,
    /// Too long without a frame during the challenges: the chain of frames is broken.
    FrameGap,
    /// The head turned faster than a head turns between two frames.
    PoseJump,
    /// A turn or a nod that skipped the poses between neutral and turned, or held half-way
    /// (swapped photos).
    NotContinuous,
    /// The head turns did not show a three-dimensional head.
    #[serde(rename = "NOT_3D")]
    Not3d,
    /// The passive model judged the face a presentation attack.
    PassiveSpoof,
    /// The camera was lost during the challenges.
    CameraLost,
}
