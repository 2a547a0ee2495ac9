//! The face engine on real models and the project's own photos (tests/data) and images derived
//! from them: crops, rotations, light, JPEG quality, ID-photo size, a different person.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use facekiosk_face::FaceError;
use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::detect::Keypoint;
use facekiosk_face::engine::{EmbedWhen, FrameAnalysis};
use facekiosk_face::matching::MatchLevel;
use facekiosk_face::quality::QualityIssue;
use image::{ImageFormat, RgbImage};

fn photo(img: &RgbImage) -> FrameAnalysis {
    let e = engine();
    e.analyze(img, &e.photo_options()).unwrap()
}

/// Round-trips through an encoder so the engine sees what a file would give it.
fn via(img: &RgbImage, format: ImageFormat) -> RgbImage {
    decode(&encode(img, format), DecodeLimits::default()).unwrap()
}

#[test]
fn the_astronaut_is_one_frontal_face() {
    let a = photo(&astronaut());
    assert_eq!(a.faces.len(), 1);
    let f = &a.faces[0];
    assert!(f.score > 0.8, "{f:?}");
    // The face is in the upper middle of the portrait.
    let c = f.bbox.center();
    assert!(
        (180.0..300.0).contains(&c.x) && (80.0..200.0).contains(&c.y),
        "{c:?}"
    );
    // Keypoint order: the subject's right eye is on the image's left.
    assert!(f.keypoint(Keypoint::RightEye).x < f.keypoint(Keypoint::LeftEye).x);
    assert!(a.quality.is_good(), "{:?}", a.quality);
    let pose = a.face.as_ref().unwrap().signals.unwrap().pose;
    assert!(pose.yaw.abs() < 12.0 && pose.roll.abs() < 10.0, "{pose:?}");
}

#[test]
fn same_person_variants_match_at_the_default_level() {
    let e = engine();
    let base = astronaut();
    // The reference: an ID-photo-sized head-and-shoulders crop.
    let id = scaled(&crop(&base, 130, 20, 190, 240), 152, 192);
    let reference = photo(&via(&id, ImageFormat::Jpeg));
    let variants: Vec<(&str, RgbImage)> = vec![
        ("original", base.clone()),
        ("tight crop", crop(&base, 150, 50, 160, 180)),
        ("rotated 12°", rotate(&base, 12.0)),
        ("darker", map_pixels(&base, |v| (f32::from(v) * 0.55) as u8)),
        (
            "brighter",
            map_pixels(&base, |v| (f32::from(v) * 1.25).min(255.0) as u8),
        ),
        (
            "JPEG quality 20",
            decode(&jpeg(&base, 20), DecodeLimits::default()).unwrap(),
        ),
        ("downscaled to 256", scaled(&base, 256, 256)),
        ("WebP", via(&base, ImageFormat::WebP)),
    ];
    for (name, img) in variants {
        let probe = photo(&img);
        let v = e.verify(&reference, &probe, MatchLevel::DEFAULT).unwrap();
        assert!(
            v.matched,
            "{name}: similarity {} level {:?}",
            v.similarity, v.level
        );
    }
}

#[test]
fn a_different_person_does_not_match() {
    let e = engine();
    let v = e
        .verify(&photo(&astronaut()), &photo(&camera()), MatchLevel::MIN)
        .unwrap();
    assert!(!v.matched, "similarity {}", v.similarity);
    assert!(v.similarity < 0.3, "similarity {}", v.similarity);
    assert_eq!(v.level, None);
}

#[test]
fn a_rotated_face_is_measured_as_roll() {
    let a = photo(&rotate(&astronaut(), 15.0));
    let pose = a.face.unwrap().signals.unwrap().pose;
    let base = photo(&astronaut()).face.unwrap().signals.unwrap().pose;
    assert!(
        (pose.roll - base.roll - 15.0).abs() < 4.0,
        "{pose:?} vs {base:?}"
    );
}

#[test]
fn mirroring_flips_yaw_and_roll() {
    let a = photo(&camera()).face.unwrap().signals.unwrap().pose;
    let b = photo(&flip(&camera())).face.unwrap().signals.unwrap().pose;
    assert!(a.yaw.abs() > 15.0, "the cameraman looks aside: {a:?}");
    assert!((a.yaw + b.yaw).abs() < 8.0, "{a:?} vs {b:?}");
    assert!((a.roll + b.roll).abs() < 5.0, "{a:?} vs {b:?}");
}

#[test]
fn exif_orientation_is_applied() {
    // Stored rotated a quarter turn anticlockwise, with orientation 6 ("rotate 90° clockwise to display").
    let stored = image::imageops::rotate270(&crop(&astronaut(), 0, 0, 512, 400));
    let bytes = jpeg_with_orientation(&stored, 6);
    let img = decode(&bytes, DecodeLimits::default()).unwrap();
    assert_eq!(img.dimensions(), (512, 400));
    let a = photo(&img);
    assert_eq!(a.faces.len(), 1);
    assert!(a.face.unwrap().signals.unwrap().pose.roll.abs() < 10.0);
}

#[test]
fn five_faces_are_all_found_and_reported() {
    let face = crop(&astronaut(), 130, 40, 190, 210);
    let mut canvas = RgbImage::from_pixel(5 * 200, 230, image::Rgb([90, 90, 90]));
    for i in 0..5 {
        image::imageops::overlay(&mut canvas, &face, i * 200 + 5, 10);
    }
    let a = photo(&canvas);
    assert_eq!(a.faces.len(), 5, "{:?}", a.faces);
    assert_eq!(a.quality.top_issue(), Some(QualityIssue::MultipleFaces));
}

#[test]
fn an_image_without_a_face() {
    // The shuttle and the sky of the astronaut photo hold no face.
    let img = crop(&astronaut(), 340, 0, 172, 300);
    let a = photo(&img);
    assert!(a.faces.is_empty());
    assert_eq!(a.quality.issues, vec![QualityIssue::NoFace]);
    let err = engine()
        .verify(&photo(&astronaut()), &a, MatchLevel::DEFAULT)
        .unwrap_err();
    assert!(
        matches!(err, FaceError::NoFace(ref w) if w == "probe"),
        "{err}"
    );
    assert_eq!(err.to_string(), "no face found in the probe image");
}

#[test]
fn dark_and_blurred_faces_are_named() {
    let e = engine();
    let mut live = e.live_options();
    live.embed = EmbedWhen::Never;
    let dark = map_pixels(&astronaut(), |v| v / 6);
    let a = e.analyze(&dark, &live).unwrap();
    assert!(
        a.quality.issues.contains(&QualityIssue::TooDark),
        "{:?}",
        a.quality
    );
    let blurred = scaled(&scaled(&astronaut(), 96, 96), 512, 512);
    let a = e.analyze(&blurred, &live).unwrap();
    assert!(
        a.quality.issues.contains(&QualityIssue::Blurry),
        "{:?}",
        a.quality
    );
    let a = e.analyze(&astronaut(), &live).unwrap();
    assert!(
        !a.quality.issues.contains(&QualityIssue::Blurry),
        "{:?}",
        a.quality
    );
}

#[test]
fn embeddings_only_for_good_live_frames() {
    let e = engine();
    let live = e.live_options();
    // A face in the corner of the frame is too small and off centre: no embedding.
    let mut frame = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::overlay(&mut frame, &scaled(&astronaut(), 360, 360), 0, 0);
    let a = e.analyze(&frame, &live).unwrap();
    assert!(
        a.quality.issues.contains(&QualityIssue::FaceTooSmall),
        "{:?}",
        a.quality
    );
    assert!(
        a.quality.issues.contains(&QualityIssue::FaceOffCenter),
        "{:?}",
        a.quality
    );
    assert!(a.face.unwrap().embedding.is_none());
    // Centred and close enough, the same face is good and embedded.
    let mut frame = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::overlay(
        &mut frame,
        &scaled(&crop(&astronaut(), 100, 0, 320, 360), 400, 450),
        120,
        15,
    );
    let a = e.analyze(&frame, &live).unwrap();
    assert!(a.quality.is_good(), "{:?}", a.quality);
    assert!(a.face.unwrap().embedding.is_some());
}

/// A face-free backdrop (smooth gradients) of `w`×`h`.
fn backdrop(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = 90.0 + 40.0 * ((x as f32) / 197.0).sin() * ((y as f32) / 131.0).cos();
        let g = v as u8;
        image::Rgb([g, g.saturating_add(8), g.saturating_sub(6)])
    })
}

/// The astronaut's 5 alignment points and eye distance, scaled by `k` and shifted by `at`.
fn astronaut_points(k: f32, at: (f32, f32)) -> ([facekiosk_face::geometry::Point; 5], f32) {
    let a = photo(&astronaut());
    let l = a.face.unwrap().landmarks.unwrap();
    let p = l
        .alignment_points()
        .map(|p| facekiosk_face::geometry::Point::new(p.x * k + at.0, p.y * k + at.1));
    (p, p[0].distance(p[1]))
}

#[test]
fn a_small_face_in_a_large_photo_is_located_precisely() {
    // The astronaut shrunk so the face is about 45 px wide, off centre in a 1920×1080 photo:
    // 3 px in the whole-frame detector input, too coarse to place the landmark crop unless the
    // face is looked at again at the photo's resolution (without, the right eye comes out half
    // an eye distance off and the similarity falls to 0.2).
    let k = 0.35;
    let small = scaled(&astronaut(), (512.0 * k) as u32, (512.0 * k) as u32);
    let at = (1200u32, 308u32);
    let mut canvas = backdrop(1920, 1080);
    image::imageops::overlay(&mut canvas, &small, i64::from(at.0), i64::from(at.1));
    let a = photo(&canvas);
    let (expected, eyes) = astronaut_points(k, (at.0 as f32, at.1 as f32));
    let found = a.face.as_ref().unwrap().landmarks.as_ref().unwrap();
    for (p, q) in found.alignment_points().iter().zip(&expected) {
        assert!(
            p.distance(*q) < 0.1 * eyes,
            "point {p:?} is {:.1} eye distances from {q:?}",
            p.distance(*q) / eyes
        );
    }
    assert!(
        !a.quality.issues.contains(&QualityIssue::FaceUnclear)
            && !a.quality.issues.contains(&QualityIssue::MultipleFaces),
        "{:?}",
        a.quality
    );
    // And it still matches the full-size photo.
    let v = engine()
        .verify(&photo(&astronaut()), &a, MatchLevel::DEFAULT)
        .unwrap();
    assert!(v.matched, "{v:?}");
}

#[test]
fn a_tiny_face_the_whole_frame_pass_misses_is_found_in_tiles() {
    // A face about 40 px wide in a 3000×2000 photo: 2 px in the whole-frame input, 7 px in a
    // tile of half the photo's side, 13 px in one of a quarter.
    let k = 0.3;
    let small = scaled(&astronaut(), (512.0 * k) as u32, (512.0 * k) as u32);
    let mut canvas = backdrop(3000, 2000);
    image::imageops::overlay(&mut canvas, &small, 1875, 571);
    let (expected, eyes) = astronaut_points(k, (1875.0, 571.0));
    let nose = expected[2];
    let near = |d: &facekiosk_face::detect::Detection| d.bbox.center().distance(nose) < 2.0 * eyes;
    let e = engine();
    let whole = e.detect(&canvas).unwrap();
    assert!(!whole.iter().any(near), "the test needs a miss: {whole:?}");
    // A photo is searched again in tiles; the landmark model rejects the tiles' false finds.
    let a = photo(&canvas);
    assert!(near(&a.faces[0]), "{:?}", a.faces);
    assert_eq!(a.faces.len(), 1, "{:?}", a.faces);
    let found = a.face.as_ref().unwrap().landmarks.as_ref().unwrap();
    assert!(found.presence >= 0.5, "{}", found.presence);
    let c = found.alignment_points()[2];
    assert!(c.distance(nose) < 0.2 * eyes, "{c:?} vs {nose:?}");
    assert!(
        !a.quality.issues.contains(&QualityIssue::FaceUnclear),
        "{:?}",
        a.quality
    );
    // Camera frames are not searched in tiles.
    let live = e.analyze(&canvas, &e.live_options()).unwrap();
    assert!(live.faces.is_empty());
}

#[test]
fn the_landmark_model_tells_a_face_from_background() {
    // What decides between detections: the landmark model's presence is high on the face and low
    // on a face-sized patch of the shuttle and sky.
    let e = engine();
    let model = e.landmark_model().unwrap();
    let img = astronaut();
    let face = photo(&img).faces[0];
    assert!(model.landmarks(&img, &face).unwrap().presence > 0.9);
    let elsewhere = face.map(|p| facekiosk_face::geometry::Point::new(p.x + 200.0, p.y - 60.0));
    let p = model.landmarks(&img, &elsewhere).unwrap().presence;
    assert!(p < 0.5, "presence {p} on background");
}

#[test]
fn a_camera_frame_of_a_turned_head_is_looked_at_again_until_the_landmarks_fit() {
    // The cameraman looks aside (yaw ≈ 45°): the whole-frame box is too coarse for the
    // landmark crop, whose presence then falls below 0.5. The live analysis looks again at full
    // resolution instead of calling the face unclear.
    let cam = camera();
    let face = image::imageops::crop_imm(&cam, 120, 40, 240, 260).to_image();
    let big = image::imageops::resize(&face, 330, 358, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(640, 480, image::Rgb([120, 120, 120]));
    image::imageops::overlay(&mut frame, &big, 155, 60);
    let e = engine();
    let coarse = e.detect(&frame).unwrap();
    let model = e.landmark_model().unwrap();
    let first = model.landmarks(&frame, &coarse[0]).unwrap();
    assert!(
        first.presence < 0.5,
        "the test needs a misplaced crop: {}",
        first.presence
    );
    let a = e.analyze(&frame, &e.live_options()).unwrap();
    let l = a.face.as_ref().unwrap().landmarks.as_ref().unwrap();
    assert!(l.presence >= 0.9, "{}", l.presence);
    assert!(
        !a.quality.issues.contains(&QualityIssue::FaceUnclear),
        "{:?}",
        a.quality
    );
    let yaw = a.quality.metrics.as_ref().map(|m| m.pose.yaw);
    assert!(yaw.is_some_and(|y| y.abs() > 35.0), "{yaw:?}");
}
