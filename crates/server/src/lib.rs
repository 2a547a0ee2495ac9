//! # facekiosk-server — the verification API
//!
//! The server kiosks sync to and integrators call: sessions and client secrets, kiosk
//! registration, signed results (idempotent on `jti`), trace batches, face authentication.
//! SQLite by default, PostgreSQL for several replicas. docs/API.md describes every endpoint.
//!
//! **Never:** the server never accepts a result whose signature, kiosk key or expiry does not
//! verify, never accepts a result twice, and never writes a face image, an embedding or a
//! client secret to a log.

pub mod admin;
pub mod api;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod metrics;
pub mod photo;
pub mod ratelimit;
pub mod state;
pub mod sweep;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;
pub use crypto::PhotoCipher;
pub use db::{Backend, Db};
pub use photo::{EnginePhotoCheck, PhotoCheck};

/// The embedded database's file name in the data dir.
pub const DB_FILE: &str = "facekiosk.db";
/// The photo key's file name in the data dir.
pub const PHOTO_KEY_FILE: &str = "photo.key";

/// The database URL a configuration means: `$DATABASE_URL`-style URL when given, else the
/// embedded SQLite file in `data_dir`.
pub fn database_url(config: &ServerConfig, data_dir: &Path) -> String {
    match &config.database_url {
        Some(u) if !u.trim().is_empty() => u.trim().to_owned(),
        _ => format!("sqlite://{}?mode=rwc", data_dir.join(DB_FILE).display()),
    }
}

/// Opens the database and applies its migrations.
pub async fn open_db(
    config: &ServerConfig,
    data_dir: &Path,
    now_ms: u64,
) -> Result<(Db, Vec<i64>), String> {
    let url = database_url(config, data_dir);
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| format!("cannot create the data dir {}: {e}", data_dir.display()))?;
    }
    let db = Db::connect(&url, config.db_max_connections)
        .await
        .map_err(|e| e.to_string())?;
    let applied = db.migrate(now_ms).await.map_err(|e| e.to_string())?;
    Ok((db, applied))
}

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    state: state::Shared,
}

impl RunningServer {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The shared state (tests: run a sweep now).
    pub fn state(&self) -> &state::Shared {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish, and returns.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.sweeper.abort();
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Runs until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// What a server is made of.
pub struct Parts {
    /// Configuration.
    pub config: ServerConfig,
    /// The database (migrated).
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Photo encryption.
    pub cipher: PhotoCipher,
    /// The ID-photo check.
    pub photos: Arc<dyn PhotoCheck>,
}

/// Binds `config.listen` (port 0: any free port) and serves until shut down.
pub async fn start(parts: Parts) -> Result<RunningServer, String> {
    parts.config.validate()?;
    let listener = TcpListener::bind(&parts.config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", parts.config.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    let public_url = parts
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let slots = if parts.config.photo_checks == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        parts.config.photo_checks
    };
    let state = Arc::new(state::AppState {
        key_limiter: ratelimit::RateLimiter::new(
            parts.config.rate_limit_per_s,
            parts.config.rate_limit_burst,
        ),
        kiosk_limiter: ratelimit::RateLimiter::new(
            parts.config.kiosk_rate_limit_per_s,
            parts.config.kiosk_rate_limit_burst,
        ),
        photo_slots: Semaphore::new(slots),
        metrics: metrics::Metrics::default(),
        public_url,
        result_writer: (parts.db.backend() == Backend::Sqlite)
            .then(|| api::result_write::GroupCommit::start(parts.db.clone())),
        db: parts.db,
        clock: parts.clock,
        cipher: parts.cipher,
        config: parts.config,
        photos: parts.photos,
    });
    let (router, _) = api::router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let sweep_state = state.clone();
    let sweeper = tokio::spawn(async move {
        let every = std::time::Duration::from_secs(sweep_state.config.sweep_interval_s);
        loop {
            if let Err(e) = sweep::sweep(&sweep_state).await {
                tracing::warn!(error = %e.message, "sweep failed");
            }
            tokio::time::sleep(every).await;
        }
    });
    Ok(RunningServer {
        addr,
        stop: Some(stop),
        task,
        sweeper,
        state,
    })
}

/// The OpenAPI document (also served at `/openapi.json`).
pub fn openapi_json() -> Result<String, String> {
    // The document depends only on the handlers, not on the state; build it on a throw-away
    // router description.
    api::openapi().to_pretty_json().map_err(|e| e.to_string())
}
