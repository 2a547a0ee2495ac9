//! Face detection with BlazeFace (MediaPipe's short-range model, and the 256-px back model for
//! faces further away): letterboxing, anchor decoding, weighted non-maximum suppression.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{FaceError, Result};
use crate::geometry::{Affine, BoundingBox, Point};
use crate::manifest::Interface;
use crate::model::{Model, Output};
use crate::resample::{Border, letterbox, warp_affine_tensor};

/// The six BlazeFace keypoints, in the model's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Keypoint {
    /// The subject's right eye (on the left of an unmirrored image).
    RightEye = 0,
    /// The subject's left eye.
    LeftEye = 1,
    /// The tip of the nose.
    NoseTip = 2,
    /// The centre of the mouth.
    Mouth = 3,
    /// The subject's right ear tragion.
    RightEar = 4,
    /// The subject's left ear tragion.
    LeftEar = 5,
}

/// A face found by the detector, in image pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The face box.
    pub bbox: BoundingBox,
    /// Detector confidence, 0..1.
    pub score: f32,
    /// Right eye, left eye, nose tip, mouth, right ear, left ear (the subject's sides).
    pub keypoints: [Point; 6],
}

impl Detection {
    /// One keypoint.
    pub fn keypoint(&self, k: Keypoint) -> Point {
        self.keypoints[k as usize]
    }

    /// Distance between the eye centres, px.
    pub fn eye_distance(&self) -> f32 {
        self.keypoint(Keypoint::RightEye)
            .distance(self.keypoint(Keypoint::LeftEye))
    }

    /// The detection with its box and keypoints mapped through `f` (a scale and shift).
    pub fn map(&self, f: impl Fn(Point) -> Point) -> Detection {
        Detection {
            bbox: self.bbox.map(&f),
            score: self.score,
            keypoints: self.keypoints.map(&f),
        }
    }
}

/// Detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Minimum detector confidence, 0..1. Default 0.5.
    pub min_score: f32,
    /// Boxes overlapping more than this (IoU) are merged into one face. Default 0.3.
    pub nms_iou: f32,
    /// At most this many faces are reported. Default 20.
    pub max_faces: usize,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            min_score: 0.5,
            nms_iou: 0.3,
            max_faces: 20,
        }
    }
}

/// A BlazeFace model with its anchors.
#[derive(Debug)]
pub struct Detector {
    model: Model,
    side: u32,
    anchors: Vec<Point>,
}

impl Detector {
    /// Wraps a loaded model, checking its interface.
    pub fn new(model: Model) -> Result<Detector> {
        let side = match model.entry().interface {
            Interface::Blazeface128 => 128,
            Interface::Blazeface256 => 256,
            other => {
                return Err(FaceError::Model {
                    role: model.role().key().to_owned(),
                    path: model.origin().to_string().into(),
                    reason: format!("interface `{}` is not a detector", other.name()),
                });
            }
        };
        model.expect_input(&[1, i64::from(side), i64::from(side), 3])?;
        Ok(Detector {
            model,
            side,
            anchors: anchors(side),
        })
    }

    /// The model's input side, px.
    pub fn input_side(&self) -> u32 {
        self.side
    }

    /// The underlying model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Finds the faces in `img`, best score first.
    pub fn detect(&self, img: &RgbImage, config: &DetectorConfig) -> Result<Vec<Detection>> {
        let input = letterbox(img, self.side, 1.0 / 127.5, -1.0);
        let s = input.scale;
        self.find(&input.data, |p| Point::new(p.x * s, p.y * s), config)
    }

    /// Finds the faces in the square region of `img` with top-left corner `origin` and sides of
    /// `side` px (what lies outside the image reads as black), in image pixels, best score
    /// first. Used to look again, at a finer scale, where a small face was found, and to search
    /// a large photo tile by tile.
    pub fn detect_square(
        &self,
        img: &RgbImage,
        origin: Point,
        side: f32,
        config: &DetectorConfig,
    ) -> Result<Vec<Detection>> {
        let s = f64::from(self.side) / f64::from(side.max(1.0));
        let to_input =
            Affine::similarity(s, 0.0, -s * f64::from(origin.x), -s * f64::from(origin.y));
        let input = warp_affine_tensor(
            img,
            &to_input,
            self.side,
            self.side,
            Border::Zero,
            1.0 / 127.5,
            -1.0,
        );
        let k = side.max(1.0) / self.side as f32;
        self.find(
            &input,
            |p| Point::new(origin.x + p.x * k, origin.y + p.y * k),
            config,
        )
    }

    /// Runs the model on a prepared input and returns the faces, mapped to image pixels by
    /// `to_image`, after the score threshold and non-maximum suppression.
    fn find(
        &self,
        input: &[f32],
        to_image: impl Fn(Point) -> Point,
        config: &DetectorConfig,
    ) -> Result<Vec<Detection>> {
        let side = i64::from(self.side);
        let outputs = self.model.run(&[1, side, side, 3], input)?;
        let raw = self.decode_outputs(&outputs)?;
        let candidates: Vec<Detection> = raw
            .into_iter()
            .filter(|d| d.score >= config.min_score)
            .map(|d| d.map(&to_image))
            .collect();
        let mut faces = weighted_nms(candidates, config.nms_iou);
        faces.truncate(config.max_faces);
        Ok(faces)
    }

    /// Pairs the score and regressor outputs (by shape: `[1, n, 1]` and `[1, n, 16]`), orders the
    /// pairs finest stride first (most anchors first) and decodes every anchor.
    fn decode_outputs(&self, outputs: &[Output]) -> Result<Vec<Detection>> {
        let bad = |reason: String| FaceError::Inference {
            role: self.model.role().key().to_owned(),
            reason,
        };
        let rows = |o: &Output| -> Option<(usize, usize)> {
            match o.shape.as_slice() {
                [1, n, c] if *n > 0 => Some((*n as usize, *c as usize)),
                _ => None,
            }
        };
        let mut scores: Vec<&Output> = Vec::new();
        let mut regressors: Vec<&Output> = Vec::new();
        for o in outputs {
            match rows(o) {
                Some((_, 1)) => scores.push(o),
                Some((_, 16)) => regressors.push(o),
                _ => {
                    return Err(bad(format!(
                        "unexpected output `{}` with shape {:?}",
                        o.name, o.shape
                    )));
                }
            }
        }
        scores.sort_by_key(|o| std::cmp::Reverse(o.shape[1]));
        regressors.sort_by_key(|o| std::cmp::Reverse(o.shape[1]));
        let total: usize = scores.iter().map(|o| o.data.len()).sum();
        if scores.len() != regressors.len() || total != self.anchors.len() {
            return Err(bad(format!(
                "outputs cover {total} anchors, the interface has {}",
                self.anchors.len()
            )));
        }
        let mut out = Vec::with_capacity(total);
        let mut anchor = 0usize;
        for (s, r) in scores.iter().zip(&regressors) {
            if s.data.len() * 16 != r.data.len() {
                return Err(bad(
                    "score and regressor outputs differ in length".to_owned()
                ));
            }
            for (i, &logit) in s.data.iter().enumerate() {
                let a = self.anchors[anchor];
                anchor += 1;
                let score = sigmoid(logit.clamp(-100.0, 100.0));
                let reg = &r.data[i * 16..i * 16 + 16];
                let center = Point::new(reg[0] + a.x, reg[1] + a.y);
                let mut keypoints = [Point::default(); 6];
                for (k, kp) in keypoints.iter_mut().enumerate() {
                    *kp = Point::new(reg[4 + 2 * k] + a.x, reg[5 + 2 * k] + a.y);
                }
                out.push(Detection {
                    bbox: BoundingBox::from_center(center, reg[2], reg[3]),
                    score,
                    keypoints,
                });
            }
        }
        Ok(out)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// BlazeFace anchors for a `side`-px input, in input pixels: stride side/16 with 2 anchors per
/// cell, then stride side/8 with 6 per cell (896 for both 128 and 256).
pub fn anchors(side: u32) -> Vec<Point> {
    let mut out = Vec::with_capacity(896);
    for (stride, per_cell) in [(side / 16, 2), (side / 8, 6)] {
        let grid = side.div_ceil(stride);
        for y in 0..grid {
            for x in 0..grid {
                let c = Point::new(
                    (x as f32 + 0.5) * stride as f32,
                    (y as f32 + 0.5) * stride as f32,
                );
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

/// MediaPipe's weighted non-maximum suppression: the best remaining candidate absorbs every
/// candidate overlapping it by more than `iou`, and the face is their score-weighted average
/// (steadier boxes and keypoints than keeping the single best).
pub fn weighted_nms(mut candidates: Vec<Detection>, iou: f32) -> Vec<Detection> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = candidates.first().copied() {
        let (cluster, rest): (Vec<Detection>, Vec<Detection>) = candidates
            .into_iter()
            .partition(|c| c.bbox.iou(&best.bbox) > iou || c.bbox == best.bbox);
        candidates = rest;
        let total: f32 = cluster.iter().map(|c| c.score).sum();
        if total <= 0.0 {
            out.push(best);
            continue;
        }
        let avg = |f: &dyn Fn(&Detection) -> f32| {
            cluster.iter().map(|c| f(c) * c.score).sum::<f32>() / total
        };
        let mut keypoints = [Point::default(); 6];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = Point::new(avg(&|c| c.keypoints[k].x), avg(&|c| c.keypoints[k].y));
        }
        out.push(Detection {
            bbox: BoundingBox {
                x: avg(&|c| c.bbox.x),
                y: avg(&|c| c.bbox.y),
                width: avg(&|c| c.bbox.width),
                height: avg(&|c| c.bbox.height),
            },
            score: best.score,
            keypoints,
        });
    }
    out
}

/// Orders faces by how likely each is the person being verified: large and central first.
/// The priority is the face's share of the image area times (1 − its distance from the centre),
/// the distance being 0 at the centre and 1 at a corner: a neighbour's face has to be much larger
/// than the central one to be taken for the subject.
pub fn rank_faces(faces: &mut [Detection], width: u32, height: u32) {
    faces.sort_by(|a, b| priority(b, width, height).total_cmp(&priority(a, width, height)));
}

/// The ranking priority of [`rank_faces`].
pub fn priority(d: &Detection, width: u32, height: u32) -> f32 {
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let c = d.bbox.center();
    let dx = (c.x / w - 0.5) * 2.0;
    let dy = (c.y / h - 0.5) * 2.0;
    let off = (dx * dx + dy * dy).sqrt() / std::f32::consts::SQRT_2;
    d.bbox.area() / (w * h) * (1.0 - off.min(1.0))
}

/// The square tiles of side `⌈long side / parts⌉` px that cover an image with at least half a
/// tile of overlap between neighbours (for `parts` = 2, 2×2 to 3×3 of them): their top-left
/// corners and the side.
pub fn tiles(width: u32, height: u32, parts: u32) -> (Vec<Point>, f32) {
    let side = width.max(height).div_ceil(parts.max(1)).max(1);
    let starts = |len: u32| -> Vec<f32> {
        if len <= side {
            return vec![0.0];
        }
        let span = (len - side) as f32;
        let n = (span / (side as f32 / 2.0)).ceil() as usize + 1;
        (0..n)
            .map(|i| (span * i as f32 / (n - 1) as f32).round())
            .collect()
    };
    let (xs, ys) = (starts(width), starts(height));
    let origins = ys
        .iter()
        .flat_map(|&y| xs.iter().map(move |&x| Point::new(x, y)))
        .collect();
    (origins, side as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn det(x: f32, y: f32, size: f32, score: f32) -> Detection {
        Detection {
            bbox: BoundingBox {
                x,
                y,
                width: size,
                height: size,
            },
            score,
            keypoints: [Point::new(x + size / 2.0, y + size / 2.0); 6],
        }
    }

    #[test]
    fn anchor_layout_matches_blazeface() {
        for side in [128, 256] {
            let a = anchors(side);
            assert_eq!(a.len(), 896);
            let s = side as f32;
            assert_eq!(a[0], Point::new(s / 32.0, s / 32.0));
            assert_eq!(a[1], a[0]);
            // The first anchor of the coarse grid follows the 512 fine ones.
            assert_eq!(a[512], Point::new(s / 16.0, s / 16.0));
        }
    }

    #[test]
    fn nms_merges_overlaps_and_keeps_separate_faces() {
        let faces = weighted_nms(
            vec![
                det(0.0, 0.0, 10.0, 0.9),
                det(1.0, 0.0, 10.0, 0.8),
                det(50.0, 50.0, 10.0, 0.7),
            ],
            0.3,
        );
        assert_eq!(faces.len(), 2);
        assert_eq!(faces[0].score, 0.9);
        // The merged box lies between the two, weighted towards the better one.
        assert!(faces[0].bbox.x > 0.0 && faces[0].bbox.x < 0.5);
    }

    #[test]
    fn ranking_prefers_large_central_faces() {
        let mut faces = vec![
            det(0.0, 0.0, 60.0, 0.99),
            det(270.0, 190.0, 100.0, 0.6),
            det(500.0, 400.0, 30.0, 0.9),
        ];
        rank_faces(&mut faces, 640, 480);
        assert_eq!(faces[0].bbox.x, 270.0);
    }

    #[test]
    fn a_central_face_beats_a_somewhat_larger_neighbour() {
        // Two people in a 1000×600 photo: the subject in the middle, a neighbour off to the side
        // whose box is 20 % larger (10 % larger sides).
        let mut faces = vec![det(700.0, 150.0, 110.0, 0.9), det(450.0, 250.0, 100.0, 0.9)];
        rank_faces(&mut faces, 1000, 600);
        assert_eq!(faces[0].bbox.x, 450.0);
        // A face three times the area still wins from the side.
        let mut faces = vec![det(700.0, 150.0, 173.0, 0.9), det(450.0, 250.0, 100.0, 0.9)];
        rank_faces(&mut faces, 1000, 600);
        assert_eq!(faces[0].bbox.x, 700.0);
    }

    #[test]
    fn tiles_cover_the_image_with_half_a_tile_of_overlap() {
        for (w, h, parts) in [
            (640, 480, 2),
            (1920, 1080, 2),
            (4000, 3000, 2),
            (700, 2100, 2),
            (641, 641, 2),
            (3000, 2000, 4),
        ] {
            let (origins, side) = tiles(w, h, parts);
            assert_eq!(side, w.max(h).div_ceil(parts) as f32);
            if parts == 2 {
                assert!((4..=9).contains(&origins.len()) || w.max(h) > 2 * w.min(h));
            }
            // Every pixel on a grid is inside some tile.
            for y in (0..h).step_by(37) {
                for x in (0..w).step_by(37) {
                    let (x, y) = (x as f32, y as f32);
                    assert!(
                        origins
                            .iter()
                            .any(|o| x >= o.x && x < o.x + side && y >= o.y && y < o.y + side)
                    );
                }
            }
            // Neighbours along an axis overlap by at least half a tile.
            let mut xs: Vec<f32> = origins.iter().map(|o| o.x).collect();
            xs.sort_by(f32::total_cmp);
            xs.dedup();
            for pair in xs.windows(2) {
                assert!(pair[1] - pair[0] <= side / 2.0 + 0.5, "{w}x{h}: {xs:?}");
            }
        }
    }

    proptest! {
        /// NMS never reports more faces than candidates, reports at least one when there is
        /// any, and reports them best first.
        #[test]
        fn nms_output_is_bounded_and_sorted(
            boxes in proptest::collection::vec((0.0f32..200.0, 0.0f32..200.0, 5.0f32..80.0, 0.0f32..1.0), 0..40)
        ) {
            let n = boxes.len();
            let cands: Vec<Detection> = boxes.iter().map(|&(x, y, s, sc)| det(x, y, s, sc)).collect();
            let out = weighted_nms(cands, 0.3);
            prop_assert!(out.len() <= n);
            prop_assert_eq!(out.is_empty(), n == 0);
            for i in 0..out.len() {
                prop_assert!(out[i].score >= out.get(i + 1).map_or(0.0, |d| d.score));
            }
        }
    }
}
