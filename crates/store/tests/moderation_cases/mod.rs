//! Suite cases for roles, lobby and moderation: planned rooms' lobby, empty-room timeout and
//! co-hosts; meeting bans; the moderation audit log; and purging them with their meetings.
//! Registered in store_suite.rs, which runs each on SQLite and PostgreSQL.

use convene_store::*;

use crate::common::*;

pub fn planned(owner: UserId, name: &str, at: Millis) -> PlannedRoom {
    PlannedRoom {
        id: 0,
        name: name.into(),
        owner,
        title: "t".into(),
        access: Access::Link,
        password_hash: None,
        max_participants: None,
        starts_at: None,
        created_at: at,
        updated_at: at,
        invited: vec![],
        lobby: false,
        empty_room_timeout_secs: None,
        co_hosts: vec![],
        record_on_connect: false,
    }
}

pub fn owner_account() -> NewUser {
    NewUser {
        email: "own@example.org".into(),
        display_name: "Owner".into(),
        password_hash: "$argon2id$x".into(),
        is_admin: false,
        created_at: 0,
    }
}

pub async fn planned_rooms_carry_lobby_timeout_and_co_hosts(db: Db) {
    let store = db.connect().await;
    let owner = store.create_user(&owner_account()).await.expect("owner");
    let mut room = planned(owner, "lobbied", 1_000);
    room.lobby = true;
    room.empty_room_timeout_secs = Some(300);
    room.invited = vec!["i@example.org".into()];
    room.co_hosts = vec![
        "z@example.org".into(),
        "b@example.org".into(),
        "z@example.org".into(),
    ];
    room.id = store.create_planned_room(&room).await.expect("create");
    let got = store
        .planned_room("lobbied")
        .await
        .expect("get")
        .expect("found");
    assert!(got.lobby);
    assert_eq!(got.empty_room_timeout_secs, Some(300));
    assert_eq!(
        got.co_hosts,
        vec!["b@example.org", "z@example.org"],
        "sorted, once each"
    );
    assert_eq!(
        got.invited,
        vec!["i@example.org"],
        "co-hosts are not invitations"
    );

    // An update replaces all three, back to "nothing set" for two of them.
    room.lobby = false;
    room.empty_room_timeout_secs = None;
    room.co_hosts = vec!["c@example.org".into()];
    room.updated_at = 2_000;
    store.update_planned_room(&room).await.expect("update");
    let got = store
        .planned_room("lobbied")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        (got.lobby, got.empty_room_timeout_secs, got.co_hosts.clone()),
        (false, None, vec!["c@example.org".to_string()])
    );
    assert_eq!(got.invited, vec!["i@example.org"]);

    // A second room with other values: each room keeps its own.
    let mut other = planned(owner, "plain", 3_000);
    other.lobby = true;
    other.empty_room_timeout_secs = Some(0);
    other.id = store.create_planned_room(&other).await.expect("other");
    let mine = store.planned_rooms_of(owner).await.expect("list");
    let summary: Vec<_> = mine
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.lobby,
                r.empty_room_timeout_secs,
                r.co_hosts.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("plain", true, Some(0), vec![]),
            ("lobbied", false, None, vec!["c@example.org".to_string()]),
        ]
    );
    assert_eq!(mine[1], got, "the list carries the same room as a get");
}

fn ban(m: MeetingId, pid: &str, at: Millis) -> NewBan {
    NewBan {
        meeting: m,
        participant_id: pid.into(),
        user: None,
        identity: None,
        display_name: format!("Name of {pid}"),
        created_at: at,
    }
}

pub async fn bans_belong_to_their_meeting(db: Db) {
    let store = db.connect().await;
    let user = store.create_user(&owner_account()).await.expect("user");
    let m = store
        .create_meeting(&meeting("r", "n", 1_000))
        .await
        .expect("m");
    let other = store
        .create_meeting(&meeting("o", "n", 1_000))
        .await
        .expect("other");
    let mut first = ban(m, "p1", 2_000);
    first.user = Some(user);
    first.identity = Some("sub-42".into());
    let second = ban(m, "p2", 3_000);
    let first_id = store.add_ban(&first).await.expect("first");
    let second_id = store.add_ban(&second).await.expect("second");
    store
        .add_ban(&ban(other, "p9", 2_500))
        .await
        .expect("other's");
    assert_ne!(first_id, second_id);

    let expect = |id: i64, b: &NewBan| BanRecord {
        id,
        meeting: b.meeting,
        participant_id: b.participant_id.clone(),
        user: b.user,
        identity: b.identity.clone(),
        display_name: b.display_name.clone(),
        created_at: b.created_at,
    };
    assert_eq!(
        store.bans(m).await.expect("bans"),
        vec![expect(first_id, &first), expect(second_id, &second)]
    );
    assert_eq!(store.bans(other).await.expect("other").len(), 1);
    assert!(store
        .bans(MeetingId(other.0 + 1_000))
        .await
        .expect("none")
        .is_empty());
    assert!(matches!(
        store
            .add_ban(&ban(MeetingId(other.0 + 1_000), "p3", 4_000))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

fn entry(m: MeetingId, action: &str, at: Millis) -> NewAuditEntry {
    NewAuditEntry {
        meeting: m,
        at,
        actor_kind: "system".into(),
        actor_id: None,
        actor_name: None,
        action: action.into(),
        target_id: None,
        target_name: None,
        detail: None,
    }
}

pub async fn moderation_log_in_order_with_limit(db: Db) {
    let store = db.connect().await;
    let m = store
        .create_meeting(&meeting("r", "n", 1_000))
        .await
        .expect("m");
    let other = store
        .create_meeting(&meeting("o", "n", 1_000))
        .await
        .expect("other");
    let full = NewAuditEntry {
        meeting: m,
        at: 2_000,
        actor_kind: "participant".into(),
        actor_id: Some("p1".into()),
        actor_name: Some("Ada".into()),
        action: "mute".into(),
        target_id: Some("p2".into()),
        target_name: Some("Bob".into()),
        detail: Some("microphone".into()),
    };
    let entries = [
        full.clone(),
        entry(m, "lock", 3_000),
        entry(m, "remove", 4_000),
    ];
    let mut ids = Vec::new();
    for e in &entries {
        ids.push(store.record_moderation(e).await.expect("record"));
    }
    store
        .record_moderation(&entry(other, "lock", 2_500))
        .await
        .expect("other's");

    let log = store.moderation_log(m, 10).await.expect("log");
    let expected: Vec<AuditRecord> = entries
        .iter()
        .zip(&ids)
        .map(|(e, &id)| AuditRecord {
            id,
            meeting: e.meeting,
            at: e.at,
            actor_kind: e.actor_kind.clone(),
            actor_id: e.actor_id.clone(),
            actor_name: e.actor_name.clone(),
            action: e.action.clone(),
            target_id: e.target_id.clone(),
            target_name: e.target_name.clone(),
            detail: e.detail.clone(),
        })
        .collect();
    assert_eq!(
        log, expected,
        "every field, oldest first, only this meeting"
    );

    let two = store.moderation_log(m, 2).await.expect("limited");
    assert_eq!(two, expected[..2].to_vec(), "the limit keeps the oldest");
    assert!(store.moderation_log(m, 0).await.expect("zero").is_empty());
    assert!(
        store
            .moderation_log(m, -1)
            .await
            .expect("negative")
            .is_empty(),
        "a negative limit is none"
    );
    assert!(matches!(
        store
            .record_moderation(&entry(MeetingId(other.0 + 1_000), "mute", 5_000))
            .await,
        Err(StoreError::NotFound(_))
    ));
}

pub async fn purge_takes_bans_and_audit_along(db: Db) {
    let store = db.connect().await;
    let old = store
        .create_meeting(&meeting("r", "n", 1_000))
        .await
        .expect("old");
    let kept = store
        .create_meeting(&meeting("r", "n", 2_000))
        .await
        .expect("kept");
    for m in [old, kept] {
        store.add_ban(&ban(m, "p1", 2_100)).await.expect("ban");
        store
            .record_moderation(&entry(m, "remove", 2_100))
            .await
            .expect("audit");
    }
    store.end_meeting(old, 3_000).await.expect("end old");
    store.end_meeting(kept, 9_000).await.expect("end kept");

    assert_eq!(
        store
            .purge_meetings_ended_before(5_000, None)
            .await
            .expect("purge"),
        1
    );
    assert!(store.meeting(old).await.expect("get").is_none());
    assert!(store.bans(old).await.expect("bans").is_empty());
    assert!(store.moderation_log(old, 10).await.expect("log").is_empty());
    assert_eq!(store.bans(kept).await.expect("bans").len(), 1);
    assert_eq!(store.moderation_log(kept, 10).await.expect("log").len(), 1);
}
