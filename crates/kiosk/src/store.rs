//! Where a kiosk keeps its state, under its data directory (`$FACEKIOSK_DATA_DIR`, default
//! `~/.local/share/facekiosk`): its identity (the key store, `kiosk.keys_dir`), the public
//! halves of its test keys (`test-jwks.json`), its registration with the verification API
//! (`sync/registration.toml`, mode 0600) and its outbox (`sync/outbox.db`, sealed with
//! `outbox.key` in the key store). Two kiosks with two data directories run side by side.

use std::path::{Path, PathBuf};

use facekiosk_face::engine::FaceEngine;
use facekiosk_identity::{Jwks, KeyStore, KioskIdentity, Sealer, TestJwksFile};
use facekiosk_runner::Ending;
use facekiosk_sync::{ApiClient, KeyPublisher, NewResult, Outbox, QueueStatus, SEAL_KEY_FILE};
use serde::{Deserialize, Serialize};

use crate::KioskError;
use crate::config::KioskConfig;

/// What registration left behind.
#[derive(Clone, Serialize, Deserialize)]
pub struct Registration {
    /// The API's base URL.
    pub api: String,
    /// The kiosk id it registered.
    pub kiosk_id: String,
    /// The kiosk's credential (a secret: never logged).
    pub credential: String,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("api", &self.api)
            .field("kiosk_id", &self.kiosk_id)
            .finish_non_exhaustive()
    }
}

/// A kiosk's state on disk.
#[derive(Clone, Debug)]
pub struct KioskStore {
    // Each is checked when it is used: a command that needs only one must not fail for lack of
    // another.
    keys_dir: Option<PathBuf>,
    sync_dir: Option<PathBuf>,
    models_dir: Option<PathBuf>,
}

/// `camera` or `camera:N`: a camera, not a file.
pub fn is_camera_spec(s: &str) -> bool {
    s == "camera"
        || s.strip_prefix("camera:")
            .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The unix time now, ms (the edge: business logic gets time passed in).
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl KioskStore {
    /// The state of the kiosk `config` describes.
    pub fn new(config: &KioskConfig) -> Result<KioskStore, KioskError> {
        let data = facekiosk_face::runtime::data_dir();
        Ok(KioskStore {
            keys_dir: config.keys_dir().ok(),
            sync_dir: data.as_ref().map(|d| d.join("sync")),
            models_dir: config
                .face
                .models_dir
                .clone()
                .or_else(|| data.map(|d| d.join("models"))),
        })
    }

    fn keys_dir(&self) -> Result<&Path, KioskError> {
        self.keys_dir.as_deref().ok_or(KioskError::NoDataDir(
            "the kiosk's keys (or set kiosk.keys_dir)",
        ))
    }

    fn sync_dir(&self) -> Result<&Path, KioskError> {
        self.sync_dir
            .as_deref()
            .ok_or(KioskError::NoDataDir("the kiosk's registration and outbox"))
    }

    /// Takes the lock that lets one app at a time run on this kiosk's outbox and camera: held
    /// while the returned file is open. A second app is refused with the lock's path.
    pub fn lock_app(&self) -> Result<std::fs::File, KioskError> {
        let dir = self.sync_dir()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| KioskError::Other(format!("{}: {e}", dir.display())))?;
        let path = dir.join("app.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| KioskError::Other(format!("{}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(KioskError::Other(format!(
                "another FaceKiosk app is already running on this kiosk (lock: {})",
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(KioskError::Other(format!("{}: {e}", path.display())))
            }
        }
    }

    /// The state of a kiosk whose data directory is `data` (what `$FACEKIOSK_DATA_DIR` says
    /// for [`new`](Self::new)); its keys in `config.kiosk.keys_dir` or `data/identity`.
    pub fn in_dir(data: &Path, config: &KioskConfig) -> KioskStore {
        KioskStore {
            keys_dir: Some(
                config
                    .kiosk
                    .keys_dir
                    .clone()
                    .unwrap_or_else(|| data.join("identity")),
            ),
            sync_dir: Some(data.join("sync")),
            models_dir: Some(
                config
                    .face
                    .models_dir
                    .clone()
                    .unwrap_or_else(|| data.join("models")),
            ),
        }
    }

    /// The camera staff chose in the staff panel (`camera:N`), kept beside the outbox; `None`
    /// when they chose none (the configuration's `kiosk.camera` holds).
    pub fn camera_choice(&self) -> Option<String> {
        let path = self.sync_dir().ok()?.join("camera-choice");
        let text = std::fs::read_to_string(path).ok()?;
        let choice = text.trim();
        is_camera_spec(choice).then(|| choice.to_owned())
    }

    /// Keeps the camera staff chose (`camera` or `camera:N`), or forgets it (`None`).
    pub fn save_camera_choice(&self, choice: Option<&str>) -> Result<(), KioskError> {
        let dir = self.sync_dir()?;
        let path = dir.join("camera-choice");
        let io = |e: std::io::Error| KioskError::Other(format!("{}: {e}", path.display()));
        match choice {
            Some(c) if is_camera_spec(c) => {
                std::fs::create_dir_all(dir).map_err(io)?;
                std::fs::write(&path, format!("{c}\n")).map_err(io)
            }
            Some(c) => Err(KioskError::Other(format!(
                "{c:?} is not a camera: expected camera or camera:N"
            ))),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
                _ => Ok(()),
            },
        }
    }

    /// The camera the kiosk uses: staff's choice when `kiosk.camera` is a camera (a clip or
    /// folder configured for tests and demonstrations is never replaced), else the setting.
    pub fn effective_camera(&self, config: &KioskConfig) -> String {
        match self.camera_choice() {
            Some(choice) if config.kiosk.camera.starts_with("camera") => choice,
            _ => config.kiosk.camera.clone(),
        }
    }

    /// Where models installed with `facekiosk models install` go.
    pub fn models_dir(&self) -> Result<PathBuf, KioskError> {
        self.models_dir
            .clone()
            .ok_or(KioskError::NoDataDir("models (or set face.models_dir)"))
    }

    /// The kiosk's identity, created on first use (then `true`).
    pub fn identity(&self) -> Result<(KioskIdentity, KeyStore, bool), KioskError> {
        let store = KeyStore::new(self.keys_dir()?);
        let (identity, created) = store.load_or_create(unix_ms() / 1000)?;
        Ok((identity, store, created))
    }

    /// Where this kiosk's test keys are published: `test-jwks.json` beside its key store.
    pub fn test_jwks(&self) -> Result<TestJwksFile, KioskError> {
        let keys = self.keys_dir()?;
        let parent = keys.parent().unwrap_or(keys);
        Ok(TestJwksFile::new(
            parent.join(facekiosk_identity::TEST_JWKS_FILE),
        ))
    }

    /// The registration file.
    pub fn registration_path(&self) -> Result<PathBuf, KioskError> {
        Ok(self.sync_dir()?.join("registration.toml"))
    }

    /// The registration, when the kiosk is registered.
    pub fn registration(&self) -> Result<Option<Registration>, KioskError> {
        let path = self.registration_path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .map(Some)
                .map_err(|e| KioskError::Registration {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KioskError::Registration {
                path,
                reason: format!("cannot read it: {e}"),
            }),
        }
    }

    /// Saves a registration (mode 0600, replaced atomically); returns its file.
    pub fn save_registration(&self, r: &Registration) -> Result<PathBuf, KioskError> {
        use std::io::Write as _;
        let path = self.registration_path()?;
        let err = |reason: String| KioskError::Registration {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(self.sync_dir()?)
            .map_err(|e| err(format!("cannot create its folder: {e}")))?;
        let tmp = path.with_extension("toml.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let text = toml::to_string(r).map_err(|e| err(e.to_string()))?;
        let mut f = opts
            .open(&tmp)
            .map_err(|e| err(format!("cannot write it: {e}")))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err(format!("cannot write it: {e}")))?;
        std::fs::rename(&tmp, &path).map_err(|e| err(format!("cannot write it: {e}")))?;
        Ok(path)
    }

    /// The API client of a registered kiosk.
    pub fn client(
        &self,
        config: &KioskConfig,
        registration: &Registration,
    ) -> Result<ApiClient, KioskError> {
        Ok(config
            .sync
            .client(&registration.api, Some(registration.credential.clone()))?)
    }

    /// Opens (or creates) the outbox.
    pub async fn open_outbox(&self) -> Result<Outbox, KioskError> {
        let key_path = self.keys_dir()?.join(SEAL_KEY_FILE);
        let (sealer, _) = Sealer::load_or_create(&key_path).map_err(KioskError::Other)?;
        Ok(Outbox::open(
            &self.sync_dir()?.join("outbox.db"),
            sealer,
            unix_ms() as i64,
        )
        .await?)
    }

    /// Publishes the kiosk's keys as they are when needed (a demo run beside a long-running
    /// worker adds a test key after it started).
    pub fn key_publisher(&self) -> KeyPublisher {
        let store = self.clone();
        KeyPublisher::loading(move || {
            let (identity, _, _) = store.identity().map_err(|e| e.to_string())?;
            // A damaged test-key file must not keep the live keys from being published.
            let test_keys: Jwks = store
                .test_jwks()
                .map_err(|e| e.to_string())?
                .read()
                .unwrap_or_default();
            Ok((identity, test_keys))
        })
    }

    /// Queues a finished session's signed result with its traces, in one durable transaction,
    /// when the kiosk is registered: call it BEFORE the outcome is shown. Returns the queue's
    /// counts after it (`None`: not registered, or no signed result to queue).
    pub async fn queue_ending(
        &self,
        ending: &Ending,
        traces: &[serde_json::Value],
    ) -> Result<Option<QueueStatus>, KioskError> {
        if self.registration()?.is_none() {
            return Ok(None);
        }
        let (jws, claims) = match ending {
            Ending::Success { jws, verified, .. } => (jws, &verified.claims),
            Ending::Error { .. } => return Ok(None),
        };
        let jti = claims["jti"].as_str().unwrap_or_default();
        let session = claims["sub"].as_str().unwrap_or_default();
        if jti.is_empty() || session.is_empty() {
            return Err(KioskError::Other(
                "the signed result has no jti or sub: not queued".to_owned(),
            ));
        }
        let outbox = self.open_outbox().await?;
        let queued = outbox
            .enqueue_result(
                &NewResult {
                    jti,
                    session_id: session,
                    test: claims["test"] == true,
                    jws,
                    traces,
                },
                unix_ms() as i64,
            )
            .await;
        let status = match queued {
            Ok(_) => outbox.status().await,
            Err(e) => Err(e),
        };
        outbox.close().await;
        Ok(Some(status?))
    }

    /// A registered kiosk's outbox must be usable before a session starts (a result that
    /// could not be kept must not be made). Unregistered kiosks need none.
    pub async fn check_outbox(&self) -> Result<(), KioskError> {
        if self.registration()?.is_none() {
            return Ok(());
        }
        self.open_outbox().await?.close().await;
        Ok(())
    }
}

/// Loads the face engine as configured. A passive-liveness model installed with `facekiosk
/// models install` (in the default models directory) is used without further configuration;
/// replacing a shipped model needs `face.models_dir`.
pub fn load_engine(config: &KioskConfig, store: &KioskStore) -> Result<FaceEngine, KioskError> {
    let mut face = config.face.clone();
    if let Ok(installed) = store.models_dir()
        && face.models_dir.as_deref() != Some(installed.as_path())
        && installed
            .join(facekiosk_face::manifest::MANIFEST_FILE)
            .is_file()
    {
        face.drop_in_models_dir = Some(installed);
    }
    FaceEngine::load(&config.runtime, &face).map_err(|e| KioskError::Engine(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_choose_a_camera_that_outlives_a_restart_but_never_replaces_a_clip() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = KioskConfig::default();
        let store = KioskStore::in_dir(dir.path(), &config);
        assert_eq!(store.effective_camera(&config), "camera");
        store.save_camera_choice(Some("camera:2")).unwrap();
        let again = KioskStore::in_dir(dir.path(), &config);
        assert_eq!(again.camera_choice().as_deref(), Some("camera:2"));
        assert_eq!(again.effective_camera(&config), "camera:2");
        config.kiosk.camera = "/srv/demo/clip.avi".to_owned();
        assert_eq!(again.effective_camera(&config), "/srv/demo/clip.avi");
        for bad in [
            "/dev/video0",
            "camera:",
            "camera:x",
            "camera:1234",
            "clip.avi",
        ] {
            assert!(store.save_camera_choice(Some(bad)).is_err(), "{bad}");
        }
        store.save_camera_choice(None).unwrap();
        store.save_camera_choice(None).unwrap();
        assert_eq!(store.camera_choice(), None);
    }
}
