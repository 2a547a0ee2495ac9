//! The signed result's payload. Every field is documented for integrators in docs/RESULT.md.

use facekiosk_face::quality::QualityMetrics;
use serde::{Deserialize, Serialize};

use crate::challenge::ChallengeOutcome;
use crate::options::{ChallengeKind, Obfuscation};

/// The JWS payload of a session's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultClaims {
    /// Result id (a UUID).
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
    pub status: String,
    /// True when the face matched at the minimum level and liveness passed.
    pub is_verified: bool,
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

/// The comparison of the best frame with the reference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchClaim {
    /// Cosine similarity, −1..1 (absent when no attempt got that far).
    pub score: Option<f32>,
    /// The match level reached (1–5), if any.
    pub level: Option<u8>,
    /// The level required.
    pub minimum_level: u8,
    /// The similarity the required level needs.
    pub threshold: f32,
    /// True when the required level's threshold was extrapolated in calibration.
    pub level_extrapolated: bool,
}

/// One challenge as performed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeClaim {
    /// The challenge.
    pub r#type: ChallengeKind,
    /// How it went.
    pub outcome: ChallengeOutcome,
    /// How long it took, ms.
    pub duration_ms: u64,
}

/// The liveness verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessClaim {
    /// True live, false not live, null not checked (attended sessions).
    pub detected: Option<bool>,
    /// `active`, `passive`, `both` or `attended`.
    pub method: String,
    /// A 0..1 score: the passive model's fused probability of a live face, or for active checks
    /// the 3-D consistency residual scaled to 0..1 (1 = clearly three-dimensional).
    pub score: Option<f32>,
    /// The challenges of the deciding attempt.
    pub challenges: Vec<ChallengeClaim>,
    /// The 3-D consistency check: residual (fraction of the eye distance) and yaw range covered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_d: Option<ThreeDClaim>,
    /// The passive model: mean real−spoof logit over the frames fused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive: Option<PassiveClaim>,
    /// A plain statement, e.g. that no liveness check ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The 3-D consistency check.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDClaim {
    /// Homography residual / eye distance.
    pub residual: f32,
    /// Yaw covered, degrees.
    pub yaw_range_deg: f32,
    /// The verdict.
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

/// One attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptClaim {
    /// 1-based.
    pub attempt: u8,
    /// Similarity, when the attempt got to matching.
    pub score: Option<f32>,
    /// Level reached.
    pub level: Option<u8>,
    /// Liveness verdict of the attempt (null: not checked).
    pub liveness: Option<bool>,
    /// Why it failed (`NO_MATCH`, `LIVENESS_FAILED`, …), null when it succeeded.
    pub reason: Option<String>,
    /// The liveness detail (`CHALLENGE_TIMEOUT:BLINK`, `NOT_3D`, `PASSIVE_SPOOF`, `FACE_LOST`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_reason: Option<String>,
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
