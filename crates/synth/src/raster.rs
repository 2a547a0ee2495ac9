//! A small software rasteriser: float RGB canvases, z-buffered triangles with perspective-correct
//! barycentric coordinates, bilinear texture sampling, Gaussian blur.

use image::{Rgb, RgbImage};

/// An RGB image with float channels (0..255), for compositing before the camera quantises it.
#[derive(Clone)]
pub struct Canvas {
    /// Width, px.
    pub w: usize,
    /// Height, px.
    pub h: usize,
    /// Pixels, row by row.
    pub px: Vec<[f32; 3]>,
}

impl std::fmt::Debug for Canvas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Canvas({}x{})", self.w, self.h)
    }
}

impl Canvas {
    /// A canvas of one colour.
    pub fn filled(w: usize, h: usize, c: [f32; 3]) -> Self {
        Self {
            w,
            h,
            px: vec![c; w * h],
        }
    }

    /// From an 8-bit image.
    pub fn from_rgb(img: &RgbImage) -> Self {
        Self {
            w: img.width() as usize,
            h: img.height() as usize,
            px: img
                .pixels()
                .map(|p| [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])])
                .collect(),
        }
    }

    /// To an 8-bit image (rounded, clamped).
    pub fn to_rgb(&self) -> RgbImage {
        let q = |v: f32| (v + 0.5).clamp(0.0, 255.0) as u8;
        RgbImage::from_fn(self.w as u32, self.h as u32, |x, y| {
            let p = self.px[y as usize * self.w + x as usize];
            Rgb([q(p[0]), q(p[1]), q(p[2])])
        })
    }

    /// The colour at a real position, bilinear, the border replicated.
    pub fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let x = x.clamp(0.0, (self.w - 1) as f32);
        let y = y.clamp(0.0, (self.h - 1) as f32);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |xx: usize, yy: usize| self.px[yy * self.w + xx];
        let (a, b, c, d) = (at(x0, y0), at(x1, y0), at(x0, y1), at(x1, y1));
        let mut out = [0.0; 3];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * fx;
            let bottom = c[k] + (d[k] - c[k]) * fx;
            out[k] = top + (bottom - top) * fy;
        }
        out
    }

    /// Blurs every channel with a Gaussian of `sigma` px.
    pub fn blur(&mut self, sigma: f32) {
        blur_rgb(&mut self.px, self.w, self.h, sigma);
    }

    /// `self = self·(1 − a) + other·a`, per pixel.
    pub fn blend(&mut self, other: &Canvas, alpha: &[f32]) {
        for ((p, o), &a) in self.px.iter_mut().zip(&other.px).zip(alpha) {
            if a <= 0.0 {
                continue;
            }
            for k in 0..3 {
                p[k] += (o[k] - p[k]) * a;
            }
        }
    }
}

/// The normalised Gaussian kernel of `sigma`, radius ⌈3σ⌉.
fn kernel(sigma: f32) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as usize;
    let k: Vec<f32> = (0..=2 * r)
        .map(|i| {
            let d = i as f32 - r as f32;
            (-(d * d) / (2.0 * sigma * sigma)).exp()
        })
        .collect();
    let sum: f32 = k.iter().sum();
    k.iter().map(|v| v / sum).collect()
}

/// Convolves `n` values read with stride `step` from `data` (starting at `start`) in place,
/// the ends replicated; `line` is scratch space of at least n + 2r values.
fn convolve<T: Copy + Default + std::ops::Add<Output = T> + std::ops::Mul<f32, Output = T>>(
    data: &mut [T],
    start: usize,
    step: usize,
    n: usize,
    k: &[f32],
    line: &mut [T],
) {
    let r = k.len() / 2;
    for i in 0..n {
        line[r + i] = data[start + i * step];
    }
    let (first, last) = (line[r], line[r + n - 1]);
    for v in &mut line[..r] {
        *v = first;
    }
    for v in &mut line[r + n..n + 2 * r] {
        *v = last;
    }
    for i in 0..n {
        let mut acc = T::default();
        for (j, kk) in k.iter().enumerate() {
            acc = acc + line[i + j] * *kk;
        }
        data[start + i * step] = acc;
    }
}

#[derive(Clone, Copy, Default)]
struct Rgb3([f32; 3]);

impl std::ops::Add for Rgb3 {
    type Output = Rgb3;
    fn add(self, o: Rgb3) -> Rgb3 {
        Rgb3([self.0[0] + o.0[0], self.0[1] + o.0[1], self.0[2] + o.0[2]])
    }
}

impl std::ops::Mul<f32> for Rgb3 {
    type Output = Rgb3;
    fn mul(self, k: f32) -> Rgb3 {
        Rgb3([self.0[0] * k, self.0[1] * k, self.0[2] * k])
    }
}

/// Separable Gaussian blur of one plane, the border replicated.
pub fn gaussian_blur(plane: &mut [f32], w: usize, h: usize, sigma: f32) {
    if sigma <= 0.05 || w == 0 || h == 0 {
        return;
    }
    let k = kernel(sigma);
    let mut line = vec![0.0f32; w.max(h) + k.len()];
    for y in 0..h {
        convolve(plane, y * w, 1, w, &k, &mut line);
    }
    for x in 0..w {
        convolve(plane, x, w, h, &k, &mut line);
    }
}

fn blur_rgb(px: &mut [[f32; 3]], w: usize, h: usize, sigma: f32) {
    if sigma <= 0.05 || w == 0 || h == 0 {
        return;
    }
    let k = kernel(sigma);
    // Safe reinterpretation through a copy into the wrapper type.
    let mut data: Vec<Rgb3> = px.iter().map(|p| Rgb3(*p)).collect();
    let mut line = vec![Rgb3::default(); w.max(h) + k.len()];
    for y in 0..h {
        convolve(&mut data, y * w, 1, w, &k, &mut line);
    }
    for x in 0..w {
        convolve(&mut data, x, w, h, &k, &mut line);
    }
    for (p, d) in px.iter_mut().zip(data) {
        *p = d.0;
    }
}

/// Which triangle covers each pixel, and where in it.
#[derive(Clone, Debug)]
pub struct Raster {
    /// Width, px.
    pub w: usize,
    /// Height, px.
    pub h: usize,
    /// The triangle index per pixel, −1 where none.
    pub tri: Vec<i32>,
    /// Perspective-correct barycentric coordinates per pixel.
    pub bary: Vec<[f32; 3]>,
}

impl Raster {
    /// 1 where a triangle covers the pixel, else 0.
    pub fn coverage(&self) -> Vec<f32> {
        self.tri
            .iter()
            .map(|&t| if t >= 0 { 1.0 } else { 0.0 })
            .collect()
    }

    /// A per-vertex attribute interpolated at a covered pixel.
    pub fn interpolate(&self, tris: &[[usize; 3]], i: usize, attr: &[f32]) -> f32 {
        let t = self.tri[i];
        if t < 0 {
            return 0.0;
        }
        let [a, b, c] = tris[t as usize];
        let w = self.bary[i];
        w[0] * attr[a] + w[1] * attr[b] + w[2] * attr[c]
    }
}

/// Rasterises triangles given their projected vertices `p` (px) and camera depths `z`, nearest
/// first. With `orient`, a triangle is drawn only when the sign of its projected area equals
/// its entry (back faces culled). Pixel centres are at integer coordinates.
pub fn rasterise(
    p: &[[f32; 2]],
    z: &[f32],
    tris: &[[usize; 3]],
    w: usize,
    h: usize,
    orient: Option<&[f32]>,
) -> Raster {
    let mut out = Raster {
        w,
        h,
        tri: vec![-1; w * h],
        bary: vec![[0.0; 3]; w * h],
    };
    let mut depth = vec![f32::INFINITY; w * h];
    for (t, &[i0, i1, i2]) in tris.iter().enumerate() {
        let (Some(a), Some(b), Some(c)) = (p.get(i0), p.get(i1), p.get(i2)) else {
            continue;
        };
        let (za, zb, zc) = (z[i0], z[i1], z[i2]);
        if za <= 1.0 || zb <= 1.0 || zc <= 1.0 {
            continue;
        }
        let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if area.abs() < 1e-6 || !area.is_finite() {
            continue;
        }
        if let Some(o) = orient
            && o.get(t).is_some_and(|&s| s != area.signum())
        {
            continue;
        }
        let min_x = a[0].min(b[0]).min(c[0]).ceil().max(0.0) as isize;
        let max_x = a[0].max(b[0]).max(c[0]).floor().min((w - 1) as f32) as isize;
        let min_y = a[1].min(b[1]).min(c[1]).ceil().max(0.0) as isize;
        let max_y = a[1].max(b[1]).max(c[1]).floor().min((h - 1) as f32) as isize;
        for py in min_y..=max_y {
            for px in min_x..=max_x {
                let (x, y) = (px as f32, py as f32);
                let w0 = ((b[0] - x) * (c[1] - y) - (b[1] - y) * (c[0] - x)) / area;
                let w1 = ((c[0] - x) * (a[1] - y) - (c[1] - y) * (a[0] - x)) / area;
                let w2 = 1.0 - w0 - w1;
                if w0 < -1e-6 || w1 < -1e-6 || w2 < -1e-6 {
                    continue;
                }
                let q = [w0 / za, w1 / zb, w2 / zc];
                let inv = q[0] + q[1] + q[2];
                let d = 1.0 / inv;
                let i = py as usize * w + px as usize;
                if d < depth[i] {
                    depth[i] = d;
                    out.tri[i] = t as i32;
                    out.bary[i] = [q[0] * d, q[1] * d, q[2] * d];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_triangle_covers_its_inside_and_the_nearest_wins() {
        let p = [
            [10.0, 10.0],
            [50.0, 10.0],
            [10.0, 50.0],
            [10.0, 10.0],
            [50.0, 10.0],
            [10.0, 50.0],
        ];
        let z = [100.0, 100.0, 100.0, 50.0, 50.0, 50.0];
        let tris = [[0, 1, 2], [3, 4, 5]];
        let r = rasterise(&p, &z, &tris, 64, 64, None);
        assert_eq!(r.tri[20 * 64 + 20], 1);
        assert_eq!(r.tri[60 * 64 + 60], -1);
        let b = r.bary[20 * 64 + 20];
        assert!((b[0] + b[1] + b[2] - 1.0).abs() < 1e-5);
    }

    #[test]
    fn blur_keeps_the_mean() {
        let mut c = Canvas::filled(20, 20, [0.0; 3]);
        c.px[210] = [400.0, 400.0, 400.0];
        c.blur(1.5);
        let sum: f32 = c.px.iter().map(|p| p[0]).sum();
        assert!((sum - 400.0).abs() < 1.0, "{sum}");
    }
}
