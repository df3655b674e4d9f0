//! Shared files in the store suite: recorded with their sharer, bounded by the meeting's quota
//! (also under concurrent uploads), deleted one by one, expired and purged with their meeting.

use convene_store::*;

use crate::common::*;

fn file(m: MeetingId, s: SessionId, size: i64, at: Millis) -> NewFile {
    NewFile {
        public_id: next_public_id(),
        meeting: m,
        session: s,
        name: "notes.pdf".into(),
        content_type: "application/pdf".into(),
        size,
        sha256: "ab".repeat(32),
        blob_key: format!("blob-{}", next_public_id()),
        preview_key: None,
        width: None,
        height: None,
        created_at: at,
    }
}

fn stored(r: FileInsert) -> FileRecord {
    match r {
        FileInsert::Stored(f) => *f,
        other => panic!("expected stored, got {other:?}"),
    }
}

pub async fn files_are_recorded_with_their_sharer(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("f", "n", 1_000))
        .await
        .expect("m");
    let s = store
        .open_session(&session(m, "p_ada", "Ada", "n", 1_000))
        .await
        .expect("s");
    let mut image = file(m, s, 300, 1_100);
    image.name = "cat.png".into();
    image.content_type = "image/png".into();
    image.preview_key = Some("prev-1".into());
    image.width = Some(640);
    image.height = Some(480);
    let a = stored(store.add_file(&image, 1_000).await.expect("add"));
    // Its webhook event is written with it.
    let ev = store
        .events_after(0, 100)
        .await
        .expect("events")
        .pop()
        .expect("an event");
    assert_eq!(ev.kind, "file_shared");
    let data: serde_json::Value = serde_json::from_str(&ev.payload).expect("json");
    assert_eq!(
        (data["name"].as_str(), data["size"].as_i64()),
        (Some("cat.png"), Some(300))
    );
    assert_eq!(a.participant_id, "p_ada");
    assert_eq!(a.display_name, "Ada");
    assert_eq!((a.width, a.height), (Some(640), Some(480)));
    let b = stored(
        store
            .add_file(&file(m, s, 200, 1_200), 1_000)
            .await
            .expect("add"),
    );
    assert_eq!(
        store.file(&a.public_id).await.expect("get"),
        Some(a.clone())
    );
    assert_eq!(store.file("nope").await.expect("get"), None);
    let all = store.files(m, 10).await.expect("list");
    assert_eq!(all, vec![a.clone(), b.clone()], "in the order shared");
    assert_eq!(store.files(m, 1).await.expect("list"), vec![a]);
    assert_eq!(store.file_bytes(m).await.expect("bytes"), 500);

    // Another meeting's session does not share into this one; an unknown meeting is not found.
    let other = store
        .create_meeting(&meeting("g", "n", 1_000))
        .await
        .expect("m2");
    let stranger = store
        .open_session(&session(other, "p_eve", "Eve", "n", 1_000))
        .await
        .expect("s2");
    let e = store.add_file(&file(m, stranger, 1, 1_300), 1_000).await;
    assert!(matches!(e, Err(StoreError::NotFound(_))), "{e:?}");
    let e = store
        .add_file(&file(MeetingId(999_999), s, 1, 1_300), 1_000)
        .await;
    assert!(matches!(e, Err(StoreError::NotFound(_))), "{e:?}");
}

pub async fn a_meeting_over_its_quota_refuses_the_next_file(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("q", "n", 1_000))
        .await
        .expect("m");
    let s = store
        .open_session(&session(m, "p1", "Ada", "n", 1_000))
        .await
        .expect("s");
    stored(
        store
            .add_file(&file(m, s, 600, 1_100), 1_000)
            .await
            .expect("first"),
    );
    stored(
        store
            .add_file(&file(m, s, 400, 1_200), 1_000)
            .await
            .expect("up to the quota"),
    );
    assert_eq!(
        store
            .add_file(&file(m, s, 1, 1_300), 1_000)
            .await
            .expect("over"),
        FileInsert::OverQuota { used: 1_000 }
    );
    assert_eq!(
        store.files(m, 10).await.expect("list").len(),
        2,
        "nothing recorded"
    );
}

pub async fn concurrent_files_cannot_both_pass_the_quota(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("c", "n", 1_000))
        .await
        .expect("m");
    let s = store
        .open_session(&session(m, "p1", "Ada", "n", 1_000))
        .await
        .expect("s");
    let uploads: Vec<_> = (0..6)
        .map(|i| {
            let store = store.clone();
            let f = file(m, s, 300, 1_000 + i);
            tokio::spawn(async move { store.add_file(&f, 1_000).await })
        })
        .collect();
    let mut kept = 0;
    for u in uploads {
        match u.await.expect("task").expect("add") {
            FileInsert::Stored(_) => kept += 1,
            FileInsert::OverQuota { .. } => {}
        }
    }
    assert_eq!(kept, 3, "300 bytes each under a quota of 1000");
    assert_eq!(store.file_bytes(m).await.expect("bytes"), 900);
}

pub async fn a_file_is_deleted_from_its_meeting_only(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("d", "n", 1_000))
        .await
        .expect("m");
    let other = store
        .create_meeting(&meeting("e", "n", 1_000))
        .await
        .expect("m2");
    let s = store
        .open_session(&session(m, "p1", "Ada", "n", 1_000))
        .await
        .expect("s");
    let f = stored(
        store
            .add_file(&file(m, s, 10, 1_100), 100)
            .await
            .expect("add"),
    );
    assert_eq!(
        store.delete_file(other, &f.public_id).await.expect("other"),
        None,
        "not through another meeting"
    );
    assert_eq!(
        store.delete_file(m, &f.public_id).await.expect("delete"),
        Some(f.clone())
    );
    assert_eq!(store.file(&f.public_id).await.expect("get"), None);
    assert_eq!(
        store.delete_file(m, &f.public_id).await.expect("again"),
        None
    );
    assert_eq!(
        store.file_bytes(m).await.expect("bytes"),
        0,
        "the quota is freed"
    );
}

pub async fn files_expire_by_age_and_with_their_meeting(db: Db) {
    let store = db.connect().await;
    let ended = store
        .create_meeting(&meeting("x", "n", 1_000))
        .await
        .expect("m");
    let s1 = store
        .open_session(&session(ended, "p1", "Ada", "n", 1_000))
        .await
        .expect("s1");
    let gone_with_meeting = stored(
        store
            .add_file(&file(ended, s1, 1, 9_000), 100)
            .await
            .unwrap(),
    );
    store
        .close_session(s1, 9_500, LeaveReason::Left)
        .await
        .unwrap();
    store.end_meeting(ended, 9_600).await.expect("end");
    let open = store
        .create_meeting(&meeting("y", "n", 1_000))
        .await
        .expect("m2");
    let s2 = store
        .open_session(&session(open, "p2", "Bob", "n", 1_000))
        .await
        .expect("s2");
    let old = stored(
        store
            .add_file(&file(open, s2, 1, 2_000), 100)
            .await
            .unwrap(),
    );
    let new = stored(
        store
            .add_file(&file(open, s2, 1, 20_000), 100)
            .await
            .unwrap(),
    );

    let mut gone = store.expire_files(10_000, 5_000).await.expect("expire");
    gone.sort_by_key(|f| f.id);
    let mut want = vec![gone_with_meeting, old];
    want.sort_by_key(|f| f.id);
    assert_eq!(
        gone, want,
        "the ended meeting's file and the old one, with their blob keys"
    );
    assert_eq!(store.files(open, 10).await.unwrap(), vec![new.clone()]);
    assert!(store.expire_files(10_000, 5_000).await.unwrap().is_empty());

    // A purge takes the rows of a meeting's files along with the meeting.
    store
        .close_session(s2, 21_000, LeaveReason::Left)
        .await
        .unwrap();
    store.end_meeting(open, 21_000).await.unwrap();
    assert_eq!(
        store
            .purge_meetings_ended_before(30_000, None)
            .await
            .expect("purge"),
        2
    );
    assert_eq!(store.file(&new.public_id).await.unwrap(), None);
}
