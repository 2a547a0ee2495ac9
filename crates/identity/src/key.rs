//! A kiosk's key pairs and signing.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::{IdentityError, Jwk, Jwks};

/// How long a retired key still covers results, s: a session that started before a rotation
/// signs with the key it started with, and its result must still verify.
pub const ROTATION_GRACE_S: u64 = 15 * 60;

/// One Ed25519 key pair of a kiosk.
#[derive(Clone)]
pub struct KioskKey {
    pub(crate) kid: String,
    pub(crate) key: SigningKey,
    pub(crate) created_at: u64,
    pub(crate) retired_at: Option<u64>,
}

impl fmt::Debug for KioskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KioskKey")
            .field("kid", &self.kid)
            .field("public", &self.public_x())
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

impl KioskKey {
    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key, base64url (the JWK `x`).
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// When the key was made, unix seconds.
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// When the key was replaced by a newer one, unix seconds.
    pub fn retired_at(&self) -> Option<u64> {
        self.retired_at
    }

    /// Its public half, with its validity window: from its creation until its retirement (plus
    /// [`ROTATION_GRACE_S`]).
    pub fn jwk(&self) -> Jwk {
        public_jwk(
            &self.key,
            &self.kid,
            self.created_at,
            self.retired_at.map(|t| t.saturating_add(ROTATION_GRACE_S)),
        )
    }
}

pub(crate) fn public_jwk(key: &SigningKey, kid: &str, nbf: u64, exp: Option<u64>) -> Jwk {
    Jwk {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes()),
        kid: kid.to_owned(),
        alg: Some("EdDSA".to_owned()),
        key_use: Some("sig".to_owned()),
        nbf: Some(nbf),
        exp,
    }
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], IdentityError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| IdentityError::Random(e.to_string()))?;
    Ok(b)
}

/// A kiosk: its id and its keys (the last is the current one).
#[derive(Clone, Debug)]
pub struct KioskIdentity {
    pub(crate) kiosk_id: String,
    pub(crate) keys: Vec<KioskKey>,
}

/// Checks a kiosk id: letters, digits, `-` or `_`.
pub(crate) fn check_kiosk_id(id: &str) -> Result<(), IdentityError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(IdentityError::Store {
            path: PathBuf::new(),
            reason: format!("kiosk id `{id}` must be letters, digits, `-` or `_`"),
        });
    }
    Ok(())
}

impl KioskIdentity {
    /// A new identity with one fresh key. The id is `kiosk-` and 12 random hex digits unless given.
    pub fn generate(kiosk_id: Option<String>, now_s: u64) -> Result<Self, IdentityError> {
        let id = match kiosk_id {
            Some(id) => {
                check_kiosk_id(&id)?;
                id
            }
            None => {
                let b: [u8; 6] = random_bytes()?;
                format!("kiosk-{}", hex(&b))
            }
        };
        Ok(Self {
            keys: vec![KioskKey {
                kid: id.clone(),
                key: SigningKey::from_bytes(&random_bytes()?),
                created_at: now_s,
                retired_at: None,
            }],
            kiosk_id: id,
        })
    }

    /// An identity from a fixed 32-byte seed (tests and reproducible demos only).
    pub fn from_seed(kiosk_id: &str, seed: [u8; 32], now_s: u64) -> Self {
        Self {
            kiosk_id: kiosk_id.to_owned(),
            keys: vec![KioskKey {
                kid: kiosk_id.to_owned(),
                key: SigningKey::from_bytes(&seed),
                created_at: now_s,
                retired_at: None,
            }],
        }
    }

    /// The kiosk id (`iss` of every result, device identifier of traces).
    pub fn kiosk_id(&self) -> &str {
        &self.kiosk_id
    }

    /// Every key, oldest first; the last is current.
    pub fn keys(&self) -> &[KioskKey] {
        &self.keys
    }

    /// The key that signs new results.
    pub fn current(&self) -> &KioskKey {
        // An identity always has at least one key (constructors and the store ensure it).
        &self.keys[self.keys.len() - 1]
    }

    /// Replaces the current key by a fresh one; the old key stays in the JWKS so results it
    /// signed still verify, and its validity window closes ([`ROTATION_GRACE_S`] from now).
    pub fn rotate(&mut self, now_s: u64) -> Result<&KioskKey, IdentityError> {
        let next = self.keys.len() + 1;
        let key = KioskKey {
            kid: format!("{}.{next}", self.kiosk_id),
            key: SigningKey::from_bytes(&random_bytes()?),
            created_at: now_s,
            retired_at: None,
        };
        if let Some(last) = self.keys.last_mut() {
            last.retired_at = Some(now_s);
        }
        self.keys.push(key);
        Ok(self.current())
    }

    /// The public keys as a JWKS (current last), each with its validity window.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(KioskKey::jwk).collect(),
        }
    }

    /// A signer for results, with the current key.
    pub fn signer(&self) -> ResultSigner {
        let k = self.current();
        ResultSigner {
            kiosk_id: self.kiosk_id.clone(),
            kid: k.kid.clone(),
            key: k.key.clone(),
            test: false,
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

/// Signs result claims with one key. Cheap to clone; pure (no I/O, no clock).
#[derive(Clone)]
pub struct ResultSigner {
    pub(crate) kiosk_id: String,
    pub(crate) kid: String,
    pub(crate) key: SigningKey,
    pub(crate) test: bool,
}

impl fmt::Debug for ResultSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultSigner")
            .field("kiosk_id", &self.kiosk_id)
            .field("kid", &self.kid)
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

impl ResultSigner {
    /// The kiosk id.
    pub fn kiosk_id(&self) -> &str {
        &self.kiosk_id
    }

    /// The key id in the JWS header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// True for an ephemeral test key ([`crate::TestKey`]): its results are not the kiosk's.
    pub fn is_test(&self) -> bool {
        self.test
    }

    /// Signs `claims` as a compact JWS (`alg: EdDSA`, `typ: JWT`, `kid`).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, IdentityError> {
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| IdentityError::Sign(e.to_string()))?;
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes()))
            .map_err(|e| IdentityError::Sign(e.to_string()))
    }
}
