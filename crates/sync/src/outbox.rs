//! The outbox file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use facekiosk_identity::Sealer;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, SqlitePool};
use tokio::sync::Notify;

/// Why an entry taken just before the network went was put back untried.
pub const UNREACHED: &str = "the API could not be reached";

/// The sealing key's file name in the kiosk's key store.
pub const SEAL_KEY_FILE: &str = "outbox.key";

/// What an entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    /// A signed result (JWS).
    Result,
    /// A batch of trace events (JSON).
    Traces,
}

impl EntryKind {
    fn as_str(self) -> &'static str {
        match self {
            EntryKind::Result => "result",
            EntryKind::Traces => "traces",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "result" => Some(EntryKind::Result),
            "traces" => Some(EntryKind::Traces),
            _ => None,
        }
    }
}

/// Where an entry is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryState {
    /// Waiting to be sent (again).
    Pending,
    /// Being sent now.
    InFlight,
    /// The API has it; its payload is gone.
    Acknowledged,
    /// The API refused it for good (the reason is kept for staff).
    Dead,
    /// Never delivered, and deleted by the retention policy (`sync.unsent_retention_days`):
    /// its payload is gone, the row stays as the record of the deletion.
    Expired,
}

impl EntryState {
    fn as_str(self) -> &'static str {
        match self {
            EntryState::Pending => "pending",
            EntryState::InFlight => "inFlight",
            EntryState::Acknowledged => "acknowledged",
            EntryState::Dead => "dead",
            EntryState::Expired => "expired",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(EntryState::Pending),
            "inFlight" => Some(EntryState::InFlight),
            "acknowledged" => Some(EntryState::Acknowledged),
            "dead" => Some(EntryState::Dead),
            "expired" => Some(EntryState::Expired),
            _ => None,
        }
    }
}

/// An outbox failure, for staff: what happened and what to do.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The file cannot be opened or created (permissions, a read-only disk, a full disk).
    #[error("cannot open the outbox {path}: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not a readable outbox. It is left untouched.
    #[error(
        "the outbox {path} is damaged ({reason}); it was left as it is: move it aside (keep it: it may hold unsent results) and restart, then ask support to recover it"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// A write or read failed (e.g. the disk is full): nothing was half-written.
    #[error(
        "the outbox {path} failed: {reason} (is the disk full or read-only? nothing stored was lost)"
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A stored payload does not open with the kiosk's key.
    #[error("entry {id} of the outbox does not open: {reason}")]
    Sealed {
        /// The entry.
        id: i64,
        /// Why.
        reason: String,
    },
    /// No such entry, or not in a state that allows the operation.
    #[error("no {what} entry {id} in the outbox")]
    NoEntry {
        /// The entry.
        id: i64,
        /// What was expected.
        what: &'static str,
    },
}

/// A finished session's result and its trace events, written together.
#[derive(Clone, Debug)]
pub struct NewResult<'a> {
    /// The result's `jti`.
    pub jti: &'a str,
    /// The session (`sub`).
    pub session_id: &'a str,
    /// A test result (signed with a test key).
    pub test: bool,
    /// The compact JWS.
    pub jws: &'a str,
    /// The session's trace events (may be empty).
    pub traces: &'a [serde_json::Value],
}

/// Counts by state, and the last acknowledgement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    /// Waiting to be sent.
    pub pending: i64,
    /// Being sent.
    pub in_flight: i64,
    /// Refused for good.
    pub dead: i64,
    /// Delivered (kept as a count until purged).
    pub acknowledged: i64,
    /// Never delivered, deleted by the retention policy (the rows stay as its record).
    pub expired: i64,
    /// When the API last acknowledged an entry, unix ms.
    pub last_successful_sync: Option<i64>,
}

/// An entry as staff see it (never its payload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryInfo {
    /// Its id.
    pub id: i64,
    /// Result or traces.
    pub kind: EntryKind,
    /// The session.
    pub session_id: String,
    /// A test entry.
    pub test: bool,
    /// Its state.
    pub state: EntryState,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// The next attempt, unix ms.
    pub next_attempt_at: i64,
    /// The last failure (the server's reason for a dead entry).
    pub last_error: Option<String>,
    /// Enqueued, unix ms.
    pub created_at: i64,
}

/// An entry to deliver now, with its payload opened.
#[derive(Clone, Debug)]
pub struct DueEntry {
    /// Its id.
    pub id: i64,
    /// Result or traces.
    pub kind: EntryKind,
    /// The idempotency key the API sees: the result's `jti`, or the trace batch's id.
    pub key: String,
    /// The session.
    pub session_id: String,
    /// A test entry.
    pub test: bool,
    /// Failed attempts so far.
    pub attempts: i64,
    /// The JWS, or the trace events as JSON.
    pub payload: Vec<u8>,
}

/// The schema, one statement per entry; never edited once released.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            key TEXT NOT NULL UNIQUE,
            session_id TEXT NOT NULL,
            test INTEGER NOT NULL,
            payload BLOB NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            acknowledged_at INTEGER
        )",
    ),
    (
        2,
        "CREATE INDEX entries_due ON entries (state, next_attempt_at)",
    ),
    (
        3,
        "CREATE TABLE sync_log (name TEXT PRIMARY KEY, at INTEGER NOT NULL)",
    ),
    (
        // "Is this session's result delivered?" for every trace batch considered: without it,
        // taking the next entries scans the whole queue once per waiting entry.
        4,
        "CREATE INDEX entries_session ON entries (session_id, kind, state)",
    ),
];

/// The outbox.
#[derive(Clone, Debug)]
pub struct Outbox {
    pool: SqlitePool,
    sealer: Sealer,
    path: PathBuf,
    /// Woken when this process adds or revives an entry (the sync worker waits on it).
    added: Arc<Notify>,
}

fn context(key: &str) -> String {
    format!("outbox:{key}")
}

fn is_corruption(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with their extended codes.
            let primary = d
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map(|c| c & 0xff);
            matches!(primary, Some(11 | 26))
                || d.message().contains("not a database")
                || d.message().contains("malformed")
        }
        _ => false,
    }
}

impl Outbox {
    /// Opens the outbox at `path` (creating it, and its directory, when missing), checks it,
    /// applies its migrations, and puts entries a crash left in flight back to pending. A file
    /// that is not a readable outbox is an error and is never touched.
    pub async fn open(path: &Path, sealer: Sealer, now_ms: i64) -> Result<Outbox, OutboxError> {
        let open_err = |reason: String| OutboxError::Open {
            path: path.to_path_buf(),
            reason,
        };
        let corrupt = |reason: String| OutboxError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| open_err(format!("its folder: {e}")))?;
        }
        if path.is_file() {
            // Refuse what is plainly not SQLite before SQLite touches it.
            let mut head = [0u8; 16];
            let n = std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
                .map_err(|e| open_err(e.to_string()))?;
            if n > 0 && head[..n.min(16)] != b"SQLite format 3\0"[..n.min(16)] {
                return Err(corrupt("not an SQLite file".to_owned()));
            }
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| {
                if is_corruption(&e) {
                    corrupt(e.to_string())
                } else {
                    open_err(e.to_string())
                }
            })?;
        let check: String = sqlx::query("PRAGMA quick_check")
            .fetch_one(&pool)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| corrupt(e.to_string()))?;
        if check != "ok" {
            return Err(corrupt(check));
        }
        let outbox = Outbox {
            pool,
            sealer,
            path: path.to_path_buf(),
            added: Arc::new(Notify::new()),
        };
        outbox.migrate().await?;
        let recovered = sqlx::query(
            "UPDATE entries SET state = 'pending', updated_at = $1 WHERE state = 'inFlight'",
        )
        .bind(now_ms)
        .execute(&outbox.pool)
        .await
        .map_err(|e| outbox.io(e))?;
        if recovered.rows_affected() > 0 {
            tracing::info!(
                entries = recovered.rows_affected(),
                "outbox: entries left in flight by the last run will be sent again"
            );
        }
        Ok(outbox)
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`). A deferred
    /// one that reads first, then writes, fails at once with SQLITE_BUSY when another process
    /// (a `facekiosk session` beside `facekiosk sync --watch`) committed in between; this one
    /// waits for the lock (`busy_timeout`) instead.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    fn io(&self, e: sqlx::Error) -> OutboxError {
        if is_corruption(&e) {
            OutboxError::Corrupt {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        } else {
            OutboxError::Io {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        }
    }

    async fn migrate(&self) -> Result<(), OutboxError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)")
            .execute(&self.pool)
            .await
            .map_err(|e| self.io(e))?;
        let rows = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.io(e))?;
        let applied: Vec<i64> = rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
        let known = MIGRATIONS.last().map_or(0, |m| m.0);
        if applied.iter().any(|&v| v > known) {
            return Err(OutboxError::Open {
                path: self.path.clone(),
                reason: "it was written by a newer FaceKiosk: upgrade this one".to_owned(),
            });
        }
        for (version, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            let mut tx = self.write_tx().await.map_err(|e| self.io(e))?;
            sqlx::query(sqlx::AssertSqlSafe(*sql))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.io(e))?;
            sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.io(e))?;
            tx.commit().await.map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a finished session's result and its traces in ONE durable transaction; returns
    /// the result's entry id. Enqueuing the same result (`jti`) again changes nothing.
    pub async fn enqueue_result(&self, r: &NewResult<'_>, now_ms: i64) -> Result<i64, OutboxError> {
        let key = format!("result:{}", r.jti);
        let sealed = self
            .sealer
            .seal(r.jws.as_bytes(), &context(&key))
            .map_err(|reason| OutboxError::Io {
                path: self.path.clone(),
                reason,
            })?;
        let traces = if r.traces.is_empty() {
            None
        } else {
            let tkey = format!("traces:{}", r.jti);
            let json = serde_json::to_vec(r.traces).map_err(|e| OutboxError::Io {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
            let sealed =
                self.sealer
                    .seal(&json, &context(&tkey))
                    .map_err(|reason| OutboxError::Io {
                        path: self.path.clone(),
                        reason,
                    })?;
            Some((tkey, sealed))
        };
        let mut tx = self.write_tx().await.map_err(|e| self.io(e))?;
        let insert = "INSERT INTO entries (kind, key, session_id, test, payload, state, next_attempt_at, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $6) ON CONFLICT (key) DO NOTHING";
        sqlx::query(insert)
            .bind(EntryKind::Result.as_str())
            .bind(&key)
            .bind(r.session_id)
            .bind(i64::from(r.test))
            .bind(sealed)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.io(e))?;
        if let Some((tkey, sealed)) = traces {
            sqlx::query(insert)
                .bind(EntryKind::Traces.as_str())
                .bind(&tkey)
                .bind(r.session_id)
                .bind(i64::from(r.test))
                .bind(sealed)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.io(e))?;
        }
        let id: i64 = sqlx::query("SELECT id FROM entries WHERE key = $1")
            .bind(&key)
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| self.io(e))?;
        tx.commit().await.map_err(|e| self.io(e))?;
        self.added.notify_one();
        Ok(id)
    }

    /// Counts by state and the last successful sync.
    pub async fn status(&self) -> Result<QueueStatus, OutboxError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM entries GROUP BY state")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.io(e))?;
        let mut s = QueueStatus::default();
        for r in rows {
            let n: i64 = r.try_get("n").map_err(|e| self.io(e))?;
            let state: String = r.try_get("state").map_err(|e| self.io(e))?;
            match EntryState::parse(&state) {
                Some(EntryState::Pending) => s.pending = n,
                Some(EntryState::InFlight) => s.in_flight = n,
                Some(EntryState::Acknowledged) => s.acknowledged = n,
                Some(EntryState::Dead) => s.dead = n,
                Some(EntryState::Expired) => s.expired = n,
                None => {}
            }
        }
        s.last_successful_sync = sqlx::query("SELECT at FROM sync_log WHERE name = 'acknowledged'")
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.io(e))?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| self.io(e))?;
        Ok(s)
    }

    /// Where a session's result is (its newest result entry), if it was queued.
    pub async fn result_state(&self, session_id: &str) -> Result<Option<EntryState>, OutboxError> {
        let row = sqlx::query(
            "SELECT state FROM entries WHERE kind = 'result' AND session_id = $1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.io(e))?;
        let state: Option<String> = row
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(|e| self.io(e))?;
        Ok(state.as_deref().and_then(EntryState::parse))
    }

    /// Entries, oldest first (one state, or all), at most `limit`.
    pub async fn list(
        &self,
        state: Option<EntryState>,
        limit: i64,
    ) -> Result<Vec<EntryInfo>, OutboxError> {
        let rows = sqlx::query(
            "SELECT id, kind, session_id, test, state, attempts, next_attempt_at, last_error, created_at \
             FROM entries WHERE ($1 = '' OR state = $1) ORDER BY id LIMIT $2",
        )
        .bind(state.map_or("", EntryState::as_str))
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.io(e))?;
        rows.iter().map(|r| self.info(r)).collect()
    }

    fn info(&self, r: &sqlx::sqlite::SqliteRow) -> Result<EntryInfo, OutboxError> {
        let kind: String = r.try_get("kind").map_err(|e| self.io(e))?;
        let state: String = r.try_get("state").map_err(|e| self.io(e))?;
        Ok(EntryInfo {
            id: r.try_get("id").map_err(|e| self.io(e))?,
            kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Result),
            session_id: r.try_get("session_id").map_err(|e| self.io(e))?,
            test: r.try_get::<i64, _>("test").map_err(|e| self.io(e))? != 0,
            state: EntryState::parse(&state).unwrap_or(EntryState::Pending),
            attempts: r.try_get("attempts").map_err(|e| self.io(e))?,
            next_attempt_at: r.try_get("next_attempt_at").map_err(|e| self.io(e))?,
            last_error: r.try_get("last_error").map_err(|e| self.io(e))?,
            created_at: r.try_get("created_at").map_err(|e| self.io(e))?,
        })
    }

    /// Takes up to `limit` entries due at `now_ms`, earliest due first (then oldest), and marks
    /// them in flight: the order of the `(state, next_attempt_at)` index, so a long queue is
    /// never sorted. A session's traces wait until its result is acknowledged.
    pub async fn take_due(&self, now_ms: i64, limit: i64) -> Result<Vec<DueEntry>, OutboxError> {
        let mut tx = self.write_tx().await.map_err(|e| self.io(e))?;
        let rows = sqlx::query(
            "SELECT id, kind, key, session_id, test, attempts, payload FROM entries e \
             WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND NOT (kind = 'traces' AND EXISTS (SELECT 1 FROM entries r WHERE r.kind = 'result' \
                 AND r.session_id = e.session_id AND r.state != 'acknowledged')) \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit.max(0))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.io(e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: i64 = r.try_get("id").map_err(|e| self.io(e))?;
            let key: String = r.try_get("key").map_err(|e| self.io(e))?;
            let kind: String = r.try_get("kind").map_err(|e| self.io(e))?;
            let sealed: Vec<u8> = r.try_get("payload").map_err(|e| self.io(e))?;
            let payload = self
                .sealer
                .open(&sealed, &context(&key))
                .map_err(|reason| OutboxError::Sealed { id, reason })?;
            sqlx::query("UPDATE entries SET state = 'inFlight', updated_at = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.io(e))?;
            out.push(DueEntry {
                id,
                kind: EntryKind::parse(&kind).unwrap_or(EntryKind::Result),
                key: key
                    .split_once(':')
                    .map_or(key.clone(), |(_, k)| k.to_owned()),
                session_id: r.try_get("session_id").map_err(|e| self.io(e))?,
                test: r.try_get::<i64, _>("test").map_err(|e| self.io(e))? != 0,
                attempts: r.try_get("attempts").map_err(|e| self.io(e))?,
                payload,
            });
        }
        tx.commit().await.map_err(|e| self.io(e))?;
        Ok(out)
    }

    /// The API has the entry: its payload is deleted at once (the row stays as a count until
    /// purged).
    pub async fn acknowledge(&self, id: i64, now_ms: i64) -> Result<(), OutboxError> {
        let mut tx = self.write_tx().await.map_err(|e| self.io(e))?;
        let res = sqlx::query(
            "UPDATE entries SET state = 'acknowledged', payload = x'', acknowledged_at = $1, updated_at = $1, \
             last_error = NULL WHERE id = $2 AND state IN ('inFlight', 'pending')",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.io(e))?;
        if res.rows_affected() == 0 {
            return Err(OutboxError::NoEntry {
                id,
                what: "unacknowledged",
            });
        }
        sqlx::query(
            "INSERT INTO sync_log (name, at) VALUES ('acknowledged', $1) ON CONFLICT (name) DO UPDATE SET at = $1",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.io(e))?;
        tx.commit().await.map_err(|e| self.io(e))
    }

    /// A failure worth retrying: back to pending, tried again at `next_at_ms`.
    pub async fn retry_later(
        &self,
        id: i64,
        now_ms: i64,
        next_at_ms: i64,
        reason: &str,
    ) -> Result<(), OutboxError> {
        let res = sqlx::query(
            "UPDATE entries SET state = 'pending', attempts = attempts + 1, next_attempt_at = $1, \
             last_error = $2, updated_at = $3 WHERE id = $4 AND state IN ('inFlight', 'pending')",
        )
        .bind(next_at_ms)
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| self.io(e))?;
        if res.rows_affected() == 0 {
            return Err(OutboxError::NoEntry {
                id,
                what: "in-flight",
            });
        }
        Ok(())
    }

    /// A permanent refusal: dead, with the server's reason, for staff. Its payload is kept
    /// (sealed) so staff can retry or export it.
    pub async fn mark_dead(&self, id: i64, now_ms: i64, reason: &str) -> Result<(), OutboxError> {
        let res = sqlx::query(
            "UPDATE entries SET state = 'dead', attempts = attempts + 1, last_error = $1, updated_at = $2 \
             WHERE id = $3 AND state IN ('inFlight', 'pending')",
        )
        .bind(reason)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| self.io(e))?;
        if res.rows_affected() == 0 {
            return Err(OutboxError::NoEntry {
                id,
                what: "in-flight",
            });
        }
        tracing::warn!(
            entry = id,
            reason,
            "outbox: the API refused an entry for good"
        );
        Ok(())
    }

    /// The network is back: entries waiting only because the API could not be reached are due
    /// now, not at the end of their backoff. Returns how many.
    pub async fn wake_network_failures(&self, now_ms: i64) -> Result<u64, OutboxError> {
        sqlx::query(
            "UPDATE entries SET next_attempt_at = $1, updated_at = $1 WHERE state = 'pending' \
             AND next_attempt_at > $1 AND (last_error LIKE 'NETWORK_ERROR%' OR last_error = $2)",
        )
        .bind(now_ms)
        .bind(UNREACHED)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| self.io(e))
    }

    /// Staff: a dead entry goes back to pending, due now.
    pub async fn retry(&self, id: i64, now_ms: i64) -> Result<(), OutboxError> {
        let res = sqlx::query(
            "UPDATE entries SET state = 'pending', next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND state = 'dead'",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(|e| self.io(e))?;
        if res.rows_affected() == 0 {
            return Err(OutboxError::NoEntry { id, what: "dead" });
        }
        self.added.notify_one();
        Ok(())
    }

    /// The opened contents of an entry that still has them (pending, in flight or dead), for
    /// staff exporting it.
    pub async fn payload(&self, id: i64) -> Result<Vec<u8>, OutboxError> {
        let row = sqlx::query(
            "SELECT key, payload FROM entries WHERE id = $1 AND state NOT IN ('acknowledged', 'expired')",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.io(e))?
        .ok_or(OutboxError::NoEntry {
            id,
            what: "unacknowledged",
        })?;
        let key: String = row.try_get("key").map_err(|e| self.io(e))?;
        let sealed: Vec<u8> = row.try_get("payload").map_err(|e| self.io(e))?;
        self.sealer
            .open(&sealed, &context(&key))
            .map_err(|reason| OutboxError::Sealed { id, reason })
    }

    /// Deletes acknowledged entries (their payloads are already gone); returns how many.
    pub async fn purge_acknowledged(&self) -> Result<u64, OutboxError> {
        sqlx::query("DELETE FROM entries WHERE state = 'acknowledged'")
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| self.io(e))
    }

    /// When the next entry that can be sent is due, unix ms (`None`: nothing waits that the
    /// worker could send; a session's traces wait for its result). Follows the due index.
    pub async fn next_due_at(&self) -> Result<Option<i64>, OutboxError> {
        sqlx::query(
            "SELECT next_attempt_at FROM entries e WHERE state = 'pending' \
             AND NOT (kind = 'traces' AND EXISTS (SELECT 1 FROM entries r WHERE r.kind = 'result' \
                 AND r.session_id = e.session_id AND r.state != 'acknowledged')) \
             ORDER BY next_attempt_at LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.io(e))?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(|e| self.io(e))
    }

    /// Returns when an entry may have been added or revived: at once when this process did it
    /// (no polling), or within `poll` when another process wrote to the file after `since` (a
    /// `facekiosk session` queuing its result while `facekiosk sync --watch` runs). Take
    /// `since` from [`version`](Self::version) BEFORE looking at the queue, so that a write
    /// between that look and this wait is not missed. May return without a change.
    pub async fn changed(&self, poll: Duration, since: Option<i64>) {
        if since.is_none() {
            // No reading to compare with: wait for this process's own news, and one poll.
            tokio::select! {
                _ = self.added.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
            return;
        }
        loop {
            if self.version().await.is_some_and(|v| Some(v) != since) {
                return;
            }
            tokio::select! {
                _ = self.added.notified() => return,
                _ = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// SQLite's count of other connections' commits (`PRAGMA data_version`): it changes when
    /// another process writes to the outbox.
    pub async fn version(&self) -> Option<i64> {
        sqlx::query("PRAGMA data_version")
            .fetch_one(&self.pool)
            .await
            .and_then(|r| r.try_get(0))
            .ok()
    }

    /// The retention policy: entries never delivered (pending or dead) that were queued
    /// before `created_before_ms` lose their payload and become `expired`; the rows stay, with
    /// `reason`, as the record of the deletion, and each deletion is logged (without its
    /// payload). Entries in flight are left alone. Returns the entries deleted.
    pub async fn expire_unsent(
        &self,
        created_before_ms: i64,
        now_ms: i64,
        reason: &str,
    ) -> Result<Vec<EntryInfo>, OutboxError> {
        let mut tx = self.write_tx().await.map_err(|e| self.io(e))?;
        let rows = sqlx::query(
            "SELECT id, kind, session_id, test, state, attempts, next_attempt_at, last_error, created_at \
             FROM entries WHERE state IN ('pending', 'dead') AND created_at < $1 ORDER BY id",
        )
        .bind(created_before_ms)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.io(e))?;
        let mut out = rows
            .iter()
            .map(|r| self.info(r))
            .collect::<Result<Vec<_>, _>>()?;
        for e in &mut out {
            sqlx::query(
                "UPDATE entries SET state = 'expired', payload = x'', last_error = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(reason)
            .bind(now_ms)
            .bind(e.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.io(e))?;
            e.state = EntryState::Expired;
            e.last_error = Some(reason.to_owned());
        }
        tx.commit().await.map_err(|e| self.io(e))?;
        for e in &out {
            tracing::warn!(
                entry = e.id,
                kind = ?e.kind,
                session = %e.session_id,
                queued_at_ms = e.created_at,
                reason,
                "outbox: an entry never delivered was deleted by the retention policy"
            );
        }
        Ok(out)
    }

    /// Closes the file.
    pub async fn close(self) {
        self.pool.close().await;
    }
}
