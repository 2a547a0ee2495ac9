//! Scripted sessions: a fake clock at 15 frames/s, frame observations built by hand (chosen
//! embeddings, quality verdicts, landmarks of a 3-D head or of a flat photo), and a "performer"
//! that waits for each prompt, reacts after a human delay, does what it is asked at a human
//! pace, and comes back to a neutral pose.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use facekiosk_face::embed::Embedding;
use facekiosk_face::geometry::BoundingBox;
use facekiosk_face::landmarks::{HeadPose, Landmark};
use facekiosk_face::liveness::{HEAD_LANDMARKS, HeadPoints, LivenessSignals, PassiveScore};
use facekiosk_face::matching::Calibration;
use facekiosk_face::quality::{QualityIssue, QualityMetrics, QualityReport};
use facekiosk_identity::{KioskIdentity, ResultSigner, TestKey};
use facekiosk_session::claims::{
    CalibrationClaim, CaptureClaim, CaptureSource, DeviceClaim, ModelsClaim, ReferenceClaim,
    ReferenceSource,
};
use facekiosk_session::engine::ChallengePrompt;
use facekiosk_session::observation::{FaceObservation, FrameObservation};
use facekiosk_session::options::ChallengeKind;
use facekiosk_session::{
    Event, Input, Provenance, Reference, Session, SessionContext, SessionOptions, SessionPolicy,
    SessionSeed,
};

/// 15 frames per second.
pub const FRAME_MS: u64 = 66;
/// The session starts at this unix time (ms): 2026-11-23 10:00:00 UTC.
pub const T0: u64 = 1_795_428_000_000;
/// Frames a scripted person takes to react to a prompt (~330 ms).
pub const REACTION_FRAMES: u32 = 5;

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
                i > 2
            )
        })
        .collect();
    let json = format!(
        r#"{{"schema":1,"embedderSha256":"00","pipeline":"test","set":{{"name":"test","images":0,"identities":0,"genuinePairs":0,"impostorPairs":0}},"method":"test","levels":[{}]}}"#,
        levels.join(",")
    );
    Calibration::parse(&json, "test.json".as_ref()).unwrap()
}

pub fn provenance() -> Provenance {
    Provenance {
        capture: CaptureClaim {
            source: CaptureSource::Camera,
            device: "scripted camera".into(),
            r#virtual: false,
        },
        allow_virtual_camera: false,
        models: ModelsClaim {
            sha256: [("detector", "d1"), ("embedder", "e1"), ("landmarks", "l1")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            replaced: Vec::new(),
        },
        calibration: CalibrationClaim {
            sha256: "c1".into(),
            set: "test".into(),
            images: 0,
            identities: 0,
        },
    }
}

pub fn context_with(policy: SessionPolicy, passive: bool, signer: ResultSigner) -> SessionContext {
    SessionContext {
        signer,
        device: DeviceClaim {
            kiosk: String::new(),
            camera: "scripted".into(),
            app_version: "test".into(),
            execution_provider: "cpu".into(),
        },
        calibration: calibration(),
        passive_threshold: passive.then_some(0.0),
        policy,
        provenance: provenance(),
    }
}

pub fn context(policy: SessionPolicy, passive: bool) -> SessionContext {
    context_with(policy, passive, identity().signer())
}

/// A test key's signer (for file and folder sources).
pub fn test_signer() -> (ResultSigner, facekiosk_identity::Jwk) {
    let key = TestKey::generate(&identity(), T0 / 1000, 3600).unwrap();
    (key.signer(), key.jwk().clone())
}

pub fn options() -> SessionOptions {
    SessionOptions {
        session_id: "vs_test".into(),
        ..SessionOptions::default()
    }
}

pub fn seed() -> SessionSeed {
    SessionSeed {
        challenges: 7,
        result_id: [9; 16],
    }
}

/// The reference: a unit vector.
pub fn reference() -> Reference {
    Reference {
        embedding: embedding(1.0),
        claim: ReferenceClaim {
            sha256: "ab12".into(),
            source: ReferenceSource::Api,
        },
    }
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

/// A rough 3-D head (mm, z towards the camera negative): one point per landmark of the 3-D
/// check, on an ellipsoid, the nose in front.
fn head_model() -> Vec<[f64; 3]> {
    let n = HEAD_LANDMARKS.len();
    let mut pts = Vec::new();
    for i in 0..n {
        let a = i as f64 / n as f64 * std::f64::consts::TAU;
        let ring = if i % 2 == 0 { 1.0 } else { 0.6 };
        let (x, y) = (70.0 * ring * a.cos(), 90.0 * ring * a.sin());
        pts.push([x, y, 45.0 * ((x / 75.0).powi(2) + (y / 95.0).powi(2))]);
    }
    pts[0] = [0.0, 5.0, -38.0];
    pts[1] = [0.0, 20.0, -28.0];
    pts[2] = [0.0, -25.0, -12.0];
    pts
}

/// Rotates a head point by `yaw` (about the vertical axis) then `pitch` (+: chin up).
fn rotate(p: [f64; 3], yaw: f64, pitch: f64) -> [f64; 3] {
    let (s, c) = yaw.to_radians().sin_cos();
    let (x, y, z) = (p[0] * c + p[2] * s, p[1], -p[0] * s + p[2] * c);
    let (sp, cp) = pitch.to_radians().sin_cos();
    // Chin up: points below the centre (y > 0) come towards the camera.
    [x, y * cp + z * sp, -y * sp + z * cp]
}

/// The landmarks of the head turned by `yaw` degrees (positive: to the person's left) and
/// tilted by `pitch`, or of a flat photo of it held the same way. The landmark model's depth
/// guess is a head's either way.
pub fn head(yaw: f32, pitch: f32, flat: bool) -> HeadPoints {
    let (yaw, pitch) = (f64::from(yaw), f64::from(pitch));
    let (f, d) = (900.0, 600.0);
    let points = head_model()
        .into_iter()
        .map(|p| {
            let surface = if flat { [p[0], p[1], 0.0] } else { p };
            let [x, y, z] = rotate(surface, yaw, pitch);
            let depth = rotate(p, yaw, pitch)[2];
            Landmark {
                x: (320.0 + f * x / (d + z)) as f32,
                y: (240.0 + f * y / (d + z)) as f32,
                z: (depth * f / d) as f32,
            }
        })
        .collect();
    let (s, c) = yaw.to_radians().sin_cos();
    let eye = |x: f64| 900.0 * (x * c + 5.0 * s) / (600.0 + (-x * s + 5.0 * c));
    HeadPoints {
        points,
        eye_distance: (eye(35.0) - eye(-35.0)).abs() as f32,
        presence: 0.99,
    }
}

/// A frame with the face in the middle.
#[derive(Clone, Copy, Debug)]
pub struct Face {
    pub similarity: f32,
    pub yaw: f32,
    pub pitch: f32,
    pub ear: f32,
    pub mouth: f32,
    pub smile: f32,
    pub flat: bool,
    pub passive_logit: Option<f32>,
    pub issue: Option<QualityIssue>,
    /// Which person (see [`embedding_on`]).
    pub axis: usize,
    /// Horizontal offset of the face box, px.
    pub dx: f32,
}

impl Face {
    pub fn genuine() -> Self {
        Face {
            similarity: 0.8,
            yaw: 0.0,
            pitch: 0.0,
            ear: 0.3,
            mouth: 0.05,
            smile: 1.0,
            flat: false,
            passive_logit: None,
            issue: None,
            axis: 1,
            dx: 0.0,
        }
    }

    pub fn impostor() -> Self {
        Face {
            similarity: 0.2,
            ..Self::genuine()
        }
    }

    pub fn observation(self) -> FrameObservation {
        let metrics = QualityMetrics {
            eye_distance_px: 70.0,
            face_fraction: 0.35,
            center_offset: (0.0, 0.0),
            inside_fraction: 1.0,
            pose: HeadPose {
                yaw: self.yaw,
                pitch: self.pitch,
                roll: 0.0,
            },
            eye_aspect_ratio: Some((self.ear, self.ear)),
            brightness: 130.0,
            clipped_fraction: 0.0,
            backlight_difference: -10.0,
            sharpness: 300.0,
            faces_counted: 1,
            landmark_presence: Some(0.99),
        };
        let mut issues: Vec<QualityIssue> = self.issue.into_iter().collect();
        if self.yaw.abs() >= 25.0 {
            issues.push(QualityIssue::YawOutOfRange);
        }
        if self.ear <= 0.14 {
            issues.push(QualityIssue::EyesClosed);
        }
        FrameObservation {
            width: 640,
            height: 480,
            faces: 1,
            quality: QualityReport {
                issues,
                metrics: Some(metrics),
            },
            face: Some(FaceObservation {
                bbox: BoundingBox {
                    x: 220.0 + self.dx,
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
                        pitch: self.pitch,
                        roll: 0.0,
                    },
                }),
                head: Some(head(self.yaw, self.pitch, self.flat)),
                passive: self.passive_logit.map(|l| PassiveScore {
                    logit: l,
                    probability: 1.0 / (1.0 + (-l).exp()),
                    live: l >= 0.0,
                }),
                // The runner embeds every frame with a face while the session proves.
                embedding: Some(embedding_on(self.similarity, self.axis)),
            }),
            image: None,
        }
    }

    pub fn frame(self) -> Input {
        Input::Frame(Box::new(self.observation()))
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
    /// The performer's head pitch, likewise.
    pub pitch: f32,
}

impl Script {
    pub fn start(options: SessionOptions, ctx: SessionContext) -> Self {
        let (session, ev) = Session::start(options, ctx, reference(), seed(), T0);
        let mut s = Script {
            session,
            now: T0,
            events: Vec::new(),
            challenge: None,
            step: 0,
            yaw: 0.0,
            pitch: 0.0,
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

    /// The face a live person shows on the next frame: neutral while no challenge is shown;
    /// after a prompt, a human reaction time, then the movement asked for.
    pub fn next_face(&mut self, face: Face) -> Face {
        let mut f = match self.challenge {
            None => face,
            Some(c) => {
                self.step += 1;
                act(face, c.kind, self.step)
            }
        };
        // Move towards the pose aimed for, smoothly: at most 8° per frame, slower near the
        // goal, as a head does.
        let step = |from: f32, to: f32| {
            let d = to - from;
            from + (d * 0.5).clamp(-8.0, 8.0) + if d.abs() < 1.0 { d * 0.5 } else { 0.0 }
        };
        self.yaw = step(self.yaw, f.yaw);
        self.pitch = step(self.pitch, f.pitch);
        f.yaw = self.yaw;
        f.pitch = self.pitch;
        f
    }

    /// A live person: holds still, then does each challenge shown, until the session ends or
    /// `max_frames` pass. `face` sets who it is (similarity) and whether the head is a flat photo.
    pub fn perform(&mut self, face: Face, max_frames: usize) {
        for _ in 0..max_frames {
            if self.session.is_finished() {
                return;
            }
            let f = self.next_face(face);
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

    /// Performs until a challenge is on screen.
    pub fn until_challenge(&mut self) {
        for _ in 0..100 {
            if self.challenge.is_some() || self.finished() {
                return;
            }
            self.perform(Face::genuine(), 1);
        }
    }

    pub fn finished(&self) -> bool {
        self.session.is_finished()
    }

    /// The session's events as readable lines, for snapshots. Results are shown as their
    /// verified claims (the audit image cut short).
    pub fn transcript(&self) -> String {
        self.transcript_with(&identity().jwks())
    }

    /// The transcript, verifying results with `jwks`.
    pub fn transcript_with(&self, jwks: &facekiosk_identity::Jwks) -> String {
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
                    let v = facekiosk_identity::verify(jws, jwks, (T0 / 1000) + 60)
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
                        let v = facekiosk_identity::verify(data, jwks, (T0 / 1000) + 60)
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

    /// The success's claims, verified.
    pub fn success_claims(&self) -> Option<serde_json::Value> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Success(jws) => {
                facekiosk_identity::verify(jws, &identity().jwks(), T0 / 1000 + 60)
                    .ok()
                    .map(|v| v.claims)
            }
            _ => None,
        })
    }
}

fn redact(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(img) = v.get_mut("auditImage").and_then(|a| a.get_mut("data")) {
        *img = serde_json::Value::String("<jpeg>".into());
    }
    v
}

/// What a live person (or a photo) aims for at `step` frames after a prompt: nothing during the
/// reaction time, then the movement (the performer moves the head there at a human pace).
pub fn act(face: Face, kind: ChallengeKind, step: u32) -> Face {
    if step < REACTION_FRAMES {
        return face;
    }
    let moving = step - REACTION_FRAMES;
    match kind {
        ChallengeKind::TurnLeft => Face { yaw: 24.0, ..face },
        ChallengeKind::TurnRight => Face { yaw: -24.0, ..face },
        ChallengeKind::LookUp => Face {
            pitch: 18.0,
            ..face
        },
        ChallengeKind::LookDown => Face {
            pitch: -18.0,
            ..face
        },
        ChallengeKind::Blink => Face {
            ear: if (1..=3).contains(&moving) { 0.08 } else { 0.3 },
            ..face
        },
        ChallengeKind::Smile => Face {
            smile: if moving >= 1 { 1.3 } else { 1.0 },
            ..face
        },
    }
}
