//! The kiosk's side of the verification API: `facekiosk kiosk register`, `facekiosk sync`,
//! `facekiosk queue …`, and queuing every result a registered kiosk signs.
//!
//! State lives under the kiosk's data dir (`$FACEKIOSK_DATA_DIR`, default
//! `~/.local/share/facekiosk`): `sync/registration.toml` (the API and the kiosk's credential,
//! mode 0600) and `sync/outbox.db`; the outbox's sealing key is `outbox.key` in the key store.

use std::path::PathBuf;

use anyhow::Context as _;
use facekiosk_identity::{Jwks, Sealer};
use facekiosk_runner::Ending;
use facekiosk_sync::{
    ApiClient, EntryState, KeyPublisher, NewResult, Outbox, SEAL_KEY_FILE, SystemEnv, WatchEvent,
    apply_retention, drain_once, watch,
};
use serde::{Deserialize, Serialize};

use crate::args::{QueueArgs, QueueCommand, SyncArgs};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

/// What registration left behind.
#[derive(Clone, Serialize, Deserialize)]
struct Registration {
    /// The API's base URL.
    api: String,
    /// The kiosk id it registered.
    kiosk_id: String,
    /// The kiosk's credential (a secret).
    credential: String,
}

fn sync_dir() -> anyhow::Result<PathBuf> {
    facekiosk_face::runtime::data_dir()
        .map(|d| d.join("sync"))
        .ok_or_else(|| anyhow::anyhow!("no data directory (set HOME or FACEKIOSK_DATA_DIR)"))
}

fn registration_path() -> anyhow::Result<PathBuf> {
    Ok(sync_dir()?.join("registration.toml"))
}

fn load_registration() -> anyhow::Result<Option<Registration>> {
    let path = registration_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map(Some).map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (register again: facekiosk kiosk register)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

fn save_registration(r: &Registration) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    let path = registration_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(toml::to_string(r)?.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

async fn open_outbox(config: &KioskConfig) -> anyhow::Result<Outbox> {
    let key_path = config.keys_dir()?.join(SEAL_KEY_FILE);
    let (sealer, _) = Sealer::load_or_create(&key_path).map_err(anyhow::Error::msg)?;
    Ok(Outbox::open(
        &sync_dir()?.join("outbox.db"),
        sealer,
        super::unix_ms() as i64,
    )
    .await?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Before a registered kiosk starts a session: its outbox must be usable (a session whose
/// result could not be stored is not started). Unregistered kiosks need none.
pub fn check_outbox(config: &KioskConfig) -> anyhow::Result<()> {
    if load_registration()?.is_none() {
        return Ok(());
    }
    runtime()?.block_on(async {
        let outbox = open_outbox(config)
            .await
            .context("no session starts: its result could not be kept")?;
        outbox.close().await;
        Ok(())
    })
}

/// Queues a finished session's signed result and traces when the kiosk is registered (before
/// its outcome is shown), and says so. Unregistered kiosks queue nothing.
pub fn queue_ending(
    config: &KioskConfig,
    ending: &Ending,
    traces: &[serde_json::Value],
) -> anyhow::Result<()> {
    if load_registration()?.is_none() {
        return Ok(());
    }
    let (jws, claims) = match ending {
        Ending::Success { jws, verified, .. } => (jws, &verified.claims),
        Ending::Error { .. } => return Ok(()),
    };
    let jti = claims["jti"].as_str().unwrap_or_default();
    let session = claims["sub"].as_str().unwrap_or_default();
    if jti.is_empty() || session.is_empty() {
        anyhow::bail!("the signed result has no jti or sub: not queued");
    }
    let test = claims["test"] == true;
    runtime()?.block_on(async {
        let outbox = open_outbox(config)
            .await
            .context("the result could NOT be queued for the API")?;
        outbox
            .enqueue_result(
                &NewResult {
                    jti,
                    session_id: session,
                    test,
                    jws,
                    traces,
                },
                super::unix_ms() as i64,
            )
            .await
            .context("the result could NOT be queued for the API")?;
        let status = outbox.status().await?;
        eprintln!(
            "facekiosk: result queued for the API ({} waiting; `facekiosk sync` delivers them)",
            status.pending + status.in_flight
        );
        outbox.close().await;
        Ok(())
    })
}

/// `facekiosk kiosk register`.
pub fn register(config: &KioskConfig, api: &str, token: &str) -> anyhow::Result<Outcome> {
    if !(api.starts_with("http://") || api.starts_with("https://")) {
        anyhow::bail!("--api `{api}`: expected http://… or https://…");
    }
    let (identity, _) = super::keys::identity(config)?;
    let test_keys = super::keys::test_jwks(config)?.read().unwrap_or_default();
    runtime()?.block_on(async {
        let client = ApiClient::new(api, None)?;
        let credential = client
            .register(token, identity.kiosk_id(), &identity.jwks(), &test_keys)
            .await?;
        let path = save_registration(&Registration {
            api: api.trim_end_matches('/').to_owned(),
            kiosk_id: identity.kiosk_id().to_owned(),
            credential,
        })?;
        eprintln!(
            "facekiosk: kiosk {} registered with {api}; its credential is in {} (mode 0600). \
             Every result it signs from now on is queued for the API.",
            identity.kiosk_id(),
            path.display()
        );
        Ok(Outcome::Success)
    })
}

/// Reads the kiosk's keys from its key store whenever they are to be published: a demo run
/// beside `sync --watch` adds a test key after the worker started.
fn publisher(config: &KioskConfig) -> anyhow::Result<KeyPublisher> {
    // Fails early when the key store cannot be read at all.
    super::keys::identity(config)?;
    let config = config.clone();
    Ok(KeyPublisher::loading(move || {
        let (identity, _) = super::keys::identity(&config).map_err(|e| e.to_string())?;
        // A damaged test-key file must not keep the live keys from being published.
        let test_keys: Jwks = super::keys::test_jwks(&config)
            .map_err(|e| e.to_string())?
            .read()
            .unwrap_or_default();
        Ok((identity, test_keys))
    }))
}

/// `facekiosk sync [--watch]`.
pub fn sync(config: &KioskConfig, a: &SyncArgs, out: &Output) -> anyhow::Result<Outcome> {
    let reg = load_registration()?.ok_or_else(|| {
        anyhow::anyhow!("this kiosk is not registered: facekiosk kiosk register --api URL --enrolment-token TOKEN")
    })?;
    config.sync.validate().map_err(anyhow::Error::msg)?;
    let publisher = publisher(config)?;
    runtime()?.block_on(async {
        let outbox = open_outbox(config).await?;
        let client = config.sync.client(&reg.api, Some(reg.credential.clone()))?;
        let mut env = SystemEnv;
        let human = !out.json();
        let mut on_event = |e: WatchEvent| match e {
            WatchEvent::Progress(r) if human => eprint!(
                "\rsync: {} delivered, {} retrying, {} refused",
                r.delivered, r.retried, r.dead
            ),
            WatchEvent::BackOnline(n) if human => {
                eprintln!("\nsync: the API answers again; {n} entries are sent now")
            }
            WatchEvent::Expired(list) => eprintln!(
                "\nsync: the retention policy deleted {} entries that were never delivered (see `facekiosk queue list --state expired`)",
                list.len()
            ),
            _ => {}
        };
        let total = if a.watch {
            // Until Ctrl-C or SIGTERM: new entries are sent at once, retries when due.
            watch(
                &outbox,
                &client,
                Some(&publisher),
                &config.sync,
                &mut env,
                shutdown_signal(),
                &mut on_event,
            )
            .await?
        } else {
            let expired = apply_retention(&outbox, &config.sync, super::unix_ms() as i64).await?;
            if !expired.is_empty() {
                on_event(WatchEvent::Expired(expired));
            }
            drain_once(
                &outbox,
                &client,
                Some(&publisher),
                config.sync.concurrency,
                &mut env,
                &mut |r| on_event(WatchEvent::Progress(r.clone())),
            )
            .await?
        };
        let status = outbox.status().await?;
        outbox.close().await;
        out.print(&serde_json::json!({ "sync": total, "queue": status }), || {
            format!(
                "\nsync: {} delivered, {} refused (see `facekiosk queue list --state dead`); now {} pending, {} dead{}",
                total.delivered,
                total.dead,
                status.pending,
                status.dead,
                if total.offline { "; the API could not be reached (NETWORK_ERROR), they wait" } else { "" }
            )
        })?;
        Ok(if total.offline { Outcome::Failed } else { Outcome::Success })
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn state(s: &str) -> anyhow::Result<EntryState> {
    Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
        "pending" => EntryState::Pending,
        "in-flight" | "inflight" => EntryState::InFlight,
        "dead" => EntryState::Dead,
        "acknowledged" => EntryState::Acknowledged,
        "expired" => EntryState::Expired,
        other => {
            anyhow::bail!(
                "--state `{other}`: expected pending, in-flight, dead, acknowledged or expired"
            )
        }
    })
}

/// `facekiosk queue …`.
pub fn queue(config: &KioskConfig, a: &QueueArgs, out: &Output) -> anyhow::Result<Outcome> {
    runtime()?.block_on(async {
        let outbox = open_outbox(config).await?;
        let now = super::unix_ms() as i64;
        match &a.command {
            QueueCommand::Status => {
                let s = outbox.status().await?;
                out.print(&s, || {
                    format!(
                        "pending {}, in flight {}, dead {}, acknowledged {}, expired {}; last successful sync: {}",
                        s.pending,
                        s.in_flight,
                        s.dead,
                        s.acknowledged,
                        s.expired,
                        s.last_successful_sync
                            .map_or_else(|| "never".to_owned(), |t| format!("unix {}", t / 1000))
                    )
                })?;
            }
            QueueCommand::List { state: st, limit } => {
                let filter = st.as_deref().map(state).transpose()?;
                let list = outbox.list(filter, *limit).await?;
                out.print(&list, || {
                    if list.is_empty() {
                        return "the queue is empty".to_owned();
                    }
                    list.iter()
                        .map(|e| {
                            format!(
                                "{:>6}  {:?}  {:<14} {:<40} attempts {}{}",
                                e.id,
                                e.kind,
                                format!("{:?}", e.state),
                                e.session_id,
                                e.attempts,
                                e.last_error
                                    .as_deref()
                                    .map(|r| format!("  — {r}"))
                                    .unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
            }
            QueueCommand::Retry { id } => {
                outbox.retry(*id, now).await?;
                eprintln!("facekiosk: entry {id} will be sent again by the next sync");
            }
            QueueCommand::Export { dir } => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let mut n = 0;
                for st in [EntryState::Pending, EntryState::Dead, EntryState::InFlight] {
                    for e in outbox.list(Some(st), i64::MAX).await? {
                        let bytes = outbox.payload(e.id).await?;
                        let ext = match e.kind {
                            facekiosk_sync::EntryKind::Result => "jws",
                            facekiosk_sync::EntryKind::Traces => "json",
                        };
                        let path = dir.join(format!("{:06}-{}.{ext}", e.id, e.session_id.replace(['/', '\\'], "_")));
                        write_private(&path, &bytes)?;
                        n += 1;
                    }
                }
                eprintln!(
                    "facekiosk: {n} entries written to {} (they may hold audit images: handle them as personal data)",
                    dir.display()
                );
            }
            QueueCommand::Purge { acknowledged } => {
                if !acknowledged {
                    anyhow::bail!("only delivered entries are ever purged: add --acknowledged");
                }
                let n = outbox.purge_acknowledged().await?;
                eprintln!("facekiosk: {n} delivered entries purged");
            }
        }
        outbox.close().await;
        Ok(Outcome::Success)
    })
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {} (it must not exist yet)", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}
