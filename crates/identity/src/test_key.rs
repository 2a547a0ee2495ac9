//! Ephemeral test keys: what signs results that did not come from a camera (a video file, a
//! folder of images, the demo), so that the kiosk's own keys only ever vouch for live captures.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use crate::key::{hex, public_jwk, random_bytes};
use crate::store::{io_err, write_private};
use crate::{IdentityError, Jwk, Jwks, KioskIdentity, ResultSigner};

/// The file name of a kiosk's test JWKS.
pub const TEST_JWKS_FILE: &str = "test-jwks.json";

/// At most this many test keys are kept in a test JWKS (the oldest go first).
const MAX_TEST_KEYS: usize = 500;

/// A one-off key for test results. Its private half lives only in memory; its public half, with
/// a validity window of `ttl_s` from its creation, is published in a [`TestJwksFile`].
#[derive(Clone, Debug)]
pub struct TestKey {
    signer: ResultSigner,
    jwk: Jwk,
}

impl TestKey {
    /// A fresh test key for `identity`'s kiosk, valid for results dated `now_s .. now_s + ttl_s`.
    /// Its `kid` is `<kiosk id>.test-<12 hex digits>`.
    pub fn generate(
        identity: &KioskIdentity,
        now_s: u64,
        ttl_s: u64,
    ) -> Result<Self, IdentityError> {
        let key = SigningKey::from_bytes(&random_bytes()?);
        let suffix: [u8; 6] = random_bytes()?;
        let kid = format!("{}.test-{}", identity.kiosk_id(), hex(&suffix));
        let jwk = public_jwk(&key, &kid, now_s, Some(now_s.saturating_add(ttl_s)));
        Ok(Self {
            signer: ResultSigner {
                kiosk_id: identity.kiosk_id().to_owned(),
                kid,
                key,
                test: true,
            },
            jwk,
        })
    }

    /// The signer (its results must say `test: true`).
    pub fn signer(&self) -> ResultSigner {
        self.signer.clone()
    }

    /// The public key with its validity window.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }
}

/// A JWKS file that collects the public halves of a kiosk's test keys, so that
/// `facekiosk verify-result R --jwks test-jwks.json` checks any test result the kiosk made.
#[derive(Clone, Debug)]
pub struct TestJwksFile {
    path: PathBuf,
}

impl TestJwksFile {
    /// The file at `path` (created on the first [`TestJwksFile::add`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the keys; an absent file is an empty set.
    pub fn read(&self) -> Result<Jwks, IdentityError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Jwks::parse(&text).map_err(|e| IdentityError::Store {
                path: self.path.clone(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Jwks::default()),
            Err(e) => Err(io_err(&self.path)(e)),
        }
    }

    /// Adds a key (atomically: the file is replaced by a complete new one). A file that is not
    /// a JWKS is an error, and stays as it was.
    pub fn add(&self, jwk: &Jwk) -> Result<(), IdentityError> {
        let mut jwks = self.read()?;
        jwks.keys.retain(|k| k.kid != jwk.kid);
        jwks.keys.push(jwk.clone());
        let excess = jwks.keys.len().saturating_sub(MAX_TEST_KEYS);
        jwks.keys.drain(..excess);
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let text = serde_json::to_string_pretty(&jwks).map_err(|e| IdentityError::Store {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        write_private(&self.path, text.as_bytes())
    }
}
