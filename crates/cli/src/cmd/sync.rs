//! The kiosk's side of the verification API: `facekiosk kiosk register`, `facekiosk sync`,
//! `facekiosk queue …`, and queuing every result a registered kiosk signs.
//!
//! State lives under the kiosk's data dir (`$FACEKIOSK_DATA_DIR`, default
//! `~/.local/share/facekiosk`): `sync/registration.toml` (the API and the kiosk's credential,
//! mode 0600) and `sync/outbox.db`; the outbox's sealing key is `outbox.key` in the key store.

use anyhow::Context as _;
use facekiosk_kiosk::store::{KioskStore, Registration};
use facekiosk_runner::Ending;
use facekiosk_sync::{
    ApiClient, EntryState, Outbox, SystemEnv, WatchEvent, apply_retention, drain_once, watch,
};

use crate::args::{QueueArgs, QueueCommand, SyncArgs};
use crate::config::KioskConfig;
use crate::output::{Outcome, Output};

fn store(config: &KioskConfig) -> anyhow::Result<KioskStore> {
    Ok(KioskStore::new(config)?)
}

fn load_registration(config: &KioskConfig) -> anyhow::Result<Option<Registration>> {
    Ok(store(config)?.registration()?)
}

async fn open_outbox(config: &KioskConfig) -> anyhow::Result<Outbox> {
    Ok(store(config)?.open_outbox().await?)
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
    let store = store(config)?;
    runtime()?.block_on(async {
        store
            .check_outbox()
            .await
            .context("no session starts: its result could not be kept")
    })
}

/// Queues a finished session's signed result and traces when the kiosk is registered (before
/// its outcome is shown), and says so. Unregistered kiosks queue nothing.
pub fn queue_ending(
    config: &KioskConfig,
    ending: &Ending,
    traces: &[serde_json::Value],
) -> anyhow::Result<()> {
    let store = store(config)?;
    let status = runtime()?
        .block_on(store.queue_ending(ending, traces))
        .context("the result could NOT be queued for the API")?;
    if let Some(status) = status {
        eprintln!(
            "facekiosk: result queued for the API ({} waiting; `facekiosk sync` delivers them)",
            status.pending + status.in_flight
        );
    }
    Ok(())
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
        let path = store(config)?.save_registration(&Registration {
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

/// `facekiosk sync [--watch]`.
pub fn sync(config: &KioskConfig, a: &SyncArgs, out: &Output) -> anyhow::Result<Outcome> {
    let reg = load_registration(config)?.ok_or_else(|| {
        anyhow::anyhow!("this kiosk is not registered: facekiosk kiosk register --api URL --enrolment-token TOKEN")
    })?;
    config.sync.validate().map_err(anyhow::Error::msg)?;
    super::keys::identity(config)?;
    let publisher = store(config)?.key_publisher();
    runtime()?.block_on(async {
        let outbox = open_outbox(config).await?;
        let client = store(config)?.client(config, &reg)?;
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
