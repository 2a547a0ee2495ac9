//! `facekiosk eval-liveness`: synthetic attacks and genuine users, made from real photos, run
//! through the real face engine and session engine; the share of sessions each one passes.
//!
//! Attacks (APCER): `replay-loop` (a rendered head doing every action in a loop, whatever the
//! prompts), `eager` (does every action after each prompt), `flip-book` (prints of the head at
//! several poses and expressions, swapped by hand to answer the prompts), `planar` (the photo
//! printed and turned, tilted, moved), `curved` (the print bent around a cylinder), `swap`
//! (another person's live head after the first capture). Genuine (BPCER): a head rendered from
//! the photo's landmarks with real 3-D parallax, following the prompts with human reaction
//! times, sway and spontaneous blinks. Every frame goes through a camera model (blur, noise,
//! JPEG) first. Randomness is seeded: the same seed gives the same sessions.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context as _, bail};
use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::FaceEngine;
use facekiosk_face::manifest::sha256_hex;
use facekiosk_face::stats::clopper_pearson_upper;
use facekiosk_identity::{KioskIdentity, TestKey};
use facekiosk_runner::{FrameStep, provenance};
use facekiosk_session::claims::{DeviceClaim, ReferenceSource};
use facekiosk_session::guidance::Hint;
use facekiosk_session::options::ChallengeKind;
use facekiosk_session::trace::TraceEventKind;
use facekiosk_session::{
    Event, Reference, Session, SessionContext, SessionOptions, SessionPolicy, SessionSeed,
};
use facekiosk_synth::actor::{
    Action, Actor, CurvedPrint, Eager, FlipBook, Person, PlanarPrint, Prompt, ReplayLoop, Scene,
    Swap,
};
use facekiosk_synth::camera::capture;
use facekiosk_synth::head::Head;
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::args::EvalLivenessArgs;
use crate::config::KioskConfig;
use crate::labelled::{image_path, labels_path, read_labels};
use crate::output::{Outcome, Output};
use crate::progress::Progress;

/// The scenarios, in the order they are reported: (name, is an attack).
pub const SCENARIOS: [(&str, bool); 7] = [
    ("genuine", false),
    ("replay-loop", true),
    ("eager", true),
    ("flip-book", true),
    ("planar", true),
    ("curved", true),
    ("swap", true),
];

/// The project's two test portraits (two different people).
const ASTRONAUT: &[u8] = include_bytes!("../../../../tests/data/astronaut.jpg");
const HOPPER: &[u8] = include_bytes!("../../../../tests/data/grace_hopper.jpg");

/// Longest synthetic session, ms of session time (three attempts fit well within it).
const MAX_SESSION_MS: f32 = 90_000.0;

/// One person: the head rendered from their photo, and the photo as the reference.
struct PersonSource {
    identity: String,
    head: Head,
    reference: Reference,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioReport {
    name: String,
    kind: &'static str,
    trials: usize,
    passed: usize,
    pass_rate: f64,
    /// Exact 95 % upper bound on the pass rate (two-sided interval's upper end).
    pass_rate_upper: f64,
    /// Why the attempts that failed failed (liveness reason, or NO_MATCH), over all trials.
    failures: BTreeMap<String, usize>,
    /// The same with the session's full failure text (the challenge under way and the action
    /// seen, e.g. `UNREQUESTED_ACTION during TURN_LEFT (LOOK_UP seen)`).
    failure_details: BTreeMap<String, usize>,
    /// Mean session time until the outcome, s (session clock).
    mean_seconds: f64,
    /// The 3-D check of every attempt that reached it: min / median / max per statistic.
    three_d: BTreeMap<String, [f64; 3]>,
    /// Attempts that reached the 3-D check, and how many of them it passed.
    three_d_attempts: (usize, usize),
    /// Similarity to the reference: of each capture's fused embedding (`fused`) and of every
    /// single good frame (`frames`), min / median / mean over the scenario.
    match_scores: BTreeMap<String, [f64; 3]>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    scenarios: Vec<ScenarioReport>,
    people: usize,
    fps: f32,
    seed: u64,
    seconds: f64,
}

/// Runs `eval-liveness`.
pub fn run(config: &KioskConfig, args: &EvalLivenessArgs, out: &Output) -> anyhow::Result<Outcome> {
    let scenarios: Vec<(&str, bool)> = if args.scenario.is_empty() {
        SCENARIOS.to_vec()
    } else {
        args.scenario
            .iter()
            .map(|s| {
                SCENARIOS
                    .iter()
                    .find(|(n, _)| n == s)
                    .copied()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown scenario `{s}` (genuine, replay-loop, eager, flip-book, planar, curved, swap)"
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?
    };
    if !(5.0..=60.0).contains(&args.fps) {
        bail!("--fps {} is outside 5-60", args.fps);
    }
    let engine = crate::cmd::engine(config)?;
    let people = people(&engine, config, args)?;
    if people.len() < 2 && scenarios.iter().any(|(n, _)| *n == "swap") {
        bail!("the swap scenario needs photos of at least two different people");
    }
    let identity = KioskIdentity::generate(Some("eval-liveness".into()), 0)?;
    let started = Instant::now();
    let mut reports = Vec::new();
    for (name, attack) in scenarios {
        let progress = Progress::new(args.trials as u64, &format!("{name:<11}"));
        let results = Mutex::new(Vec::new());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..engine.parallelism().max(1) {
                scope.spawn(|| {
                    loop {
                        let trial = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if trial >= args.trials {
                            break;
                        }
                        let frames = (trial == 0)
                            .then(|| args.frames.as_ref().map(|d| d.join(name)))
                            .flatten();
                        let r = run_trial(
                            &engine,
                            &identity,
                            &people,
                            name,
                            trial,
                            args,
                            frames.as_deref(),
                        );
                        progress.inc();
                        if let Ok(mut v) = results.lock() {
                            v.push(r);
                        }
                    }
                });
            }
        });
        progress.finish();
        let results = results
            .into_inner()
            .map_err(|_| anyhow::anyhow!("a trial thread panicked"))?;
        let mut failures = BTreeMap::new();
        let mut failure_details = BTreeMap::new();
        let mut passed = 0;
        let mut seconds = 0.0;
        let mut stats: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut three_d_attempts = (0, 0);
        let mut scores: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in &results {
            let r = r.as_ref().map_err(|e| anyhow::anyhow!("{name}: {e:#}"))?;
            scores.entry("fused".into()).or_default().extend(&r.fused);
            scores.entry("frames".into()).or_default().extend(&r.frames);
            passed += usize::from(r.passed);
            seconds += r.seconds;
            for f in &r.failures {
                let code = f.split(' ').next().unwrap_or("").to_owned();
                *failures.entry(code).or_insert(0) += 1;
                *failure_details.entry(f.clone()).or_insert(0) += 1;
            }
            for t in &r.three_d {
                three_d_attempts.0 += 1;
                three_d_attempts.1 += usize::from(t["is3d"] == true);
                for axis in ["turn", "nod"] {
                    let a = &t[axis];
                    if a["is3d"] == false {
                        let why = if a["pairs"].as_u64().unwrap_or(0) < 3 {
                            "few frames"
                        } else {
                            "residuals"
                        };
                        *failures
                            .entry(format!("NOT_3D {axis} ({why})"))
                            .or_insert(0) += 1;
                    }
                    let (Some(p), Some(q)) =
                        (a["planarResidual"].as_f64(), a["rigidResidual"].as_f64())
                    else {
                        continue;
                    };
                    stats.entry(format!("{axis}.planar")).or_default().push(p);
                    stats
                        .entry(format!("{axis}.ratio"))
                        .or_default()
                        .push(p / q.max(1e-6));
                    if let Some(n) = a["pairs"].as_f64() {
                        stats.entry(format!("{axis}.pairs")).or_default().push(n);
                    }
                }
            }
        }
        let three_d = stats
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by(f64::total_cmp);
                let m = [v[0], v[v.len() / 2], v[v.len() - 1]];
                (k, m)
            })
            .collect();
        let match_scores = scores
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, mut v)| {
                v.sort_by(f64::total_cmp);
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                (k, [v[0], v[v.len() / 2], mean])
            })
            .collect();
        let n = results.len();
        reports.push(ScenarioReport {
            name: name.to_owned(),
            kind: if attack { "attack" } else { "genuine" },
            trials: n,
            passed,
            pass_rate: passed as f64 / n.max(1) as f64,
            pass_rate_upper: clopper_pearson_upper(passed as f64, n as f64, 0.975),
            failures,
            failure_details,
            mean_seconds: seconds / n.max(1) as f64,
            three_d,
            three_d_attempts,
            match_scores,
        });
    }
    let report = Report {
        scenarios: reports,
        people: people.len(),
        fps: args.fps,
        seed: args.seed,
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(plot) = &args.plot {
        let bars: Vec<(String, bool, usize, usize)> = report
            .scenarios
            .iter()
            .map(|s| (s.name.clone(), s.kind == "attack", s.passed, s.trials))
            .collect();
        crate::plot::pass_rates(plot, &bars)?;
    }
    out.print(&report, || describe(&report))?;
    Ok(Outcome::Success)
}

fn describe(r: &Report) -> String {
    let mut s = format!(
        "{} people, {:.0} frames/s, seed {}, {:.0} s\n  scenario     kind     passed / trials   rate (95 % upper)   why the failed attempts failed\n",
        r.people, r.fps, r.seed, r.seconds
    );
    for sc in &r.scenarios {
        let mut why: Vec<(&String, &usize)> = sc.failures.iter().collect();
        why.sort_by(|a, b| b.1.cmp(a.1));
        let why: Vec<String> = why
            .iter()
            .take(4)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        s.push_str(&format!(
            "  {:<12} {:<8} {:>4} / {:<6}     {:>5.1} % ({:>5.1} %)    {}\n",
            sc.name,
            sc.kind,
            sc.passed,
            sc.trials,
            sc.pass_rate * 100.0,
            sc.pass_rate_upper * 100.0,
            why.join(", ")
        ));
        if sc.three_d_attempts.0 > 0 {
            let stat = |k: &str| {
                sc.three_d.get(k).map_or_else(
                    || "-".to_owned(),
                    |m| format!("{:.3}/{:.3}/{:.3}", m[0], m[1], m[2]),
                )
            };
            s.push_str(&format!(
                "               3-D check passed {}/{} attempts; turn planar {} ratio {}; nod planar {} ratio {} (min/median/max)\n",
                sc.three_d_attempts.1,
                sc.three_d_attempts.0,
                stat("turn.planar"),
                stat("turn.ratio"),
                stat("nod.planar"),
                stat("nod.ratio")
            ));
        }
    }
    for sc in r.scenarios.iter().filter(|sc| sc.kind == "genuine") {
        if let (Some(f), Some(one)) = (sc.match_scores.get("fused"), sc.match_scores.get("frames"))
        {
            s.push_str(&format!(
                "  {}: similarity to the reference, fused captures min {:.3} median {:.3} mean {:.3}; single good frames min {:.3} median {:.3} mean {:.3} (fusion lifts the mean by {:+.3}, the minimum by {:+.3})\n",
                sc.name,
                f[0],
                f[1],
                f[2],
                one[0],
                one[1],
                one[2],
                f[2] - one[2],
                f[0] - one[0]
            ));
        }
    }
    s.push_str(
        "  attacks: the share of sessions that wrongly passed (APCER); genuine: the share that passed (1 - BPCER)",
    );
    s
}

/// The people whose heads are rendered: the project's two portraits, or the frontal photos
/// of a labelled set.
fn people(
    engine: &FaceEngine,
    config: &KioskConfig,
    args: &EvalLivenessArgs,
) -> anyhow::Result<Vec<PersonSource>> {
    let mut photos: Vec<(String, Vec<u8>)> = Vec::new();
    match &args.set {
        None => {
            photos.push(("astronaut".into(), ASTRONAUT.to_vec()));
            photos.push(("grace_hopper".into(), HOPPER.to_vec()));
        }
        Some(dir) => {
            for l in read_labels(&labels_path(dir, args.labels.as_deref())?)? {
                let path = image_path(dir, &l.file);
                let bytes = facekiosk_face::decode::read_file(&path, config.face.decode)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                photos.push((l.label, bytes));
            }
        }
    }
    let mut out = Vec::new();
    for (identity, bytes) in photos {
        let Ok(photo) = decode(&bytes, DecodeLimits::default()) else {
            continue;
        };
        let analysis = engine.analyze(&photo, &engine.photo_options())?;
        let Some(face) = &analysis.face else {
            continue;
        };
        let (Some(landmarks), Some(signals)) = (&face.landmarks, face.signals) else {
            continue;
        };
        // Frontal, one face, large enough to render a head from.
        let p = signals.pose;
        if analysis.faces.len() != 1
            || p.yaw.abs() > 8.0
            || p.roll.abs() > 8.0
            || face.detection.eye_distance() < 40.0
        {
            continue;
        }
        let Ok(reference) =
            Reference::from_photo(&analysis, sha256_hex(&bytes), ReferenceSource::WalkIn)
        else {
            continue;
        };
        if let Some(head) = Head::new(&photo, landmarks, 90.0) {
            out.push(PersonSource {
                identity,
                head,
                reference,
            });
        }
    }
    if out.is_empty() {
        bail!(
            "no usable frontal photo (one face, |yaw| and |roll| under 8°, eyes 40 px apart or more)"
        );
    }
    Ok(out)
}

/// How one session went.
struct TrialResult {
    passed: bool,
    failures: Vec<String>,
    seconds: f64,
    /// The `threeD` claim of every attempt that reached the 3-D check.
    three_d: Vec<serde_json::Value>,
    /// Each capture's fused similarity to the reference (the deciding attempt's
    /// `match.captures`).
    fused: Vec<f64>,
    /// The similarity to the reference of every frame that passed the quality gates and was
    /// embedded.
    frames: Vec<f64>,
}

fn trial_rng(seed: u64, name: &str, trial: usize) -> ChaCha8Rng {
    let mut h = seed ^ 0xA076_1D64_78BD_642F;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    ChaCha8Rng::seed_from_u64(h ^ (trial as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn run_trial(
    engine: &FaceEngine,
    identity: &KioskIdentity,
    people: &[PersonSource],
    name: &str,
    trial: usize,
    args: &EvalLivenessArgs,
    frames_dir: Option<&Path>,
) -> anyhow::Result<TrialResult> {
    let mut rng = trial_rng(args.seed, name, trial);
    let who = trial % people.len();
    let person = &people[who];
    let scene = Scene::random(&mut rng);
    let head = person.head.clone();
    let mut actor: Box<dyn Actor> = match name {
        "genuine" => Box::new(Person::new(head, scene, &mut rng)),
        "replay-loop" => Box::new(ReplayLoop::new(head, scene, &mut rng)),
        "eager" => Box::new(Eager::new(head, scene, &mut rng)),
        "flip-book" => Box::new(FlipBook::new(&head, scene, &mut rng)),
        "planar" => Box::new(PlanarPrint::new(head, scene, &mut rng)),
        "curved" => Box::new(CurvedPrint::new(head, scene, &mut rng)),
        "swap" => {
            let other = people
                .iter()
                .cycle()
                .skip(who + 1)
                .take(people.len())
                .find(|p| p.identity != person.identity)
                .ok_or_else(|| anyhow::anyhow!("no second identity"))?;
            let first = Person::new(head, scene.clone(), &mut rng);
            let second = Person::new(other.head.clone(), scene, &mut rng);
            Box::new(Swap::new(first, second))
        }
        other => bail!("unknown scenario {other}"),
    };
    let key = TestKey::generate(identity, 0, u64::MAX / 4)?;
    let source = facekiosk_capture::SourceInfo {
        name: format!("synthetic:{name}"),
        kind: facekiosk_capture::SourceKind::Video,
        fps: Some(args.fps),
        frames: None,
        is_virtual: false,
    };
    let ctx = SessionContext {
        signer: key.signer(),
        device: DeviceClaim {
            kiosk: String::new(),
            camera: source.name.clone(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            execution_provider: engine.runtime_info().provider.to_string(),
        },
        calibration: engine.calibration().0.clone(),
        passive_threshold: engine.passive_liveness_threshold(),
        policy: SessionPolicy::default(),
        provenance: provenance(engine, &source, false),
    };
    let options = SessionOptions {
        session_id: format!("eval-{name}-{trial}"),
        // The partial result carries every attempt's 3-D check, for the report.
        return_data_for_incomplete_session: true,
        challenges: pool(),
        ..SessionOptions::default()
    };
    let jwks = facekiosk_identity::Jwks {
        keys: vec![key.jwk().clone()],
    };
    let seed = SessionSeed {
        challenges: rng.r#gen(),
        result_id: rng.r#gen(),
    };
    let t0: u64 = 1_800_000_000_000;
    let (session, events) = Session::start(options, ctx, person.reference.clone(), seed, t0);
    let mut step = FrameStep::new(engine, session, false);
    let mut state = Watch::default();
    state.take(&events, 0.0);
    let frame_ms = 1000.0 / args.fps;
    let mut t = 0.0f32;
    let mut index = 0usize;
    let mut frame_scores = Vec::new();
    let reference = &person.reference.embedding;
    let mut log = match frames_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Some(std::io::BufWriter::new(std::fs::File::create(
                dir.join("events.txt"),
            )?))
        }
        None => None,
    };
    while !step.session().is_finished() && t < MAX_SESSION_MS {
        let canvas = actor.frame(t, state.prompt, &mut rng);
        let image: RgbImage = capture(&canvas, &mut rng);
        if let Some(dir) = frames_dir
            && index.is_multiple_of(3)
        {
            image.save(dir.join(format!("{index:04}.jpg")))?;
        }
        let events = step.frame_inspect(t0 + t as u64, image, |a| {
            if a.quality.is_good()
                && let Some(e) = a.face.as_ref().and_then(|f| f.embedding.as_ref())
            {
                frame_scores.push(f64::from(e.similarity(reference)));
            }
        });
        if let Some(log) = log.as_mut() {
            for e in &events {
                if !matches!(e, Event::Success(_)) {
                    use std::io::Write as _;
                    writeln!(
                        log,
                        "{:7.0} ms  frame {index:4}  {}",
                        t,
                        serde_json::to_string(e)?
                    )?;
                }
            }
        }
        state.take(&events, t);
        state.results(&events, &jwks);
        index += 1;
        // Camera frames arrive with a little jitter.
        t += frame_ms + rng.gen_range(-3.0..3.0);
    }
    Ok(TrialResult {
        passed: state.passed,
        failures: state.failures,
        seconds: f64::from(t) / 1000.0,
        three_d: state.three_d,
        fused: state.fused,
        frames: frame_scores,
    })
}

/// What the loop learns from the session's events.
#[derive(Default)]
struct Watch {
    prompt: Option<Prompt>,
    passed: bool,
    failures: Vec<String>,
    three_d: Vec<serde_json::Value>,
    fused: Vec<f64>,
}

impl Watch {
    /// Reads the signed result (or the partial one) for the attempts' 3-D checks.
    fn results(&mut self, events: &[Event], jwks: &facekiosk_identity::Jwks) {
        for e in events {
            let jws = match e {
                Event::Success(jws) => Some(jws.as_str()),
                Event::Error(err) => err.data.as_deref(),
                _ => None,
            };
            let Some(claims) = jws
                .and_then(|j| facekiosk_identity::verify(j, jwks, 1_800_000_100).ok())
                .map(|v| v.claims)
            else {
                continue;
            };
            if let Some(captures) = claims["match"]["captures"].as_array() {
                self.fused
                    .extend(captures.iter().filter_map(|m| m["score"].as_f64()));
            }
            if let Some(attempts) = claims["attempts"].as_array() {
                self.three_d.extend(
                    attempts
                        .iter()
                        .filter(|a| a["threeD"].is_object())
                        .map(|a| a["threeD"].clone()),
                );
            }
        }
    }

    fn take(&mut self, events: &[Event], t: f32) {
        for e in events {
            match e {
                Event::Challenge(c) => {
                    self.prompt = Some(Prompt {
                        action: action(c.kind),
                        shown_ms: t,
                    });
                }
                Event::Guidance(h) if *h != Hint::FollowChallenge => self.prompt = None,
                Event::Trace(tr)
                    if tr.event == TraceEventKind::Attempt && tr.status_message.is_some() =>
                {
                    let why = tr.status_message.as_deref().unwrap_or("").to_owned();
                    self.failures.push(why);
                }
                Event::Success(_) => self.passed = true,
                _ => {}
            }
        }
    }
}

/// The challenges the synthetic sessions draw from: all but the blink. The rendered head's
/// closed eyes read as 0.6–0.8 of open to the landmark model (real closed eyes read about 0.3),
/// so a synthetic blink cannot answer a blink challenge; every scenario, attacks and genuine,
/// meets the same pool (docs/EVALUATION.md).
fn pool() -> Vec<ChallengeKind> {
    ChallengeKind::ALL
        .into_iter()
        .filter(|c| *c != ChallengeKind::Blink)
        .collect()
}

fn action(k: ChallengeKind) -> Action {
    match k {
        ChallengeKind::TurnLeft => Action::TurnLeft,
        ChallengeKind::TurnRight => Action::TurnRight,
        ChallengeKind::LookUp => Action::LookUp,
        ChallengeKind::LookDown => Action::LookDown,
        ChallengeKind::Blink => Action::Blink,
        ChallengeKind::Smile => Action::Smile,
    }
}
