//! The one error type of the face engine.

use std::path::PathBuf;

/// Everything that can go wrong in the face engine, in terms an operator can act on.
///
/// Messages name the file or setting involved and, where there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// The ONNX Runtime shared library was not found anywhere it is looked for.
    #[error(
        "ONNX Runtime library not found (looked in: {}). Run scripts/setup, \
         or point ORT_DYLIB_PATH or the `runtime.library` setting at libonnxruntime",
        display_paths(searched)
    )]
    RuntimeNotFound {
        /// Every path that was tried, in order.
        searched: Vec<PathBuf>,
    },

    /// The ONNX Runtime library exists but could not be loaded (wrong file, too old, wrong arch).
    #[error(
        "cannot load ONNX Runtime from {path}: {reason}. Run scripts/setup to install a working copy"
    )]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What ONNX Runtime or the loader said.
        reason: String,
    },

    /// A requested execution provider cannot start and falling back to the CPU was not allowed.
    #[error(
        "execution provider `{provider}` cannot start: {reason}. Available in this ONNX Runtime: {}. \
         Choose another provider, or allow the CPU fallback (`runtime.allow_fallback = true`, `--allow-cpu-fallback`)",
        available.join(", ")
    )]
    ProviderUnavailable {
        /// The provider asked for (`cuda`, `tensorrt`, …).
        provider: String,
        /// Why it did not start.
        reason: String,
        /// The providers the loaded ONNX Runtime library reports.
        available: Vec<String>,
    },

    /// A model file could not be read, does not match its manifest, or is not a usable model.
    #[error("model `{role}` ({path}): {reason}")]
    Model {
        /// The manifest role (`detector`, `embedder`, …).
        role: String,
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The model manifest or a model directory is malformed.
    #[error("model manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Running a model failed.
    #[error("running model `{role}` failed: {reason}")]
    Inference {
        /// The manifest role.
        role: String,
        /// ONNX Runtime's message.
        reason: String,
    },

    /// An image could not be decoded or is not acceptable.
    #[error("{0}")]
    Image(#[from] ImageError),

    /// An image that must show a face shows none.
    #[error("no face found in the {0} image")]
    NoFace(String),

    /// The calibration file is missing, malformed or inconsistent.
    #[error("calibration {path}: {reason}")]
    Calibration {
        /// The calibration file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration value is out of its allowed range.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The file or buffer is empty.
    #[error("the image is empty (0 bytes)")]
    Empty,
    /// The bytes are not an image in a supported format.
    #[error("not a supported image (JPEG, PNG, WebP or BMP expected): {0}")]
    UnsupportedFormat(String),
    /// The image is corrupt or truncated.
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
    /// The image is larger than the configured limit (a decompression bomb, or a camera set wrong).
    #[error(
        "the image is too large: {width}x{height} pixels ({megapixels:.1} MP), the limit is {limit_megapixels} MP"
    )]
    TooLarge {
        /// Declared width, px.
        width: u32,
        /// Declared height, px.
        height: u32,
        /// width × height / 10⁶.
        megapixels: f64,
        /// The configured limit, MP.
        limit_megapixels: u32,
    },
    /// The file is larger than the configured limit; it was not read.
    #[error("the file is too large: {bytes} bytes, the limit is {limit_mb} MB")]
    FileTooLarge {
        /// The file's size, bytes.
        bytes: u64,
        /// The configured limit, MB.
        limit_mb: u32,
    },
    /// The image is too small to hold a face.
    #[error("the image is too small: {width}x{height} pixels, at least {min}x{min} are needed")]
    TooSmall {
        /// Width, px.
        width: u32,
        /// Height, px.
        height: u32,
        /// The minimum side, px.
        min: u32,
    },
}

impl FaceError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A short stable code for machines (`--json` output, session errors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::RuntimeNotFound { .. } | Self::RuntimeLoad { .. } => "RUNTIME_ERROR",
            Self::ProviderUnavailable { .. } => "PROVIDER_UNAVAILABLE",
            Self::Model { .. } | Self::Manifest { .. } | Self::Inference { .. } => "MODEL_ERROR",
            Self::Image(_) => "INVALID_IMAGE",
            Self::NoFace(_) => "NO_FACE",
            Self::Calibration { .. } => "CALIBRATION_ERROR",
            Self::Config(_) => "INVALID_CONFIG",
            Self::Io { .. } => "IO_ERROR",
        }
    }
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "nowhere".to_owned();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Result alias of the face engine.
pub type Result<T, E = FaceError> = std::result::Result<T, E>;
