//! The outbox on real SQLite files: what is written survives, is sealed, moves through its
//! states, and a damaged file is reported and left alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use facekiosk_identity::Sealer;
use facekiosk_sync::{EntryKind, EntryState, NewResult, Outbox, OutboxError};
use serde_json::json;

const T0: i64 = 1_780_272_000_000;

fn sealer() -> Sealer {
    Sealer::new([9; 32])
}

fn result<'a>(
    jti: &'a str,
    session: &'a str,
    jws: &'a str,
    traces: &'a [serde_json::Value],
) -> NewResult<'a> {
    NewResult {
        jti,
        session_id: session,
        test: false,
        jws,
        traces,
    }
}

#[tokio::test]
async fn a_result_and_its_traces_are_written_together_sealed_and_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let jws = "eyJhbGciOiJFZERTQSJ9.eyJzZWNyZXQtcGF5bG9hZC1tYXJrZXIiOnRydWV9.c2ln";
    let traces = vec![json!({ "event": "START" }), json!({ "event": "COMPLETE" })];
    let outbox = Outbox::open(&path, sealer(), T0).await.unwrap();
    let id = outbox
        .enqueue_result(&result("j-1", "ses-1", jws, &traces), T0)
        .await
        .unwrap();
    // The same result again: nothing new.
    assert_eq!(
        outbox
            .enqueue_result(&result("j-1", "ses-1", jws, &traces), T0)
            .await
            .unwrap(),
        id
    );
    let s = outbox.status().await.unwrap();
    assert_eq!(
        (s.pending, s.in_flight, s.dead, s.acknowledged),
        (2, 0, 0, 0)
    );
    outbox.close().await;
    // Sealed at rest: the payload's text is nowhere in the files.
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(20).any(|w| w == &jws.as_bytes()[25..45]));
        assert!(!bytes.windows(8).any(|w| w == b"COMPLETE"));
    }
    let outbox = Outbox::open(&path, sealer(), T0).await.unwrap();
    let list = outbox.list(None, 10).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].kind, list[1].kind),
        (EntryKind::Result, EntryKind::Traces)
    );
    // Another key cannot read them.
    let other = Outbox::open(&path, Sealer::new([1; 32]), T0).await.unwrap();
    assert!(matches!(
        other.take_due(T0, 10).await,
        Err(OutboxError::Sealed { .. })
    ));
}

#[tokio::test]
async fn entries_move_pending_in_flight_acknowledged_or_dead_and_traces_wait_for_their_result() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("o.db"), sealer(), T0)
        .await
        .unwrap();
    let traces = vec![json!({ "event": "START" })];
    outbox
        .enqueue_result(&result("j-1", "ses-1", "a.b.c", &traces), T0)
        .await
        .unwrap();
    outbox
        .enqueue_result(&result("j-2", "ses-2", "d.e.f", &[]), T0)
        .await
        .unwrap();
    let due = outbox.take_due(T0, 10).await.unwrap();
    let keys: Vec<&str> = due.iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["j-1", "j-2"], "the traces wait for their result");
    assert_eq!(due[0].payload, b"a.b.c");
    assert!(
        outbox.take_due(T0, 10).await.unwrap().is_empty(),
        "in flight: not taken twice"
    );
    // j-1 delivered: its payload goes, its traces come due.
    outbox.acknowledge(due[0].id, T0 + 5).await.unwrap();
    let traces_due = outbox.take_due(T0 + 5, 10).await.unwrap();
    assert_eq!(traces_due.len(), 1);
    assert_eq!(traces_due[0].kind, EntryKind::Traces);
    let events: serde_json::Value = serde_json::from_slice(&traces_due[0].payload).unwrap();
    assert_eq!(events[0]["event"], "START");
    // j-2 failed: later; then refused for good, with the reason; staff retry it.
    outbox
        .retry_later(due[1].id, T0 + 5, T0 + 1_000, "HTTP 503")
        .await
        .unwrap();
    assert!(
        outbox
            .take_due(T0 + 999, 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != due[1].id)
    );
    let again = outbox.take_due(T0 + 1_000, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    outbox
        .mark_dead(
            again[0].id,
            T0 + 1_001,
            "403 SESSION_NOT_CLAIMED: this kiosk did not claim the session",
        )
        .await
        .unwrap();
    let dead = outbox.list(Some(EntryState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("SESSION_NOT_CLAIMED")
    );
    assert!(
        outbox
            .take_due(T0 + 10_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.id != dead[0].id)
    );
    outbox.retry(dead[0].id, T0 + 2_000).await.unwrap();
    assert!(matches!(
        outbox.retry(dead[0].id, T0).await,
        Err(OutboxError::NoEntry { .. })
    ));
    let s = outbox.status().await.unwrap();
    assert_eq!(
        (s.pending, s.in_flight, s.dead, s.acknowledged),
        (1, 1, 0, 1)
    );
    assert_eq!(s.last_successful_sync, Some(T0 + 5));
    assert_eq!(outbox.purge_acknowledged().await.unwrap(), 1);
    // A crash with entries in flight: they are sent again after the restart.
    let path = outbox.path().to_path_buf();
    outbox.close().await;
    let outbox = Outbox::open(&path, sealer(), T0 + 3_000).await.unwrap();
    let s = outbox.status().await.unwrap();
    assert_eq!((s.pending, s.in_flight), (2, 0));
}

#[tokio::test]
async fn a_damaged_outbox_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    std::fs::write(
        &path,
        b"this is not a database, but it may be all a kiosk has",
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Outbox::open(&path, sealer(), T0).await.unwrap_err();
    assert!(matches!(err, OutboxError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("move it aside"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "never overwritten");
    // A real outbox with its pages damaged.
    let path = dir.path().join("damaged.db");
    let outbox = Outbox::open(&path, sealer(), T0).await.unwrap();
    for i in 0..200 {
        let jti = format!("j-{i}");
        outbox
            .enqueue_result(&result(&jti, "s", &"x".repeat(2_000), &[]), T0)
            .await
            .unwrap();
    }
    outbox.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(4096).take(64 * 1024) {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Outbox::open(&path, sealer(), T0).await.unwrap_err();
    assert!(matches!(err, OutboxError::Corrupt { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[tokio::test]
async fn a_place_it_cannot_write_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A folder that cannot exist (its parent is a file): fails for any user, root included.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let err = Outbox::open(&file.join("outbox.db"), sealer(), T0)
        .await
        .unwrap_err();
    assert!(matches!(err, OutboxError::Open { .. }), "{err}");
    assert!(err.to_string().contains("cannot open the outbox"), "{err}");
}

#[tokio::test]
async fn the_retention_policy_deletes_only_old_unsent_entries_and_keeps_a_record() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(&dir.path().join("outbox.db"), sealer(), T0)
        .await
        .unwrap();
    let day = 86_400_000;
    // An old pending result (with traces), an old result refused for good, an old one in
    // flight, an old one delivered, and a recent one.
    for (i, at) in [(1, T0), (2, T0), (3, T0), (4, T0), (5, T0 + 9 * day)] {
        let jti = format!("jti-{i}");
        let sid = format!("ses-{i}");
        let traces = [json!({ "event": "COMPLETE" })];
        outbox
            .enqueue_result(&result(&jti, &sid, "a.b.c", &traces), at)
            .await
            .unwrap();
    }
    let due = outbox.take_due(T0 + 9 * day, 3).await.unwrap();
    assert_eq!(due.len(), 3);
    outbox
        .mark_dead(due[1].id, T0 + 9 * day, "401 KIOSK_DISABLED")
        .await
        .unwrap();
    outbox.acknowledge(due[2].id, T0 + 9 * day).await.unwrap();
    // due[0] (ses-1's result) stays in flight.

    let now = T0 + 10 * day;
    let expired = outbox
        .expire_unsent(now - 7 * day, now, "retention: 7 days")
        .await
        .unwrap();
    // Every old entry never delivered: the refused result, the pending one, and the trace
    // batches still waiting; not the result in flight, not the delivered one, not the recent.
    let mut kinds: Vec<_> = expired
        .iter()
        .map(|e| (e.session_id.as_str(), e.kind))
        .collect();
    kinds.sort_by_key(|k| (k.0, k.1 == EntryKind::Traces));
    assert_eq!(
        kinds,
        [
            ("ses-1", EntryKind::Traces),
            ("ses-2", EntryKind::Result),
            ("ses-2", EntryKind::Traces),
            ("ses-3", EntryKind::Traces),
            ("ses-4", EntryKind::Result),
            ("ses-4", EntryKind::Traces),
        ]
    );
    assert!(
        expired.iter().all(|e| e.state == EntryState::Expired
            && e.last_error.as_deref() == Some("retention: 7 days"))
    );
    // The record stays; the payload is gone.
    let status = outbox.status().await.unwrap();
    assert_eq!(status.expired, expired.len() as i64);
    let listed = outbox.list(Some(EntryState::Expired), 100).await.unwrap();
    assert_eq!(listed, expired);
    assert!(matches!(
        outbox.payload(expired[0].id).await,
        Err(OutboxError::NoEntry { .. })
    ));
    // The recent one is still there and still opens.
    let recent = outbox.list(Some(EntryState::Pending), 100).await.unwrap();
    assert!(recent.iter().any(|e| e.session_id == "ses-5"));
    // Nothing more to delete the second time.
    assert!(
        outbox
            .expire_unsent(now - 7 * day, now, "retention: 7 days")
            .await
            .unwrap()
            .is_empty()
    );
}
