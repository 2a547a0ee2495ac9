//! Following one face through a camera stream without running the detector on every frame.
//!
//! A kiosk's camera sees one person who moves a little between two frames (66 ms at 15
//! frames/s). The landmark model finds the face in a crop placed where it was in the frame
//! before, as MediaPipe's face mesh does; the detector is needed only to find a face, to count
//! faces, and to take over when the landmark model loses the one it follows.
//! [`crate::engine::FaceEngine::analyze_stream`] drives it; this module holds what is carried
//! from one frame to the next and decides when the detector must look again.

use crate::detect::Detection;
use crate::geometry::{BoundingBox, Point, umeyama};

/// The face followed: its detection (from the detector, or moved since) and its landmarks.
#[derive(Clone, Debug)]
pub struct Followed {
    /// Where the face was: the box and keypoints that place the next landmark crop.
    pub detection: Detection,
    landmarks: Vec<Point>,
    size: (u32, u32),
}

impl Followed {
    /// A face to follow: its detection and its landmarks' image positions
    /// ([`crate::landmarks::FaceLandmarks::points_2d`]) in a frame of `size` (width, height).
    pub fn new(detection: Detection, landmarks: Vec<Point>, size: (u32, u32)) -> Self {
        Self {
            detection,
            landmarks,
            size,
        }
    }

    /// The detection moved as the landmarks moved from the frame before to `points` (this
    /// frame's, [`crate::landmarks::FaceLandmarks::points_2d`]): the similarity (shift, scale, rotation) that best
    /// maps the old landmarks onto the new ones moves the keypoints, the box's centre and its
    /// size. `None` when it cannot be estimated.
    pub fn moved_to(&self, points: &[Point]) -> Option<Detection> {
        if points.len() != self.landmarks.len() {
            return None;
        }
        let motion = umeyama(&self.landmarks, points)?;
        let scale = motion.scale() as f32;
        if !scale.is_finite() || scale <= 0.0 {
            return None;
        }
        let b = self.detection.bbox;
        Some(Detection {
            bbox: BoundingBox::from_center(
                motion.apply(b.center()),
                b.width * scale,
                b.height * scale,
            ),
            score: self.detection.score,
            keypoints: self.detection.keypoints.map(|p| motion.apply(p)),
        })
    }
}

/// What is carried from one frame of a stream to the next. One per stream (a session's
/// frames); [`FaceFollower::reset`] after a gap in the stream.
#[derive(Clone, Debug, Default)]
pub struct FaceFollower {
    current: Option<Followed>,
    /// Frames followed since the detector last ran.
    since_detector: u32,
    detector_frames: u64,
    followed_frames: u64,
}

impl FaceFollower {
    /// A follower with nothing to follow yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the face (a dropped frame, a camera that came back, a new attempt): the
    /// detector looks at the next frame.
    pub fn reset(&mut self) {
        self.current = None;
        self.since_detector = 0;
    }

    /// Frames the detector ran on, and frames followed without it, since the follower was made.
    pub fn counts(&self) -> (u64, u64) {
        (self.detector_frames, self.followed_frames)
    }

    /// The face to follow into a frame of `size`, when following is `wanted` (a camera frame
    /// whose landmarks are computed, not a photo searched thoroughly), the frame has the size
    /// of the one before, and fewer than `redetect_every − 1` frames were followed since the
    /// detector ran.
    pub(crate) fn to_follow(
        &self,
        size: (u32, u32),
        wanted: bool,
        redetect_every: u32,
    ) -> Option<&Followed> {
        let f = self.current.as_ref()?;
        let allowed =
            wanted && f.size == size && self.since_detector.saturating_add(1) < redetect_every;
        allowed.then_some(f)
    }

    /// The detector ran; `next` is its main face when that is the only face and a clear one.
    pub(crate) fn detected(&mut self, next: Option<Followed>) {
        self.detector_frames += 1;
        self.since_detector = 0;
        self.current = next;
    }

    /// The face was followed into this frame, and is now at `next`.
    pub(crate) fn followed(&mut self, next: Followed) {
        self.followed_frames += 1;
        self.since_detector += 1;
        self.current = Some(next);
    }

    /// The landmark model lost the face: the detector looks at this frame.
    pub(crate) fn lost(&mut self) {
        self.current = None;
    }
}
