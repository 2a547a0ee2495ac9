//! What `facekiosk api-key create` and `facekiosk kiosk enrol-token` do, straight on the
//! database (and what `POST /v1/kiosks` does through the API).

use sqlx::Row as _;

use crate::api::auth::{LIVE_KEY_PREFIX, TEST_KEY_PREFIX};
use crate::crypto::{hash_secret, hex, random_bytes, token};
use crate::db::{Db, DbError};

/// An admin operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A tenant name that cannot be used.
    #[error("tenant name `{0}`: use 1–64 letters, digits, `-`, `_` or `.`")]
    TenantName(String),
    /// No such tenant.
    #[error("no tenant `{0}`: create it with `facekiosk api-key create --tenant {0}`")]
    NoTenant(String),
    /// Randomness failed.
    #[error("{0}")]
    Random(String),
}

impl From<sqlx::Error> for AdminError {
    fn from(e: sqlx::Error) -> Self {
        AdminError::Db(DbError::Query(e))
    }
}

fn check_name(name: &str) -> Result<(), AdminError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AdminError::TenantName(name.to_owned()))
    }
}

/// The tenant's id, or `None`.
pub async fn tenant_id(db: &Db, name: &str) -> Result<Option<String>, AdminError> {
    let row = sqlx::query("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// The tenant's id, created when missing; `true` when it was created.
pub async fn ensure_tenant(db: &Db, name: &str, now_ms: u64) -> Result<(String, bool), AdminError> {
    check_name(name)?;
    if let Some(id) = tenant_id(db, name).await? {
        return Ok((id, false));
    }
    let id = format!(
        "ten_{}",
        hex(&random_bytes::<8>().map_err(AdminError::Random)?)
    );
    let res = sqlx::query(
        "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
    )
    .bind(&id)
    .bind(name)
    .bind(now_ms as i64)
    .execute(db.write().await.pool())
    .await?;
    if res.rows_affected() == 0 {
        // Created concurrently.
        let id = tenant_id(db, name)
            .await?
            .ok_or_else(|| AdminError::NoTenant(name.to_owned()))?;
        return Ok((id, false));
    }
    Ok((id, true))
}

/// A new API key for the tenant (created when missing): the key itself, shown once, and
/// whether the tenant was created.
pub async fn create_api_key(
    db: &Db,
    tenant: &str,
    test: bool,
    now_ms: u64,
) -> Result<(String, bool), AdminError> {
    create_api_key_with_id(db, tenant, test, now_ms)
        .await
        .map(|(key, _, created)| (key, created))
}

/// [`create_api_key`], also returning the key's id (`key_…`, for `api-key revoke`).
pub async fn create_api_key_with_id(
    db: &Db,
    tenant: &str,
    test: bool,
    now_ms: u64,
) -> Result<(String, String, bool), AdminError> {
    let (tenant_id, created) = ensure_tenant(db, tenant, now_ms).await?;
    let key = token(if test {
        TEST_KEY_PREFIX
    } else {
        LIVE_KEY_PREFIX
    })
    .map_err(AdminError::Random)?;
    let id = format!(
        "key_{}",
        hex(&random_bytes::<8>().map_err(AdminError::Random)?)
    );
    sqlx::query(
        "INSERT INTO api_keys (id, tenant_id, key_hash, test, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(&tenant_id)
    .bind(hash_secret(&key))
    .bind(i64::from(test))
    .bind(now_ms as i64)
    .execute(db.write().await.pool())
    .await?;
    Ok((key, id, created))
}

/// An API key as `api-key list` shows it (never the key itself: only its hash is stored).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInfo {
    /// `key_…`.
    pub id: String,
    /// The tenant's name.
    pub tenant: String,
    /// A test-mode key.
    pub test: bool,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, when revoked.
    pub revoked_at: Option<i64>,
}

/// The API keys, of one tenant or all, oldest first.
pub async fn list_api_keys(db: &Db, tenant: Option<&str>) -> Result<Vec<ApiKeyInfo>, AdminError> {
    let rows = sqlx::query(
        "SELECT k.id, t.name, k.test, k.created_at, k.revoked_at FROM api_keys k \
         JOIN tenants t ON t.id = k.tenant_id WHERE ($1 = '' OR t.name = $1) ORDER BY k.created_at, k.id",
    )
    .bind(tenant.unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(ApiKeyInfo {
            id: r.try_get("id")?,
            tenant: r.try_get("name")?,
            test: r.try_get::<i64, _>("test")? != 0,
            created_at: r.try_get("created_at")?,
            revoked_at: r.try_get("revoked_at")?,
        });
    }
    Ok(out)
}

/// Revokes an API key at once (and the access tokens minted from it). `false` when no such
/// key is active.
pub async fn revoke_api_key(db: &Db, key_id: &str, now_ms: u64) -> Result<bool, AdminError> {
    let res =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms as i64)
            .bind(key_id)
            .execute(db.write().await.pool())
            .await?;
    Ok(res.rows_affected() > 0)
}

/// Enrolment tokens start with this.
pub const ENROLMENT_PREFIX: &str = "fke_";

/// A new single-use kiosk enrolment token for a tenant id; returns it and its expiry (ms).
pub async fn create_enrolment_token_for(
    db: &Db,
    tenant_id: &str,
    name: Option<&str>,
    now_ms: u64,
    ttl_s: u64,
) -> Result<(String, u64), AdminError> {
    let t = token(ENROLMENT_PREFIX).map_err(AdminError::Random)?;
    let expires = now_ms + ttl_s * 1000;
    sqlx::query(
        "INSERT INTO enrolment_tokens (token_hash, tenant_id, created_at, expires_at, name) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_secret(&t))
    .bind(tenant_id)
    .bind(now_ms as i64)
    .bind(expires as i64)
    .bind(name)
    .execute(db.write().await.pool())
    .await?;
    Ok((t, expires))
}

/// A new enrolment token for an existing tenant, by name.
pub async fn create_enrolment_token(
    db: &Db,
    tenant: &str,
    now_ms: u64,
    ttl_s: u64,
) -> Result<(String, u64), AdminError> {
    check_name(tenant)?;
    let id = tenant_id(db, tenant)
        .await?
        .ok_or_else(|| AdminError::NoTenant(tenant.to_owned()))?;
    create_enrolment_token_for(db, &id, None, now_ms, ttl_s).await
}

/// Results stored, and the distinct sessions they belong to (equal when none is doubled).
pub async fn count_results(db: &Db) -> Result<(i64, i64), AdminError> {
    let r = sqlx::query("SELECT COUNT(*) AS n, COUNT(DISTINCT session_id) AS d FROM results")
        .fetch_one(db.pool())
        .await?;
    Ok((r.try_get("n")?, r.try_get("d")?))
}

/// A database name for throw-away databases: letters, digits and `_` only.
fn check_db_name(name: &str) -> Result<(), AdminError> {
    if !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        Ok(())
    } else {
        Err(AdminError::TenantName(name.to_owned()))
    }
}

/// Creates a fresh PostgreSQL database `name` on the server of `admin_url` (dropping one of the
/// same name first) and returns its URL: for benchmarks and tests.
pub async fn create_scratch_database(admin_url: &str, name: &str) -> Result<String, AdminError> {
    check_db_name(name)?;
    let admin = Db::connect(admin_url, 1).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(admin.pool())
        .await?;
    admin.pool().close().await;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    Ok(format!("{base}/{name}"))
}

/// Drops a database made by [`create_scratch_database`].
pub async fn drop_scratch_database(admin_url: &str, name: &str) -> Result<(), AdminError> {
    check_db_name(name)?;
    let admin = Db::connect(admin_url, 1).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(admin.pool())
    .await?;
    admin.pool().close().await;
    Ok(())
}
