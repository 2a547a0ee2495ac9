//! A textured 3-D head built from one frontal photo: the landmark model's 468 points with their
//! depth, rings around the face outline for the hair, ears and neck, and the photo as texture.
//! It turns with real parallax, blinks by closing its lids, smiles by moving its mouth corners.

use facekiosk_face::landmarks::FaceLandmarks;

use crate::camera::{Camera, Mat3, Vec3, apply, rot};
use crate::raster::{Canvas, rasterise};
use crate::topology::*;

/// Rings around the face outline: (scale about the outline's centre, mm pushed back, opacity).
const RINGS: [(f32, f32, f32); 3] = [(1.12, 12.0, 1.0), (1.28, 30.0, 1.0), (1.45, 55.0, 0.0)];

/// How the head looks in one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose {
    /// Degrees, +: to the person's left.
    pub yaw: f32,
    /// Degrees, +: chin up.
    pub pitch: f32,
    /// Degrees, +: clockwise on the image.
    pub roll: f32,
    /// Where the nose tip (at rest) is, camera frame, mm.
    pub position: Vec3,
    /// Eyes closing, 0 (open) to 1 (closed).
    pub blink: f32,
    /// Smile, 0 (neutral) to about 1.5 (broad).
    pub smile: f32,
    /// Jaw opening, degrees.
    pub jaw_deg: f32,
}

/// The head of one photo.
#[derive(Clone)]
pub struct Head {
    tex: Canvas,
    uv: Vec<[f32; 2]>,
    alpha: Vec<f32>,
    tris: Vec<[usize; 3]>,
    orient: Vec<f32>,
    v0: Vec<Vec3>,
    normals: Vec<Vec3>,
    pivot: Vec3,
    mouth_tris: Vec<bool>,
    rings: Vec<Vec<usize>>,
    /// Millimetres per photo pixel.
    mm_per_px: f32,
    /// The face outline's centre in the photo, px.
    centre_px: [f32; 2],
}

impl std::fmt::Debug for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Head")
            .field("vertices", &self.v0.len())
            .field("triangles", &self.tris.len())
            .finish_non_exhaustive()
    }
}

impl Head {
    /// Builds the head of a frontal `photo` from its landmarks (468 points, image px, depth on
    /// the x scale). The outer eye corners are taken to be `eye_mm` apart.
    pub fn new(photo: &image::RgbImage, landmarks: &FaceLandmarks, eye_mm: f32) -> Option<Head> {
        let l: Vec<Vec3> = landmarks.points.iter().map(|p| [p.x, p.y, p.z]).collect();
        if l.len() < 468 {
            return None;
        }
        let eye_px = dist2(l[33], l[263]);
        if eye_px < 4.0 {
            return None;
        }
        let k = eye_mm / eye_px;
        let oval: Vec<Vec3> = FACE_OVAL.iter().map(|&i| l[i]).collect();
        let c2 = [
            oval.iter().map(|p| p[0]).sum::<f32>() / oval.len() as f32,
            oval.iter().map(|p| p[1]).sum::<f32>() / oval.len() as f32,
        ];
        let mut verts: Vec<Vec3> = l[..468].to_vec();
        let mut alpha = vec![1.0f32; 468];
        let mut rings = Vec::new();
        for (s, back, a) in RINGS {
            let start = verts.len();
            for p in &oval {
                verts.push([
                    c2[0] + (p[0] - c2[0]) * s,
                    c2[1] + (p[1] - c2[1]) * s,
                    p[2] + back / k,
                ]);
                alpha.push(a);
            }
            rings.push((start..verts.len()).collect());
        }
        let (pw, ph) = (photo.width() as f32, photo.height() as f32);
        let uv: Vec<[f32; 2]> = verts
            .iter()
            .map(|v| [v[0].clamp(0.0, pw - 1.0), v[1].clamp(0.0, ph - 1.0)])
            .collect();
        let points: Vec<delaunator::Point> = verts
            .iter()
            .map(|v| delaunator::Point {
                x: f64::from(v[0]),
                y: f64::from(v[1]),
            })
            .collect();
        let tris: Vec<[usize; 3]> = delaunator::triangulate(&points)
            .triangles
            .chunks_exact(3)
            .map(|t| [t[0], t[1], t[2]])
            .collect();
        if tris.is_empty() {
            return None;
        }
        let orient: Vec<f32> = tris
            .iter()
            .map(|&[a, b, c]| {
                let (a, b, c) = (verts[a], verts[b], verts[c]);
                ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).signum()
            })
            .collect();
        // Metric model: origin at the outline's centre (x, y) and the nose tip (z).
        let nose_z = l[1][2];
        let v0: Vec<Vec3> = verts
            .iter()
            .map(|v| [(v[0] - c2[0]) * k, (v[1] - c2[1]) * k, (v[2] - nose_z) * k])
            .collect();
        let eye_y = (v0[33][1] + v0[263][1]) / 2.0;
        let mouth_y = (v0[61][1] + v0[291][1]) / 2.0;
        let pivot = [0.0, (eye_y + mouth_y) / 2.0 + 20.0, 100.0];
        let inner: Vec<usize> = LIPS_UPPER_INNER
            .iter()
            .chain(&LIPS_LOWER_INNER)
            .copied()
            .collect();
        let mouth_tris = tris
            .iter()
            .map(|t| t.iter().all(|v| inner.contains(v)))
            .collect();
        let normals = vertex_normals(&v0, &tris, &orient);
        Some(Head {
            tex: Canvas::from_rgb(photo),
            uv,
            alpha,
            tris,
            orient,
            v0,
            normals,
            pivot,
            mouth_tris,
            rings,
            mm_per_px: k,
            centre_px: c2,
        })
    }

    /// Millimetres per pixel of the source photo.
    pub fn mm_per_px(&self) -> f32 {
        self.mm_per_px
    }

    /// The face outline's centre in the source photo, px.
    pub fn centre_px(&self) -> [f32; 2] {
        self.centre_px
    }

    /// The source photo.
    pub fn photo(&self) -> &Canvas {
        &self.tex
    }

    /// The vertices with an expression, in the head's own frame.
    fn deform(&self, blink: f32, smile: f32, jaw_deg: f32) -> Vec<Vec3> {
        let v0 = &self.v0;
        let mut v = v0.clone();
        if blink > 0.0 {
            for (up0, lo0, up1) in [(&R_UP0, &R_LO0, &R_UP1), (&L_UP0, &L_LO0, &L_UP1)] {
                for j in 0..up0.len() {
                    let (u, lo) = (v0[up0[j]], v0[lo0[j]]);
                    // The lids meet on the lower lid's line; the lower lid rises half-way.
                    let meet = lo;
                    for k in 0..3 {
                        v[up0[j]][k] = u[k] + blink * (meet[k] - u[k]);
                        v[lo0[j]][k] = lo[k] + blink * (meet[k] - lo[k]) * 0.5;
                        v[up1[j]][k] = v0[up1[j]][k] + 0.5 * blink * (meet[k] - u[k]);
                    }
                }
            }
        }
        if smile != 0.0 {
            let mw = dist3(v0[61], v0[291]);
            let sig = 0.22 * mw;
            for (corner, sx) in [(61usize, -1.0f32), (291, 1.0)] {
                let c = v0[corner];
                for i in 0..468 {
                    let d2 = (v0[i][0] - c[0]).powi(2) + (v0[i][1] - c[1]).powi(2);
                    let g = (-d2 / (2.0 * sig * sig)).exp();
                    v[i][0] += smile * g * sx * 0.09 * mw;
                    v[i][1] += smile * g * -0.07 * mw;
                    v[i][2] += smile * g * 0.03 * mw;
                }
            }
        }
        if jaw_deg != 0.0 {
            let y_line = (v0[61][1] + v0[291][1]) / 2.0;
            let fh = v0[152][1] - v0[10][1];
            let mut weight: Vec<f32> = v0
                .iter()
                .map(|p| ((p[1] - y_line) / (0.06 * fh)).clamp(0.0, 1.0))
                .collect();
            for &i in LIPS_UPPER_OUTER.iter().chain(&LIPS_UPPER_INNER) {
                weight[i] = 0.0;
            }
            for &i in LIPS_LOWER_OUTER.iter().chain(&LIPS_LOWER_INNER) {
                weight[i] = 1.0;
            }
            for &i in &MOUTH_CORNERS {
                weight[i] = 0.3;
            }
            for ring in &self.rings {
                for &i in ring {
                    weight[i] *= 0.5;
                }
            }
            let hinge = [0.0, (v0[33][1] + y_line) / 2.0, 75.0];
            let r = rot(0.0, -jaw_deg, 0.0);
            for (p, w) in v.iter_mut().zip(&weight) {
                let q = apply(&r, sub(*p, hinge));
                for k in 0..3 {
                    p[k] += w * (q[k] + hinge[k] - p[k]);
                }
            }
        }
        v
    }

    /// Renders the head in `pose` over `background` (a 640×480 canvas); also returns the
    /// projected 468 landmark positions.
    pub fn render(
        &self,
        cam: &Camera,
        pose: &Pose,
        background: &Canvas,
    ) -> (Canvas, Vec<[f32; 2]>) {
        let v = self.deform(pose.blink, pose.smile, pose.jaw_deg);
        let r = rot(pose.yaw, pose.pitch, pose.roll);
        let placed: Vec<Vec3> = v
            .iter()
            .map(|p| {
                add(
                    add(apply(&r, sub(*p, self.pivot)), self.pivot),
                    pose.position,
                )
            })
            .collect();
        let (p, z): (Vec<[f32; 2]>, Vec<f32>) = placed.iter().map(|&q| cam.project(q)).unzip();
        let raster = rasterise(&p, &z, &self.tris, cam.w, cam.h, Some(&self.orient));
        let uv = self.blink_uv(pose.blink);
        let shade = self.shading(&r);
        let mut face = background.clone();
        let mut alpha = vec![0.0f32; cam.w * cam.h];
        let jaw_dark = (pose.jaw_deg / 12.0).clamp(0.0, 1.0) * 0.75;
        let dark = [45.0, 18.0, 20.0];
        for (i, &t) in raster.tri.iter().enumerate() {
            if t < 0 {
                continue;
            }
            let [a, b, c] = self.tris[t as usize];
            let w = raster.bary[i];
            let lerp = |va: f32, vb: f32, vc: f32| w[0] * va + w[1] * vb + w[2] * vc;
            let u = lerp(uv[a][0], uv[b][0], uv[c][0]);
            let v = lerp(uv[a][1], uv[b][1], uv[c][1]);
            let s = lerp(shade[a], shade[b], shade[c]);
            let mut col = self.tex.sample(u, v);
            for ch in col.iter_mut() {
                *ch *= s;
            }
            if jaw_dark > 0.0 && self.mouth_tris[t as usize] {
                for k in 0..3 {
                    col[k] = col[k] * (1.0 - jaw_dark) + dark[k] * jaw_dark;
                }
            }
            face.px[i] = col;
            alpha[i] = lerp(self.alpha[a], self.alpha[b], self.alpha[c]);
        }
        // A soft silhouette.
        crate::raster::gaussian_blur(&mut alpha, cam.w, cam.h, 0.7);
        let mut out = background.clone();
        out.blend(&face, &alpha);
        if pose.blink > 0.5 {
            lash_line(&mut out, &p, (pose.blink - 0.5) * 2.0 * 0.8);
        }
        (out, p[..468].to_vec())
    }

    /// While the lids close, their texture moves up towards the lid fold, so a closed lid shows
    /// skin rather than the iris.
    fn blink_uv(&self, blink: f32) -> Vec<[f32; 2]> {
        let mut uv = self.uv.clone();
        if blink <= 0.0 {
            return uv;
        }
        const LID_SKIN: f32 = 1.8;
        for (up0, up1, up2) in [(&R_UP0, &R_UP1, &R_UP2), (&L_UP0, &L_UP1, &L_UP2)] {
            for j in 0..up0.len() {
                let (a, b, c) = (self.uv[up0[j]], self.uv[up1[j]], self.uv[up2[j]]);
                for k in 0..2 {
                    uv[up0[j]][k] = a[k] + blink * (b[k] - a[k]);
                    uv[up1[j]][k] = b[k] + blink * (LID_SKIN - 1.0) * (c[k] - b[k]);
                }
            }
        }
        uv
    }

    /// Per-vertex brightness change from the rest pose to rotation `r` under a fixed light.
    fn shading(&self, r: &Mat3) -> Vec<f32> {
        let l = normalise([0.3, -0.5, -1.0]);
        let amb = 0.55;
        self.normals
            .iter()
            .map(|n0| {
                let n1 = apply(r, *n0);
                let lit = |n: Vec3| amb + (1.0 - amb) * (-dot(n, l)).clamp(0.0, 1.0);
                (lit(n1) / lit(*n0)).clamp(0.6, 1.3)
            })
            .collect()
    }
}

/// A thin dark line along each closed upper lid (the lashes).
fn lash_line(img: &mut Canvas, p: &[[f32; 2]], opacity: f32) {
    let mut over = vec![0.0f32; img.w * img.h];
    for (c0, up, c1) in [(33usize, &R_UP0, 133usize), (263, &L_UP0, 362)] {
        let mut pts = vec![p[c0]];
        pts.extend(up.iter().map(|&i| p[i]));
        pts.push(p[c1]);
        let width = dist2p(p[c0], p[c1]);
        let half = (0.06 * width).round().max(1.0) / 2.0;
        for s in pts.windows(2) {
            let (a, b) = (s[0], s[1]);
            let x0 = (a[0].min(b[0]) - half - 1.0).floor().max(0.0) as usize;
            let x1 = (a[0].max(b[0]) + half + 1.0).ceil().min((img.w - 1) as f32) as usize;
            let y0 = (a[1].min(b[1]) - half - 1.0).floor().max(0.0) as usize;
            let y1 = (a[1].max(b[1]) + half + 1.0).ceil().min((img.h - 1) as f32) as usize;
            for y in y0..=y1 {
                for x in x0..=x1 {
                    let d = segment_distance([x as f32, y as f32], a, b);
                    let cov = (half + 0.5 - d).clamp(0.0, 1.0);
                    let o = &mut over[y * img.w + x];
                    *o = o.max(cov);
                }
            }
        }
    }
    crate::raster::gaussian_blur(&mut over, img.w, img.h, 0.6);
    let dark = [25.0, 18.0, 15.0];
    for (px, o) in img.px.iter_mut().zip(&over) {
        let a = o * opacity;
        for k in 0..3 {
            px[k] = px[k] * (1.0 - a) + dark[k] * a;
        }
    }
}

fn vertex_normals(v: &[Vec3], tris: &[[usize; 3]], orient: &[f32]) -> Vec<Vec3> {
    let mut n = vec![[0.0f32; 3]; v.len()];
    for (t, o) in tris.iter().zip(orient) {
        let (a, b, c) = (v[t[0]], v[t[1]], v[t[2]]);
        let f = cross(sub(b, a), sub(c, a));
        for &i in t {
            for k in 0..3 {
                n[i][k] += f[k] * o;
            }
        }
    }
    let mut n: Vec<Vec3> = n.into_iter().map(normalise).collect();
    // With y down and z away, normals facing the camera have negative z.
    let mut zs: Vec<f32> = n.iter().take(468).map(|v| v[2]).collect();
    zs.sort_by(f32::total_cmp);
    if zs.get(zs.len() / 2).is_some_and(|&m| m > 0.0) {
        for v in &mut n {
            for x in v.iter_mut() {
                *x = -*x;
            }
        }
    }
    n
}

fn segment_distance(p: [f32; 2], a: [f32; 2], b: [f32; 2]) -> f32 {
    let ab = [b[0] - a[0], b[1] - a[1]];
    let len2 = ab[0] * ab[0] + ab[1] * ab[1];
    let t = if len2 <= 1e-9 {
        0.0
    } else {
        (((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / len2).clamp(0.0, 1.0)
    };
    dist2p(p, [a[0] + t * ab[0], a[1] + t * ab[1]])
}

pub(crate) fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn dot(a: Vec3, b: Vec3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalise(v: Vec3) -> Vec3 {
    let n = dot(v, v).sqrt();
    if n <= 1e-9 {
        v
    } else {
        [v[0] / n, v[1] / n, v[2] / n]
    }
}

fn dist3(a: Vec3, b: Vec3) -> f32 {
    dot(sub(a, b), sub(a, b)).sqrt()
}

fn dist2(a: Vec3, b: Vec3) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn dist2p(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}
