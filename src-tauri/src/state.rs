//! What the app holds while it runs: the configuration, the kiosk's state, the face engine
//! (loaded on a thread at start, so the welcome screen does not wait for it), and the visit in
//! progress. The sync worker runs on its own thread for the app's whole life.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex};

use facekiosk_face::engine::FaceEngine;
use facekiosk_identity::KioskIdentity;
use facekiosk_kiosk::config::KioskConfig;
use facekiosk_kiosk::panel::RecentVisits;
use facekiosk_kiosk::staff::StaffGate;
use facekiosk_kiosk::store::{KioskStore, load_engine};
use facekiosk_kiosk::visit::ClaimedVisit;
use facekiosk_runner::Control;

/// The engine once it loaded, or why it did not.
type EngineSlot = Option<Result<Arc<FaceEngine>, String>>;

/// The app's state (Tauri manages one).
pub struct AppState {
    /// `facekiosk.toml`, validated.
    pub config: KioskConfig,
    /// The look, loaded at start.
    pub theme: facekiosk_kiosk::theme::Theme,
    /// Where the kiosk keeps its state.
    pub store: KioskStore,
    /// The kiosk's identity, or why it could not be read.
    pub identity: Result<KioskIdentity, String>,
    engine: Arc<(Mutex<EngineSlot>, Condvar)>,
    /// The session claimed and not yet run.
    pub claimed: Mutex<Option<ClaimedVisit>>,
    /// Cancel and retry for the visit in progress (`None`: none runs).
    pub control: Mutex<Option<Sender<Control>>>,
    /// When the process started (the cold start is measured from it).
    pub started: std::time::Instant,
    /// Whether the welcome screen has been told the kiosk's state once.
    pub welcomed: std::sync::atomic::AtomicBool,
    /// The QR-code scan in progress: set its flag to end it. Each scan has its own, so a
    /// scan started right after a cancel is not mistaken for the one canceled.
    pub scan_stop: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
    /// The staff panel's PIN gate and its open session.
    pub staff: Arc<Mutex<StaffGate>>,
    /// The visits that ended, for the staff panel.
    pub recent: Arc<Mutex<RecentVisits>>,
    /// The camera in use: staff's choice, else `kiosk.camera`.
    pub camera: Mutex<String>,
}

impl AppState {
    /// Starts loading the engine and returns at once.
    pub fn start(
        config: KioskConfig,
        store: KioskStore,
        theme: facekiosk_kiosk::theme::Theme,
        started: std::time::Instant,
    ) -> AppState {
        let identity = store
            .identity()
            .map(|(identity, _, _)| identity)
            .map_err(|e| e.to_string());
        let camera = store.effective_camera(&config);
        let engine: Arc<(Mutex<EngineSlot>, Condvar)> =
            Arc::new((Mutex::new(None), Condvar::new()));
        let slot = engine.clone();
        let (c, s) = (config.clone(), store.clone());
        let spawned = std::thread::Builder::new()
            .name("facekiosk-engine-load".to_owned())
            .spawn(move || {
                let loaded = load_engine(&c, &s).map(Arc::new).map_err(|e| e.to_string());
                if let Err(e) = &loaded {
                    tracing::error!(error = %e, "the face engine did not load");
                }
                let (lock, ready) = &*slot;
                if let Ok(mut g) = lock.lock() {
                    *g = Some(loaded);
                }
                ready.notify_all();
            });
        if let Err(e) = spawned
            && let Ok(mut g) = engine.0.lock()
        {
            *g = Some(Err(format!("cannot start a thread: {e}")));
        }
        AppState {
            config,
            theme,
            store,
            identity,
            engine,
            claimed: Mutex::new(None),
            control: Mutex::new(None),
            started,
            welcomed: std::sync::atomic::AtomicBool::new(false),
            scan_stop: Mutex::new(None),
            staff: Arc::new(Mutex::new(StaffGate::default())),
            recent: Arc::new(Mutex::new(RecentVisits::default())),
            camera: Mutex::new(camera),
        }
    }

    /// The configuration with the camera in use (staff may have chosen another).
    pub fn config_now(&self) -> KioskConfig {
        let mut c = self.config.clone();
        if let Ok(camera) = self.camera.lock() {
            c.kiosk.camera = camera.clone();
        }
        c
    }

    /// Waits for the face engine to load (blocking: run it on a blocking task or a thread).
    pub fn engine_waiter(
        &self,
    ) -> impl FnOnce() -> Result<Arc<FaceEngine>, String> + Send + 'static {
        let slot = self.engine.clone();
        move || {
            let (lock, ready) = &*slot;
            let mut g = lock
                .lock()
                .map_err(|_| "the engine's lock is poisoned".to_owned())?;
            loop {
                if let Some(r) = g.as_ref() {
                    return r.clone();
                }
                g = ready
                    .wait(g)
                    .map_err(|_| "the engine's lock is poisoned".to_owned())?;
            }
        }
    }
}

/// Runs the sync worker for the app's whole life (when the kiosk is registered): results
/// queued by visits are sent at once, retried with backoff, and sent the moment the API is
/// back after an outage.
pub fn spawn_sync_worker(config: &KioskConfig, store: &KioskStore) {
    let registration = match store.registration() {
        Ok(Some(r)) => r,
        Ok(None) => {
            tracing::warn!("this kiosk is not registered: results are not sent to any API");
            return;
        }
        Err(e) => {
            tracing::error!(error = %e, "the kiosk's registration cannot be read");
            return;
        }
    };
    let (config, store) = (config.clone(), store.clone());
    let spawned = std::thread::Builder::new()
        .name("facekiosk-sync".to_owned())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the sync worker cannot start");
                    return;
                }
            };
            rt.block_on(async {
                let outbox = match store.open_outbox().await {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::error!(error = %e, "the sync worker cannot open the outbox");
                        return;
                    }
                };
                let client = match store.client(&config, &registration) {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(error = %e, "the sync worker has no API client");
                        return;
                    }
                };
                let publisher = store.key_publisher();
                let mut env = facekiosk_sync::SystemEnv;
                let result = facekiosk_sync::watch(
                    &outbox,
                    &client,
                    Some(&publisher),
                    &config.sync,
                    &mut env,
                    std::future::pending::<()>(),
                    &mut |e| tracing::debug!(event = ?e, "sync"),
                )
                .await;
                if let Err(e) = result {
                    tracing::error!(error = %e, "the sync worker stopped");
                }
            });
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "the sync worker cannot start");
    }
}
