//! Shared helpers of the face engine's integration tests: the engine (loaded once per test
//! binary), the project's test photos, and images derived from them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::OnceLock;

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::geometry::Affine;
use facekiosk_face::resample::{Border, resize, warp_affine_image};
use facekiosk_face::runtime::RuntimeConfig;
use image::{ImageFormat, Rgb, RgbImage};

/// The repository's `tests/data`.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data")
}

/// The engine, loaded once (one thread per operator keeps parallel tests from oversubscribing).
pub fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let runtime = RuntimeConfig {
            intra_threads: 1,
            ..RuntimeConfig::default()
        };
        FaceEngine::load(&runtime, &FaceConfig::default())
            .expect("the face engine loads (run scripts/setup)")
    })
}

/// The astronaut portrait (NASA, public domain), 512×512.
pub fn astronaut() -> RgbImage {
    decode(
        &std::fs::read(data_dir().join("astronaut.jpg")).unwrap(),
        DecodeLimits::default(),
    )
    .unwrap()
}

/// The cameraman (CC0), 512×512 grayscale — a different person.
pub fn camera() -> RgbImage {
    decode(
        &std::fs::read(data_dir().join("camera.png")).unwrap(),
        DecodeLimits::default(),
    )
    .unwrap()
}

/// Encodes an image.
pub fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Encodes as JPEG at `quality`.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out.into_inner()
}

/// A crop.
pub fn crop(img: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> RgbImage {
    image::imageops::crop_imm(img, x, y, w, h).to_image()
}

/// Rotated by `deg` degrees (clockwise on screen) about the centre, same size, black corners.
pub fn rotate(img: &RgbImage, deg: f64) -> RgbImage {
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let r = Affine::similarity(1.0, deg.to_radians(), 0.0, 0.0);
    let c = r.apply(facekiosk_face::geometry::Point::new(
        (w / 2.0) as f32,
        (h / 2.0) as f32,
    ));
    let t = Affine {
        m: [
            [r.m[0][0], r.m[0][1], w / 2.0 - f64::from(c.x)],
            [r.m[1][0], r.m[1][1], h / 2.0 - f64::from(c.y)],
        ],
    };
    warp_affine_image(img, &t, img.width(), img.height(), Border::Zero)
}

/// Every channel mapped through `f`.
pub fn map_pixels(img: &RgbImage, f: impl Fn(u8) -> u8) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let p = img.get_pixel(x, y);
        Rgb([f(p[0]), f(p[1]), f(p[2])])
    })
}

/// Mirrored left to right.
pub fn flip(img: &RgbImage) -> RgbImage {
    image::imageops::flip_horizontal(img)
}

/// Scaled to `w`×`h`.
pub fn scaled(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    resize(img, w, h)
}

/// A JPEG with an EXIF APP1 segment holding only the orientation tag (1–8).
pub fn jpeg_with_orientation(img: &RgbImage, orientation: u16) -> Vec<u8> {
    let plain = jpeg(img, 90);
    // TIFF header (big endian), one IFD entry: tag 0x0112 (Orientation), type SHORT, count 1.
    let mut tiff = vec![
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1,
    ];
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = (app1.len() + 2) as u16;
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG that declares `w`×`h` pixels but carries almost no data (a decompression bomb's header).
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}
