//! What can go wrong with keys and results.

use std::path::PathBuf;

/// What can go wrong with keys and their files.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing the key store failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The key store is malformed or unsafe.
    #[error("key store {path}: {reason}")]
    Store {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The system's random source failed.
    #[error("no randomness for a new key: {0}")]
    Random(String),
    /// Signing failed.
    #[error("cannot sign the result: {0}")]
    Sign(String),
}

/// Why a result did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS, or its header or payload is not JSON.
    #[error("not a valid JWS: {0}")]
    Malformed(String),
    /// The JWKS is not valid.
    #[error("the JWKS is not valid: {0}")]
    BadJwks(String),
    /// The header names another algorithm than EdDSA.
    #[error("algorithm {0} is not accepted (EdDSA only)")]
    Algorithm(String),
    /// No key in the JWKS has the header's `kid`.
    #[error("no key `{0}` in the JWKS")]
    UnknownKey(String),
    /// The signature does not match: the result was altered or signed by another key.
    #[error("the signature does not verify: the result was altered or not signed by key `{0}`")]
    BadSignature(String),
    /// The result has expired.
    #[error("the result expired at {exp} (unix seconds); it is now {now}")]
    Expired {
        /// Expiry, unix seconds.
        exp: u64,
        /// The time of the check, unix seconds.
        now: u64,
    },
    /// The result says it was issued later than now (beyond the allowed clock skew).
    #[error("the result is dated {iat} (unix seconds), in the future; it is now {now}")]
    IssuedInFuture {
        /// `iat`, unix seconds.
        iat: u64,
        /// The time of the check, unix seconds.
        now: u64,
    },
    /// The result was issued outside the validity window of the key that signed it (a retired
    /// key signing after its retirement, or a key used before it existed).
    #[error(
        "key `{kid}` was valid from {nbf} to {}, but the result is dated {iat} (unix seconds)",
        exp.map_or_else(|| "now".to_owned(), |e| e.to_string())
    )]
    OutsideKeyWindow {
        /// The key.
        kid: String,
        /// The result's `iat`.
        iat: u64,
        /// The key's start of validity.
        nbf: u64,
        /// The key's end of validity, if it has one.
        exp: Option<u64>,
    },
    /// A required claim is missing or has the wrong type.
    #[error("claim `{0}` is missing or invalid")]
    Claim(&'static str),
    /// The issuer does not match the key.
    #[error("issuer `{iss}` did not sign with key `{kid}`")]
    Issuer {
        /// The `iss` claim.
        iss: String,
        /// The header's `kid`.
        kid: String,
    },
}
