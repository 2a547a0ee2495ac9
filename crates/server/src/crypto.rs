//! Secrets and photos: random tokens shown once and stored as their sha256, comparisons in
//! constant time, and ID photos encrypted at rest with XChaCha20-Poly1305.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
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

/// The key that encrypts ID photos. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct PhotoCipher {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for PhotoCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhotoCipher(<redacted>)")
    }
}

/// The environment variable that holds the photo key (64 hex digits).
pub const PHOTO_KEY_ENV: &str = "FACEKIOSK_PHOTO_KEY";

impl PhotoCipher {
    /// A cipher from a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// A cipher from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = unhex(text)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| "the photo key must be 64 hex digits (32 bytes)".to_owned())?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Self::new(key))
    }

    /// The key from `$FACEKIOSK_PHOTO_KEY`, else from `path`, which is created (0600) with a
    /// fresh key when it does not exist. Returns the cipher and whether a key was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), String> {
        if let Ok(v) = std::env::var(PHOTO_KEY_ENV)
            && !v.trim().is_empty()
        {
            return Self::from_hex(&v)
                .map(|c| (c, false))
                .map_err(|e| format!("${PHOTO_KEY_ENV}: {e}"));
        }
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text)
                .map(|c| (c, false))
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                write_private(path, format!("{}\n", hex(&key)).as_bytes())
                    .map_err(|e| format!("cannot create the photo key {}: {e}", path.display()))?;
                Ok((Self::new(key), true))
            }
            Err(e) => Err(format!("cannot read the photo key {}: {e}", path.display())),
        }
    }

    /// Encrypts `plain`, bound to `context` (the row it belongs to): nonce ‖ ciphertext.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, String> {
        let nonce = random_bytes::<24>()?;
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| "photo encryption failed".to_owned())?;
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) made for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, String> {
        if sealed.len() < 24 + 16 {
            return Err("the stored photo is truncated".to_owned());
        }
        let (nonce, ct) = sealed.split_at(24);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                "the stored photo does not decrypt (wrong photo key, or altered data)".to_owned()
            })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn photos_round_trip_and_are_bound_to_their_row() {
        let c = PhotoCipher::new([7; 32]);
        let sealed = c.seal(b"jpeg bytes", "ses_1").unwrap();
        assert_eq!(c.open(&sealed, "ses_1").unwrap(), b"jpeg bytes");
        assert!(c.open(&sealed, "ses_2").is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(c.open(&bad, "ses_1").is_err());
        assert!(PhotoCipher::new([8; 32]).open(&sealed, "ses_1").is_err());
        assert!(c.open(&sealed[..10], "ses_1").is_err());
    }

    #[test]
    fn secrets_compare_by_hash() {
        let t = token("fk_live_").unwrap();
        assert!(t.starts_with("fk_live_") && t.len() == 8 + 48);
        let h = hash_secret(&t);
        assert!(secret_matches(&t, &h));
        assert!(!secret_matches("fk_live_0", &h));
        assert!(!secret_matches(&t, "short"));
    }

    #[test]
    fn photo_keys_must_be_32_bytes_of_hex() {
        assert!(PhotoCipher::from_hex(&"ab".repeat(32)).is_ok());
        assert!(PhotoCipher::from_hex("abcd").is_err());
        assert!(PhotoCipher::from_hex(&"zz".repeat(32)).is_err());
        assert!(format!("{:?}", PhotoCipher::new([1; 32])).contains("redacted"));
    }
}
