//! Liveness building blocks. Each gives a score and a reason; the session combines them.
//!
//! - [`BlinkTracker`]: a blink is the eyes closing and reopening within a human time span.
//! - [`ParallaxTracker`]: the 3-D consistency check. While a real head turns, its landmarks move
//!   with parallax (the nose tip against the cheeks); a photo or a screen moves as one plane,
//!   which a homography explains exactly. The normalised homography residual separates the two.
//! - [`PassiveModel`]: an operator-installed presentation-attack model (optional slot).
//!
//! Time is always passed in (milliseconds of a monotonic clock), never read here.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::error::{FaceError, Result};
use crate::geometry::{Affine, Homography, Point};
use crate::landmarks::FaceLandmarks;
use crate::manifest::Interface;
use crate::model::Model;
use crate::resample::{Border, warp_affine_tensor};

/// The per-frame liveness measures of one face (from dense landmarks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivenessSignals {
    /// Eye aspect ratios (right, left).
    pub eye_aspect_ratio: (f32, f32),
    /// Inner-lip gap over mouth width.
    pub mouth_open: f32,
    /// Mouth width over outer-eye-corner distance.
    pub smile: f32,
    /// Head pose, degrees.
    pub pose: crate::landmarks::HeadPose,
}

impl LivenessSignals {
    /// The measures of a face's landmarks.
    pub fn from_landmarks(l: &FaceLandmarks) -> Self {
        Self {
            eye_aspect_ratio: l.eye_aspect_ratios(),
            mouth_open: l.mouth_open_ratio(),
            smile: l.smile_ratio(),
            pose: l.head_pose(),
        }
    }

    /// The mean of the two eye aspect ratios.
    pub fn mean_ear(&self) -> f32 {
        (self.eye_aspect_ratio.0 + self.eye_aspect_ratio.1) * 0.5
    }
}

/// Blink detection settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlinkConfig {
    /// Eyes count as closed below this fraction of the person's open-eye ratio. Default 0.6.
    pub closed_fraction: f32,
    /// Eyes count as open again above this fraction. Default 0.8.
    pub reopen_fraction: f32,
    /// Shortest closure that counts, ms (faster is a frame glitch or a spliced video). Default 50.
    pub min_closed_ms: u64,
    /// Longest closure that counts, ms (slower is eyes held shut, or a photo swapped). Default 700.
    pub max_closed_ms: u64,
    /// An open-eye ratio below this cannot be trusted as a baseline. Default 0.15.
    pub min_open_ear: f32,
}

impl Default for BlinkConfig {
    fn default() -> Self {
        Self {
            closed_fraction: 0.6,
            reopen_fraction: 0.8,
            min_closed_ms: 50,
            max_closed_ms: 700,
            min_open_ear: 0.15,
        }
    }
}

/// What one frame did to the blink tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BlinkEvent {
    /// Nothing yet.
    None,
    /// A blink of human speed completed; the closure lasted this many ms.
    Blink(u64),
    /// The eyes reopened too quickly to be a blink (ms).
    TooFast(u64),
    /// The eyes stayed closed too long to be a blink (ms).
    TooSlow(u64),
}

/// Follows the eye aspect ratio over time and reports blinks.
#[derive(Clone, Debug)]
pub struct BlinkTracker {
    config: BlinkConfig,
    baseline: Option<f32>,
    closed_since: Option<u64>,
}

impl BlinkTracker {
    /// A tracker with no history.
    pub fn new(config: BlinkConfig) -> Self {
        Self {
            config,
            baseline: None,
            closed_since: None,
        }
    }

    /// The open-eye ratio learnt so far.
    pub fn baseline(&self) -> Option<f32> {
        self.baseline
    }

    /// Feeds one frame's mean eye aspect ratio at time `t_ms`.
    pub fn update(&mut self, t_ms: u64, ear: f32) -> BlinkEvent {
        let c = self.config;
        let Some(base) = self.baseline else {
            if ear >= c.min_open_ear {
                self.baseline = Some(ear);
            }
            return BlinkEvent::None;
        };
        match self.closed_since {
            None if ear < base * c.closed_fraction => {
                self.closed_since = Some(t_ms);
                BlinkEvent::None
            }
            None => {
                // Follow slow changes of the open-eye ratio (distance, expression), not blinks.
                if ear > base * c.reopen_fraction {
                    self.baseline = Some(base * 0.8 + ear * 0.2);
                }
                BlinkEvent::None
            }
            Some(since) => {
                let closed_for = t_ms.saturating_sub(since);
                if ear > base * c.reopen_fraction {
                    self.closed_since = None;
                    if closed_for < c.min_closed_ms {
                        BlinkEvent::TooFast(closed_for)
                    } else if closed_for > c.max_closed_ms {
                        BlinkEvent::TooSlow(closed_for)
                    } else {
                        BlinkEvent::Blink(closed_for)
                    }
                } else if closed_for > c.max_closed_ms {
                    // Report once, then wait for the eyes to open before counting again.
                    self.closed_since = Some(u64::MAX / 2);
                    BlinkEvent::TooSlow(closed_for)
                } else {
                    BlinkEvent::None
                }
            }
        }
    }
}

/// FaceMesh landmarks spread over the whole face — nose bridge and tip (in front), eyes, mouth,
/// brows, cheeks, jaw and outline (behind) — for the parallax check.
pub const PARALLAX_LANDMARKS: [usize; 33] = [
    1, 4, 5, 6, 195, 197, 168, 10, 152, 33, 263, 133, 362, 61, 291, 13, 14, 234, 454, 127, 356, 93,
    323, 132, 361, 58, 288, 172, 397, 70, 300, 105, 334,
];

/// Settings of the 3-D consistency check.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ParallaxConfig {
    /// Least yaw difference, degrees, between two frames for them to be compared. Default 12.
    pub min_yaw_delta_deg: f32,
    /// A face is 3-D when the residual exceeds this (fraction of the eye distance). Default 0.045.
    pub min_residual: f32,
}

impl Default for ParallaxConfig {
    fn default() -> Self {
        Self {
            min_yaw_delta_deg: 12.0,
            min_residual: 0.045,
        }
    }
}

/// The outcome of the 3-D consistency check.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParallaxScore {
    /// The largest normalised homography residual between the most frontal frame and a turned
    /// one (RMS px / eye distance). Planar attacks stay near the landmark noise (≈ 0.01).
    pub residual: f32,
    /// The yaw range covered, degrees.
    pub yaw_range_deg: f32,
    /// Frames compared.
    pub pairs: usize,
    /// The verdict at the configured threshold (false when the head did not turn enough).
    pub is_3d: bool,
}

#[derive(Clone, Debug)]
struct TrackFrame {
    yaw: f32,
    points: Vec<Point>,
    eye_distance: f32,
}

/// Collects landmark sets while the head turns and scores their 3-D consistency.
#[derive(Clone, Debug)]
pub struct ParallaxTracker {
    config: ParallaxConfig,
    frontal: Option<TrackFrame>,
    turned: Vec<TrackFrame>,
}

impl ParallaxTracker {
    /// A tracker with no frames.
    pub fn new(config: ParallaxConfig) -> Self {
        Self {
            config,
            frontal: None,
            turned: Vec::new(),
        }
    }

    /// Adds a frame: the landmarks (full 468-point set, image px) and the head's yaw.
    pub fn add(&mut self, landmarks: &FaceLandmarks, yaw: f32) {
        let (points, eye_distance) = parallax_points(landmarks);
        self.add_points(points, yaw, eye_distance);
    }

    /// Adds a frame from the parallax landmark subset directly (same order every frame).
    pub fn add_points(&mut self, points: Vec<Point>, yaw: f32, eye_distance: f32) {
        if eye_distance <= 1.0 || points.len() < 8 {
            return;
        }
        let frame = TrackFrame {
            yaw,
            points,
            eye_distance,
        };
        match &self.frontal {
            Some(f) if f.yaw.abs() <= yaw.abs() => {
                // Keep the few most turned frames on either side; they carry the parallax.
                self.turned.push(frame);
                self.turned
                    .sort_by(|a, b| b.yaw.abs().total_cmp(&a.yaw.abs()));
                self.turned.truncate(6);
            }
            _ => {
                if let Some(old) = self.frontal.replace(frame) {
                    self.turned.push(old);
                }
            }
        }
    }

    /// Scores the frames collected so far.
    pub fn score(&self) -> ParallaxScore {
        let mut best = 0.0f32;
        let mut pairs = 0;
        let mut yaw_range = 0.0f32;
        if let Some(f) = &self.frontal {
            for t in &self.turned {
                let delta = (t.yaw - f.yaw).abs();
                yaw_range = yaw_range.max(delta);
                if delta < self.config.min_yaw_delta_deg || t.points.len() != f.points.len() {
                    continue;
                }
                if let Some(r) =
                    planar_residual(&f.points, &t.points, f.eye_distance.max(t.eye_distance))
                {
                    best = best.max(r);
                    pairs += 1;
                }
            }
        }
        ParallaxScore {
            residual: best,
            yaw_range_deg: yaw_range,
            pairs,
            is_3d: pairs > 0 && best >= self.config.min_residual,
        }
    }
}

/// The parallax landmark subset of a face ([`PARALLAX_LANDMARKS`], image px) and the distance
/// between the outer eye corners (px), as [`ParallaxTracker::add_points`] takes them.
pub fn parallax_points(landmarks: &FaceLandmarks) -> (Vec<Point>, f32) {
    let at = |i: usize| landmarks.points.get(i).map(|l| l.point());
    let points = PARALLAX_LANDMARKS.iter().filter_map(|&i| at(i)).collect();
    let eyes = match (at(33), at(263)) {
        (Some(a), Some(b)) => a.distance(b),
        _ => 0.0,
    };
    (points, eyes)
}

/// RMS residual of the best homography between two landmark sets, over `scale` (px).
pub fn planar_residual(a: &[Point], b: &[Point], scale: f32) -> Option<f32> {
    let h = Homography::fit(a, b)?;
    Some(h.rms_error(a, b) / scale.max(1.0))
}

/// The passive liveness verdict of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassiveScore {
    /// The model's real−spoof logit difference (positive: looks real).
    pub logit: f32,
    /// The same as a probability of a live face, 0..1.
    pub probability: f32,
    /// The verdict at the model's threshold.
    pub live: bool,
}

/// The optional passive liveness model (interface `minifas-128`).
#[derive(Debug)]
pub struct PassiveModel {
    model: Model,
    threshold: f32,
}

impl PassiveModel {
    /// Wraps a loaded model; the threshold comes from its manifest entry (default 0: p = 0.5).
    pub fn new(model: Model) -> Result<PassiveModel> {
        model.expect_interface(Interface::Minifas128, "a passive liveness model")?;
        model.expect_input(&[-1, 3, 128, 128])?;
        let threshold = model.entry().threshold.unwrap_or(0.0);
        Ok(PassiveModel { model, threshold })
    }

    /// The underlying model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The decision threshold on the logit difference.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Scores one face. The crop is the face box squared on its longer side, enlarged 1.5×, with
    /// out-of-image parts mirrored, resampled to 128×128, RGB in [0, 1], NCHW.
    pub fn score(&self, img: &RgbImage, face: &Detection) -> Result<PassiveScore> {
        let side = face.bbox.width.max(face.bbox.height) * 1.5;
        let s = 128.0 / f64::from(side.max(1.0));
        let c = face.bbox.center();
        let t = Affine {
            m: [
                [s, 0.0, 64.0 - s * f64::from(c.x) - 0.5 + 0.5 * s],
                [0.0, s, 64.0 - s * f64::from(c.y) - 0.5 + 0.5 * s],
            ],
        };
        let hwc = warp_affine_tensor(img, &t, 128, 128, Border::Reflect101, 1.0 / 255.0, 0.0);
        let mut chw = vec![0.0f32; hwc.len()];
        let plane = 128 * 128;
        for (i, px) in hwc.chunks_exact(3).enumerate() {
            chw[i] = px[0];
            chw[plane + i] = px[1];
            chw[2 * plane + i] = px[2];
        }
        let outputs = self.model.run(&[1, 3, 128, 128], &chw)?;
        let logits = outputs
            .first()
            .filter(|o| o.data.len() == 2)
            .ok_or_else(|| FaceError::Inference {
                role: self.model.role().key().to_owned(),
                reason: "expected one output with 2 logits (real, spoof)".to_owned(),
            })?;
        let logit = logits.data[0] - logits.data[1];
        Ok(PassiveScore {
            logit,
            probability: 1.0 / (1.0 + (-logit).exp()),
            live: logit >= self.threshold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blink_run(samples: &[(u64, f32)]) -> Vec<BlinkEvent> {
        let mut t = BlinkTracker::new(BlinkConfig::default());
        samples
            .iter()
            .map(|&(ms, ear)| t.update(ms, ear))
            .filter(|e| *e != BlinkEvent::None)
            .collect()
    }

    /// 15 fps frames: open eyes, then a closure of `closed` frames.
    fn blink_samples(closed: u64) -> Vec<(u64, f32)> {
        let mut v: Vec<(u64, f32)> = (0..5).map(|i| (i * 67, 0.30)).collect();
        v.extend((5..5 + closed).map(|i| (i * 67, 0.08)));
        v.extend((5 + closed..5 + closed + 4).map(|i| (i * 67, 0.29)));
        v
    }

    #[test]
    fn a_normal_blink_counts() {
        assert_eq!(blink_run(&blink_samples(3)), vec![BlinkEvent::Blink(201)]);
    }

    #[test]
    fn eyes_held_shut_are_too_slow() {
        let events = blink_run(&blink_samples(20));
        assert!(
            matches!(events.first(), Some(BlinkEvent::TooSlow(_))),
            "{events:?}"
        );
        assert!(!events.iter().any(|e| matches!(e, BlinkEvent::Blink(_))));
    }

    #[test]
    fn a_glitch_between_two_close_timestamps_is_too_fast() {
        let events = blink_run(&[(0, 0.3), (33, 0.3), (66, 0.05), (70, 0.3)]);
        assert_eq!(events, vec![BlinkEvent::TooFast(4)]);
    }

    #[test]
    fn narrow_eyes_blink_relative_to_their_own_baseline() {
        let events = blink_run(&[(0, 0.19), (67, 0.19), (134, 0.09), (201, 0.10), (268, 0.18)]);
        assert_eq!(events, vec![BlinkEvent::Blink(134)]);
    }

    /// A rough 3-D face: (x, y, z) in mm, z towards the camera negative (nose in front).
    fn face_3d() -> Vec<[f64; 3]> {
        let mut pts = Vec::new();
        for i in 0..33 {
            let a = i as f64 / 33.0 * std::f64::consts::TAU;
            let (x, y) = (70.0 * a.cos(), 90.0 * a.sin());
            // An ellipsoid-like surface: depth grows towards the outline; the nose sticks out.
            let z = 40.0 * ((x / 75.0).powi(2) + (y / 95.0).powi(2));
            pts.push([x, y, z]);
        }
        pts[0] = [0.0, 0.0, -35.0];
        pts[1] = [0.0, 20.0, -25.0];
        pts[2] = [0.0, -25.0, -10.0];
        pts
    }

    fn project(p: [f64; 3], yaw_deg: f64, tilt_plane: Option<f64>) -> Point {
        let (s, c) = yaw_deg.to_radians().sin_cos();
        let [x, y, z] = match tilt_plane {
            // A photo: flatten the face onto z = 0, then turn the plane.
            Some(_) => [p[0] * c, p[1], p[0] * s],
            None => [p[0] * c + p[2] * s, p[1], -p[0] * s + p[2] * c],
        };
        let (f, d) = (800.0, 600.0);
        Point::new(
            (320.0 + f * x / (d + z)) as f32,
            (240.0 + f * y / (d + z)) as f32,
        )
    }

    fn track(real: bool, noise: f32, seed: u64) -> ParallaxScore {
        let face = face_3d();
        let mut tracker = ParallaxTracker::new(ParallaxConfig::default());
        let mut rng = seed;
        let mut jitter = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 2.0 * noise
        };
        for yaw in [0.0, 8.0, 16.0, 24.0, 30.0] {
            let pts: Vec<Point> = face
                .iter()
                .map(|p| {
                    let q = project(*p, yaw, if real { None } else { Some(yaw) });
                    Point::new(q.x + jitter(), q.y + jitter())
                })
                .collect();
            let eyes = project([-32.0, -20.0, 5.0], yaw, None).distance(project(
                [32.0, -20.0, 5.0],
                yaw,
                None,
            ));
            tracker.add_points(pts, yaw as f32, eyes);
        }
        tracker.score()
    }

    #[test]
    fn a_turning_head_is_3d_and_a_turning_photo_is_flat() {
        for seed in 1..20 {
            let real = track(true, 0.7, seed);
            let photo = track(false, 0.7, seed);
            assert!(real.is_3d, "real {real:?}");
            assert!(!photo.is_3d, "photo {photo:?}");
            assert!(
                real.residual > 3.0 * photo.residual,
                "{real:?} vs {photo:?}"
            );
        }
    }

    #[test]
    fn without_a_turn_there_is_no_verdict() {
        let mut tracker = ParallaxTracker::new(ParallaxConfig::default());
        let pts: Vec<Point> = face_3d().iter().map(|p| project(*p, 0.0, None)).collect();
        for _ in 0..5 {
            tracker.add_points(pts.clone(), 1.0, 60.0);
        }
        let s = tracker.score();
        assert!(!s.is_3d);
        assert_eq!(s.pairs, 0);
    }
}
