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
