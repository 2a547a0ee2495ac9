//! Property tests of the video parsers: whatever bytes a file holds — random, or a real clip
//! with bytes changed or cut off — opening it and reading its frames ends in frames or clear
//! errors, never a panic or a hang, and no frame is larger than the limits allow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use facekiosk_capture::video::{VideoSource, write_avi};
use facekiosk_capture::{CaptureOptions, FrameSource};
use image::{Rgb, RgbImage};
use proptest::prelude::*;

/// Opens `bytes` as a file named `name` and reads up to 20 frames.
fn read_all(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let options = CaptureOptions::default();
    let Ok(mut source) = VideoSource::open(&path, &options) else {
        return;
    };
    for _ in 0..20 {
        match source.next_frame() {
            Ok(Some(frame)) => {
                let px = u64::from(frame.image.width()) * u64::from(frame.image.height());
                assert!(px <= u64::from(options.decode.max_megapixels) * 1_000_000);
            }
            Ok(None) => return,
            Err(e) if e.is_frame_error() => {}
            Err(_) => return,
        }
    }
}

fn clip_frames(n: u32) -> Vec<RgbImage> {
    (0..n)
        .map(|i| {
            RgbImage::from_fn(48, 40, |x, y| {
                Rgb([(x * 5 + i * 9) as u8, (y * 6) as u8, ((x + y) * 3) as u8])
            })
        })
        .collect()
}

fn real_avi() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.avi");
    write_avi(&p, &clip_frames(3), 15).unwrap();
    std::fs::read(p).unwrap()
}

fn real_mjpeg() -> Vec<u8> {
    let mut out = Vec::new();
    for f in clip_frames(3) {
        let mut jpeg = Vec::new();
        f.write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
        out.extend(jpeg);
    }
    out
}

fn real_y4m() -> Vec<u8> {
    let (w, h) = (16usize, 8usize);
    let mut out = format!("YUV4MPEG2 W{w} H{h} F15:1 C420jpeg\n").into_bytes();
    for i in 0..3u8 {
        out.extend_from_slice(b"FRAME\n");
        out.extend(std::iter::repeat_n(60 + i, w * h));
        out.extend(std::iter::repeat_n(128, w * h / 2));
    }
    out
}

/// A real stream with some bytes changed and possibly cut short.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..12),
        0..=len,
    )
        .prop_map(move |(edits, cut)| {
            let mut b = base.clone();
            for (at, v) in edits {
                b[at] = v;
            }
            b.truncate(cut.max(1));
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_as_any_video(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let dir = tempfile::tempdir().unwrap();
        for name in ["r.avi", "r.mjpeg", "r.y4m"] {
            read_all(dir.path(), name, &bytes);
        }
    }

    #[test]
    fn a_damaged_avi(bytes in mutated(real_avi())) {
        read_all(tempfile::tempdir().unwrap().path(), "d.avi", &bytes);
    }

    #[test]
    fn a_damaged_mjpeg_stream(bytes in mutated(real_mjpeg())) {
        read_all(tempfile::tempdir().unwrap().path(), "d.mjpeg", &bytes);
    }

    #[test]
    fn a_damaged_y4m(bytes in mutated(real_y4m())) {
        read_all(tempfile::tempdir().unwrap().path(), "d.y4m", &bytes);
    }

    #[test]
    fn any_y4m_header(header in "YUV4MPEG2( [WHFCIAX][0-9:a-z]{0,12}){0,6}\n") {
        let mut bytes = header.into_bytes();
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend(std::iter::repeat_n(7u8, 512));
        read_all(tempfile::tempdir().unwrap().path(), "h.y4m", &bytes);
    }
}

#[test]
fn the_real_clips_read_back() {
    // The base streams the properties mutate are themselves valid.
    for (name, bytes) in [
        ("a.avi", real_avi()),
        ("a.mjpeg", real_mjpeg()),
        ("a.y4m", real_y4m()),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let mut src = VideoSource::open(&path, &CaptureOptions::default()).unwrap();
        let mut n = 0;
        while let Some(_f) = src.next_frame().unwrap() {
            n += 1;
        }
        assert_eq!(n, 3, "{name}");
    }
}
