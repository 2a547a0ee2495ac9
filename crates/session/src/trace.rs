//! Trace events (uqudo's onTrace / analytics): what happened in a session, for the kiosk's
//! analytics. Never an image, an embedding or a secret.

use serde::{Deserialize, Serialize};

/// The area an event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceCategory {
    /// The face session.
    FaceSession,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceEventKind {
    /// The session screen was shown.
    View,
    /// The session started.
    Start,
    /// A hint was shown.
    Hint,
    /// The hold-still capture started.
    Capture,
    /// A challenge was prompted, passed or failed.
    Challenge,
    /// A match attempt ended.
    Attempt,
    /// The session completed.
    Complete,
    /// The session was cancelled.
    Cancel,
    /// The session failed.
    Failed,
    /// The camera was lost or came back.
    Camera,
    /// A frame could not be used (corrupt, undecodable) and was skipped.
    FrameSkipped,
    /// A configuration value was adjusted.
    Warning,
}

/// The outcome of the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TraceStatus {
    /// It went well.
    Success,
    /// It went wrong.
    Failure,
    /// For information.
    Info,
}

/// One trace event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    /// The kiosk.
    pub device_identifier: String,
    /// The session.
    pub session_id: String,
    /// The area.
    pub category: TraceCategory,
    /// What happened.
    pub event: TraceEventKind,
    /// Its outcome.
    pub status: TraceStatus,
    /// The screen, when relevant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// A machine-readable detail (a hint, a challenge, an error code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// A detail for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// The attempt (1-based), when relevant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u8>,
    /// Milliseconds since the session started.
    pub elapsed_ms: u64,
    /// Unix time, ms.
    pub timestamp: u64,
}
