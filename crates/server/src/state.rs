//! What every request handler shares: the database, the clock, the photo key, the limits.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::api::result_write;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::crypto::PhotoCipher;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::photo::PhotoCheck;
use crate::ratelimit::RateLimiter;

/// Everything a handler needs.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Photo encryption.
    pub cipher: PhotoCipher,
    /// The configuration.
    pub config: ServerConfig,
    /// The ID-photo check.
    pub photos: Arc<dyn PhotoCheck>,
    /// Face checks that may run at once.
    pub photo_slots: Semaphore,
    /// Per API key.
    pub key_limiter: RateLimiter,
    /// Per kiosk.
    pub kiosk_limiter: RateLimiter,
    /// Request metrics.
    pub metrics: Metrics,
    /// Base of `clientSecret.url`.
    pub public_url: String,
    /// The group-commit writer of results (SQLite; None on PostgreSQL).
    pub result_writer: Option<result_write::GroupCommit>,
}

/// Shared state.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Unix ms now.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}
