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
use facekiosk_session::{LivenessMode, SessionOptions, SessionPolicy};
use facekiosk_synth::demo::{FPS, PHOTO, clip_frames, id_photo};

use facekiosk_runner::{RunSetup, SourceSpec};
use facekiosk_session::claims::ReferenceSource;

use crate::cmd::runtime::describe;
use crate::cmd::session::{Printer, print_ending, reference};
use crate::cmd::unix_ms;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

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
