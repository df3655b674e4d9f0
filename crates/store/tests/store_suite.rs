//! One suite, written once, run against SQLite (a temp file) and PostgreSQL (when
//! `CONVENE_TEST_POSTGRES_URL` is set; each test gets its own schema so parallel runs never collide).

mod blob_cases;
mod common;
mod composition_cases;
mod files_cases;
mod migration_cases;
mod moderation_cases;
mod recording_cases;
mod webhook_cases;

use blob_cases::*;
use common::*;
use composition_cases::*;
use convene_store::*;
use files_cases::*;
use migration_cases::*;
use moderation_cases::*;
use recording_cases::*;
use webhook_cases::*;

/// Generates `sqlite::<test>` and `postgres::<test>` for each suite function.
macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::on_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::on_postgres(stringify!($name), super::$name).await;
                }
            )*
        }
    };
}

suite!(
    migrations_are_idempotent,
    concurrent_migrations,
    an_old_runners_database_is_adopted_without_running_anything,
    a_new_database_runs_every_script,
    meetings_create_get_list_end,
    sessions_open_close,
    chat_append_and_history,
    chat_concurrent_appends_are_gapless,
    heartbeat_and_recover,
    a_lost_nodes_records_close_as_node_lost_up_to_its_last_heartbeat,
    recovery_never_ends_a_session_before_its_last_chat,
    reopen_an_interrupted_meeting,
    secrets_are_made_once_and_shared,
    accounts_are_unique_by_email,
    sessions_live_until_revoked_expired_or_disabled,
    a_password_change_revokes_every_session,
    planned_rooms_with_invitations,
    who_may_read_which_meetings,
    api_keys_live_until_revoked,
    old_records_are_purged_whole,
    writes_survive_reopen,
    an_older_database_migrates_with_its_records,
    planned_rooms_carry_lobby_timeout_and_co_hosts,
    bans_belong_to_their_meeting,
    moderation_log_in_order_with_limit,
    purge_takes_bans_and_audit_along,
    files_are_recorded_with_their_sharer,
    a_meeting_over_its_quota_refuses_the_next_file,
    concurrent_files_cannot_both_pass_the_quota,
    a_file_is_deleted_from_its_meeting_only,
    files_expire_by_age_and_with_their_meeting,
    events_are_written_with_their_records,
    concurrent_events_are_gapless_per_meeting,
    a_recovery_writes_the_events_of_what_it_closed,
    webhook_endpoints_progress_and_deliveries,
    one_node_at_a_time_holds_a_webhook_endpoint,
    recordings_start_end_and_list,
    recordings_are_deleted_expired_and_purged,
    planned_rooms_carry_record_on_connect,
    compositions_queue_run_and_finish_once,
    a_composition_is_deleted_from_its_meeting_only,
    a_restart_fails_its_own_unfinished_compositions,
    compositions_are_purged_with_their_meeting,
    compositions_expire_with_their_meeting,
    blobs_are_seen_once_committed_and_go_whole,
    each_node_expires_and_purges_only_the_recordings_it_holds,
);

/// The newest schema migration this build knows.
const LATEST: i64 = 16;

/// How many migrations this build has (one script per version and database).
fn migration_count() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite");
    std::fs::read_dir(dir).expect("migrations").count() as i64
}

// ---- the suite ----

async fn migrations_are_idempotent(db: Db) {
    let first = db.connect().await;
    assert_eq!(first.schema_version().await.expect("version"), LATEST);
    let id = first
        .create_meeting(&meeting("lobby", "n1", 1_000))
        .await
        .expect("create");
    first.close().await;

    // A restart runs the migrator again: nothing re-applied, nothing lost.
    let second = db.connect().await;
    assert_eq!(second.schema_version().await.expect("version"), LATEST);
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(second.pool())
            .await
            .expect("count");
    assert_eq!(applied, migration_count());
    assert!(second.meeting(id).await.expect("get").is_some());
    second.ping().await.expect("ping");
}

async fn concurrent_migrations(db: Db) {
    // Two servers starting at once against a fresh database.
    let (a, b, c) = tokio::join!(db.connect(), db.connect(), db.connect());
    for store in [&a, &b, &c] {
        assert_eq!(store.schema_version().await.expect("version"), LATEST);
    }
    let applied: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(a.pool())
            .await
            .expect("count");
    assert_eq!(applied, migration_count());
}

async fn meetings_create_get_list_end(db: Db) {
    let store = db.connect().await;
    let first = meeting("alpha", "n1", 1_000);
    let m1 = store.create_meeting(&first).await.expect("m1");
    let mut anonymous = meeting("beta", "n1", 2_000);
    anonymous.creator = None;
    let m2 = store.create_meeting(&anonymous).await.expect("m2");
    let m3 = store
        .create_meeting(&meeting("alpha", "n2", 3_000))
        .await
        .expect("m3");

    let got = store.meeting(m1).await.expect("get").expect("m1 exists");
    assert_eq!(
        got,
        MeetingRecord {
            id: m1,
            room: "alpha".into(),
            creator: Some("Ada".into()),
            created_at: 1_000,
            started_at: Some(1_000),
            ended_at: None,
            max_participants: 50,
            settings_json: r#"{"locked":false}"#.into(),
            node_id: "n1".into(),
            last_seen_at: 1_000,
            public_id: first.public_id.clone(),
        }
    );
    let by_public = store
        .meeting_by_public_id(&first.public_id)
        .await
        .expect("get");
    assert_eq!(by_public.map(|m| m.id), Some(m1));
    assert!(store
        .meeting_by_public_id("nope")
        .await
        .expect("get")
        .is_none());
    let got2 = store.meeting(m2).await.expect("get").expect("m2 exists");
    assert_eq!(got2.creator, None);
    assert!(store
        .meeting(MeetingId(999_999))
        .await
        .expect("get")
        .is_none());

    let ids = |v: Vec<MeetingRecord>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.meetings(None, 10).await.expect("list")),
        [m3, m2, m1]
    );
    assert_eq!(ids(store.meetings(None, 2).await.expect("list")), [m3, m2]);
    assert_eq!(
        ids(store.meetings(Some("alpha"), 10).await.expect("list")),
        [m3, m1]
    );
    assert!(store
        .meetings(Some("nope"), 10)
        .await
        .expect("list")
        .is_empty());
    assert!(store.meetings(None, -1).await.expect("list").is_empty());

    store.end_meeting(m1, 5_000).await.expect("end");
    store
        .end_meeting(m1, 9_000)
        .await
        .expect("end again is a no-op");
    let ended = store.meeting(m1).await.expect("get").expect("m1");
    assert_eq!(ended.ended_at, Some(5_000));
    assert_eq!(
        store.meeting(m3).await.expect("get").expect("m3").ended_at,
        None
    );
}

async fn sessions_open_close(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("room", "n1", 1_000))
        .await
        .expect("meeting");

    // The users table exists for accounts; a session may reference a user.
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (name, display_name, password_hash, created_at) \
         VALUES ($1, $2, NULL, $3) RETURNING id",
    )
    .bind("ada")
    .bind("Ada L.")
    .bind(500_i64)
    .fetch_one(store.pool())
    .await
    .expect("insert user");

    let mut with_user = session(m, "p-1", "Ada", "n1", 1_100);
    with_user.user = Some(UserId(user));
    with_user.role = "host".into();
    with_user.identity = Some("crm-user-7".into());
    let s1 = store.open_session(&with_user).await.expect("s1");
    let s2 = store
        .open_session(&session(m, "p-2", "Bob", "n1", 1_200))
        .await
        .expect("s2");

    let all = store.sessions(m).await.expect("sessions");
    assert_eq!(all.iter().map(|s| s.id).collect::<Vec<_>>(), [s1, s2]);
    assert_eq!(
        all[0],
        SessionRecord {
            id: s1,
            meeting: m,
            participant_id: "p-1".into(),
            display_name: "Ada".into(),
            user: Some(UserId(user)),
            role: "host".into(),
            joined_at: 1_100,
            left_at: None,
            leave_reason: None,
            last_seen_at: 1_100,
            identity: Some("crm-user-7".into()),
            host_muted: "[]".into(),
        }
    );
    assert_eq!(all[1].identity, None);

    store
        .close_session(s2, 2_000, LeaveReason::Left)
        .await
        .expect("close");
    store
        .close_session(s2, 3_000, LeaveReason::Removed)
        .await
        .expect("second close is a no-op");
    let closed = session_by_id(&store, m, s2).await;
    assert_eq!(closed.left_at, Some(2_000));
    assert_eq!(closed.leave_reason, Some(LeaveReason::Left));

    store.set_session_role(s2, "cohost").await.expect("role");
    store
        .set_session_display_name(s1, "Ada Lovelace")
        .await
        .expect("rename");
    assert_eq!(session_by_id(&store, m, s2).await.role, "cohost");
    assert_eq!(
        session_by_id(&store, m, s1).await.display_name,
        "Ada Lovelace"
    );
    assert!(matches!(
        store.set_session_role(SessionId(999_999), "host").await,
        Err(StoreError::NotFound(_))
    ));
    // What a host set, kept for a restore: a session's host mutes, the meeting's settings.
    store
        .set_session_host_muted(s2, r#"["microphone"]"#)
        .await
        .expect("host muted");
    assert_eq!(
        session_by_id(&store, m, s2).await.host_muted,
        r#"["microphone"]"#
    );
    assert_eq!(session_by_id(&store, m, s1).await.host_muted, "[]");
    store
        .set_meeting_settings(m, r#"{"locked":true,"lobby":false}"#)
        .await
        .expect("settings");
    let meeting = store.meeting(m).await.expect("get").expect("the meeting");
    assert_eq!(meeting.settings_json, r#"{"locked":true,"lobby":false}"#);
    assert!(matches!(
        store.set_session_host_muted(SessionId(999_999), "[]").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.set_meeting_settings(MeetingId(999_999), "{}").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .set_session_display_name(SessionId(999_999), "x")
            .await,
        Err(StoreError::NotFound(_))
    ));

    // Foreign keys are enforced: no session for a meeting that does not exist.
    let orphan = store
        .open_session(&session(MeetingId(999_999), "p-x", "X", "n1", 1_000))
        .await;
    assert!(matches!(orphan, Err(StoreError::Database(_))), "{orphan:?}");
}

async fn chat_append_and_history(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("room", "n1", 1_000))
        .await
        .expect("meeting");
    let ada = store
        .open_session(&session(m, "p-ada", "Ada", "n1", 1_000))
        .await
        .expect("ada");
    let bob = store
        .open_session(&session(m, "p-bob", "Bob", "n1", 1_000))
        .await
        .expect("bob");

    let first = say(&store, m, ada, "hello", 1_001).await;
    assert_eq!(first.seq, 1);
    assert_eq!(first.meeting, m);
    assert_eq!(first.session, ada);
    assert_eq!(first.participant_id, "p-ada");
    assert_eq!(first.display_name, "Ada");
    assert_eq!(first.text, "hello");
    assert_eq!(first.sent_at, 1_001);

    let mut sent = vec![first];
    for i in 2..=5 {
        let who = if i % 2 == 0 { bob } else { ada };
        sent.push(say(&store, m, who, &format!("msg {i}"), 1_000 + i).await);
    }
    assert_eq!(
        sent.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );

    // The last N, oldest first, with the sender's names.
    let last3 = store.chat_history(m, 3).await.expect("history");
    assert_eq!(last3, sent[2..].to_vec());
    assert_eq!(last3[0].display_name, "Ada");
    assert_eq!(last3[1].participant_id, "p-bob");
    assert_eq!(store.chat_history(m, 100).await.expect("history"), sent);
    assert!(store.chat_history(m, 0).await.expect("history").is_empty());

    // Sequences are per meeting.
    let other = store
        .create_meeting(&meeting("other", "n1", 1_000))
        .await
        .expect("other");
    let carol = store
        .open_session(&session(other, "p-carol", "Carol", "n1", 1_000))
        .await
        .expect("carol");
    assert_eq!(say(&store, other, carol, "hi", 2_000).await.seq, 1);
    assert_eq!(say(&store, m, ada, "again", 2_000).await.seq, 6);

    // A sender must be a session of that meeting, and the meeting must exist.
    let wrong = store
        .append_chat(&NewChatMessage {
            meeting: m,
            session: carol,
            text: "x".into(),
            sent_at: 0,
        })
        .await;
    assert!(matches!(wrong, Err(StoreError::NotFound(_))), "{wrong:?}");
    let missing = store
        .append_chat(&NewChatMessage {
            meeting: MeetingId(999_999),
            session: ada,
            text: "x".into(),
            sent_at: 0,
        })
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(store.chat_history(m, 100).await.expect("history").len(), 6);
}

async fn chat_concurrent_appends_are_gapless(db: Db) {
    const TASKS: i64 = 8;
    const PER_TASK: i64 = 15;
    // Two pools stand in for two server processes sharing the database.
    let stores = [db.connect().await, db.connect().await];
    let m = stores[0]
        .create_meeting(&meeting("busy", "n1", 1_000))
        .await
        .expect("meeting");
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = stores[(t % 2) as usize].clone();
        let s = store
            .open_session(&session(
                m,
                &format!("p-{t}"),
                &format!("User {t}"),
                "n1",
                1_000,
            ))
            .await
            .expect("session");
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..PER_TASK {
                seqs.push(say(&store, m, s, &format!("{t}/{i}"), 2_000 + i).await.seq);
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for h in handles {
        let mine = h.await.expect("task");
        // Each writer's own messages are ordered.
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        seqs.extend(mine);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=TASKS * PER_TASK).collect::<Vec<_>>());

    let history = stores[1]
        .chat_history(m, TASKS * PER_TASK)
        .await
        .expect("history");
    let history_seqs: Vec<i64> = history.iter().map(|c| c.seq).collect();
    assert_eq!(history_seqs, (1..=TASKS * PER_TASK).collect::<Vec<_>>());
}

async fn heartbeat_and_recover(db: Db) {
    let store = db.connect().await;
    // Node A: an open meeting with an open session and a session that left normally.
    let m1 = store
        .create_meeting(&meeting("a-room", "node-a", 1_000))
        .await
        .expect("m1");
    let s1 = store
        .open_session(&session(m1, "p1", "One", "node-a", 1_100))
        .await
        .expect("s1");
    let s2 = store
        .open_session(&session(m1, "p2", "Two", "node-a", 1_200))
        .await
        .expect("s2");
    store
        .close_session(s2, 1_500, LeaveReason::Left)
        .await
        .expect("close s2");
    // Node A: a meeting that already ended.
    let m3 = store
        .create_meeting(&meeting("done", "node-a", 900))
        .await
        .expect("m3");
    store.end_meeting(m3, 950).await.expect("end m3");
    // Node B: its own open meeting and session.
    let m2 = store
        .create_meeting(&meeting("b-room", "node-b", 1_000))
        .await
        .expect("m2");
    let s3 = store
        .open_session(&session(m2, "p3", "Three", "node-b", 1_100))
        .await
        .expect("s3");

    assert_eq!(store.heartbeat("node-a", 2_000).await.expect("hb"), 2);
    assert_eq!(store.heartbeat("node-b", 1_800).await.expect("hb"), 2);
    // A clock step backwards never moves last_seen_at back.
    assert_eq!(store.heartbeat("node-b", 1_700).await.expect("hb"), 2);
    assert_eq!(session_by_id(&store, m2, s3).await.last_seen_at, 1_800);
    assert_eq!(store.heartbeat("node-c", 2_000).await.expect("hb"), 0);

    // Joined after the last heartbeat: last seen when it joined.
    let s4 = store
        .open_session(&session(m1, "p4", "Four", "node-a", 2_500))
        .await
        .expect("s4");

    let recovered = store.recover("node-a").await.expect("recover");
    assert_eq!(
        recovered,
        Recovery {
            sessions_closed: 2,
            meetings_closed: 1
        }
    );

    let r1 = session_by_id(&store, m1, s1).await;
    assert_eq!(r1.left_at, Some(2_000));
    assert_eq!(r1.leave_reason, Some(LeaveReason::ServerRestart));
    let r4 = session_by_id(&store, m1, s4).await;
    assert_eq!(r4.left_at, Some(2_500));
    assert_eq!(r4.leave_reason, Some(LeaveReason::ServerRestart));
    let r2 = session_by_id(&store, m1, s2).await;
    assert_eq!(r2.left_at, Some(1_500));
    assert_eq!(r2.leave_reason, Some(LeaveReason::Left));
    // Ended at the later of its heartbeat (2000) and its last session's end (2500).
    let m1r = store.meeting(m1).await.expect("get").expect("m1");
    assert_eq!(m1r.ended_at, Some(2_500));
    assert_eq!(
        store.meeting(m3).await.expect("get").expect("m3").ended_at,
        Some(950)
    );

    // Node B untouched.
    let r3 = session_by_id(&store, m2, s3).await;
    assert_eq!(r3.left_at, None);
    assert_eq!(r3.last_seen_at, 1_800);
    let m2r = store.meeting(m2).await.expect("get").expect("m2");
    assert_eq!(m2r.ended_at, None);
    assert_eq!(m2r.last_seen_at, 1_800);

    // Recovering again finds nothing; a meeting with no heartbeat ends at its creation.
    assert_eq!(
        store.recover("node-a").await.expect("recover"),
        Recovery::default()
    );
    let m5 = store
        .create_meeting(&meeting("quick", "node-c", 7_000))
        .await
        .expect("m5");
    assert_eq!(
        store.recover("node-c").await.expect("recover"),
        Recovery {
            sessions_closed: 0,
            meetings_closed: 1
        }
    );
    assert_eq!(
        store.meeting(m5).await.expect("get").expect("m5").ended_at,
        Some(7_000)
    );
}

async fn a_lost_nodes_records_close_as_node_lost_up_to_its_last_heartbeat(db: Db) {
    let store = db.connect().await;
    let m1 = store
        .create_meeting(&meeting("lost-room", "node-x", 1_000))
        .await
        .expect("m1");
    let s1 = store
        .open_session(&session(m1, "p1", "One", "node-x", 1_100))
        .await
        .expect("s1");
    let other = store
        .create_meeting(&meeting("other-room", "node-y", 1_000))
        .await
        .expect("other");
    assert_eq!(store.heartbeat("node-x", 2_000).await.expect("hb"), 2);
    // The node came back under its id after its last heartbeat (2000): its new rows stay open.
    let m2 = store
        .create_meeting(&meeting("new-room", "node-x", 3_000))
        .await
        .expect("m2");
    let s2 = store
        .open_session(&session(m2, "p2", "Two", "node-x", 3_000))
        .await
        .expect("s2");

    let closed = store.recover_lost("node-x", 2_000).await.expect("lost");
    assert_eq!(
        closed,
        Recovery {
            sessions_closed: 1,
            meetings_closed: 1
        }
    );
    let r1 = session_by_id(&store, m1, s1).await;
    assert_eq!(r1.left_at, Some(2_000));
    assert_eq!(r1.leave_reason, Some(LeaveReason::NodeLost));
    let m1r = store.meeting(m1).await.expect("get").expect("m1");
    assert_eq!(m1r.ended_at, Some(2_000));
    assert_eq!(session_by_id(&store, m2, s2).await.left_at, None);
    let m2r = store.meeting(m2).await.expect("get").expect("m2");
    assert_eq!(m2r.ended_at, None);
    let o = store.meeting(other).await.expect("get").expect("other");
    assert_eq!(o.ended_at, None, "another node's meeting is not touched");
    // Once: a second survivor finds nothing left to close.
    assert_eq!(
        store.recover_lost("node-x", 2_000).await.expect("again"),
        Recovery::default()
    );
}

async fn writes_survive_reopen(db: Db) {
    let (m, s) = {
        let store = db.connect().await;
        let m = store
            .create_meeting(&meeting("durable", "n1", 1_000))
            .await
            .expect("meeting");
        let s = store
            .open_session(&session(m, "p", "Pat", "n1", 1_000))
            .await
            .expect("session");
        say(&store, m, s, "still here?", 1_001).await;
        // Dropped without close(): nothing gets a chance to flush.
        drop(store);
        (m, s)
    };
    let store = db.connect().await;
    assert_eq!(
        store.meeting(m).await.expect("get").expect("meeting").room,
        "durable"
    );
    assert_eq!(session_by_id(&store, m, s).await.display_name, "Pat");
    let history = store.chat_history(m, 10).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].text, "still here?");
}

async fn recovery_never_ends_a_session_before_its_last_chat(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("talk", "node-a", 1_000))
        .await
        .expect("meeting");
    let s1 = store
        .open_session(&session(m, "p1", "One", "node-a", 1_100))
        .await
        .expect("s1");
    let s2 = store
        .open_session(&session(m, "p2", "Two", "node-a", 1_100))
        .await
        .expect("s2");
    assert_eq!(store.heartbeat("node-a", 2_000).await.expect("hb"), 3);
    // p1 wrote after the last heartbeat, then the process died.
    say(&store, m, s1, "late words", 2_700).await;
    store.recover("node-a").await.expect("recover");
    let r1 = session_by_id(&store, m, s1).await;
    assert_eq!(r1.left_at, Some(2_700), "not before the last message");
    assert_eq!(r1.leave_reason, Some(LeaveReason::ServerRestart));
    assert_eq!(session_by_id(&store, m, s2).await.left_at, Some(2_000));
    let mr = store.meeting(m).await.expect("get").expect("m");
    assert_eq!(mr.ended_at, Some(2_700));
}

async fn reopen_an_interrupted_meeting(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("again", "node-a", 1_000))
        .await
        .expect("meeting");
    // Still open: nothing to reopen.
    assert!(!store
        .reopen_meeting(m, "node-b", 1_500)
        .await
        .expect("open"));
    store.end_meeting(m, 2_000).await.expect("end");
    assert!(store
        .reopen_meeting(m, "node-b", 3_000)
        .await
        .expect("reopen"));
    let r = store.meeting(m).await.expect("get").expect("m");
    assert_eq!(r.ended_at, None);
    assert_eq!(
        r.node_id, "node-b",
        "the node that hosts it now heartbeats it"
    );
    assert_eq!(r.last_seen_at, 3_000);
    assert_eq!(store.heartbeat("node-b", 4_000).await.expect("hb"), 1);
    assert!(!store
        .reopen_meeting(MeetingId(m.0 + 1_000), "node-b", 5_000)
        .await
        .expect("unknown"));
}

async fn secrets_are_made_once_and_shared(db: Db) {
    let (a, b) = tokio::join!(db.connect(), db.connect());
    let (x, y) = tokio::join!(a.secret("k", "from-a"), b.secret("k", "from-b"));
    let (x, y) = (x.expect("a"), y.expect("b"));
    assert_eq!(x, y, "both processes hold one key");
    assert!(x == "from-a" || x == "from-b");
    // A restart gets the stored key, never its own fresh one.
    let c = db.connect().await;
    assert_eq!(c.secret("k", "from-c").await.expect("c"), x);
    assert_eq!(c.secret("other", "o").await.expect("other"), "o");
}

fn user(email: &str) -> NewUser {
    NewUser {
        email: email.into(),
        display_name: "Ada".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        is_admin: false,
        created_at: 1_000,
    }
}

fn auth(user: UserId, hash: &str, at: Millis, ttl: Millis) -> NewAuthSession {
    NewAuthSession {
        user,
        token_hash: hash.into(),
        created_at: at,
        expires_at: at + ttl,
    }
}

async fn accounts_are_unique_by_email(db: Db) {
    let store = db.connect().await;
    assert_eq!(store.count_users().await.expect("count"), 0);
    let id = store
        .create_user(&user("ada@example.org"))
        .await
        .expect("create");
    match store.create_user(&user("ada@example.org")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    let found = store
        .user_by_email("ada@example.org")
        .await
        .expect("by email")
        .expect("found");
    assert_eq!(found.id, id);
    assert_eq!(found.display_name, "Ada");
    assert!(!found.is_admin && !found.disabled);
    assert_eq!(store.user(id).await.expect("by id"), Some(found));
    assert!(store
        .user_by_email("bob@example.org")
        .await
        .expect("none")
        .is_none());
    store
        .set_user_flags(id, Some(true), None)
        .await
        .expect("admin");
    let u = store.user(id).await.expect("get").expect("user");
    assert!(u.is_admin && !u.disabled, "a flag left out keeps its value");
    assert!(matches!(
        store
            .set_user_flags(UserId(id.0 + 99), Some(true), None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.count_users().await.expect("count"), 1);
}

async fn sessions_live_until_revoked_expired_or_disabled(db: Db) {
    let store = db.connect().await;
    let id = store
        .create_user(&user("s@example.org"))
        .await
        .expect("create");
    store
        .create_auth_session(&auth(id, "h1", 1_000, 10_000))
        .await
        .expect("s1");
    store
        .create_auth_session(&auth(id, "h2", 1_000, 10_000))
        .await
        .expect("s2");
    let (s, u) = store
        .auth_session("h1", 2_000)
        .await
        .expect("get")
        .expect("live");
    assert_eq!(u.id, id);
    assert_eq!(s.last_used_at, 1_000, "touched at most once a minute");
    let (s, _) = store
        .auth_session("h1", 9_000)
        .await
        .expect("get")
        .expect("live");
    assert_eq!(s.last_used_at, 1_000);
    assert!(
        store
            .auth_session("h1", 11_000)
            .await
            .expect("get")
            .is_none(),
        "expired"
    );
    assert!(store
        .auth_session("nope", 2_000)
        .await
        .expect("get")
        .is_none());
    assert!(store
        .revoke_auth_session("h2", 3_000)
        .await
        .expect("revoke"));
    assert!(!store.revoke_auth_session("h2", 3_000).await.expect("again"));
    assert!(
        store
            .auth_session("h2", 3_500)
            .await
            .expect("get")
            .is_none(),
        "revoked"
    );
    store
        .create_auth_session(&auth(id, "h3", 70_000, 100_000))
        .await
        .expect("s3");
    let (s, _) = store
        .auth_session("h3", 140_000)
        .await
        .expect("get")
        .expect("live");
    assert_eq!(s.last_used_at, 70_000, "the record read before the touch");
    let (s, _) = store
        .auth_session("h3", 141_000)
        .await
        .expect("get")
        .expect("live");
    assert_eq!(s.last_used_at, 140_000, "marked used");
    store
        .set_user_flags(id, None, Some(true))
        .await
        .expect("disable");
    assert!(
        store
            .auth_session("h3", 142_000)
            .await
            .expect("get")
            .is_none(),
        "disabled account"
    );
}

async fn a_password_change_revokes_every_session(db: Db) {
    let store = db.connect().await;
    let id = store
        .create_user(&user("p@example.org"))
        .await
        .expect("create");
    store
        .create_auth_session(&auth(id, "a", 1_000, 100_000))
        .await
        .expect("a");
    store
        .create_auth_session(&auth(id, "b", 1_000, 100_000))
        .await
        .expect("b");
    store
        .set_user_password(id, "new-hash", 2_000)
        .await
        .expect("set");
    assert_eq!(
        store
            .user(id)
            .await
            .expect("get")
            .expect("u")
            .password_hash
            .as_deref(),
        Some("new-hash")
    );
    for h in ["a", "b"] {
        assert!(store.auth_session(h, 3_000).await.expect("get").is_none());
    }
    assert!(matches!(
        store.set_user_password(UserId(id.0 + 99), "x", 1).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn planned_rooms_with_invitations(db: Db) {
    let store = db.connect().await;
    let owner = store
        .create_user(&user("own@example.org"))
        .await
        .expect("owner");
    let other = store
        .create_user(&user("oth@example.org"))
        .await
        .expect("other");
    let mut room = PlannedRoom {
        id: 0,
        name: "会议-k3v9".into(),
        owner,
        title: "Weekly".into(),
        access: Access::Invited,
        password_hash: Some("$argon2id$v=19$x".into()),
        max_participants: Some(12),
        starts_at: Some(5_000),
        created_at: 1_000,
        updated_at: 1_000,
        invited: vec![
            "b@example.org".into(),
            "a@example.org".into(),
            "a@example.org".into(),
        ],
        lobby: false,
        empty_room_timeout_secs: None,
        co_hosts: vec![],
        record_on_connect: false,
    };
    room.id = store.create_planned_room(&room).await.expect("create");
    let got = store
        .planned_room("会议-k3v9")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        got.invited,
        vec!["a@example.org", "b@example.org"],
        "sorted, once each"
    );
    assert_eq!(got.access, Access::Invited);
    assert_eq!(got.max_participants, Some(12));
    assert!(matches!(
        store.create_planned_room(&room).await,
        Err(StoreError::Conflict(_))
    ));
    room.access = Access::Link;
    room.password_hash = None;
    room.invited = vec!["c@example.org".into()];
    room.updated_at = 2_000;
    store.update_planned_room(&room).await.expect("update");
    let got = store
        .planned_room("会议-k3v9")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        (got.access, got.password_hash.clone()),
        (Access::Link, None)
    );
    assert_eq!(got.invited, vec!["c@example.org"]);
    assert_eq!(got.updated_at, 2_000);
    let second = PlannedRoom {
        name: "second".into(),
        created_at: 3_000,
        ..room.clone()
    };
    store.create_planned_room(&second).await.expect("second");
    let mine: Vec<String> = store
        .planned_rooms_of(owner)
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(mine, vec!["second", "会议-k3v9"], "newest first");
    assert!(store
        .planned_rooms_of(other)
        .await
        .expect("none")
        .is_empty());
    assert!(store.planned_room("nope").await.expect("get").is_none());
    room.id += 1_000;
    assert!(matches!(
        store.update_planned_room(&room).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn who_may_read_which_meetings(db: Db) {
    let store = db.connect().await;
    let ada = store
        .create_user(&user("ada@example.org"))
        .await
        .expect("ada");
    let bob = store
        .create_user(&user("bob@example.org"))
        .await
        .expect("bob");
    // Ada attended m1 signed in; Bob planned room "plan" whose meeting is m2; m3 nobody's.
    let m1 = store
        .create_meeting(&meeting("open", "n", 1_000))
        .await
        .expect("m1");
    let mut s = session(m1, "p1", "Ada", "n", 1_100);
    s.user = Some(ada);
    store.open_session(&s).await.expect("s");
    let m2 = store
        .create_meeting(&meeting("plan", "n", 2_000))
        .await
        .expect("m2");
    let m3 = store
        .create_meeting(&meeting("open", "n", 3_000))
        .await
        .expect("m3");
    let room = PlannedRoom {
        id: 0,
        name: "plan".into(),
        owner: bob,
        title: "t".into(),
        access: Access::Link,
        password_hash: None,
        max_participants: None,
        starts_at: None,
        created_at: 0,
        updated_at: 0,
        invited: vec![],
        lobby: false,
        empty_room_timeout_secs: None,
        co_hosts: vec![],
        record_on_connect: false,
    };
    store.create_planned_room(&room).await.expect("plan");
    let ids = |v: Vec<MeetingRecord>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.meetings_for_user(ada, None, 10).await.expect("ada")),
        vec![m1]
    );
    assert_eq!(
        ids(store.meetings_for_user(bob, None, 10).await.expect("bob")),
        vec![m2]
    );
    assert!(store
        .meetings_for_user(ada, Some("plan"), 10)
        .await
        .expect("f")
        .is_empty());
    assert_eq!(
        ids(store
            .meetings_for_user(ada, Some("open"), 10)
            .await
            .expect("f")),
        vec![m1]
    );
    assert!(store.user_may_read_meeting(ada, m1).await.expect("r"));
    assert!(!store.user_may_read_meeting(ada, m2).await.expect("r"));
    assert!(!store.user_may_read_meeting(ada, m3).await.expect("r"));
    assert!(store.user_may_read_meeting(bob, m2).await.expect("r"));
    assert!(!store.user_may_read_meeting(bob, m1).await.expect("r"));
}

async fn api_keys_live_until_revoked(db: Db) {
    let store = db.connect().await;
    let key = |id: &str, at: Millis| ApiKeyRecord {
        id: id.into(),
        secret_hash: "$argon2id$x".into(),
        name: format!("key {id}"),
        created_at: at,
        revoked_at: None,
    };
    store.create_api_key(&key("ck_a", 1_000)).await.expect("a");
    store.create_api_key(&key("ck_b", 2_000)).await.expect("b");
    assert!(matches!(
        store.create_api_key(&key("ck_a", 3_000)).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.api_key("ck_a").await.expect("get"),
        Some(key("ck_a", 1_000))
    );
    let all: Vec<String> = store
        .api_keys()
        .await
        .expect("all")
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(all, vec!["ck_b", "ck_a"]);
    assert!(store.revoke_api_key("ck_a", 5_000).await.expect("revoke"));
    assert!(!store.revoke_api_key("ck_a", 6_000).await.expect("again"));
    assert!(!store.revoke_api_key("ck_zz", 6_000).await.expect("none"));
    assert_eq!(
        store
            .api_key("ck_a")
            .await
            .expect("get")
            .unwrap()
            .revoked_at,
        Some(5_000)
    );
}

async fn old_records_are_purged_whole(db: Db) {
    let store = db.connect().await;
    let old = store
        .create_meeting(&meeting("r", "n", 1_000))
        .await
        .expect("old");
    let s = store
        .open_session(&session(old, "p1", "Ada", "n", 1_100))
        .await
        .expect("s");
    say(&store, old, s, "long ago", 1_200).await;
    store
        .close_session(s, 1_300, LeaveReason::Left)
        .await
        .expect("close");
    store.end_meeting(old, 1_400).await.expect("end");
    let recent = store
        .create_meeting(&meeting("r", "n", 5_000))
        .await
        .expect("recent");
    store.end_meeting(recent, 6_000).await.expect("end");
    let open = store
        .create_meeting(&meeting("r", "n", 500))
        .await
        .expect("open");
    let s2 = store
        .open_session(&session(open, "p2", "Bob", "n", 600))
        .await
        .expect("s2");
    say(&store, open, s2, "still going", 700).await;

    assert_eq!(
        store
            .purge_meetings_ended_before(5_000, None)
            .await
            .expect("purge"),
        1
    );
    assert!(store.meeting(old).await.expect("get").is_none());
    assert!(store.sessions(old).await.expect("sessions").is_empty());
    assert!(store.chat_history(old, 10).await.expect("chat").is_empty());
    assert!(
        store.meeting(recent).await.expect("get").is_some(),
        "ended after the cut"
    );
    assert!(
        store.meeting(open).await.expect("get").is_some(),
        "still open, however old"
    );
    assert_eq!(store.chat_history(open, 10).await.expect("chat").len(), 1);
    assert_eq!(
        store
            .purge_meetings_ended_before(5_000, None)
            .await
            .expect("again"),
        0
    );
}

/// The scripts of schema versions 1 to 6, as an older build applied them.
fn scripts_before_public_ids(sqlite: bool) -> [&'static str; 6] {
    macro_rules! both {
        ($f:literal) => {
            if sqlite {
                include_str!(concat!("../migrations/sqlite/", $f))
            } else {
                include_str!(concat!("../migrations/postgres/", $f))
            }
        };
    }
    [
        both!("0001_init.sql"),
        both!("0002_server_secrets.sql"),
        both!("0003_accounts.sql"),
        both!("0004_planned_rooms.sql"),
        both!("0005_api_keys.sql"),
        both!("0006_session_identity.sql"),
    ]
}

async fn an_older_database_migrates_with_its_records(db: Db) {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let sqlite = db.url.starts_with("sqlite");
    if sqlite {
        let path = db.url.trim_start_matches("sqlite://");
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
    }
    let url = if sqlite {
        format!("{}?mode=rwc", db.url)
    } else {
        db.url.clone()
    };
    // A database as a build of schema version 6 left it, with meetings that have no public id.
    let old = sqlx::AnyPool::connect(&url).await.expect("connect raw");
    old.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .expect("the migrations table");
    for (i, script) in scripts_before_public_ids(sqlite).iter().enumerate() {
        old.execute(*script).await.expect("an old script");
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)")
            .bind(i as i64 + 1)
            .execute(&old)
            .await
            .expect("record the old version");
    }
    for n in 0..3 {
        sqlx::query(
            "INSERT INTO meetings (room, creator, created_at, max_participants, settings_json, \
             node_id, last_seen_at) VALUES ($1, NULL, $2, 10, '{}', 'n1', $2)",
        )
        .bind(format!("old-{n}"))
        .bind(1_000 + n as i64)
        .execute(&old)
        .await
        .expect("an old meeting");
    }
    // And a planned room with an invitation, made before rooms had a lobby or co-hosts.
    old.execute(
        "INSERT INTO users (name, display_name, created_at) VALUES ('own@example.org', 'O', 0)",
    )
    .await
    .expect("an old user");
    old.execute(
        "INSERT INTO planned_rooms (name, owner_id, title, access, created_at, updated_at) \
         SELECT 'old-plan', id, 'Old', 'invited', 0, 0 FROM users",
    )
    .await
    .expect("an old planned room");
    old.execute(
        "INSERT INTO planned_room_invites (room_id, email) \
         SELECT id, 'i@example.org' FROM planned_rooms",
    )
    .await
    .expect("an old invitation");
    old.close().await;

    // The new build migrates it: every old meeting gets its own unguessable public id.
    let store = db.connect().await;
    assert_eq!(store.schema_version().await.expect("version"), LATEST);
    let mut ids = Vec::new();
    for m in store.meetings(None, 10).await.expect("list") {
        assert_eq!(m.public_id.len(), 24, "{:?}", m.public_id);
        assert!(m.public_id.chars().all(|c| c.is_ascii_hexdigit()));
        let found = store.meeting_by_public_id(&m.public_id).await.expect("get");
        assert_eq!(found.map(|f| f.room), Some(m.room.clone()));
        ids.push(m.public_id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three meetings, three different ids");

    // Old planned rooms read as "nothing set": no lobby, the default timeout, no co-hosts.
    let plan = store
        .planned_room("old-plan")
        .await
        .expect("get")
        .expect("the old room");
    assert_eq!(
        (plan.lobby, plan.empty_room_timeout_secs, plan.co_hosts),
        (false, None, vec![])
    );
    assert_eq!(plan.invited, vec!["i@example.org"]);
}
