//! Roles: who hosts, how the host role moves, and what access-token grants make of their holder
//! (viewer, co-host, hidden, not receiving).

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use common::{chat, TestServer};
use convene_proto::{ClientMessage as M, ErrorCode, Role, ServerMessage, TrackSource};
use convene_server::auth::tokens::{self, Grants, Publish};
use people::{accepted, join, refused, update_where, As};

const KEY: &str = "k1:0123456789abcdef0123456789abcdef";

fn token(s: &TestServer, room: &str, who: &str, grants: Grants) -> String {
    tokens::make(&s.config, room, who, None, Some(600), grants, None)
        .expect("token")
        .0
}

/// An offer that sends a microphone (and receives nothing).
fn sending_offer() -> M {
    M::SdpOffer {
        sdp: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
              m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n\
              a=rtpmap:111 opus/48000/2\r\n"
            .into(),
        tracks: vec![TrackSource {
            mid: "0".into(),
            source: convene_proto::Source::Microphone,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_role_moves_to_a_co_host_then_the_longest_present_and_transfers() {
    let s = TestServer::start().await;
    let (mut ada, ja) = join(&s, "hosts", "Ada", As::Guest).await;
    let (_bob, jb) = join(&s, "hosts", "Bob", As::Guest).await;
    let (mut carol, jc) = join(&s, "hosts", "Carol", As::Guest).await;
    let (mut dan, _) = join(&s, "hosts", "Dan", As::Guest).await;
    accepted(
        &mut ada,
        M::SetRole {
            participant_id: jc.participant_id.clone(),
            role: Role::CoHost,
        },
    )
    .await;
    ada.send(&M::Leave).await.unwrap();
    // The co-host takes over, though Bob came earlier.
    let p = update_where(&mut dan, &jc.participant_id, |p| p.role == Role::Host).await;
    assert_eq!(p.role, Role::Host);
    // Carol hands it to Bob and is co-host herself.
    accepted(
        &mut carol,
        M::TransferHost {
            participant_id: jb.participant_id.clone(),
        },
    )
    .await;
    // One host at a time: the old one steps down before the new one is announced.
    update_where(&mut dan, &jc.participant_id, |p| p.role == Role::CoHost).await;
    update_where(&mut dan, &jb.participant_id, |p| p.role == Role::Host).await;
    refused(&mut carol, M::EndMeeting, ErrorCode::Forbidden).await;
    let _ = ja;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_planned_room_the_owner_regains_host_and_nobody_else_takes_it() {
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "olga@example.org").await;
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(serde_json::json!({"unique_name": "olgas"})),
    )
    .await;
    assert_eq!(r.status, 201);
    let (gus, jg) = join(&s, "olgas", "Gus", As::Guest).await;
    assert_eq!(
        jg.role,
        Role::Participant,
        "a planned room is its owner's to host"
    );
    let (mut olga, jo) = join(&s, "olgas", "Olga", As::Account(&owner)).await;
    assert_eq!(jo.role, Role::Host);
    let (mut hal, _) = join(&s, "olgas", "Hal", As::Guest).await;
    olga.send(&M::Leave).await.unwrap();
    common::next_left(&mut hal).await;
    // Nobody takes over: Gus stays a participant (no update comes), and may not moderate.
    refused(
        &mut hal,
        M::SetLocked { locked: true },
        ErrorCode::Forbidden,
    )
    .await;
    let (_olga, back) = join(&s, "olgas", "Olga", As::Account(&owner)).await;
    assert_eq!(back.role, Role::Host, "the owner regains host");
    drop(gus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_make_viewers_co_hosts_and_hidden_observers() {
    let s = TestServer::with(|c| c.auth.token_keys = vec![KEY.into()]).await;
    let (mut ada, ja) = join(&s, "grants", "Ada", As::Guest).await;
    // A token that publishes nothing: a viewer, whose publish offers are refused.
    let viewer = Grants {
        publish: Publish::All(false),
        ..Grants::default()
    };
    let t = token(&s, "grants", "v-1", viewer);
    let (mut vic, jv) = join(&s, "grants", "Vic", As::Token(&t)).await;
    assert_eq!(jv.role, Role::Viewer);
    refused(&mut vic, sending_offer(), ErrorCode::Forbidden).await;
    accepted(&mut vic, chat("viewers chat")).await;
    // A participant the host makes a viewer is refused the same way.
    let (mut bob, jb) = join(&s, "grants", "Bob", As::Guest).await;
    accepted(
        &mut ada,
        M::SetRole {
            participant_id: jb.participant_id.clone(),
            role: Role::Viewer,
        },
    )
    .await;
    update_where(&mut bob, &jb.participant_id, |p| p.role == Role::Viewer).await;
    refused(&mut bob, sending_offer(), ErrorCode::Forbidden).await;
    // room_admin: a co-host.
    let admin = Grants {
        room_admin: true,
        ..Grants::default()
    };
    let t = token(&s, "grants", "a-1", admin);
    let (mut adm, jadm) = join(&s, "grants", "Admin", As::Token(&t)).await;
    assert_eq!(jadm.role, Role::CoHost);
    accepted(&mut adm, M::SetLocked { locked: true }).await;
    accepted(&mut adm, M::SetLocked { locked: false }).await;
    // hidden: in nobody's list, never announced, publishes and chats nothing.
    let hidden = Grants {
        hidden: true,
        ..Grants::default()
    };
    let t = token(&s, "grants", "rec-1", hidden);
    let (mut rec, jr) = join(&s, "grants", "Recorder", As::Token(&t)).await;
    assert!(jr.participants.iter().any(|p| p.id == jr.participant_id));
    refused(&mut rec, chat("hello?"), ErrorCode::Forbidden).await;
    refused(&mut rec, sending_offer(), ErrorCode::Forbidden).await;
    let (_late, jl) = join(&s, "grants", "Late", As::Guest).await;
    assert!(
        jl.participants.iter().all(|p| p.id != jr.participant_id),
        "a later joiner does not see the hidden one"
    );
    // Ada heard of everyone but the recorder.
    ada.send(&M::Ping { ts: Some(1.0) }).await.unwrap();
    let mut announced = Vec::new();
    ada.recv_until(|m| match m {
        ServerMessage::ParticipantJoined { participant } => {
            announced.push(participant.display_name.clone());
            None
        }
        ServerMessage::Pong { .. } => Some(()),
        _ => None,
    })
    .await
    .unwrap();
    assert!(announced.contains(&"Late".to_string()), "{announced:?}");
    assert!(
        !announced.contains(&"Recorder".to_string()),
        "{announced:?}"
    );
    let _ = ja;
}
