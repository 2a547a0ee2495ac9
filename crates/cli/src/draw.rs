//! Drawing detections on an image (`detect --annotate`).

use facekiosk_face::engine::FrameAnalysis;
use facekiosk_face::geometry::Point;
use image::{Rgb, RgbImage};

const MAIN: Rgb<u8> = Rgb([0, 220, 120]);
const OTHER: Rgb<u8> = Rgb([255, 170, 0]);
const POINT: Rgb<u8> = Rgb([255, 40, 40]);
const MESH: Rgb<u8> = Rgb([80, 200, 255]);

/// Draws every face box (the main one green, others orange), the keypoints and the main face's
/// dense landmarks.
pub fn annotate(img: &mut RgbImage, a: &FrameAnalysis) {
    let thickness = (img.width().max(img.height()) / 400).max(1) as i64;
    for (i, f) in a.faces.iter().enumerate() {
        let colour = if i == 0 { MAIN } else { OTHER };
        rect(
            img,
            f.bbox.x,
            f.bbox.y,
            f.bbox.right(),
            f.bbox.bottom(),
            thickness,
            colour,
        );
        for k in f.keypoints {
            dot(img, k, thickness + 1, POINT);
        }
    }
    if let Some(l) = a.face.as_ref().and_then(|f| f.landmarks.as_ref()) {
        for p in l.points_2d() {
            dot(img, p, (thickness / 2).max(1), MESH);
        }
    }
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0
        && y >= 0
        && (x as u64) < u64::from(img.width())
        && (y as u64) < u64::from(img.height())
    {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn rect(img: &mut RgbImage, x0: f32, y0: f32, x1: f32, y1: f32, t: i64, c: Rgb<u8>) {
    let (x0, y0, x1, y1) = (x0 as i64, y0 as i64, x1 as i64, y1 as i64);
    for d in 0..t {
        for x in x0..=x1 {
            put(img, x, y0 + d, c);
            put(img, x, y1 - d, c);
        }
        for y in y0..=y1 {
            put(img, x0 + d, y, c);
            put(img, x1 - d, y, c);
        }
    }
}

fn dot(img: &mut RgbImage, p: Point, r: i64, c: Rgb<u8>) {
    let (cx, cy) = (p.x as i64, p.y as i64);
    for dy in -r..=r {
        for dx in -r..=r {
            if dx * dx + dy * dy <= r * r {
                put(img, cx + dx, cy + dy, c);
            }
        }
    }
}
