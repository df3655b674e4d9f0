//! Suite cases for the webhook outbox: events written with the records they describe, numbered
//! without gaps per meeting (also under concurrent writers), recovered rows' events, endpoints and
//! their progress, deliveries, and purging them with their meetings. Registered in store_suite.rs,
//! which runs each on SQLite and PostgreSQL.

use convene_store::*;

use crate::common::*;

async fn kinds(store: &SqlStore) -> Vec<(String, i64)> {
    store
        .events_after(0, 1000)
        .await
        .expect("events")
        .into_iter()
        .map(|e| (e.kind, e.seq))
        .collect()
}

pub async fn events_are_written_with_their_records(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("hooks", "n1", 1_000))
        .await
        .unwrap();
    let a = store
        .open_session(&session(m, "p_a", "Ada", "n1", 1_100))
        .await
        .unwrap();
    let b = store
        .open_session(&session(m, "p_b", "Bob", "n1", 1_200))
        .await
        .unwrap();
    store
        .close_session(a, 1_300, LeaveReason::Left)
        .await
        .unwrap();
    store
        .close_session(a, 1_350, LeaveReason::Left)
        .await
        .unwrap();
    let ban = NewBan {
        meeting: m,
        participant_id: "p_b".into(),
        user: None,
        identity: Some("crm-7".into()),
        display_name: "Bob".into(),
        created_at: 1_400,
    };
    store.add_ban(&ban).await.unwrap();
    store
        .close_session(b, 1_400, LeaveReason::Removed)
        .await
        .unwrap();
    let data = serde_json::json!({"participant_id": "p_b", "track_id": "t1"});
    store
        .append_event(m, "track_published", data, 1_250)
        .await
        .unwrap();
    store.end_meeting(m, 1_500).await.unwrap();
    store.end_meeting(m, 1_600).await.unwrap();
    let got = kinds(&store).await;
    let want = [
        "room_started",
        "participant_joined",
        "participant_joined",
        "participant_left",
        "participant_removed",
        "participant_left",
        "track_published",
        "room_finished",
    ];
    assert_eq!(
        got.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        want
    );
    let seqs: Vec<i64> = got.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>(), "gapless, once each");
    let events = store.events_after(0, 100).await.unwrap();
    let left: serde_json::Value = serde_json::from_str(&events[3].payload).unwrap();
    assert_eq!(left["reason"], "left");
    assert_eq!(left["display_name"], "Ada");
    assert!(events.iter().all(|e| e.room == "hooks" && e.meeting == m));
    let mut ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), events.len());
    assert_eq!(store.last_event().await.unwrap(), events[7].row);
    assert_eq!(
        store.events_after(events[5].row, 10).await.unwrap().len(),
        2
    );
    assert_eq!(
        store.event(events[0].row).await.unwrap().unwrap(),
        events[0]
    );
    let err = store
        .append_event(MeetingId(999_999), "x", serde_json::json!({}), 0)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

pub async fn concurrent_events_are_gapless_per_meeting(db: Db) {
    let store = db.connect().await;
    let m1 = store.create_meeting(&meeting("c1", "n1", 1)).await.unwrap();
    let m2 = store.create_meeting(&meeting("c2", "n1", 1)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let s = db.connect().await;
        let m = if i % 2 == 0 { m1 } else { m2 };
        tasks.push(tokio::spawn(async move {
            s.open_session(&session(m, &format!("p{i}"), "X", "n1", 10 + i))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for m in [m1, m2] {
        let mut seqs: Vec<i64> = store
            .events_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.meeting == m)
            .map(|e| e.seq)
            .collect();
        seqs.sort();
        assert_eq!(seqs, (1..=11).collect::<Vec<_>>());
    }
}

pub async fn a_recovery_writes_the_events_of_what_it_closed(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("crash", "n9", 1_000))
        .await
        .unwrap();
    store
        .open_session(&session(m, "p_a", "Ada", "n9", 1_100))
        .await
        .unwrap();
    store.heartbeat("n9", 2_000).await.unwrap();
    store.recover("n9").await.unwrap();
    let events = store.events_after(0, 100).await.unwrap();
    let got: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        got,
        [
            "room_started",
            "participant_joined",
            "participant_left",
            "room_finished"
        ]
    );
    let left: serde_json::Value = serde_json::from_str(&events[2].payload).unwrap();
    assert_eq!(
        (left["reason"].as_str(), left["left_at"].as_i64()),
        (Some("server_restart"), Some(2_000))
    );
}

fn endpoint(id: &str, cursor: i64) -> WebhookRecord {
    WebhookRecord {
        id: id.into(),
        url: "https://hooks.example.org/in".into(),
        secret: "s3cret".into(),
        events: vec!["room_started".into(), "participant_joined".into()],
        from_config: false,
        created_at: 5,
        revoked_at: None,
        progress: WebhookProgress {
            cursor,
            ..Default::default()
        },
    }
}

pub async fn webhook_endpoints_progress_and_deliveries(db: Db) {
    let store = db.connect().await;
    let m = store.create_meeting(&meeting("wh", "n1", 1)).await.unwrap();
    let row = store.last_event().await.unwrap();
    store.put_webhook(&endpoint("wh_1", row)).await.unwrap();
    let mut again = endpoint("wh_1", 0);
    again.url = "https://hooks.example.org/v2".into();
    again.from_config = true;
    store.put_webhook(&again).await.unwrap();
    let got = store.webhook("wh_1").await.unwrap().unwrap();
    assert_eq!(
        got.url, "https://hooks.example.org/v2",
        "a put takes the new url"
    );
    assert_eq!(
        got.progress.cursor, row,
        "and keeps its place in the outbox"
    );
    assert_eq!(got.events, ["room_started", "participant_joined"]);
    let p = WebhookProgress {
        cursor: row,
        attempts: 3,
        next_attempt_at: 99,
        first_failed_at: Some(50),
    };
    store.set_webhook_progress("wh_1", &p).await.unwrap();
    assert_eq!(store.webhook("wh_1").await.unwrap().unwrap().progress, p);
    for (i, ok) in [(1, false), (2, true)] {
        let d = NewDelivery {
            endpoint: "wh_1".into(),
            event_row: row,
            at: 100 + i,
            attempt: i,
            status: ok.then_some(200),
            error: (!ok).then(|| "connection refused".into()),
            ok,
        };
        store.record_delivery(&d).await.unwrap();
    }
    let ds = store.deliveries("wh_1", 10).await.unwrap();
    assert_eq!(ds.len(), 2);
    assert!(ds[0].delivery.ok && !ds[1].delivery.ok, "newest first");
    assert_eq!(ds[0].kind, "room_started");
    assert_eq!(store.delivery(ds[1].id).await.unwrap().unwrap(), ds[1]);
    assert!(store.revoke_webhook("wh_1", 7).await.unwrap());
    assert!(!store.revoke_webhook("wh_1", 8).await.unwrap());
    assert_eq!(store.webhooks().await.unwrap()[0].revoked_at, Some(7));
    // Purging the meeting takes its events and their deliveries along.
    store.end_meeting(m, 10).await.unwrap();
    assert_eq!(
        store
            .purge_meetings_ended_before(1_000, None)
            .await
            .unwrap(),
        1
    );
    assert!(store.events_after(0, 10).await.unwrap().is_empty());
    assert!(store.deliveries("wh_1", 10).await.unwrap().is_empty());
}

/// Nodes on one database take turns with an endpoint: a hold excludes the others until it runs
/// out, its holder alone stores progress, and of holders racing for a free endpoint exactly one
/// gets it.
pub async fn one_node_at_a_time_holds_a_webhook_endpoint(db: Db) {
    let store = db.connect().await;
    store.put_webhook(&endpoint("wh_h", 0)).await.unwrap();
    let held = store.hold_webhook("wh_h", "a", 1_000, 2_000).await.unwrap();
    assert_eq!(held.expect("free: a holds it").id, "wh_h");
    assert!(store
        .hold_webhook("wh_h", "b", 1_500, 2_500)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .hold_webhook("wh_h", "a", 1_500, 2_500)
            .await
            .unwrap()
            .is_some(),
        "its holder renews it"
    );
    let p = WebhookProgress {
        cursor: 4,
        ..Default::default()
    };
    assert!(!store
        .set_held_webhook_progress("wh_h", "b", &p, 3_000)
        .await
        .unwrap());
    assert!(store
        .set_held_webhook_progress("wh_h", "a", &p, 3_000)
        .await
        .unwrap());
    assert!(
        store
            .hold_webhook("wh_h", "b", 2_999, 4_000)
            .await
            .unwrap()
            .is_none(),
        "the progress extended the hold"
    );
    let taken = store.hold_webhook("wh_h", "b", 3_000, 4_000).await.unwrap();
    assert_eq!(
        taken.expect("run out: b takes over").progress.cursor,
        4,
        "with the progress a stored"
    );
    assert!(!store
        .set_held_webhook_progress("wh_h", "a", &p, 5_000)
        .await
        .unwrap());
    store.revoke_webhook("wh_h", 4_500).await.unwrap();
    assert!(store
        .hold_webhook("wh_h", "b", 9_000, 9_500)
        .await
        .unwrap()
        .is_none());
    for round in 0..10i64 {
        let id = format!("wh_race{round}");
        store.put_webhook(&endpoint(&id, 0)).await.unwrap();
        let tries = ["n1", "n2", "n3", "n4"].map(|node| {
            let (store, id) = (store.clone(), id.clone());
            tokio::spawn(async move { store.hold_webhook(&id, node, 100, 200).await.unwrap() })
        });
        let mut won = 0;
        for t in tries {
            won += usize::from(t.await.unwrap().is_some());
        }
        assert_eq!(won, 1, "round {round}");
    }
}
