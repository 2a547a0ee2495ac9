//! The database: one schema on SQLite (embedded, the default) or PostgreSQL (several replicas),
//! through sqlx's `Any` driver so every query is written once. Portable SQL only: `$N`
//! parameters, `BIGINT` for integers, flags and times (unix ms), `TEXT` for JSON.

mod migrations;

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use std::sync::Arc;

use sqlx::{AnyPool, Executor as _, Row as _, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use migrations::{MIGRATIONS, Migration};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names no database we support.
    #[error("database URL `{0}`: expected sqlite://… or postgres://…")]
    Url(String),
    /// Connecting failed.
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        /// Which backend.
        backend: &'static str,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration {version} ({name}) failed: {source}")]
    Migration {
        /// Its version.
        version: i64,
        /// Its name.
        name: &'static str,
        /// Why.
        source: sqlx::Error,
    },
    /// The database has migrations this server does not know (a newer server ran on it).
    #[error(
        "the database is at schema version {found}, newer than this server's {known}: upgrade the server"
    )]
    TooNew {
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

/// The connection pool and its backend.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
    /// SQLite's busy handler (1, 2, 5 … 100 ms steps): writers queue here instead, woken the
    /// moment the previous one commits. PostgreSQL needs no such lock.
    writer: Arc<Mutex<()>>,
}

/// A write transaction: on SQLite it holds the process's writer lock and began with
/// `BEGIN IMMEDIATE`. Use `&mut *tx` as the executor; end it with `commit` (dropping it rolls
/// back).
pub struct Tx {
    tx: Transaction<'static, sqlx::Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// The pool, with the writer lock held (on SQLite) for one write outside a transaction.
pub struct Writer<'a> {
    pool: &'a AnyPool,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Writer<'_> {
    /// The pool to run the write on.
    pub fn pool(&self) -> &AnyPool {
        self.pool
    }
}

impl Db {
    /// Connects to `url` (`sqlite://PATH?mode=rwc` or `postgres://…`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::Url(redact_url(url)));
        };
        let opts = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes every committed
                        // result durable across a power cut; writers wait for each other.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            });
        let pool = opts.connect(url).await.map_err(|source| DbError::Connect {
            backend: backend.as_str(),
            source,
        })?;
        Ok(Db {
            pool,
            backend,
            writer: Arc::new(Mutex::new(())),
        })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn writer_lock(&self) -> Option<OwnedMutexGuard<()>> {
        match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let writer = self.writer_lock().await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            tx,
            _writer: writer,
        })
    }

    /// The pool for one write statement outside a transaction (`db.write().await.pool()`):
    /// on SQLite it waits its turn among writers.
    pub async fn write(&self) -> Writer<'_> {
        Writer {
            pool: &self.pool,
            _writer: self.writer_lock().await,
        }
    }

    /// Applies the migrations the database lacks, in order, each in its own transaction (on
    /// PostgreSQL under an advisory lock, so replicas starting together do not race). Returns
    /// the versions applied.
    pub async fn migrate(&self, now_ms: u64) -> Result<Vec<i64>, DbError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            conn.execute("SELECT pg_advisory_lock(7261001)").await?;
        }
        let result = self.migrate_locked(&mut conn, now_ms).await;
        if self.backend == Backend::Postgres {
            // Also released when the connection closes.
            let _ = conn.execute("SELECT pg_advisory_unlock(7261001)").await;
        }
        result
    }

    async fn migrate_locked(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        now_ms: u64,
    ) -> Result<Vec<i64>, DbError> {
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
             name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let rows: Vec<AnyRow> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&mut **conn)
            .await?;
        let mut applied = Vec::new();
        for r in &rows {
            applied.push(r.try_get::<i64, _>("version")?);
        }
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if let Some(&found) = applied.iter().max()
            && found > known
        {
            return Err(DbError::TooNew { found, known });
        }
        let mut done = Vec::new();
        for m in MIGRATIONS {
            if applied.contains(&m.version) {
                continue;
            }
            let fail = |source| DbError::Migration {
                version: m.version,
                name: m.name,
                source,
            };
            let mut tx = match self.backend {
                Backend::Sqlite => sqlx::Connection::begin_with(&mut **conn, "BEGIN IMMEDIATE")
                    .await
                    .map_err(fail)?,
                Backend::Postgres => sqlx::Connection::begin(&mut **conn).await.map_err(fail)?,
            };
            for stmt in m.statements(self.backend) {
                tx.execute(sqlx::AssertSqlSafe(stmt)).await.map_err(fail)?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(now_ms as i64)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            done.push(m.version);
        }
        Ok(done)
    }

    /// Whether the database answers and every migration is applied (`/readyz`).
    pub async fn ready(&self) -> Result<(), String> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM schema_migrations")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| format!("database unreachable: {e}"))?;
        let n: i64 = row.try_get("n").map_err(|e| e.to_string())?;
        if n < MIGRATIONS.len() as i64 {
            return Err(format!("{} of {} migrations applied", n, MIGRATIONS.len()));
        }
        Ok(())
    }
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Whether an error is a unique-constraint violation (a concurrent insert of the same key).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.is_unique_violation()
                || d.code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://fk:secret@127.0.0.1:5432/fk"),
            "postgres://fk:***@127.0.0.1:5432/fk"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
