//! `facekiosk detect IMAGE`: faces, keypoints, quality of the main face.

use std::time::Instant;

use facekiosk_face::decode::decode_file;
use facekiosk_face::detect::Detection;
use facekiosk_face::engine::{FaceEngine, FrameAnalysis};
use facekiosk_face::landmarks::FaceLandmarks;
use serde::Serialize;

use crate::args::DetectArgs;
use crate::cmd::{engine, quality_text};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DetectReport<'a> {
    image: String,
    width: u32,
    height: u32,
    faces: &'a [Detection],
    quality: &'a facekiosk_face::quality::QualityReport,
    signals: Option<facekiosk_face::liveness::LivenessSignals>,
    passive_liveness: Option<facekiosk_face::liveness::PassiveScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    landmarks: Option<&'a FaceLandmarks>,
    timings: facekiosk_face::engine::StageTimings,
}

/// Runs `detect`.
pub fn run(config: &KioskConfig, args: &DetectArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = engine(config)?;
    let t = Instant::now();
    let img = decode_file(&args.image, config.face.decode)?;
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    let options = if args.live {
        engine.live_options()
    } else {
        engine.photo_options()
    };
    let mut analysis = engine.analyze(&img, &options)?;
    analysis.timings.decode_ms = decode_ms;
    if let Some(path) = &args.annotate {
        let mut canvas = img.clone();
        crate::draw::annotate(&mut canvas, &analysis);
        canvas
            .save(path)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    let face = analysis.face.as_ref();
    let report = DetectReport {
        image: args.image.display().to_string(),
        width: analysis.width,
        height: analysis.height,
        faces: &analysis.faces,
        quality: &analysis.quality,
        signals: face.and_then(|f| f.signals),
        passive_liveness: face.and_then(|f| f.passive),
        landmarks: if args.landmarks {
            face.and_then(|f| f.landmarks.as_ref())
        } else {
            None
        },
        timings: analysis.timings,
    };
    out.print(&report, || describe(&engine, args, &analysis))?;
    Ok(Outcome::Success)
}

fn describe(engine: &FaceEngine, args: &DetectArgs, a: &FrameAnalysis) -> String {
    let mut s = format!(
        "{}: {}x{}, {} face{}\n",
        args.image.display(),
        a.width,
        a.height,
        a.faces.len(),
        if a.faces.len() == 1 { "" } else { "s" }
    );
    for (i, f) in a.faces.iter().enumerate() {
        s.push_str(&format!(
            "  face {}{}: box {:.0},{:.0} {:.0}x{:.0}  score {:.2}  eyes {:.0}px apart\n",
            i + 1,
            if i == 0 { " (main)" } else { "" },
            f.bbox.x,
            f.bbox.y,
            f.bbox.width,
            f.bbox.height,
            f.score,
            f.eye_distance()
        ));
    }
    if let Some(face) = &a.face {
        if let Some(sig) = face.signals {
            s.push_str(&format!(
                "  pose: yaw {:+.0}°, pitch {:+.0}°, roll {:+.0}°; eyes {:.2}/{:.2}; mouth {:.2}\n",
                sig.pose.yaw,
                sig.pose.pitch,
                sig.pose.roll,
                sig.eye_aspect_ratio.0,
                sig.eye_aspect_ratio.1,
                sig.mouth_open
            ));
        }
        if let Some(p) = face.passive {
            s.push_str(&format!(
                "  passive liveness: {} (p(live) {:.2})\n",
                if p.live { "live" } else { "SPOOF" },
                p.probability
            ));
        } else if !engine.has_passive_liveness() {
            s.push_str("  passive liveness: no model installed\n");
        }
    }
    s.push_str(&format!("  quality: {}\n", quality_text(&a.quality)));
    s.push_str(&format!(
        "  time: decode {:.1} ms, detect {:.1} ms, landmarks {:.1} ms",
        a.timings.decode_ms, a.timings.detect_ms, a.timings.landmarks_ms
    ));
    s
}
