//! What can stop a run before the session itself ends.

/// Why a run could not be carried out (the session's own failures are its `Error` event).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The operating system gave no randomness for the challenges or the result id: the
    /// session is not started rather than run with a predictable seed.
    #[error("no randomness from the operating system for the session: {0}")]
    NoRandomness(String),
    /// The test key could not be made or published.
    #[error("the test key: {0}")]
    TestKey(#[from] facekiosk_identity::IdentityError),
    /// The capture thread could not be started.
    #[error("cannot start the capture thread: {0}")]
    Thread(std::io::Error),
    /// The session ended without a result (a bug: every session ends with one).
    #[error("the session ended without a result")]
    NoOutcome,
    /// The result could not be verified with the key that signed it (a bug, or a key store
    /// that changed during the session).
    #[error("the result does not verify: {0}")]
    Verify(#[from] facekiosk_identity::VerifyError),
}
