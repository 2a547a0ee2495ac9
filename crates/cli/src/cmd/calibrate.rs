//! `facekiosk calibrate --set DIR`: match-level thresholds measured on a labelled set, with
//! identity-disjoint splits and exact upper bounds (see `facekiosk_face::calibrate`).

use anyhow::{Context as _, bail};
use facekiosk_face::calibrate::{SplitOptions, calibrate_split};
use facekiosk_face::embed::Embedding;
use facekiosk_face::evaluate::det_curve;
use facekiosk_face::manifest::{Role, sha256_hex};
use facekiosk_face::matching::{Calibration, CalibrationSet};

use crate::args::CalibrateArgs;
use crate::cmd::engine;
use crate::config::KioskConfig;
use crate::labelled::{analyse_set, embedding_options, identities, labels_path, read_labels};
use crate::output::{Outcome, Output};

/// Runs `calibrate`.
pub fn run(config: &KioskConfig, args: &CalibrateArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = engine(config)?;
    let labels_file = labels_path(&args.set, args.labels.as_deref())?;
    let labels_sha256 = sha256_hex(
        &std::fs::read(&labels_file)
            .with_context(|| format!("cannot read {}", labels_file.display()))?,
    );
    let labels = read_labels(&labels_file)?;
    let set = analyse_set(
        &engine,
        &args.set,
        &labels,
        &embedding_options(&engine, args.face),
        "embedding",
    );
    let items: Vec<(String, Embedding)> = set
        .iter()
        .filter_map(|a| a.embedding().map(|e| (a.image.label.clone(), e.clone())))
        .collect();
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
                .canonicalize()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "set".to_owned());
    let cfg = engine.config();
    let pipeline = format!(
        "detector {:?} (min score {}), face choice {:?}, alignment by {}, embedder {}",
        cfg.detector_range,
        cfg.detector.min_score,
        args.face,
        if engine.aligns_by_landmarks() {
            "dense landmarks (5 points)"
        } else {
            "detector keypoints (4 points)"
        },
        embedder.file
    )
    .to_lowercase();
    let n = items.len();
    let set_info = CalibrationSet {
        name,
        images: n,
        identities: identities(&set),
        genuine_pairs: 0,
        impostor_pairs: 0,
        labels_sha256: Some(labels_sha256),
        images_without_face: Some(set.len() - n),
    };
    let options = SplitOptions {
        seed: args.seed,
        holdout: args.holdout,
        margin: args.margin,
        ..SplitOptions::default()
    };
    let Some((mut calibration, _, measure)) =
        calibrate_split(&items, &embedder.sha256, &pipeline, set_info, &options)
    else {
        bail!(
            "{} has too few genuine or impostor pairs on one side of the split to calibrate \
             ({} images with a face, {} identities)",
            args.set.display(),
            n,
            identities(&set)
        );
    };
    // Every pair of the whole set, for the record.
    let by_label = items.iter().fold(
        std::collections::BTreeMap::<&str, usize>::new(),
        |mut m, (l, _)| {
            *m.entry(l.as_str()).or_default() += 1;
            m
        },
    );
    let genuine: usize = by_label.values().map(|c| c * c.saturating_sub(1) / 2).sum();
    calibration.set.genuine_pairs = genuine;
    calibration.set.impostor_pairs = n * n.saturating_sub(1) / 2 - genuine;
    calibration.write(&args.out)?;
    // Read it back through the same validation the engine applies.
    Calibration::read(&args.out)?;
    if let Some(plot) = &args.plot {
        crate::plot::calibration_det(
            plot,
            &format!(
                "FaceKiosk calibration on {} (held-out identities)",
                calibration.set.name
            ),
            &det_curve(&measure.genuine, &measure.impostors),
            &calibration,
        )?;
    }
    out.print(&calibration, || describe(&calibration, &args.out))?;
    Ok(Outcome::Success)
}

fn describe(c: &Calibration, path: &std::path::Path) -> String {
    let mut s = format!(
        "wrote {}\n  set {}: {} images with a face ({} without), {} identities, {} genuine / {} impostor pairs\n",
        path.display(),
        c.set.name,
        c.set.images,
        c.set.images_without_face.unwrap_or(0),
        c.set.identities,
        c.set.genuine_pairs,
        c.set.impostor_pairs
    );
    if let Some(sp) = &c.split {
        s.push_str(&format!(
            "  split (seed {}): {} identities chose the thresholds, {} measured them \
             ({} genuine pairs, {} impostor pairs from {} identity pairs)\n",
            sp.seed,
            sp.threshold_identities,
            sp.holdout_identities,
            sp.holdout_genuine_pairs,
            sp.holdout_impostor_pairs,
            sp.holdout_identity_pairs
        ));
    }
    for l in &c.levels {
        s.push_str(&format!(
            "  level {} (FMR ≤ {:.0e}): threshold {:.4}  {}  held-out FMR {:.2e} ({} pairs), 95 % bound {:.2e}, TAR {:.2} %\n",
            l.level,
            l.max_fmr,
            l.threshold,
            if l.extrapolated { "EXTRAPOLATED" } else { "measured" },
            l.observed_fmr,
            l.false_matches.unwrap_or(0),
            l.fmr_upper_bound.unwrap_or(f64::NAN),
            l.observed_tmr * 100.0
        ));
    }
    s.push_str(&format!("  method: {}", c.method));
    s
}
