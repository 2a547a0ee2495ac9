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
#[derive(Clone)]
pub struct Letterboxed {
    /// `side × side × 3` values, NHWC, normalised.
    pub data: Vec<f32>,
    /// Image pixels per input pixel: multiply input coordinates by this to get image coordinates.
    pub scale: f32,
}

impl std::fmt::Debug for Letterboxed {
    // Never the values: they are the picture.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letterboxed")
            .field("len", &self.data.len())
            .field("scale", &self.scale)
            .finish()
    }
}

/// Pads `img` to a square with zeros (right and bottom) and resamples it to `side`×`side`,
/// normalising each channel value `v` (0..255) to `v·alpha + beta`.
pub fn letterbox(img: &RgbImage, side: u32, alpha: f32, beta: f32) -> Letterboxed {
    let (w, h) = img.dimensions();
    let padded = f64::from(w.max(h));
    // A large shrink starts with integer block sums, then resamples the small remainder.
    let f = block_factor(padded / f64::from(side));
    let shrunk;
    let (src, padded_src) = if f >= 2 {
        shrunk = box_shrink(img, f);
        (&shrunk, padded / f64::from(f))
    } else {
        (img, padded)
    };
    let xt = axis_taps(src.width(), padded_src, side);
    let yt = axis_taps(src.height(), padded_src, side);
    let mut data = vec![0.0f32; side as usize * side as usize * 3];
    resample(src, &xt, &yt, |i, v| {
        data[i * 3] = v[0] * alpha + beta;
        data[i * 3 + 1] = v[1] * alpha + beta;
        data[i * 3 + 2] = v[2] * alpha + beta;
    });
    Letterboxed {
        data,
        scale: padded as f32 / side as f32,
    }
}

/// The integer block size for a shrink by `scale` (1 when it is less than 2).
fn block_factor(scale: f64) -> u32 {
    if scale >= 2.0 {
        scale.floor().min(f64::from(u32::MAX)) as u32
    } else {
        1
    }
}

/// Averages `f`×`f` blocks with integer sums (the right and bottom remainders, under `f`
/// pixels, are dropped): the cheap first step of a large shrink.
fn box_shrink(img: &RgbImage, f: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (ow, oh) = ((w / f).max(1), (h / f).max(1));
    let f_us = f as usize;
    let used = (ow as usize * f_us).min(w as usize) * 3;
    let stride = w as usize * 3;
    let raw = img.as_raw();
    let mut out = RgbImage::new(ow, oh);
    let buf: &mut [u8] = &mut out;
    let rows_per_block = f_us.min(h as usize);
    let area = (rows_per_block * (used / 3 / ow as usize)) as u32;
    let mut columns = vec![0u32; used];
    for oy in 0..oh as usize {
        columns.fill(0);
        for dy in 0..rows_per_block {
            let y = (oy * f_us + dy).min(h as usize - 1);
            let row = &raw[y * stride..y * stride + used];
            for (c, &v) in columns.iter_mut().zip(row) {
                *c += u32::from(v);
            }
        }
        let per_block = used / ow as usize;
        for ox in 0..ow as usize {
            let block = &columns[ox * per_block..(ox + 1) * per_block];
            let mut sum = [0u32; 3];
            for px in block.chunks_exact(3) {
                sum[0] += px[0];
                sum[1] += px[1];
                sum[2] += px[2];
            }
            let o = (oy * ow as usize + ox) * 3;
            for ch in 0..3 {
                buf[o + ch] = ((sum[ch] + area / 2) / area.max(1)).min(255) as u8;
            }
        }
    }
    out
}

/// Resizes `img` to `w`×`h` (area average when shrinking, bilinear when enlarging).
pub fn resize(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let (w, h) = (w.max(1), h.max(1));
    let f = block_factor(
        (f64::from(img.width()) / f64::from(w)).min(f64::from(img.height()) / f64::from(h)),
    );
    let shrunk;
    let src = if f >= 2 {
        shrunk = box_shrink(img, f);
        &shrunk
    } else {
        img
    };
    let (sw, sh) = src.dimensions();
    let xt = axis_taps(sw, f64::from(sw), w);
    let yt = axis_taps(sh, f64::from(sh), h);
    let mut out = RgbImage::new(w, h);
    let buf: &mut [u8] = &mut out;
    resample(src, &xt, &yt, |i, v| {
        for c in 0..3 {
            // `+ 0.5` and a saturating cast: `f32::round` is a libm call on baseline x86-64.
            buf[i * 3 + c] = (v[c].clamp(0.0, 255.0) + 0.5) as u8;
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
/// When the warp shrinks by 2× or more, the part of the source the output reads is first
/// area-averaged by an integer factor, so large faces in large photos do not alias (and a 4000-px
/// photo is not shrunk whole to cut out one face).
pub fn warp_affine_with(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    mut out: impl FnMut(usize, [f32; 3]),
) {
    let raw = warp_affine_raw(img, to_dst, out_w, out_h, border);
    for (i, px) in raw.chunks_exact(3).enumerate() {
        out(i, [px[0], px[1], px[2]]);
    }
}

/// The warp of [`warp_affine_with`] as `out_w × out_h × 3` values in 0..255 (NHWC).
pub fn warp_affine_raw(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
) -> Vec<f32> {
    warp_normalised(img, to_dst, out_w, out_h, border, (1.0, 0.0))
}

/// The warp of [`warp_affine_with`], each value `v` written as `v·alpha + beta`.
fn warp_normalised(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    (alpha, beta): (f32, f32),
) -> Vec<f32> {
    let mut out = vec![0.0f32; out_w as usize * out_h as usize * 3];
    let Some(inv) = to_dst.inverse() else {
        out.fill(beta);
        return out;
    };
    let factor = (1.0 / to_dst.scale()).floor();
    if factor >= 2.0
        && let Some((x0, y0, rw, rh)) =
            source_region(&inv, out_w, out_h, img.width(), img.height(), border)
    {
        let f = factor as u32;
        if rw / f >= 2 && rh / f >= 2 {
            let part = image::imageops::crop_imm(img, x0, y0, rw, rh).to_image();
            let shrunk = resize(&part, rw / f, rh / f);
            let sx = f64::from(shrunk.width()) / f64::from(rw);
            let sy = f64::from(shrunk.height()) / f64::from(rh);
            // Image → shrunk-part coordinates (pixel centres map to pixel centres).
            let to_shrunk = Affine {
                m: [
                    [sx, 0.0, (0.5 - f64::from(x0)) * sx - 0.5],
                    [0.0, sy, (0.5 - f64::from(y0)) * sy - 0.5],
                ],
            };
            sample_bilinear(
                &shrunk,
                &to_shrunk.after(&inv),
                out_w,
                border,
                (alpha, beta),
                &mut out,
            );
            return out;
        }
    }
    sample_bilinear(img, &inv, out_w, border, (alpha, beta), &mut out);
    out
}

/// The part of the source (x, y, width, height) that an output grid reads through `inv`
/// (output → source), with a margin for the filter, and for mirrored borders the part the
/// mirror reads too. `None` when it lies outside the image.
fn source_region(
    inv: &Affine,
    out_w: u32,
    out_h: u32,
    w: u32,
    h: u32,
    border: Border,
) -> Option<(u32, u32, u32, u32)> {
    let corners = [
        (0.0, 0.0),
        (f64::from(out_w), 0.0),
        (0.0, f64::from(out_h)),
        (f64::from(out_w), f64::from(out_h)),
    ];
    let [[a, b, c], [d, e, f]] = inv.m;
    let xs = corners.map(|(x, y)| a * x + b * y + c);
    let ys = corners.map(|(x, y)| d * x + e * y + f);
    let span = |v: [f64; 4], n: u32| -> Option<(u32, u32)> {
        let margin = 4.0 + (inv.scale()).ceil();
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min) - margin;
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max) + margin;
        let last = f64::from(n) - 1.0;
        let (mut a, mut b) = (lo.max(0.0), hi.min(last));
        if border == Border::Reflect101 {
            // Samples beyond an edge are mirrored back inside: include where they land.
            if lo < 0.0 {
                a = 0.0;
                b = b.max((-lo).min(last));
            }
            if hi > last {
                b = last;
                a = a.min((2.0 * last - hi).max(0.0));
            }
        }
        if !(a.is_finite() && b.is_finite()) || b < a {
            return None;
        }
        Some((a.floor() as u32, (b.ceil() as u32).min(n - 1)))
    };
    let (x0, x1) = span(xs, w)?;
    let (y0, y1) = span(ys, h)?;
    Some((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// Fractional bits of the fixed-point source coordinates in [`sample_bilinear`].
const FRAC: u32 = 32;
/// Source coordinates beyond ±2^24 px are not stepped in fixed point (they would overflow).
const FIXED_LIMIT: f64 = (1u64 << 24) as f64;

/// Bilinear sampling of `src` at `inv` (output → source) for every pixel of `out` (rows of
/// `out_w` RGB values), writing `v·alpha + beta` for each value `v` in 0..255.
///
/// Source coordinates step along a row in fixed point (32 fractional bits): per pixel two
/// shifts give the source pixel and its 8-bit weights, as OpenCV does, without float-to-int
/// conversions; the four neighbours inside the image are read as two adjacent pairs of pixels.
fn sample_bilinear(
    src: &RgbImage,
    inv: &Affine,
    out_w: u32,
    border: Border,
    (alpha, beta): (f32, f32),
    out: &mut [f32],
) {
    let (w, h) = (i64::from(src.width()), i64::from(src.height()));
    let raw = src.as_raw();
    let stride = w as usize * 3;
    let [[a, b, c], [d, e, f]] = inv.m;
    let one = (1u64 << FRAC) as f64;
    let fixed = |v: f64| floor_i64(v * one + 0.5);
    let (step_x, step_y) = (fixed(a), fixed(d));
    let row_len = out_w as usize * 3;
    let last = f64::from(out_w);
    for (oy, row) in out.chunks_exact_mut(row_len.max(1)).enumerate() {
        let (x_start, y_start) = (b * oy as f64 + c, e * oy as f64 + f);
        let in_range = [x_start, y_start, x_start + a * last, y_start + d * last]
            .iter()
            .all(|v| v.abs() < FIXED_LIMIT);
        if !in_range {
            // A degenerate warp far outside the image: every sample is a border sample.
            let mut sx = x_start;
            let mut sy = y_start;
            for px in row.chunks_exact_mut(3) {
                let (x0, y0) = (floor_i64(sx), floor_i64(sy));
                let (wx, wy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
                let v = sample_slow(raw, (w, h), stride, border, (x0, y0), (wx, wy));
                for ch in 0..3 {
                    px[ch] = v[ch] * alpha + beta;
                }
                sx += a;
                sy += d;
            }
            continue;
        }
        let mut sx = fixed(x_start);
        let mut sy = fixed(y_start);
        for px in row.chunks_exact_mut(3) {
            let (x0, y0) = (sx >> FRAC, sy >> FRAC);
            let (ix, iy) = (
                ((sx >> (FRAC - 8)) & 0xFF) as u32,
                ((sy >> (FRAC - 8)) & 0xFF) as u32,
            );
            sx += step_x;
            sy += step_y;
            // Unsigned compares also reject negative positions.
            let inside = (x0 as u64) < (w - 1) as u64 && (y0 as u64) < (h - 1) as u64;
            let p = y0.max(0) as usize * stride + x0.max(0) as usize * 3;
            let pairs = if inside {
                raw.get(p..p + 6)
                    .zip(raw.get(p + stride..p + stride + 6))
                    .and_then(|(r0, r1)| {
                        Some((
                            <&[u8; 6]>::try_from(r0).ok()?,
                            <&[u8; 6]>::try_from(r1).ok()?,
                        ))
                    })
            } else {
                None
            };
            if let Some((r0, r1)) = pairs {
                for ch in 0..3 {
                    let top = u32::from(r0[ch]) * (256 - ix) + u32::from(r0[ch + 3]) * ix;
                    let bottom = u32::from(r1[ch]) * (256 - ix) + u32::from(r1[ch + 3]) * ix;
                    let v = (top * (256 - iy) + bottom * iy) as f32 * (1.0 / 65536.0);
                    px[ch] = v * alpha + beta;
                }
            } else {
                let wx = ix as f32 / 256.0;
                let wy = iy as f32 / 256.0;
                let v = sample_slow(raw, (w, h), stride, border, (x0, y0), (wx, wy));
                for ch in 0..3 {
                    px[ch] = v[ch] * alpha + beta;
                }
            }
        }
    }
}

/// One bilinear sample at the edge of the image or outside it, through `border`.
fn sample_slow(
    raw: &[u8],
    (w, h): (i64, i64),
    stride: usize,
    border: Border,
    (x0, y0): (i64, i64),
    (wx, wy): (f32, f32),
) -> [f32; 3] {
    let at = |x: i64, y: i64| -> Option<usize> {
        let (x, y) = match border {
            Border::Zero if x < 0 || y < 0 || x >= w || y >= h => return None,
            Border::Zero => (x, y),
            Border::Reflect101 => (reflect101(x, w), reflect101(y, h)),
        };
        Some(y as usize * stride + x as usize * 3)
    };
    let weights = [
        (1.0 - wx) * (1.0 - wy),
        wx * (1.0 - wy),
        (1.0 - wx) * wy,
        wx * wy,
    ];
    let mut v = [0.0f32; 3];
    for (k, (dx, dy)) in [(0, 0), (1, 0), (0, 1), (1, 1)].into_iter().enumerate() {
        if let Some(p) = at(x0 + dx, y0 + dy)
            && let Some(px) = raw.get(p..p + 3)
        {
            for ch in 0..3 {
                v[ch] += f32::from(px[ch]) * weights[k];
            }
        }
    }
    v
}

/// `x.floor() as i64` without a call to libm (the baseline x86-64 target has no SSE4.1 `roundsd`,
/// and this runs for every pixel of every warp).
#[inline]
fn floor_i64(x: f64) -> i64 {
    let t = x as i64;
    if (t as f64) > x { t - 1 } else { t }
}

fn reflect101(i: i64, n: i64) -> i64 {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n - 1);
    let m = i.rem_euclid(period);
    if m < n { m } else { period - m }
}

/// [`warp_affine_raw`] into a normalised NHWC tensor (`v·alpha + beta`).
pub fn warp_affine_tensor(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
    alpha: f32,
    beta: f32,
) -> Vec<f32> {
    warp_normalised(img, to_dst, out_w, out_h, border, (alpha, beta))
}

/// [`warp_affine_raw`] into an RGB image.
pub fn warp_affine_image(
    img: &RgbImage,
    to_dst: &Affine,
    out_w: u32,
    out_h: u32,
    border: Border,
) -> RgbImage {
    let data = warp_affine_raw(img, to_dst, out_w, out_h, border);
    let bytes = data
        .iter()
        .map(|v| (v.clamp(0.0, 255.0) + 0.5) as u8)
        .collect();
    RgbImage::from_raw(out_w, out_h, bytes).unwrap_or_else(|| RgbImage::new(out_w, out_h))
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
    fn box_shrink_averages_blocks() {
        let img = RgbImage::from_fn(7, 5, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 7]));
        let s = box_shrink(&img, 2);
        assert_eq!(s.dimensions(), (3, 2));
        // Block (0..2, 0..2): x values 0,10 → 5; y values 0,10 → 5.
        assert_eq!(*s.get_pixel(0, 0), Rgb([5, 5, 7]));
        assert_eq!(*s.get_pixel(2, 1), Rgb([45, 25, 7]));
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
