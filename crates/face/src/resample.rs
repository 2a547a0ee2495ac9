//! Resampling images into model inputs: letterboxing, resizing and affine warps.
//!
//! Downscaling averages the source area each output pixel covers (OpenCV's `INTER_AREA`), so a
//! 4000-px photo shrunk to a 128-px detector input does not alias; upscaling is bilinear.
//! Model inputs are written straight into `f32` tensors (NHWC), normalised as `v·alpha + beta`.

use image::{Rgb, RgbImage};

use crate::geometry::Affine;

/// One output sample: the source indices and weights it reads along one axis.
type Taps = Vec<Vec<(u32, f32)>>;

/// Taps along one axis: `src_len` real pixels, read as if the axis were `padded_len` long (the
/// extra pixels are zeros: letterbox padding), resampled to `dst_len` samples.
fn axis_taps(src_len: u32, padded_len: f64, dst_len: u32) -> Taps {
    let r = padded_len / f64::from(dst_len.max(1));
    let padded = padded_len > f64::from(src_len) + 1e-9;
    let last = src_len.saturating_sub(1);
    (0..dst_len)
        .map(|i| {
            let mut taps = Vec::new();
            if r > 1.0 {
                let (start, end) = (f64::from(i) * r, f64::from(i + 1) * r);
                let first = start.floor() as u32;
                let stop = (end.ceil() as u32).min(src_len);
                for j in first..stop {
                    let overlap = (end.min(f64::from(j + 1)) - start.max(f64::from(j))).max(0.0);
                    if overlap > 0.0 {
                        taps.push((j, (overlap / r) as f32));
                    }
                }
            } else {
                let c = (f64::from(i) + 0.5) * r - 0.5;
                let j0 = c.floor();
                let w1 = (c - j0) as f32;
                for (j, w) in [(j0, 1.0 - w1), (j0 + 1.0, w1)] {
                    if w <= 0.0 {
                        continue;
                    }
                    if j >= f64::from(src_len) && padded {
                        continue; // zero padding
                    }
                    let j = (j.max(0.0) as u32).min(last);
                    taps.push((j, w));
                }
            }
            taps
        })
        .collect()
}

/// Separable resampling of `img` into a `dst_w`×`dst_h` grid, calling `out(index, rgb)` for each
/// output pixel in row-major order with the resampled value in 0..255.
fn resample(img: &RgbImage, xt: &Taps, yt: &Taps, mut out: impl FnMut(usize, [f32; 3])) {
    let (w, h) = img.dimensions();
    let dst_w = xt.len();
    let raw = img.as_raw();
    // Horizontal pass over every source row the vertical taps use.
    let mut needed = vec![false; h as usize];
    for taps in yt {
        for &(j, _) in taps {
            needed[j as usize] = true;
        }
    }
    let mut rows = vec![0.0f32; h as usize * dst_w * 3];
    for y in 0..h as usize {
        if !needed[y] {
            continue;
        }
        let src = &raw[y * w as usize * 3..(y + 1) * w as usize * 3];
        let dst = &mut rows[y * dst_w * 3..(y + 1) * dst_w * 3];
        for (x, taps) in xt.iter().enumerate() {
            let mut acc = [0.0f32; 3];
            for &(j, wt) in taps {
                let p = j as usize * 3;
                acc[0] += f32::from(src[p]) * wt;
                acc[1] += f32::from(src[p + 1]) * wt;
                acc[2] += f32::from(src[p + 2]) * wt;
            }
            dst[x * 3..x * 3 + 3].copy_from_slice(&acc);
        }
    }
    for (y, taps) in yt.iter().enumerate() {
        for x in 0..dst_w {
            let mut acc = [0.0f32; 3];
            for &(j, wt) in taps {
                let p = (j as usize * dst_w + x) * 3;
                acc[0] += rows[p] * wt;
                acc[1] += rows[p + 1] * wt;
                acc[2] += rows[p + 2] * wt;
            }
            out(y * dst_w + x, acc);
        }
    }
}

/// A letterboxed model input.
#[derive(Clone, Debug)]
pub struct Letterboxed {
    /// `side × side × 3` values, NHWC, normalised.
    pub data: Vec<f32>,
    /// Image pixels per input pixel: multiply input coordinates by this to get image coordinates.
    pub scale: f32,
}

/// Pads `img` to a square with zeros (right and bottom) and resamples it to `side`×`side`,
/// normalising each channel value `v` (0..255) to `v·alpha + beta`.
pub fn letterbox(img: &RgbImage, side: u32, alpha: f32, beta: f32) -> Letterboxed {
    let (w, h) = img.dimensions();
    let padded = f64::from(w.max(h));
    let xt = axis_taps(w, padded, side);
    let yt = axis_taps(h, padded, side);
    let mut data = vec![0.0f32; side as usize * side as usize * 3];
    resample(img, &xt, &yt, |i, v| {
        data[i * 3] = v[0] * alpha + beta;
        data[i * 3 + 1] = v[1] * alpha + beta;
        data[i * 3 + 2] = v[2] * alpha + beta;
    });
    Letterboxed {
        data,
        scale: padded as f32 / side as f32,
    }
}

/// Resizes `img` to `w`×`h` (area average when shrinking, bilinear when enlarging).
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (sw, sh) = img.dimensions();
    let xt = axis_taps(sw, f64::from(sw), w.max(1));
    let yt = axis_taps(sh, f64::from(sh), h.max(1));
    let mut out = RgbImage::new(w.max(1), h.max(1));
    let buf: &mut [u8] = &mut out;
    resample(img, &xt, &yt, |i, v| {
        for c in 0..3 {
            buf[i * 3 + c] = v[c].round().clamp(0.0, 255.0) as u8;
        }
    });
    out
}

/// What a warp reads outside the source image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// Black (zeros), as OpenCV's `BORDER_CONSTANT`.
    Zero,
    /// Mirrored without repeating the edge pixel, as OpenCV's `BORDER_REFLECT_101`.
    Reflect101,
}

/// Warps `img` by `to_dst` (source → output pixel coordinates) into an `out_w`×`out_h` grid with
/// bilinear sampling, calling `out(index, rgb)` per output pixel (row-major, values 0..255).
///
/// When the warp shrinks by 2× or more, the source is first area-averaged by an integer factor,
/// so large faces in large photos do not alias.
pub fn warp_affine_with(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    mut out: impl FnMut(usize, [f32; 3]),
) {
    let Some(mut inv) = to_dst.inverse() else {
        for i in 0..(out_w as usize * out_h as usize) {
            out(i, [0.0; 3]);
        }
        return;
    };
    let factor = (1.0 / to_dst.scale()).floor();
    let shrunk;
    let src = if factor >= 2.0
        && img.width() as f64 / factor >= 2.0
        && img.height() as f64 / factor >= 2.0
    {
        let f = factor as u32;
        shrunk = resize(img, img.width() / f, img.height() / f);
        // Output → shrunk-source coordinates: scale the source coordinates by the actual ratio.
        let sx = f64::from(shrunk.width()) / f64::from(img.width());
        let sy = f64::from(shrunk.height()) / f64::from(img.height());
        let to_shrunk = Affine {
            m: [[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]],
        };
        inv = to_shrunk.after(&inv);
        &shrunk
    } else {
        img
    };
    let (w, h) = (src.width() as i64, src.height() as i64);
    let raw = src.as_raw();
    let fetch = |x: i64, y: i64| -> Option<[f32; 3]> {
        let (x, y) = match border {
            Border::Zero => {
                if x < 0 || y < 0 || x >= w || y >= h {
                    return None;
                }
                (x, y)
            }
            Border::Reflect101 => (reflect101(x, w), reflect101(y, h)),
        };
        let p = ((y * w + x) * 3) as usize;
        Some([
            f32::from(raw[p]),
            f32::from(raw[p + 1]),
            f32::from(raw[p + 2]),
        ])
    };
    let [[a, b, c], [d, e, f]] = inv.m;
    for oy in 0..out_h {
        for ox in 0..out_w {
            let (fx, fy) = (f64::from(ox), f64::from(oy));
            let sx = a * fx + b * fy + c;
            let sy = d * fx + e * fy + f;
            let (x0, y0) = (sx.floor(), sy.floor());
            let (wx, wy) = ((sx - x0) as f32, (sy - y0) as f32);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let mut acc = [0.0f32; 3];
            for (dx, dy, wt) in [
                (0, 0, (1.0 - wx) * (1.0 - wy)),
                (1, 0, wx * (1.0 - wy)),
                (0, 1, (1.0 - wx) * wy),
                (1, 1, wx * wy),
            ] {
                if wt == 0.0 {
                    continue;
                }
                if let Some(px) = fetch(x0 + dx, y0 + dy) {
                    acc[0] += px[0] * wt;
                    acc[1] += px[1] * wt;
                    acc[2] += px[2] * wt;
                }
            }
            out((oy * out_w + ox) as usize, acc);
        }
    }
}

fn reflect101(i: i64, n: i64) -> i64 {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    if m < n { m } else { period - m }
}

/// [`warp_affine_with`] into a normalised NHWC tensor (`v·alpha + beta`).
pub fn warp_affine_tensor(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    alpha: f32,
    beta: f32,
) -> Vec<f32> {
    let mut data = vec![0.0f32; out_w as usize * out_h as usize * 3];
    warp_affine_with(img, to_dst, out_w, out_h, border, |i, v| {
        data[i * 3] = v[0] * alpha + beta;
        data[i * 3 + 1] = v[1] * alpha + beta;
        data[i * 3 + 2] = v[2] * alpha + beta;
    });
    data
}

/// [`warp_affine_with`] into an RGB image.
pub fn warp_affine_image(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
) -> RgbImage {
    let mut out = RgbImage::new(out_w, out_h);
    let buf: &mut [u8] = &mut out;
    warp_affine_with(img, to_dst, out_w, out_h, border, |i, v| {
        for c in 0..3 {
            buf[i * 3 + c] = v[c].round().clamp(0.0, 255.0) as u8;
        }
    });
    out
}

/// The luma (ITU-R BT.601) of an RGB pixel, 0..255.
pub fn luma(p: &Rgb<u8>) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn area_taps_sum_to_one_inside_the_image() {
        for (src, dst) in [(640u32, 128u32), (1000, 128), (130, 128), (97, 13)] {
            let taps = axis_taps(src, f64::from(src), dst);
            for t in &taps {
                let s: f32 = t.iter().map(|(_, w)| w).sum();
                assert!((s - 1.0).abs() < 1e-4, "{src}->{dst}: {s}");
            }
        }
    }

    #[test]
    fn letterbox_pads_bottom_with_zeros() {
        // A white 200×100 image: the top half of the square input is white, the bottom black.
        let img = RgbImage::from_pixel(200, 100, Rgb([255, 255, 255]));
        let lb = letterbox(&img, 64, 1.0 / 255.0, 0.0);
        assert!((lb.scale - 200.0 / 64.0).abs() < 1e-6);
        let at = |x: usize, y: usize| lb.data[(y * 64 + x) * 3];
        assert!((at(10, 5) - 1.0).abs() < 1e-4);
        assert!(at(10, 60).abs() < 1e-6);
    }

    #[test]
    fn reflect101_mirrors_without_the_edge() {
        let v: Vec<i64> = (-3..7).map(|i| reflect101(i, 4)).collect();
        assert_eq!(v, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    }

    proptest! {
        /// Warping by a pure translation moves pixels exactly.
        #[test]
        fn integer_translation_moves_pixels(tx in -20i32..20, ty in -20i32..20) {
            let img = RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 3) as u8, (y * 5) as u8, ((x + y) % 256) as u8]));
            let t = Affine { m: [[1.0, 0.0, f64::from(tx)], [0.0, 1.0, f64::from(ty)]] };
            let out = warp_affine_image(&img, &t, 64, 48, Border::Zero);
            for (x, y) in [(30u32, 20u32), (10, 40), (50, 5)] {
                let (sx, sy) = (x as i32 - tx, y as i32 - ty);
                let expected = if sx >= 0 && sy >= 0 && sx < 64 && sy < 48 { *img.get_pixel(sx as u32, sy as u32) } else { Rgb([0, 0, 0]) };
                prop_assert_eq!(*out.get_pixel(x, y), expected);
            }
        }

        /// Shrinking a constant image keeps its value, whatever the factor.
        #[test]
        fn shrinking_preserves_flat_colour(w in 40u32..400, h in 40u32..400, side in 8u32..128, v in 0u8..=255) {
            let img = RgbImage::from_pixel(w, h, Rgb([v, v, v]));
            let out = resize(&img, side, side);
            for p in out.pixels() {
                prop_assert!((i32::from(p[0]) - i32::from(v)).abs() <= 1);
            }
        }
    }
}
