//! Scripted sessions: a fake clock at 15 frames/s, frame observations built by hand (chosen
//! embeddings, quality verdicts, landmark tracks of a 3-D head or of a flat photo), and a
//! "performer" that does the challenges the session asks for, in whatever order it asks.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use facekiosk_face::embed::Embedding;
use facekiosk_face::geometry::{BoundingBox, Point};
use facekiosk_face::landmarks::HeadPose;
use facekiosk_face::liveness::{LivenessSignals, PassiveScore};
use facekiosk_face::matching::Calibration;
use facekiosk_face::quality::{QualityIssue, QualityMetrics, QualityReport};
use facekiosk_identity::KioskIdentity;
use facekiosk_session::claims::DeviceClaim;
use facekiosk_session::engine::ChallengePrompt;
use facekiosk_session::observation::{FaceObservation, FrameObservation};
use facekiosk_session::options::ChallengeKind;
use facekiosk_session::{Event, Input, Session, SessionContext, SessionOptions, SessionPolicy};

/// 15 frames per second.
pub const FRAME_MS: u64 = 66;
/// The session starts at this unix time (ms): 2026-11-23 10:00:00 UTC.
pub const T0: u64 = 1_795_428_000_000;

pub fn identity() -> KioskIdentity {
    KioskIdentity::from_seed("kiosk-test", [42; 32], T0 / 1000)
}

pub fn calibration() -> Calibration {
    let levels: Vec<String> = [0.40f32, 0.55, 0.65, 0.75, 0.85]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                r#"{{"level":{},"maxFmr":{},"threshold":{t},"extrapolated":{},"observedFmr":0,"observedTmr":1}}"#,
                i + 1,
                10f64.powi(-(i as i32 + 2)),
                i > 0
            )
        })
        .collect();
    let json = format!(
        r#"{{"schema":1,"embedderSha256":"00","pipeline":"test","set":{{"name":"test","images":0,"identities":0,"genuinePairs":0,"impostorPairs":0}},"method":"test","levels":[{}]}}"#,
        levels.join(",")
    );
    Calibration::parse(&json, "test.json".as_ref()).unwrap()
}

pub fn context(policy: SessionPolicy, passive: bool) -> SessionContext {
    SessionContext {
        signer: identity().signer(),
        device: DeviceClaim {
            kiosk: String::new(),
            camera: "scripted".into(),
            app_version: "test".into(),
            execution_provider: "cpu".into(),
        },
        calibration: calibration(),
        passive_threshold: passive.then_some(0.0),
        policy,
    }
}

pub fn options() -> SessionOptions {
    SessionOptions {
        session_id: "vs_test".into(),
        ..SessionOptions::default()
    }
}

/// The reference: a unit vector.
pub fn reference() -> Embedding {
    embedding(1.0)
}

/// An embedding whose similarity with the reference is `s`; `axis` (1..8) picks which other
/// direction makes up the rest, so two faces with different axes are different people.
pub fn embedding_on(s: f32, axis: usize) -> Embedding {
    let mut v = vec![0.0f32; 8];
    v[0] = s;
    v[axis.clamp(1, 7)] = (1.0 - s * s).max(0.0).sqrt();
    Embedding::from_raw(v).unwrap()
}

/// An embedding whose similarity with the reference is `s`.
pub fn embedding(s: f32) -> Embedding {
    embedding_on(s, 1)
}

/// A rough 3-D face (mm, z towards the camera negative): 33 points like the parallax subset.
fn head_points() -> Vec<[f64; 3]> {
    let mut pts = Vec::new();
    for i in 0..33 {
        let a = i as f64 / 33.0 * std::f64::consts::TAU;
        let (x, y) = (70.0 * a.cos(), 90.0 * a.sin());
        pts.push([x, y, 40.0 * ((x / 75.0).powi(2) + (y / 95.0).powi(2))]);
    }
    pts[0] = [0.0, 0.0, -35.0];
    pts[1] = [0.0, 20.0, -25.0];
    pts[2] = [0.0, -25.0, -10.0];
    pts
}

/// Landmarks of the head turned by `yaw` degrees (positive: to the person's left), or of a flat
/// photo of it turned the same way.
pub fn parallax(yaw: f32, flat: bool) -> (Vec<Point>, f32) {
    let (s, c) = f64::from(yaw).to_radians().sin_cos();
    let project = |p: [f64; 3]| {
        let [x, y, z] = if flat {
            [p[0] * c, p[1], p[0] * s]
        } else {
            [p[0] * c + p[2] * s, p[1], -p[0] * s + p[2] * c]
        };
        let (f, d) = (800.0, 600.0);
        Point::new(
            (320.0 + f * x / (d + z)) as f32,
            (240.0 + f * y / (d + z)) as f32,
        )
    };
    let pts = head_points().into_iter().map(project).collect();
    let eyes = project([-32.0, -20.0, 5.0]).distance(project([32.0, -20.0, 5.0]));
    (pts, eyes)
}

/// A frame with the face in the middle.
#[derive(Clone, Copy, Debug)]
pub struct Face {
    pub similarity: f32,
    pub yaw: f32,
    pub ear: f32,
    pub mouth: f32,
    pub smile: f32,
    pub flat: bool,
    pub passive_logit: Option<f32>,
    pub issue: Option<QualityIssue>,
    /// Which person (see [`embedding_on`]).
    pub axis: usize,
}

impl Face {
    pub fn genuine() -> Self {
        Face {
            similarity: 0.8,
            yaw: 0.0,
            ear: 0.3,
            mouth: 0.05,
            smile: 1.0,
            flat: false,
            passive_logit: None,
            issue: None,
            axis: 1,
        }
    }

    pub fn impostor() -> Self {
        Face {
            similarity: 0.2,
            ..Self::genuine()
        }
    }

    pub fn frame(self) -> Input {
        let metrics = QualityMetrics {
            eye_distance_px: 70.0,
            face_fraction: 0.35,
            center_offset: (0.0, 0.0),
            inside_fraction: 1.0,
            pose: HeadPose {
                yaw: self.yaw,
                pitch: 0.0,
                roll: 0.0,
            },
            eye_aspect_ratio: Some((self.ear, self.ear)),
            brightness: 130.0,
            clipped_fraction: 0.0,
            backlight_difference: -10.0,
            sharpness: 300.0,
            faces_counted: 1,
        };
        let issues: Vec<QualityIssue> = self.issue.into_iter().collect();
        let good = issues.is_empty() && self.yaw.abs() < 25.0 && self.ear > 0.14;
        let mut issues = issues;
        if self.yaw.abs() >= 25.0 {
            issues.push(QualityIssue::YawOutOfRange);
        }
        if self.ear <= 0.14 {
            issues.push(QualityIssue::EyesClosed);
        }
        Input::Frame(Box::new(FrameObservation {
            width: 640,
            height: 480,
            faces: 1,
            quality: QualityReport {
                issues,
                metrics: Some(metrics),
            },
            face: Some(FaceObservation {
                bbox: BoundingBox {
                    x: 220.0,
                    y: 120.0,
                    width: 200.0,
                    height: 240.0,
                },
                signals: Some(LivenessSignals {
                    eye_aspect_ratio: (self.ear, self.ear),
                    mouth_open: self.mouth,
                    smile: self.smile,
                    pose: HeadPose {
                        yaw: self.yaw,
                        pitch: 0.0,
                        roll: 0.0,
                    },
                }),
                parallax: Some(parallax(self.yaw, self.flat)),
                passive: self.passive_logit.map(|l| PassiveScore {
                    logit: l,
                    probability: 1.0 / (1.0 + (-l).exp()),
                    live: l >= 0.0,
                }),
                embedding: good.then(|| embedding_on(self.similarity, self.axis)),
            }),
            image: None,
        }))
    }
}

/// A frame with no face.
pub fn empty() -> Input {
    Input::Frame(Box::new(FrameObservation {
        width: 640,
        height: 480,
        faces: 0,
        quality: QualityReport::no_face(),
        face: None,
        image: None,
    }))
}

/// Drives a session on a fake clock and records what it says.
pub struct Script {
    pub session: Session,
    pub now: u64,
    pub events: Vec<(u64, Event)>,
    pub challenge: Option<ChallengePrompt>,
    /// Frames since the current challenge was shown (for the performer).
    pub step: u32,
    /// The performer's head yaw: it turns at most 8° per frame, as a head does.
    pub yaw: f32,
}

impl Script {
    pub fn start(options: SessionOptions, ctx: SessionContext) -> Self {
        let (session, ev) = Session::start(options, ctx, reference(), 7, T0);
        let mut s = Script {
            session,
            now: T0,
            events: Vec::new(),
            challenge: None,
            step: 0,
            yaw: 0.0,
        };
        s.record(ev);
        s
    }

    fn record(&mut self, ev: Vec<Event>) {
        for e in ev {
            if let Event::Challenge(c) = &e {
                self.challenge = Some(*c);
                self.step = 0;
            }
            match &e {
                Event::Guidance(h) if *h != facekiosk_session::guidance::Hint::FollowChallenge => {
                    self.challenge = None
                }
                Event::Finally => self.challenge = None,
                _ => {}
            }
            self.events.push((self.now - T0, e));
        }
    }

    /// Feeds an input at the current time, then advances the clock by one frame.
    pub fn feed(&mut self, input: Input) {
        let ev = self.session.handle(self.now, input);
        self.record(ev);
        self.now += FRAME_MS;
    }

    /// `n` frames of `input`.
    pub fn frames(&mut self, n: usize, input: impl Fn() -> Input) {
        for _ in 0..n {
            if self.session.is_finished() {
                return;
            }
            self.feed(input());
        }
    }

    /// A live person: holds still, then does each challenge shown, until the session ends or
    /// `max_frames` pass. `face` sets who it is (similarity) and whether the head is a flat photo.
    pub fn perform(&mut self, face: Face, max_frames: usize) {
        for _ in 0..max_frames {
            if self.session.is_finished() {
                return;
            }
            let mut f = match self.challenge {
                None => face,
                Some(c) => {
                    self.step += 1;
                    act(face, c.kind, self.step)
                }
            };
            // Move towards the pose asked for, 8° per frame at most.
            let target = f.yaw;
            self.yaw += (target - self.yaw).clamp(-8.0, 8.0);
            f.yaw = self.yaw;
            self.feed(f.frame());
        }
    }

    /// Performs one attempt: until it fails, the session ends, or `max_frames` pass.
    pub fn attempt(&mut self, face: Face, max_frames: usize) {
        let from = self.events.len();
        for _ in 0..max_frames {
            let attempt_over = self.events[from..].iter().any(|(_, e)| {
                matches!(e, Event::Trace(t) if t.event == facekiosk_session::trace::TraceEventKind::Attempt)
            });
            if attempt_over || self.session.is_finished() {
                return;
            }
            self.perform(face, 1);
        }
    }

    /// Runs until the session ends (or `max` frames), feeding `input`.
    pub fn until_finished(&mut self, max: usize, input: impl Fn() -> Input) {
        self.frames(max, input);
    }

    pub fn finished(&self) -> bool {
        self.session.is_finished()
    }

    /// The session's events as readable lines, for snapshots. Results are shown as their
    /// verified claims (the audit image cut short).
    pub fn transcript(&self) -> String {
        let jwks = identity().jwks();
        let mut out = String::new();
        for (t, e) in &self.events {
            let line = match e {
                Event::Status(s) => format!("status {}", s.as_str()),
                Event::Guidance(h) => format!("hint {}", h.as_str()),
                Event::Challenge(c) => {
                    format!("challenge {} {}/{}", c.kind.as_str(), c.index, c.count)
                }
                Event::Trace(tr) => format!(
                    "trace {:?} {:?}{}{}{}",
                    tr.event,
                    tr.status,
                    tr.status_code
                        .as_deref()
                        .map(|c| format!(" {c}"))
                        .unwrap_or_default(),
                    tr.status_message
                        .as_deref()
                        .map(|m| format!(" \"{m}\""))
                        .unwrap_or_default(),
                    tr.attempt
                        .map(|a| format!(" attempt={a}"))
                        .unwrap_or_default(),
                ),
                Event::Success(jws) => {
                    let v = facekiosk_identity::verify(jws, &jwks, (T0 / 1000) + 60)
                        .expect("the result verifies");
                    format!(
                        "success {}",
                        serde_json::to_string_pretty(&redact(v.claims)).unwrap()
                    )
                }
                Event::Error(err) => {
                    let mut s = format!(
                        "error {} \"{}\"",
                        err.code.as_str(),
                        err.message.as_deref().unwrap_or("")
                    );
                    if let Some(data) = &err.data {
                        let v = facekiosk_identity::verify(data, &jwks, (T0 / 1000) + 60)
                            .expect("the partial result verifies");
                        s.push_str(&format!(
                            " data={}",
                            serde_json::to_string_pretty(&redact(v.claims)).unwrap()
                        ));
                    }
                    s
                }
                Event::Finally => "finally".to_owned(),
            };
            out.push_str(&format!("{t:>6} {line}\n"));
        }
        out
    }

    /// The terminal events: (successes, errors, finallys).
    pub fn ends(&self) -> (usize, usize, usize) {
        let count = |f: fn(&Event) -> bool| self.events.iter().filter(|(_, e)| f(e)).count();
        (
            count(|e| matches!(e, Event::Success(_))),
            count(|e| matches!(e, Event::Error(_))),
            count(|e| matches!(e, Event::Finally)),
        )
    }
}

fn redact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(img) = v.get_mut("auditImage").and_then(|a| a.get_mut("data")) {
        *img = serde_json::Value::String("<jpeg>".into());
    }
    v
}

/// What a live person (or a photo) aims for at `step` frames into a challenge (the performer
/// then moves the head there at a human pace).
pub fn act(face: Face, kind: ChallengeKind, step: u32) -> Face {
    match kind {
        ChallengeKind::TurnLeft => Face { yaw: 24.0, ..face },
        ChallengeKind::TurnRight => Face { yaw: -24.0, ..face },
        ChallengeKind::Blink => Face {
            ear: if (3..=5).contains(&step) { 0.08 } else { 0.3 },
            ..face
        },
        ChallengeKind::Smile => Face {
            smile: if step >= 2 { 1.3 } else { 1.0 },
            ..face
        },
    }
}
