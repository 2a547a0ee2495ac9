//! A camera stream analysed frame by frame with the face followed between detector frames
//! (`FaceEngine::analyze_stream`), on the real models and frames made from the project's photos:
//! what following finds must be what the detector would have found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use facekiosk_face::engine::{AnalyzeOptions, EmbedWhen, FaceConfig, FaceEngine, FrameAnalysis};
use facekiosk_face::follow::FaceFollower;
use facekiosk_face::quality::QualityIssue;
use facekiosk_face::runtime::RuntimeConfig;
use image::{Rgb, RgbImage};

/// The astronaut's head and shoulders, 240×280.
fn head() -> &'static RgbImage {
    static HEAD: std::sync::OnceLock<RgbImage> = std::sync::OnceLock::new();
    HEAD.get_or_init(|| crop(&astronaut(), 110, 20, 240, 280))
}

/// A 640×480 camera frame with the astronaut's head at (`x`, `y`) and, optionally, a second
/// copy of it (a second person) at `second`.
fn frame(x: i64, y: i64, second: Option<(i64, i64)>) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(640, 480, Rgb([96, 100, 104]));
    image::imageops::overlay(&mut canvas, head(), x, y);
    if let Some((sx, sy)) = second {
        image::imageops::overlay(&mut canvas, head(), sx, sy);
    }
    canvas
}

fn live(e: &FaceEngine) -> AnalyzeOptions {
    AnalyzeOptions {
        embed: EmbedWhen::Always,
        ..e.live_options()
    }
}

fn main_box(a: &FrameAnalysis) -> facekiosk_face::geometry::BoundingBox {
    a.face.as_ref().expect("a face").detection.bbox
}

#[test]
fn a_moving_face_is_followed_between_detector_frames_and_found_where_the_detector_finds_it() {
    let e = engine();
    assert_eq!(e.config().redetect_every, 5);
    let options = live(e);
    let mut follower = FaceFollower::new();
    let mut pattern = Vec::new();
    for i in 0..12i64 {
        // The head drifts right and down, 7 px and 3 px a frame, and comes nearer.
        let img = frame(150 + 7 * i, 90 + 3 * i, None);
        let streamed = e.analyze_stream(&img, &options, &mut follower).unwrap();
        let fresh = e.analyze(&img, &options).unwrap();
        pattern.push(streamed.followed);
        assert!(!fresh.followed);
        assert_eq!(streamed.faces.len(), 1, "frame {i}");
        let iou = main_box(&streamed).iou(&main_box(&fresh));
        assert!(iou >= 0.75, "frame {i}: box IoU {iou}");
        let (s, f) = (
            streamed.face.as_ref().unwrap(),
            fresh.face.as_ref().unwrap(),
        );
        let similarity = s
            .embedding
            .as_ref()
            .unwrap()
            .similarity(f.embedding.as_ref().unwrap());
        assert!(similarity >= 0.9, "frame {i}: cosine {similarity}");
        let (ps, pf) = (s.signals.unwrap().pose, f.signals.unwrap().pose);
        assert!(
            (ps.yaw - pf.yaw).abs() < 5.0 && (ps.roll - pf.roll).abs() < 3.0,
            "frame {i}: {ps:?} vs {pf:?}"
        );
        assert_eq!(
            streamed.quality.issues, fresh.quality.issues,
            "frame {i}: the same verdict"
        );
        if streamed.followed {
            assert_eq!(streamed.timings.detect_ms, 0.0, "frame {i}");
        }
    }
    // The detector on the first frame and on every fifth after it.
    let detector: Vec<usize> = (0..12).filter(|&i| !pattern[i]).collect();
    assert_eq!(detector, vec![0, 5, 10], "{pattern:?}");
    assert_eq!(follower.counts(), (3, 9));
}

#[test]
fn a_second_person_is_seen_when_the_detector_looks_and_stops_the_following() {
    let e = engine();
    let options = live(e);
    let mut follower = FaceFollower::new();
    let mut seen = Vec::new();
    for i in 0..9i64 {
        // A second person comes into view from frame 2 on.
        let second = (i >= 2).then_some((390, 150));
        let a = e
            .analyze_stream(&frame(40, 90, second), &options, &mut follower)
            .unwrap();
        seen.push((a.followed, a.faces.len()));
    }
    // Followed until the detector's next look (frame 5) counts two faces; while there are two,
    // the detector looks at every frame.
    assert_eq!(
        seen,
        vec![
            (false, 1),
            (true, 1),
            (true, 1),
            (true, 1),
            (true, 1),
            (false, 2),
            (false, 2),
            (false, 2),
            (false, 2),
        ]
    );
    let last = e
        .analyze_stream(&frame(40, 90, Some((390, 150))), &options, &mut follower)
        .unwrap();
    assert!(last.quality.issues.contains(&QualityIssue::MultipleFaces));
}

#[test]
fn a_face_that_leaves_is_not_followed_into_an_empty_frame() {
    let e = engine();
    let options = live(e);
    let mut follower = FaceFollower::new();
    let first = e
        .analyze_stream(&frame(150, 90, None), &options, &mut follower)
        .unwrap();
    assert!(first.face.is_some() && !first.followed);
    let empty = RgbImage::from_pixel(640, 480, Rgb([96, 100, 104]));
    let gone = e.analyze_stream(&empty, &options, &mut follower).unwrap();
    assert!(!gone.followed);
    assert!(gone.face.is_none());
    assert_eq!(gone.quality.issues, vec![QualityIssue::NoFace]);
    // And the next face is found by the detector.
    let back = e
        .analyze_stream(&frame(200, 100, None), &options, &mut follower)
        .unwrap();
    assert!(back.face.is_some() && !back.followed);
}

#[test]
fn photos_frames_of_another_size_and_a_reset_stream_go_to_the_detector() {
    let e = engine();
    let options = live(e);
    let mut follower = FaceFollower::new();
    e.analyze_stream(&frame(150, 90, None), &options, &mut follower)
        .unwrap();
    // A photo searched thoroughly is never followed.
    let photo = e
        .analyze_stream(&frame(150, 90, None), &e.photo_options(), &mut follower)
        .unwrap();
    assert!(!photo.followed);
    // A frame of another size (the camera changed its mode).
    let mut bigger = RgbImage::from_pixel(800, 600, Rgb([96, 100, 104]));
    image::imageops::overlay(&mut bigger, &frame(150, 90, None), 0, 0);
    let resized = e.analyze_stream(&bigger, &options, &mut follower).unwrap();
    assert!(!resized.followed && resized.face.is_some());
    // Frames without landmarks (a session waiting) are not followed either.
    let no_landmarks = AnalyzeOptions {
        landmarks: false,
        embed: EmbedWhen::Never,
        ..options
    };
    let waiting = e
        .analyze_stream(&bigger, &no_landmarks, &mut follower)
        .unwrap();
    assert!(!waiting.followed);
    let next = e.analyze_stream(&bigger, &options, &mut follower).unwrap();
    assert!(!next.followed, "nothing was followed without landmarks");
    let followed = e.analyze_stream(&bigger, &options, &mut follower).unwrap();
    assert!(followed.followed);
    follower.reset();
    let after_reset = e.analyze_stream(&bigger, &options, &mut follower).unwrap();
    assert!(!after_reset.followed);
}

#[test]
fn redetect_every_1_runs_the_detector_on_every_frame() {
    let runtime = RuntimeConfig {
        intra_threads: 1,
        sessions_per_model: 1,
        ..RuntimeConfig::default()
    };
    let config = FaceConfig {
        redetect_every: 1,
        ..FaceConfig::default()
    };
    let e = FaceEngine::load(&runtime, &config).unwrap();
    let options = live(&e);
    let mut follower = FaceFollower::new();
    for i in 0..4 {
        let a = e
            .analyze_stream(&frame(150 + 5 * i, 90, None), &options, &mut follower)
            .unwrap();
        assert!(!a.followed && a.face.is_some(), "frame {i}");
    }
    assert_eq!(follower.counts(), (4, 0));
}
