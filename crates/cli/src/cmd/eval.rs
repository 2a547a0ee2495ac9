//! `facekiosk eval --set DIR`: detection rate, EER, TAR at FAR 1e-2 and 1e-3, the calibrated
//! levels on this set, score histograms and a DET plot; `--spoof` gives APCER/BPCER of the
//! passive liveness model.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use facekiosk_face::evaluate::{
    Histogram, SpoofMetrics, VerificationMetrics, det_curve, rate_at_or_above, spoof_metrics,
    verification_metrics,
};
use serde::Serialize;

use crate::args::EvalArgs;
use crate::cmd::engine;
use crate::config::KioskConfig;
use crate::labelled::{
    Analysed, analyse_set, embed_and_pair, identities, labels_path, read_labels,
};
use crate::output::{Outcome, Output};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LevelOnSet {
    level: u8,
    max_fmr: f64,
    threshold: f32,
    extrapolated: bool,
    tar: f64,
    fmr: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MatchReport {
    set: String,
    images: usize,
    images_with_face: usize,
    detection_rate: f64,
    unreadable: Vec<String>,
    without_face: Vec<String>,
    identities: usize,
    metrics: Option<VerificationMetrics>,
    calibration: String,
    levels: Vec<LevelOnSet>,
    genuine_histogram: Histogram,
    impostor_histogram: Histogram,
    plot: Option<PathBuf>,
    seconds: f64,
}

/// Runs `eval`.
pub fn run(config: &KioskConfig, args: &EvalArgs, out: &Output) -> anyhow::Result<Outcome> {
    if args.spoof {
        return run_spoof(config, args, out);
    }
    let engine = engine(config)?;
    let labels = read_labels(&labels_path(&args.set, args.labels.as_deref())?)?;
    let started = Instant::now();
    let (set, genuine, impostor) = embed_and_pair(&engine, &args.set, &labels, args.face);
    if let Some(path) = &args.scores {
        write_scores(path, &set)?;
    }
    let metrics = verification_metrics(&genuine, &impostor);
    let (calibration, origin) = engine.calibration();
    let levels = calibration
        .levels
        .iter()
        .map(|l| LevelOnSet {
            level: l.level.get(),
            max_fmr: l.max_fmr,
            threshold: l.threshold,
            extrapolated: l.extrapolated,
            tar: rate_at_or_above(&genuine, l.threshold),
            fmr: rate_at_or_above(&impostor, l.threshold),
        })
        .collect();
    let genuine_histogram = Histogram::of(&genuine, -0.4, 1.0, 28);
    let impostor_histogram = Histogram::of(&impostor, -0.4, 1.0, 28);
    let plot = args
        .plot
        .clone()
        .or_else(|| Some(PathBuf::from("eval-det.png")));
    if let Some(path) = &plot
        && metrics.is_some()
    {
        crate::plot::det_and_histograms(
            path,
            &format!("FaceKiosk on {}", args.set.display()),
            &det_curve(&genuine, &impostor),
            &genuine_histogram,
            &impostor_histogram,
            calibration,
        )?;
    }
    let with_face = set.iter().filter(|a| a.embedding().is_some()).count();
    let report = MatchReport {
        set: args.set.display().to_string(),
        images: set.len(),
        images_with_face: with_face,
        detection_rate: with_face as f64 / set.len().max(1) as f64,
        unreadable: failures(&set, |a| a.analysis.is_err()),
        without_face: failures(&set, |a| a.analysis.is_ok() && a.embedding().is_none()),
        identities: identities(&set),
        metrics,
        calibration: origin.display().to_string(),
        levels,
        genuine_histogram,
        impostor_histogram,
        plot: plot.filter(|_| !genuine.is_empty() && !impostor.is_empty()),
        seconds: started.elapsed().as_secs_f64(),
    };
    out.print(&report, || describe(&report))?;
    Ok(Outcome::Success)
}

/// Every pair's score, for failure analysis: `file_a,file_b,genuine,score`.
fn write_scores(path: &std::path::Path, set: &[Analysed]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file = std::fs::File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "file_a,file_b,genuine,score")?;
    let embedded: Vec<(&Analysed, &facekiosk_face::embed::Embedding)> = set
        .iter()
        .filter_map(|a| a.embedding().map(|e| (a, e)))
        .collect();
    for (i, (a, ea)) in embedded.iter().enumerate() {
        for (b, eb) in &embedded[i + 1..] {
            writeln!(
                w,
                "{},{},{},{:.5}",
                a.image.file,
                b.image.file,
                u8::from(a.image.label == b.image.label),
                ea.similarity(eb)
            )?;
        }
    }
    w.flush()?;
    Ok(())
}

fn failures(set: &[Analysed], pred: impl Fn(&Analysed) -> bool) -> Vec<String> {
    set.iter()
        .filter(|a| pred(a))
        .map(|a| match &a.analysis {
            Err(e) => format!("{}: {e}", a.image.file),
            Ok(_) => a.image.file.clone(),
        })
        .collect()
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn describe(r: &MatchReport) -> String {
    let mut s = format!(
        "{}: {} labelled images, {} identities\n  detection: {}/{} images with a face ({})\n",
        r.set,
        r.images,
        r.identities,
        r.images_with_face,
        r.images,
        pct(r.detection_rate)
    );
    for f in r.unreadable.iter().chain(&r.without_face) {
        s.push_str(&format!("    no face: {f}\n"));
    }
    let Some(m) = &r.metrics else {
        s.push_str(
            "  not enough pairs for metrics (need at least one genuine and one impostor pair)\n",
        );
        return s;
    };
    s.push_str(&format!(
        "  pairs: {} genuine, {} impostor\n  EER {} (threshold {:.3})\n  TAR at FAR 1e-2: {} (threshold {:.3})\n  \
         TAR at FAR 1e-3: {} (threshold {:.3})\n  genuine mean {:.3} (min {:.3}); impostor mean {:.3} (max {:.3})\n",
        m.genuine_pairs,
        m.impostor_pairs,
        pct(m.eer),
        m.eer_threshold,
        pct(m.tar_at_far_1e2),
        m.threshold_at_far_1e2,
        pct(m.tar_at_far_1e3),
        m.threshold_at_far_1e3,
        m.genuine_mean,
        m.genuine_min,
        m.impostor_mean,
        m.impostor_max
    ));
    s.push_str(&format!(
        "  calibrated levels ({}) on this set:\n",
        r.calibration
    ));
    for l in &r.levels {
        s.push_str(&format!(
            "    level {} (FMR ≤ {:.0e}{}): threshold {:.3}  TAR {}  FMR {}\n",
            l.level,
            l.max_fmr,
            if l.extrapolated { ", extrapolated" } else { "" },
            l.threshold,
            pct(l.tar),
            pct(l.fmr)
        ));
    }
    if let Some(p) = &r.plot {
        s.push_str(&format!("  plot: {}\n", p.display()));
    }
    s.push_str(&format!("  time: {:.1} s", r.seconds));
    s
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpoofReport {
    set: String,
    metrics: SpoofMetrics,
    no_face: Vec<String>,
    scores: Vec<SpoofScore>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpoofScore {
    file: String,
    label: String,
    logit: Option<f32>,
    live: Option<bool>,
}

fn is_attack(label: &str) -> Option<bool> {
    match label.to_ascii_lowercase().as_str() {
        "attack" | "spoof" | "fake" => Some(true),
        "live" | "real" | "bona_fide" | "bonafide" => Some(false),
        _ => None,
    }
}

fn run_spoof(config: &KioskConfig, args: &EvalArgs, out: &Output) -> anyhow::Result<Outcome> {
    let engine = engine(config)?;
    if !engine.has_passive_liveness() {
        bail!(
            "--spoof evaluates the passive liveness model, and none is installed \
             (install one with `facekiosk models install DIR`, or point --models at its directory)"
        );
    }
    let labels = read_labels(&labels_path(&args.set, args.labels.as_deref())?)?;
    for l in &labels {
        if is_attack(&l.label).is_none() {
            bail!("{}: label `{}` must be live or attack", l.file, l.label);
        }
    }
    let mut options = engine.photo_options();
    options.embed = facekiosk_face::engine::EmbedWhen::Never;
    options.landmarks = false;
    let set = analyse_set(&engine, &args.set, &labels, &options, "liveness");
    let mut attack_scores = Vec::new();
    let mut live_scores = Vec::new();
    let mut scores = Vec::new();
    let mut no_face = Vec::new();
    let threshold = engine.passive_liveness_threshold().unwrap_or(0.0);
    for a in &set {
        let attack = is_attack(&a.image.label).unwrap_or(true);
        let passive = a
            .analysis
            .as_ref()
            .ok()
            .and_then(|f| f.face.as_ref())
            .and_then(|f| f.passive);
        match passive {
            // No face found: an attack is rejected (fine), a live face is rejected (an error).
            None => {
                no_face.push(a.image.file.clone());
                if attack {
                    attack_scores.push(f32::NEG_INFINITY);
                } else {
                    live_scores.push(f32::NEG_INFINITY);
                }
            }
            Some(p) => {
                if attack {
                    attack_scores.push(p.logit);
                } else {
                    live_scores.push(p.logit);
                }
            }
        }
        scores.push(SpoofScore {
            file: a.image.file.clone(),
            label: a.image.label.clone(),
            logit: passive.map(|p| p.logit),
            live: passive.map(|p| p.live),
        });
    }
    let report = SpoofReport {
        set: args.set.display().to_string(),
        metrics: spoof_metrics(&attack_scores, &live_scores, threshold),
        no_face,
        scores,
    };
    out.print(&report, || {
        let m = &report.metrics;
        let mut s = format!(
            "{}: {} attack and {} bona fide presentations\n  APCER {} (attacks accepted as live)\n  \
             BPCER {} (live faces rejected)\n",
            report.set,
            m.attacks,
            m.bona_fide,
            pct(m.apcer),
            pct(m.bpcer)
        );
        for sc in &report.scores {
            s.push_str(&format!(
                "    {:<28} {:<8} {}\n",
                sc.file,
                sc.label,
                sc.logit.map_or_else(|| "no face".to_owned(), |l| format!("{l:+.2}"))
            ));
        }
        s
    })?;
    Ok(Outcome::Success)
}
