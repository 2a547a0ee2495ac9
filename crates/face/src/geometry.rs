//! Plane geometry: points, boxes, similarity and projective transforms.
//!
//! Coordinates are image pixels, x to the right, y down, with the centre of pixel (i, j) at
//! (i, j) — the convention of OpenCV's `warpAffine`, which the models' reference pre-processing used.

use serde::{Deserialize, Serialize};

/// A point in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Horizontal position, px.
    pub x: f32,
    /// Vertical position, px (down).
    pub y: f32,
}

impl Point {
    /// A point at (x, y).
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    /// Euclidean distance to `other`, px.
    pub fn distance(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    /// The point halfway to `other`.
    pub fn midpoint(self, other: Point) -> Point {
        Point::new((self.x + other.x) * 0.5, (self.y + other.y) * 0.5)
    }

    /// The mean of several points; the origin for none.
    pub fn centroid(points: &[Point]) -> Point {
        if points.is_empty() {
            return Point::default();
        }
        let n = points.len() as f32;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
        Point::new(sx / n, sy / n)
    }
}

/// An axis-aligned box in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Left edge, px.
    pub x: f32,
    /// Top edge, px.
    pub y: f32,
    /// Width, px.
    pub width: f32,
    /// Height, px.
    pub height: f32,
}

impl BoundingBox {
    /// The box with the given centre and size.
    pub fn from_center(center: Point, width: f32, height: f32) -> Self {
        Self {
            x: center.x - width * 0.5,
            y: center.y - height * 0.5,
            width,
            height,
        }
    }

    /// The centre of the box.
    pub fn center(&self) -> Point {
        Point::new(self.x + self.width * 0.5, self.y + self.height * 0.5)
    }

    /// Area, px².
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Right edge, px.
    pub fn right(&self) -> f32 {
        self.x + self.width
    }

    /// Bottom edge, px.
    pub fn bottom(&self) -> f32 {
        self.y + self.height
    }

    /// Intersection over union with `other`, 0..1.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let ix = (self.right().min(other.right()) - self.x.max(other.x)).max(0.0);
        let iy = (self.bottom().min(other.bottom()) - self.y.max(other.y)).max(0.0);
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The fraction of the box's area that lies inside a `width`×`height` image, 0..1.
    pub fn fraction_inside(&self, width: f32, height: f32) -> f32 {
        let ix = (self.right().min(width) - self.x.max(0.0)).max(0.0);
        let iy = (self.bottom().min(height) - self.y.max(0.0)).max(0.0);
        let area = self.area();
        if area <= 0.0 {
            0.0
        } else {
            (ix * iy / area).min(1.0)
        }
    }

    /// Maps the box through `f` applied to its corners, returning the bounding box of the result.
    pub fn map(&self, f: impl Fn(Point) -> Point) -> BoundingBox {
        let corners = [
            f(Point::new(self.x, self.y)),
            f(Point::new(self.right(), self.y)),
            f(Point::new(self.x, self.bottom())),
            f(Point::new(self.right(), self.bottom())),
        ];
        let min_x = corners.iter().map(|p| p.x).fold(f32::INFINITY, f32::min);
        let min_y = corners.iter().map(|p| p.y).fold(f32::INFINITY, f32::min);
        let max_x = corners
            .iter()
            .map(|p| p.x)
            .fold(f32::NEG_INFINITY, f32::max);
        let max_y = corners
            .iter()
            .map(|p| p.y)
            .fold(f32::NEG_INFINITY, f32::max);
        BoundingBox {
            x: min_x,
            y: min_y,
            width: max_x - min_x,
            height: max_y - min_y,
        }
    }
}

/// A 2×3 affine transform: `x' = a·x + b·y + c`, `y' = d·x + e·y + f`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    /// Row-major coefficients `[[a, b, c], [d, e, f]]`.
    pub m: [[f64; 3]; 2],
}

impl Affine {
    /// The identity.
    pub const IDENTITY: Affine = Affine {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    };

    /// A similarity: scale `s`, rotation `angle` (radians, counter-clockwise in a y-up frame,
    /// i.e. clockwise on screen), then translation `(tx, ty)`.
    pub fn similarity(s: f64, angle: f64, tx: f64, ty: f64) -> Affine {
        let (sin, cos) = angle.sin_cos();
        Affine {
            m: [[s * cos, -s * sin, tx], [s * sin, s * cos, ty]],
        }
    }

    /// Applies the transform to a point.
    pub fn apply(&self, p: Point) -> Point {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        let m = &self.m;
        Point::new(
            (m[0][0] * x + m[0][1] * y + m[0][2]) as f32,
            (m[1][0] * x + m[1][1] * y + m[1][2]) as f32,
        )
    }

    /// The inverse transform, or `None` when the transform is singular.
    pub fn inverse(&self) -> Option<Affine> {
        let [[a, b, c], [d, e, f]] = self.m;
        let det = a * e - b * d;
        if det.abs() < 1e-12 || !det.is_finite() {
            return None;
        }
        let inv = 1.0 / det;
        let (ia, ib, id, ie) = (e * inv, -b * inv, -d * inv, a * inv);
        Some(Affine {
            m: [[ia, ib, -(ia * c + ib * f)], [id, ie, -(id * c + ie * f)]],
        })
    }

    /// `self` after `first`: the transform that applies `first`, then `self`.
    pub fn after(&self, first: &Affine) -> Affine {
        let a = &self.m;
        let b = &first.m;
        let mut m = [[0.0; 3]; 2];
        for (r, row) in m.iter_mut().enumerate() {
            row[0] = a[r][0] * b[0][0] + a[r][1] * b[1][0];
            row[1] = a[r][0] * b[0][1] + a[r][1] * b[1][1];
            row[2] = a[r][0] * b[0][2] + a[r][1] * b[1][2] + a[r][2];
        }
        Affine { m }
    }

    /// The scale of a similarity (geometric mean of the axis scales for a general affine).
    pub fn scale(&self) -> f64 {
        let [[a, b, _], [d, e, _]] = self.m;
        (a * e - b * d).abs().sqrt()
    }
}

/// The least-squares similarity transform (rotation, uniform scale, translation; no reflection)
/// that maps `src` onto `dst` — Umeyama's method, which in 2-D has a closed form: with the
/// points centred and read as complex numbers, the rotation-and-scale is `Σ conj(s)·d / Σ |s|²`.
///
/// Returns `None` for fewer than two point pairs, unequal lengths, or all `src` points equal.
pub fn umeyama(src: &[Point], dst: &[Point]) -> Option<Affine> {
    if src.len() < 2 || src.len() != dst.len() {
        return None;
    }
    let n = src.len() as f64;
    let mean = |pts: &[Point]| {
        let (sx, sy) = pts.iter().fold((0.0f64, 0.0f64), |(sx, sy), p| {
            (sx + f64::from(p.x), sy + f64::from(p.y))
        });
        (sx / n, sy / n)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut dot, mut cross, mut norm) = (0.0f64, 0.0f64, 0.0f64);
    for (s, d) in src.iter().zip(dst) {
        let (sx, sy) = (f64::from(s.x) - msx, f64::from(s.y) - msy);
        let (dx, dy) = (f64::from(d.x) - mdx, f64::from(d.y) - mdy);
        dot += sx * dx + sy * dy;
        cross += sx * dy - sy * dx;
        norm += sx * sx + sy * sy;
    }
    if norm < 1e-12 {
        return None;
    }
    let a = dot / norm; // s·cos θ
    let b = cross / norm; // s·sin θ
    Some(Affine {
        m: [
            [a, -b, mdx - (a * msx - b * msy)],
            [b, a, mdy - (b * msx + a * msy)],
        ],
    })
}

/// A 3×3 projective transform (homography), row-major, acting on `(x, y, 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Homography {
    /// Row-major coefficients.
    pub h: [[f64; 3]; 3],
}

impl Homography {
    /// Applies the homography; `None` for a point mapped to infinity.
    pub fn apply(&self, p: Point) -> Option<Point> {
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        let h = &self.h;
        let w = h[2][0] * x + h[2][1] * y + h[2][2];
        if w.abs() < 1e-12 {
            return None;
        }
        Some(Point::new(
            ((h[0][0] * x + h[0][1] * y + h[0][2]) / w) as f32,
            ((h[1][0] * x + h[1][1] * y + h[1][2]) / w) as f32,
        ))
    }

    /// Fits the homography mapping `src` onto `dst` in the least-squares sense (normalised DLT).
    ///
    /// Returns `None` for fewer than 4 pairs, unequal lengths or a degenerate configuration.
    pub fn fit(src: &[Point], dst: &[Point]) -> Option<Homography> {
        if src.len() < 4 || src.len() != dst.len() {
            return None;
        }
        // Hartley normalisation: centre both sets and scale them to mean distance √2.
        let ts = normalizer(src)?;
        let td = normalizer(dst)?;
        let mut ata = [[0.0f64; 9]; 9];
        for (s, d) in src.iter().zip(dst) {
            let (x, y) = ts.apply_f64(s);
            let (u, v) = td.apply_f64(d);
            let rows = [
                [-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u],
                [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v],
            ];
            for r in &rows {
                for i in 0..9 {
                    for j in 0..9 {
                        ata[i][j] += r[i] * r[j];
                    }
                }
            }
        }
        let (values, vectors) = symmetric_eigen(ata);
        let smallest = (0..9).min_by(|&a, &b| values[a].total_cmp(&values[b]))?;
        let h: Vec<f64> = (0..9).map(|i| vectors[i][smallest]).collect();
        let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], h[8]]];
        // Undo the normalisation: H = Td⁻¹ · Hn · Ts.
        let full = mat3_mul(&mat3_mul(&td.inverse_matrix(), &hn), &ts.matrix());
        let scale = full[2][2];
        if scale.abs() < 1e-12 || !scale.is_finite() {
            return None;
        }
        let mut out = [[0.0; 3]; 3];
        for (r, row) in out.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = full[r][c] / scale;
            }
        }
        Some(Homography { h: out })
    }

    /// Root-mean-square distance, px, between `dst` and `src` mapped through the homography.
    pub fn rms_error(&self, src: &[Point], dst: &[Point]) -> f32 {
        if src.is_empty() {
            return 0.0;
        }
        let sum: f64 = src
            .iter()
            .zip(dst)
            .map(|(s, d)| match self.apply(*s) {
                Some(p) => f64::from(p.distance(*d)).powi(2),
                None => f64::from(f32::MAX),
            })
            .sum();
        (sum / src.len() as f64).sqrt() as f32
    }
}

/// Isotropic normalisation `p ↦ (p − c)·k`.
struct Normalizer {
    cx: f64,
    cy: f64,
    k: f64,
}

impl Normalizer {
    fn apply_f64(&self, p: &Point) -> (f64, f64) {
        (
            (f64::from(p.x) - self.cx) * self.k,
            (f64::from(p.y) - self.cy) * self.k,
        )
    }
    fn matrix(&self) -> [[f64; 3]; 3] {
        [
            [self.k, 0.0, -self.k * self.cx],
            [0.0, self.k, -self.k * self.cy],
            [0.0, 0.0, 1.0],
        ]
    }
    fn inverse_matrix(&self) -> [[f64; 3]; 3] {
        let ik = 1.0 / self.k;
        [[ik, 0.0, self.cx], [0.0, ik, self.cy], [0.0, 0.0, 1.0]]
    }
}

fn normalizer(pts: &[Point]) -> Option<Normalizer> {
    let c = Point::centroid(pts);
    let (cx, cy) = (f64::from(c.x), f64::from(c.y));
    let mean_dist = pts
        .iter()
        .map(|p| (f64::from(p.x) - cx).hypot(f64::from(p.y) - cy))
        .sum::<f64>()
        / pts.len() as f64;
    if mean_dist < 1e-9 || !mean_dist.is_finite() {
        return None;
    }
    Some(Normalizer {
        cx,
        cy,
        k: std::f64::consts::SQRT_2 / mean_dist,
    })
}

fn mat3_mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[r][k] * b[k][c]).sum();
        }
    }
    out
}

/// Eigen-decomposition of a symmetric N×N matrix by cyclic Jacobi rotations.
/// Returns the eigenvalues and the eigenvectors as the columns of the second matrix.
pub(crate) fn symmetric_eigen<const N: usize>(mut a: [[f64; N]; N]) -> ([f64; N], [[f64; N]; N]) {
    let mut v = [[0.0; N]; N];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..N)
            .flat_map(|i| (0..N).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..N {
            for q in (p + 1)..N {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p], a[q]);
                for (k, (apk, aqk)) in row_p.iter().zip(row_q.iter()).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let vkp = row[p];
                    let vkq = row[q];
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut values = [0.0; N];
    for (i, val) in values.iter_mut().enumerate() {
        *val = a[i][i];
    }
    (values, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: Point, b: Point, tol: f32) -> bool {
        a.distance(b) <= tol
    }

    #[test]
    fn iou_of_identical_and_disjoint_boxes() {
        let a = BoundingBox {
            x: 0.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        let b = BoundingBox { x: 20.0, ..a };
        assert_eq!(a.iou(&b), 0.0);
        let c = BoundingBox { x: 5.0, ..a };
        assert!((a.iou(&c) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn fraction_inside_counts_the_visible_part() {
        let b = BoundingBox {
            x: -5.0,
            y: 0.0,
            width: 10.0,
            height: 10.0,
        };
        assert!((b.fraction_inside(100.0, 100.0) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn umeyama_needs_two_distinct_points() {
        let p = [Point::new(1.0, 1.0)];
        assert!(umeyama(&p, &p).is_none());
        let same = [Point::new(1.0, 1.0), Point::new(1.0, 1.0)];
        assert!(umeyama(&same, &same).is_none());
    }

    #[test]
    fn symmetric_eigen_diagonalises() {
        let a = [[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]];
        let (vals, vecs) = symmetric_eigen(a);
        for k in 0..3 {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i][j] * vecs[j][k]).sum();
                assert!((av - vals[k] * vecs[i][k]).abs() < 1e-9);
            }
        }
    }

    proptest! {
        /// Umeyama recovers any similarity exactly from noise-free points.
        #[test]
        fn umeyama_recovers_known_similarity(
            s in 0.05f64..20.0, angle in -3.1f64..3.1, tx in -500.0f64..500.0, ty in -500.0f64..500.0,
            pts in proptest::collection::vec((-300.0f32..300.0, -300.0f32..300.0), 3..8)
        ) {
            let src: Vec<Point> = pts.iter().map(|&(x, y)| Point::new(x, y)).collect();
            prop_assume!(src.iter().any(|p| p.distance(src[0]) > 1.0));
            let t = Affine::similarity(s, angle, tx, ty);
            let dst: Vec<Point> = src.iter().map(|p| t.apply(*p)).collect();
            let fit = umeyama(&src, &dst).unwrap();
            for (a, b) in src.iter().zip(&dst) {
                prop_assert!(close(fit.apply(*a), *b, 1e-2 * (1.0 + s as f32)));
            }
            prop_assert!((fit.scale() - s).abs() < 1e-6 * s.max(1.0));
        }

        /// The least-squares fit is never worse than the true transform on noisy points.
        #[test]
        fn umeyama_is_least_squares(
            angle in -3.0f64..3.0, noise in proptest::collection::vec((-2.0f32..2.0, -2.0f32..2.0), 5)
        ) {
            let src = [Point::new(38.3, 51.7), Point::new(73.5, 51.5), Point::new(56.0, 71.7),
                       Point::new(41.5, 92.4), Point::new(70.7, 92.2)];
            let t = Affine::similarity(1.7, angle, 30.0, -12.0);
            let dst: Vec<Point> = src.iter().zip(&noise)
                .map(|(p, (nx, ny))| { let q = t.apply(*p); Point::new(q.x + nx, q.y + ny) }).collect();
            let fit = umeyama(&src, &dst).unwrap();
            let err = |m: &Affine| src.iter().zip(&dst).map(|(a, b)| m.apply(*a).distance(*b).powi(2)).sum::<f32>();
            prop_assert!(err(&fit) <= err(&t) + 1e-3);
        }

        /// Inverse composes to the identity.
        #[test]
        fn affine_inverse_round_trips(s in 0.1f64..10.0, angle in -3.1f64..3.1, x in -100.0f32..100.0, y in -100.0f32..100.0) {
            let t = Affine::similarity(s, angle, 7.0, -3.0);
            let p = Point::new(x, y);
            let back = t.inverse().unwrap().apply(t.apply(p));
            prop_assert!(close(back, p, 1e-3));
        }

        /// A homography fitted to points of a plane seen under perspective reproduces them.
        #[test]
        fn homography_recovers_projective_map(
            h01 in -0.3f64..0.3, h10 in -0.3f64..0.3, h20 in -0.001f64..0.001, h21 in -0.001f64..0.001,
            pts in proptest::collection::vec((0.0f32..200.0, 0.0f32..200.0), 6..20)
        ) {
            let h = Homography { h: [[1.1, h01, 5.0], [h10, 0.9, -4.0], [h20, h21, 1.0]] };
            let src: Vec<Point> = pts.iter().map(|&(x, y)| Point::new(x, y)).collect();
            let dst: Vec<Option<Point>> = src.iter().map(|p| h.apply(*p)).collect();
            prop_assume!(dst.iter().all(Option::is_some));
            let dst: Vec<Point> = dst.into_iter().flatten().collect();
            // Degenerate sets (nearly collinear) cannot determine a homography.
            let spread = src.iter().map(|p| p.distance(src[0])).fold(0.0f32, f32::max);
            prop_assume!(spread > 20.0);
            if let Some(fit) = Homography::fit(&src, &dst) {
                prop_assert!(fit.rms_error(&src, &dst) < 0.05, "rms {}", fit.rms_error(&src, &dst));
            }
        }
    }
}
