//! `facekiosk serve`, `facekiosk api-key create`, `facekiosk kiosk enrol-token`: the
//! verification API and its administration, on the same database.

use std::path::PathBuf;

use anyhow::Context as _;
use facekiosk_server::{EnginePhotoCheck, Parts, ServerConfig, SystemClock};

use crate::args::{ApiKeyArgs, ApiKeyCommand, DatabaseArgs, KioskArgs, KioskCommand, ServeArgs};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// The server's configuration with the command line's database options applied, and its data
/// dir.
fn server_config(
    config: &KioskConfig,
    db: &DatabaseArgs,
) -> anyhow::Result<(ServerConfig, PathBuf)> {
    let mut sc = config.server.clone();
    if let Some(d) = &db.data_dir {
        sc.data_dir = Some(d.clone());
    }
    if let Some(u) = db.database_url.as_ref().filter(|u| !u.trim().is_empty()) {
        sc.database_url = Some(u.clone());
    }
    let data_dir = match &sc.data_dir {
        Some(d) => d.clone(),
        None => facekiosk_face::runtime::data_dir()
            .map(|d| d.join("server"))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no data directory: give --data-dir (or set HOME or FACEKIOSK_DATA_DIR)"
                )
            })?,
    };
    sc.validate()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    Ok((sc, data_dir))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn open(
    sc: &ServerConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<facekiosk_server::Db> {
    let first = facekiosk_server::database_url(sc, data_dir).starts_with("sqlite:")
        && !data_dir.join(facekiosk_server::DB_FILE).exists();
    let (db, applied) = facekiosk_server::open_db(sc, data_dir, super::unix_ms())
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    if first {
        eprintln!(
            "facekiosk: created the database {}",
            data_dir.join(facekiosk_server::DB_FILE).display()
        );
    } else if !applied.is_empty() {
        eprintln!("facekiosk: applied database migrations {applied:?}");
    }
    Ok(db)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// `facekiosk serve`.
pub fn serve(config: &KioskConfig, a: &ServeArgs) -> anyhow::Result<Outcome> {
    let (mut sc, data_dir) = server_config(config, &a.db)?;
    if let Some(l) = &a.listen {
        sc.listen = l.clone();
    }
    if let Some(u) = &a.public_url {
        sc.public_url = Some(u.clone());
    }
    sc.validate()
        .map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
    let engine = super::engine(config)?;
    let photos = EnginePhotoCheck::new(engine, config.face.decode);
    let rt = runtime()?;
    rt.block_on(async move {
        let db = open(&sc, &data_dir).await?;
        let key_path = sc
            .photo_key_file
            .clone()
            .unwrap_or_else(|| data_dir.join(facekiosk_server::PHOTO_KEY_FILE));
        let (cipher, created) = facekiosk_server::crypto::load_photo_key(&key_path).map_err(|e| anyhow::anyhow!(e))?;
        if created {
            eprintln!(
                "facekiosk: created the photo key {} (back it up: without it stored ID photos cannot be read)",
                key_path.display()
            );
        }
        let backend = db.backend();
        let server = facekiosk_server::start(Parts {
            config: sc,
            db,
            clock: std::sync::Arc::new(SystemClock),
            cipher,
            photos: std::sync::Arc::new(photos),
        })
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
        eprintln!(
            "facekiosk: verification API on {} ({}); stop with Ctrl-C",
            server.url(),
            backend.as_str()
        );
        tracing::info!(url = %server.url(), database = backend.as_str(), "listening");
        server
            .run_until(shutdown_signal())
            .await
            .context("the server stopped with an error")?;
        eprintln!("facekiosk: stopped");
        Ok(Outcome::Success)
    })
}

/// `facekiosk api-key …`.
pub fn api_key(config: &KioskConfig, a: &ApiKeyArgs, out: &Output) -> anyhow::Result<Outcome> {
    match &a.command {
        ApiKeyCommand::Create { tenant, test, db } => {
            let (sc, data_dir) = server_config(config, db)?;
            runtime()?.block_on(async {
                let db = open(&sc, &data_dir).await?;
                let (key, id, created) = facekiosk_server::admin::create_api_key_with_id(
                    &db,
                    tenant,
                    *test,
                    super::unix_ms(),
                )
                .await?;
                if created {
                    eprintln!("facekiosk: created the tenant `{tenant}`");
                }
                eprintln!(
                    "facekiosk: a new {} API key `{id}` for `{tenant}` (shown once; only its hash is stored):",
                    if *test { "test" } else { "live" }
                );
                println!("{key}");
                Ok(Outcome::Success)
            })
        }
        ApiKeyCommand::List { tenant, db } => {
            let (sc, data_dir) = server_config(config, db)?;
            runtime()?.block_on(async {
                let db = open(&sc, &data_dir).await?;
                let keys = facekiosk_server::admin::list_api_keys(&db, tenant.as_deref()).await?;
                out.print(&keys, || {
                    if keys.is_empty() {
                        return "no API keys".to_owned();
                    }
                    keys.iter()
                        .map(|k| {
                            format!(
                                "{}  {:<20} {}  created {}{}",
                                k.id,
                                k.tenant,
                                if k.test { "test" } else { "live" },
                                k.created_at / 1000,
                                k.revoked_at
                                    .map(|r| format!("  revoked {}", r / 1000))
                                    .unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
                Ok(Outcome::Success)
            })
        }
        ApiKeyCommand::Revoke { key_id, db } => {
            let (sc, data_dir) = server_config(config, db)?;
            runtime()?.block_on(async {
                let db = open(&sc, &data_dir).await?;
                if !facekiosk_server::admin::revoke_api_key(&db, key_id, super::unix_ms()).await? {
                    anyhow::bail!("no active API key `{key_id}` (see `facekiosk api-key list`)");
                }
                eprintln!("facekiosk: revoked the API key `{key_id}` and its access tokens");
                Ok(Outcome::Success)
            })
        }
    }
}

/// `facekiosk kiosk …`.
pub fn kiosk(config: &KioskConfig, a: &KioskArgs) -> anyhow::Result<Outcome> {
    match &a.command {
        KioskCommand::Register {
            api,
            enrolment_token,
        } => super::sync::register(config, api, enrolment_token),
        KioskCommand::EnrolToken { tenant, db } => {
            let (sc, data_dir) = server_config(config, db)?;
            runtime()?.block_on(async {
                let db = open(&sc, &data_dir).await?;
                let (token, expires_ms) = facekiosk_server::admin::create_enrolment_token(
                    &db,
                    tenant,
                    super::unix_ms(),
                    sc.enrolment_token_ttl_s,
                )
                .await?;
                eprintln!(
                    "facekiosk: a single-use enrolment token for a kiosk of `{tenant}`, valid {} h (until unix {}):",
                    sc.enrolment_token_ttl_s / 3600,
                    expires_ms / 1000
                );
                println!("{token}");
                Ok(Outcome::Success)
            })
        }
    }
}
