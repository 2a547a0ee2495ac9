//! ONNX Runtime: finding the shared library, choosing the execution provider, creating sessions.
//!
//! `ort` is built with `load-dynamic`, so nothing is linked at build time: the library is found at
//! run time (see [`locate_library`]). ort panics when it cannot find the library on its own; this
//! module always looks first and turns a missing or broken library into a [`FaceError`].

use std::ffi::{CStr, c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::ep::{self, ExecutionProvider as _};
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{FaceError, Result};

/// The file name of the ONNX Runtime library on this platform.
#[cfg(target_os = "linux")]
pub const LIBRARY_FILE: &str = "libonnxruntime.so";
/// The file name of the ONNX Runtime library on this platform.
#[cfg(target_os = "macos")]
pub const LIBRARY_FILE: &str = "libonnxruntime.dylib";
/// The file name of the ONNX Runtime library on this platform.
#[cfg(target_os = "windows")]
pub const LIBRARY_FILE: &str = "onnxruntime.dll";
/// The file name of the ONNX Runtime library on this platform.
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub const LIBRARY_FILE: &str = "libonnxruntime.so";

/// An execution provider: where the models run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// The CPU (always available).
    Cpu,
    /// NVIDIA CUDA (Linux, Windows; needs the GPU build of ONNX Runtime, CUDA and cuDNN).
    Cuda,
    /// NVIDIA TensorRT (needs TensorRT libraries besides CUDA).
    TensorRt,
    /// DirectML (Windows).
    DirectMl,
    /// Apple CoreML (macOS).
    CoreMl,
}

impl Provider {
    /// Every provider, in the order `auto` tries them (CPU last).
    pub const ALL: [Provider; 5] = [
        Provider::TensorRt,
        Provider::Cuda,
        Provider::DirectMl,
        Provider::CoreMl,
        Provider::Cpu,
    ];

    /// The name used in configuration and output (`cpu`, `cuda`, …).
    pub fn name(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::TensorRt => "tensorrt",
            Provider::DirectMl => "directml",
            Provider::CoreMl => "coreml",
        }
    }

    /// The name ONNX Runtime gives this provider (`CUDAExecutionProvider`, …).
    pub fn onnx_runtime_name(self) -> &'static str {
        match self {
            Provider::Cpu => ep::CPU::NAME,
            Provider::Cuda => ep::CUDA::NAME,
            Provider::TensorRt => ep::TensorRT::NAME,
            Provider::DirectMl => ep::DirectML::NAME,
            Provider::CoreMl => ep::CoreML::NAME,
        }
    }

    fn dispatch(self, device_id: i32) -> ep::ExecutionProviderDispatch {
        let dispatch = match self {
            Provider::Cpu => ep::CPU::default().build(),
            Provider::Cuda => ep::CUDA::default().with_device_id(device_id).build(),
            Provider::TensorRt => ep::TensorRT::default().with_device_id(device_id).build(),
            Provider::DirectMl => ep::DirectML::default().with_device_id(device_id).build(),
            Provider::CoreMl => ep::CoreML::default().build(),
        };
        // Without this, ort logs a failed registration and silently runs on the CPU.
        dispatch.error_on_failure()
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which execution provider to use: one by name, or the best that starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProviderChoice {
    /// The first of TensorRT, CUDA, DirectML, CoreML that the library offers and that starts; else the CPU.
    Auto,
    /// Exactly this provider.
    Only(Provider),
    /// The CPU (the default: predictable everywhere).
    #[default]
    Cpu,
}

impl std::str::FromStr for ProviderChoice {
    type Err = FaceError;

    fn from_str(s: &str) -> Result<Self> {
        let p = match s.trim().to_ascii_lowercase().as_str() {
            "auto" => return Ok(ProviderChoice::Auto),
            "cpu" => return Ok(ProviderChoice::Cpu),
            "cuda" => Provider::Cuda,
            "tensorrt" | "trt" => Provider::TensorRt,
            "directml" | "dml" => Provider::DirectMl,
            "coreml" => Provider::CoreMl,
            other => {
                return Err(FaceError::Config(format!(
                    "unknown execution provider `{other}` (expected cpu, cuda, tensorrt, directml, coreml or auto)"
                )));
            }
        };
        Ok(ProviderChoice::Only(p))
    }
}

impl TryFrom<String> for ProviderChoice {
    type Error = FaceError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<ProviderChoice> for String {
    fn from(c: ProviderChoice) -> String {
        match c {
            ProviderChoice::Auto => "auto".to_owned(),
            ProviderChoice::Cpu => "cpu".to_owned(),
            ProviderChoice::Only(p) => p.name().to_owned(),
        }
    }
}

/// How to load ONNX Runtime and where to run the models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// The ONNX Runtime library file; `None` searches (see [`locate_library`]).
    pub library: Option<PathBuf>,
    /// The execution provider (`cpu` by default).
    pub provider: ProviderChoice,
    /// Run on the CPU, with a warning, when the requested provider cannot start. Off by default:
    /// a GPU deployment that silently runs on the CPU is slower than its operator believes.
    pub allow_fallback: bool,
    /// Threads each model may use inside one operator; 0 lets ONNX Runtime choose (all cores).
    /// Default 1: on a kiosk's few cores, more threads per operator compete with the camera,
    /// the UI and the second analysis thread, and the slowest frames (p95) get several times
    /// slower while the median barely moves (docs/PERFORMANCE.md).
    pub intra_threads: usize,
    /// Threads per operator for the embedder alone, the heaviest model (half of a frame's
    /// time); 0 lets ONNX Runtime use every core. Default 1: on this project's 2-core machine
    /// two threads for the embedder alone made it no faster in the kiosk's pipeline and its
    /// slowest frames slower (docs/PERFORMANCE.md); a kiosk with more cores may gain.
    pub embedder_threads: usize,
    /// GPU index for CUDA, TensorRT and DirectML.
    pub device_id: i32,
    /// ONNX Runtime sessions per model (1–8): more let several images be analysed at once
    /// (the two photos of a verification, consecutive camera frames) at ~15 MB each. Default 2.
    pub sessions_per_model: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            library: None,
            provider: ProviderChoice::default(),
            allow_fallback: false,
            intra_threads: 1,
            embedder_threads: 1,
            device_id: 0,
            sessions_per_model: 2,
        }
    }
}

/// A loaded ONNX Runtime with its execution provider decided.
///
/// Create one per process ([`Runtime::load`]); it creates the model sessions.
pub struct Runtime {
    env: ort::environment::Environment,
    library: PathBuf,
    version: String,
    available: Vec<String>,
    provider: Provider,
    fallback_reason: Option<String>,
    config: RuntimeConfig,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .field("version", &self.version)
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// What the loaded ONNX Runtime reports about itself (for `facekiosk runtime`, logs and results).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// The library file loaded.
    pub library: PathBuf,
    /// ONNX Runtime's version (`1.32.0`).
    pub version: String,
    /// The execution providers this build of ONNX Runtime contains (its own names).
    pub available_providers: Vec<String>,
    /// The provider the models run on.
    pub provider: Provider,
    /// Why the requested provider was replaced by the CPU, when it was.
    pub fallback_reason: Option<String>,
    /// Threads per operator (0 = ONNX Runtime's choice).
    pub intra_threads: usize,
    /// Threads per operator of the embedder (0 = ONNX Runtime's choice).
    pub embedder_threads: usize,
}

/// The library ort loaded, remembered because ort can load only one per process.
static LOADED: OnceLock<PathBuf> = OnceLock::new();

/// The process's ONNX Runtime environment: ort allows one per process, so every [`Runtime`]
/// shares it.
static ENVIRONMENT: Mutex<Option<ort::environment::Environment>> = Mutex::new(None);

fn environment() -> std::result::Result<ort::environment::Environment, String> {
    let mut slot = ENVIRONMENT
        .lock()
        .map_err(|_| "a previous ONNX Runtime initialisation panicked".to_owned())?;
    if let Some(env) = slot.as_ref() {
        return Ok(env.clone());
    }
    let env = ort::init()
        .with_name("facekiosk")
        .with_telemetry(false)
        .build()
        .map_err(|e| e.to_string())?;
    *slot = Some(env.clone());
    Ok(env)
}

impl Runtime {
    /// Finds and loads ONNX Runtime and decides the execution provider.
    ///
    /// Fails with [`FaceError::RuntimeNotFound`] when no library is found, and with
    /// [`FaceError::ProviderUnavailable`] when the requested provider cannot start and
    /// `allow_fallback` is off. The provider really in use is logged and reported by [`Runtime::info`].
    pub fn load(config: &RuntimeConfig) -> Result<Runtime> {
        let library = load_library(config.library.as_deref())?;
        let env = environment().map_err(|reason| FaceError::RuntimeLoad {
            path: library.clone(),
            reason,
        })?;
        let available = available_providers().map_err(|e| FaceError::RuntimeLoad {
            path: library.clone(),
            reason: e.to_string(),
        })?;
        let version = library_version(&library);
        let mut runtime = Runtime {
            env,
            library,
            version,
            available,
            provider: Provider::Cpu,
            fallback_reason: None,
            config: config.clone(),
        };
        runtime.choose_provider()?;
        tracing::info!(
            provider = %runtime.provider,
            version = %runtime.version,
            library = %runtime.library.display(),
            fallback = runtime.fallback_reason.as_deref().unwrap_or(""),
            "ONNX Runtime loaded"
        );
        Ok(runtime)
    }

    fn choose_provider(&mut self) -> Result<()> {
        match self.config.provider {
            ProviderChoice::Cpu => Ok(()),
            ProviderChoice::Auto => {
                for p in Provider::ALL {
                    if p == Provider::Cpu || !self.offers(p) {
                        continue;
                    }
                    match self.try_provider(p) {
                        Ok(()) => {
                            self.provider = p;
                            return Ok(());
                        }
                        Err(reason) => {
                            tracing::info!(provider = %p, %reason, "execution provider offered but not usable")
                        }
                    }
                }
                Ok(())
            }
            ProviderChoice::Only(Provider::Cpu) => Ok(()),
            ProviderChoice::Only(p) => {
                let outcome = if self.offers(p) {
                    self.try_provider(p)
                } else {
                    Err(format!(
                        "this ONNX Runtime build ({}) does not contain {}{}",
                        self.library.display(),
                        p.onnx_runtime_name(),
                        if matches!(p, Provider::Cuda | Provider::TensorRt) {
                            " (install the GPU build: scripts/setup --gpu)"
                        } else {
                            ""
                        }
                    ))
                };
                match outcome {
                    Ok(()) => {
                        self.provider = p;
                        Ok(())
                    }
                    Err(reason) if self.config.allow_fallback => {
                        tracing::warn!(requested = %p, %reason, "execution provider cannot start; running on the CPU");
                        self.fallback_reason = Some(format!("{p} cannot start: {reason}"));
                        Ok(())
                    }
                    Err(reason) => Err(FaceError::ProviderUnavailable {
                        provider: p.name().to_owned(),
                        reason,
                        available: self.available.clone(),
                    }),
                }
            }
        }
    }

    fn offers(&self, p: Provider) -> bool {
        self.available.iter().any(|a| a == p.onnx_runtime_name())
    }

    /// Registers the provider on a throw-away session builder: this is where ONNX Runtime loads
    /// the provider's libraries (CUDA, cuDNN, …) and reports what is missing.
    fn try_provider(&self, p: Provider) -> std::result::Result<(), String> {
        let builder = Session::builder(&self.env).map_err(|e| e.to_string())?;
        builder
            .with_execution_providers([p.dispatch(self.config.device_id)])
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A new session for a model held in memory, on the chosen provider, with `threads`
    /// threads per operator (0: ONNX Runtime's choice; see [`Runtime::threads_for`]).
    pub fn session(&self, model: &[u8], threads: usize) -> std::result::Result<Session, String> {
        let builder = self.builder(threads).map_err(|e| e.to_string())?;
        let mut builder = builder;
        builder.commit_from_memory(model).map_err(|e| e.to_string())
    }

    /// Threads per operator for a model of `role`: `embedder_threads` for the embedder,
    /// `intra_threads` for the others.
    pub fn threads_for(&self, role: crate::manifest::Role) -> usize {
        match role {
            crate::manifest::Role::Embedder => self.config.embedder_threads,
            _ => self.config.intra_threads,
        }
    }

    fn builder(&self, threads: usize) -> ort::Result<SessionBuilder> {
        let mut builder = Session::builder(&self.env)?
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(ort::Error::<()>::from)?
            .with_inter_threads(1)
            .map_err(ort::Error::<()>::from)?;
        if threads > 0 {
            builder = builder
                .with_intra_threads(threads)
                .map_err(ort::Error::<()>::from)?;
        }
        if self.provider != Provider::Cpu {
            builder = builder
                .with_execution_providers([self.provider.dispatch(self.config.device_id)])
                .map_err(ort::Error::<()>::from)?;
        }
        Ok(builder)
    }

    /// Sessions each model keeps (the configured number, within 1..=8).
    pub fn sessions_per_model(&self) -> usize {
        self.config.sessions_per_model.clamp(1, 8)
    }

    /// The provider the models run on.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// What the loaded library reports, and the decisions taken.
    pub fn info(&self) -> RuntimeInfo {
        RuntimeInfo {
            library: self.library.clone(),
            version: self.version.clone(),
            available_providers: self.available.clone(),
            provider: self.provider,
            fallback_reason: self.fallback_reason.clone(),
            intra_threads: self.config.intra_threads,
            embedder_threads: self.config.embedder_threads,
        }
    }
}

/// Loads the library once per process; later calls return the library already loaded.
fn load_library(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(done) = LOADED.get() {
        if let Some(wanted) = explicit
            && wanted != done
        {
            tracing::warn!(
                loaded = %done.display(),
                wanted = %wanted.display(),
                "ONNX Runtime can be loaded once per process; keeping the library already loaded"
            );
        }
        return Ok(done.clone());
    }
    let path = locate_library(explicit)?;
    // Load the real file, not a symlink to it: ONNX Runtime looks for its provider libraries
    // (libonnxruntime_providers_cuda.so, …) beside the path it was loaded from, and
    // scripts/setup points a symlink at the selected build.
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    match ort::init_from(&path) {
        Ok(_builder) => {
            let _ = LOADED.set(path.clone());
            Ok(path)
        }
        Err(e) => Err(FaceError::RuntimeLoad {
            path,
            reason: e.to_string(),
        }),
    }
}

/// Where ONNX Runtime is looked for, in order; the first existing file wins:
/// 1. `explicit` (the `runtime.library` setting or `--ort-library`),
/// 2. `$ORT_DYLIB_PATH`,
/// 3. `$FACEKIOSK_DATA_DIR/onnxruntime/` or the user data dir (`~/.local/share/facekiosk/onnxruntime/`,
///    where `scripts/setup` puts it),
/// 4. beside the executable, in `../lib/facekiosk` from it (the Debian package's
///    `/usr/lib/facekiosk/`), and in `../lib`.
pub fn library_candidates(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(p.to_path_buf());
        // An explicit path is the operator's decision: do not silently use another library.
        return out;
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        out.push(PathBuf::from(p));
        return out;
    }
    if let Some(dir) = data_dir() {
        out.push(dir.join("onnxruntime").join(LIBRARY_FILE));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(exe_dir.join(LIBRARY_FILE));
        out.push(
            exe_dir
                .join("..")
                .join("lib")
                .join("facekiosk")
                .join(LIBRARY_FILE),
        );
        out.push(exe_dir.join("..").join("lib").join(LIBRARY_FILE));
    }
    out
}

/// Finds the ONNX Runtime library (see [`library_candidates`] for the order).
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf> {
    let candidates = library_candidates(explicit);
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(FaceError::RuntimeNotFound {
            searched: candidates,
        })
}

/// FaceKiosk's per-user data directory (`$FACEKIOSK_DATA_DIR`, else the platform's convention).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("FACEKIOSK_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if cfg!(target_os = "windows") {
        return std::env::var_os("LOCALAPPDATA").map(|d| PathBuf::from(d).join("facekiosk"));
    }
    if cfg!(target_os = "macos") {
        return home.map(|h| h.join("Library/Application Support/facekiosk"));
    }
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".local/share")))
        .map(|d| d.join("facekiosk"))
}

/// ONNX Runtime's version, from its build information (`git-branch=rel-1.32.0`), else from the
/// versioned file name the library resolves to.
fn library_version(library: &Path) -> String {
    let info = ort::info();
    if let Some(v) = info
        .split([',', ' '])
        .find_map(|part| part.strip_prefix("git-branch=rel-"))
    {
        return v.to_owned();
    }
    let resolved = std::fs::canonicalize(library).unwrap_or_else(|_| library.to_path_buf());
    resolved
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split(".so.").nth(1))
        .map_or_else(|| "unknown".to_owned(), str::to_owned)
}

/// The execution providers compiled into the loaded ONNX Runtime library, in its own order.
#[allow(unsafe_code)]
fn available_providers() -> ort::Result<Vec<String>> {
    let api = ort::api();
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    let mut count: c_int = 0;
    // SAFETY: GetAvailableProviders writes an array of `count` NUL-terminated strings owned by
    // ONNX Runtime into `list`; it is released below with ReleaseAvailableProviders.
    unsafe { ort::Error::result_from_status((api.GetAvailableProviders)(&mut list, &mut count))? };
    if list.is_null() {
        return Ok(Vec::new());
    }
    let mut names = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for i in 0..usize::try_from(count).unwrap_or(0) {
        // SAFETY: `i < count`, and each entry is a valid C string until the release below.
        let name = unsafe { CStr::from_ptr(*list.add(i)) };
        names.push(name.to_string_lossy().into_owned());
    }
    // SAFETY: releases exactly the array obtained above, once.
    unsafe { ort::Error::result_from_status((api.ReleaseAvailableProviders)(list, count))? };
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names_parse_back() {
        for p in Provider::ALL {
            let choice: ProviderChoice = p.name().parse().unwrap();
            let expected = if p == Provider::Cpu {
                ProviderChoice::Cpu
            } else {
                ProviderChoice::Only(p)
            };
            assert_eq!(choice, expected);
        }
        assert_eq!(
            "AUTO".parse::<ProviderChoice>().unwrap(),
            ProviderChoice::Auto
        );
        assert!("vulkan".parse::<ProviderChoice>().is_err());
    }

    #[test]
    fn explicit_library_is_the_only_candidate() {
        let c = library_candidates(Some(Path::new("/opt/ort/libonnxruntime.so")));
        assert_eq!(c, vec![PathBuf::from("/opt/ort/libonnxruntime.so")]);
    }

    #[test]
    fn missing_explicit_library_names_setup() {
        let err = locate_library(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("scripts/setup"), "{msg}");
        assert!(msg.contains("/nonexistent/libonnxruntime.so"), "{msg}");
    }
}
