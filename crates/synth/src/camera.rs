//! The synthetic camera: a pinhole projection, its degradations (optics blur, exposure, sensor
//! noise, 8-bit quantisation, JPEG), and backgrounds.

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use rand::Rng;

use crate::raster::Canvas;

/// Frame width, px.
pub const W: usize = 640;
/// Frame height, px.
pub const H: usize = 480;

/// A 3-D point or vector, mm; camera frame: x right, y down, z away from the camera.
pub type Vec3 = [f32; 3];

/// A rotation matrix, row-major.
pub type Mat3 = [[f32; 3]; 3];

/// R = Rz(roll)·Rx(pitch)·Ry(yaw), degrees, with the face engine's signs: +yaw turns the person
/// to their left (the nose to the image's right), +pitch raises the chin, +roll tilts clockwise
/// on the image.
pub fn rot(yaw: f32, pitch: f32, roll: f32) -> Mat3 {
    let (sy, cy) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    let (sr, cr) = roll.to_radians().sin_cos();
    let ry = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
    let rx = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    mul(&rz, &mul(&rx, &ry))
}

/// Matrix product.
pub fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// `m · v`.
pub fn apply(m: &Mat3, v: Vec3) -> Vec3 {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

/// A pinhole camera, principal point at the image centre.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Focal length, px.
    pub f: f32,
    /// Image width, px.
    pub w: usize,
    /// Image height, px.
    pub h: usize,
}

impl Camera {
    /// A 640×480 camera with focal length `f` px.
    pub fn new(f: f32) -> Self {
        Self { f, w: W, h: H }
    }

    /// The principal point.
    pub fn centre(&self) -> [f32; 2] {
        [(self.w as f32 - 1.0) / 2.0, (self.h as f32 - 1.0) / 2.0]
    }

    /// Projects a camera-frame point: image position and depth.
    pub fn project(&self, p: Vec3) -> ([f32; 2], f32) {
        let c = self.centre();
        let z = p[2];
        ([self.f * p[0] / z + c[0], self.f * p[1] / z + c[1]], z)
    }

    /// The intrinsic matrix.
    pub fn k(&self) -> Mat3 {
        let c = self.centre();
        [[self.f, 0.0, c[0]], [0.0, self.f, c[1]], [0.0, 0.0, 1.0]]
    }
}

/// A standard normal variate (Box–Muller).
pub fn normal(rng: &mut impl Rng) -> f32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Standard normal variates, drawn once: sensor noise reads them from a random offset per row
/// (drawing 900,000 fresh variates per frame would cost more than rendering the frame).
fn noise_table() -> &'static [f32] {
    use rand::SeedableRng;
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5EED);
        (0..1 << 16).map(|_| normal(&mut rng)).collect()
    })
}

/// What a webcam does to the light: optics blur (σ 0.3–1 px), exposure gain (0.9–1.1), sensor
/// noise (σ 1.5–4 levels), 8-bit quantisation and JPEG (quality 70–95).
pub fn capture(img: &Canvas, rng: &mut impl Rng) -> RgbImage {
    let mut c = img.clone();
    c.blur(rng.gen_range(0.3..1.0));
    let gain = rng.gen_range(0.9..1.1);
    let sigma = rng.gen_range(1.5..4.0);
    let table = noise_table();
    let w = c.w;
    for (y, row) in c.px.chunks_mut(w.max(1)).enumerate() {
        let start = rng.gen_range(0..table.len() - 3 * w - 1);
        let stride = if y % 2 == 0 { 1 } else { 3 };
        for (x, p) in row.iter_mut().enumerate() {
            for (k, v) in p.iter_mut().enumerate() {
                let n = table[(start + (3 * x + k) * stride) % table.len()];
                *v = *v * gain + sigma * n;
            }
        }
    }
    let rgb = c.to_rgb();
    let quality = rng.gen_range(70..=95u8);
    let mut jpeg = Vec::new();
    let ok = JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(&rgb)
        .is_ok();
    if !ok {
        return rgb;
    }
    image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .map(|d| d.to_rgb8())
        .unwrap_or(rgb)
}

/// A background: a plain colour, a gradient, or a blurred "room" of coloured rectangles.
pub fn background(rng: &mut impl Rng) -> Canvas {
    fn colour(rng: &mut impl Rng) -> [f32; 3] {
        [
            rng.gen_range(40.0..230.0f32),
            rng.gen_range(40.0..230.0f32),
            rng.gen_range(40.0..230.0f32),
        ]
    }
    match rng.gen_range(0..3) {
        0 => Canvas::filled(W, H, colour(rng)),
        1 => {
            let (a, b) = (colour(rng), colour(rng));
            let horizontal = rng.gen_bool(0.5);
            let mut c = Canvas::filled(W, H, a);
            for y in 0..H {
                for x in 0..W {
                    let t = if horizontal {
                        x as f32 / W as f32
                    } else {
                        y as f32 / H as f32
                    };
                    c.px[y * W + x] = [
                        a[0] + (b[0] - a[0]) * t,
                        a[1] + (b[1] - a[1]) * t,
                        a[2] + (b[2] - a[2]) * t,
                    ];
                }
            }
            c
        }
        _ => {
            let mut c = Canvas::filled(W, H, colour(rng));
            for _ in 0..25 {
                let col = [
                    rng.gen_range(20.0..240.0f32),
                    rng.gen_range(20.0..240.0f32),
                    rng.gen_range(20.0..240.0f32),
                ];
                let x0 = rng.gen_range(-100..W as i64);
                let y0 = rng.gen_range(-100..H as i64);
                let (w, h) = (rng.gen_range(30..300i64), rng.gen_range(30..300i64));
                for y in y0.max(0)..(y0 + h).min(H as i64) {
                    for x in x0.max(0)..(x0 + w).min(W as i64) {
                        c.px[y as usize * W + x as usize] = col;
                    }
                }
            }
            c.blur(3.0);
            c
        }
    }
}
