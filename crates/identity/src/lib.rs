//! # facekiosk-identity — who signed a result
//!
//! A kiosk's identity is its id and its Ed25519 key pairs. Results are signed as JWS (RFC 7515
//! compact serialisation, `alg: EdDSA`) with the current key; anyone holding the kiosk's public
//! keys (a JWKS, RFC 7517) verifies them offline: [`verify`].
//!
//! Key ids: the first key's `kid` is the kiosk id itself; after a rotation the new key is
//! `<kiosk id>.2`, `.3`, … so every key in a JWKS has its own `kid` and results signed before a
//! rotation still verify. `iss` is always the kiosk id.
//!
//! Every key has a validity window, published in the JWKS as `nbf`/`exp` (unix seconds): a
//! result verifies only when its `iat` falls inside the window of the key that signed it, so a
//! retired key that leaks cannot sign anything dated after its retirement.
//!
//! Results from files, folders and the demo are never signed with the kiosk's keys: they get an
//! ephemeral *test key* ([`TestKey`], `kid` `<kiosk id>.test-<hex>`), whose public half goes to a
//! separate `test-jwks.json` ([`TestJwksFile`]).
//!
//! [`KeyStore`] keeps the identity on disk: `identity.toml` and one PKCS#8 PEM file per key,
//! created with mode 0600 in a 0700 directory, written atomically.
//!
//! ```
//! use facekiosk_identity::{KioskIdentity, verify};
//! let kiosk = KioskIdentity::from_seed("kiosk-1", [7; 32], 1_000);
//! let claims = serde_json::json!({ "iss": "kiosk-1", "iat": 1_100, "exp": 9_999 });
//! let jws = kiosk.signer().sign(&claims).unwrap();
//! assert_eq!(verify(&jws, &kiosk.jwks(), 1_200).unwrap().kid, "kiosk-1");
//! ```
//!
//! **Never:** a private key never reaches a log, a `Debug` output or a JWKS; a malformed JWS or
//! JWKS is an error, never a panic.

mod errors;
mod jwks;
mod key;
mod seal;
mod store;
mod test_key;
mod verify;

pub use errors::{IdentityError, VerifyError};
pub use jwks::{Jwk, Jwks};
pub use key::{KioskIdentity, KioskKey, ROTATION_GRACE_S, ResultSigner};
pub use seal::Sealer;
pub use store::KeyStore;
pub use test_key::{TEST_JWKS_FILE, TestJwksFile, TestKey};
pub use verify::{MAX_CLOCK_SKEW_S, Verified, verify};

#[cfg(test)]
mod tests;
