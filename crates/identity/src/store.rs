//! The identity on disk: `identity.toml` and one PKCS#8 PEM file per key.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use serde::{Deserialize, Serialize};

use crate::key::check_kiosk_id;
use crate::{IdentityError, KioskIdentity, KioskKey};

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

pub(crate) const STORE_FILE: &str = "identity.toml";

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
        check_kiosk_id(&file.kiosk_id)
            .map_err(|_| bad(format!("kiosk id `{}` is not valid", file.kiosk_id)))?;
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

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
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
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
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
