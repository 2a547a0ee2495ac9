//! Pictures in front of the camera: a flat print (or a screen), and a print bent around a
//! vertical cylinder.

use crate::camera::{Camera, Mat3, Vec3, apply, mul, rot};
use crate::head::add;
use crate::raster::{Canvas, gaussian_blur, rasterise};

/// Where a picture is held: its pose (degrees) and where its anchor point is (camera frame, mm).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Placement {
    /// Turn about the vertical axis, degrees.
    pub yaw: f32,
    /// Tilt about the horizontal axis, degrees.
    pub pitch: f32,
    /// Rotation in the picture's plane, degrees.
    pub roll: f32,
    /// The anchor point's position, mm.
    pub position: Vec3,
}

/// A picture printed at `mm_per_px` with its point `anchor_px` placed as `at` says.
#[derive(Clone, Debug)]
pub struct Picture<'a> {
    /// The picture.
    pub image: &'a Canvas,
    /// Print scale, mm per picture pixel.
    pub mm_per_px: f32,
    /// The point that is placed, picture px.
    pub anchor_px: [f32; 2],
    /// A border around it (paper, or a screen's bezel), picture px, and its colour.
    pub border: (usize, [f32; 3]),
}

/// The homography from picture pixels to camera pixels for a flat picture.
fn homography(cam: &Camera, pic: &Picture<'_>, at: &Placement) -> Mat3 {
    let r = rot(at.yaw, at.pitch, at.roll);
    let m = pic.mm_per_px;
    let s = [
        [m, 0.0, -m * pic.anchor_px[0]],
        [0.0, m, -m * pic.anchor_px[1]],
        [0.0, 0.0, 1.0],
    ];
    let plane = [
        [r[0][0], r[0][1], at.position[0]],
        [r[1][0], r[1][1], at.position[1]],
        [r[2][0], r[2][1], at.position[2]],
    ];
    mul(&mul(&cam.k(), &plane), &s)
}

fn invert(m: &Mat3) -> Option<Mat3> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-12 {
        return None;
    }
    let c = |r: usize, col: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((col + 1) % 3, (col + 2) % 3);
        (m[c1][r1] * m[c2][r2] - m[c1][r2] * m[c2][r1]) / det
    };
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (col, v) in row.iter_mut().enumerate() {
            *v = c(r, col);
        }
    }
    Some(out)
}

/// Draws a flat picture (with its border) over `background`.
pub fn flat(cam: &Camera, pic: &Picture<'_>, at: &Placement, background: &Canvas) -> Canvas {
    let (b, border) = pic.border;
    let bw = b as f32;
    let inner = Picture {
        anchor_px: [pic.anchor_px[0], pic.anchor_px[1]],
        ..pic.clone()
    };
    let Some(inv) = invert(&homography(cam, &inner, at)) else {
        return background.clone();
    };
    let (pw, ph) = (pic.image.w as f32, pic.image.h as f32);
    let mut out = background.clone();
    let mut layer = background.clone();
    let mut alpha = vec![0.0f32; cam.w * cam.h];
    for y in 0..cam.h {
        for x in 0..cam.w {
            let q = apply(&inv, [x as f32, y as f32, 1.0]);
            if q[2].abs() < 1e-9 {
                continue;
            }
            let (u, v) = (q[0] / q[2], q[1] / q[2]);
            if u < -bw - 0.5 || v < -bw - 0.5 || u > pw - 0.5 + bw || v > ph - 0.5 + bw {
                continue;
            }
            let i = y * cam.w + x;
            alpha[i] = 1.0;
            layer.px[i] = if u < -0.5 || v < -0.5 || u > pw - 0.5 || v > ph - 0.5 {
                border
            } else {
                pic.image.sample(u, v)
            };
        }
    }
    gaussian_blur(&mut alpha, cam.w, cam.h, 0.7);
    out.blend(&layer, &alpha);
    out
}

/// Draws a picture bent around a vertical cylinder of `radius_mm` through its anchor's column
/// (convex: the middle nearest the camera), then placed, over `background`.
pub fn bent(
    cam: &Camera,
    pic: &Picture<'_>,
    radius_mm: f32,
    convex: bool,
    at: &Placement,
    background: &Canvas,
) -> Canvas {
    const GRID: usize = 48;
    let (w, h) = (pic.image.w as f32, pic.image.h as f32);
    let r = rot(at.yaw, at.pitch, at.roll);
    let mut uv = Vec::with_capacity(GRID * GRID);
    let mut p = Vec::with_capacity(GRID * GRID);
    let mut z = Vec::with_capacity(GRID * GRID);
    for j in 0..GRID {
        for i in 0..GRID {
            let u = (w - 1.0) * i as f32 / (GRID - 1) as f32;
            let v = (h - 1.0) * j as f32 / (GRID - 1) as f32;
            let s = (u - pic.anchor_px[0]) * pic.mm_per_px;
            let angle = s / radius_mm;
            let depth = radius_mm * (1.0 - angle.cos()) * if convex { 1.0 } else { -1.0 };
            let local = [
                radius_mm * angle.sin(),
                (v - pic.anchor_px[1]) * pic.mm_per_px,
                depth,
            ];
            let (q, d) = cam.project(add(apply(&r, local), at.position));
            uv.push([u, v]);
            p.push(q);
            z.push(d);
        }
    }
    let mut tris = Vec::with_capacity(2 * (GRID - 1) * (GRID - 1));
    for j in 0..GRID - 1 {
        for i in 0..GRID - 1 {
            let a = j * GRID + i;
            tris.push([a, a + 1, a + GRID]);
            tris.push([a + 1, a + GRID + 1, a + GRID]);
        }
    }
    let raster = rasterise(&p, &z, &tris, cam.w, cam.h, None);
    let us: Vec<f32> = uv.iter().map(|q| q[0]).collect();
    let vs: Vec<f32> = uv.iter().map(|q| q[1]).collect();
    let mut layer = background.clone();
    let mut alpha = raster.coverage();
    for (i, a) in alpha.iter().enumerate() {
        if *a > 0.0 {
            let u = raster.interpolate(&tris, i, &us);
            let v = raster.interpolate(&tris, i, &vs);
            layer.px[i] = pic.image.sample(u, v);
        }
    }
    gaussian_blur(&mut alpha, cam.w, cam.h, 0.7);
    let mut out = background.clone();
    out.blend(&layer, &alpha);
    out
}
