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
//!   z, which is close to metric), a scaled rotation refined by Gauss–Newton: residual ≈ noise
//!   for a head.
//!
//! Each axis is judged on its own: turned frames (yaw ≥ 12° from the frontal reference) and
//! nodded frames (pitch ≥ 8°, little yaw). An axis passes with at least 3 such frames whose
//! *median* planar residual is clearly above noise and at least 2× (turns) or 1.8× (nods) the
//! median rigid one — one odd frame decides nothing. Because the landmark model places its
//! points where a face's would be, a print bent around a cylinder can fake one axis; a sheet
//! bends one way only, so a session that asks for a turn and a nod needs both axes. Frames whose
//! landmark presence score is low are not used. Residuals are RMS distances divided by the eye
//! distance, so they do not depend on the face's size in the image.

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
    /// A frame counts as nodded when its pitch differs this much, degrees (and its yaw less than
    /// that). Default 8.
    pub min_pitch_delta_deg: f32,
    /// Frames with a lower landmark presence score are not used, 0..1. Default 0.5.
    pub min_presence: f32,
    /// At least this many turned (or nodded) frames per axis. Default 3.
    pub min_pairs: usize,
    /// Turns: the median planar residual must reach this, eye distances. Default 0.06.
    pub turn_min_planar: f32,
    /// Turns: … and be at least this many times the median rigid residual. Default 2.0.
    pub turn_min_ratio: f32,
    /// Nods: the median planar residual must reach this. Default 0.05.
    pub nod_min_planar: f32,
    /// Nods: … and be at least this many times the median rigid residual. Default 1.8.
    pub nod_min_ratio: f32,
}

impl Default for ThreeDConfig {
    fn default() -> Self {
        Self {
            min_yaw_delta_deg: 12.0,
            min_pitch_delta_deg: 8.0,
            min_presence: 0.5,
            min_pairs: 3,
            turn_min_planar: 0.06,
            turn_min_ratio: 2.0,
            nod_min_planar: 0.05,
            nod_min_ratio: 1.8,
        }
    }
}

/// One axis of the 3-D check (turns or nods).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AxisScore {
    /// Median homography residual over the frames compared, eye distances.
    pub planar_residual: f32,
    /// Median rigid-head residual over the same frames, eye distances.
    pub rigid_residual: f32,
    /// Frames compared.
    pub pairs: usize,
    /// The largest angle from the frontal reference seen on this axis, degrees.
    pub range_deg: f32,
    /// The verdict on this axis.
    pub is_3d: bool,
}

/// The outcome of the 3-D check, per axis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreeDScore {
    /// Left-right turns (yaw parallax).
    pub turn: AxisScore,
    /// Up-down nods (pitch parallax).
    pub nod: AxisScore,
    /// Frames left out for a low presence score.
    pub low_presence_frames: usize,
}

#[derive(Clone, Debug)]
struct Frame {
    yaw: f32,
    pitch: f32,
    head: HeadPoints,
}

/// Collects frames while the head turns and nods, and scores their 3-D consistency.
#[derive(Clone, Debug)]
pub struct ThreeDTracker {
    config: ThreeDConfig,
    frontal: Vec<Frame>,
    moved: Vec<Frame>,
    low_presence: usize,
}

/// Frames kept per axis (the furthest from frontal; they carry the parallax).
const MAX_FRAMES: usize = 24;

impl ThreeDTracker {
    /// A tracker with no frames.
    pub fn new(config: ThreeDConfig) -> Self {
        Self {
            config,
            frontal: Vec::new(),
            moved: Vec::new(),
            low_presence: 0,
        }
    }

    fn usable(&mut self, head: &HeadPoints) -> bool {
        let ok = head.usable() && head.presence >= self.config.min_presence;
        if !ok {
            self.low_presence += 1;
        }
        ok
    }

    /// Adds a frontal frame: the person's reference shape (the capture before the challenges).
    pub fn add_frontal(&mut self, head: &HeadPoints, yaw: f32, pitch: f32) {
        if self.usable(head) {
            self.frontal.push(Frame {
                yaw,
                pitch,
                head: head.clone(),
            });
        }
    }

    /// Adds a frame from the challenges; it is used when turned or nodded far enough from the
    /// frontal reference.
    pub fn add(&mut self, head: &HeadPoints, yaw: f32, pitch: f32) {
        if !self.usable(head) {
            return;
        }
        let (fy, fp) = self.frontal_pose();
        let c = self.config;
        if (yaw - fy).abs() < c.min_yaw_delta_deg && (pitch - fp).abs() < c.min_pitch_delta_deg {
            return;
        }
        self.moved.push(Frame {
            yaw,
            pitch,
            head: head.clone(),
        });
        if self.moved.len() > 8 * MAX_FRAMES {
            // Keep the furthest on each axis.
            let mut by_yaw = self.moved.clone();
            by_yaw.sort_by(|a, b| (b.yaw - fy).abs().total_cmp(&(a.yaw - fy).abs()));
            by_yaw.truncate(2 * MAX_FRAMES);
            let mut by_pitch = std::mem::take(&mut self.moved);
            by_pitch.sort_by(|a, b| (b.pitch - fp).abs().total_cmp(&(a.pitch - fp).abs()));
            by_pitch.truncate(2 * MAX_FRAMES);
            self.moved = by_yaw;
            self.moved.extend(by_pitch);
        }
    }

    /// The frontal reference's yaw and pitch (medians over the frontal frames).
    fn frontal_pose(&self) -> (f32, f32) {
        (
            median(self.frontal.iter().map(|f| f.yaw).collect()).unwrap_or(0.0),
            median(self.frontal.iter().map(|f| f.pitch).collect()).unwrap_or(0.0),
        )
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
        let (fy, fp) = self.frontal_pose();
        let c = self.config;
        let turned: Vec<&Frame> = self
            .moved
            .iter()
            .filter(|f| (f.yaw - fy).abs() >= c.min_yaw_delta_deg)
            .collect();
        let nodded: Vec<&Frame> = self
            .moved
            .iter()
            .filter(|f| {
                (f.pitch - fp).abs() >= c.min_pitch_delta_deg
                    && (f.yaw - fy).abs() < c.min_pitch_delta_deg
            })
            .collect();
        out.turn = axis(
            &shape,
            &turned,
            |f| (f.yaw - fy).abs(),
            c.min_pairs,
            c.turn_min_planar,
            c.turn_min_ratio,
        );
        out.nod = axis(
            &shape,
            &nodded,
            |f| (f.pitch - fp).abs(),
            c.min_pairs,
            c.nod_min_planar,
            c.nod_min_ratio,
        );
        out.turn.range_deg = self
            .moved
            .iter()
            .map(|f| (f.yaw - fy).abs())
            .fold(0.0, f32::max);
        out.nod.range_deg = self
            .moved
            .iter()
            .map(|f| (f.pitch - fp).abs())
            .fold(0.0, f32::max);
        out
    }

    /// The mean frontal shape, normalised (centred, eye distance 1), in 3-D: the frames
    /// within 4° of the most frontal one.
    fn reference_shape(&self) -> Option<Vec<[f64; 3]>> {
        let (fy, fp) = self.frontal_pose();
        let off = |f: &Frame| (f.yaw - fy).abs().max((f.pitch - fp).abs());
        let best = self.frontal.iter().map(off).fold(f32::INFINITY, f32::min);
        let frames: Vec<&Frame> = self
            .frontal
            .iter()
            .filter(|f| off(f) <= best + 4.0)
            .take(8)
            .collect();
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

/// One axis: the medians over the frames moved on it, and the verdict.
fn axis(
    shape: &[[f64; 3]],
    frames: &[&Frame],
    distance: impl Fn(&Frame) -> f32,
    min_pairs: usize,
    min_planar: f32,
    min_ratio: f32,
) -> AxisScore {
    let mut frames: Vec<&Frame> = frames.to_vec();
    frames.sort_by(|a, b| distance(b).total_cmp(&distance(a)));
    frames.truncate(MAX_FRAMES);
    let flat: Vec<Point> = shape
        .iter()
        .map(|p| Point::new(p[0] as f32, p[1] as f32))
        .collect();
    let (mut planar, mut rigid) = (Vec::new(), Vec::new());
    for f in &frames {
        let obs = normalised_2d(&f.head);
        if let (Some(p), Some(r)) = (planar_residual(&flat, &obs), rigid_residual(shape, &obs)) {
            planar.push(p);
            rigid.push(r);
        }
    }
    let pairs = planar.len();
    let planar = median(planar).unwrap_or(0.0);
    let rigid = median(rigid).unwrap_or(f32::INFINITY);
    AxisScore {
        planar_residual: planar,
        rigid_residual: if rigid.is_finite() { rigid } else { -1.0 },
        pairs,
        range_deg: 0.0,
        is_3d: pairs >= min_pairs
            && planar >= min_planar
            && rigid.is_finite()
            && planar >= min_ratio * rigid.max(1e-6),
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
/// points (in eye distances): the least-squares affine camera, projected onto the nearest scaled
/// rotation, then refined by 8 Gauss–Newton steps on the rotation, the scale and the shift.
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
    // Split into scale and rotation (third row: the cross product of the first two).
    let s0 = (m[0].iter().map(|v| v * v).sum::<f64>()).sqrt();
    if s0 <= 1e-12 {
        return None;
    }
    let r1 = m[0].map(|v| v / s0);
    let r2 = m[1].map(|v| v / s0);
    let mut rot = [r1, r2, cross(r1, r2)];
    let mut scale = s0;
    let mut shift = [0.0f64; 2];
    let xs: Vec<[f64; 3]> = shape
        .iter()
        .map(|x| [x[0] - cs[0], x[1] - cs[1], x[2] - cs[2]])
        .collect();
    let us: Vec<[f64; 2]> = observed
        .iter()
        .map(|u| [f64::from(u.x) - co[0], f64::from(u.y) - co[1]])
        .collect();
    for _ in 0..8 {
        let mut jtj = [[0.0f64; 6]; 6];
        let mut jtr = [0.0f64; 6];
        for (x, u) in xs.iter().zip(&us) {
            let q = mat_vec(&rot, *x);
            let r = [
                scale * q[0] + shift[0] - u[0],
                scale * q[1] + shift[1] - u[1],
            ];
            // d(R·X)/dω = −R·[X]×, first two rows, times the scale.
            let xx = [[0.0, -x[2], x[1]], [x[2], 0.0, -x[0]], [-x[1], x[0], 0.0]];
            let mut rows = [[0.0f64; 6]; 2];
            for (k, row) in rows.iter_mut().enumerate() {
                for j in 0..3 {
                    row[j] = -scale * (0..3).map(|l| rot[k][l] * xx[l][j]).sum::<f64>();
                }
                row[3] = scale * q[k];
                row[4] = if k == 0 { 1.0 } else { 0.0 };
                row[5] = if k == 1 { 1.0 } else { 0.0 };
            }
            for k in 0..2 {
                for a in 0..6 {
                    jtr[a] += rows[k][a] * r[k];
                    for b in 0..6 {
                        jtj[a][b] += rows[k][a] * rows[k][b];
                    }
                }
            }
        }
        for (i, row) in jtj.iter_mut().enumerate() {
            row[i] += 1e-9;
        }
        let Some(d) = solve6(jtj, jtr.map(|v| -v)) else {
            break;
        };
        rot = mat_mul(&rot, &rodrigues([d[0], d[1], d[2]]));
        scale *= d[3].exp();
        shift[0] += d[4];
        shift[1] += d[5];
    }
    let mut sum = 0.0;
    for (x, u) in xs.iter().zip(&us) {
        let q = mat_vec(&rot, *x);
        sum += (scale * q[0] + shift[0] - u[0]).powi(2) + (scale * q[1] + shift[1] - u[1]).powi(2);
    }
    Some((sum / xs.len() as f64).sqrt() as f32)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn mat_vec(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

fn mat_mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

/// The rotation exp([ω]×) (Rodrigues' formula).
fn rodrigues(w: [f64; 3]) -> [[f64; 3]; 3] {
    let th = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    let k = [[0.0, -w[2], w[1]], [w[2], 0.0, -w[0]], [-w[1], w[0], 0.0]];
    let (a, b) = if th < 1e-9 {
        (1.0, 0.5)
    } else {
        (th.sin() / th, (1.0 - th.cos()) / (th * th))
    };
    let k2 = mat_mul(&k, &k);
    let mut out = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            out[i][j] = if i == j { 1.0 } else { 0.0 } + a * k[i][j] + b * k2[i][j];
        }
    }
    out
}

/// Solves a 6×6 linear system by Gaussian elimination with partial pivoting.
fn solve6(mut a: [[f64; 6]; 6], mut b: [f64; 6]) -> Option<[f64; 6]> {
    for c in 0..6 {
        let p = (c..6).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-15 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        let pivot = a[c];
        for r in c + 1..6 {
            let f = a[r][c] / pivot[c];
            for (v, p) in a[r].iter_mut().zip(pivot).skip(c) {
                *v -= f * p;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0f64; 6];
    for c in (0..6).rev() {
        let s: f64 = (c + 1..6).map(|k| a[c][k] * x[k]).sum();
        x[c] = (b[c] - s) / a[c][c];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
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
            t.add_frontal(&view(kind, 0.0, noise, &mut seed), 0.0, 0.0);
        }
        for yaw in [
            5.0, 10.0, 15.0, 20.0, 25.0, 20.0, 10.0, 0.0, -10.0, -20.0, -25.0,
        ] {
            t.add(&view(kind, yaw, noise, &mut seed), yaw as f32, 0.0);
        }
        t.score()
    }

    #[test]
    fn a_turning_head_is_3d_and_flat_or_bent_photos_are_not() {
        for seed in 1..20 {
            let head = session(Kind::Head, 0.6, seed);
            let flat = session(Kind::Flat, 0.6, seed);
            let bent = session(Kind::Cylinder, 0.6, seed);
            assert!(head.turn.is_3d, "head {head:?}");
            assert!(!flat.turn.is_3d, "flat {flat:?}");
            assert!(!bent.turn.is_3d, "bent {bent:?}");
        }
    }

    #[test]
    fn without_a_turn_there_is_no_verdict() {
        let mut seed = 3;
        let mut t = ThreeDTracker::new(ThreeDConfig::default());
        for _ in 0..5 {
            t.add_frontal(&view(Kind::Head, 0.0, 0.5, &mut seed), 0.0, 0.0);
            t.add(&view(Kind::Head, 2.0, 0.5, &mut seed), 2.0, 0.0);
        }
        let s = t.score();
        assert!(!s.turn.is_3d && !s.nod.is_3d);
        assert_eq!(s.turn.pairs, 0);
    }

    #[test]
    fn frames_the_landmark_model_doubts_are_not_used() {
        let mut seed = 5;
        let mut t = ThreeDTracker::new(ThreeDConfig::default());
        t.add_frontal(&view(Kind::Head, 0.0, 0.5, &mut seed), 0.0, 0.0);
        for yaw in [15.0, 20.0, 25.0] {
            let mut v = view(Kind::Head, yaw, 0.5, &mut seed);
            v.presence = 0.1;
            t.add(&v, yaw as f32, 0.0);
        }
        let s = t.score();
        assert_eq!(s.low_presence_frames, 3);
        assert!(!s.turn.is_3d);
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
