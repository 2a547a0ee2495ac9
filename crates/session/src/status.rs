//! Where a session stands: the API's session statuses.

use serde::{Deserialize, Serialize};

/// Where a session stands (the API's session statuses).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionStatus {
    /// Waiting for the person (positioning, capture, challenges).
    RequiresInput,
    /// Deciding.
    Processing,
    /// Finished with a result (check `isVerified`).
    Complete,
    /// Ended without a result (cancelled, expired, too many failures).
    Canceled,
}

impl SessionStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::RequiresInput => "requiresInput",
            SessionStatus::Processing => "processing",
            SessionStatus::Complete => "complete",
            SessionStatus::Canceled => "canceled",
        }
    }
}
