//! Tauri commands: the only way the UI reaches the kiosk. Transport types live here; the work
//! is done by `facekiosk_kiosk` (claims, visits, the outbox).

use std::sync::mpsc;

use facekiosk_kiosk::panel::RecentVisit;
use facekiosk_kiosk::visit::{ClaimError, VisitEvent, VisitSetup, claim, preview_jpeg, run_visit};
use facekiosk_runner::Control;
use facekiosk_sync::Claim;
use serde::Serialize;
use tauri::State;
use tauri::ipc::{Channel, InvokeResponseBody};

use crate::state::AppState;

/// The largest preview sent to the screen, px (the frames are mirrored and JPEG-encoded).
const PREVIEW_W: u32 = 640;
const PREVIEW_H: u32 = 480;

/// Shows the camera's frames on the screen: mirrored JPEGs, as raw bytes on `channel`.
pub(crate) fn preview_on(channel: Channel<InvokeResponseBody>) -> facekiosk_runner::Preview {
    std::sync::Arc::new(move |img: &image::RgbImage| {
        if let Some(jpeg) = preview_jpeg(img, PREVIEW_W, PREVIEW_H) {
            // A screen that went away stops the preview, not the camera's work.
            let _ = channel.send(InvokeResponseBody::Raw(jpeg));
        }
    })
}

/// What the welcome screen needs to know.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KioskInfo {
    /// The engine loaded and the kiosk can run sessions.
    pub ready: bool,
    /// Why not, for staff.
    pub problem: Option<String>,
    /// Registered with a verification API (sessions can be claimed).
    pub registered: bool,
    /// The kiosk's id.
    pub kiosk_id: String,
    /// Languages offered, the first by default.
    pub languages: Vec<String>,
    /// The language shown first.
    pub default_lang: String,
    /// How long an outcome stays on screen, s.
    pub outcome_seconds: u64,
    /// Idle time before the welcome screen returns, s.
    pub idle_seconds: u64,
    /// Attempts a session allows by default.
    pub attempts_allowed: i64,
}

/// An error the screen shows by its code.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UiError {
    code: String,
    message: String,
    /// `STAFF_PIN_WRONG`: wrong PINs left before the panel locks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// `STAFF_LOCKED`: seconds until a PIN is checked again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl UiError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        UiError {
            code: code.to_owned(),
            message: message.into(),
            attempts_left: None,
            retry_after_s: None,
        }
    }
}

impl From<ClaimError> for UiError {
    fn from(e: ClaimError) -> Self {
        UiError::new(&e.code, e.message)
    }
}

/// The kiosk's readiness and settings; waits for the face engine to load.
#[tauri::command]
pub async fn kiosk_info(state: State<'_, AppState>) -> Result<KioskInfo, UiError> {
    let wait = state.engine_waiter();
    let engine = tauri::async_runtime::spawn_blocking(wait)
        .await
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?;
    let registered = matches!(state.store.registration(), Ok(Some(_)));
    let mut problem = engine.err();
    if let Err(e) = &state.identity {
        problem.get_or_insert_with(|| format!("the kiosk's identity: {e}"));
    }
    if !state
        .welcomed
        .swap(true, std::sync::atomic::Ordering::SeqCst)
    {
        // `make bench-app` reads this line: the cold start, to the welcome screen.
        tracing::info!(
            ms = state.started.elapsed().as_millis() as u64,
            ready = problem.is_none(),
            registered,
            "the welcome screen is ready"
        );
    }
    let languages = state.config.kiosk.languages.clone();
    Ok(KioskInfo {
        ready: problem.is_none(),
        problem,
        registered,
        kiosk_id: state
            .identity
            .as_ref()
            .map(|i| i.kiosk_id().to_owned())
            .unwrap_or_default(),
        default_lang: languages
            .first()
            .cloned()
            .unwrap_or_else(|| "en".to_owned()),
        languages,
        outcome_seconds: state.config.kiosk.outcome_s,
        idle_seconds: state.config.kiosk.idle_timeout_s,
        attempts_allowed: facekiosk_session::SessionOptions::default().max_attempts,
    })
}

/// The texts of one language (every string the screens show, by key): the built-in ones with
/// the deployment's overrides (`kiosk.texts_dir`).
#[tauri::command]
pub fn texts(state: State<'_, AppState>, lang: String) -> Result<serde_json::Value, UiError> {
    facekiosk_kiosk::texts::load(&lang, state.config.kiosk.texts_dir.as_deref())
        .map_err(|e| UiError::new("INVALID_CONFIG", e))
}

/// The look: colours, radius, text scale, the logo, images and sounds (as `data:` URLs).
#[tauri::command]
pub fn theme(state: State<'_, AppState>) -> facekiosk_kiosk::theme::Theme {
    state.theme.clone()
}

/// What a claim tells the screen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claimed {
    session_id: String,
    test: bool,
    /// The session's language (the integrator's `defaultLang`, else its `locale`'s); null: the
    /// kiosk's.
    lang: Option<String>,
    /// The languages the integrator offers for it (empty: the kiosk's).
    langs: Vec<String>,
    /// The integrator's texts and colours for this session.
    customization: facekiosk_kiosk::visit::Customization,
}

/// The registered kiosk's API client.
pub(crate) fn client(state: &State<'_, AppState>) -> Result<facekiosk_sync::ApiClient, UiError> {
    let registration = match state.store.registration() {
        Ok(Some(r)) => r,
        Ok(None) => {
            return Err(UiError::new(
                "NOT_REGISTERED",
                "this kiosk is not registered with a verification API",
            ));
        }
        Err(e) => return Err(UiError::new("NOT_REGISTERED", e.to_string())),
    };
    state
        .store
        .client(&state.config, &registration)
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))
}

/// Claims a session by the digit code the person typed.
#[tauri::command]
pub async fn claim_session(state: State<'_, AppState>, digits: String) -> Result<Claimed, UiError> {
    if !(4..=12).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UiError::new(
            "INVALID_DIGIT_STRING",
            "a code is 4 to 12 digits",
        ));
    }
    let client = client(&state)?;
    let visit = claim(&client, &Claim::Digits(&digits)).await?;
    keep_claimed(&state, visit)
}

/// How long the camera looks for a session's QR code.
const SCAN_TIME: std::time::Duration = std::time::Duration::from_secs(60);

/// Reads the session's QR code with the camera (the frames on `on_frame`), then claims it.
#[tauri::command]
pub async fn scan_session(
    state: State<'_, AppState>,
    on_frame: Channel<InvokeResponseBody>,
) -> Result<Claimed, UiError> {
    let client = client(&state)?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let mut current = state
            .scan_stop
            .lock()
            .map_err(|_| UiError::new("UNEXPECTED_ERROR", "poisoned"))?;
        // One camera, one scan: a scan still running ends now.
        if let Some(previous) = current.replace(stop.clone()) {
            previous.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let config = state.config_now();
    let preview = preview_on(on_frame);
    let code = tauri::async_runtime::spawn_blocking(move || {
        facekiosk_kiosk::scan::scan_for_session(&config, Some(&preview), &stop, SCAN_TIME)
    })
    .await
    .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))??;
    let visit = claim(
        &client,
        &Claim::Secret {
            session_id: &code.session_id,
            client_secret: &code.client_secret,
        },
    )
    .await?;
    keep_claimed(&state, visit)
}

/// Ends the QR-code scan in progress (its `scan_session` then fails with `SCAN_CANCELED`).
#[tauri::command]
pub fn cancel_scan(state: State<'_, AppState>) {
    if let Ok(current) = state.scan_stop.lock()
        && let Some(stop) = current.as_ref()
    {
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

pub(crate) fn keep_claimed(
    state: &State<'_, AppState>,
    visit: facekiosk_kiosk::visit::ClaimedVisit,
) -> Result<Claimed, UiError> {
    let out = Claimed {
        session_id: visit.session_id.clone(),
        test: visit.test,
        lang: visit.lang.clone(),
        langs: visit.langs.clone(),
        customization: visit.customization.clone(),
    };
    *state
        .claimed
        .lock()
        .map_err(|_| UiError::new("UNEXPECTED_ERROR", "poisoned"))? = Some(visit);
    Ok(out)
}

/// Starts the claimed session: events on `on_event`, preview JPEGs on `on_frame`.
#[tauri::command]
pub async fn start_session(
    state: State<'_, AppState>,
    session_id: String,
    lang: String,
    on_event: Channel<VisitEvent>,
    on_frame: Channel<InvokeResponseBody>,
) -> Result<(), UiError> {
    let poisoned = || UiError::new("UNEXPECTED_ERROR", "poisoned");
    let mut visit = state
        .claimed
        .lock()
        .map_err(|_| poisoned())?
        .take()
        .filter(|v| v.session_id == session_id)
        .ok_or_else(|| {
            UiError::new(
                "SESSION_EXPIRED_OR_NOT_FOUND",
                "no claimed session with that id",
            )
        })?;
    if state.config.kiosk.languages.contains(&lang) {
        visit.options.lang = lang;
    }
    let identity = state
        .identity
        .clone()
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e))?;
    let engine = tauri::async_runtime::spawn_blocking(state.engine_waiter())
        .await
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?
        .map_err(|e| UiError::new("MODEL_ERROR", e))?;
    let (tx, rx) = mpsc::channel();
    *state.control.lock().map_err(|_| poisoned())? = Some(tx);
    let (config, store) = (state.config_now(), state.store.clone());
    let recent = state.recent.clone();
    let preview = preview_on(on_frame);
    std::thread::Builder::new()
        .name("facekiosk-visit".to_owned())
        .spawn(move || {
            let mut sink = |e: VisitEvent| {
                let _ = on_event.send(e);
            };
            let end = run_visit(
                VisitSetup {
                    config: &config,
                    store: &store,
                    engine: &engine,
                    identity: &identity,
                    control: Some(rx),
                    preview: Some(preview),
                },
                &visit,
                &mut sink,
            );
            tracing::info!(session = %visit.session_id, outcome = ?end.outcome, queued = end.queued, "visit ended");
            if let Ok(mut r) = recent.lock() {
                r.push(RecentVisit {
                    session_id: visit.session_id.clone(),
                    at_ms: facekiosk_kiosk::store::unix_ms(),
                    outcome: end.outcome,
                    walk_in: visit.is_walk_in(),
                });
            }
        })
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?;
    Ok(())
}

fn control(state: &State<'_, AppState>, c: Control) -> Result<(), UiError> {
    let guard = state
        .control
        .lock()
        .map_err(|_| UiError::new("UNEXPECTED_ERROR", "poisoned"))?;
    match guard.as_ref() {
        // A session that already ended has nothing to cancel or retry.
        Some(tx) => {
            let _ = tx.send(c);
            Ok(())
        }
        None => Err(UiError::new(
            "SESSION_EXPIRED_OR_NOT_FOUND",
            "no session is running",
        )),
    }
}

/// Cancels the session in progress.
#[tauri::command]
pub fn cancel_session(state: State<'_, AppState>) -> Result<(), UiError> {
    control(&state, Control::Cancel)
}

/// Tries again after a failed attempt.
#[tauri::command]
pub fn retry_session(state: State<'_, AppState>) -> Result<(), UiError> {
    control(&state, Control::Retry)
}
