//! The rendered head through the real models: found in every frame, its measured yaw follows
//! the rendered one, and a print of it turned by hand does not read as a turn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::OnceLock;

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::{FaceConfig, FaceEngine};
use facekiosk_face::runtime::RuntimeConfig;
use facekiosk_synth::camera::{Camera, capture};
use facekiosk_synth::head::{Head, Pose};
use facekiosk_synth::print::{Picture, Placement, flat};
use facekiosk_synth::raster::Canvas;
use rand::SeedableRng;

fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let runtime = RuntimeConfig {
            intra_threads: 1,
            ..RuntimeConfig::default()
        };
        FaceEngine::load(&runtime, &FaceConfig::default()).expect("the face engine loads")
    })
}

fn astronaut_head() -> Head {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/astronaut.jpg");
    let photo = decode(&std::fs::read(path).unwrap(), DecodeLimits::default()).unwrap();
    let a = engine().analyze(&photo, &engine().photo_options()).unwrap();
    let lm = a.face.unwrap().landmarks.unwrap();
    Head::new(&photo, &lm, 90.0).unwrap()
}

fn measured_yaw(img: &image::RgbImage) -> Option<f32> {
    let a = engine().analyze(img, &engine().live_options()).ok()?;
    a.face?.signals.map(|s| s.pose.yaw)
}

#[test]
fn the_rendered_head_turns_as_rendered() {
    let head = astronaut_head();
    let cam = Camera::new(1.3 * 640.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let bg = Canvas::filled(640, 480, [120.0, 130.0, 140.0]);
    let mut measured = Vec::new();
    for yaw in [-30.0f32, -15.0, 0.0, 15.0, 30.0] {
        let pose = Pose {
            yaw,
            position: [0.0, 0.0, 600.0],
            ..Pose::default()
        };
        let (frame, _) = head.render(&cam, &pose, &bg);
        let img = capture(&frame, &mut rng);
        if std::env::var_os("SYNTH_SAVE").is_some() {
            img.save(format!("/tmp/synth-yaw{yaw}.png")).unwrap();
        }
        let m = measured_yaw(&img).unwrap_or_else(|| panic!("no face at yaw {yaw}"));
        measured.push((yaw, m));
    }
    // Monotone, the right sign, and roughly the right size.
    for w in measured.windows(2) {
        assert!(w[1].1 > w[0].1 + 5.0, "{measured:?}");
    }
    let (_, left) = measured[4];
    assert!(left > 15.0, "{measured:?}");
}

#[test]
fn a_print_turned_by_hand_does_not_read_as_a_turn() {
    let head = astronaut_head();
    let cam = Camera::new(1.3 * 640.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let bg = Canvas::filled(640, 480, [90.0, 140.0, 90.0]);
    let pic = Picture {
        image: head.photo(),
        mm_per_px: head.mm_per_px(),
        anchor_px: head.centre_px(),
        border: (10, [245.0, 245.0, 240.0]),
    };
    let mut max_yaw = 0.0f32;
    for yaw in [0.0f32, 20.0, 35.0] {
        let at = Placement {
            yaw,
            position: [0.0, 0.0, 550.0],
            ..Placement::default()
        };
        let img = capture(&flat(&cam, &pic, &at, &bg), &mut rng);
        if std::env::var_os("SYNTH_SAVE").is_some() {
            img.save(format!("/tmp/synth-print{yaw}.png")).unwrap();
        }
        if let Some(m) = measured_yaw(&img) {
            max_yaw = max_yaw.max(m.abs());
        }
    }
    assert!(max_yaw < 15.0, "a print turned 35° read as {max_yaw}°");
}

#[test]
#[ignore = "timing probe for development: cargo test -p facekiosk-synth --test render -- --ignored --nocapture"]
fn timing_probe() {
    let head = astronaut_head();
    let cam = Camera::new(1.3 * 640.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let bg = Canvas::filled(640, 480, [120.0, 130.0, 140.0]);
    let pose = Pose {
        yaw: 10.0,
        position: [0.0, 0.0, 600.0],
        ..Pose::default()
    };
    let t = std::time::Instant::now();
    let (frame, _) = head.render(&cam, &pose, &bg);
    let r = t.elapsed();
    let t = std::time::Instant::now();
    let _img = capture(&frame, &mut rng);
    eprintln!("render {:?} capture {:?}", r, t.elapsed());
}

#[test]
#[ignore = "timing probe for development"]
fn timing_probe_capture() {
    let mut c = Canvas::filled(640, 480, [120.0, 130.0, 140.0]);
    let t = std::time::Instant::now();
    c.blur(0.8);
    eprintln!("blur {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let rgb = c.to_rgb();
    eprintln!("to_rgb {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
        .encode_image(&rgb)
        .unwrap();
    eprintln!("encode {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).unwrap();
    eprintln!("decode {:?}", t.elapsed());
}
