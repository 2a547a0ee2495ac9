//! `facekiosk bench`: median and p95 per stage, the whole per-frame pipeline in frames/s, verify
//! of two photos, model load + warm-up, peak memory — with the configured threads
//! (`runtime.intra_threads`, `runtime.embedder_threads`; by default one per model), on one
//! thread and on all cores, and optionally against the same models driven from Python
//! (onnxruntime + numpy).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, bail};
use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::embed::{AlignmentPoints, Embedder};
use facekiosk_face::engine::{EmbedWhen, FaceEngine};
use facekiosk_face::liveness::LivenessSignals;
use image::{ImageFormat, RgbImage};
use serde::{Deserialize, Serialize};

use crate::args::BenchArgs;
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};
use crate::progress::Progress;

/// The project's test photo, built in so `bench` runs anywhere.
const PHOTO: &[u8] = include_bytes!("../../../../tests/data/astronaut.jpg");

pub use super::stat::Stat;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stages {
    decode: Stat,
    detect: Stat,
    landmarks: Stat,
    align: Stat,
    embed: Stat,
    frame: Stat,
    /// The whole frame in a camera stream: the face followed from the frame before, the
    /// detector on every `face.redetect_every`-th frame (what a session's frames cost).
    #[serde(default)]
    frame_stream: Stat,
    verify: Stat,
    /// Verify with the photos one after the other (what one core can do; the Python pipeline's way).
    #[serde(default)]
    verify_sequential: Stat,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ThreadRun {
    /// `configured (I, embedder E)`, `1` or `all (N)`.
    threads: String,
    /// Threads per operator of the detectors and the landmark model (0: all cores).
    intra_threads: usize,
    /// Threads per operator of the embedder (0: all cores).
    embedder_threads: usize,
    load_ms: f64,
    stages: Stages,
    frames_per_second: f64,
}

#[derive(Debug, Deserialize, Serialize)]
struct PythonRun {
    runtime: String,
    stages: Stages,
    checks: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct BenchReport {
    build: &'static str,
    onnx_runtime: String,
    provider: String,
    cores: usize,
    iterations: usize,
    inputs: String,
    /// `face.redetect_every`: the detector runs on every this-many-th frame of a stream.
    redetect_every: u32,
    runs: Vec<ThreadRun>,
    peak_memory_mb: Option<f64>,
    session: Option<crate::cmd::bench_session::SessionBench>,
    python: Option<PythonRun>,
    /// Python with the same threads per model as the configured Rust run.
    python_same_threads: Option<PythonRun>,
    /// Python time (1 ONNX Runtime thread) / Rust time (the first run: the configured threads)
    /// for the per-frame pipeline, verify with the photos one after the other on both sides,
    /// and verify as each does it (Rust: both photos at once; Python: one after the other).
    speedup_frame: Option<f64>,
    /// Python time per frame (the whole pipeline on every frame) / Rust time per frame of a
    /// stream (the face followed, the detector every `face.redetect_every`-th frame).
    speedup_frame_stream: Option<f64>,
    /// Python with the same threads per model / Rust, per frame.
    speedup_frame_same_threads: Option<f64>,
    speedup_verify_sequential: Option<f64>,
    speedup_verify: Option<f64>,
}

struct Inputs {
    frame: RgbImage,
    photo_a: Vec<u8>,
    photo_b: Vec<u8>,
    describe: String,
}

fn inputs(args: &BenchArgs) -> anyhow::Result<Inputs> {
    let (photo_a, photo_b) = match args.photos.as_slice() {
        [] => {
            // B: the same face as a 1024×1024 photo at JPEG quality 90 (an ordinary phone crop).
            let img = decode(PHOTO, DecodeLimits::default())?;
            let big = facekiosk_face::resample::resize(&img, 1024, 1024);
            let mut b = Cursor::new(Vec::new());
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut b, 90).encode_image(&big)?;
            (PHOTO.to_vec(), b.into_inner())
        }
        [a, b] => (
            std::fs::read(a).with_context(|| format!("cannot read {}", a.display()))?,
            std::fs::read(b).with_context(|| format!("cannot read {}", b.display()))?,
        ),
        _ => bail!("--photos takes two files"),
    };
    let a = decode(&photo_a, DecodeLimits::default())?;
    let b = decode(&photo_b, DecodeLimits::default())?;
    // The frame: photo A letterboxed into 640×480, as a kiosk camera would deliver it.
    let scale = (480.0 / a.height() as f32).min(640.0 / a.width() as f32);
    let (w, h) = (
        (a.width() as f32 * scale) as u32,
        (a.height() as f32 * scale) as u32,
    );
    let small = facekiosk_face::resample::resize(&a, w, h);
    let mut frame = RgbImage::new(640, 480);
    image::imageops::overlay(
        &mut frame,
        &small,
        i64::from((640 - w) / 2),
        i64::from((480 - h) / 2),
    );
    Ok(Inputs {
        describe: format!(
            "frame 640x480 RGB; photo A {}x{} JPEG ({} KB); photo B {}x{} JPEG ({} KB)",
            a.width(),
            a.height(),
            photo_a.len() / 1024,
            b.width(),
            b.height(),
            photo_b.len() / 1024
        ),
        frame,
        photo_a,
        photo_b,
    })
}

/// Threads for one run: the configuration's (`None`), or this many for every model.
fn run_threads(
    config: &KioskConfig,
    threads: Option<usize>,
    args: &BenchArgs,
    inp: &Inputs,
) -> anyhow::Result<ThreadRun> {
    let mut runtime = config.runtime.clone();
    if let Some(t) = threads {
        runtime.intra_threads = t;
        runtime.embedder_threads = t;
    }
    let count = |t: usize| {
        if t == 0 {
            format!("all ({})", cores())
        } else {
            t.to_string()
        }
    };
    let label = match threads {
        None => format!(
            "configured ({}, embedder {})",
            count(runtime.intra_threads),
            count(runtime.embedder_threads)
        ),
        Some(t) => count(t),
    };
    let t = Instant::now();
    let engine = FaceEngine::load(&runtime, &config.face)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let Some(landmark_model) = engine.landmark_model() else {
        bail!("the benchmark needs the landmark model");
    };
    // Each stage in its own loop (warm-up runs, then the timed ones), as scripts/bench-python
    // times the Python pipeline: both sides measured the same way.
    let stages = 9u64;
    let progress = Progress::new(
        stages * (args.warmup + args.iterations) as u64,
        &format!("{label} thr"),
    );
    let measure = |f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<Stat> {
        for _ in 0..args.warmup {
            f()?;
            progress.inc();
        }
        let mut samples = Vec::with_capacity(args.iterations);
        for _ in 0..args.iterations {
            let t = Instant::now();
            f()?;
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            progress.inc();
        }
        Ok(Stat::of(samples))
    };
    let mut live = engine.live_options();
    live.embed = EmbedWhen::Always;
    let photo = engine.photo_options();
    // The inputs of the single stages, from one untimed pass.
    let face = engine
        .detect(&inp.frame)?
        .first()
        .copied()
        .ok_or_else(|| anyhow::anyhow!("no face in the benchmark frame"))?;
    let marks = landmark_model.landmarks(&inp.frame, &face)?;
    let to_template = AlignmentPoints::Five(marks.alignment_points())
        .transform()
        .ok_or_else(|| anyhow::anyhow!("alignment failed"))?;
    let aligned = Embedder::input(&inp.frame, &to_template);

    let decode_s = measure(&mut || {
        decode(&inp.photo_a, DecodeLimits::default())?;
        Ok(())
    })?;
    let detect = measure(&mut || {
        engine.detect(&inp.frame)?;
        Ok(())
    })?;
    let landmarks = measure(&mut || {
        let l = landmark_model.landmarks(&inp.frame, &face)?;
        std::hint::black_box(LivenessSignals::from_landmarks(&l));
        Ok(())
    })?;
    let align = measure(&mut || {
        let t = AlignmentPoints::Five(marks.alignment_points())
            .transform()
            .ok_or_else(|| anyhow::anyhow!("alignment failed"))?;
        std::hint::black_box(Embedder::input(&inp.frame, &t));
        Ok(())
    })?;
    let embed = measure(&mut || {
        engine.embedder().embed_input(&aligned)?;
        Ok(())
    })?;
    let frame = measure(&mut || {
        engine.analyze(&inp.frame, &live)?;
        Ok(())
    })?;
    let mut follower = facekiosk_face::follow::FaceFollower::new();
    let frame_stream = measure(&mut || {
        engine.analyze_stream(&inp.frame, &live, &mut follower)?;
        Ok(())
    })?;
    let verify = measure(&mut || {
        // As `facekiosk verify` does it: both photos decoded and analysed at once.
        let (a, b) = std::thread::scope(|scope| {
            let b = scope.spawn(|| -> anyhow::Result<_> {
                Ok(engine.analyze(&decode(&inp.photo_b, DecodeLimits::default())?, &photo)?)
            });
            let a = (|| -> anyhow::Result<_> {
                Ok(engine.analyze(&decode(&inp.photo_a, DecodeLimits::default())?, &photo)?)
            })();
            (
                a,
                b.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("thread stopped"))),
            )
        });
        engine.verify(&a?, &b?, facekiosk_face::matching::MatchLevel::DEFAULT)?;
        Ok(())
    })?;
    let verify_sequential = measure(&mut || {
        let a = engine.analyze(&decode(&inp.photo_a, DecodeLimits::default())?, &photo)?;
        let b = engine.analyze(&decode(&inp.photo_b, DecodeLimits::default())?, &photo)?;
        engine.verify(&a, &b, facekiosk_face::matching::MatchLevel::DEFAULT)?;
        Ok(())
    })?;
    progress.finish();
    Ok(ThreadRun {
        threads: label,
        intra_threads: runtime.intra_threads,
        embedder_threads: runtime.embedder_threads,
        load_ms,
        frames_per_second: if frame.median_ms > 0.0 {
            1000.0 / frame.median_ms
        } else {
            0.0
        },
        stages: Stages {
            decode: decode_s,
            detect,
            landmarks,
            align,
            embed,
            frame,
            frame_stream,
            verify,
            verify_sequential,
        },
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Peak resident memory of this process, MB (Linux: VmHWM).
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn run_python(
    args: &BenchArgs,
    inp: &Inputs,
    models: &Path,
    embedder_threads: usize,
) -> anyhow::Result<PythonRun> {
    let dir = tempfile::tempdir()?;
    let frame = dir.path().join("frame.png");
    inp.frame.save_with_format(&frame, ImageFormat::Png)?;
    let a = dir.path().join("a.jpg");
    let b = dir.path().join("b.jpg");
    std::fs::write(&a, &inp.photo_a)?;
    std::fs::write(&b, &inp.photo_b)?;
    let output = Command::new(&args.python)
        .arg("--models")
        .arg(models)
        .arg("--frame")
        .arg(&frame)
        .arg("--photos")
        .arg(&a)
        .arg(&b)
        .args([
            "--iterations",
            &args.iterations.to_string(),
            "--warmup",
            &args.warmup.to_string(),
            "--threads",
            "1",
            "--embedder-threads",
            &embedder_threads.to_string(),
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", args.python.display()))?;
    if !output.status.success() {
        bail!("{} failed ({})", args.python.display(), output.status);
    }
    let mut run: PythonRun = serde_json::from_slice(&output.stdout)
        .context("the Python benchmark printed no valid JSON")?;
    // The Python pipeline always analyses the photos one after the other.
    run.stages.verify_sequential = run.stages.verify;
    Ok(run)
}

/// Runs `bench`.
pub fn run(config: &KioskConfig, args: &BenchArgs, out: &Output) -> anyhow::Result<Outcome> {
    if cfg!(debug_assertions) {
        tracing::warn!(
            "this is a debug build: its figures are not representative (use `make bench`)"
        );
    }
    let inp = inputs(args)?;
    let threads: Vec<Option<usize>> = if args.threads.is_empty() {
        let (i, e) = (
            config.runtime.intra_threads,
            config.runtime.embedder_threads,
        );
        if i == e {
            // The configuration is one of the uniform runs: measure it once, first.
            vec![Some(i), Some(if i == 1 { 0 } else { 1 })]
        } else {
            vec![None, Some(1), Some(0)]
        }
    } else {
        args.threads.iter().copied().map(Some).collect()
    };
    let mut runs = Vec::new();
    for t in threads {
        runs.push(run_threads(config, t, args, &inp)?);
    }
    let info = facekiosk_face::runtime::Runtime::load(&config.runtime)?.info();
    let session = {
        let engine = FaceEngine::load(&config.runtime, &config.face)?;
        Some(crate::cmd::bench_session::run(&engine, args.iterations)?)
    };
    // Compared with Python: the first run (the configured threads, by default).
    let compared = runs.first();
    let (python, python_same_threads) = if args.compare_python {
        let models = config
            .face
            .models_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("models"));
        let one = run_python(args, &inp, &models, 1)?;
        let same = match compared {
            Some(r) if r.intra_threads == 1 && r.embedder_threads > 1 => {
                Some(run_python(args, &inp, &models, r.embedder_threads)?)
            }
            _ => None,
        };
        (Some(one), same)
    } else {
        (None, None)
    };
    let ratio = |py: f64, rs: f64| (rs > 0.0).then(|| py / rs);
    let report = BenchReport {
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        onnx_runtime: info.version.clone(),
        provider: info.provider.to_string(),
        cores: cores(),
        iterations: args.iterations,
        inputs: inp.describe.clone(),
        redetect_every: config.face.redetect_every,
        peak_memory_mb: peak_memory_mb(),
        session,
        speedup_frame: python
            .as_ref()
            .zip(compared)
            .and_then(|(p, r)| ratio(p.stages.frame.median_ms, r.stages.frame.median_ms)),
        speedup_frame_stream: python
            .as_ref()
            .zip(compared)
            .and_then(|(p, r)| ratio(p.stages.frame.median_ms, r.stages.frame_stream.median_ms)),
        speedup_frame_same_threads: python_same_threads
            .as_ref()
            .zip(compared)
            .and_then(|(p, r)| ratio(p.stages.frame.median_ms, r.stages.frame.median_ms)),
        speedup_verify_sequential: python.as_ref().zip(compared).and_then(|(p, r)| {
            ratio(
                p.stages.verify.median_ms,
                r.stages.verify_sequential.median_ms,
            )
        }),
        speedup_verify: python
            .as_ref()
            .zip(compared)
            .and_then(|(p, r)| ratio(p.stages.verify.median_ms, r.stages.verify.median_ms)),
        runs,
        python,
        python_same_threads,
    };
    out.print(&report, || describe(&report))?;
    Ok(Outcome::Success)
}

/// Picks one stage's figures.
type StageOf = fn(&Stages) -> Stat;

fn describe(r: &BenchReport) -> String {
    let mut s = format!(
        "facekiosk bench — {} build, ONNX Runtime {} on {}, {} cores, {} iterations\n  inputs: {}\n\n",
        r.build, r.onnx_runtime, r.provider, r.cores, r.iterations, r.inputs
    );
    let mut header = format!("  {:<26}", "stage (ms)");
    let title = |run: &ThreadRun| match run.threads.as_str() {
        "1" => "1 thread".to_owned(),
        t if t.starts_with("configured") => "configured".to_owned(),
        t => format!("{t} threads"),
    };
    for run in &r.runs {
        header.push_str(&format!("{:>22}", title(run)));
    }
    if r.python.is_some() {
        header.push_str(&format!("{:>22}", "Python, 1 thread"));
    }
    if r.python_same_threads.is_some() {
        header.push_str(&format!("{:>22}", "Python, configured"));
    }
    s.push_str(&header);
    s.push('\n');
    let rows: [(&str, StageOf); 9] = [
        ("decode (photo A)", |x| x.decode),
        ("detect (640x480)", |x| x.detect),
        ("landmarks (liveness)", |x| x.landmarks),
        ("align", |x| x.align),
        ("embed", |x| x.embed),
        ("whole frame", |x| x.frame),
        ("whole frame, in a stream", |x| x.frame_stream),
        ("verify, photos at once", |x| x.verify),
        ("verify, one after other", |x| x.verify_sequential),
    ];
    for (name, get) in rows {
        let mut line = format!("  {name:<26}");
        for run in &r.runs {
            let st = get(&run.stages);
            line.push_str(&format!(
                "{:>22}",
                format!("{:.2} (p95 {:.2})", st.median_ms, st.p95_ms)
            ));
        }
        for p in r.python.iter().chain(&r.python_same_threads) {
            let st = get(&p.stages);
            line.push_str(&format!(
                "{:>22}",
                if st.median_ms > 0.0 {
                    format!("{:.2} (p95 {:.2})", st.median_ms, st.p95_ms)
                } else {
                    "—".to_owned()
                }
            ));
        }
        s.push_str(&line);
        s.push('\n');
    }
    for run in &r.runs {
        s.push_str(&format!(
            "  {} thread(s) per model: {:.0} frames/s through the whole pipeline; model load + warm-up {:.0} ms\n",
            run.threads, run.frames_per_second, run.load_ms
        ));
    }
    if let Some(ss) = &r.session {
        s.push_str(&format!(
            "  session engine: {:.1} µs per frame (p95 {:.1}), no models; first good frame to decision {:.0} ms \
             on a 15 frames/s clip, whose frames took {:.1} ms each (p95 {:.1}) through decoding, the face \
             engine and the session (the detector ran on {} frames, the face was followed on {})\n",
            ss.overhead_us.median_ms,
            ss.overhead_us.p95_ms,
            ss.first_good_frame_to_decision_ms,
            ss.pipeline_per_frame_ms.median_ms,
            ss.pipeline_per_frame_ms.p95_ms,
            ss.detector_frames,
            ss.followed_frames
        ));
    }
    if let Some(m) = r.peak_memory_mb {
        s.push_str(&format!("  peak memory: {m:.0} MB\n"));
    }
    if let (Some(p), Some(f), Some(vs), Some(v)) = (
        &r.python,
        r.speedup_frame,
        r.speedup_verify_sequential,
        r.speedup_verify,
    ) {
        let rust = r.runs.first().map_or("", |run| run.threads.as_str());
        s.push_str(&format!(
            "  against Python ({}); Rust {rust} threads, Python 1 thread:\n    per frame {f:.2}x as fast; verify {vs:.2}x as fast \
             with the photos one after the other on both sides, {v:.2}x as fast as each does it \
             (Rust analyses both photos at once)\n",
            p.runtime
        ));
        if let Some(stream) = r.speedup_frame_stream {
            s.push_str(&format!(
                "    per frame of a camera stream (the face followed, the detector every {}th frame) \
                 {stream:.2}x as fast as Python's whole pipeline on every frame\n",
                r.redetect_every
            ));
        }
        if let Some(same) = r.speedup_frame_same_threads {
            s.push_str(&format!(
                "    per frame {same:.2}x as fast as Python given the same threads per model\n"
            ));
        }
    }
    s
}
