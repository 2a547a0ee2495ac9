//! The 3-D consistency check: is the thing turning in front of the camera a head?
//!
//! While a person turns their head, the landmarks move as a rigid 3-D object seen by a camera:
//! the nose tip sweeps across the cheeks. A photo, a screen or a print moves as one plane, and a
//! homography explains its landmarks exactly; a print bent around a cylinder moves as neither a
//! plane nor a head. So each turned frame is fitted twice against the person's own frontal
//! landmarks (from the capture before the challenges):
//!
//! - *planar*: the best homography from the frontal 2-D landmarks (residual ≈ noise for a flat
//!   photo, large for a head);
//! - *rigid*: the best weak-perspective view of the frontal 3-D shape (FaceMesh's x, y and depth
//!   z, with one depth scale fitted per session): residual ≈ noise for a head, large for a flat
//!   or bent photo.
//!
//! The verdict takes the median over the turned frames (one odd frame decides nothing) and
//! needs the planar fit to fail clearly while the rigid one succeeds. Frames whose landmark
//! presence score is low are not used: the landmarks of a face the model is unsure of are noise.
//! Residuals are RMS distances divided by the eye distance, so they do not depend on the face's
//! size in the image.

use serde::{Deserialize, Serialize};

use crate::geometry::{Homography, Point};
use crate::landmarks::{FaceLandmarks, Landmark};

/// FaceMesh landmarks spread over the whole face — nose bridge and tip (in front), eyes, mouth,
/// brows, cheeks, jaw and outline (behind) — for the 3-D check.
pub const HEAD_LANDMARKS: [usize; 33] = [
    1, 4, 5, 6, 195, 197, 168, 10, 152, 33, 263, 133, 362, 61, 291, 13, 14, 234, 454, 127, 356, 93,
    323, 132, 361, 58, 288, 172, 397, 70, 300, 105, 334,
];

/// The landmarks of one frame that the 3-D check uses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeadPoints {
    /// [`HEAD_LANDMARKS`] in order: x, y in image px, z relative depth (px-like, nearer < 0).
    pub points: Vec<Landmark>,
    /// Distance between the outer eye corners, px.
    pub eye_distance: f32,
    /// The landmark model's confidence that a face is there, 0..1.
    pub presence: f32,
}

impl HeadPoints {
    /// The subset of a face's landmarks.
    pub fn from_landmarks(l: &FaceLandmarks) -> HeadPoints {
        let at = |i: usize| l.points.get(i).copied();
        let points = HEAD_LANDMARKS.iter().filter_map(|&i| at(i)).collect();
        let eye_distance = match (at(33), at(263)) {
            (Some(a), Some(b)) => a.point().distance(b.point()),
            _ => 0.0,
        };
        HeadPoints {
            points,
            eye_distance,
            presence: l.presence,
        }
    }

    fn usable(&self) -> bool {
        self.points.len() == HEAD_LANDMARKS.len() && self.eye_distance > 1.0
    }
}

/// Settings of the 3-D consistency check.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThreeDConfig {
    /// A frame counts as turned when its yaw differs this much, degrees, from the frontal
    /// reference. Default 12.
    pub min_yaw_delta_deg: f32,
    /// Frames with a lower landmark presence score are not used, 0..1. Default 0.5.
    pub min_presence: f32,
    /// At least this many turned frames must be compared. Default 2.
    pub min_pairs: usize,
    /// The planar residual (median) must reach this, in eye distances. Default 0.03.
    pub min_planar_residual: f32,
    /// The rigid residual (median) must stay below this share of the planar one. Default 0.6.
    pub max_rigid_ratio: f32,
}

impl Default for ThreeDConfig {
    fn default() -> Self {
        Self {
            min_yaw_delta_deg: 12.0,
            min_presence: 0.5,
            min_pairs: 2,
            min_planar_residual: 0.03,
            max_rigid_ratio: 0.6,
        }
    }
}

/// The outcome of the 3-D check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDScore {
    /// Median homography residual over the turned frames, eye distances.
    pub planar_residual: f32,
    /// Median rigid-head residual over the turned frames, eye distances.
    pub rigid_residual: f32,
    /// The depth scale fitted (FaceMesh depth to the head's apparent depth).
    pub depth_scale: f32,
    /// Turned frames compared.
    pub pairs: usize,
    /// The yaw range covered, degrees.
    pub yaw_range_deg: f32,
    /// Frames left out for a low presence score.
    pub low_presence_frames: usize,
    /// The verdict at the configured thresholds.
    pub is_3d: bool,
}

#[derive(Clone, Debug)]
struct Frame {
    yaw: f32,
    head: HeadPoints,
}

/// Collects frames while the head turns and scores their 3-D consistency.
#[derive(Clone, Debug)]
pub struct ThreeDTracker {
    config: ThreeDConfig,
    frontal: Vec<Frame>,
    turned: Vec<Frame>,
    low_presence: usize,
}

/// Turned frames kept (the most turned on either side; they carry the parallax).
const MAX_TURNED: usize = 24;

impl ThreeDTracker {
    /// A tracker with no frames.
    pub fn new(config: ThreeDConfig) -> Self {
        Self {
            config,
            frontal: Vec::new(),
            turned: Vec::new(),
            low_presence: 0,
        }
    }

    /// Adds a frontal frame: the person's reference shape (the capture before the challenges).
    pub fn add_frontal(&mut self, head: &HeadPoints, yaw: f32) {
        if !head.usable() || head.presence < self.config.min_presence {
            self.low_presence += 1;
            return;
        }
        self.frontal.push(Frame {
            yaw,
            head: head.clone(),
        });
    }

    /// Adds a frame from the challenges; it is used when turned far enough from the frontal
    /// reference.
    pub fn add(&mut self, head: &HeadPoints, yaw: f32) {
        if !head.usable() || head.presence < self.config.min_presence {
            self.low_presence += 1;
            return;
        }
        self.turned.push(Frame {
            yaw,
            head: head.clone(),
        });
        if self.turned.len() > 4 * MAX_TURNED {
            self.prune();
        }
    }

    fn frontal_yaw(&self) -> f32 {
        median(self.frontal.iter().map(|f| f.yaw).collect()).unwrap_or(0.0)
    }

    fn prune(&mut self) {
        let f = self.frontal_yaw();
        self.turned
            .sort_by(|a, b| (b.yaw - f).abs().total_cmp(&(a.yaw - f).abs()));
        self.turned.truncate(MAX_TURNED);
    }

    /// Scores the frames collected so far.
    pub fn score(&self) -> ThreeDScore {
        let mut out = ThreeDScore {
            low_presence_frames: self.low_presence,
            ..ThreeDScore::default()
        };
        let Some(shape) = self.reference_shape() else {
            return out;
        };
        let frontal_yaw = self.frontal_yaw();
        let mut turned: Vec<&Frame> = self
            .turned
            .iter()
            .filter(|t| (t.yaw - frontal_yaw).abs() >= self.config.min_yaw_delta_deg)
            .collect();
        turned.sort_by(|a, b| {
            (b.yaw - frontal_yaw)
                .abs()
                .total_cmp(&(a.yaw - frontal_yaw).abs())
        });
        turned.truncate(MAX_TURNED);
        out.yaw_range_deg = self
            .turned
            .iter()
            .map(|t| (t.yaw - frontal_yaw).abs())
            .fold(0.0, f32::max);
        if turned.is_empty() {
            return out;
        }
        let observed: Vec<Vec<Point>> = turned.iter().map(|t| normalised_2d(&t.head)).collect();
        let depth_scale = fit_depth_scale(&shape, &observed);
        let scaled: Vec<[f64; 3]> = shape
            .iter()
            .map(|p| [p[0], p[1], p[2] * f64::from(depth_scale)])
            .collect();
        let flat: Vec<Point> = shape
            .iter()
            .map(|p| Point::new(p[0] as f32, p[1] as f32))
            .collect();
        let mut planar = Vec::new();
        let mut rigid = Vec::new();
        for obs in &observed {
            let (Some(p), Some(r)) = (planar_residual(&flat, obs), rigid_residual(&scaled, obs))
            else {
                continue;
            };
            planar.push(p);
            rigid.push(r);
        }
        out.pairs = planar.len();
        out.depth_scale = depth_scale;
        out.planar_residual = median(planar).unwrap_or(0.0);
        out.rigid_residual = median(rigid).unwrap_or(f32::INFINITY);
        let c = &self.config;
        out.is_3d = out.pairs >= c.min_pairs
            && out.planar_residual >= c.min_planar_residual
            && out.rigid_residual <= c.max_rigid_ratio * out.planar_residual;
        out
    }

    /// The mean frontal shape, normalised (centred, eye distance 1), in 3-D.
    fn reference_shape(&self) -> Option<Vec<[f64; 3]>> {
        let f = self.frontal_yaw();
        let mut frames: Vec<&Frame> = self.frontal.iter().collect();
        frames.sort_by(|a, b| (a.yaw - f).abs().total_cmp(&(b.yaw - f).abs()));
        frames.truncate(5);
        let n = frames.len();
        if n == 0 {
            return None;
        }
        let mut acc = vec![[0.0f64; 3]; HEAD_LANDMARKS.len()];
        for fr in &frames {
            for (a, p) in acc.iter_mut().zip(normalised_3d(&fr.head)) {
                for k in 0..3 {
                    a[k] += p[k] / n as f64;
                }
            }
        }
        Some(acc)
    }
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) * 0.5
    })
}

/// Centred, divided by the eye distance.
fn normalised_3d(h: &HeadPoints) -> Vec<[f64; 3]> {
    let n = h.points.len().max(1) as f64;
    let (mut cx, mut cy, mut cz) = (0.0, 0.0, 0.0);
    for p in &h.points {
        cx += f64::from(p.x) / n;
        cy += f64::from(p.y) / n;
        cz += f64::from(p.z) / n;
    }
    let s = f64::from(h.eye_distance.max(1.0));
    h.points
        .iter()
        .map(|p| {
            [
                (f64::from(p.x) - cx) / s,
                (f64::from(p.y) - cy) / s,
                (f64::from(p.z) - cz) / s,
            ]
        })
        .collect()
}

fn normalised_2d(h: &HeadPoints) -> Vec<Point> {
    normalised_3d(h)
        .into_iter()
        .map(|p| Point::new(p[0] as f32, p[1] as f32))
        .collect()
}

/// RMS residual of the best homography between two normalised landmark sets.
pub fn planar_residual(a: &[Point], b: &[Point]) -> Option<f32> {
    let h = Homography::fit(a, b)?;
    Some(h.rms_error(a, b))
}

/// RMS residual of the best weak-perspective view of the 3-D `shape` onto the 2-D `observed`
/// points (both centred, in eye distances): the least-squares affine camera, projected onto
/// the nearest scaled rotation.
pub fn rigid_residual(shape: &[[f64; 3]], observed: &[Point]) -> Option<f32> {
    if shape.len() != observed.len() || shape.len() < 6 {
        return None;
    }
    let cs = centroid3(shape);
    let co = centroid2(observed);
    // A = Σ u·Xᵀ (2×3), B = Σ X·Xᵀ (3×3), over centred points.
    let mut a = [[0.0f64; 3]; 2];
    let mut b = [[0.0f64; 3]; 3];
    for (x, u) in shape.iter().zip(observed) {
        let x = [x[0] - cs[0], x[1] - cs[1], x[2] - cs[2]];
        let u = [f64::from(u.x) - co[0], f64::from(u.y) - co[1]];
        for r in 0..2 {
            for c in 0..3 {
                a[r][c] += u[r] * x[c];
            }
        }
        for r in 0..3 {
            for c in 0..3 {
                b[r][c] += x[r] * x[c];
            }
        }
    }
    let b_inv = invert3(&b)?;
    let mut m = [[0.0f64; 3]; 2];
    for r in 0..2 {
        for c in 0..3 {
            m[r][c] = (0..3).map(|k| a[r][k] * b_inv[k][c]).sum();
        }
    }
    let m = nearest_scaled_rotation(&m)?;
    let mut sum = 0.0;
    for (x, u) in shape.iter().zip(observed) {
        let x = [x[0] - cs[0], x[1] - cs[1], x[2] - cs[2]];
        let px = m[0][0] * x[0] + m[0][1] * x[1] + m[0][2] * x[2] + co[0];
        let py = m[1][0] * x[0] + m[1][1] * x[1] + m[1][2] * x[2] + co[1];
        sum += (px - f64::from(u.x)).powi(2) + (py - f64::from(u.y)).powi(2);
    }
    Some((sum / shape.len() as f64).sqrt() as f32)
}

/// One depth scale for the whole session (how FaceMesh's depth relates to the apparent depth of
/// this head): the scale in 0.25..4 that makes the rigid fit best over all turned frames.
fn fit_depth_scale(shape: &[[f64; 3]], observed: &[Vec<Point>]) -> f32 {
    let cost = |k: f64| -> f64 {
        let scaled: Vec<[f64; 3]> = shape.iter().map(|p| [p[0], p[1], p[2] * k]).collect();
        let mut v: Vec<f32> = observed
            .iter()
            .filter_map(|o| rigid_residual(&scaled, o))
            .collect();
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).map_or(f64::INFINITY, |&r| f64::from(r))
    };
    // Golden-section search on log k.
    let (mut lo, mut hi) = (0.25f64.ln(), 4.0f64.ln());
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let mut x1 = hi - g * (hi - lo);
    let mut x2 = lo + g * (hi - lo);
    let (mut f1, mut f2) = (cost(x1.exp()), cost(x2.exp()));
    for _ in 0..24 {
        if f1 <= f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = cost(x1.exp());
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = cost(x2.exp());
        }
    }
    ((lo + hi) / 2.0).exp() as f32
}

fn centroid3(p: &[[f64; 3]]) -> [f64; 3] {
    let n = p.len().max(1) as f64;
    let mut c = [0.0; 3];
    for q in p {
        for k in 0..3 {
            c[k] += q[k] / n;
        }
    }
    c
}

fn centroid2(p: &[Point]) -> [f64; 2] {
    let n = p.len().max(1) as f64;
    p.iter().fold([0.0, 0.0], |c, q| {
        [c[0] + f64::from(q.x) / n, c[1] + f64::from(q.y) / n]
    })
}

fn invert3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-12 || !det.is_finite() {
        return None;
    }
    let inv = |r: usize, c: usize| -> f64 {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        (m[c1][r1] * m[c2][r2] - m[c1][r2] * m[c2][r1]) / det
    };
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = inv(r, c);
        }
    }
    Some(out)
}

/// The scaled rotation s·[r₁; r₂] (orthonormal rows) nearest to the 2×3 matrix `m`: from the
/// SVD m = U·Σ·Vᵀ, it is ((σ₁+σ₂)/2)·U·Vᵀ.
fn nearest_scaled_rotation(m: &[[f64; 3]; 2]) -> Option<[[f64; 3]; 2]> {
    // m·mᵀ (2×2, symmetric) = U·Σ²·Uᵀ.
    let p = (0..3).map(|k| m[0][k] * m[0][k]).sum::<f64>();
    let q = (0..3).map(|k| m[0][k] * m[1][k]).sum::<f64>();
    let r = (0..3).map(|k| m[1][k] * m[1][k]).sum::<f64>();
    let tr = p + r;
    let disc = ((p - r) * (p - r) / 4.0 + q * q).sqrt();
    let l1 = tr / 2.0 + disc;
    let l2 = tr / 2.0 - disc;
    if l2 <= 1e-12 || !l1.is_finite() {
        return None;
    }
    let (s1, s2) = (l1.sqrt(), l2.sqrt());
    // Eigenvectors of m·mᵀ.
    let u1 = if q.abs() > 1e-15 {
        let v = [l1 - r, q];
        let n = (v[0] * v[0] + v[1] * v[1]).sqrt();
        [v[0] / n, v[1] / n]
    } else if p >= r {
        [1.0, 0.0]
    } else {
        [0.0, 1.0]
    };
    let u2 = [-u1[1], u1[0]];
    // Right singular vectors: vᵢ = mᵀ·uᵢ / σᵢ.
    let v = |u: [f64; 2], s: f64| -> [f64; 3] {
        [
            (m[0][0] * u[0] + m[1][0] * u[1]) / s,
            (m[0][1] * u[0] + m[1][1] * u[1]) / s,
            (m[0][2] * u[0] + m[1][2] * u[1]) / s,
        ]
    };
    let (v1, v2) = (v(u1, s1), v(u2, s2));
    let s = (s1 + s2) / 2.0;
    let mut out = [[0.0; 3]; 2];
    for row in 0..2 {
        for col in 0..3 {
            out[row][col] = s * (u1[row] * v1[col] + u2[row] * v2[col]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rough head: points on an ellipsoid, nose in front (z negative towards the camera).
    fn head() -> Vec<[f64; 3]> {
        let mut pts = Vec::new();
        for i in 0..HEAD_LANDMARKS.len() {
            let a = i as f64 / HEAD_LANDMARKS.len() as f64 * std::f64::consts::TAU;
            let ring = if i % 2 == 0 { 1.0 } else { 0.6 };
            let (x, y) = (70.0 * ring * a.cos(), 90.0 * ring * a.sin());
            let z = 45.0 * ((x / 75.0).powi(2) + (y / 95.0).powi(2));
            pts.push([x, y, z]);
        }
        pts[0] = [0.0, 5.0, -38.0];
        pts[1] = [0.0, 20.0, -28.0];
        pts[2] = [0.0, -25.0, -12.0];
        pts
    }

    #[derive(Clone, Copy)]
    enum Kind {
        Head,
        Flat,
        Cylinder,
    }

    /// The landmarks seen at `yaw` degrees: of the head, of a flat photo of its frontal view, or
    /// of that photo bent around a vertical cylinder (radius 100 mm). z of the landmark model is
    /// its guess of the head's depth, which it makes for photos too.
    fn view(kind: Kind, yaw: f64, noise: f64, seed: &mut u64) -> HeadPoints {
        let (s, c) = yaw.to_radians().sin_cos();
        let mut jitter = || {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 2.0 * noise
        };
        let points = head()
            .iter()
            .map(|p| {
                let surface = match kind {
                    Kind::Head => *p,
                    Kind::Flat => [p[0], p[1], 0.0],
                    Kind::Cylinder => {
                        let r = 100.0;
                        let t = p[0] / r;
                        [r * t.sin(), p[1], r * (1.0 - t.cos())]
                    }
                };
                let [x, y, z] = [
                    surface[0] * c + surface[2] * s,
                    surface[1],
                    -surface[0] * s + surface[2] * c,
                ];
                let (f, d) = (900.0, 600.0);
                Landmark {
                    x: (320.0 + f * x / (d + z) + jitter()) as f32,
                    y: (240.0 + f * y / (d + z) + jitter()) as f32,
                    // The model's depth guess: always a head's, seen at this yaw.
                    z: ((-p[0] * s + p[2] * c) * f / d) as f32,
                }
            })
            .collect();
        let eye = |x: f64| {
            let (xx, zz) = (x * c + 5.0 * s, -x * s + 5.0 * c);
            900.0 * xx / (600.0 + zz)
        };
        HeadPoints {
            points,
            eye_distance: (eye(35.0) - eye(-35.0)).abs() as f32,
            presence: 0.99,
        }
    }

    fn session(kind: Kind, noise: f64, seed: u64) -> ThreeDScore {
        let mut seed = seed;
        let mut t = ThreeDTracker::new(ThreeDConfig::default());
        for _ in 0..4 {
            t.add_frontal(&view(kind, 0.0, noise, &mut seed), 0.0);
        }
        for yaw in [
            5.0, 10.0, 15.0, 20.0, 25.0, 20.0, 10.0, 0.0, -10.0, -20.0, -25.0,
        ] {
            t.add(&view(kind, yaw, noise, &mut seed), yaw as f32);
        }
        t.score()
    }

    #[test]
    fn a_turning_head_is_3d_and_flat_or_bent_photos_are_not() {
        for seed in 1..20 {
            let head = session(Kind::Head, 0.6, seed);
            let flat = session(Kind::Flat, 0.6, seed);
            let bent = session(Kind::Cylinder, 0.6, seed);
            assert!(head.is_3d, "head {head:?}");
            assert!(!flat.is_3d, "flat {flat:?}");
            assert!(!bent.is_3d, "bent {bent:?}");
        }
    }

    #[test]
    fn without_a_turn_there_is_no_verdict() {
        let mut seed = 3;
        let mut t = ThreeDTracker::new(ThreeDConfig::default());
        for _ in 0..5 {
            t.add_frontal(&view(Kind::Head, 0.0, 0.5, &mut seed), 0.0);
            t.add(&view(Kind::Head, 2.0, 0.5, &mut seed), 2.0);
        }
        let s = t.score();
        assert!(!s.is_3d);
        assert_eq!(s.pairs, 0);
    }

    #[test]
    fn frames_the_landmark_model_doubts_are_not_used() {
        let mut seed = 5;
        let mut t = ThreeDTracker::new(ThreeDConfig::default());
        t.add_frontal(&view(Kind::Head, 0.0, 0.5, &mut seed), 0.0);
        for yaw in [15.0, 20.0, 25.0] {
            let mut v = view(Kind::Head, yaw, 0.5, &mut seed);
            v.presence = 0.1;
            t.add(&v, yaw as f32);
        }
        let s = t.score();
        assert_eq!(s.low_presence_frames, 3);
        assert!(!s.is_3d);
    }

    #[test]
    fn the_nearest_scaled_rotation_of_a_scaled_rotation_is_itself() {
        let (s, c) = 0.4f64.sin_cos();
        let m = [[2.0 * c, 0.0, 2.0 * s], [0.0, 2.0, 0.0]];
        let r = nearest_scaled_rotation(&m).unwrap();
        for i in 0..2 {
            for j in 0..3 {
                assert!((r[i][j] - m[i][j]).abs() < 1e-9, "{r:?}");
            }
        }
    }
}
