//! What signs a session's result, and the session's randomness.

use std::path::PathBuf;

use facekiosk_capture::SourceKind;
use facekiosk_identity::{Jwks, KioskIdentity, ResultSigner, TestJwksFile, TestKey};
use facekiosk_session::SessionSeed;

use crate::RunError;

/// How long a test key vouches for results, s: longer than any session.
pub const TEST_KEY_TTL_S: u64 = 24 * 3600;

/// The key a session signs with, and the keys that verify what it signs.
#[derive(Clone, Debug)]
pub struct SessionSigner {
    /// Signs the result.
    pub signer: ResultSigner,
    /// The public keys that verify it (the kiosk's JWKS, or the test key alone).
    pub jwks: Jwks,
    /// For a test key: the test JWKS file its public half was added to.
    pub test_jwks: Option<PathBuf>,
}

/// The signer for a session on a source of this kind: the kiosk's current key for a camera;
/// for anything else (a video file, a folder, the demo) a fresh test key, whose public half is
/// added to `test_jwks` before the session starts. The kiosk's key never signs a result that
/// did not come from a camera.
pub fn signer_for(
    kind: SourceKind,
    identity: &KioskIdentity,
    test_jwks: &TestJwksFile,
    now_s: u64,
) -> Result<SessionSigner, RunError> {
    if kind == SourceKind::Camera {
        return Ok(SessionSigner {
            signer: identity.signer(),
            jwks: identity.jwks(),
            test_jwks: None,
        });
    }
    let key = TestKey::generate(identity, now_s, TEST_KEY_TTL_S)?;
    test_jwks.add(key.jwk())?;
    Ok(SessionSigner {
        signer: key.signer(),
        jwks: Jwks {
            keys: vec![key.jwk().clone()],
        },
        test_jwks: Some(test_jwks.path().to_path_buf()),
    })
}

/// Fresh randomness from the operating system for a session. Without it the session does not
/// start: a time-based seed would make the challenges and the result id predictable.
pub fn session_seed() -> Result<SessionSeed, RunError> {
    let mut b = [0u8; 24];
    getrandom::getrandom(&mut b).map_err(|e| RunError::NoRandomness(e.to_string()))?;
    let mut challenges = [0u8; 8];
    challenges.copy_from_slice(&b[..8]);
    let mut result_id = [0u8; 16];
    result_id.copy_from_slice(&b[8..]);
    Ok(SessionSeed {
        challenges: u64::from_le_bytes(challenges),
        result_id,
    })
}
