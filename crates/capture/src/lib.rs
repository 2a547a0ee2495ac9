//! # facekiosk-capture — where frames come from
//!
//! A [`FrameSource`] yields RGB frames with their time: the camera ([`camera`], through
//! `nokhwa`: MJPEG and YUYV, virtual cameras refused unless allowed, reconnection), a folder of
//! images ([`folder`]), or a video file ([`video`]: MJPEG in AVI, raw MJPEG, Y4M — decoded in
//! Rust, no ffmpeg). [`open`] picks one from a spec: `camera`, `camera:N`, `camera:NAME`, a
//! directory, or a file.
//!
//! **Never:** this crate never analyses a face, never stores a frame (only [`video::write_avi`]
//! writes, when asked to make a clip), and never hides a failure: a camera that stops
//! delivering is an error the caller can act on.

pub mod camera;
pub mod folder;
pub mod video;
mod yuv;

use std::path::Path;

use facekiosk_face::decode::DecodeLimits;
use image::RgbImage;

/// One frame.
#[derive(Clone)]
pub struct Frame {
    /// The picture.
    pub image: RgbImage,
    /// Its position in the source, from 0.
    pub index: u64,
    /// Its time in the source, ms from the first frame (frame rate × index for files; the
    /// arrival time for a camera).
    pub timestamp_ms: u64,
}

impl std::fmt::Debug for Frame {
    // Never the pixels: a frame is biometric data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("size", &(self.image.width(), self.image.height()))
            .field("index", &self.index)
            .field("timestamp_ms", &self.timestamp_ms)
            .finish_non_exhaustive()
    }
}

/// What kind of source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A camera.
    Camera,
    /// A folder of images.
    Folder,
    /// A video file.
    Video,
}

/// A description of a source, for logs and results (never the frames).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SourceInfo {
    /// Camera name, or file/folder path.
    pub name: String,
    /// The kind.
    pub kind: SourceKind,
    /// Frames per second, when known.
    pub fps: Option<f32>,
    /// Frames in the source, when known.
    pub frames: Option<u64>,
    /// True for a virtual camera (only opened where the configuration allows them).
    pub is_virtual: bool,
}

/// Why a source failed. The session turns these into `MEDIA_*` errors.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No camera, or the requested one does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The camera is busy (used by another program) or access is denied.
    #[error("{0}")]
    NotAllowed(String),
    /// The camera is a virtual one (v4l2loopback, OBS …) and the configuration forbids them.
    #[error("{0}")]
    VirtualCamera(String),
    /// The camera stopped delivering (unplugged).
    #[error("{0}")]
    Disconnected(String),
    /// One frame is unusable; the next may be fine.
    #[error("frame {index}: {reason}")]
    CorruptFrame {
        /// The frame's index.
        index: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The source itself is unusable (empty file, unknown format).
    #[error("{0}")]
    Invalid(String),
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl CaptureError {
    /// True when the source goes on after this error (a single bad frame).
    pub fn is_frame_error(&self) -> bool {
        matches!(self, CaptureError::CorruptFrame { .. })
    }
}

/// A source of frames.
pub trait FrameSource {
    /// What it is.
    fn info(&self) -> SourceInfo;
    /// The next frame; `Ok(None)` at the end of a file or folder. A [`CaptureError::CorruptFrame`]
    /// skips one frame: call again for the next.
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;
    /// Tries to get a lost source back (cameras); files cannot come back.
    fn reconnect(&mut self) -> Result<(), CaptureError> {
        Err(CaptureError::Invalid(format!(
            "{} cannot reconnect",
            self.info().name
        )))
    }
}

/// How sources are opened.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureOptions {
    /// Frame rate given to files and folders that do not carry one. Default 15.
    pub default_fps: f32,
    /// Camera resolution asked for (the closest the camera offers is used). Default 640×480.
    pub width: u32,
    /// See `width`.
    pub height: u32,
    /// Camera frame rate asked for. Default 30.
    pub fps: u32,
    /// Accept virtual cameras (v4l2loopback, OBS …): only for testing rigs. Default false.
    pub allow_virtual_camera: bool,
    /// Limits on decoded frames.
    pub decode: DecodeLimits,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self {
            default_fps: 15.0,
            width: 640,
            height: 480,
            fps: 30,
            allow_virtual_camera: false,
            decode: DecodeLimits::default(),
        }
    }
}

/// Opens a source from a spec: `camera` (the first camera), `camera:N` (by index),
/// `camera:NAME` (by name), a directory of images, or a video file (`.avi`, `.mjpeg`/`.mjpg`,
/// `.y4m`).
pub fn open(spec: &str, options: &CaptureOptions) -> Result<Box<dyn FrameSource>, CaptureError> {
    if spec == "camera" || spec.starts_with("camera:") {
        let which = spec.strip_prefix("camera:").unwrap_or("");
        return Ok(Box::new(camera::CameraSource::open(which, options)?));
    }
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok(Box::new(folder::FolderSource::open(path, options)?));
    }
    if path.is_file() {
        return Ok(Box::new(video::VideoSource::open(path, options)?));
    }
    Err(CaptureError::NotFound(format!(
        "source `{spec}` is neither a camera (camera, camera:N, camera:NAME), a directory nor a file"
    )))
}
