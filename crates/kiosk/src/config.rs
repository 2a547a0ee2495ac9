//! The kiosk's configuration file (TOML): `facekiosk.toml`, read by the `facekiosk` command and
//! the kiosk app alike.
//!
//! Looked for at `--config FILE` / `$FACEKIOSK_CONFIG`, else `~/.config/facekiosk/facekiosk.toml`
//! when it exists; every key has a default, so no file is needed. docs/CONFIGURATION.md lists
//! every key.

use std::path::{Path, PathBuf};

use facekiosk_face::engine::FaceConfig;
use facekiosk_face::runtime::RuntimeConfig;
use serde::{Deserialize, Serialize};

use crate::KioskError;

/// The whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KioskConfig {
    /// ONNX Runtime: library, execution provider, threads.
    pub runtime: RuntimeConfig,
    /// The face engine: models, calibration, detector, quality thresholds.
    pub face: FaceConfig,
    /// Face sessions: timings, what the kiosk allows.
    pub session: facekiosk_session::SessionPolicy,
    /// The camera and other frame sources.
    pub capture: facekiosk_capture::CaptureOptions,
    /// The kiosk itself.
    pub kiosk: KioskSection,
    /// The staff panel: who may open it, its PIN lock.
    pub staff: crate::staff::StaffSection,
    /// Delivering the offline queue to the verification API.
    pub sync: facekiosk_sync::SyncConfig,
    /// The verification API (`facekiosk serve`).
    pub server: facekiosk_server::ServerConfig,
}

/// The `[kiosk]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KioskSection {
    /// Where the kiosk's identity (id and Ed25519 keys) is kept; default
    /// `~/.local/share/facekiosk/identity`.
    pub keys_dir: Option<PathBuf>,
    /// The app's camera: `camera` (the first), `camera:N`, or a video file or folder of frames
    /// (for tests and demonstrations: its results are signed with a test key).
    pub camera: String,
    /// The languages the app offers (built in, or `<lang>.json` in `texts_dir`), the first by
    /// default.
    pub languages: Vec<String>,
    /// A deployment's texts: `<lang>.json` files whose keys override the built-in texts (or add
    /// a language), read at start; `facekiosk texts check --dir` checks them.
    pub texts_dir: Option<PathBuf>,
    /// The look: `default`, `high-contrast`, or a theme of `assets_dir`.
    pub theme: String,
    /// A deployment's themes: `themes/<name>/theme.json` and the files it names, changing any
    /// key or file of a built-in theme, or adding one.
    pub assets_dir: Option<PathBuf>,
    /// With nobody touching the screen for this long, the app goes back to its welcome
    /// screen and forgets what was typed, s.
    pub idle_timeout_s: u64,
    /// How long an outcome stays on screen before the welcome screen returns, s.
    pub outcome_s: u64,
    /// Fixes the liveness challenges' draw, for a `camera` that is a clip recorded for that
    /// draw (tests, demonstrations). Refused with a real camera.
    pub test_challenge_seed: Option<u64>,
    /// Kiosk mode: the window fills the screen without decorations, and the page cannot be
    /// navigated away, reloaded, printed, searched, zoomed or given a context menu.
    pub lockdown: bool,
    /// Start the app when the kiosk's user session starts (an XDG autostart entry, written or
    /// removed at each start).
    pub autostart: bool,
    /// Let the web view draw with the GPU (WebKit's accelerated compositing). Off by default:
    /// the screens need no GPU, and without it WebKit's processes take about 130 MB less
    /// (docs/PERFORMANCE.md).
    pub hardware_acceleration: bool,
}

impl Default for KioskSection {
    fn default() -> Self {
        KioskSection {
            keys_dir: None,
            camera: "camera".to_owned(),
            languages: ["en", "fr", "ar"].map(str::to_owned).to_vec(),
            texts_dir: None,
            theme: crate::theme::DEFAULT_THEME.to_owned(),
            assets_dir: None,
            idle_timeout_s: 60,
            outcome_s: 8,
            test_challenge_seed: None,
            lockdown: true,
            autostart: false,
            hardware_acceleration: false,
        }
    }
}

impl KioskConfig {
    /// Checks the values a type cannot: the message names the key and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        self.sync.validate()?;
        self.staff.validate()?;
        let k = &self.kiosk;
        if k.camera.trim().is_empty() {
            return Err("kiosk.camera is empty: expected camera, camera:N or a file".to_owned());
        }
        if k.test_challenge_seed.is_some() && k.camera.starts_with("camera") {
            return Err(
                "kiosk.test_challenge_seed is only for a recorded clip, never for a camera \
                 (predictable challenges defeat the liveness check)"
                    .to_owned(),
            );
        }
        if k.languages.is_empty()
            || k.languages.iter().any(|l| {
                l.is_empty()
                    || l.len() > 8
                    || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        {
            return Err(format!(
                "kiosk.languages = {:?}: expected language codes such as [\"en\", \"fr\"]",
                k.languages
            ));
        }
        if !(5..=3600).contains(&k.idle_timeout_s) {
            return Err(format!(
                "kiosk.idle_timeout_s = {}: expected 5 to 3600",
                k.idle_timeout_s
            ));
        }
        if !(1..=30).contains(&self.face.redetect_every) {
            return Err(format!(
                "face.redetect_every = {}: expected 1 (the detector on every frame) to 30",
                self.face.redetect_every
            ));
        }
        if !(1..=300).contains(&k.outcome_s) {
            return Err(format!(
                "kiosk.outcome_s = {}: expected 1 to 300",
                k.outcome_s
            ));
        }
        Ok(())
    }

    /// The key store directory.
    pub fn keys_dir(&self) -> Result<PathBuf, KioskError> {
        if let Some(d) = &self.kiosk.keys_dir {
            return Ok(d.clone());
        }
        facekiosk_face::runtime::data_dir()
            .map(|d| d.join("identity"))
            .ok_or(KioskError::NoDataDir(
                "the kiosk's keys (or set kiosk.keys_dir)",
            ))
    }
}

/// The configuration file to read: `explicit` (`--config`, `$FACEKIOSK_CONFIG`), else
/// `$XDG_CONFIG_HOME/facekiosk/facekiosk.toml` (or `~/.config/…`) when it exists.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let p = base.join("facekiosk").join("facekiosk.toml");
    p.is_file().then_some(p)
}

/// Reads and validates a configuration file.
pub fn read(path: &Path) -> Result<KioskConfig, KioskError> {
    let bad = |reason: String| KioskError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let mut config: KioskConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
    config.validate().map_err(bad)?;
    // Relative paths in the file are relative to the file, not to wherever the kiosk was started.
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    let rebase = |p: &mut Option<PathBuf>| {
        if let Some(v) = p
            && v.is_relative()
        {
            *v = base.join(&*v);
        }
    };
    rebase(&mut config.runtime.library);
    rebase(&mut config.face.models_dir);
    rebase(&mut config.face.calibration);
    rebase(&mut config.kiosk.keys_dir);
    rebase(&mut config.kiosk.texts_dir);
    rebase(&mut config.kiosk.assets_dir);
    rebase(&mut config.server.data_dir);
    rebase(&mut config.server.photo_key_file);
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.toml");
        std::fs::write(&p, "").unwrap();
        assert_eq!(read(&p).unwrap(), KioskConfig::default());
    }

    /// ... and it names every key that has a default (keys without one, such as paths, are
    /// shown commented out): a key added to the code but not to the example fails here.
    #[test]
    fn the_documented_example_names_every_key() {
        fn leaves(v: &toml::Value, prefix: &str, out: &mut Vec<String>) {
            if let toml::Value::Table(t) = v {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    match v {
                        toml::Value::Table(_) => leaves(v, &path, out),
                        _ => out.push(path),
                    }
                }
            }
        }
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/facekiosk.example.toml");
        let example: toml::Value = toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let defaults = toml::Value::try_from(KioskConfig::default()).unwrap();
        let (mut want, mut have) = (Vec::new(), Vec::new());
        leaves(&defaults, "", &mut want);
        leaves(&example, "", &mut have);
        let missing: Vec<_> = want.iter().filter(|k| !have.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "keys missing from the example: {missing:?}"
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.toml");
        std::fs::write(&p, "[runtime]\nprovidr = \"cuda\"\n").unwrap();
        let err = read(&p).unwrap_err().to_string();
        assert!(err.contains("k.toml") && err.contains("providr"), "{err}");
    }

    #[test]
    fn out_of_range_settings_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.toml");
        for (text, key) in [
            ("[sync]\nconcurrency = 0\n", "sync.concurrency = 0"),
            ("[sync]\nconcurrency = 33\n", "sync.concurrency = 33"),
            (
                "[sync]\nrequest_timeout_s = 0\n",
                "sync.request_timeout_s = 0",
            ),
            ("[face]\nredetect_every = 0\n", "face.redetect_every = 0"),
            ("[face]\nredetect_every = 31\n", "face.redetect_every = 31"),
        ] {
            std::fs::write(&p, text).unwrap();
            let err = read(&p).unwrap_err().to_string();
            assert!(err.contains("k.toml") && err.contains(key), "{err}");
        }
    }

    /// docs/facekiosk.example.toml lists every key with its default: it must parse, and give
    /// exactly the defaults, or the documentation is wrong.
    #[test]
    fn the_documented_example_is_the_defaults() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/facekiosk.example.toml");
        assert_eq!(read(&p).unwrap(), KioskConfig::default());
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.toml");
        std::fs::write(
            &p,
            "[face]\nmodels_dir = \"models\"\n[runtime]\nprovider = \"auto\"\n",
        )
        .unwrap();
        let c = read(&p).unwrap();
        assert_eq!(c.face.models_dir, Some(dir.path().join("models")));
        assert_eq!(
            c.runtime.provider,
            facekiosk_face::runtime::ProviderChoice::Auto
        );
    }
}
