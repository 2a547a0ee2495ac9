//! What can go wrong for a kiosk, in words for branch IT.

use std::path::PathBuf;

/// A kiosk failure.
#[derive(Debug, thiserror::Error)]
pub enum KioskError {
    /// The configuration file is unreadable or invalid.
    #[error("configuration file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No place for the kiosk's state.
    #[error("no data directory for {0} (set HOME or FACEKIOSK_DATA_DIR)")]
    NoDataDir(&'static str),
    /// The kiosk's key store.
    #[error(transparent)]
    Identity(#[from] facekiosk_identity::IdentityError),
    /// The registration file.
    #[error("{path}: {reason} (register again: facekiosk kiosk register)")]
    Registration {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The kiosk is not registered with a verification API.
    #[error(
        "this kiosk is not registered: facekiosk kiosk register --api URL --enrolment-token TOKEN"
    )]
    NotRegistered,
    /// The outbox.
    #[error(transparent)]
    Outbox(#[from] facekiosk_sync::OutboxError),
    /// The verification API.
    #[error(transparent)]
    Api(#[from] facekiosk_sync::ClientError),
    /// The face engine did not load.
    #[error("the face engine did not load: {0}")]
    Engine(String),
    /// The session could not run.
    #[error(transparent)]
    Run(#[from] facekiosk_runner::RunError),
    /// Anything else, said in words.
    #[error("{0}")]
    Other(String),
}
