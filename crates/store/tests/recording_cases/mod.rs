//! Recordings in the store suite: started, ended, listed per meeting, found in a state (start-up
//! recovery), deleted one by one, expired by age (never while in progress) and purged with their
//! meeting; planned rooms carry `record_on_connect`.

use convene_store::*;

use crate::common::*;

fn recording(m: MeetingId, at: Millis, by: Option<&str>) -> NewRecording {
    let public_id = next_public_id();
    NewRecording {
        dir: format!("rec-{public_id}"),
        public_id,
        meeting: m,
        started_at: at,
        started_by: by.map(str::to_owned),
        node_id: "n".into(),
    }
}

pub async fn recordings_start_end_and_list(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("rec", "n", 1_000))
        .await
        .expect("m");
    let other = store
        .create_meeting(&meeting("rec2", "n", 1_000))
        .await
        .expect("other");
    let first = recording(m, 1_100, Some("Ada"));
    let second = recording(m, 5_000, None);
    store.add_recording(&first).await.expect("first");
    store.add_recording(&second).await.expect("second");
    store
        .add_recording(&recording(other, 1_200, None))
        .await
        .expect("other's");
    // The same public id twice is a conflict; an unknown meeting is not found.
    let mut dup = recording(m, 1_300, None);
    dup.public_id = first.public_id.clone();
    assert!(matches!(
        store.add_recording(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_recording(&recording(MeetingId(999_999), 1, None))
            .await,
        Err(StoreError::NotFound(_))
    ));

    let end = RecordingEnd {
        state: RecordingRowState::Complete,
        ended_at: Some(4_100),
        bytes: 123_456,
        duration_ms: Some(3_000),
    };
    store
        .end_recording(&first.public_id, &end)
        .await
        .expect("end");
    assert!(matches!(
        store.end_recording("nope", &end).await,
        Err(StoreError::NotFound(_))
    ));
    let list = store.recordings(m).await.expect("list");
    assert_eq!(list.len(), 2, "only this meeting's, oldest first");
    assert_eq!(list[0].public_id, first.public_id);
    assert_eq!(
        (
            list[0].state,
            list[0].ended_at,
            list[0].bytes,
            list[0].duration_ms,
            list[0].started_by.as_deref()
        ),
        (
            RecordingRowState::Complete,
            Some(4_100),
            123_456,
            Some(3_000),
            Some("Ada")
        )
    );
    assert_eq!(list[0].dir, first.dir);
    assert_eq!(
        (list[1].state, list[1].ended_at, list[1].started_by.clone()),
        (RecordingRowState::Recording, None, None)
    );
    let got = store
        .recording(&second.public_id)
        .await
        .expect("get")
        .expect("found");
    assert_eq!(got, list[1]);
    let open = store
        .recordings_in_state(RecordingRowState::Recording)
        .await
        .expect("open");
    assert_eq!(open.len(), 2, "this meeting's second and the other's");
    assert!(open.iter().all(|r| r.state == RecordingRowState::Recording));
}

pub async fn recordings_are_deleted_expired_and_purged(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("rec", "n", 1_000))
        .await
        .expect("m");
    let other = store
        .create_meeting(&meeting("rec2", "n", 1_000))
        .await
        .expect("other");
    let a = recording(m, 1_100, None);
    let b = recording(m, 1_200, None);
    let running = recording(m, 1_300, None);
    let young = recording(m, 9_000, None);
    for r in [&a, &b, &running, &young] {
        store.add_recording(r).await.expect("add");
    }
    let done = |at| RecordingEnd {
        state: RecordingRowState::Interrupted,
        ended_at: Some(at),
        bytes: 1,
        duration_ms: None,
    };
    for r in [&a, &b, &young] {
        store
            .end_recording(&r.public_id, &done(9_500))
            .await
            .expect("end");
    }
    // Deleting goes by meeting: another meeting's id finds nothing.
    assert!(store
        .delete_recording(other, &a.public_id)
        .await
        .expect("delete")
        .is_none());
    let gone = store
        .delete_recording(m, &a.public_id)
        .await
        .expect("delete")
        .expect("deleted");
    assert_eq!(gone.public_id, a.public_id);
    assert!(store.recording(&a.public_id).await.expect("get").is_none());

    let expired = store.expire_recordings(5_000, None).await.expect("expire");
    assert_eq!(
        expired
            .iter()
            .map(|r| r.public_id.clone())
            .collect::<Vec<_>>(),
        vec![b.public_id.clone()],
        "old and ended only: the running one stays"
    );
    let left: Vec<String> = store
        .recordings(m)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.public_id)
        .collect();
    assert_eq!(
        left,
        vec![running.public_id.clone(), young.public_id.clone()]
    );

    store.end_meeting(m, 10_000).await.expect("end meeting");
    assert_eq!(
        store
            .purge_meetings_ended_before(20_000, None)
            .await
            .expect("purge"),
        1
    );
    assert!(store.recordings(m).await.expect("list").is_empty());
}

pub async fn planned_rooms_carry_record_on_connect(db: Db) {
    let store = db.connect().await;
    let owner = store
        .create_user(&crate::moderation_cases::owner_account())
        .await
        .expect("owner");
    let mut room = crate::moderation_cases::planned(owner, "recorded", 1_000);
    room.record_on_connect = true;
    room.id = store.create_planned_room(&room).await.expect("create");
    let got = store
        .planned_room("recorded")
        .await
        .expect("get")
        .expect("found");
    assert!(got.record_on_connect);
    room.record_on_connect = false;
    store.update_planned_room(&room).await.expect("update");
    let got = store
        .planned_room("recorded")
        .await
        .expect("get")
        .expect("found");
    assert!(!got.record_on_connect);
}

/// In a cluster each node deletes only the recordings on its own disk: by age, and a meeting past
/// its retention waits for every other node to have deleted its recordings.
pub async fn each_node_expires_and_purges_only_the_recordings_it_holds(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("spread", "a", 1_000))
        .await
        .expect("m");
    let on = |node: &str, at| NewRecording {
        node_id: node.into(),
        ..recording(m, at, None)
    };
    let (a, b) = (on("a", 1_100), on("b", 1_200));
    for r in [&a, &b] {
        store.add_recording(r).await.expect("add");
        let end = RecordingEnd {
            state: RecordingRowState::Complete,
            ended_at: Some(2_000),
            bytes: 1,
            duration_ms: Some(900),
        };
        store.end_recording(&r.public_id, &end).await.expect("end");
    }
    let ids = |v: Vec<RecordingRecord>| v.into_iter().map(|r| r.public_id).collect::<Vec<_>>();
    let gone = store.expire_recordings(5_000, Some("a")).await.expect("a");
    assert_eq!(ids(gone), vec![a.public_id.clone()], "node a's own only");
    assert_eq!(
        ids(store.recordings(m).await.expect("list")),
        vec![b.public_id.clone()]
    );

    store.end_meeting(m, 3_000).await.expect("end meeting");
    assert_eq!(
        store
            .purge_meetings_ended_before(9_000, Some("a"))
            .await
            .expect("purge by a"),
        0,
        "kept while node b holds a recording of it"
    );
    assert_eq!(store.recordings(m).await.expect("list").len(), 1);
    assert_eq!(
        store
            .purge_meetings_ended_before(9_000, Some("b"))
            .await
            .expect("purge by b"),
        1,
        "node b, which holds it, purges it whole"
    );
    assert!(store.meeting(m).await.expect("get").is_none());
    assert!(store.recordings(m).await.expect("list").is_empty());
}
