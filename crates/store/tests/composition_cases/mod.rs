//! Compositions in the store suite: queued, moved by progress, finished once, deleted from their
//! meeting only, failed at their node's restart, purged with their meeting.

use convene_store::*;

use crate::common::*;

fn asked(m: MeetingId, node: &str, at: Millis) -> NewComposition {
    NewComposition {
        public_id: next_public_id(),
        meeting: m,
        recording: "rec-1".into(),
        node_id: node.into(),
        created_at: at,
    }
}

fn file() -> ComposedFile {
    ComposedFile {
        file_name: "meeting.mp4".into(),
        blob_key: "b".repeat(32),
        bytes: 12_345,
        duration_ms: 61_000,
    }
}

pub async fn compositions_queue_run_and_finish_once(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("c", "n", 1_000))
        .await
        .expect("m");
    let c = store
        .add_composition(&asked(m, "n", 2_000))
        .await
        .expect("add");
    assert_eq!(
        (c.state, c.progress, c.file.clone()),
        (CompositionState::Queued, 0, None)
    );
    assert!(store
        .composition_progress(c.id, 40)
        .await
        .expect("progress"));
    // Progress is bounded to 0-100, whatever the caller computed.
    assert!(store
        .composition_progress(c.id, 400)
        .await
        .expect("progress"));
    let got = store
        .composition(&c.public_id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!((got.state, got.progress), (CompositionState::Running, 100));
    let done = CompositionOutcome::Done(file());
    assert!(store
        .finish_composition(c.id, &done, 3_000)
        .await
        .expect("finish"));
    // A finished composition neither moves nor finishes again.
    assert!(!store
        .composition_progress(c.id, 10)
        .await
        .expect("progress"));
    let failed = CompositionOutcome::Failed("late".into());
    assert!(!store
        .finish_composition(c.id, &failed, 4_000)
        .await
        .expect("again"));
    let got = store
        .composition(&c.public_id)
        .await
        .expect("get")
        .expect("there");
    assert_eq!(got.state, CompositionState::Done);
    assert_eq!(got.file, Some(file()));
    assert_eq!(
        (got.progress, got.finished_at, got.error),
        (100, Some(3_000), None)
    );

    let other = store
        .add_composition(&asked(m, "n", 5_000))
        .await
        .expect("add");
    let failed = CompositionOutcome::Failed("ffmpeg exited with 1".into());
    assert!(store
        .finish_composition(other.id, &failed, 6_000)
        .await
        .expect("fail"));
    let list = store.compositions(m, 10).await.expect("list");
    assert_eq!(
        list.iter()
            .map(|c| (c.public_id.as_str(), c.state))
            .collect::<Vec<_>>(),
        vec![
            (c.public_id.as_str(), CompositionState::Done),
            (other.public_id.as_str(), CompositionState::Failed)
        ]
    );
    assert_eq!(list[1].error.as_deref(), Some("ffmpeg exited with 1"));
    assert_eq!(store.compositions(m, 1).await.expect("limit").len(), 1);
}

pub async fn a_composition_is_deleted_from_its_meeting_only(db: Db) {
    let store = db.connect().await;
    let a = store
        .create_meeting(&meeting("a", "n", 1_000))
        .await
        .expect("a");
    let b = store
        .create_meeting(&meeting("b", "n", 1_000))
        .await
        .expect("b");
    let c = store
        .add_composition(&asked(a, "n", 2_000))
        .await
        .expect("add");
    assert!(store
        .delete_composition(b, &c.public_id)
        .await
        .expect("del")
        .is_none());
    let gone = store
        .delete_composition(a, &c.public_id)
        .await
        .expect("del");
    assert_eq!(gone.map(|g| g.id), Some(c.id));
    assert!(store
        .composition(&c.public_id)
        .await
        .expect("get")
        .is_none());
    // One deleted while it ran is not brought back by its last progress or its end.
    assert!(!store
        .composition_progress(c.id, 50)
        .await
        .expect("progress"));
    let done = CompositionOutcome::Done(file());
    assert!(!store
        .finish_composition(c.id, &done, 3_000)
        .await
        .expect("finish"));
}

pub async fn a_restart_fails_its_own_unfinished_compositions(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("r", "n1", 1_000))
        .await
        .expect("m");
    let queued = store
        .add_composition(&asked(m, "n1", 2_000))
        .await
        .expect("q");
    let running = store
        .add_composition(&asked(m, "n1", 2_000))
        .await
        .expect("r");
    store.composition_progress(running.id, 30).await.expect("p");
    let finished = store
        .add_composition(&asked(m, "n1", 2_000))
        .await
        .expect("f");
    let done = CompositionOutcome::Done(file());
    store
        .finish_composition(finished.id, &done, 2_500)
        .await
        .expect("done");
    let elsewhere = store
        .add_composition(&asked(m, "n2", 2_000))
        .await
        .expect("e");
    let n = store
        .fail_unfinished_compositions("n1", "the server restarted", 9_000)
        .await
        .expect("recover");
    assert_eq!(n, 2);
    let state = |id: String| {
        let store = &store;
        async move {
            store
                .composition(&id)
                .await
                .expect("get")
                .expect("there")
                .state
        }
    };
    assert_eq!(state(queued.public_id).await, CompositionState::Failed);
    assert_eq!(state(running.public_id).await, CompositionState::Failed);
    assert_eq!(state(finished.public_id).await, CompositionState::Done);
    assert_eq!(state(elsewhere.public_id).await, CompositionState::Queued);
}

pub async fn compositions_expire_with_their_meeting(db: Db) {
    let store = db.connect().await;
    let old = store
        .create_meeting(&meeting("e", "n", 1_000))
        .await
        .expect("old");
    let live = store
        .create_meeting(&meeting("e", "n", 1_000))
        .await
        .expect("live");
    let recent = store
        .create_meeting(&meeting("e", "n", 1_000))
        .await
        .expect("recent");
    let gone = store
        .add_composition(&asked(old, "n", 1_100))
        .await
        .expect("add");
    let kept = store
        .add_composition(&asked(live, "n", 1_100))
        .await
        .expect("add");
    let kept_too = store
        .add_composition(&asked(recent, "n", 1_100))
        .await
        .expect("add");
    store.end_meeting(old, 1_400).await.expect("end");
    store.end_meeting(recent, 5_000).await.expect("end");
    let expired = store.expire_compositions(2_000).await.expect("expire");
    assert_eq!(
        expired.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![gone.id]
    );
    for c in [kept, kept_too] {
        assert!(store
            .composition(&c.public_id)
            .await
            .expect("get")
            .is_some());
    }
}

pub async fn compositions_are_purged_with_their_meeting(db: Db) {
    let store = db.connect().await;
    let old = store
        .create_meeting(&meeting("p", "n", 1_000))
        .await
        .expect("m");
    let c = store
        .add_composition(&asked(old, "n", 1_100))
        .await
        .expect("add");
    store.end_meeting(old, 1_400).await.expect("end");
    assert_eq!(
        store
            .purge_meetings_ended_before(2_000, None)
            .await
            .expect("purge"),
        1
    );
    assert!(store
        .composition(&c.public_id)
        .await
        .expect("get")
        .is_none());
}
