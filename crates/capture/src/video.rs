//! Video files as frame sources, decoded in Rust (no ffmpeg): MJPEG in AVI, raw MJPEG
//! (concatenated JPEG frames, `.mjpeg`), and Y4M (uncompressed YUV, `.y4m`). Also writes MJPEG
//! AVI clips ([`write_avi`]), which the demo and the tests make from still photos.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use facekiosk_face::decode::decode;
use image::RgbImage;

use crate::yuv;
use crate::{CaptureError, CaptureOptions, Frame, FrameSource, SourceInfo, SourceKind};

/// Largest frame accepted from a file, bytes (a corrupt length must not allocate gigabytes).
const MAX_FRAME_BYTES: u64 = 64 << 20;
/// Most frames indexed in an AVI (10 hours at 15 frames/s): a file of millions of tiny chunks
/// must not grow the index without end.
const MAX_AVI_FRAMES: usize = 540_000;

enum Reader {
    /// Frame chunks of an AVI: (offset, length) in the file.
    Avi { file: File, chunks: Vec<(u64, u32)> },
    /// Concatenated JPEG frames.
    Mjpeg { reader: BufReader<File> },
    /// Y4M: planes after each `FRAME` line.
    Y4m {
        reader: BufReader<File>,
        format: yuv::Y4mFormat,
    },
}

/// A video file.
pub struct VideoSource {
    path: PathBuf,
    reader: Reader,
    fps: f32,
    frames: Option<u64>,
    next: u64,
    options: CaptureOptions,
}

impl std::fmt::Debug for VideoSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSource")
            .field("path", &self.path)
            .field("fps", &self.fps)
            .finish()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |e| CaptureError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

impl VideoSource {
    /// Opens a video file, recognised by its content (not its name).
    pub fn open(path: &Path, options: &CaptureOptions) -> Result<Self, CaptureError> {
        let mut file = File::open(path).map_err(io(path))?;
        let len = file.metadata().map_err(io(path))?.len();
        if len == 0 {
            return Err(CaptureError::Invalid(format!(
                "{}: the video is empty (0 bytes)",
                path.display()
            )));
        }
        let mut magic = [0u8; 12];
        let n = read_up_to(&mut file, &mut magic).map_err(io(path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(path))?;
        let magic = &magic[..n];
        let (reader, fps, frames) = if magic.starts_with(b"RIFF")
            && magic.get(8..12) == Some(b"AVI ")
        {
            let (chunks, fps) = parse_avi(&mut file, len)
                .map_err(|e| CaptureError::Invalid(format!("{}: {e}", path.display())))?;
            let frames = chunks.len() as u64;
            (
                Reader::Avi { file, chunks },
                fps.unwrap_or(options.default_fps),
                Some(frames),
            )
        } else if magic.starts_with(&[0xFF, 0xD8]) {
            (
                Reader::Mjpeg {
                    reader: BufReader::new(file),
                },
                options.default_fps,
                None,
            )
        } else if magic.starts_with(b"YUV4MPEG2") {
            let mut reader = BufReader::new(file);
            let format = yuv::Y4mFormat::read_header(&mut reader, options.decode.max_megapixels)
                .map_err(|e| CaptureError::Invalid(format!("{}: {e}", path.display())))?;
            let fps = format.fps.unwrap_or(options.default_fps);
            (Reader::Y4m { reader, format }, fps, None)
        } else {
            return Err(CaptureError::Invalid(format!(
                "{}: not a supported video (MJPEG in AVI, raw MJPEG or Y4M)",
                path.display()
            )));
        };
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            fps: fps.max(0.1),
            frames,
            next: 0,
            options: options.clone(),
        })
    }

    fn timestamp(&self, index: u64) -> u64 {
        (index as f64 * 1000.0 / f64::from(self.fps)) as u64
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = r.read(&mut buf[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

impl FrameSource for VideoSource {
    fn info(&self) -> SourceInfo {
        SourceInfo {
            name: self.path.display().to_string(),
            kind: SourceKind::Video,
            fps: Some(self.fps),
            frames: self.frames,
            is_virtual: false,
        }
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let index = self.next;
        let limits = self.options.decode;
        let corrupt = |reason: String| CaptureError::CorruptFrame { index, reason };
        let image: RgbImage = match &mut self.reader {
            Reader::Avi { file, chunks } => {
                let Some(&(offset, len)) = chunks.get(index as usize) else {
                    return Ok(None);
                };
                self.next += 1;
                let mut bytes = vec![0u8; len as usize];
                file.seek(SeekFrom::Start(offset)).map_err(io(&self.path))?;
                file.read_exact(&mut bytes)
                    .map_err(|e| corrupt(format!("cannot read the frame: {e}")))?;
                decode(&bytes, limits).map_err(|e| corrupt(e.to_string()))?
            }
            Reader::Mjpeg { reader } => {
                let Some(bytes) = next_jpeg(reader).map_err(|e| corrupt(e.to_string()))? else {
                    return Ok(None);
                };
                self.next += 1;
                decode(&bytes, limits).map_err(|e| corrupt(e.to_string()))?
            }
            Reader::Y4m { reader, format } => {
                let Some(planes) = format
                    .read_frame(reader)
                    .map_err(|e| corrupt(e.to_string()))?
                else {
                    return Ok(None);
                };
                self.next += 1;
                format.convert(&planes)
            }
        };
        Ok(Some(Frame {
            image,
            index,
            timestamp_ms: self.timestamp(index),
        }))
    }
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Walks an AVI's chunks: the frame rate from `avih`, the codec from `strh`/`strf` (MJPEG only),
/// and the offset and length of every video chunk (`##dc`/`##db`) of `movi`.
/// The video chunks of an AVI, (offset, length) each, and its frame rate.
type AviIndex = (Vec<(u64, u32)>, Option<f32>);

fn parse_avi(file: &mut File, len: u64) -> Result<AviIndex, String> {
    let mut chunks = Vec::new();
    let mut fps = None;
    let mut codec_ok = None;
    // (start, end) of the list bodies still to walk.
    let mut lists = vec![(12u64, len)];
    while let Some((mut pos, end)) = lists.pop() {
        while pos + 8 <= end {
            let mut head = [0u8; 12];
            file.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
            let got = read_up_to(file, &mut head).map_err(|e| e.to_string())?;
            if got < 8 {
                break;
            }
            let id = &head[0..4];
            let size = u64::from(le_u32(&head, 4).unwrap_or(0));
            let body = pos + 8;
            if body + size > len {
                // A truncated last chunk: keep what came before it.
                break;
            }
            match id {
                b"LIST" if got >= 12 => {
                    let kind = &head[8..12];
                    if matches!(kind, b"hdrl" | b"strl" | b"movi") {
                        lists.push((body + 4, body + size));
                    }
                }
                b"avih" if size >= 40 => {
                    let mut h = vec![0u8; 40];
                    file.seek(SeekFrom::Start(body))
                        .map_err(|e| e.to_string())?;
                    file.read_exact(&mut h).map_err(|e| e.to_string())?;
                    let us = le_u32(&h, 0).unwrap_or(0);
                    if us > 0 {
                        fps = Some(1e6 / us as f32);
                    }
                }
                b"strh" if size >= 8 => {
                    let mut h = [0u8; 8];
                    file.seek(SeekFrom::Start(body))
                        .map_err(|e| e.to_string())?;
                    file.read_exact(&mut h).map_err(|e| e.to_string())?;
                    if &h[0..4] == b"vids" {
                        let handler = h[4..8].to_ascii_uppercase();
                        codec_ok = Some(
                            codec_ok.unwrap_or(false) || handler == *b"MJPG" || handler == [0; 4],
                        );
                    }
                }
                b"strf" if size >= 20 => {
                    let mut h = [0u8; 20];
                    file.seek(SeekFrom::Start(body))
                        .map_err(|e| e.to_string())?;
                    file.read_exact(&mut h).map_err(|e| e.to_string())?;
                    let compression = h[16..20].to_ascii_uppercase();
                    if compression != *b"MJPG" {
                        return Err(format!(
                            "the video codec is `{}`; only MJPEG AVI files are supported",
                            String::from_utf8_lossy(&h[16..20])
                        ));
                    }
                    codec_ok = Some(true);
                }
                _ if (id[2..4] == *b"dc" || id[2..4] == *b"db")
                    && size > 0
                    && size <= MAX_FRAME_BYTES =>
                {
                    if chunks.len() >= MAX_AVI_FRAMES {
                        return Err(format!("the AVI holds more than {MAX_AVI_FRAMES} frames"));
                    }
                    chunks.push((body, size as u32));
                }
                _ => {}
            }
            pos = body + size + (size & 1);
        }
    }
    if codec_ok == Some(false) {
        return Err("the video stream is not MJPEG".to_owned());
    }
    if chunks.is_empty() {
        return Err("the AVI holds no video frame".to_owned());
    }
    chunks.sort_by_key(|c| c.0);
    Ok((chunks, fps))
}

/// Reads the next JPEG of a concatenated stream: from SOI, the header segments by their lengths,
/// then the entropy-coded data up to EOI. `Ok(None)` at a clean end of stream.
fn next_jpeg(r: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    // Skip anything before the next SOI.
    let mut prev = None;
    loop {
        let buf = r.fill_buf().map_err(|e| e.to_string())?;
        if buf.is_empty() {
            return Ok(None);
        }
        let b = buf[0];
        r.consume(1);
        if prev == Some(0xFF) && b == 0xD8 {
            break;
        }
        prev = Some(b);
    }
    let mut out = vec![0xFF, 0xD8];
    let byte = |r: &mut dyn BufRead| -> Result<u8, String> {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)
            .map_err(|_| "the stream ends inside a frame (truncated)".to_owned())?;
        Ok(b[0])
    };
    loop {
        // A marker: 0xFF (fill bytes allowed), then its code.
        let mut m = byte(r)?;
        if m != 0xFF {
            return Err("malformed JPEG header".to_owned());
        }
        while m == 0xFF {
            m = byte(r)?;
        }
        out.extend_from_slice(&[0xFF, m]);
        if m == 0xD9 {
            return Ok(Some(out));
        }
        let len = u16::from_be_bytes([byte(r)?, byte(r)?]);
        if len < 2 {
            return Err("malformed JPEG segment length".to_owned());
        }
        out.extend_from_slice(&len.to_be_bytes());
        if out.len() as u64 + u64::from(len) > MAX_FRAME_BYTES {
            return Err("a frame is larger than 64 MB".to_owned());
        }
        let mut seg = vec![0u8; usize::from(len) - 2];
        r.read_exact(&mut seg)
            .map_err(|_| "the stream ends inside a frame (truncated)".to_owned())?;
        out.extend_from_slice(&seg);
        if m == 0xDA {
            // Entropy-coded data up to EOI (0xFF is always followed by 0x00 or a restart marker).
            let mut last = 0u8;
            loop {
                let b = byte(r)?;
                out.push(b);
                if last == 0xFF && b == 0xD9 {
                    return Ok(Some(out));
                }
                last = b;
                if out.len() as u64 > MAX_FRAME_BYTES {
                    return Err("a frame is larger than 64 MB".to_owned());
                }
            }
        }
    }
}

/// Writes frames as an MJPEG AVI at `fps` (JPEG quality 90), with an index.
pub fn write_avi(path: &Path, frames: &[RgbImage], fps: u32) -> Result<(), CaptureError> {
    let (w, h) = frames.first().map_or((0, 0), RgbImage::dimensions);
    if frames.is_empty() || frames.iter().any(|f| f.dimensions() != (w, h)) {
        return Err(CaptureError::Invalid(
            "a clip needs frames, all of one size".to_owned(),
        ));
    }
    let mut jpegs = Vec::with_capacity(frames.len());
    for f in frames {
        let mut buf = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
            .encode_image(f)
            .map_err(|e| CaptureError::Invalid(e.to_string()))?;
        jpegs.push(buf.into_inner());
    }
    let n = frames.len() as u32;
    let max = jpegs.iter().map(Vec::len).max().unwrap_or(0) as u32;
    let mut movi = Vec::new();
    let mut idx = Vec::new();
    for j in &jpegs {
        idx.extend_from_slice(b"00dc");
        idx.extend_from_slice(&0x10u32.to_le_bytes());
        idx.extend_from_slice(&(movi.len() as u32 + 4).to_le_bytes());
        idx.extend_from_slice(&(j.len() as u32).to_le_bytes());
        movi.extend_from_slice(b"00dc");
        movi.extend_from_slice(&(j.len() as u32).to_le_bytes());
        movi.extend_from_slice(j);
        if j.len() % 2 == 1 {
            movi.push(0);
        }
    }
    let u32s = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let avih = u32s(&[
        1_000_000 / fps.max(1),
        max * fps,
        0,
        0x10,
        n,
        0,
        1,
        max,
        w,
        h,
        0,
        0,
        0,
        0,
    ]);
    let mut strh = b"vidsMJPG".to_vec();
    strh.extend(u32s(&[0, 0, 0, 1, fps, 0, n, max, u32::MAX, 0]));
    strh.extend_from_slice(&[0; 8]);
    let mut strf = u32s(&[40, w, h]);
    strf.extend_from_slice(&1u16.to_le_bytes());
    strf.extend_from_slice(&24u16.to_le_bytes());
    strf.extend_from_slice(b"MJPG");
    strf.extend(u32s(&[w * h * 3, 0, 0, 0, 0]));
    let chunk = |id: &[u8], body: &[u8]| {
        let mut c = id.to_vec();
        c.extend_from_slice(&(body.len() as u32).to_le_bytes());
        c.extend_from_slice(body);
        c
    };
    let list = |kind: &[u8], body: &[u8]| {
        let mut b = kind.to_vec();
        b.extend_from_slice(body);
        chunk(b"LIST", &b)
    };
    let strl = list(
        b"strl",
        &[chunk(b"strh", &strh), chunk(b"strf", &strf)].concat(),
    );
    let hdrl = list(b"hdrl", &[chunk(b"avih", &avih), strl].concat());
    let body = [
        b"AVI ".to_vec(),
        hdrl,
        list(b"movi", &movi),
        chunk(b"idx1", &idx),
    ]
    .concat();
    let riff = chunk(b"RIFF", &body);
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(&riff).map_err(io(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<RgbImage> {
        (0..n)
            .map(|i| {
                RgbImage::from_fn(64, 48, |x, y| {
                    image::Rgb([(x * 4) as u8, (y * 5) as u8, (i * 40) as u8])
                })
            })
            .collect()
    }

    #[test]
    fn an_avi_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clip.avi");
        write_avi(&p, &frames(5), 15).unwrap();
        let mut src = VideoSource::open(&p, &CaptureOptions::default()).unwrap();
        let info = src.info();
        assert_eq!(info.frames, Some(5));
        assert!((info.fps.unwrap() - 15.0).abs() < 0.1);
        let mut n = 0;
        while let Some(f) = src.next_frame().unwrap() {
            assert_eq!(f.image.dimensions(), (64, 48));
            assert_eq!(f.index, n);
            n += 1;
        }
        assert_eq!(n, 5);
    }

    #[test]
    fn raw_mjpeg_frames_split_at_their_markers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clip.mjpeg");
        let mut bytes = Vec::new();
        for f in frames(3) {
            let mut b = std::io::Cursor::new(Vec::new());
            f.write_to(&mut b, image::ImageFormat::Jpeg).unwrap();
            bytes.extend(b.into_inner());
        }
        std::fs::write(&p, &bytes).unwrap();
        let mut src = VideoSource::open(&p, &CaptureOptions::default()).unwrap();
        for i in 0..3 {
            assert_eq!(src.next_frame().unwrap().unwrap().index, i);
        }
        assert!(src.next_frame().unwrap().is_none());
        // Cut inside the last frame: the first two play, the third is one corrupt frame.
        std::fs::write(&p, &bytes[..bytes.len() - 50]).unwrap();
        let mut src = VideoSource::open(&p, &CaptureOptions::default()).unwrap();
        src.next_frame().unwrap().unwrap();
        src.next_frame().unwrap().unwrap();
        assert!(src.next_frame().unwrap_err().is_frame_error());
    }

    #[test]
    fn a_y4m_file_decodes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clip.y4m");
        let (w, h) = (8usize, 4usize);
        let mut bytes = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip A1:1 C420jpeg\n").into_bytes();
        for _ in 0..2 {
            bytes.extend_from_slice(b"FRAME\n");
            bytes.extend(std::iter::repeat_n(180u8, w * h));
            bytes.extend(std::iter::repeat_n(128u8, 2 * (w / 2) * (h / 2)));
        }
        std::fs::write(&p, &bytes).unwrap();
        let mut src = VideoSource::open(&p, &CaptureOptions::default()).unwrap();
        assert_eq!(src.info().fps, Some(25.0));
        let f = src.next_frame().unwrap().unwrap();
        let px = f.image.get_pixel(3, 2);
        assert!(px[0] == px[1] && px[1] == px[2] && px[0] > 180, "{px:?}");
        assert_eq!(src.next_frame().unwrap().unwrap().timestamp_ms, 40);
        assert!(src.next_frame().unwrap().is_none());
    }

    #[test]
    fn empty_and_unknown_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.avi");
        std::fs::write(&p, b"").unwrap();
        let err = VideoSource::open(&p, &CaptureOptions::default()).unwrap_err();
        assert!(err.to_string().contains("empty (0 bytes)"), "{err}");
        std::fs::write(&p, b"hello world, not a video").unwrap();
        let err = VideoSource::open(&p, &CaptureOptions::default()).unwrap_err();
        assert!(err.to_string().contains("not a supported video"), "{err}");
        std::fs::write(&p, b"RIFF\x04\x00\x00\x00AVI ").unwrap();
        assert!(VideoSource::open(&p, &CaptureOptions::default()).is_err());
    }
}
