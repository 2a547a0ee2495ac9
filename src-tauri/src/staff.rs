//! Staff commands: the PIN gate, the panel's overview, a session picked from the waiting list,
//! walk-in sessions, the camera test and leaving kiosk mode. Each needs the panel open (`STAFF_REQUIRED` otherwise) and each is
//! logged with the operator (target `facekiosk::staff`); the work is `facekiosk_kiosk`'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use facekiosk_kiosk::panel::{Overview, WaitingSession, waiting_sessions};
use facekiosk_kiosk::scan::{Watch, watch_camera};
use facekiosk_kiosk::staff::StaffRefusal;
use facekiosk_kiosk::store::{is_camera_spec, unix_ms};
use facekiosk_kiosk::visit::{ClaimedVisit, claim};
use facekiosk_kiosk::walkin::capture_id_photo;
use facekiosk_sync::Claim;
use serde::Serialize;
use tauri::State;
use tauri::ipc::{Channel, InvokeResponseBody};

use crate::commands::{Claimed, UiError, client, keep_claimed, preview_on};
use crate::state::AppState;

/// How long the camera looks for a usable ID photo (under the default idle time, after which
/// the screen gives up anyway).
const PHOTO_TIME: Duration = Duration::from_secs(45);
/// The longest camera test.
const CAMERA_TEST_TIME: Duration = Duration::from_secs(300);

fn poisoned() -> UiError {
    UiError::new("UNEXPECTED_ERROR", "poisoned")
}

/// The operator of the open panel (using it keeps it open), or `STAFF_REQUIRED`.
fn operator(state: &State<'_, AppState>) -> Result<String, UiError> {
    state
        .staff
        .lock()
        .map_err(|_| poisoned())?
        .operator(&state.config.staff, unix_ms())
        .ok_or_else(|| UiError::new("STAFF_REQUIRED", "the staff panel is locked"))
}

/// Who opened the panel.
#[derive(Debug, Serialize)]
pub struct Unlocked {
    operator: String,
}

/// Opens the staff panel with a PIN.
#[tauri::command]
pub async fn staff_unlock(state: State<'_, AppState>, pin: String) -> Result<Unlocked, UiError> {
    let gate = state.staff.clone();
    let section = state.config.staff.clone();
    // Checking a PIN costs tens of ms of Argon2 per operator: off the UI's thread.
    let checked = tauri::async_runtime::spawn_blocking(move || {
        gate.lock()
            .map(|mut g| g.unlock(&section, &pin, unix_ms()))
            .map_err(|_| poisoned())
    })
    .await
    .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))??;
    match checked {
        Ok(operator) => {
            tracing::info!(target: "facekiosk::staff", operator = %operator, action = "unlock", "staff panel opened");
            Ok(Unlocked { operator })
        }
        Err(refusal) => {
            tracing::warn!(target: "facekiosk::staff", action = "unlock", refused = %refusal, "staff PIN refused");
            let mut e = UiError::new(refusal.code(), refusal.to_string());
            match refusal {
                StaffRefusal::Wrong { attempts_left } => e.attempts_left = Some(attempts_left),
                StaffRefusal::Locked { retry_after_s } => e.retry_after_s = Some(retry_after_s),
                StaffRefusal::NotConfigured => {}
            }
            Err(e)
        }
    }
}

/// Closes the staff panel.
#[tauri::command]
pub fn staff_lock(state: State<'_, AppState>) -> Result<(), UiError> {
    if let Some(operator) = state.staff.lock().map_err(|_| poisoned())?.lock() {
        tracing::info!(target: "facekiosk::staff", operator = %operator, action = "lock", "staff panel closed");
    }
    Ok(())
}

/// The panel's overview: queue, recent visits, settings.
#[tauri::command]
pub async fn staff_overview(state: State<'_, AppState>) -> Result<Overview, UiError> {
    let operator = operator(&state)?;
    let recent = state.recent.lock().map_err(|_| poisoned())?.list();
    let kiosk_id = state
        .identity
        .as_ref()
        .map(|i| i.kiosk_id().to_owned())
        .unwrap_or_default();
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "overview", "staff read the overview");
    facekiosk_kiosk::panel::overview(
        &state.store,
        &state.config,
        &operator,
        &kiosk_id,
        &recent,
        &state.theme.warnings,
    )
    .await
    .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))
}

/// A new camera watch: any earlier one (a scan, a test, a walk-in) ends now; `cancel_scan`
/// ends this one.
fn new_watch(state: &State<'_, AppState>) -> Result<Arc<AtomicBool>, UiError> {
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(previous) = state
        .scan_stop
        .lock()
        .map_err(|_| poisoned())?
        .replace(stop.clone())
    {
        previous.store(true, Ordering::SeqCst);
    }
    Ok(stop)
}

/// Starts a walk-in session: the customer's ID photo, held up to the camera by staff (frames
/// on `on_frame`, what to change on `on_hint`), taken once it passes the photo checks. The
/// session is then claimed as after a code, and the staff panel closes: the customer goes on.
#[tauri::command]
pub async fn staff_walk_in(
    state: State<'_, AppState>,
    on_frame: Channel<InvokeResponseBody>,
    on_hint: Channel<serde_json::Value>,
) -> Result<Claimed, UiError> {
    let operator = operator(&state)?;
    if !state.config.staff.walk_in {
        return Err(UiError::new(
            "FORBIDDEN",
            "walk-in sessions are off on this kiosk (staff.walk_in)",
        ));
    }
    let kiosk_id = state
        .identity
        .as_ref()
        .map(|i| i.kiosk_id().to_owned())
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.clone()))?;
    let engine = tauri::async_runtime::spawn_blocking(state.engine_waiter())
        .await
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?
        .map_err(|e| UiError::new("MODEL_ERROR", e))?;
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "walk-in", "staff started a walk-in: taking the ID photo");
    let stop = new_watch(&state)?;
    let config = state.config_now();
    let preview = preview_on(on_frame);
    let photo = tauri::async_runtime::spawn_blocking(move || {
        let watch = Watch {
            preview: Some(&preview),
            stop: &stop,
            timeout: PHOTO_TIME,
            timeout_code: "PHOTO_TIMEOUT",
            what: "usable ID photo",
        };
        capture_id_photo(&config, &engine, &watch, &mut |hint| {
            let _ = on_hint.send(serde_json::json!({ "hint": hint }));
        })
    })
    .await
    .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))??;
    let visit = ClaimedVisit::walk_in(&state.config_now(), &kiosk_id, photo, unix_ms());
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "walk-in", session = %visit.session_id, "walk-in session created; the staff panel closes");
    state.staff.lock().map_err(|_| poisoned())?.lock();
    keep_claimed(&state, visit)
}

/// The waiting list.
#[derive(Debug, Serialize)]
pub struct Waiting {
    data: Vec<WaitingSession>,
}

/// The sessions waiting for a kiosk (the tenant's), for staff to pick the customer's.
#[tauri::command]
pub async fn staff_waiting_sessions(state: State<'_, AppState>) -> Result<Waiting, UiError> {
    let operator = operator(&state)?;
    let client = client(&state)?;
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "waiting-list", "staff read the waiting sessions");
    Ok(Waiting {
        data: waiting_sessions(&client).await?,
    })
}

/// Claims the session staff picked from the waiting list, in their name; the staff panel
/// closes and the customer continues at the consent screen.
#[tauri::command]
pub async fn staff_pick_session(
    state: State<'_, AppState>,
    session_id: String,
) -> Result<Claimed, UiError> {
    let operator = operator(&state)?;
    let client = client(&state)?;
    let visit = claim(
        &client,
        &Claim::Staff {
            session_id: &session_id,
            operator: &operator,
        },
    )
    .await?;
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "pick-session", session = %visit.session_id, "staff picked a waiting session; the staff panel closes");
    state.staff.lock().map_err(|_| poisoned())?.lock();
    keep_claimed(&state, visit)
}

/// What a camera test showed.
#[derive(Debug, Serialize)]
pub struct CameraTest {
    frames: u64,
}

/// Shows a camera's frames on `on_frame` until `cancel_scan`: `camera` (`camera:N`, from
/// `staff_cameras`), else the one in use.
#[tauri::command]
pub async fn staff_camera_test(
    state: State<'_, AppState>,
    on_frame: Channel<InvokeResponseBody>,
    camera: Option<String>,
) -> Result<CameraTest, UiError> {
    let operator = operator(&state)?;
    let mut config = state.config_now();
    if let Some(c) = camera {
        if !is_camera_spec(&c) {
            return Err(UiError::new(
                "INVALID_CONFIG",
                format!("{c:?} is not a camera: expected camera or camera:N"),
            ));
        }
        config.kiosk.camera = c;
    }
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "camera-test", camera = %config.kiosk.camera, "staff started a camera test");
    let stop = new_watch(&state)?;
    let preview = preview_on(on_frame);
    let frames = Arc::new(AtomicU64::new(0));
    let counted = frames.clone();
    let ended = tauri::async_runtime::spawn_blocking(move || {
        let watch = Watch {
            preview: Some(&preview),
            stop: &stop,
            timeout: CAMERA_TEST_TIME,
            timeout_code: "SCAN_TIMEOUT",
            what: "end of the test",
        };
        watch_camera(&config, &watch, |_| {
            counted.fetch_add(1, Ordering::Relaxed);
            None::<Result<(), _>>
        })
    })
    .await
    .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?;
    let frames = frames.load(Ordering::Relaxed);
    match ended {
        Err(e) if e.code == "SCAN_CANCELED" || e.code == "SCAN_TIMEOUT" => {
            tracing::info!(target: "facekiosk::staff", operator = %operator, action = "camera-test", frames, "camera test ended");
            Ok(CameraTest { frames })
        }
        Err(e) => Err(e.into()),
        Ok(()) => Ok(CameraTest { frames }),
    }
}

/// The cameras staff may choose from.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cameras {
    /// `kiosk.camera` in facekiosk.toml.
    configured: String,
    /// The one in use (staff's choice, or the configured one).
    current: String,
    /// Whether staff may choose (not when the configured camera is a clip or folder).
    choosable: bool,
    /// The cameras the system offers (`camera:N` is `index`).
    devices: Vec<facekiosk_capture::camera::CameraDevice>,
    /// Why the list is empty, if the system could not list them.
    problem: Option<String>,
}

/// The cameras connected, and the one in use.
#[tauri::command]
pub async fn staff_cameras(state: State<'_, AppState>) -> Result<Cameras, UiError> {
    let operator = operator(&state)?;
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "cameras", "staff listed the cameras");
    let listed = tauri::async_runtime::spawn_blocking(facekiosk_capture::camera::list)
        .await
        .map_err(|e| UiError::new("UNEXPECTED_ERROR", e.to_string()))?;
    let (devices, problem) = match listed {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Ok(Cameras {
        configured: state.config.kiosk.camera.clone(),
        current: state.config_now().kiosk.camera,
        choosable: state.config.kiosk.camera.starts_with("camera"),
        devices,
        problem,
    })
}

/// Makes `camera` (`camera:N`, or `camera` for the configured choice) the kiosk's camera from
/// now on, kept across restarts; `null` forgets the choice (back to `kiosk.camera`).
#[tauri::command]
pub fn staff_use_camera(
    state: State<'_, AppState>,
    camera: Option<String>,
) -> Result<CameraInUse, UiError> {
    let operator = operator(&state)?;
    if !state.config.kiosk.camera.starts_with("camera") {
        return Err(UiError::new(
            "FORBIDDEN",
            "kiosk.camera is a clip or folder here: it cannot be replaced from the panel",
        ));
    }
    state
        .store
        .save_camera_choice(camera.as_deref())
        .map_err(|e| UiError::new("INVALID_CONFIG", e.to_string()))?;
    let now = state.store.effective_camera(&state.config);
    *state.camera.lock().map_err(|_| poisoned())? = now.clone();
    tracing::info!(target: "facekiosk::staff", operator = %operator, action = "use-camera", camera = %now, "staff chose the kiosk's camera");
    Ok(CameraInUse { current: now })
}

/// The camera in use after a choice.
#[derive(Debug, Serialize)]
pub struct CameraInUse {
    current: String,
}

/// Leaves kiosk mode: the app exits.
#[tauri::command]
pub fn staff_exit(app: tauri::AppHandle, state: State<'_, AppState>) -> Result<(), UiError> {
    let operator = operator(&state)?;
    tracing::warn!(target: "facekiosk::staff", operator = %operator, action = "exit", "staff left kiosk mode: the app exits");
    app.exit(0);
    Ok(())
}
