//! Public keys as JSON Web Keys (RFC 7517, RFC 8037 for Ed25519).

use serde::{Deserialize, Serialize};

use crate::VerifyError;

/// A public key in a JWKS.
///
/// Besides the RFC 8037 members, a key carries its validity window: `nbf` (from, unix seconds)
/// and `exp` (until, exclusive; absent while the key is current). A result verifies with this key
/// only when its `iat` is inside the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `OKP`.
    pub kty: String,
    /// Curve: `Ed25519`.
    pub crv: String,
    /// The public key, base64url without padding.
    pub x: String,
    /// The key id.
    pub kid: String,
    /// `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// `sig`.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Start of the validity window, unix seconds (results dated earlier are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// End of the validity window, unix seconds, exclusive (absent: still valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// A JSON Web Key Set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS document.
    pub fn parse(text: &str) -> Result<Jwks, VerifyError> {
        serde_json::from_str(text).map_err(|e| VerifyError::BadJwks(e.to_string()))
    }

    /// The key with this id.
    pub fn key(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}
