//! The model manifest: which ONNX file plays which role, through which interface, with which hash.
//!
//! The models the project ships are embedded in the binary (feature `embedded-models`, on by
//! default) with their manifest, `models/manifest.toml`. A deployment can point any role at its
//! own model — one it is licensed to use — by a models directory holding a `manifest.toml` with
//! entries for the roles it replaces; the other roles keep the embedded models. Every file's
//! sha256 is checked before ONNX Runtime sees it, and a file that does not match is refused.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{FaceError, Result};

/// The manifest format version this build reads.
pub const SCHEMA: u32 = 1;

/// The file name of a manifest inside a models directory.
pub const MANIFEST_FILE: &str = "manifest.toml";

/// What a model is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Face detector for faces near the camera (the default detector).
    Detector,
    /// Face detector for faces further away, tried when the first finds nothing.
    DetectorFullRange,
    /// Dense face landmarks (eyes, mouth, head pose).
    Landmarks,
    /// Face embedder for matching.
    Embedder,
    /// Optional passive liveness (presentation-attack detection) model, installed by an operator.
    PassiveLiveness,
}

impl Role {
    /// Every role, in manifest order.
    pub const ALL: [Role; 5] = [
        Role::Detector,
        Role::DetectorFullRange,
        Role::Landmarks,
        Role::Embedder,
        Role::PassiveLiveness,
    ];

    /// The manifest key (`detector`, `embedder`, …).
    pub fn key(self) -> &'static str {
        match self {
            Role::Detector => "detector",
            Role::DetectorFullRange => "detector_full_range",
            Role::Landmarks => "landmarks",
            Role::Embedder => "embedder",
            Role::PassiveLiveness => "passive_liveness",
        }
    }

    /// The interfaces a model in this role may have.
    pub fn accepts(self, interface: Interface) -> bool {
        matches!(
            (self, interface),
            (
                Role::Detector | Role::DetectorFullRange,
                Interface::Blazeface128 | Interface::Blazeface256
            ) | (Role::Landmarks, Interface::Facemesh468)
                | (Role::Embedder, Interface::Mobilefacenet112)
                | (Role::PassiveLiveness, Interface::Minifas128)
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The tensor interface of a model: input layout, pre-processing and output meaning.
/// A replacement model must have the same interface as the role expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Interface {
    /// MediaPipe BlazeFace, 128×128 NHWC RGB in [-1, 1]; 896 anchors (strides 8, 16);
    /// outputs 16 regressors (box + 6 keypoints) and 1 score logit per anchor.
    #[serde(rename = "blazeface-128")]
    Blazeface128,
    /// BlazeFace back-model, 256×256 NHWC RGB in [-1, 1]; 896 anchors (strides 16, 32).
    #[serde(rename = "blazeface-256")]
    Blazeface256,
    /// MediaPipe FaceMesh, 192×192 NHWC RGB in [0, 1]; 468 (x, y, z) landmarks + a presence logit.
    #[serde(rename = "facemesh-468")]
    Facemesh468,
    /// MobileFaceNet-style embedder, 112×112 NHWC RGB `(v − 127.5) / 128`, ArcFace-aligned; one vector per face.
    #[serde(rename = "mobilefacenet-112")]
    Mobilefacenet112,
    /// MiniFASNet-style passive liveness, 128×128 NCHW RGB in [0, 1]; 2 logits (real, spoof).
    #[serde(rename = "minifas-128")]
    Minifas128,
}

impl Interface {
    /// The name used in manifests.
    pub fn name(self) -> &'static str {
        match self {
            Interface::Blazeface128 => "blazeface-128",
            Interface::Blazeface256 => "blazeface-256",
            Interface::Facemesh468 => "facemesh-468",
            Interface::Mobilefacenet112 => "mobilefacenet-112",
            Interface::Minifas128 => "minifas-128",
        }
    }
}

/// One role's entry in a manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// The file name, relative to the manifest's directory.
    pub file: String,
    /// The model's tensor interface.
    pub interface: Interface,
    /// The sha256 of the file, lower-case hex.
    pub sha256: String,
    /// The decision threshold, for models that decide (passive liveness: on the real−spoof logit
    /// difference; 0 means p(real) = 0.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Free text: where the model comes from, its licence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A parsed manifest. (Unknown top-level keys are refused: they fail to parse as a [`Role`].)
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version ([`SCHEMA`]).
    pub schema: u32,
    /// The entries by role key.
    #[serde(flatten)]
    pub entries: BTreeMap<Role, ModelEntry>,
}

impl Manifest {
    /// Parses and checks a manifest (`origin` names it in errors).
    pub fn parse(text: &str, origin: &Path) -> Result<Manifest> {
        let bad = |reason: String| FaceError::Manifest {
            path: origin.to_path_buf(),
            reason,
        };
        let manifest: Manifest = toml::from_str(text).map_err(|e| bad(e.message().to_owned()))?;
        if manifest.schema != SCHEMA {
            return Err(bad(format!(
                "schema {} is not supported (this build reads schema {SCHEMA})",
                manifest.schema
            )));
        }
        for (role, entry) in &manifest.entries {
            if !role.accepts(entry.interface) {
                return Err(bad(format!(
                    "role `{role}` cannot use a model with interface `{}`",
                    entry.interface.name()
                )));
            }
            if entry.sha256.len() != 64 || !entry.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad(format!("role `{role}`: sha256 must be 64 hex digits")));
            }
            if entry.file.is_empty() || Path::new(&entry.file).components().count() != 1 {
                return Err(bad(format!(
                    "role `{role}`: `file` must be a plain file name in the manifest's directory, not `{}`",
                    entry.file
                )));
            }
        }
        Ok(manifest)
    }

    /// Reads and parses `dir/manifest.toml`.
    pub fn read_dir(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| FaceError::io(&path, e))?;
        Manifest::parse(&text, &path)
    }

    /// Serialises the manifest as TOML.
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).map_err(|e| FaceError::Manifest {
            path: PathBuf::from(MANIFEST_FILE),
            reason: e.to_string(),
        })
    }
}

/// The hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Where a model's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "path", rename_all = "snake_case")]
pub enum ModelOrigin {
    /// Built into the binary.
    Embedded,
    /// A file in a models directory.
    File(PathBuf),
}

impl fmt::Display for ModelOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelOrigin::Embedded => f.write_str("embedded"),
            ModelOrigin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A model's verified bytes and its manifest entry.
#[derive(Clone)]
pub struct ModelBytes {
    /// The role it plays.
    pub role: Role,
    /// Its entry.
    pub entry: ModelEntry,
    /// Where it came from.
    pub origin: ModelOrigin,
    /// The ONNX file (sha256 checked).
    pub bytes: Cow<'static, [u8]>,
}

impl fmt::Debug for ModelBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelBytes")
            .field("role", &self.role)
            .field("origin", &self.origin)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[cfg(feature = "embedded-models")]
mod embedded {
    pub(super) const MANIFEST: &str = include_str!("../../../models/manifest.toml");
    pub(super) const FILES: &[(&str, &[u8])] = &[
        (
            "face_detection_short_range.onnx",
            include_bytes!("../../../models/face_detection_short_range.onnx"),
        ),
        (
            "face_detection_full_range.onnx",
            include_bytes!("../../../models/face_detection_full_range.onnx"),
        ),
        (
            "face_landmark.onnx",
            include_bytes!("../../../models/face_landmark.onnx"),
        ),
        (
            "mobilefacenet.onnx",
            include_bytes!("../../../models/mobilefacenet.onnx"),
        ),
    ];
}

/// The largest model file read, bytes: anything bigger is not one of ours and is refused before
/// it is read into memory.
pub const MAX_MODEL_BYTES: u64 = 512 * 1024 * 1024;

/// The models available to the engine: the embedded set, overlaid by a models directory named
/// in the configuration (which may replace any role), and by the kiosk's drop-in directory
/// (where `facekiosk models install` puts models: only the optional passive-liveness model may
/// come from there, so that dropping files in place never swaps the detector or the embedder).
#[derive(Clone, Debug, Default)]
pub struct ModelStore {
    embedded: Option<Manifest>,
    dir: Option<(PathBuf, Manifest)>,
    drop_in: Option<(PathBuf, Manifest)>,
}

impl ModelStore {
    /// The embedded models only (an empty store when built without `embedded-models`).
    pub fn embedded() -> Result<ModelStore> {
        #[cfg(feature = "embedded-models")]
        {
            let manifest =
                Manifest::parse(embedded::MANIFEST, Path::new("<embedded>/manifest.toml"))?;
            Ok(ModelStore {
                embedded: Some(manifest),
                dir: None,
                drop_in: None,
            })
        }
        #[cfg(not(feature = "embedded-models"))]
        Ok(ModelStore::default())
    }

    /// The embedded models, with the roles listed in `dir/manifest.toml` taken from `dir`.
    pub fn with_dir(dir: &Path) -> Result<ModelStore> {
        let mut store = ModelStore::embedded()?;
        let manifest = Manifest::read_dir(dir)?;
        store.dir = Some((dir.to_path_buf(), manifest));
        Ok(store)
    }

    /// Adds the drop-in directory. Its manifest may list only the passive-liveness model; any
    /// other role there is refused (replacing a shipped model needs `face.models_dir`).
    pub fn with_drop_in(mut self, dir: &Path) -> Result<ModelStore> {
        let manifest = Manifest::read_dir(dir)?;
        if let Some(role) = manifest
            .entries
            .keys()
            .find(|r| **r != Role::PassiveLiveness)
        {
            return Err(FaceError::Manifest {
                path: dir.join(MANIFEST_FILE),
                reason: format!(
                    "the installed-models directory may only add the passive liveness model, but it \
                     lists `{role}`; to replace a shipped model, name its directory explicitly \
                     (face.models_dir or --models), and the result will say so"
                ),
            });
        }
        self.drop_in = Some((dir.to_path_buf(), manifest));
        Ok(self)
    }

    /// The models directory overlaid, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|(d, _)| d.as_path())
    }

    /// The roles the configured models directory takes from the shipped set.
    pub fn replaced_roles(&self) -> Vec<Role> {
        let Some((_, m)) = &self.dir else {
            return Vec::new();
        };
        m.entries
            .keys()
            .filter(|r| {
                self.embedded
                    .as_ref()
                    .is_some_and(|e| e.entries.contains_key(r))
            })
            .copied()
            .collect()
    }

    /// The entry for `role` and where it would come from, without reading the file.
    pub fn entry(&self, role: Role) -> Option<(&ModelEntry, ModelOrigin)> {
        if let Some((dir, m)) = &self.dir
            && let Some(e) = m.entries.get(&role)
        {
            return Some((e, ModelOrigin::File(dir.join(&e.file))));
        }
        if let Some((dir, m)) = &self.drop_in
            && let Some(e) = m.entries.get(&role)
        {
            return Some((e, ModelOrigin::File(dir.join(&e.file))));
        }
        self.embedded
            .as_ref()
            .and_then(|m| m.entries.get(&role))
            .map(|e| (e, ModelOrigin::Embedded))
    }

    /// Loads the model for `role` and checks its sha256; `Ok(None)` when no model has the role.
    pub fn load(&self, role: Role) -> Result<Option<ModelBytes>> {
        let Some((entry, origin)) = self.entry(role) else {
            return Ok(None);
        };
        let bytes: Cow<'static, [u8]> = match &origin {
            ModelOrigin::File(path) => Cow::Owned(read_capped(path, role)?),
            ModelOrigin::Embedded => {
                Cow::Borrowed(embedded_file(&entry.file).ok_or_else(|| FaceError::Model {
                    role: role.key().to_owned(),
                    path: PathBuf::from(&entry.file),
                    reason: "not among the embedded models".to_owned(),
                })?)
            }
        };
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(FaceError::Model {
                role: role.key().to_owned(),
                path: match &origin {
                    ModelOrigin::File(p) => p.clone(),
                    ModelOrigin::Embedded => PathBuf::from(&entry.file),
                },
                reason: format!(
                    "sha256 is {actual}, the manifest expects {}: the file was changed or replaced; \
                     refusing to load it",
                    entry.sha256
                ),
            });
        }
        Ok(Some(ModelBytes {
            role,
            entry: entry.clone(),
            origin,
            bytes,
        }))
    }
}

/// Reads a model file, refusing one larger than [`MAX_MODEL_BYTES`] before reading it.
fn read_capped(path: &Path, role: Role) -> Result<Vec<u8>> {
    let bad = |reason: String| FaceError::Model {
        role: role.key().to_owned(),
        path: path.to_path_buf(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| bad(format!("cannot read the file: {e}")))?
        .len();
    if len > MAX_MODEL_BYTES {
        return Err(bad(format!(
            "the file is {len} bytes, more than the {MAX_MODEL_BYTES} a model may have"
        )));
    }
    std::fs::read(path).map_err(|e| bad(format!("cannot read the file: {e}")))
}

#[cfg(feature = "embedded-models")]
fn embedded_file(name: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
}

#[cfg(not(feature = "embedded-models"))]
fn embedded_file(_name: &str) -> Option<&'static [u8]> {
    None
}

/// Installs a model into a models directory (`facekiosk models install`): `source_dir` holds the
/// model file and a `manifest.toml` with an entry for each role it provides. Every file is
/// checked against its sha256 and interface before anything is copied; the target manifest
/// keeps its other entries. Returns the roles installed.
pub fn install(source_dir: &Path, target_dir: &Path) -> Result<Vec<Role>> {
    let incoming = Manifest::read_dir(source_dir)?;
    if incoming.entries.is_empty() {
        return Err(FaceError::Manifest {
            path: source_dir.join(MANIFEST_FILE),
            reason: "lists no model".to_owned(),
        });
    }
    let mut verified = Vec::new();
    for (role, entry) in &incoming.entries {
        let path = source_dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(|e| FaceError::Model {
            role: role.key().to_owned(),
            path: path.clone(),
            reason: format!("cannot read the file: {e}"),
        })?;
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(FaceError::Model {
                role: role.key().to_owned(),
                path,
                reason: format!("sha256 is {actual}, the manifest expects {}", entry.sha256),
            });
        }
        verified.push((*role, entry.clone(), bytes));
    }
    std::fs::create_dir_all(target_dir).map_err(|e| FaceError::io(target_dir, e))?;
    let target_manifest_path = target_dir.join(MANIFEST_FILE);
    let mut target = if target_manifest_path.exists() {
        Manifest::read_dir(target_dir)?
    } else {
        Manifest {
            schema: SCHEMA,
            entries: BTreeMap::new(),
        }
    };
    let mut roles = Vec::new();
    for (role, entry, bytes) in verified {
        write_atomically(&target_dir.join(&entry.file), &bytes)?;
        target.entries.insert(role, entry);
        roles.push(role);
    }
    write_atomically(&target_manifest_path, target.to_toml()?.as_bytes())?;
    Ok(roles)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| FaceError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| FaceError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "6d0c83b9c4ba6d75f4eaf3952820bc530129e6dba95f715445e2ec9ea83feab8";

    #[test]
    fn parses_roles_and_interfaces() {
        let text = format!(
            "schema = 1\n[detector]\nfile = \"d.onnx\"\ninterface = \"blazeface-128\"\nsha256 = \"{SHA}\"\n\
             [passive_liveness]\nfile = \"p.onnx\"\ninterface = \"minifas-128\"\nsha256 = \"{SHA}\"\nthreshold = 0.5\n"
        );
        let m = Manifest::parse(&text, Path::new("m.toml")).unwrap();
        assert_eq!(
            m.entries[&Role::Detector].interface,
            Interface::Blazeface128
        );
        assert_eq!(m.entries[&Role::PassiveLiveness].threshold, Some(0.5));
        let back = Manifest::parse(&m.to_toml().unwrap(), Path::new("m.toml")).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn refuses_an_interface_the_role_cannot_use() {
        let text = format!(
            "schema = 1\n[embedder]\nfile = \"d.onnx\"\ninterface = \"blazeface-128\"\nsha256 = \"{SHA}\"\n"
        );
        let err = Manifest::parse(&text, Path::new("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot use"), "{err}");
    }

    #[test]
    fn refuses_paths_outside_the_directory() {
        let text = format!(
            "schema = 1\n[embedder]\nfile = \"../x.onnx\"\ninterface = \"mobilefacenet-112\"\nsha256 = \"{SHA}\"\n"
        );
        assert!(Manifest::parse(&text, Path::new("m.toml")).is_err());
    }

    #[test]
    fn refuses_unknown_schema_and_keys() {
        assert!(Manifest::parse("schema = 2\n", Path::new("m.toml")).is_err());
        assert!(
            Manifest::parse("schema = 1\n[mystery]\nfile = \"x\"\n", Path::new("m.toml")).is_err()
        );
    }

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
