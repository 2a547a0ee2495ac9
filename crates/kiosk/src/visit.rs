//! A customer's visit: a session claimed from the verification API (by its digit code or its
//! id and client secret), its reference photo checked, the session run on the kiosk's camera
//! with what the screen must show reported as [`VisitEvent`]s, and its signed result queued
//! in the outbox BEFORE the outcome is reported.
//!
//! The events are the app's wire format (`src-tauri` forwards them to `ui/` unchanged); they
//! never carry a score, an image or an embedding.

use std::sync::mpsc::Receiver;

use base64::Engine as _;
use facekiosk_face::decode::{DecodeLimits, decode};
use facekiosk_face::engine::FaceEngine;
use facekiosk_face::manifest::sha256_hex;
use facekiosk_identity::KioskIdentity;
use facekiosk_runner::{Control, Ending, Preview, Reporter, RunSetup, SourceSpec};
use facekiosk_session::claims::ReferenceSource;
use facekiosk_session::guidance::Hint;
use facekiosk_session::options::ChallengeKind;
use facekiosk_session::{
    ErrorCode, Event, LivenessMode, OperationError, Reference, SessionOptions,
};
use facekiosk_sync::{ApiClient, Claim, ClientError};
use serde::Serialize;
use serde_json::Value;

use crate::config::KioskConfig;
use crate::store::KioskStore;

/// Why a session could not be claimed, as the screen tells it (`code` is what the UI keys
/// its text on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimError {
    /// `NETWORK_ERROR`, `INVALID_DIGIT_STRING`, `SESSION_EXPIRED_OR_NOT_FOUND`,
    /// `NOT_REGISTERED`, `INVALID_CONFIG` (the session's settings or photo are not usable), or
    /// the API's own code.
    pub code: String,
    /// For staff and logs (no personal data).
    pub message: String,
}

impl ClaimError {
    fn new(code: &str, message: impl Into<String>) -> Self {
        ClaimError {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl From<ClientError> for ClaimError {
    fn from(e: ClientError) -> Self {
        match &e {
            ClientError::Network { .. } => ClaimError::new("NETWORK_ERROR", e.to_string()),
            ClientError::Refused { code, .. } => ClaimError::new(code, e.to_string()),
            ClientError::Answer(_) => ClaimError::new("UNEXPECTED_ERROR", e.to_string()),
        }
    }
}

/// A session claimed for this kiosk, ready to run.
#[derive(Clone)]
pub struct ClaimedVisit {
    /// The session.
    pub session_id: String,
    /// A test-mode session (its result must be signed with a test key).
    pub test: bool,
    /// What to run.
    pub options: SessionOptions,
    /// The reference photo's bytes (kept in memory only, dropped with the visit).
    photo: Vec<u8>,
    /// Their sha256 (what the result names).
    photo_sha256: String,
    /// Where the photo came from: the API, or staff at the kiosk (a walk-in).
    source: ReferenceSource,
    /// The session's own language: its `defaultLang`, else the language of its `locale`
    /// (`fr` for `fr-CA`); None: the kiosk's.
    pub lang: Option<String>,
    /// The languages the integrator offers for this session (empty: the kiosk's).
    pub langs: Vec<String>,
    /// The integrator's look and texts for this session.
    pub customization: Customization,
}

/// What an integrator may change for one session (`customization` when the session was
/// created): texts by language (`{"texts": {"en": {"screen": {…}}}}`, the keys of
/// texts/<lang>.json) and colours (`{"colors": {"brand": "#…"}}`, a theme's colour names).
/// Anything else is dropped, as are colours that are not plain CSS colours.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Customization {
    /// Texts by language: nested objects of strings.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub texts: serde_json::Map<String, Value>,
    /// Colours by theme colour name.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub colors: std::collections::BTreeMap<String, String>,
}

impl Customization {
    /// The usable part of a session's `customization`.
    pub fn from_settings(v: &Value) -> Customization {
        fn strings_only(v: &Value) -> Option<Value> {
            match v {
                Value::String(_) => Some(v.clone()),
                Value::Object(m) => Some(Value::Object(
                    m.iter()
                        .filter_map(|(k, v)| strings_only(v).map(|v| (k.clone(), v)))
                        .collect(),
                )),
                _ => None,
            }
        }
        let mut out = Customization::default();
        if let Some(texts) = v["texts"].as_object() {
            for (lang, t) in texts {
                if t.is_object()
                    && let Some(clean) = strings_only(t)
                {
                    out.texts.insert(lang.clone(), clean);
                }
            }
        }
        if let Some(colors) = v["colors"].as_object() {
            for (k, c) in colors {
                if let Some(c) = c.as_str()
                    && crate::theme::COLORS.contains(&k.as_str())
                    && crate::theme::color_ok(c)
                {
                    out.colors.insert(k.clone(), c.to_owned());
                }
            }
        }
        out
    }
}

impl std::fmt::Debug for ClaimedVisit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimedVisit")
            .field("session_id", &self.session_id)
            .field("test", &self.test)
            .finish_non_exhaustive()
    }
}

/// Claims a session and checks what the API sent: the photo's hash, the settings.
pub async fn claim(client: &ApiClient, how: &Claim<'_>) -> Result<ClaimedVisit, ClaimError> {
    let body = client.claim(how).await?;
    ClaimedVisit::from_answer(&body)
}

impl ClaimedVisit {
    /// The visit the API's answer to a claim describes (`POST /v1/kiosk/sessions/claim`).
    pub fn from_answer(body: &Value) -> Result<ClaimedVisit, ClaimError> {
        claimed_visit(body)
    }
}

fn claimed_visit(body: &Value) -> Result<ClaimedVisit, ClaimError> {
    let bad = |what: &str| ClaimError::new("INVALID_CONFIG", format!("the claimed session {what}"));
    let session_id = body["sessionId"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("has no id"))?
        .to_owned();
    let photo = base64::engine::general_purpose::STANDARD
        .decode(body["referenceImage"]["data"].as_str().unwrap_or_default())
        .map_err(|_| bad("photo is not base64"))?;
    let photo_sha256 = sha256_hex(&photo);
    if let Some(want) = body["referenceImage"]["sha256"].as_str()
        && !want.eq_ignore_ascii_case(&photo_sha256)
    {
        return Err(bad("photo does not match its sha256"));
    }
    let s = &body["settings"];
    let int = |key: &str, default: i64| s[key].as_i64().unwrap_or(default);
    let liveness: LivenessMode = s["liveness"]
        .as_str()
        .unwrap_or("active")
        .parse()
        .map_err(|e: String| bad(&format!("settings: {e}")))?;
    let lang = s["defaultLang"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            s["locale"]
                .as_str()
                .and_then(|l| l.split(['-', '_']).next())
                .map(str::to_ascii_lowercase)
        })
        .filter(|l| !l.is_empty());
    let options = SessionOptions {
        session_id: session_id.clone(),
        max_attempts: int("maxAttempts", 3),
        minimum_match_level: int("minimumMatchLevel", 3),
        return_data_for_incomplete_session: s["returnDataForIncompleteSession"] == true,
        liveness,
        nonce: s["nonce"].as_str().map(str::to_owned),
        lang: lang.clone().unwrap_or_else(|| "en".to_owned()),
        deadline: body["expiresAt"].as_u64().map(|t| t * 1000),
        ..SessionOptions::default()
    };
    Ok(ClaimedVisit {
        session_id,
        test: body["test"] == true,
        options,
        photo,
        photo_sha256,
        source: ReferenceSource::Api,
        lang,
        langs: s["langs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|l| l.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        customization: Customization::from_settings(&s["customization"]),
    })
}

/// A walk-in session's id: the kiosk's own, as no API made it.
pub fn walk_in_id(kiosk_id: &str, now_ms: u64) -> String {
    format!("walkin-{kiosk_id}-{now_ms}")
}

impl ClaimedVisit {
    /// A walk-in visit: no API session; staff took the customer's ID photo (`photo`, an
    /// encoded image) with the kiosk's camera. The session's settings are the defaults, its
    /// id the kiosk's own ([`walk_in_id`]), and its result says it was a walk-in. A kiosk
    /// whose camera is a clip (tests, demonstrations) makes test sessions.
    pub fn walk_in(config: &KioskConfig, kiosk_id: &str, photo: Vec<u8>, now_ms: u64) -> Self {
        let session_id = walk_in_id(kiosk_id, now_ms);
        let options = SessionOptions {
            session_id: session_id.clone(),
            walk_in: true,
            lang: config
                .kiosk
                .languages
                .first()
                .cloned()
                .unwrap_or_else(|| "en".to_owned()),
            ..SessionOptions::default()
        };
        ClaimedVisit {
            session_id,
            test: !config.kiosk.camera.starts_with("camera"),
            options,
            photo_sha256: sha256_hex(&photo),
            photo,
            source: ReferenceSource::WalkIn,
            lang: None,
            langs: Vec::new(),
            customization: Customization::default(),
        }
    }

    /// Whether this is a walk-in (the kiosk's own session).
    pub fn is_walk_in(&self) -> bool {
        self.source == ReferenceSource::WalkIn
    }
}

impl ClaimedVisit {
    /// The reference from the claimed photo: exactly one face that passes the photo gates.
    pub fn reference(
        &self,
        engine: &FaceEngine,
        limits: DecodeLimits,
    ) -> Result<Reference, OperationError> {
        let invalid =
            |e: String| OperationError::new(ErrorCode::InvalidConfig, format!("the ID photo: {e}"));
        let img = decode(&self.photo, limits).map_err(|e| invalid(e.to_string()))?;
        let analysis = engine
            .analyze(&img, &engine.photo_options())
            .map_err(|e| OperationError::new(ErrorCode::ModelError, e.to_string()))?;
        Reference::from_photo(&analysis, self.photo_sha256.clone(), self.source)
    }
}

/// How a visit ended, as the screen shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Verified.
    Success,
    /// Not verified: the face did not match or the liveness check failed, no attempts left.
    Failure,
    /// The person or staff cancelled.
    Canceled,
    /// Nobody there for too long, or the session's time ran out.
    Timeout,
    /// The camera could not be used.
    CameraError,
    /// Something staff must look at (the session's settings, the models, the kiosk's state).
    SeeStaff,
}

impl Outcome {
    /// The outcome an error code is shown as.
    pub fn for_error(code: ErrorCode) -> Outcome {
        match code {
            ErrorCode::UserCancel => Outcome::Canceled,
            ErrorCode::InactivityTimeout | ErrorCode::SessionExpiredOrNotFound => Outcome::Timeout,
            ErrorCode::SessionInvalidatedFaceRecognitionTooManyAttempts
            | ErrorCode::SessionInvalidatedLivenessFailed => Outcome::Failure,
            ErrorCode::MediaNotFoundError
            | ErrorCode::MediaNotAllowedError
            | ErrorCode::MediaVirtualCameraDetected => Outcome::CameraError,
            _ => Outcome::SeeStaff,
        }
    }
}

/// What the screen must show, as it happens (the app's wire format to `ui/`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum VisitEvent {
    /// `opening` (the camera starts), then the session's status.
    Status {
        /// `opening`, `requiresInput`, `processing`, `complete`, `canceled`.
        status: String,
    },
    /// A hint for the person.
    Hint {
        /// The hint's code (texts: `hint.<CODE>`).
        hint: Hint,
    },
    /// A liveness challenge to follow.
    Challenge {
        /// What to do (texts: `challenge.<CODE>`).
        challenge: ChallengeKind,
        /// Which one (1-based) …
        index: usize,
        /// … of how many.
        count: usize,
    },
    /// An attempt failed; the session waits for "try again" (or retries by itself).
    #[serde(rename_all = "camelCase")]
    AttemptFailed {
        /// `TRY_AGAIN` (no match) or `LIVENESS_TRY_AGAIN`.
        hint: Hint,
        /// Attempts left.
        attempts_left: i64,
    },
    /// Where the face is in the (mirrored) preview, as fractions of the frame; `None`: no
    /// face. Sent when it appears, goes, or moves by more than 2 % of the frame.
    Face {
        /// The face's box.
        #[serde(rename = "box")]
        face_box: Option<FaceBox>,
    },
    /// Holding still: how far the capture is, 0..1 (by the time the session needs).
    Progress {
        /// 0..1.
        value: f32,
    },
    /// The camera went away (`lost`) or came back (`back`).
    Camera {
        /// `lost` or `back`.
        state: String,
    },
    /// The end. Sent after the result was queued (when the kiosk is registered).
    Outcome {
        /// What to show.
        outcome: Outcome,
        /// The error's code, when it ended in one.
        code: Option<ErrorCode>,
        /// Whether a signed result was queued for the API.
        queued: bool,
    },
}

/// A face's box in the mirrored preview, fractions of the frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FaceBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl FaceBox {
    /// The box of a face the camera saw at `b` (x, y, w, h), as the mirrored preview shows it.
    pub fn mirrored(b: [f32; 4]) -> FaceBox {
        FaceBox {
            x: 1.0 - b[0] - b[2],
            y: b[1],
            w: b[2],
            h: b[3],
        }
    }

    fn moved_from(&self, o: &FaceBox) -> bool {
        [self.x - o.x, self.y - o.y, self.w - o.w, self.h - o.h]
            .iter()
            .any(|d| d.abs() > 0.02)
    }
}

/// Where a visit's events go (the app forwards them to the screen).
pub trait VisitSink {
    /// One event.
    fn event(&mut self, event: VisitEvent);
}

impl<F: FnMut(VisitEvent)> VisitSink for F {
    fn event(&mut self, event: VisitEvent) {
        self(event)
    }
}

/// Turns the session's events into what the screen shows, and keeps its traces for the
/// outbox.
struct Screen<'a> {
    sink: &'a mut dyn VisitSink,
    max_attempts: i64,
    failures: i64,
    camera_lost: bool,
    traces: Vec<Value>,
    /// How long the session wants the person to hold still, ms.
    hold_still_ms: u64,
    /// Since when the person is asked to hold still (ms from the start), and the last
    /// progress sent (in tenths, so the screen gets at most ten updates).
    holding: Option<(u64, u8)>,
    /// The face box last sent (`Some(None)`: "no face" was sent).
    face: Option<Option<FaceBox>>,
}

impl Reporter for Screen<'_> {
    fn frame_done(&mut self, stats: facekiosk_runner::FrameStats) {
        let face = stats.face.map(FaceBox::mirrored);
        let changed = match (&self.face, &face) {
            (None, _) => true,
            (Some(Some(a)), Some(b)) => b.moved_from(a),
            (Some(a), b) => a.is_some() != b.is_some(),
        };
        if changed {
            self.face = Some(face);
            self.sink.event(VisitEvent::Face { face_box: face });
        }
        let Some((since, sent)) = self.holding else {
            return;
        };
        let value =
            (stats.at_ms.saturating_sub(since) as f32 / self.hold_still_ms.max(1) as f32).min(1.0);
        let tenths = (value * 10.0) as u8;
        if tenths > sent {
            self.holding = Some((since, tenths));
            self.sink.event(VisitEvent::Progress { value });
        }
    }

    fn event(&mut self, at_ms: u64, event: &Event) {
        match event {
            Event::Status(s) => self.sink.event(VisitEvent::Status {
                status: s.as_str().to_owned(),
            }),
            Event::Guidance(hint) => {
                if matches!(hint, Hint::TryAgain | Hint::LivenessTryAgain) {
                    self.failures += 1;
                    self.sink.event(VisitEvent::AttemptFailed {
                        hint: *hint,
                        attempts_left: (self.max_attempts - self.failures).max(0),
                    });
                }
                self.holding = (*hint == Hint::HoldStill).then_some((at_ms, 0));
                let lost = *hint == Hint::CameraUnavailable;
                if lost != self.camera_lost {
                    self.camera_lost = lost;
                    self.sink.event(VisitEvent::Camera {
                        state: if lost { "lost" } else { "back" }.to_owned(),
                    });
                }
                self.sink.event(VisitEvent::Hint { hint: *hint });
            }
            Event::Challenge(p) => self.sink.event(VisitEvent::Challenge {
                challenge: p.kind,
                index: p.index,
                count: p.count,
            }),
            Event::Trace(t) => {
                if let Ok(v) = serde_json::to_value(t) {
                    self.traces.push(v);
                }
            }
            Event::Success(_) | Event::Error(_) | Event::Finally => {}
        }
    }
}

/// Everything a visit runs with.
pub struct VisitSetup<'a> {
    /// The kiosk's configuration.
    pub config: &'a KioskConfig,
    /// Its state (outbox, test keys).
    pub store: &'a KioskStore,
    /// The face engine.
    pub engine: &'a FaceEngine,
    /// The kiosk's identity.
    pub identity: &'a KioskIdentity,
    /// Cancel and retry from the screen.
    pub control: Option<Receiver<Control>>,
    /// The live preview.
    pub preview: Option<Preview>,
}

impl std::fmt::Debug for VisitSetup<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisitSetup").finish_non_exhaustive()
    }
}

/// What a visit left: its outcome, and the signed result when there is one (the app may show
/// its id to staff; never its scores to the customer).
#[derive(Debug)]
pub struct VisitEnd {
    /// What was shown.
    pub outcome: Outcome,
    /// The error's code, when it ended in one.
    pub code: Option<ErrorCode>,
    /// Whether the result went into the outbox.
    pub queued: bool,
    /// The run's ending.
    pub ending: Option<Ending>,
}

/// Runs a claimed visit to its end on this thread: reference, session on the configured
/// camera, result queued, outcome reported. Returns what happened; an outbox that cannot take
/// the result is an error (the outcome is then NOT reported as a success: staff must look).
pub fn run_visit(
    setup: VisitSetup<'_>,
    visit: &ClaimedVisit,
    sink: &mut dyn VisitSink,
) -> VisitEnd {
    sink.event(VisitEvent::Status {
        status: "opening".to_owned(),
    });
    let end = |sink: &mut dyn VisitSink, outcome, code, queued, ending| {
        sink.event(VisitEvent::Outcome {
            outcome,
            code,
            queued,
        });
        VisitEnd {
            outcome,
            code,
            queued,
            ending,
        }
    };
    let reference = match visit.reference(setup.engine, setup.config.face.decode) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(session = %visit.session_id, error = %e, "the claimed ID photo is not usable");
            return end(sink, Outcome::SeeStaff, Some(e.code), false, None);
        }
    };
    let mut run = RunSetup::new(setup.engine, setup.identity, visit.options.clone());
    run.policy = setup.config.session.clone();
    // A clip standing in for the camera plays every frame at its own timestamps, so a clip
    // recorded for a session plays out the same; a camera is live whatever this says.
    run.realtime = false;
    run.challenge_seed = setup.config.kiosk.test_challenge_seed;
    run.control = setup.control;
    run.preview = setup.preview;
    if let Ok(t) = setup.store.test_jwks() {
        run.test_jwks = t;
    }
    let mut screen = Screen {
        sink,
        max_attempts: visit.options.max_attempts.max(1),
        failures: 0,
        camera_lost: false,
        traces: Vec::new(),
        hold_still_ms: setup.config.session.hold_still_ms,
        holding: None,
        face: None,
    };
    let source = SourceSpec::new(
        setup.config.kiosk.camera.clone(),
        setup.config.capture.clone(),
    );
    let ending = run.run(reference, source, &mut screen);
    let Screen { sink, traces, .. } = screen;
    let ending = match ending {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(session = %visit.session_id, error = %e, "the session could not run");
            return end(
                sink,
                Outcome::SeeStaff,
                Some(ErrorCode::UnexpectedError),
                false,
                None,
            );
        }
    };
    // Queued before the outcome is shown: a kiosk never shows an outcome it lost.
    let queued = match queue(setup.store, &ending, &traces) {
        Ok(q) => q,
        Err(e) => {
            tracing::error!(session = %visit.session_id, error = %e, "the result could NOT be queued");
            return end(
                sink,
                Outcome::SeeStaff,
                Some(ErrorCode::UnexpectedError),
                false,
                Some(ending),
            );
        }
    };
    let (outcome, code) = match &ending {
        Ending::Success { verified, .. } => {
            if verified.claims["isVerified"] == true {
                (Outcome::Success, None)
            } else {
                (Outcome::Failure, None)
            }
        }
        Ending::Error { error, .. } => (Outcome::for_error(error.code), Some(error.code)),
    };
    end(sink, outcome, code, queued, Some(ending))
}

fn queue(store: &KioskStore, ending: &Ending, traces: &[Value]) -> Result<bool, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(store.queue_ending(ending, traces))
        .map(|s| s.is_some())
        .map_err(|e| e.to_string())
}

/// A preview frame for the screen: the frame scaled to fit `max_w`×`max_h`, mirrored (people
/// expect a mirror), as a JPEG. Quick: nearest-neighbour sampling, quality 70.
pub fn preview_jpeg(img: &image::RgbImage, max_w: u32, max_h: u32) -> Option<Vec<u8>> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let scale = (f64::from(max_w) / f64::from(w))
        .min(f64::from(max_h) / f64::from(h))
        .min(1.0);
    let (ow, oh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let mut out = image::RgbImage::new(ow, oh);
    for y in 0..oh {
        let sy = (u64::from(y) * u64::from(h) / u64::from(oh)) as u32;
        for x in 0..ow {
            let sx = (u64::from(ow - 1 - x) * u64::from(w) / u64::from(ow)) as u32;
            out.put_pixel(x, y, *img.get_pixel(sx.min(w - 1), sy.min(h - 1)));
        }
    }
    let mut bytes = Vec::with_capacity((ow * oh / 4) as usize);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 70)
        .encode_image(&out)
        .ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_claim_answer_becomes_the_sessions_options_and_its_photo_is_checked() {
        let photo = b"not really a jpeg".to_vec();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&photo);
        let body = json!({
            "sessionId": "ses_1", "test": true, "expiresAt": 1_800_000_000u64,
            "settings": { "maxAttempts": 2, "minimumMatchLevel": 4, "liveness": "passive",
                          "nonce": "n-1", "defaultLang": "fr", "returnDataForIncompleteSession": true },
            "referenceImage": { "data": b64, "sha256": sha256_hex(&photo) },
        });
        let v = claimed_visit(&body).unwrap();
        assert_eq!(v.session_id, "ses_1");
        assert!(v.langs.is_empty() && v.customization == Customization::default());
        assert!(v.test);
        assert_eq!(v.options.max_attempts, 2);
        assert_eq!(v.options.minimum_match_level, 4);
        assert_eq!(v.options.liveness, LivenessMode::Passive);
        assert_eq!(v.options.nonce.as_deref(), Some("n-1"));
        assert_eq!(v.options.lang, "fr");
        assert_eq!(v.lang.as_deref(), Some("fr"));
        assert_eq!(v.options.deadline, Some(1_800_000_000_000));
        assert!(v.options.return_data_for_incomplete_session);

        // No defaultLang: the language of the locale; neither: the kiosk's.
        let mut by_locale = body.clone();
        by_locale["settings"] = json!({ "locale": "ar-SA" });
        assert_eq!(
            claimed_visit(&by_locale).unwrap().lang.as_deref(),
            Some("ar")
        );
        by_locale["settings"] = json!({});
        assert_eq!(claimed_visit(&by_locale).unwrap().lang, None);

        let mut tampered = body.clone();
        tampered["referenceImage"]["sha256"] = json!("00");
        assert_eq!(claimed_visit(&tampered).unwrap_err().code, "INVALID_CONFIG");
        let mut odd = body.clone();
        odd["settings"]["liveness"] = json!("telepathic");
        assert_eq!(claimed_visit(&odd).unwrap_err().code, "INVALID_CONFIG");
        let mut nameless = body;
        nameless["sessionId"] = json!("");
        assert_eq!(claimed_visit(&nameless).unwrap_err().code, "INVALID_CONFIG");
    }

    #[test]
    fn a_sessions_customization_keeps_texts_and_plain_colours_only() {
        let c = Customization::from_settings(&json!({
            "texts": { "en": { "screen": { "attract": { "title": "Welcome to Example Bank", "n": 3 } } },
                       "fr": "not an object" },
            "colors": { "brand": "#003366", "text": "red; background: url(x)", "sparkle": "#fff" },
            "script": "alert(1)",
        }));
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({ "texts": { "en": { "screen": { "attract": { "title": "Welcome to Example Bank" } } } },
                    "colors": { "brand": "#003366" } })
        );
        assert_eq!(
            Customization::from_settings(&Value::Null),
            Customization::default()
        );
    }

    #[test]
    fn the_preview_is_small_mirrored_and_a_jpeg() {
        let mut img = image::RgbImage::new(1280, 960);
        // Left half red, right half blue: mirrored, the left of the preview is blue.
        for (x, _, p) in img.enumerate_pixels_mut() {
            *p = if x < 640 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            };
        }
        let jpeg = preview_jpeg(&img, 640, 480).unwrap();
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        let back = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (640, 480));
        let left = back.get_pixel(100, 240);
        assert!(left[2] > 200 && left[0] < 60, "{left:?}");
    }

    #[test]
    fn error_codes_map_to_the_outcome_screens() {
        assert_eq!(Outcome::for_error(ErrorCode::UserCancel), Outcome::Canceled);
        assert_eq!(
            Outcome::for_error(ErrorCode::InactivityTimeout),
            Outcome::Timeout
        );
        assert_eq!(
            Outcome::for_error(ErrorCode::SessionInvalidatedLivenessFailed),
            Outcome::Failure
        );
        assert_eq!(
            Outcome::for_error(ErrorCode::MediaNotFoundError),
            Outcome::CameraError
        );
        assert_eq!(Outcome::for_error(ErrorCode::ModelError), Outcome::SeeStaff);
        let face = serde_json::to_value(VisitEvent::Face {
            face_box: Some(FaceBox::mirrored([0.125, 0.25, 0.25, 0.5])),
        })
        .unwrap();
        assert_eq!(
            face,
            json!({ "kind": "face", "box": { "x": 0.625, "y": 0.25, "w": 0.25, "h": 0.5 } })
        );
        assert_eq!(
            serde_json::to_value(VisitEvent::Face { face_box: None }).unwrap(),
            json!({ "kind": "face", "box": null })
        );
        let e = serde_json::to_value(VisitEvent::AttemptFailed {
            hint: Hint::TryAgain,
            attempts_left: 2,
        })
        .unwrap();
        assert_eq!(
            e,
            json!({ "kind": "attemptFailed", "hint": "TRY_AGAIN", "attemptsLeft": 2 })
        );
    }
}
