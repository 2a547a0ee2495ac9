//! `facekiosk demo`: the kiosk's main job on the embedded defaults — a whole face session.
//!
//! The project ships no video of a person, so the demo makes its own clip from the built-in
//! test photo (the NASA astronaut portrait): a few frames with the face too far away, then the
//! face well framed with a little movement, at 15 frames/s, written as an MJPEG AVI and played
//! through the same video source, face engine and session engine as `facekiosk session`. The
//! reference is an ID-photo-sized crop of the same photo. A still photo cannot blink or turn its
//! head, so the demo runs in `attended` mode and says so; active liveness is proven by the session
//! engine's tests with scripted landmark tracks, and by a real camera.

use std::path::{Path, PathBuf};

use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::resample::resize;
use facekiosk_session::{LivenessMode, SessionOptions, SessionPolicy};
use image::{Rgb, RgbImage};

use facekiosk_runner::{RunSetup, SourceSpec};
use facekiosk_session::claims::ReferenceSource;

use crate::cmd::runtime::describe;
use crate::cmd::session::{Printer, print_ending, reference};
use crate::cmd::unix_ms;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// The built-in test photo.
pub const PHOTO: &[u8] = include_bytes!("../../../../tests/data/astronaut.jpg");

/// Frames per second of the demo clip.
const FPS: u32 = 15;

fn canvas(i: u32) -> RgbImage {
    // A soft studio background that changes a little from frame to frame, as a camera's would.
    RgbImage::from_fn(640, 480, |x, y| {
        let v = 150 + ((x / 8 + y / 8 + i) % 24) as u8;
        Rgb([v, v.saturating_sub(6), v.saturating_sub(14)])
    })
}

/// The clip's frames: 8 with the face too far, then 22 well framed, moving by a pixel or two.
pub fn clip_frames(photo: &RgbImage) -> Vec<RgbImage> {
    let mut frames = Vec::new();
    let far = resize(photo, 360, 360);
    for i in 0..8 {
        let mut f = canvas(i);
        image::imageops::overlay(&mut f, &far, 140, 100);
        frames.push(f);
    }
    let head = image::imageops::crop_imm(photo, 100, 0, 320, 360).to_image();
    let near = resize(&head, 400, 450);
    for i in 0..22u32 {
        let mut f = canvas(i + 8);
        let (dx, dy) = ((i % 5) as i64 - 2, (i % 3) as i64 - 1);
        image::imageops::overlay(&mut f, &near, 120 + dx, 15 + dy);
        frames.push(f);
    }
    frames
}

/// An ID-photo-sized crop (35×45 mm at ~110 dpi): a different picture of the same face.
pub fn id_photo(photo: &RgbImage) -> RgbImage {
    resize(
        &image::imageops::crop_imm(photo, 130, 20, 190, 240).to_image(),
        152,
        192,
    )
}

fn demo_dir() -> PathBuf {
    std::env::temp_dir().join("facekiosk-demo")
}

fn write_inputs(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let photo = decode(PHOTO, DecodeLimits::default())?;
    let reference = dir.join("id-photo.jpg");
    id_photo(&photo).save(&reference)?;
    let clip = dir.join("kiosk-clip.avi");
    facekiosk_capture::video::write_avi(&clip, &clip_frames(&photo), FPS)?;
    Ok((reference, clip))
}

/// Runs the demo.
pub fn run(config: &KioskConfig, out: &Output) -> anyhow::Result<Outcome> {
    let engine = crate::cmd::engine(config)?;
    let info = engine.runtime_info();
    let (identity, store) = crate::cmd::keys::identity(config)?;
    let dir = demo_dir();
    let (reference_path, clip) = write_inputs(&dir)?;
    if !out.json() {
        println!("{}", describe(&info));
        println!(
            "  face engine loaded and warmed up in {:.0} ms",
            engine.load_ms()
        );
        println!(
            "kiosk {} (keys in {})",
            identity.kiosk_id(),
            store.dir().display()
        );
        println!(
            "demo: a synthetic clip made from the built-in test photo ({clip}), against an ID-photo crop of it \
             ({reference}).\n      attended mode: a still photo cannot blink or turn its head, so no liveness \
             check runs, and the result says so.\n",
            clip = clip.display(),
            reference = reference_path.display()
        );
    }
    let reference = match reference(&engine, config, &reference_path, ReferenceSource::WalkIn) {
        Ok(r) => r,
        Err(e) => anyhow::bail!("the demo's reference photo: {e}"),
    };
    crate::cmd::sync::check_outbox(config)?;
    let mut setup = RunSetup::new(
        &engine,
        &identity,
        SessionOptions {
            session_id: format!("demo-{}", unix_ms()),
            liveness: LivenessMode::Attended,
            operator: Some("demo".to_owned()),
            walk_in: true,
            ..SessionOptions::default()
        },
    );
    setup.policy = SessionPolicy {
        allow_attended: true,
        ..config.session.clone()
    };
    setup.test_jwks = crate::cmd::keys::test_jwks(config)?;
    let mut printer = Printer {
        trace: false,
        json: out.json(),
        traces: Vec::new(),
    };
    let source = SourceSpec::new(clip.to_string_lossy(), config.capture.clone());
    let ending = setup.run(reference, source, &mut printer)?;
    crate::cmd::sync::queue_ending(config, &ending, &printer.traces)?;
    let outcome = print_ending(&ending, out)?;
    if !out.json() {
        println!(
            "\nreplay it: facekiosk session --reference {} --source {} --liveness attended \
             (with session.allow_attended = true in the configuration)",
            reference_path.display(),
            clip.display()
        );
    }
    Ok(outcome)
}
