//! The schema, as numbered migrations. A migration is never edited once released: add one.
//! `{blob}` is `BLOB` on SQLite and `BYTEA` on PostgreSQL; everything else is common SQL.

use super::Backend;

/// One schema change.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Applied in increasing order.
    pub version: i64,
    /// What it does.
    pub name: &'static str,
    /// Its statements, separated by `;`.
    pub sql: &'static str,
}

impl Migration {
    /// The statements for `backend`.
    pub fn statements(&self, backend: Backend) -> Vec<String> {
        let blob = match backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        };
        self.sql
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.replace("{blob}", blob))
            .collect()
    }
}

/// Every migration, oldest first.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "tenants, keys, kiosks, sessions, results, traces, identities",
    sql: r#"
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    key_hash TEXT NOT NULL UNIQUE,
    test BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    api_key_id TEXT NOT NULL REFERENCES api_keys(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    test BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX access_tokens_expiry ON access_tokens (expires_at);
CREATE TABLE kiosks (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT,
    credential_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    disabled_at BIGINT,
    digit_failures BIGINT NOT NULL DEFAULT 0,
    digit_window_start BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE kiosk_keys (
    kid TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
    x TEXT NOT NULL,
    test BIGINT NOT NULL,
    nbf BIGINT,
    exp BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX kiosk_keys_kiosk ON kiosk_keys (kiosk_id);
CREATE TABLE enrolment_tokens (
    token_hash TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    kiosk_id TEXT,
    name TEXT
);
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    test BIGINT NOT NULL,
    photo {blob},
    photo_sha256 TEXT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    test BIGINT NOT NULL,
    status TEXT NOT NULL,
    walk_in BIGINT NOT NULL,
    client_reference_id TEXT,
    metadata TEXT NOT NULL,
    settings TEXT NOT NULL,
    identity_id TEXT,
    photo {blob},
    photo_sha256 TEXT,
    secret_hash TEXT,
    secret_created_at BIGINT,
    secret_expires_at BIGINT,
    digit_hash TEXT,
    digit_expires_at BIGINT,
    claimed_by TEXT REFERENCES kiosks(id),
    claimed_at BIGINT,
    result_jti TEXT,
    result_jws TEXT,
    report TEXT,
    cancel_reason TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ended_at BIGINT,
    photo_delete_at BIGINT
);
CREATE INDEX sessions_list ON sessions (tenant_id, test, created_at, id);
CREATE INDEX sessions_client_ref ON sessions (tenant_id, client_reference_id);
CREATE INDEX sessions_expiry ON sessions (status, expires_at);
CREATE INDEX sessions_photo_delete ON sessions (photo_delete_at);
CREATE UNIQUE INDEX sessions_digit ON sessions (digit_hash);
CREATE TABLE results (
    kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
    jti TEXT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    payload_sha256 TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, jti)
);
CREATE TABLE trace_batches (
    kiosk_id TEXT NOT NULL REFERENCES kiosks(id),
    batch_id TEXT NOT NULL,
    events TEXT NOT NULL,
    event_count BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (kiosk_id, batch_id)
)
"#,
}];
