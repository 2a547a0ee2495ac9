//! The signed result's payload. Every field is documented for integrators in docs/RESULT.md.

use std::collections::BTreeMap;

use facekiosk_face::liveness::AxisScore;
use facekiosk_face::quality::QualityMetrics;
use serde::{Deserialize, Serialize};

use crate::challenge::{Action, ChallengeOutcome};
pub use crate::failure::LivenessFailure;
use crate::options::{ChallengeKind, LivenessMode, Obfuscation};
use crate::status::SessionStatus;

/// The JWS payload of a session's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultClaims {
    /// Result id: a UUID v4 from the operating system's randomness.
    pub jti: String,
    /// The kiosk that signed it.
    pub iss: String,
    /// The session id.
    pub sub: String,
    /// The session id (again, under its own name).
    pub session_id: String,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Expires at, unix seconds.
    pub exp: u64,
    /// `complete` or `canceled`.
    pub status: SessionStatus,
    /// True when the face matched at the minimum level and liveness passed.
    pub is_verified: bool,
    /// True when the frames did not come from a camera (a video file, a folder, the demo): the
    /// result is signed with an ephemeral test key, never the kiosk's, and proves nothing about
    /// a person in front of the kiosk.
    pub test: bool,
    /// The comparison that decided.
    pub r#match: MatchClaim,
    /// The liveness verdict.
    pub liveness: LivenessClaim,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptClaim>,
    /// Quality measurements of the frame used for the decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<QualityMetrics>,
    /// The kiosk and its setup.
    pub device: DeviceClaim,
    /// Where the frames came from.
    pub capture: CaptureClaim,
    /// What the kiosk allowed and what the session asked for.
    pub policy: PolicyClaim,
    /// The models that ran: role → sha256 of the file.
    pub models: ModelsClaim,
    /// The match-level calibration in use.
    pub calibration: CalibrationClaim,
    /// The reference photo the face was matched against.
    pub reference: ReferenceClaim,
    /// The staff member who watched an `attended` session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The UI language.
    pub lang: String,
    /// Session start, unix ms.
    pub started_at: u64,
    /// Session end, unix ms.
    pub finished_at: u64,
    /// The integrator's nonce, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// A session the kiosk created itself (no API session).
    pub walk_in: bool,
    /// The selfie used for the decision, for manual review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_image: Option<AuditImageClaim>,
}

/// The comparison with the reference. The face is captured twice, before and after the
/// challenges; both captures must reach the minimum level, and `score`/`level` are those of the
/// weaker one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchClaim {
    /// Cosine similarity, −1..1, of the weaker capture (absent when no attempt got that far).
    pub score: Option<f32>,
    /// The match level reached (1–5) by the weaker capture, if any.
    pub level: Option<u8>,
    /// The level required.
    pub minimum_level: u8,
    /// The similarity the required level needs.
    pub threshold: f32,
    /// True when the required level's threshold was extrapolated in calibration, not measured.
    pub level_extrapolated: bool,
    /// Each capture's own comparison.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<CaptureMatchClaim>,
}

/// When a capture was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CapturePhase {
    /// Before the challenges.
    Before,
    /// After the challenges.
    After,
}

/// One capture's comparison with the reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureMatchClaim {
    /// Before or after the challenges.
    pub phase: CapturePhase,
    /// Cosine similarity of the fused embedding with the reference.
    pub score: f32,
    /// The level it reached.
    pub level: Option<u8>,
    /// Frames fused (the best few by quality).
    pub frames: usize,
}

/// One challenge as performed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeClaim {
    /// The challenge.
    pub r#type: ChallengeKind,
    /// How it went.
    pub outcome: ChallengeOutcome,
    /// From the prompt to the end of the challenge, ms (0 when it failed before the prompt).
    pub duration_ms: u64,
    /// From the prompt to the start of the movement, ms, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_ms: Option<u64>,
}

/// The liveness verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessClaim {
    /// True live, false not live, null not checked (attended sessions).
    pub detected: Option<bool>,
    /// `active`, `passive`, `both` or `attended`.
    pub method: LivenessMode,
    /// The passive model's probability of a live face (0..1, the sigmoid of the mean real−spoof
    /// logit over the frames fused), when a passive model ran; null otherwise. Active liveness
    /// is a protocol that passes or fails, not a score.
    pub score: Option<f32>,
    /// The challenges of the deciding attempt.
    pub challenges: Vec<ChallengeClaim>,
    /// The 3-D consistency check over the head turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d: Option<ThreeDClaim>,
    /// The passive model: mean real−spoof logit over the frames fused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive: Option<PassiveClaim>,
    /// A plain statement, e.g. that no liveness check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The 3-D consistency check, per axis the session asked for: turns (yaw parallax) and nods
/// (pitch parallax). Residuals are medians over the frames compared, in eye distances: the
/// planar one is how far a flat plane is from explaining the landmarks' motion, the rigid one
/// how far a rigid head is.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDClaim {
    /// Turns, when the attempt asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<AxisScore>,
    /// Nods, when the attempt asked for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nod: Option<AxisScore>,
    /// The verdict: every axis asked for passed.
    pub is_3d: bool,
}

/// The passive model fused over frames.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassiveClaim {
    /// Mean logit difference real − spoof.
    pub mean_logit: f32,
    /// Frames fused.
    pub frames: usize,
    /// The threshold applied.
    pub threshold: f32,
}

/// Why an attempt failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttemptFailure {
    /// The face did not reach the minimum level (or no frame could be matched).
    NoMatch,
    /// The liveness check failed (see the liveness reason).
    LivenessFailed,
}

/// One attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptClaim {
    /// 1-based.
    pub attempt: u8,
    /// Similarity of the weaker capture, when the attempt got to matching.
    pub score: Option<f32>,
    /// Level reached.
    pub level: Option<u8>,
    /// Liveness verdict of the attempt (null: not checked).
    pub liveness: Option<bool>,
    /// Why it failed, null when it succeeded.
    pub reason: Option<AttemptFailure>,
    /// What failed in the liveness check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_reason: Option<LivenessFailure>,
    /// The challenge under way when liveness failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<ChallengeKind>,
    /// The action seen, for `UNREQUESTED_ACTION` and `ACTION_BEFORE_PROMPT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The attempt's 3-D check, when it got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d: Option<ThreeDClaim>,
}

/// The kiosk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceClaim {
    /// Kiosk id.
    pub kiosk: String,
    /// The camera (name, or the video/folder source).
    pub camera: String,
    /// FaceKiosk's version.
    pub app_version: String,
    /// The execution provider the models ran on (`cpu`, `cuda`, …).
    pub execution_provider: String,
}

/// What kind of source the frames came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CaptureSource {
    /// A camera.
    #[default]
    Camera,
    /// A video file.
    File,
    /// A folder of images.
    Folder,
}

/// Where the frames came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureClaim {
    /// Camera, file or folder.
    pub source: CaptureSource,
    /// The camera's name, or the file's or folder's name.
    pub device: String,
    /// True when the camera is a virtual one (only where the kiosk allows them).
    pub r#virtual: bool,
}

/// The settings that bear on what the result attests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyClaim {
    /// The kiosk allows `attended` sessions.
    pub allow_attended: bool,
    /// The kiosk accepts virtual cameras.
    pub allow_virtual_camera: bool,
    /// The liveness mode of the session.
    pub liveness_mode: LivenessMode,
    /// Challenges asked per attempt (0 without active liveness).
    pub challenge_count: usize,
}

/// The models that ran, role → sha256 (a replaced model is listed under `replaced` too).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelsClaim {
    /// Role (`detector`, `landmarks`, `embedder`, …) → sha256 of the model file.
    pub sha256: BTreeMap<String, String>,
    /// Roles whose shipped model was replaced by the kiosk's configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaced: Vec<String>,
}

/// The calibration (match-level thresholds) in use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalibrationClaim {
    /// sha256 of the calibration file.
    pub sha256: String,
    /// The set it was made on.
    pub set: String,
    /// Images in that set.
    pub images: usize,
    /// Identities in that set.
    pub identities: usize,
}

/// Where a reference photo came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceSource {
    /// The verification API (the integrator's upload or an earlier verified identity).
    #[default]
    Api,
    /// Captured at the kiosk by staff (a walk-in session), or given on the command line.
    WalkIn,
}

/// The reference photo.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceClaim {
    /// sha256 of the photo's bytes, as received.
    pub sha256: String,
    /// Where it came from.
    pub source: ReferenceSource,
}

/// The audit-trail image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditImageClaim {
    /// `image/jpeg`.
    pub media_type: String,
    /// How the background is hidden.
    pub obfuscation: Obfuscation,
    /// The image, base64.
    pub data: String,
}
