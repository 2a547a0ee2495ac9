//! Draining the outbox: deliver what is due, oldest first; acknowledge, retry later with
//! backoff, or mark dead with the API's reason. A session's traces go after its result.

use facekiosk_identity::{Jwks, KioskIdentity};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::backoff;
use crate::client::{ApiClient, ClientError, Delivery};
use crate::outbox::{DueEntry, EntryInfo, EntryKind, Outbox, OutboxError, UNREACHED};

/// The kiosk's keys as they are now: its identity (live keys; signs the proof) and its test
/// keys' public halves.
type LoadKeys = dyn Fn() -> Result<(KioskIdentity, Jwks), String> + Send + Sync;

/// Publishes the kiosk's current keys when the API does not know the key of a result (a new
/// test key from a demo run, a rotation), signed with the kiosk's current live key. The keys
/// are read when they are needed, so a worker that runs for days publishes what a demo or a
/// rotation made after it started.
#[derive(Clone)]
pub struct KeyPublisher {
    load: Arc<LoadKeys>,
}

impl std::fmt::Debug for KeyPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPublisher")
    }
}

impl KeyPublisher {
    /// Always these keys.
    pub fn fixed(identity: KioskIdentity, test_keys: Jwks) -> Self {
        Self::loading(move || Ok((identity.clone(), test_keys.clone())))
    }

    /// Keys read by `load` each time they are published (from the kiosk's key store).
    pub fn loading(
        load: impl Fn() -> Result<(KioskIdentity, Jwks), String> + Send + Sync + 'static,
    ) -> Self {
        KeyPublisher {
            load: Arc::new(load),
        }
    }

    fn proof(&self, now_s: u64) -> Option<String> {
        let (identity, test_keys) = match (self.load)() {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "the kiosk's keys could not be read to publish them");
                return None;
            }
        };
        identity
            .signer()
            .sign(&json!({
                "iss": identity.kiosk_id(),
                "iat": now_s,
                "exp": now_s + 300,
                "keys": identity.jwks(),
                "testKeys": test_keys,
            }))
            .ok()
    }
}

/// What one drain did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    /// Acknowledged by the API.
    pub delivered: u64,
    /// Refused for good.
    pub dead: u64,
    /// To be tried again later.
    pub retried: u64,
    /// Whether the API could not be reached (the drain stopped early).
    pub offline: bool,
}

/// Time and randomness for the worker (injected: tests drive them).
pub trait WorkerEnv {
    /// Unix ms now.
    fn now_ms(&mut self) -> i64;
    /// A random u64 (backoff jitter).
    fn random(&mut self) -> u64;
}

/// The system's clock and OS randomness.
#[derive(Debug, Default)]
pub struct SystemEnv;

impl WorkerEnv for SystemEnv {
    fn now_ms(&mut self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
    fn random(&mut self) -> u64 {
        let mut b = [0u8; 8];
        // Jitter only: without OS randomness the schedule is merely less spread.
        let _ = getrandom::getrandom(&mut b);
        u64::from_le_bytes(b)
    }
}

async fn send(client: &ApiClient, entry: &DueEntry) -> Delivery {
    match entry.kind {
        EntryKind::Result => {
            client
                .post_result(&String::from_utf8_lossy(&entry.payload))
                .await
        }
        EntryKind::Traces => {
            let events = serde_json::from_slice(&entry.payload)
                .unwrap_or(serde_json::Value::Array(Vec::new()));
            client.post_traces(&entry.key, &events).await
        }
    }
}

/// Sends `entries` at the same time (one request each) and returns the answers in their
/// order. Entries of one session are never sent together: its traces are only taken once its
/// result is acknowledged.
async fn send_all(client: &ApiClient, entries: Vec<DueEntry>) -> Vec<(DueEntry, Delivery)> {
    if entries.len() == 1 {
        let mut out = Vec::with_capacity(1);
        for e in entries {
            let a = send(client, &e).await;
            out.push((e, a));
        }
        return out;
    }
    let mut set = tokio::task::JoinSet::new();
    let n = entries.len();
    for (i, e) in entries.into_iter().enumerate() {
        let client = client.clone();
        set.spawn(async move {
            let a = send(&client, &e).await;
            (i, e, a)
        });
    }
    let mut out: Vec<(usize, DueEntry, Delivery)> = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(t) => out.push(t),
            // A send that panicked: its entry stays in flight and goes back to pending at the
            // next start; nothing is lost.
            Err(e) => tracing::error!(error = %e, "outbox: a delivery task failed"),
        }
    }
    out.sort_by_key(|t| t.0);
    out.into_iter().map(|(_, e, a)| (e, a)).collect()
}

/// Delivers everything due now, once, `concurrency` requests at a time; stops early when the
/// API cannot be reached (what is left stays queued). `progress` is called after each entry.
pub async fn drain_once(
    outbox: &Outbox,
    client: &ApiClient,
    publisher: Option<&KeyPublisher>,
    concurrency: usize,
    env: &mut dyn WorkerEnv,
    progress: &mut dyn FnMut(&DrainReport),
) -> Result<DrainReport, OutboxError> {
    let mut report = DrainReport::default();
    // Whether the kiosk's keys were published in this drain (once at most), and how it went.
    let mut published: Option<bool> = None;
    loop {
        let now = env.now_ms();
        let due = outbox.take_due(now, 32).await?;
        if due.is_empty() {
            break;
        }
        let mut rest = due.into_iter().peekable();
        while rest.peek().is_some() {
            let batch: Vec<DueEntry> = rest.by_ref().take(concurrency.max(1)).collect();
            if report.offline {
                // Taken before the network went: back in the queue, untried.
                for entry in batch {
                    let now = env.now_ms();
                    let wait = backoff::delay_ms(entry.attempts as u32 + 1, None, env.random());
                    outbox
                        .retry_later(entry.id, now, now + wait as i64, UNREACHED)
                        .await?;
                    report.retried += 1;
                }
                continue;
            }
            for (entry, mut answer) in send_all(client, batch).await {
                let now = env.now_ms();
                if let (
                    Delivery::Dead {
                        code: Some(code), ..
                    },
                    Some(p),
                ) = (&answer, publisher)
                    && code == "UNKNOWN_KEY"
                {
                    // A key the API does not know yet: publish the kiosk's keys once, then
                    // send again.
                    let ok = match published {
                        Some(ok) => ok,
                        None => {
                            let ok = match p.proof((now / 1000) as u64) {
                                Some(proof) => match client.publish_keys(&proof).await {
                                    Ok(()) => true,
                                    Err(e) => {
                                        tracing::warn!(error = %e, "publishing the kiosk's keys failed");
                                        false
                                    }
                                },
                                None => false,
                            };
                            published = Some(ok);
                            ok
                        }
                    };
                    if ok {
                        answer = send(client, &entry).await;
                    }
                }
                match answer {
                    Delivery::Acknowledged => {
                        outbox.acknowledge(entry.id, now).await?;
                        report.delivered += 1;
                    }
                    Delivery::Dead { reason, .. } => {
                        outbox.mark_dead(entry.id, now, &reason).await?;
                        report.dead += 1;
                    }
                    Delivery::Retry {
                        reason,
                        retry_after_s,
                    } => {
                        if reason.starts_with("NETWORK_ERROR") {
                            report.offline = true;
                        }
                        let wait = backoff::delay_ms(
                            entry.attempts as u32 + 1,
                            retry_after_s,
                            env.random(),
                        );
                        outbox
                            .retry_later(entry.id, now, now + wait as i64, &reason)
                            .await?;
                        report.retried += 1;
                    }
                }
                progress(&report);
            }
        }
        if report.offline {
            break;
        }
    }
    Ok(report)
}

/// The `[sync]` section of the kiosk's configuration: how the worker delivers the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Requests in flight at once (1–32).
    pub concurrency: usize,
    /// Entries never delivered (pending or refused) are deleted after this many days; 0:
    /// never. Each deletion is kept as an `expired` entry and logged.
    pub unsent_retention_days: u32,
    /// Time to connect to the API, s.
    pub connect_timeout_s: u64,
    /// Time for one whole request, s.
    pub request_timeout_s: u64,
    /// While the API cannot be reached, how often `sync --watch` asks whether it is back, s.
    pub offline_probe_s: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            concurrency: 4,
            unsent_retention_days: 0,
            connect_timeout_s: 5,
            request_timeout_s: 20,
            offline_probe_s: 5,
        }
    }
}

impl SyncConfig {
    /// Checks every value; the error names the key and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=32).contains(&self.concurrency) {
            return Err(format!(
                "sync.concurrency = {}: expected 1 to 32",
                self.concurrency
            ));
        }
        for (key, v, max) in [
            ("sync.connect_timeout_s", self.connect_timeout_s, 300),
            ("sync.request_timeout_s", self.request_timeout_s, 3600),
            ("sync.offline_probe_s", self.offline_probe_s, 3600),
        ] {
            if !(1..=max).contains(&v) {
                return Err(format!("{key} = {v}: expected 1 to {max}"));
            }
        }
        Ok(())
    }

    /// The API client these settings describe.
    pub fn client(&self, base: &str, credential: Option<String>) -> Result<ApiClient, ClientError> {
        ApiClient::with_timeouts(
            base,
            credential,
            Duration::from_secs(self.connect_timeout_s),
            Duration::from_secs(self.request_timeout_s),
            true,
        )
    }
}

/// What the watching worker tells its caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WatchEvent {
    /// Progress of a drain: totals since the worker started.
    Progress(DrainReport),
    /// The API answers again after it could not be reached; this many entries are due now.
    BackOnline(u64),
    /// The retention policy deleted these entries, never delivered.
    Expired(Vec<EntryInfo>),
}

/// The longest the worker sleeps with nothing due (it wakes sooner for a new entry).
const IDLE_WAKE_MS: i64 = 60_000;
/// How often the worker looks for entries other processes added.
const OTHER_PROCESS_POLL: Duration = Duration::from_millis(250);
/// How often the retention policy runs.
const RETENTION_EVERY_MS: i64 = 3_600_000;

/// Drains the outbox until `stop` completes: at once when this process queues an entry,
/// within a quarter of a second when another process does, when a retry falls due, and the
/// moment the API answers again after it could not be reached (probed every
/// `offline_probe_s`). The retention policy, when configured, runs at start and hourly.
/// Returns the totals.
pub async fn watch(
    outbox: &Outbox,
    client: &ApiClient,
    publisher: Option<&KeyPublisher>,
    config: &SyncConfig,
    env: &mut dyn WorkerEnv,
    stop: impl std::future::Future<Output = ()>,
    on_event: &mut dyn FnMut(WatchEvent),
) -> Result<DrainReport, OutboxError> {
    let mut stop = std::pin::pin!(stop);
    let mut total = DrainReport::default();
    let mut next_retention = i64::MIN;
    loop {
        let now = env.now_ms();
        if config.unsent_retention_days > 0 && now >= next_retention {
            next_retention = now + RETENTION_EVERY_MS;
            let expired = apply_retention(outbox, config, now).await?;
            if !expired.is_empty() {
                on_event(WatchEvent::Expired(expired));
            }
        }
        // Read before looking at the queue: another process's entry queued after this point
        // wakes the wait below, even if it came while the drain was still running.
        let seen = outbox.version().await;
        let before = total.clone();
        let report = drain_once(
            outbox,
            client,
            publisher,
            config.concurrency,
            env,
            &mut |r| {
                on_event(WatchEvent::Progress(DrainReport {
                    delivered: before.delivered + r.delivered,
                    dead: before.dead + r.dead,
                    retried: r.retried,
                    offline: r.offline,
                }))
            },
        )
        .await?;
        total.delivered += report.delivered;
        total.dead += report.dead;
        total.retried = report.retried;
        total.offline = report.offline;

        let now = env.now_ms();
        let mut wait = match outbox.next_due_at().await? {
            Some(at) => (at - now).clamp(0, IDLE_WAKE_MS),
            None => IDLE_WAKE_MS,
        };
        if report.offline {
            wait = wait.min(config.offline_probe_s as i64 * 1000);
        }
        // Never a busy loop: at least a moment between drains.
        let wait = wait.max(50);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = outbox.changed(OTHER_PROCESS_POLL, seen) => {}
            _ = &mut stop => break,
        }
        if total.offline && client.reachable().await {
            let woken = outbox.wake_network_failures(env.now_ms()).await?;
            total.offline = false;
            on_event(WatchEvent::BackOnline(woken));
        }
    }
    Ok(total)
}

/// Deletes what the retention policy says is too old to keep (nothing when it is off).
pub async fn apply_retention(
    outbox: &Outbox,
    config: &SyncConfig,
    now_ms: i64,
) -> Result<Vec<EntryInfo>, OutboxError> {
    if config.unsent_retention_days == 0 {
        return Ok(Vec::new());
    }
    let days = i64::from(config.unsent_retention_days);
    outbox
        .expire_unsent(
            now_ms - days * 86_400_000,
            now_ms,
            &format!("never delivered; deleted by the retention policy (sync.unsent_retention_days = {days})"),
        )
        .await
}
