//! Ending sessions by time, and deleting what is no longer needed: expired sessions are
//! canceled (`expired`), ID photos are deleted once their session ended or expired (after the
//! configured audit retention), digit codes and access tokens when they expire.

use crate::api::rows::SessionRow;
use crate::error::ApiResult;
use crate::state::Shared;

/// Ends an active session (`requiresInput` or `processing`) as canceled with `reason`, if it is
/// still in `from`; clears its secret and digit code; schedules (or does) its photo's deletion.
/// Returns whether it changed.
pub(crate) async fn end_session(
    state: &Shared,
    id: &str,
    from: &str,
    reason: &str,
) -> ApiResult<bool> {
    let now = state.now_ms() as i64;
    let retention = (state.config.photo_retention_s * 1000) as i64;
    let res = sqlx::query(
        "UPDATE sessions SET status = 'canceled', cancel_reason = $1, ended_at = $2, updated_at = $2, \
         secret_hash = NULL, secret_expires_at = NULL, digit_hash = NULL, digit_expires_at = NULL, \
         photo_delete_at = CASE WHEN photo_delete_at IS NULL OR photo_delete_at > $3 THEN $3 ELSE photo_delete_at END \
         WHERE id = $4 AND status = $5",
    )
    .bind(reason)
    .bind(now)
    .bind(now + retention)
    .bind(id)
    .bind(from)
    .execute(state.db.write().await.pool())
    .await?;
    if retention == 0 {
        delete_due_photos(state).await?;
    }
    Ok(res.rows_affected() > 0)
}

/// Expires one session if its time is up. Returns whether it changed.
pub(crate) async fn expire_one(state: &Shared, s: &SessionRow) -> ApiResult<bool> {
    let now = state.now_ms() as i64;
    let grace = (state.config.offline_grace_s * 1000) as i64;
    let due = match s.status.as_str() {
        "requiresInput" => now >= s.expires_at,
        "processing" => now >= s.expires_at + grace,
        _ => false,
    };
    if !due {
        return Ok(false);
    }
    end_session(state, &s.id, &s.status, "expired").await
}

async fn delete_due_photos(state: &Shared) -> ApiResult<u64> {
    let now = state.now_ms() as i64;
    let res = sqlx::query(
        "UPDATE sessions SET photo = NULL, photo_delete_at = NULL WHERE photo_delete_at <= $1",
    )
    .bind(now)
    .execute(state.db.write().await.pool())
    .await?;
    Ok(res.rows_affected())
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Sessions canceled as expired.
    pub expired: u64,
    /// Photos deleted.
    pub photos_deleted: u64,
}

/// One sweep over everything that is due.
pub async fn sweep(state: &Shared) -> ApiResult<SweepReport> {
    let now = state.now_ms() as i64;
    let grace = (state.config.offline_grace_s * 1000) as i64;
    let retention = (state.config.photo_retention_s * 1000) as i64;
    let mut expired = 0;
    for (status, cutoff) in [("requiresInput", now), ("processing", now - grace)] {
        let res = sqlx::query(
            "UPDATE sessions SET status = 'canceled', cancel_reason = 'expired', ended_at = $1, updated_at = $1, \
             secret_hash = NULL, secret_expires_at = NULL, digit_hash = NULL, digit_expires_at = NULL, \
             photo_delete_at = CASE WHEN photo_delete_at IS NULL OR photo_delete_at > $2 THEN $2 ELSE photo_delete_at END \
             WHERE status = $3 AND expires_at <= $4",
        )
        .bind(now)
        .bind(now + retention)
        .bind(status)
        .bind(cutoff)
        .execute(state.db.write().await.pool())
        .await?;
        expired += res.rows_affected();
    }
    let photos_deleted = delete_due_photos(state).await?;
    sqlx::query(
        "UPDATE sessions SET digit_hash = NULL, digit_expires_at = NULL WHERE digit_expires_at <= $1",
    )
    .bind(now)
    .execute(state.db.write().await.pool())
    .await?;
    sqlx::query("DELETE FROM access_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(state.db.write().await.pool())
        .await?;
    if expired > 0 || photos_deleted > 0 {
        tracing::info!(expired, photos_deleted, "sweep");
    }
    Ok(SweepReport {
        expired,
        photos_deleted,
    })
}
