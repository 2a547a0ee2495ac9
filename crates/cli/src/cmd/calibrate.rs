//! `facekiosk calibrate --set DIR`: match-level thresholds from a labelled set.

use std::path::PathBuf;

use anyhow::bail;
use facekiosk_face::evaluate::calibrate;
use facekiosk_face::manifest::Role;
use facekiosk_face::matching::{Calibration, CalibrationSet};

use crate::args::CalibrateArgs;
use crate::cmd::engine;
use crate::config::KioskConfig;
use crate::labelled::{embed_and_pair, identities, labels_path, read_labels};
use crate::output::{Outcome, Output};

/// Runs `calibrate`.
pub fn run(config: &KioskConfig, args: &CalibrateArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = engine(config)?;
    let labels = read_labels(&labels_path(&args.set, args.labels.as_deref())?)?;
    let (set, genuine, impostor) = embed_and_pair(&engine, &args.set, &labels);
    if genuine.is_empty() || impostor.len() < 20 {
        bail!(
            "{} gives {} genuine and {} impostor pairs; calibration needs at least 1 and 20",
            args.set.display(),
            genuine.len(),
            impostor.len()
        );
    }
    let embedder = engine
        .models()
        .into_iter()
        .find(|m| m.role == Role::Embedder)
        .ok_or_else(|| anyhow::anyhow!("no embedder loaded"))?;
    let name = args
        .name
        .clone()
        .or_else(|| {
            args.set
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "set".to_owned());
    let cfg = engine.config();
    let pipeline = format!(
        "detector {:?} (min score {}), alignment by {}, embedder {}",
        cfg.detector_range,
        cfg.detector.min_score,
        if engine.aligns_by_landmarks() {
            "dense landmarks (5 points)"
        } else {
            "detector keypoints (4 points)"
        },
        embedder.file
    )
    .to_lowercase();
    let set_info = CalibrationSet {
        name,
        images: set.iter().filter(|a| a.embedding().is_some()).count(),
        identities: identities(&set),
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
    };
    let calibration = calibrate(&genuine, &impostor, &embedder.sha256, &pipeline, set_info)
        .ok_or_else(|| anyhow::anyhow!("not enough pairs to calibrate"))?;
    let path = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("calibration.json"));
    calibration.write(&path)?;
    // Read it back through the same validation the engine applies.
    Calibration::read(&path)?;
    out.print(&calibration, || describe(&calibration, &path))?;
    Ok(Outcome::Success)
}

fn describe(c: &Calibration, path: &std::path::Path) -> String {
    let mut s = format!(
        "wrote {}\n  set {}: {} images, {} identities, {} genuine / {} impostor pairs\n",
        path.display(),
        c.set.name,
        c.set.images,
        c.set.identities,
        c.set.genuine_pairs,
        c.set.impostor_pairs
    );
    for l in &c.levels {
        s.push_str(&format!(
            "  level {} (FMR ≤ {:.0e}): threshold {:.4}{}  observed FMR {:.2} %, TMR {:.1} %\n",
            l.level,
            l.max_fmr,
            l.threshold,
            if l.extrapolated {
                " (extrapolated)"
            } else {
                ""
            },
            l.observed_fmr * 100.0,
            l.observed_tmr * 100.0
        ));
    }
    s.push_str(&format!("  method: {}", c.method));
    s
}
