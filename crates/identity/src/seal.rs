//! Sealing data at rest: XChaCha20-Poly1305 with a 32-byte key kept in a 0600 file, each
//! ciphertext bound to a context (the row it belongs to), so sealed bytes moved to another row
//! do not open. The API seals ID photos and results with it, the kiosk its queued results.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::key::{hex, random_bytes};

/// A sealing key. Its `Debug` output is redacted.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
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

impl Sealer {
    /// A sealer with a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// A sealer from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = unhex(text)
            .filter(|b| b.len() == 32)
            .ok_or_else(|| "the key must be 64 hex digits (32 bytes)".to_owned())?;
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Ok(Self::new(key))
    }

    /// The key in `path`, created (mode 0600, 64 hex digits) with a fresh random key when the
    /// file does not exist. Returns the sealer and whether the key was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text)
                .map(|c| (c, false))
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = random_bytes().map_err(|e| e.to_string())?;
                write_new_private(path, format!("{}\n", hex(&key)).as_bytes())
                    .map_err(|e| format!("cannot create the key {}: {e}", path.display()))?;
                Ok((Self::new(key), true))
            }
            Err(e) => Err(format!("cannot read the key {}: {e}", path.display())),
        }
    }

    /// Encrypts `plain`, bound to `context`: nonce ‖ ciphertext.
    pub fn seal(&self, plain: &[u8], context: &str) -> Result<Vec<u8>, String> {
        let nonce: [u8; 24] = random_bytes().map_err(|e| e.to_string())?;
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| "encryption failed".to_owned())?;
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`seal`](Self::seal) made for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, String> {
        if sealed.len() < 24 + 16 {
            return Err("the sealed data is truncated".to_owned());
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
            .map_err(|_| "the sealed data does not open (wrong key, or altered data)".to_owned())
    }
}

fn write_new_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
    fn sealed_data_round_trips_and_is_bound_to_its_context() {
        let c = Sealer::new([7; 32]);
        let sealed = c.seal(b"jpeg bytes", "ses_1").unwrap();
        assert_eq!(c.open(&sealed, "ses_1").unwrap(), b"jpeg bytes");
        assert!(c.open(&sealed, "ses_2").is_err());
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(c.open(&bad, "ses_1").is_err());
        assert!(Sealer::new([8; 32]).open(&sealed, "ses_1").is_err());
        assert!(c.open(&sealed[..10], "ses_1").is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_hex_in_a_private_file() {
        assert!(Sealer::from_hex(&"ab".repeat(32)).is_ok());
        assert!(Sealer::from_hex("abcd").is_err());
        assert!(Sealer::from_hex(&"zz".repeat(32)).is_err());
        assert!(format!("{:?}", Sealer::new([1; 32])).contains("redacted"));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k/seal.key");
        let (a, created) = Sealer::load_or_create(&p).unwrap();
        assert!(created);
        let (b, created) = Sealer::load_or_create(&p).unwrap();
        assert!(!created);
        assert_eq!(b.open(&a.seal(b"x", "c").unwrap(), "c").unwrap(), b"x");
        std::fs::write(&p, "not hex").unwrap();
        assert!(
            Sealer::load_or_create(&p).is_err(),
            "a damaged key is an error, never replaced"
        );
    }
}
