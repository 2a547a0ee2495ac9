//! Secrets and photos: random tokens shown once and stored as their sha256, comparisons in
//! constant time, and ID photos encrypted at rest with XChaCha20-Poly1305.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// OS randomness.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], String> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| format!("no OS randomness: {e}"))?;
    Ok(b)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A new secret: `prefix` and 48 hex digits (192 random bits).
pub fn token(prefix: &str) -> Result<String, String> {
    Ok(format!("{prefix}{}", hex(&random_bytes::<24>()?)))
}

/// sha256 of a secret, hex: what is stored instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// sha256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: &str) -> bool {
    let h = hash_secret(secret);
    h.len() == stored.len() && bool::from(h.as_bytes().ct_eq(stored.as_bytes()))
}

/// The key that encrypts ID photos and results at rest (XChaCha20-Poly1305, bound to their
/// row): the identity crate's [`Sealer`](facekiosk_identity::Sealer).
pub use facekiosk_identity::Sealer as PhotoCipher;

/// The environment variable that holds the photo key (64 hex digits).
pub const PHOTO_KEY_ENV: &str = "FACEKIOSK_PHOTO_KEY";

/// The photo key from `$FACEKIOSK_PHOTO_KEY`, else from `path`, which is created (0600) with a
/// fresh key when it does not exist. Returns the cipher and whether a key was created.
pub fn load_photo_key(path: &Path) -> Result<(PhotoCipher, bool), String> {
    if let Ok(v) = std::env::var(PHOTO_KEY_ENV)
        && !v.trim().is_empty()
    {
        return PhotoCipher::from_hex(&v)
            .map(|c| (c, false))
            .map_err(|e| format!("${PHOTO_KEY_ENV}: {e}"));
    }
    PhotoCipher::load_or_create(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn secrets_compare_by_hash() {
        let t = token("fk_live_").unwrap();
        assert!(t.starts_with("fk_live_") && t.len() == 8 + 48);
        let h = hash_secret(&t);
        assert!(secret_matches(&t, &h));
        assert!(!secret_matches("fk_live_0", &h));
        assert!(!secret_matches(&t, "short"));
    }
}
