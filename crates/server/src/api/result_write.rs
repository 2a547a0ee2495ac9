//! Storing an accepted result, and on SQLite committing several at once (group commit).
//!
//! SQLite has one writer at a time and each commit is made durable (`synchronous = FULL`): one
//! transaction per result makes every post wait for every other post's whole turn. The
//! [`GroupCommit`] task takes the results waiting at that moment (up to [`MAX_BATCH`]), writes
//! each inside a savepoint of one transaction, commits once, and only then answers every post:
//! an answer of `200` still means the result is durably stored, and one result's failure
//! (rolled back to its savepoint) never touches the others. PostgreSQL runs one transaction per
//! post instead: its writers do not take turns.

use sqlx::AnyConnection;
use sqlx::Executor as _;
use tokio::sync::{mpsc, oneshot};

use super::rows::SessionRow;
use crate::db::Db;
use crate::db::is_unique_violation;
use crate::error::ApiError;

/// The most results committed in one transaction.
pub const MAX_BATCH: usize = 64;

/// Everything needed to store one accepted result (owned: it crosses to the writer task).
#[derive(Debug)]
pub(crate) struct ResultWrite {
    pub sub: String,
    pub tenant_id: String,
    pub kiosk_id: String,
    pub jti: String,
    pub status: String,
    pub test: bool,
    pub reference_sha256: String,
    pub started_at: i64,
    pub sealed: String,
    pub report: String,
    pub cancel_reason: Option<&'static str>,
    pub payload_sha256: String,
    pub now: i64,
    pub retention_ms: i64,
    /// A verified result of a session made from an ID photo: keep the photo as the identity's.
    pub make_identity: bool,
    /// The session as read before (None: a walk-in, created here).
    pub existing: Option<SessionRow>,
}

/// Writes one result; returns the session as it is afterwards. `Retry::Again` when the session
/// changed since it was read or a key is taken (the post reads again and decides again).
pub(crate) async fn apply(conn: &mut AnyConnection, w: &ResultWrite) -> Result<SessionRow, Retry> {
    let after = match &w.existing {
        None => {
            sqlx::query(
                "INSERT INTO sessions (id, tenant_id, test, status, walk_in, metadata, settings, photo_sha256, \
                 claimed_by, claimed_at, result_jti, result_jws, report, cancel_reason, created_at, expires_at, \
                 updated_at, ended_at) VALUES ($1, $2, $3, $4, 1, '{}', '{}', $5, $6, $7, $8, $9, $10, $11, $7, $7, $12, $12)",
            )
            .bind(&w.sub)
            .bind(&w.tenant_id)
            .bind(i64::from(w.test))
            .bind(&w.status)
            .bind(&w.reference_sha256)
            .bind(&w.kiosk_id)
            .bind(w.started_at)
            .bind(&w.jti)
            .bind(&w.sealed)
            .bind(&w.report)
            .bind(w.cancel_reason)
            .bind(w.now)
            .execute(&mut *conn)
            .await?;
            SessionRow {
                id: w.sub.clone(),
                tenant_id: w.tenant_id.clone(),
                test: w.test,
                status: w.status.clone(),
                walk_in: true,
                client_reference_id: None,
                metadata: "{}".to_owned(),
                settings: "{}".to_owned(),
                identity_id: None,
                photo_sha256: Some(w.reference_sha256.clone()),
                secret_hash: None,
                secret_expires_at: None,
                claimed_by: Some(w.kiosk_id.clone()),
                claimed_at: Some(w.started_at),
                result_jti: Some(w.jti.clone()),
                result_sealed: Some(w.sealed.clone()),
                report: Some(w.report.clone()),
                cancel_reason: w.cancel_reason.map(str::to_owned),
                created_at: w.started_at,
                expires_at: w.started_at,
                ended_at: Some(w.now),
            }
        }
        Some(s) => {
            let res = sqlx::query(
                "UPDATE sessions SET status = $1, result_jti = $2, result_jws = $3, report = $4, cancel_reason = $5, \
                 ended_at = $6, updated_at = $6, secret_hash = NULL, secret_expires_at = NULL, digit_hash = NULL, \
                 digit_expires_at = NULL, \
                 photo_delete_at = CASE WHEN photo_delete_at IS NULL OR photo_delete_at > $7 THEN $7 ELSE photo_delete_at END \
                 WHERE id = $8 AND status = 'processing'",
            )
            .bind(&w.status)
            .bind(&w.jti)
            .bind(&w.sealed)
            .bind(&w.report)
            .bind(w.cancel_reason)
            .bind(w.now)
            .bind(w.now + w.retention_ms)
            .bind(&s.id)
            .execute(&mut *conn)
            .await?;
            if res.rows_affected() == 0 {
                return Err(Retry::Again);
            }
            if w.make_identity && s.identity_id.is_none() {
                // The verified face's ID photo becomes the identity's reference.
                sqlx::query(
                    "INSERT INTO identities (id, tenant_id, test, photo, photo_sha256, created_at) \
                     SELECT id, tenant_id, test, photo, photo_sha256, $1 FROM sessions WHERE id = $2 AND photo IS NOT NULL",
                )
                .bind(w.now)
                .bind(&s.id)
                .execute(&mut *conn)
                .await?;
            }
            if w.retention_ms == 0 {
                sqlx::query(
                    "UPDATE sessions SET photo = NULL, photo_delete_at = NULL WHERE id = $1",
                )
                .bind(&s.id)
                .execute(&mut *conn)
                .await?;
            }
            SessionRow {
                status: w.status.clone(),
                result_jti: Some(w.jti.clone()),
                result_sealed: Some(w.sealed.clone()),
                report: Some(w.report.clone()),
                cancel_reason: w.cancel_reason.map(str::to_owned),
                ended_at: Some(w.now),
                secret_hash: None,
                secret_expires_at: None,
                ..s.clone()
            }
        }
    };
    sqlx::query(
        "INSERT INTO results (jti, session_id, kiosk_id, payload_sha256, received_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&w.jti)
    .bind(&w.sub)
    .bind(&w.kiosk_id)
    .bind(&w.payload_sha256)
    .bind(w.now)
    .execute(&mut *conn)
    .await?;
    Ok(after)
}

struct Job {
    write: ResultWrite,
    reply: oneshot::Sender<Result<SessionRow, Retry>>,
}

/// The group-commit writer (SQLite).
#[derive(Debug, Clone)]
pub struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("jti", &self.write.jti).finish()
    }
}

impl GroupCommit {
    /// Starts the writer task on `db`; it ends when every sender is dropped.
    pub fn start(db: Db) -> GroupCommit {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(db, rx));
        GroupCommit { jobs }
    }

    pub(crate) async fn submit(&self, write: ResultWrite) -> Result<SessionRow, Retry> {
        let (reply, answer) = oneshot::channel();
        let gone = || Retry::Fail(ApiError::internal("the result writer stopped"));
        self.jobs
            .send(Job { write, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let answers = commit_batch(&db, &batch).await;
        for (job, answer) in batch.into_iter().zip(answers) {
            // A post that gave up (its client left) no longer listens: nothing to do.
            let _ = job.reply.send(answer);
        }
    }
}

/// Writes every job of the batch in one transaction, each in its own savepoint; the answers,
/// in order, are given only after the commit.
async fn commit_batch(db: &Db, batch: &[Job]) -> Vec<Result<SessionRow, Retry>> {
    let fail_all = |e: sqlx::Error| -> Vec<Result<SessionRow, Retry>> {
        let e = ApiError::from(e);
        batch.iter().map(|_| Err(Retry::Fail(e.clone()))).collect()
    };
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(e),
    };
    let mut answers = Vec::with_capacity(batch.len());
    for job in batch {
        if let Err(e) = tx.execute("SAVEPOINT result").await {
            return fail_all(e);
        }
        let answer = apply(&mut tx, &job.write).await;
        let end = if answer.is_ok() {
            tx.execute("RELEASE result").await
        } else {
            match tx.execute("ROLLBACK TO result").await {
                Ok(_) => tx.execute("RELEASE result").await,
                Err(e) => Err(e),
            }
        };
        if let Err(e) = end {
            return fail_all(e);
        }
        answers.push(answer);
    }
    match tx.commit().await {
        Ok(()) => answers,
        Err(e) => fail_all(e),
    }
}

/// Why a result was not stored: try the whole post again (something changed under it), or
/// answer this error.
pub(crate) enum Retry {
    /// Read again and decide again.
    Again,
    /// The answer.
    Fail(ApiError),
}

impl From<ApiError> for Retry {
    fn from(e: ApiError) -> Self {
        Retry::Fail(e)
    }
}

impl From<sqlx::Error> for Retry {
    fn from(e: sqlx::Error) -> Self {
        if is_unique_violation(&e) {
            Retry::Again
        } else {
            Retry::Fail(e.into())
        }
    }
}
