//! The camera, through `nokhwa`: devices listed, one chosen by index or name, the format
//! negotiated (MJPEG, then YUYV, then whatever the camera offers), frames decoded here (MJPEG with
//! the engine's decoder, YUYV converted), virtual cameras refused unless allowed, and a lost
//! camera reopened when it comes back.

use std::path::{Path, PathBuf};
use std::time::Instant;

use nokhwa::Camera;
use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
    Resolution,
};

use crate::yuv::yuyv_to_rgb;
use crate::{CaptureError, CaptureOptions, Frame, FrameSource, SourceInfo, SourceKind};

/// A camera the system offers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CameraDevice {
    /// Its index (`/dev/videoN` on Linux).
    pub index: u32,
    /// Its name.
    pub name: String,
    /// Backend details (driver, bus).
    pub description: String,
    /// True for a virtual camera (v4l2loopback, OBS, …).
    pub is_virtual: bool,
}

/// Names of virtual-camera software, as they appear in device names (lower case).
const VIRTUAL_NAMES: [&str; 10] = [
    "v4l2loopback",
    "dummy video device",
    "obs virtual",
    "obs-camera",
    "virtual camera",
    "virtualcam",
    "manycam",
    "snap camera",
    "xsplit",
    "droidcam",
];

/// True when a camera is virtual: its name is one of the known virtual-camera programs, or (on
/// Linux) its sysfs node lives under `/sys/devices/virtual` (no hardware behind it, as
/// v4l2loopback's devices). `sysfs` is `/sys/class/video4linux` outside tests.
pub fn is_virtual(name: &str, index: u32, sysfs: &Path) -> bool {
    let lower = name.to_ascii_lowercase();
    if VIRTUAL_NAMES.iter().any(|v| lower.contains(v)) {
        return true;
    }
    std::fs::canonicalize(sysfs.join(format!("video{index}")))
        .map(|p| p.to_string_lossy().contains("/devices/virtual/"))
        .unwrap_or(false)
}

fn sysfs() -> PathBuf {
    PathBuf::from("/sys/class/video4linux")
}

/// The cameras the system offers (none is not an error here).
pub fn list() -> Result<Vec<CameraDevice>, CaptureError> {
    let infos = nokhwa::query(ApiBackend::Auto)
        .map_err(|e| CaptureError::NotFound(format!("cannot list the cameras: {e}")))?;
    Ok(infos
        .into_iter()
        .filter_map(|info| {
            let index = match info.index() {
                CameraIndex::Index(i) => *i,
                CameraIndex::String(s) => s.parse().ok()?,
            };
            let name = info.human_name();
            Some(CameraDevice {
                is_virtual: is_virtual(&name, index, &sysfs()),
                index,
                name,
                description: info.description().to_owned(),
            })
        })
        .collect())
}

/// Picks a camera by spec: empty = the first real one, a number = that index, else the first
/// whose name contains the text (case-insensitive).
pub fn choose<'a>(
    devices: &'a [CameraDevice],
    which: &str,
) -> Result<&'a CameraDevice, CaptureError> {
    if devices.is_empty() {
        return Err(CaptureError::NotFound(
            "no camera found: connect one, or check that this user may open /dev/video*".to_owned(),
        ));
    }
    let which = which.trim();
    let found = if which.is_empty() {
        devices
            .iter()
            .find(|d| !d.is_virtual)
            .or_else(|| devices.first())
    } else if let Ok(i) = which.parse::<u32>() {
        devices.iter().find(|d| d.index == i)
    } else {
        let w = which.to_ascii_lowercase();
        devices
            .iter()
            .find(|d| d.name.to_ascii_lowercase().contains(&w))
    };
    found.ok_or_else(|| {
        let names: Vec<String> = devices
            .iter()
            .map(|d| format!("{} ({})", d.index, d.name))
            .collect();
        CaptureError::NotFound(format!(
            "no camera `{which}`; cameras: {}",
            names.join(", ")
        ))
    })
}

/// A camera as a frame source.
pub struct CameraSource {
    device: CameraDevice,
    camera: Camera,
    options: CaptureOptions,
    started: Instant,
    next: u64,
}

impl std::fmt::Debug for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraSource")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl CameraSource {
    /// Opens the camera `which` (see [`choose`]).
    pub fn open(which: &str, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let devices = list()?;
        let device = choose(&devices, which)?.clone();
        if device.is_virtual && !options.allow_virtual_camera {
            return Err(CaptureError::VirtualCamera(format!(
                "camera {} ({}) is a virtual camera; it is refused because virtual cameras are how recorded \
                 or synthetic video is injected (allow it for test rigs with capture.allow_virtual_camera)",
                device.index, device.name
            )));
        }
        let camera = open_device(&device, options)?;
        tracing::info!(camera = %device.name, index = device.index, format = %camera.camera_format(), "camera opened");
        Ok(Self {
            device,
            camera,
            options: options.clone(),
            started: Instant::now(),
            next: 0,
        })
    }

    /// The camera.
    pub fn device(&self) -> &CameraDevice {
        &self.device
    }
}

fn open_device(device: &CameraDevice, options: &CaptureOptions) -> Result<Camera, CaptureError> {
    let wanted = |format| {
        RequestedFormatType::Closest(CameraFormat::new(
            Resolution::new(options.width, options.height),
            format,
            options.fps,
        ))
    };
    let attempts = [
        wanted(FrameFormat::MJPEG),
        wanted(FrameFormat::YUYV),
        RequestedFormatType::AbsoluteHighestFrameRate,
    ];
    let mut last = String::new();
    for requested in attempts {
        match Camera::new(
            CameraIndex::Index(device.index),
            RequestedFormat::new::<RgbFormat>(requested),
        ) {
            Ok(mut cam) => match cam.open_stream() {
                Ok(()) => return Ok(cam),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
    }
    let lower = last.to_ascii_lowercase();
    let what = format!("camera {} ({})", device.index, device.name);
    if lower.contains("busy") || lower.contains("permission") || lower.contains("denied") {
        Err(CaptureError::NotAllowed(format!(
            "{what} is busy (used by another program) or access is denied: {last}"
        )))
    } else {
        Err(CaptureError::NotFound(format!(
            "{what} cannot be opened: {last}"
        )))
    }
}

impl FrameSource for CameraSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: self.device.name.clone(),
            kind: SourceKind::Camera,
            fps: Some(self.camera.camera_format().frame_rate() as f32),
            frames: None,
            is_virtual: self.device.is_virtual,
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let index = self.next;
        let buffer = match self.camera.frame() {
            Ok(b) => b,
            Err(e) => {
                let gone = !Path::new(&format!("/dev/video{}", self.device.index)).exists();
                return Err(if gone {
                    CaptureError::Disconnected(format!(
                        "camera {} ({}) was disconnected",
                        self.device.index, self.device.name
                    ))
                } else {
                    self.next += 1;
                    CaptureError::CorruptFrame {
                        index,
                        reason: e.to_string(),
                    }
                });
            }
        };
        self.next += 1;
        let res = buffer.resolution();
        let corrupt = |reason: String| CaptureError::CorruptFrame { index, reason };
        let image = match buffer.source_frame_format() {
            FrameFormat::MJPEG => {
                facekiosk_face::decode::decode(buffer.buffer(), self.options.decode)
                    .map_err(|e| corrupt(e.to_string()))?
            }
            FrameFormat::YUYV => yuyv_to_rgb(buffer.buffer(), res.width_x, res.height_y)
                .ok_or_else(|| corrupt("short YUYV frame".to_owned()))?,
            FrameFormat::RAWRGB => {
                image::RgbImage::from_raw(res.width_x, res.height_y, buffer.buffer().to_vec())
                    .ok_or_else(|| corrupt("short RGB frame".to_owned()))?
            }
            FrameFormat::GRAY => {
                let g = buffer.buffer();
                if g.len() < res.width_x as usize * res.height_y as usize {
                    return Err(corrupt("short grey frame".to_owned()));
                }
                image::RgbImage::from_fn(res.width_x, res.height_y, |x, y| {
                    let v = g[(y * res.width_x + x) as usize];
                    image::Rgb([v, v, v])
                })
            }
            other => return Err(corrupt(format!("frame format {other} is not supported"))),
        };
        Ok(Some(Frame {
            image,
            index,
            timestamp_ms: self.started.elapsed().as_millis() as u64,
        }))
    }

    fn reconnect(&mut self) -> Result<(), CaptureError> {
        let devices = list()?;
        // The camera may come back with another index: find it by name first.
        let device = devices
            .iter()
            .find(|d| d.name == self.device.name)
            .or_else(|| devices.iter().find(|d| d.index == self.device.index))
            .ok_or_else(|| {
                CaptureError::Disconnected(format!(
                    "camera {} is still disconnected",
                    self.device.name
                ))
            })?
            .clone();
        if device.is_virtual && !self.options.allow_virtual_camera {
            return Err(CaptureError::VirtualCamera(format!(
                "camera {} came back as a virtual camera",
                device.name
            )));
        }
        self.camera = open_device(&device, &self.options)?;
        self.device = device;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(index: u32, name: &str, is_virtual: bool) -> CameraDevice {
        CameraDevice {
            index,
            name: name.to_owned(),
            description: String::new(),
            is_virtual,
        }
    }

    #[test]
    fn known_virtual_camera_names() {
        let none = Path::new("/nonexistent");
        assert!(is_virtual("Dummy video device (0x0000)", 0, none));
        assert!(is_virtual("OBS Virtual Camera", 0, none));
        assert!(!is_virtual("HD Pro Webcam C920", 0, none));
    }

    #[cfg(unix)]
    #[test]
    fn a_sysfs_node_without_hardware_is_virtual() {
        let root = tempfile::tempdir().unwrap();
        let virt = root.path().join("sys/devices/virtual/video4linux/video3");
        let real = root
            .path()
            .join("sys/devices/pci0000:00/usb1/video4linux/video0");
        std::fs::create_dir_all(&virt).unwrap();
        std::fs::create_dir_all(&real).unwrap();
        let class = root.path().join("class");
        std::fs::create_dir_all(&class).unwrap();
        std::os::unix::fs::symlink(&virt, class.join("video3")).unwrap();
        std::os::unix::fs::symlink(&real, class.join("video0")).unwrap();
        assert!(is_virtual("Some Camera", 3, &class));
        assert!(!is_virtual("Some Camera", 0, &class));
    }

    #[test]
    fn choosing_by_index_name_or_default() {
        let devices = vec![dev(0, "Loopback", true), dev(2, "HD Webcam", false)];
        assert_eq!(choose(&devices, "").unwrap().index, 2);
        assert_eq!(choose(&devices, "0").unwrap().index, 0);
        assert_eq!(choose(&devices, "webcam").unwrap().index, 2);
        let err = choose(&devices, "7").unwrap_err().to_string();
        assert!(
            err.contains("no camera `7`") && err.contains("HD Webcam"),
            "{err}"
        );
        assert!(matches!(choose(&[], ""), Err(CaptureError::NotFound(_))));
    }
}
