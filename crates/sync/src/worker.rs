//! Draining the outbox: deliver what is due, oldest first; acknowledge, retry later with
//! backoff, or mark dead with the API's reason. A session's traces go after its result.

use facekiosk_identity::{Jwks, KioskIdentity};
use serde::Serialize;
use serde_json::json;

use crate::backoff;
use crate::client::{ApiClient, Delivery};
use crate::outbox::{DueEntry, EntryKind, Outbox, OutboxError};

/// Why an entry taken just before the network went was put back untried.
pub const UNREACHED: &str = "the API could not be reached";

/// Publishes the kiosk's current keys when the API does not know the key of a result (a new
/// test key from a demo run, a rotation), signed with the kiosk's current live key.
#[derive(Clone, Debug)]
pub struct KeyPublisher {
    /// The kiosk's identity (live keys; signs the proof).
    pub identity: KioskIdentity,
    /// The kiosk's test keys.
    pub test_keys: Jwks,
}

impl KeyPublisher {
    fn proof(&self, now_s: u64) -> Option<String> {
        self.identity
            .signer()
            .sign(&json!({
                "iss": self.identity.kiosk_id(),
                "iat": now_s,
                "exp": now_s + 300,
                "keys": self.identity.jwks(),
                "testKeys": self.test_keys,
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

/// Delivers everything due now, once; stops early when the API cannot be reached (what is
/// left stays queued). `progress` is called after each entry.
pub async fn drain_once(
    outbox: &Outbox,
    client: &ApiClient,
    publisher: Option<&KeyPublisher>,
    env: &mut dyn WorkerEnv,
    progress: &mut dyn FnMut(&DrainReport),
) -> Result<DrainReport, OutboxError> {
    let mut report = DrainReport::default();
    let mut published = false;
    loop {
        let now = env.now_ms();
        let due = outbox.take_due(now, 32).await?;
        if due.is_empty() {
            break;
        }
        for entry in due {
            let now = env.now_ms();
            if report.offline {
                // Taken before the network went: back in the queue, untried.
                let wait = backoff::delay_ms(entry.attempts as u32 + 1, None, env.random());
                outbox
                    .retry_later(
                        entry.id,
                        now,
                        now + wait as i64,
                        "the API could not be reached",
                    )
                    .await?;
                report.retried += 1;
                continue;
            }
            let mut answer = send(client, &entry).await;
            if let (
                Delivery::Dead {
                    code: Some(code), ..
                },
                Some(p),
                false,
            ) = (&answer, publisher, published)
                && code == "UNKNOWN_KEY"
            {
                // A key the API does not know yet: publish the kiosk's keys once, then again.
                published = true;
                if let Some(proof) = p.proof((now / 1000) as u64) {
                    match client.publish_keys(&proof).await {
                        Ok(()) => answer = send(client, &entry).await,
                        Err(e) => tracing::warn!(error = %e, "publishing the kiosk's keys failed"),
                    }
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
                    let wait =
                        backoff::delay_ms(entry.attempts as u32 + 1, retry_after_s, env.random());
                    outbox
                        .retry_later(entry.id, now, now + wait as i64, &reason)
                        .await?;
                    report.retried += 1;
                }
            }
            progress(&report);
        }
        if report.offline {
            break;
        }
    }
    Ok(report)
}
