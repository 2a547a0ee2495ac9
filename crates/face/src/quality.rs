//! Is this face good enough to judge? Each shortcoming is a named [`QualityIssue`] the session
//! turns into guidance ("move closer", "more light"), with the measurements behind it.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::detect::{Detection, Keypoint};
use crate::geometry::{Affine, BoundingBox};
use crate::landmarks::{FaceLandmarks, HeadPose};
use crate::resample::{Border, warp_affine_image};

/// Something wrong with the face in a frame, most important first (the order is the priority
/// the session uses to choose one hint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QualityIssue {
    /// No face was found.
    NoFace,
    /// Something like a face was found, but the landmark model is not confident it is one (a
    /// face too small, blurred or covered to locate precisely, or not a face at all).
    FaceUnclear,
    /// More than one face of a similar size is in view.
    MultipleFaces,
    /// Part of the face is outside the frame.
    FaceCutOff,
    /// The face is too small (too far from the camera, or too few pixels).
    FaceTooSmall,
    /// The face is too large (too close).
    FaceTooLarge,
    /// The face is far from the centre of the frame.
    FaceOffCenter,
    /// The head is turned sideways too far.
    YawOutOfRange,
    /// The head is nodded up or down too far.
    PitchOutOfRange,
    /// The head is tilted sideways too far.
    RollOutOfRange,
    /// Both eyes are closed.
    EyesClosed,
    /// The face is too dark.
    TooDark,
    /// The face is over-exposed.
    TooBright,
    /// The background is much brighter than the face (a window or lamp behind the person).
    Backlit,
    /// The face is out of focus or moving.
    Blurry,
}

impl QualityIssue {
    /// The stable name (`FACE_TOO_SMALL`, …).
    pub fn code(self) -> &'static str {
        match self {
            QualityIssue::NoFace => "NO_FACE",
            QualityIssue::FaceUnclear => "FACE_UNCLEAR",
            QualityIssue::MultipleFaces => "MULTIPLE_FACES",
            QualityIssue::FaceCutOff => "FACE_CUT_OFF",
            QualityIssue::FaceTooSmall => "FACE_TOO_SMALL",
            QualityIssue::FaceTooLarge => "FACE_TOO_LARGE",
            QualityIssue::FaceOffCenter => "FACE_OFF_CENTER",
            QualityIssue::YawOutOfRange => "YAW_OUT_OF_RANGE",
            QualityIssue::PitchOutOfRange => "PITCH_OUT_OF_RANGE",
            QualityIssue::RollOutOfRange => "ROLL_OUT_OF_RANGE",
            QualityIssue::EyesClosed => "EYES_CLOSED",
            QualityIssue::TooDark => "TOO_DARK",
            QualityIssue::TooBright => "TOO_BRIGHT",
            QualityIssue::Backlit => "BACKLIT",
            QualityIssue::Blurry => "BLURRY",
        }
    }
}

impl QualityIssue {
    /// A plain description for people (an operator reading why a photo was refused).
    pub fn describe(self) -> &'static str {
        match self {
            QualityIssue::NoFace => "no face found",
            QualityIssue::FaceUnclear => "the face could not be located precisely",
            QualityIssue::MultipleFaces => "more than one face",
            QualityIssue::FaceCutOff => "the face is cut off by the edge of the image",
            QualityIssue::FaceTooSmall => "the face is too small (too few pixels)",
            QualityIssue::FaceTooLarge => "the face is too large in the frame",
            QualityIssue::FaceOffCenter => "the face is far from the centre",
            QualityIssue::YawOutOfRange => "the head is turned sideways",
            QualityIssue::PitchOutOfRange => "the head is tilted up or down",
            QualityIssue::RollOutOfRange => "the head is tilted to one side",
            QualityIssue::EyesClosed => "the eyes are closed",
            QualityIssue::TooDark => "the face is too dark",
            QualityIssue::TooBright => "the face is over-exposed",
            QualityIssue::Backlit => "the light is behind the person",
            QualityIssue::Blurry => "the image is blurred",
        }
    }
}

impl std::fmt::Display for QualityIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Quality thresholds. [`QualityConfig::live`] suits camera frames at a kiosk,
/// [`QualityConfig::photo`] suits ID photos and still selfies (no framing rules).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// Smallest face, as the distance between the eyes in pixels. Default 24 px.
    pub min_eye_distance_px: f32,
    /// Smallest face width as a fraction of the frame width (0 disables). Live default 0.18.
    pub min_face_fraction: f32,
    /// Largest face width as a fraction of the frame width. Live default 0.75.
    pub max_face_fraction: f32,
    /// Largest distance of the face centre from the frame centre, as a fraction of the frame's
    /// width/height (0.5 disables). Live default 0.2.
    pub max_center_offset: f32,
    /// Smallest part of the face box that must lie inside the frame, 0..1. Default 0.9.
    pub min_inside_fraction: f32,
    /// Largest yaw (turn), degrees. Live default 25.
    pub max_yaw_deg: f32,
    /// Largest pitch (nod), degrees. Live default 25.
    pub max_pitch_deg: f32,
    /// Largest roll (tilt), degrees. Live default 20.
    pub max_roll_deg: f32,
    /// Eyes count as closed when both eye aspect ratios are below this. Default 0.14.
    pub eyes_closed_ear: f32,
    /// Darkest acceptable mean face brightness, 0..255. Default 60.
    pub min_brightness: f32,
    /// Brightest acceptable mean face brightness, 0..255. Default 215.
    pub max_brightness: f32,
    /// Largest share of blown-out (≥ 250) face pixels. Default 0.15.
    pub max_clipped_fraction: f32,
    /// Backlit when the surroundings are brighter than the face by more than this, 0..255. Default 70.
    pub max_backlight_difference: f32,
    /// Least sharpness (variance of the Laplacian of the 112-px face crop). Default 25.
    pub min_sharpness: f32,
    /// A second face counts when its area is at least this fraction of the main face's. Default 0.2.
    pub other_face_min_ratio: f32,
    /// Least confidence of the landmark model that it sees a face, 0..1, when landmarks are
    /// computed. Default 0.5.
    pub min_landmark_presence: f32,
}

impl QualityConfig {
    /// Thresholds for live camera frames at a kiosk.
    pub fn live() -> Self {
        Self {
            min_eye_distance_px: 24.0,
            min_face_fraction: 0.18,
            max_face_fraction: 0.75,
            max_center_offset: 0.2,
            min_inside_fraction: 0.9,
            max_yaw_deg: 25.0,
            max_pitch_deg: 25.0,
            max_roll_deg: 20.0,
            eyes_closed_ear: 0.14,
            min_brightness: 60.0,
            max_brightness: 215.0,
            max_clipped_fraction: 0.15,
            max_backlight_difference: 70.0,
            min_sharpness: 25.0,
            other_face_min_ratio: 0.2,
            min_landmark_presence: 0.5,
        }
    }

    /// Thresholds for still photos (ID photos, uploaded selfies): no framing rules, wider pose.
    pub fn photo() -> Self {
        Self {
            min_face_fraction: 0.0,
            max_face_fraction: 1.0,
            max_center_offset: 0.5,
            min_inside_fraction: 0.75,
            max_yaw_deg: 35.0,
            max_pitch_deg: 35.0,
            max_roll_deg: 35.0,
            max_backlight_difference: 255.0,
            ..Self::live()
        }
    }
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self::live()
    }
}

/// The measurements behind a quality verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QualityMetrics {
    /// Distance between the eyes, px.
    pub eye_distance_px: f32,
    /// Face box width / frame width.
    pub face_fraction: f32,
    /// Face centre's offset from the frame centre (x, y), as fractions of width/height; signed.
    pub center_offset: (f32, f32),
    /// Share of the face box inside the frame, 0..1.
    pub inside_fraction: f32,
    /// Head pose, degrees (from dense landmarks when computed, else estimated from the detector's keypoints).
    pub pose: HeadPose,
    /// Eye aspect ratios (right, left), when dense landmarks were computed.
    pub eye_aspect_ratio: Option<(f32, f32)>,
    /// Mean face brightness, 0..255.
    pub brightness: f32,
    /// Share of blown-out face pixels.
    pub clipped_fraction: f32,
    /// Surroundings' brightness minus the face's, 0..255 (positive: brighter behind).
    pub backlight_difference: f32,
    /// Variance of the Laplacian of the face crop (higher is sharper).
    pub sharpness: f32,
    /// Faces in view that count (large enough).
    pub faces_counted: usize,
    /// The landmark model's confidence that it sees a face, when landmarks were computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark_presence: Option<f32>,
}

/// A quality verdict: the issues, most important first, and the measurements.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    /// Every issue found, most important first; empty when the face is good.
    pub issues: Vec<QualityIssue>,
    /// The measurements (absent when there is no face).
    pub metrics: Option<QualityMetrics>,
}

impl QualityReport {
    /// True when nothing is wrong.
    pub fn is_good(&self) -> bool {
        self.issues.is_empty()
    }

    /// The most important issue.
    pub fn top_issue(&self) -> Option<QualityIssue> {
        self.issues.first().copied()
    }

    /// The report for a frame with no face.
    pub fn no_face() -> Self {
        Self {
            issues: vec![QualityIssue::NoFace],
            metrics: None,
        }
    }
}

/// Head pose estimated from the detector's six keypoints (when no dense landmarks were computed):
/// yaw from where the nose sits between the ears, roll from the eye line, pitch from the nose's
/// height between the eyes and the mouth. Coarse (±10°) but free.
pub fn pose_from_keypoints(face: &Detection) -> HeadPose {
    let re = face.keypoint(Keypoint::RightEye);
    let le = face.keypoint(Keypoint::LeftEye);
    let nose = face.keypoint(Keypoint::NoseTip);
    let mouth = face.keypoint(Keypoint::Mouth);
    let rear = face.keypoint(Keypoint::RightEar);
    let lear = face.keypoint(Keypoint::LeftEar);
    let roll = (le.y - re.y).atan2(le.x - re.x);
    // Work in a frame rotated so the eyes are level.
    let (s, c) = (-roll).sin_cos();
    let rot = |p: crate::geometry::Point| (p.x * c - p.y * s, p.x * s + p.y * c);
    let (nx, ny) = rot(nose);
    let (rx, _) = rot(rear);
    let (lx, _) = rot(lear);
    let (_, ey) = rot(re.midpoint(le));
    let (_, my) = rot(mouth);
    let half = ((lx - rx) * 0.5).abs().max(1e-3);
    let mid = (lx + rx) * 0.5;
    let yaw = ((nx - mid) / half).clamp(-1.0, 1.0).asin();
    // On a frontal face the nose tip sits ~55 % of the way from the eyes to the mouth.
    let span = (my - ey).abs().max(1e-3);
    let pitch = (((ny - ey) / span - 0.55) / 0.55).clamp(-1.0, 1.0).asin();
    HeadPose {
        yaw: yaw.to_degrees(),
        pitch: -pitch.to_degrees(),
        roll: roll.to_degrees(),
    }
}

/// Judges the main face of a frame.
///
/// `faces` are all faces found (the main one first), `landmarks` the main face's dense landmarks
/// when computed, `face_crop` its aligned 112-px crop (for sharpness and brightness).
pub fn assess(
    img: &RgbImage,
    faces: &[Detection],
    landmarks: Option<&FaceLandmarks>,
    face_crop: &RgbImage,
    config: &QualityConfig,
) -> QualityReport {
    let Some(main) = faces.first() else {
        return QualityReport::no_face();
    };
    let (w, h) = (img.width() as f32, img.height() as f32);
    let c = main.bbox.center();
    let pose = landmarks.map_or_else(|| pose_from_keypoints(main), FaceLandmarks::head_pose);
    let ear = landmarks.map(FaceLandmarks::eye_aspect_ratios);
    let (brightness, clipped) = brightness_of(face_crop);
    let metrics = QualityMetrics {
        eye_distance_px: main.eye_distance(),
        face_fraction: main.bbox.width / w,
        center_offset: (c.x / w - 0.5, c.y / h - 0.5),
        inside_fraction: main.bbox.fraction_inside(w, h),
        pose,
        eye_aspect_ratio: ear,
        brightness,
        clipped_fraction: clipped,
        backlight_difference: surroundings_brightness(img, &main.bbox) - brightness,
        sharpness: laplacian_variance(face_crop),
        faces_counted: faces
            .iter()
            .filter(|f| f.bbox.area() >= main.bbox.area() * config.other_face_min_ratio)
            .count(),
        landmark_presence: landmarks.map(|l| l.presence),
    };
    QualityReport {
        issues: issues(&metrics, config),
        metrics: Some(metrics),
    }
}

fn issues(m: &QualityMetrics, c: &QualityConfig) -> Vec<QualityIssue> {
    use QualityIssue as Q;
    let checks = [
        (
            Q::FaceUnclear,
            m.landmark_presence
                .is_some_and(|p| p < c.min_landmark_presence),
        ),
        (Q::MultipleFaces, m.faces_counted > 1),
        (Q::FaceCutOff, m.inside_fraction < c.min_inside_fraction),
        (
            Q::FaceTooSmall,
            m.eye_distance_px < c.min_eye_distance_px || m.face_fraction < c.min_face_fraction,
        ),
        (Q::FaceTooLarge, m.face_fraction > c.max_face_fraction),
        (
            Q::FaceOffCenter,
            m.center_offset.0.abs() > c.max_center_offset
                || m.center_offset.1.abs() > c.max_center_offset,
        ),
        (Q::YawOutOfRange, m.pose.yaw.abs() > c.max_yaw_deg),
        (Q::PitchOutOfRange, m.pose.pitch.abs() > c.max_pitch_deg),
        (Q::RollOutOfRange, m.pose.roll.abs() > c.max_roll_deg),
        (
            Q::EyesClosed,
            m.eye_aspect_ratio
                .is_some_and(|(r, l)| r < c.eyes_closed_ear && l < c.eyes_closed_ear),
        ),
        (Q::TooDark, m.brightness < c.min_brightness),
        (
            Q::TooBright,
            m.brightness > c.max_brightness || m.clipped_fraction > c.max_clipped_fraction,
        ),
        (
            Q::Backlit,
            m.backlight_difference > c.max_backlight_difference,
        ),
        (Q::Blurry, m.sharpness < c.min_sharpness),
    ];
    checks
        .into_iter()
        .filter(|(_, bad)| *bad)
        .map(|(q, _)| q)
        .collect()
}

/// Mean luma and share of blown-out pixels of the central part of an aligned face crop (the
/// corners hold background or hair).
pub fn brightness_of(crop: &RgbImage) -> (f32, f32) {
    let (w, h) = crop.dimensions();
    let (x0, x1, y0, y1) = (w / 4, w * 3 / 4, h / 4, h * 7 / 8);
    let mut sum = 0.0f64;
    let mut clipped = 0usize;
    let mut n = 0usize;
    for y in y0..y1 {
        for x in x0..x1 {
            let l = crate::resample::luma(crop.get_pixel(x, y));
            sum += f64::from(l);
            clipped += usize::from(l >= 250.0);
            n += 1;
        }
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    ((sum / n as f64) as f32, clipped as f32 / n as f32)
}

/// Mean luma of a ring around the face (the box enlarged 2.2×, minus the box enlarged 1.3×),
/// sampled on a grid; the face's own brightness when the ring lies outside the image.
fn surroundings_brightness(img: &RgbImage, face: &BoundingBox) -> f32 {
    let c = face.center();
    let outer = BoundingBox::from_center(c, face.width * 2.2, face.height * 2.2);
    let inner = BoundingBox::from_center(c, face.width * 1.3, face.height * 1.3);
    let (w, h) = (img.width() as f32, img.height() as f32);
    let steps = 40;
    let (mut sum, mut n) = (0.0f64, 0usize);
    for j in 0..steps {
        for i in 0..steps {
            let x = outer.x + outer.width * (i as f32 + 0.5) / steps as f32;
            let y = outer.y + outer.height * (j as f32 + 0.5) / steps as f32;
            let in_face = x >= inner.x && x < inner.right() && y >= inner.y && y < inner.bottom();
            if in_face || x < 0.0 || y < 0.0 || x >= w || y >= h {
                continue;
            }
            sum += f64::from(crate::resample::luma(img.get_pixel(x as u32, y as u32)));
            n += 1;
        }
    }
    if n < steps {
        return 0.0;
    }
    (sum / n as f64) as f32
}

/// Variance of the 4-neighbour Laplacian of the crop's luma (interior of the central region).
pub fn laplacian_variance(crop: &RgbImage) -> f32 {
    let (w, h) = crop.dimensions();
    if w < 8 || h < 8 {
        return 0.0;
    }
    let luma: Vec<f32> = crop.pixels().map(crate::resample::luma).collect();
    let at = |x: u32, y: u32| luma[(y * w + x) as usize];
    let (x0, x1, y0, y1) = (w / 8, w * 7 / 8, h / 8, h * 7 / 8);
    let (mut sum, mut sum2, mut n) = (0.0f64, 0.0f64, 0usize);
    for y in y0.max(1)..y1.min(h - 1) {
        for x in x0.max(1)..x1.min(w - 1) {
            let v = f64::from(
                at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4.0 * at(x, y),
            );
            sum += v;
            sum2 += v * v;
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    let mean = sum / n as f64;
    (sum2 / n as f64 - mean * mean) as f32
}

/// A face crop for quality measures when no alignment is available: the detection box, squared,
/// resampled to 112 px.
pub fn box_crop(img: &RgbImage, face: &Detection) -> RgbImage {
    let side = face.bbox.width.max(face.bbox.height).max(1.0);
    let s = 112.0 / f64::from(side);
    let c = face.bbox.center();
    let t = Affine {
        m: [
            [s, 0.0, 56.0 - s * f64::from(c.x)],
            [0.0, s, 56.0 - s * f64::from(c.y)],
        ],
    };
    warp_affine_image(img, &t, 112, 112, Border::Zero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Point;
    use image::Rgb;

    fn face_at(x: f32, y: f32, size: f32) -> Detection {
        let k = |fx: f32, fy: f32| Point::new(x + size * fx, y + size * fy);
        Detection {
            bbox: BoundingBox {
                x,
                y,
                width: size,
                height: size,
            },
            score: 0.9,
            keypoints: [
                k(0.3, 0.35),
                k(0.7, 0.35),
                k(0.5, 0.57),
                k(0.5, 0.75),
                k(0.05, 0.45),
                k(0.95, 0.45),
            ],
        }
    }

    fn textured(w: u32, h: u32, level: u8) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = if (x / 3 + y / 3) % 2 == 0 {
                level.saturating_add(30)
            } else {
                level.saturating_sub(30)
            };
            Rgb([v, v, v])
        })
    }

    #[test]
    fn frontal_keypoints_give_near_zero_pose() {
        let p = pose_from_keypoints(&face_at(100.0, 100.0, 200.0));
        assert!(
            p.yaw.abs() < 1.0 && p.roll.abs() < 1.0 && p.pitch.abs() < 5.0,
            "{p:?}"
        );
    }

    #[test]
    fn a_nose_towards_one_ear_is_yaw() {
        let mut f = face_at(100.0, 100.0, 200.0);
        f.keypoints[Keypoint::NoseTip as usize].x += 50.0;
        assert!(pose_from_keypoints(&f).yaw > 20.0);
    }

    #[test]
    fn no_face_is_reported_as_such() {
        let img = textured(200, 200, 128);
        let r = assess(&img, &[], None, &img, &QualityConfig::live());
        assert_eq!(r.issues, vec![QualityIssue::NoFace]);
    }

    #[test]
    fn framing_issues_in_priority_order() {
        let img = textured(640, 480, 128);
        let crop = textured(112, 112, 128);
        let small_corner = face_at(10.0, 10.0, 60.0);
        let r = assess(&img, &[small_corner], None, &crop, &QualityConfig::live());
        assert_eq!(
            r.issues,
            vec![QualityIssue::FaceTooSmall, QualityIssue::FaceOffCenter]
        );
        let ok = face_at(220.0, 140.0, 200.0);
        let r = assess(
            &img,
            &[ok, face_at(20.0, 20.0, 150.0)],
            None,
            &crop,
            &QualityConfig::live(),
        );
        assert_eq!(r.top_issue(), Some(QualityIssue::MultipleFaces));
        let r = assess(
            &img,
            &[ok, face_at(20.0, 20.0, 30.0)],
            None,
            &crop,
            &QualityConfig::live(),
        );
        assert!(r.is_good(), "{r:?}");
    }

    #[test]
    fn light_issues() {
        let img = textured(640, 480, 128);
        let ok = face_at(220.0, 140.0, 200.0);
        let dark = textured(112, 112, 35);
        let r = assess(&img, &[ok], None, &dark, &QualityConfig::live());
        assert!(r.issues.contains(&QualityIssue::TooDark), "{r:?}");
        let flat = RgbImage::from_pixel(112, 112, Rgb([128, 128, 128]));
        let r = assess(&img, &[ok], None, &flat, &QualityConfig::live());
        assert_eq!(r.issues, vec![QualityIssue::Blurry]);
        // A bright window behind a normally lit face.
        let mut bright = RgbImage::from_pixel(640, 480, Rgb([250, 250, 250]));
        for y in 140..340 {
            for x in 220..420 {
                bright.put_pixel(x, y, Rgb([110, 110, 110]));
            }
        }
        let face = textured(112, 112, 110);
        let r = assess(&bright, &[ok], None, &face, &QualityConfig::live());
        assert!(r.issues.contains(&QualityIssue::Backlit), "{r:?}");
    }

    #[test]
    fn laplacian_variance_falls_with_blur() {
        let sharp = textured(112, 112, 128);
        let blurred = crate::resample::resize(&crate::resample::resize(&sharp, 28, 28), 112, 112);
        assert!(laplacian_variance(&sharp) > 10.0 * laplacian_variance(&blurred));
    }
}
