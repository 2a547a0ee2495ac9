//! What the staff panel shows: the queue (counts, last sync, what was refused and why), the
//! kiosk's recent visits (the decision and where its result is — never a score or an image),
//! and the settings it runs with (never a PIN hash).

use std::collections::VecDeque;

use facekiosk_sync::{EntryState, QueueStatus};
use serde::Serialize;

use crate::KioskError;
use crate::config::KioskConfig;
use crate::store::KioskStore;
use crate::visit::Outcome;

/// Visits remembered for the panel (in memory: a restart forgets them; the queue keeps the
/// results themselves).
pub const RECENT_VISITS: usize = 20;

/// Dead entries shown.
const DEAD_SHOWN: i64 = 20;

/// A visit as the panel lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentVisit {
    /// The session.
    pub session_id: String,
    /// When it ended, unix ms.
    pub at_ms: u64,
    /// What the customer was shown.
    pub outcome: Outcome,
    /// A walk-in.
    pub walk_in: bool,
}

/// The last [`RECENT_VISITS`] visits, newest first.
#[derive(Debug, Default)]
pub struct RecentVisits(VecDeque<RecentVisit>);

impl RecentVisits {
    /// Remembers a visit that ended.
    pub fn push(&mut self, visit: RecentVisit) {
        self.0.push_front(visit);
        self.0.truncate(RECENT_VISITS);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<RecentVisit> {
        self.0.iter().cloned().collect()
    }
}

/// The staff panel's overview (`staff_overview`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Who opened the panel.
    pub operator: String,
    /// The kiosk.
    pub kiosk_id: String,
    /// Registered with a verification API.
    pub registered: bool,
    /// The queue's counts and last sync.
    pub queue: QueueStatus,
    /// Entries refused for good, with the API's reason.
    pub dead: Vec<DeadEntry>,
    /// Recent visits, newest first.
    pub recent: Vec<RecentRow>,
    /// The settings, `key = value` (PIN hashes left out).
    pub settings: Vec<Setting>,
    /// What the kiosk noticed at start and fell back from (a theme's missing asset, a bad
    /// value): for staff to fix.
    pub warnings: Vec<String>,
}

/// An entry the API refused for good.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadEntry {
    /// The session.
    pub session_id: String,
    /// Why, as the API said.
    pub reason: String,
    /// When it was queued, unix ms.
    pub at: i64,
}

/// A recent visit with its delivery.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentRow {
    /// The session.
    pub session_id: String,
    /// When it ended, unix ms.
    pub at: u64,
    /// The decision as shown.
    pub outcome: Outcome,
    /// A walk-in.
    pub walk_in: bool,
    /// Where its result is in the queue (none: no result was queued).
    pub delivery: Option<EntryState>,
}

/// One setting.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// `section.key`.
    pub key: String,
    /// Its value, as TOML.
    pub value: String,
}

/// A session waiting for a kiosk, as staff pick it for the customer in front of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitingSession {
    /// The session.
    pub session_id: String,
    /// The integrator's reference (how staff recognise it).
    pub client_reference_id: Option<String>,
    /// A test session.
    pub test: bool,
    /// Unix s.
    pub created_at: u64,
    /// Unix s.
    pub expires_at: u64,
}

/// The sessions of the kiosk's tenant waiting for a kiosk, newest first, from the API.
pub async fn waiting_sessions(
    client: &facekiosk_sync::ApiClient,
) -> Result<Vec<WaitingSession>, crate::visit::ClaimError> {
    let body = client.waiting_sessions().await?;
    Ok(body["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|w| {
                    Some(WaitingSession {
                        session_id: w["sessionId"].as_str()?.to_owned(),
                        client_reference_id: w["clientReferenceId"].as_str().map(str::to_owned),
                        test: w["test"] == true,
                        created_at: w["createdAt"].as_u64()?,
                        expires_at: w["expiresAt"].as_u64()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Gathers the overview; `warnings` are what the kiosk noticed at start (its theme's).
pub async fn overview(
    store: &KioskStore,
    config: &KioskConfig,
    operator: &str,
    kiosk_id: &str,
    recent: &[RecentVisit],
    warnings: &[String],
) -> Result<Overview, KioskError> {
    let outbox = store.open_outbox().await?;
    let queue = outbox.status().await?;
    let dead = outbox
        .list(Some(EntryState::Dead), DEAD_SHOWN)
        .await?
        .into_iter()
        .map(|e| DeadEntry {
            session_id: e.session_id,
            reason: e.last_error.unwrap_or_default(),
            at: e.created_at,
        })
        .collect();
    let mut rows = Vec::with_capacity(recent.len());
    for v in recent {
        rows.push(RecentRow {
            session_id: v.session_id.clone(),
            at: v.at_ms,
            outcome: v.outcome,
            walk_in: v.walk_in,
            delivery: outbox.result_state(&v.session_id).await?,
        });
    }
    outbox.close().await;
    Ok(Overview {
        operator: operator.to_owned(),
        kiosk_id: kiosk_id.to_owned(),
        registered: matches!(store.registration(), Ok(Some(_))),
        queue,
        dead,
        recent: rows,
        settings: settings(config),
        warnings: warnings.to_vec(),
    })
}

/// The configuration as `key = value` lines, in the file's order; operators by name only.
pub fn settings(config: &KioskConfig) -> Vec<Setting> {
    fn walk(v: &toml::Value, prefix: &str, out: &mut Vec<Setting>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(v, &key, out);
                }
            }
            other => out.push(Setting {
                key: prefix.to_owned(),
                value: other.to_string(),
            }),
        }
    }
    let mut shown = config.clone();
    let names: Vec<String> = shown.staff.operators.drain(..).map(|o| o.name).collect();
    let mut out = Vec::new();
    match toml::Value::try_from(&shown) {
        Ok(v) => walk(&v, "", &mut out),
        Err(e) => out.push(Setting {
            key: "error".to_owned(),
            value: e.to_string(),
        }),
    }
    if let Some(s) = out.iter_mut().find(|s| s.key == "staff.operators") {
        s.value = toml::Value::try_from(&names).map_or_else(|_| String::new(), |v| v.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::staff::{Operator, hash_pin};

    #[test]
    fn the_settings_read_out_names_operators_but_never_their_pin_hashes() {
        let mut config = KioskConfig::default();
        config.staff.operators.push(Operator {
            name: "Amal".to_owned(),
            pin_hash: hash_pin("2468").unwrap(),
        });
        let s = settings(&config);
        let ops = s.iter().find(|s| s.key == "staff.operators").unwrap();
        assert_eq!(ops.value, r#"["Amal"]"#);
        assert!(s.iter().all(|s| !s.value.contains("argon2")), "{s:?}");
        let camera = s.iter().find(|s| s.key == "kiosk.camera").unwrap();
        assert_eq!(camera.value, r#""camera""#);
        assert!(
            s.iter()
                .any(|s| s.key == "sync.concurrency" && s.value == "4")
        );
    }

    #[test]
    fn recent_visits_keep_the_newest_twenty() {
        let mut r = RecentVisits::default();
        for i in 0..25 {
            r.push(RecentVisit {
                session_id: format!("s{i}"),
                at_ms: i,
                outcome: Outcome::Success,
                walk_in: false,
            });
        }
        let l = r.list();
        assert_eq!(l.len(), RECENT_VISITS);
        assert_eq!(l[0].session_id, "s24");
        assert_eq!(l[19].session_id, "s5");
    }
}
