//! Dense face landmarks (MediaPipe FaceMesh, 468 points) and what they measure: eye openness,
//! mouth opening and head pose.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::{Detection, Keypoint};
use crate::error::{FaceError, Result};
use crate::geometry::{Affine, Point};
use crate::manifest::Interface;
use crate::model::Model;
use crate::resample::{Border, warp_affine_tensor};

/// Number of FaceMesh landmarks.
pub const COUNT: usize = 468;
const SIDE: u32 = 192;
/// The detection box is enlarged this much (and made square) for the landmark crop, as MediaPipe does.
const ROI_SCALE: f32 = 1.5;

/// FaceMesh indices used here (the subject's sides).
pub mod index {
    /// Right eye (image left): outer corner, two upper-lid points, inner corner, two lower-lid points.
    pub const RIGHT_EYE: [usize; 6] = [33, 160, 158, 133, 153, 144];
    /// Left eye: outer corner, upper lid ×2, inner corner, lower lid ×2.
    pub const LEFT_EYE: [usize; 6] = [263, 387, 385, 362, 380, 373];
    /// Tip of the nose.
    pub const NOSE_TIP: usize = 1;
    /// Mouth corners (right, left).
    pub const MOUTH_CORNERS: [usize; 2] = [61, 291];
    /// Inner lips (upper, lower).
    pub const INNER_LIPS: [usize; 2] = [13, 14];
    /// Face outline at the cheeks (right, left).
    pub const CHEEKS: [usize; 2] = [234, 454];
    /// Forehead top and chin.
    pub const FOREHEAD_CHIN: [usize; 2] = [10, 152];
}

/// A 3-D landmark: x, y in image pixels, z relative depth on roughly the scale of x (smaller is
/// nearer the camera).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Landmark {
    /// Horizontal position, px.
    pub x: f32,
    /// Vertical position, px.
    pub y: f32,
    /// Relative depth, px-like units.
    pub z: f32,
}

impl Landmark {
    /// The image position.
    pub fn point(&self) -> Point {
        Point::new(self.x, self.y)
    }
}

/// Head orientation, degrees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeadPose {
    /// Turn: positive when the person turns to their left (nose towards the right of an
    /// unmirrored camera image).
    pub yaw: f32,
    /// Nod: positive when the chin is raised.
    pub pitch: f32,
    /// Tilt: positive when the head leans clockwise on the (unmirrored) image.
    pub roll: f32,
}

/// FaceMesh's landmarks for one face and the measures derived from them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceLandmarks {
    /// The 468 landmarks, in image coordinates.
    pub points: Vec<Landmark>,
    /// The model's confidence that a face is in the crop, 0..1.
    pub presence: f32,
}

impl FaceLandmarks {
    fn p(&self, i: usize) -> Landmark {
        self.points.get(i).copied().unwrap_or_default()
    }

    /// Eye aspect ratio (Soukupová & Čech): lid opening over eye width; ~0.25–0.35 open, < 0.15 closed.
    /// Returns (right eye, left eye).
    pub fn eye_aspect_ratios(&self) -> (f32, f32) {
        let ear = |idx: [usize; 6]| {
            let p = idx.map(|i| self.p(i).point());
            let width = p[0].distance(p[3]);
            if width <= f32::EPSILON {
                return 0.0;
            }
            (p[1].distance(p[5]) + p[2].distance(p[4])) / (2.0 * width)
        };
        (ear(index::RIGHT_EYE), ear(index::LEFT_EYE))
    }

    /// Mouth opening: inner-lip gap over mouth width; ~0 closed, > 0.35 wide open.
    pub fn mouth_open_ratio(&self) -> f32 {
        let [c0, c1] = index::MOUTH_CORNERS.map(|i| self.p(i).point());
        let [u, l] = index::INNER_LIPS.map(|i| self.p(i).point());
        let width = c0.distance(c1);
        if width <= f32::EPSILON {
            0.0
        } else {
            u.distance(l) / width
        }
    }

    /// Mouth width over the distance between the outer eye corners; grows with a smile.
    pub fn smile_ratio(&self) -> f32 {
        let [c0, c1] = index::MOUTH_CORNERS.map(|i| self.p(i).point());
        let eyes = self
            .p(index::RIGHT_EYE[0])
            .point()
            .distance(self.p(index::LEFT_EYE[0]).point());
        if eyes <= f32::EPSILON {
            0.0
        } else {
            c0.distance(c1) / eyes
        }
    }

    /// Head pose from the 3-D landmarks: yaw from the depth difference across the cheeks, pitch
    /// from forehead to chin, roll from the line through the outer eye corners.
    pub fn head_pose(&self) -> HeadPose {
        let [r, l] = index::CHEEKS.map(|i| self.p(i));
        let [top, chin] = index::FOREHEAD_CHIN.map(|i| self.p(i));
        let (re, le) = (self.p(index::RIGHT_EYE[0]), self.p(index::LEFT_EYE[0]));
        HeadPose {
            yaw: (l.z - r.z).atan2(l.x - r.x).to_degrees(),
            pitch: (top.z - chin.z).atan2(chin.y - top.y).to_degrees(),
            roll: (le.y - re.y).atan2(le.x - re.x).to_degrees(),
        }
    }

    /// The five ArcFace alignment points: eye centres, nose tip, mouth corners (image left to right
    /// for the eyes and the mouth, as the template expects).
    pub fn alignment_points(&self) -> [Point; 5] {
        let centre = |idx: [usize; 6]| Point::centroid(&idx.map(|i| self.p(i).point()));
        let [mr, ml] = index::MOUTH_CORNERS.map(|i| self.p(i).point());
        [
            centre(index::RIGHT_EYE),
            centre(index::LEFT_EYE),
            self.p(index::NOSE_TIP).point(),
            mr,
            ml,
        ]
    }

    /// All landmark positions as image points.
    pub fn points_2d(&self) -> Vec<Point> {
        self.points.iter().map(Landmark::point).collect()
    }
}

/// The FaceMesh model.
#[derive(Debug)]
pub struct LandmarkModel {
    model: Model,
}

impl LandmarkModel {
    /// Wraps a loaded model, checking its interface.
    pub fn new(model: Model) -> Result<LandmarkModel> {
        model.expect_interface(Interface::Facemesh468, "a landmark model")?;
        model.expect_input(&[1, i64::from(SIDE), i64::from(SIDE), 3])?;
        Ok(LandmarkModel { model })
    }

    /// The underlying model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Landmarks for a detected face. The crop is the detection box enlarged 1.5× and squared,
    /// rotated so the eyes are level (MediaPipe's region of interest).
    pub fn landmarks(&self, img: &RgbImage, face: &Detection) -> Result<FaceLandmarks> {
        let to_crop = roi_transform(face);
        let input = warp_affine_tensor(img, &to_crop, SIDE, SIDE, Border::Zero, 1.0 / 255.0, 0.0);
        let side = i64::from(SIDE);
        let outputs = self.model.run(&[1, side, side, 3], &input)?;
        let bad = |reason: String| FaceError::Inference {
            role: self.model.role().key().to_owned(),
            reason,
        };
        let coords = outputs
            .iter()
            .find(|o| o.data.len() == COUNT * 3)
            .ok_or_else(|| bad(format!("no output with {} values", COUNT * 3)))?;
        let presence = outputs
            .iter()
            .find(|o| o.data.len() == 1)
            .map_or(1.0, |o| 1.0 / (1.0 + (-o.data[0]).exp()));
        let back = to_crop
            .inverse()
            .ok_or_else(|| bad("degenerate face box".to_owned()))?;
        let z_scale = 1.0 / to_crop.scale() as f32;
        let points = coords
            .data
            .chunks_exact(3)
            .map(|c| {
                let p = back.apply(Point::new(c[0], c[1]));
                Landmark {
                    x: p.x,
                    y: p.y,
                    z: c[2] * z_scale,
                }
            })
            .collect();
        Ok(FaceLandmarks { points, presence })
    }
}

/// Image → landmark-crop transform for a detection.
fn roi_transform(face: &Detection) -> Affine {
    let re = face.keypoint(Keypoint::RightEye);
    let le = face.keypoint(Keypoint::LeftEye);
    let angle = f64::from((le.y - re.y).atan2(le.x - re.x));
    let c = face.bbox.center();
    let side = face.bbox.width.max(face.bbox.height) * ROI_SCALE;
    let s = f64::from(SIDE) / f64::from(side.max(1.0));
    // Rotate by −angle about the box centre, scale to the crop, centre it in the crop.
    let rot = Affine::similarity(s, -angle, 0.0, 0.0);
    let moved = rot.apply(c);
    let half = f64::from(SIDE) / 2.0;
    Affine {
        m: [
            [rot.m[0][0], rot.m[0][1], half - f64::from(moved.x)],
            [rot.m[1][0], rot.m[1][1], half - f64::from(moved.y)],
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh_with(points: &[(usize, (f32, f32, f32))]) -> FaceLandmarks {
        let mut pts = vec![Landmark::default(); COUNT];
        for &(i, (x, y, z)) in points {
            pts[i] = Landmark { x, y, z };
        }
        FaceLandmarks {
            points: pts,
            presence: 1.0,
        }
    }

    #[test]
    fn eye_aspect_ratio_of_an_open_and_a_closed_eye() {
        // Width 30, lid gap 9 → 0.3 (open); gap 1.5 → 0.05 (closed).
        let eye = |idx: [usize; 6], gap: f32| {
            vec![
                (idx[0], (0.0, 0.0, 0.0)),
                (idx[1], (10.0, -gap / 2.0, 0.0)),
                (idx[2], (20.0, -gap / 2.0, 0.0)),
                (idx[3], (30.0, 0.0, 0.0)),
                (idx[4], (20.0, gap / 2.0, 0.0)),
                (idx[5], (10.0, gap / 2.0, 0.0)),
            ]
        };
        let mut pts = eye(index::RIGHT_EYE, 9.0);
        pts.extend(eye(index::LEFT_EYE, 1.5));
        let (r, l) = mesh_with(&pts).eye_aspect_ratios();
        assert!((r - 0.3).abs() < 1e-5, "{r}");
        assert!((l - 0.05).abs() < 1e-5, "{l}");
    }

    #[test]
    fn head_pose_signs() {
        // Left cheek further away (larger z) than the right: turned to the person's left.
        let m = mesh_with(&[
            (index::CHEEKS[0], (0.0, 0.0, -20.0)),
            (index::CHEEKS[1], (100.0, 0.0, 20.0)),
            (index::FOREHEAD_CHIN[0], (50.0, -60.0, 10.0)),
            (index::FOREHEAD_CHIN[1], (50.0, 60.0, -10.0)),
            (index::RIGHT_EYE[0], (20.0, 0.0, 0.0)),
            (index::LEFT_EYE[0], (80.0, 10.0, 0.0)),
        ]);
        let pose = m.head_pose();
        assert!(pose.yaw > 20.0, "{pose:?}");
        assert!(pose.pitch > 5.0, "{pose:?}");
        assert!(pose.roll > 5.0, "{pose:?}");
    }

    #[test]
    fn roi_puts_the_face_centre_in_the_crop_centre() {
        let face = Detection {
            bbox: crate::geometry::BoundingBox {
                x: 100.0,
                y: 50.0,
                width: 80.0,
                height: 80.0,
            },
            score: 1.0,
            keypoints: [
                Point::new(120.0, 80.0),
                Point::new(160.0, 100.0),
                Point::default(),
                Point::default(),
                Point::default(),
                Point::default(),
            ],
        };
        let t = roi_transform(&face);
        let c = t.apply(face.bbox.center());
        assert!(
            (c.x - 96.0).abs() < 1e-3 && (c.y - 96.0).abs() < 1e-3,
            "{c:?}"
        );
        // The eyes come out level.
        let (a, b) = (t.apply(face.keypoints[0]), t.apply(face.keypoints[1]));
        assert!((a.y - b.y).abs() < 1e-3);
    }
}
