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
//! [`KeyStore`] keeps the identity on disk: `identity.toml` and one PKCS#8 PEM file per key,
//! created with mode 0600 in a 0700 directory, written atomically.
//!
//! **Never:** a private key never reaches a log, a `Debug` output or a JWKS; a malformed JWS or
//! JWKS is an error, never a panic.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What can go wrong with keys and results.
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

/// One Ed25519 key pair of a kiosk.
#[derive(Clone)]
pub struct KioskKey {
    kid: String,
    key: SigningKey,
    created_at: u64,
    retired_at: Option<u64>,
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

    fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: self.public_x(),
            kid: self.kid.clone(),
            alg: Some("EdDSA".to_owned()),
            key_use: Some("sig".to_owned()),
        }
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], IdentityError> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| IdentityError::Random(e.to_string()))?;
    Ok(b)
}

/// A kiosk: its id and its keys (the last is the current one).
#[derive(Clone, Debug)]
pub struct KioskIdentity {
    kiosk_id: String,
    keys: Vec<KioskKey>,
}

impl KioskIdentity {
    /// A new identity with one fresh key. The id is `kiosk-` and 12 random hex digits unless given.
    pub fn generate(kiosk_id: Option<String>, now_s: u64) -> Result<Self, IdentityError> {
        let id = match kiosk_id {
            Some(id) => {
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
                id
            }
            None => {
                let b: [u8; 6] = random_bytes()?;
                format!(
                    "kiosk-{}",
                    b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                )
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
    /// signed still verify.
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

    /// The public keys as a JWKS (current last).
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
        }
    }
}

/// Signs result claims with one key. Cheap to clone; pure (no I/O, no clock).
#[derive(Clone)]
pub struct ResultSigner {
    kiosk_id: String,
    kid: String,
    key: SigningKey,
}

impl fmt::Debug for ResultSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultSigner")
            .field("kiosk_id", &self.kiosk_id)
            .field("kid", &self.kid)
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

/// A public key in a JWKS.
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
}

/// A result that verified: its header's key id and its claims.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The key that signed it.
    pub kid: String,
    /// The payload.
    pub claims: serde_json::Value,
}

/// Verifies a result JWS as an integrator would: EdDSA only, a known `kid`, a valid signature,
/// `iss` matching the key, `exp` in the future at `now_s` (unix seconds).
pub fn verify(jws: &str, jwks: &Jwks, now_s: u64) -> Result<Verified, VerifyError> {
    let jws = jws.trim();
    if jws.split('.').count() != 3 {
        return Err(VerifyError::Malformed(
            "expected three dot-separated parts".to_owned(),
        ));
    }
    let header =
        jsonwebtoken::decode_header(jws).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if header.alg != Algorithm::EdDSA {
        return Err(VerifyError::Algorithm(format!("{:?}", header.alg)));
    }
    let kid = header
        .kid
        .ok_or_else(|| VerifyError::Malformed("the header has no `kid`".to_owned()))?;
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| VerifyError::UnknownKey(kid.clone()))?;
    if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
        return Err(VerifyError::BadJwks(format!(
            "key `{kid}` is not an Ed25519 key"
        )));
    }
    // jsonwebtoken slices the key to 32 bytes: check the length first so a short key is an
    // error, not a panic.
    match URL_SAFE_NO_PAD.decode(jwk.x.trim_end_matches('=')) {
        Ok(bytes) if bytes.len() == 32 => {}
        _ => {
            return Err(VerifyError::BadJwks(format!(
                "key `{kid}`: `x` is not a 32-byte base64url value"
            )));
        }
    }
    let key =
        DecodingKey::from_ed_components(&jwk.x).map_err(|e| VerifyError::BadJwks(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    // Time is checked below against the caller's clock, not the system's.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<serde_json::Value>(jws, &key, &validation).map_err(|e| {
        match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                VerifyError::BadSignature(kid.clone())
            }
            _ => VerifyError::Malformed(e.to_string()),
        }
    })?;
    let claims = data.claims;
    let iss = claims["iss"].as_str().ok_or(VerifyError::Claim("iss"))?;
    if !(kid == iss
        || kid
            .strip_prefix(iss)
            .is_some_and(|rest| rest.starts_with('.')))
    {
        return Err(VerifyError::Issuer {
            iss: iss.to_owned(),
            kid,
        });
    }
    let exp = claims["exp"].as_u64().ok_or(VerifyError::Claim("exp"))?;
    if now_s >= exp {
        return Err(VerifyError::Expired { exp, now: now_s });
    }
    Ok(Verified { kid, claims })
}

/// The identity on disk.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    kiosk_id: String,
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
    kid: String,
    file: String,
    created_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retired_at: Option<u64>,
}

const STORE_FILE: &str = "identity.toml";

impl KeyStore {
    /// A store in `dir` (created when needed, mode 0700).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when an identity is stored.
    pub fn exists(&self) -> bool {
        self.dir.join(STORE_FILE).is_file()
    }

    /// Loads the identity, creating one on first use. Returns it and whether it was created.
    pub fn load_or_create(&self, now_s: u64) -> Result<(KioskIdentity, bool), IdentityError> {
        if self.exists() {
            return Ok((self.load()?, false));
        }
        let identity = KioskIdentity::generate(None, now_s)?;
        self.save(&identity)?;
        tracing::info!(kiosk_id = identity.kiosk_id(), dir = %self.dir.display(), "created the kiosk identity");
        Ok((identity, true))
    }

    /// Loads the stored identity.
    pub fn load(&self) -> Result<KioskIdentity, IdentityError> {
        let path = self.dir.join(STORE_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| IdentityError::Io {
            path: path.clone(),
            source: e,
        })?;
        let bad = |reason: String| IdentityError::Store {
            path: path.clone(),
            reason,
        };
        let file: StoreFile = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
        if file.keys.is_empty() {
            return Err(bad("lists no key".to_owned()));
        }
        let mut keys = Vec::with_capacity(file.keys.len());
        for k in file.keys {
            if Path::new(&k.file).components().count() != 1 {
                return Err(bad(format!(
                    "key file `{}` must be a plain file name",
                    k.file
                )));
            }
            let key_path = self.dir.join(&k.file);
            check_private(&key_path)?;
            let pem = std::fs::read_to_string(&key_path).map_err(|e| IdentityError::Io {
                path: key_path.clone(),
                source: e,
            })?;
            let key = SigningKey::from_pkcs8_pem(&pem).map_err(|_| IdentityError::Store {
                path: key_path.clone(),
                reason: "not a PKCS#8 Ed25519 private key".to_owned(),
            })?;
            keys.push(KioskKey {
                kid: k.kid,
                key,
                created_at: k.created_at,
                retired_at: k.retired_at,
            });
        }
        Ok(KioskIdentity {
            kiosk_id: file.kiosk_id,
            keys,
        })
    }

    /// Writes the identity (keys first, then the index, each atomically).
    pub fn save(&self, identity: &KioskIdentity) -> Result<(), IdentityError> {
        create_private_dir(&self.dir)?;
        let mut stored = Vec::new();
        for (i, k) in identity.keys.iter().enumerate() {
            let file = format!("key-{}.pem", i + 1);
            let path = self.dir.join(&file);
            // Always written (atomically): a file left by an earlier, interrupted identity must
            // never be paired with this one's index.
            let pem = k
                .key
                .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| IdentityError::Sign(e.to_string()))?;
            write_private(&path, pem.as_bytes())?;
            stored.push(StoredKey {
                kid: k.kid.clone(),
                file,
                created_at: k.created_at,
                retired_at: k.retired_at,
            });
        }
        let index = toml::to_string_pretty(&StoreFile {
            kiosk_id: identity.kiosk_id.clone(),
            keys: stored,
        })
        .map_err(|e| IdentityError::Store {
            path: self.dir.join(STORE_FILE),
            reason: e.to_string(),
        })?;
        write_private(&self.dir.join(STORE_FILE), index.as_bytes())
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err(dir))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), IdentityError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))
}

/// Writes `bytes` to `path` through a temporary file created with mode 0600, then renames it:
/// the file is never readable by others, and never half-written.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    use std::io::Write as _;
    let tmp = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp).map_err(io_err(&tmp))?;
    f.write_all(bytes).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

/// Refuses a private key file that others can read (as ssh does).
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), IdentityError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(IdentityError::Store {
            path: path.to_path_buf(),
            reason: format!(
                "the private key is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), IdentityError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(iss: &str, exp: u64) -> serde_json::Value {
        json!({ "iss": iss, "sub": "s1", "iat": 1000, "exp": exp, "isVerified": true })
    }

    #[test]
    fn a_signed_result_verifies_and_an_altered_one_does_not() {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
        let ok = verify(&jws, &id.jwks(), 1500).unwrap();
        assert_eq!(ok.kid, "kiosk-test");
        assert_eq!(ok.claims["sub"], "s1");

        // Change one byte of the payload, of the signature, of the header.
        let bytes = jws.as_bytes();
        let dots: Vec<usize> = jws.match_indices('.').map(|(i, _)| i).collect();
        for at in [dots[0] + 5, dots[1] + 5, 5] {
            let mut altered = bytes.to_vec();
            altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(altered).unwrap();
            assert!(
                verify(&altered, &id.jwks(), 1500).is_err(),
                "altered at {at}"
            );
        }
    }

    #[test]
    fn expiry_issuer_and_unknown_keys() {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
        assert_eq!(
            verify(&jws, &id.jwks(), 2000),
            Err(VerifyError::Expired {
                exp: 2000,
                now: 2000
            })
        );
        let other = KioskIdentity::from_seed("kiosk-other", [8; 32], 0);
        assert_eq!(
            verify(&jws, &other.jwks(), 1500),
            Err(VerifyError::UnknownKey("kiosk-test".into()))
        );
        // A key with the right kid but another public key.
        let mut forged = other.jwks();
        forged.keys[0].kid = "kiosk-test".into();
        assert_eq!(
            verify(&jws, &forged, 1500),
            Err(VerifyError::BadSignature("kiosk-test".into()))
        );
        let wrong_iss = id.signer().sign(&claims("kiosk-else", 2000)).unwrap();
        assert!(matches!(
            verify(&wrong_iss, &id.jwks(), 1500),
            Err(VerifyError::Issuer { .. })
        ));
    }

    #[test]
    fn rotation_keeps_old_results_verifiable() {
        let mut id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let old = id.signer().sign(&claims("kiosk-test", 9000)).unwrap();
        id.rotate(100).unwrap();
        assert_eq!(id.current().kid(), "kiosk-test.2");
        let new = id.signer().sign(&claims("kiosk-test", 9000)).unwrap();
        let jwks = id.jwks();
        assert_eq!(verify(&old, &jwks, 500).unwrap().kid, "kiosk-test");
        assert_eq!(verify(&new, &jwks, 500).unwrap().kid, "kiosk-test.2");
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        for bad in [
            "",
            "a.b",
            "a.b.c",
            "....",
            "eyJhbGciOiJFZERTQSJ9.e30.",
            "🙂.🙂.🙂",
        ] {
            assert!(verify(bad, &id.jwks(), 0).is_err(), "{bad}");
        }
        let jws = id.signer().sign(&claims("kiosk-test", 2000)).unwrap();
        let mut short = id.jwks();
        short.keys[0].x = "AAAA".into();
        assert!(matches!(
            verify(&jws, &short, 0),
            Err(VerifyError::BadJwks(_))
        ));
        assert!(Jwks::parse("{\"keys\": 5}").is_err());
    }

    #[test]
    fn debug_never_shows_a_private_key() {
        let id = KioskIdentity::from_seed("kiosk-test", [7; 32], 0);
        let text = format!("{id:?} {:?}", id.signer());
        let private = URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(
            !text.contains(&private) && !text.contains("[7, 7"),
            "{text}"
        );
    }

    #[test]
    fn the_store_round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path().join("identity"));
        let (id, created) = store.load_or_create(1000).unwrap();
        assert!(created);
        let (again, created) = store.load_or_create(2000).unwrap();
        assert!(!created);
        assert_eq!(again.kiosk_id(), id.kiosk_id());
        assert_eq!(again.current().public_x(), id.current().public_x());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.dir().join("key-1.pem")), 0o600);
            assert_eq!(mode(&store.dir().join(STORE_FILE)), 0o600);
            assert_eq!(mode(store.dir()), 0o700);
            // A key others can read is refused.
            std::fs::set_permissions(
                store.dir().join("key-1.pem"),
                std::fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            let err = store.load().unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
    }

    #[test]
    fn a_stale_key_file_is_never_paired_with_a_new_identity() {
        // Review finding: a crash after writing key-1.pem but before identity.toml used to leave
        // the old key on disk while the new identity signed with another one.
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path());
        let stale = KioskIdentity::from_seed("kiosk-stale", [3; 32], 0);
        store.save(&stale).unwrap();
        std::fs::remove_file(dir.path().join(STORE_FILE)).unwrap();
        let (fresh, created) = store.load_or_create(10).unwrap();
        assert!(created);
        let back = store.load().unwrap();
        assert_eq!(back.current().public_x(), fresh.current().public_x());
        assert_ne!(back.current().public_x(), stale.current().public_x());
    }

    #[test]
    fn rotation_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path());
        let (mut id, _) = store.load_or_create(1000).unwrap();
        id.rotate(2000).unwrap();
        store.save(&id).unwrap();
        let back = store.load().unwrap();
        assert_eq!(back.keys().len(), 2);
        assert_eq!(back.keys()[0].retired_at(), Some(2000));
        assert_eq!(back.current().kid(), format!("{}.2", id.kiosk_id()));
    }
}
