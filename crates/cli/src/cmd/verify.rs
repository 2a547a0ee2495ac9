//! `facekiosk verify --reference ID --probe SELFIE`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;

use facekiosk_face::decode::decode_file;
use facekiosk_face::engine::{FaceEngine, FrameAnalysis, StageTimings, Verification};
use facekiosk_face::matching::MatchLevel;
use facekiosk_face::quality::QualityReport;
use serde::Serialize;

use crate::args::VerifyArgs;
use crate::cmd::{engine, quality_text};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhotoSummary {
    file: String,
    width: u32,
    height: u32,
    faces: usize,
    quality: QualityReport,
    timings: StageTimings,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyReport {
    decision: &'static str,
    #[serde(flatten)]
    verification: Verification,
    level_extrapolated: bool,
    reference: PhotoSummary,
    probe: PhotoSummary,
    liveness: LivenessSummary,
    provider: String,
    total_ms: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LivenessSummary {
    checked: bool,
    live: Option<bool>,
    note: &'static str,
}

/// Runs `verify`.
pub fn run(config: &KioskConfig, args: &VerifyArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = engine(config)?;
    let minimum = MatchLevel::new(args.minimum_match_level)
        .ok_or_else(|| anyhow::anyhow!("--minimum-match-level must be 1 to 5"))?;
    let started = Instant::now();
    // The two photos are decoded and analysed at once, one thread each.
    let (reference, probe) = std::thread::scope(|scope| {
        let probe = scope.spawn(|| analyze(&engine, config, &args.probe));
        let reference = analyze(&engine, config, &args.reference);
        let probe = probe
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the probe's analysis stopped unexpectedly")));
        (reference, probe)
    });
    let (reference, probe) = (reference?, probe?);
    let verification = engine.verify(&reference, &probe, minimum)?;
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    let (calibration, _) = engine.calibration();
    let level_extrapolated = calibration
        .levels
        .get(usize::from(minimum.get()) - 1)
        .is_some_and(|l| l.extrapolated);
    let liveness = match verification.probe_liveness {
        Some(p) => LivenessSummary {
            checked: true,
            live: Some(p.live),
            note: "passive liveness model on the probe photo",
        },
        None => LivenessSummary {
            checked: false,
            live: None,
            note: "no passive liveness model installed; a still photo cannot show blinks or head turns",
        },
    };
    let spoof = liveness.live == Some(false);
    let report = VerifyReport {
        decision: if verification.matched && !spoof {
            "MATCH"
        } else if spoof {
            "LIVENESS_FAILED"
        } else {
            "NO_MATCH"
        },
        level_extrapolated,
        reference: summary(&args.reference, &reference),
        probe: summary(&args.probe, &probe),
        liveness,
        provider: engine.runtime_info().provider.to_string(),
        total_ms,
        verification,
    };
    out.print(&report, || describe(&report))?;
    Ok(if report.decision == "MATCH" {
        Outcome::Success
    } else {
        Outcome::Negative
    })
}

fn analyze(
    engine: &FaceEngine,
    config: &KioskConfig,
    path: &Path,
) -> anyhow::Result<FrameAnalysis> {
    let t = Instant::now();
    let img = decode_file(path, config.face.decode).with_context(|| path.display().to_string())?;
    let decode_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut a = engine.analyze(&img, &engine.photo_options())?;
    a.timings.decode_ms = decode_ms;
    Ok(a)
}

fn summary(path: &Path, a: &FrameAnalysis) -> PhotoSummary {
    PhotoSummary {
        file: path.display().to_string(),
        width: a.width,
        height: a.height,
        faces: a.faces.len(),
        quality: a.quality.clone(),
        timings: a.timings,
    }
}

fn describe(r: &VerifyReport) -> String {
    let v = &r.verification;
    let level = v.level.map_or_else(|| "none".to_owned(), |l| l.to_string());
    format!(
        "{}\n  similarity {:.3}; match level reached: {} (required {}, threshold {:.3}{})\n  \
         liveness: {}\n  reference: {} faces, quality {}\n  probe:     {} faces, quality {}\n  \
         time: {:.0} ms on {} (reference {:.0} ms, probe {:.0} ms)",
        r.decision,
        v.similarity,
        level,
        v.minimum_level,
        v.threshold,
        if r.level_extrapolated {
            ", extrapolated level"
        } else {
            ""
        },
        match r.liveness.live {
            Some(true) => "live (passive model)".to_owned(),
            Some(false) => "SPOOF (passive model)".to_owned(),
            None => format!("not checked: {}", r.liveness.note),
        },
        r.reference.faces,
        quality_text(&r.reference.quality),
        r.probe.faces,
        quality_text(&r.probe.quality),
        r.total_ms,
        r.provider,
        r.reference.timings.total_ms(),
        r.probe.timings.total_ms(),
    )
}
