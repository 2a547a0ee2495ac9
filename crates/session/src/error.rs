//! How a session fails: the `OperationError` of the SDK's `error` callback.

use serde::{Deserialize, Serialize};

/// Stable error codes. Where uqudo's web SDK has a code for the same case, we use its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The person (or staff) cancelled.
    UserCancel,
    /// The session expired (its deadline passed) or does not exist.
    SessionExpiredOrNotFound,
    /// The caller is not authenticated.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// The options or the reference are not usable.
    InvalidConfig,
    /// Too many failed face-match attempts.
    SessionInvalidatedFaceRecognitionTooManyAttempts,
    /// Too many failed liveness checks.
    SessionInvalidatedLivenessFailed,
    /// No camera, or the camera was lost and did not come back.
    MediaNotFoundError,
    /// The camera is busy (used by another program) or access was denied.
    MediaNotAllowedError,
    /// The camera is a virtual one (an injection attack's usual tool).
    MediaVirtualCameraDetected,
    /// Nobody in front of the camera for too long.
    InactivityTimeout,
    /// A model could not be loaded or run.
    ModelError,
    /// The network failed.
    NetworkError,
    /// Anything else.
    UnexpectedError,
}

impl ErrorCode {
    /// Every code (the UI needs a text for each).
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::UserCancel,
        ErrorCode::SessionExpiredOrNotFound,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::InvalidConfig,
        ErrorCode::SessionInvalidatedFaceRecognitionTooManyAttempts,
        ErrorCode::SessionInvalidatedLivenessFailed,
        ErrorCode::MediaNotFoundError,
        ErrorCode::MediaNotAllowedError,
        ErrorCode::MediaVirtualCameraDetected,
        ErrorCode::InactivityTimeout,
        ErrorCode::ModelError,
        ErrorCode::NetworkError,
        ErrorCode::UnexpectedError,
    ];

    /// The wire name (`USER_CANCEL`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::UserCancel => "USER_CANCEL",
            ErrorCode::SessionExpiredOrNotFound => "SESSION_EXPIRED_OR_NOT_FOUND",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::InvalidConfig => "INVALID_CONFIG",
            ErrorCode::SessionInvalidatedFaceRecognitionTooManyAttempts => {
                "SESSION_INVALIDATED_FACE_RECOGNITION_TOO_MANY_ATTEMPTS"
            }
            ErrorCode::SessionInvalidatedLivenessFailed => "SESSION_INVALIDATED_LIVENESS_FAILED",
            ErrorCode::MediaNotFoundError => "MEDIA_NOT_FOUND_ERROR",
            ErrorCode::MediaNotAllowedError => "MEDIA_NOT_ALLOWED_ERROR",
            ErrorCode::MediaVirtualCameraDetected => "MEDIA_VIRTUAL_CAMERA_DETECTED",
            ErrorCode::InactivityTimeout => "INACTIVITY_TIMEOUT",
            ErrorCode::ModelError => "MODEL_ERROR",
            ErrorCode::NetworkError => "NETWORK_ERROR",
            ErrorCode::UnexpectedError => "UNEXPECTED_ERROR",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a session ends with: `{ code, message?, task: "FACE", data? }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {}", message.as_deref().unwrap_or(""))]
#[serde(rename_all = "camelCase")]
pub struct OperationError {
    /// What happened.
    pub code: ErrorCode,
    /// A description for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Always `FACE`.
    pub task: String,
    /// The partial signed result (a JWS), when `returnDataForIncompleteSession` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl OperationError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: Some(message.into()),
            task: "FACE".to_owned(),
            data: None,
        }
    }
}
