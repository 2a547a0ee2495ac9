//! A folder of images as a frame source, in natural name order (`frame2` before `frame10`).

use std::path::{Path, PathBuf};

use facekiosk_face::decode::decode_file;

use crate::{CaptureError, CaptureOptions, Frame, FrameSource, SourceInfo, SourceKind};

/// The image files of a folder, played at a fixed frame rate.
#[derive(Debug)]
pub struct FolderSource {
    dir: PathBuf,
    files: Vec<PathBuf>,
    next: usize,
    fps: f32,
    options: CaptureOptions,
}

const EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "bmp", "jfif"];

impl FolderSource {
    /// Lists the images of `dir`; a folder without any is an error.
    pub fn open(dir: &Path, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let entries = std::fs::read_dir(dir).map_err(|e| CaptureError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        if files.is_empty() {
            return Err(CaptureError::Invalid(format!(
                "{} holds no image (jpg, png, webp, bmp)",
                dir.display()
            )));
        }
        files.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
            next: 0,
            fps: options.default_fps.max(0.1),
            options: options.clone(),
        })
    }
}

impl FrameSource for FolderSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: self.dir.display().to_string(),
            kind: SourceKind::Folder,
            fps: Some(self.fps),
            frames: Some(self.files.len() as u64),
            is_virtual: false,
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(path) = self.files.get(self.next).cloned() else {
            return Ok(None);
        };
        let index = self.next as u64;
        self.next += 1;
        let image =
            decode_file(&path, self.options.decode).map_err(|e| CaptureError::CorruptFrame {
                index,
                reason: e.to_string(),
            })?;
        Ok(Some(Frame {
            image,
            index,
            timestamp_ms: (index as f64 * 1000.0 / f64::from(self.fps)) as u64,
        }))
    }
}

/// Compares names with runs of digits compared as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let mut na = String::new();
                while let Some(c) = a.peek().copied().filter(char::is_ascii_digit) {
                    na.push(c);
                    a.next();
                }
                let mut nb = String::new();
                while let Some(c) = b.peek().copied().filter(char::is_ascii_digit) {
                    nb.push(c);
                    b.next();
                }
                let (ta, tb) = (na.trim_start_matches('0'), nb.trim_start_matches('0'));
                let ord = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
                if ord != std::cmp::Ordering::Equal {
                    return ord;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["f10.png", "f2.png", "f1.png", "a.png"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, vec!["a.png", "f1.png", "f2.png", "f10.png"]);
    }

    #[test]
    fn an_empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let err = FolderSource::open(dir.path(), &CaptureOptions::default()).unwrap_err();
        assert!(err.to_string().contains("holds no image"), "{err}");
    }

    #[test]
    fn a_corrupt_image_is_one_bad_frame() {
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_pixel(64, 64, image::Rgb([1, 2, 3]));
        img.save(dir.path().join("f1.png")).unwrap();
        std::fs::write(dir.path().join("f2.png"), b"broken").unwrap();
        img.save(dir.path().join("f3.png")).unwrap();
        let mut src = FolderSource::open(dir.path(), &CaptureOptions::default()).unwrap();
        assert_eq!(src.next_frame().unwrap().unwrap().index, 0);
        assert!(src.next_frame().unwrap_err().is_frame_error());
        let third = src.next_frame().unwrap().unwrap();
        assert_eq!((third.index, third.timestamp_ms), (2, 133));
        assert!(src.next_frame().unwrap().is_none());
    }
}
