//! The audit-trail image: the frame used for the decision, with the background hidden on
//! request so only the face stays visible.

use std::io::Cursor;

use facekiosk_face::geometry::BoundingBox;
use image::{Rgb, RgbImage};

use crate::options::Obfuscation;

/// Longest side of the audit image, px (enough for a reviewer, small in the result).
const MAX_SIDE: u32 = 480;

/// Renders the audit image as JPEG: scaled to at most 480 px, the background outside an ellipse
/// around the face blurred or filled.
pub fn render(frame: &RgbImage, face: &BoundingBox, obfuscation: Obfuscation) -> Option<Vec<u8>> {
    let scale = (MAX_SIDE as f32 / frame.width().max(frame.height()) as f32).min(1.0);
    let (w, h) = (
        ((frame.width() as f32 * scale) as u32).max(1),
        ((frame.height() as f32 * scale) as u32).max(1),
    );
    let small = facekiosk_face::resample::resize(frame, w, h);
    let face = BoundingBox {
        x: face.x * scale,
        y: face.y * scale,
        width: face.width * scale,
        height: face.height * scale,
    };
    let out = match obfuscation {
        Obfuscation::None => small,
        Obfuscation::Blurred => {
            let blurred = blur(&small, (w.max(h) / 40).max(2));
            keep_face(&small, &face, |x, y| *blurred.get_pixel(x, y))
        }
        Obfuscation::Filled => keep_face(&small, &face, |_, _| Rgb([0, 0, 0])),
        Obfuscation::FilledWhite => keep_face(&small, &face, |_, _| Rgb([255, 255, 255])),
    };
    let mut bytes = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
        .encode_image(&out)
        .ok()?;
    Some(bytes.into_inner())
}

/// Keeps the pixels inside an ellipse around the face (the box enlarged 1.3× wide, 1.5× tall);
/// the others come from `background`.
fn keep_face(
    img: &RgbImage,
    face: &BoundingBox,
    background: impl Fn(u32, u32) -> Rgb<u8>,
) -> RgbImage {
    let c = face.center();
    let (rx, ry) = ((face.width * 0.65).max(1.0), (face.height * 0.75).max(1.0));
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let dx = (x as f32 - c.x) / rx;
        let dy = (y as f32 - c.y) / ry;
        if dx * dx + dy * dy <= 1.0 {
            *img.get_pixel(x, y)
        } else {
            background(x, y)
        }
    })
}

/// A box blur of radius `r`, applied three times (close to a Gaussian).
fn blur(img: &RgbImage, r: u32) -> RgbImage {
    let mut out = img.clone();
    for _ in 0..3 {
        out = box_pass(&box_pass(&out, r, true), r, false);
    }
    out
}

fn box_pass(img: &RgbImage, r: u32, horizontal: bool) -> RgbImage {
    let (w, h) = img.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let mut sum = [0u32; 3];
        let mut n = 0u32;
        let (lo, hi, fixed) = if horizontal {
            (x.saturating_sub(r), (x + r).min(w - 1), y)
        } else {
            (y.saturating_sub(r), (y + r).min(h - 1), x)
        };
        for i in lo..=hi {
            let p = if horizontal {
                img.get_pixel(i, fixed)
            } else {
                img.get_pixel(fixed, i)
            };
            for c in 0..3 {
                sum[c] += u32::from(p[c]);
            }
            n += 1;
        }
        Rgb(sum.map(|s| (s / n.max(1)) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_keeps_only_the_face() {
        let img = RgbImage::from_pixel(200, 100, Rgb([120, 60, 30]));
        let face = BoundingBox {
            x: 80.0,
            y: 20.0,
            width: 40.0,
            height: 50.0,
        };
        let jpeg = render(&img, &face, Obfuscation::FilledWhite).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (200, 100));
        let corner = back.get_pixel(5, 5);
        assert!(corner[0] > 240 && corner[1] > 240, "{corner:?}");
        let centre = back.get_pixel(100, 45);
        assert!((i32::from(centre[0]) - 120).abs() < 12, "{centre:?}");
    }

    #[test]
    fn large_frames_are_scaled_down() {
        let img = RgbImage::from_pixel(1920, 1080, Rgb([10, 10, 10]));
        let face = BoundingBox {
            x: 900.0,
            y: 400.0,
            width: 200.0,
            height: 250.0,
        };
        let jpeg = render(&img, &face, Obfuscation::Blurred).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!(back.width(), 480);
    }
}
