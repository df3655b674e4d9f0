//! The lobby: newcomers wait until a host or co-host admits or turns them away; with nobody who
//! can admit, they wait until one comes.

mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use common::{chat, TestServer};
use convene_client::Signaling;
use convene_proto::{
    ClientMessage as M, ErrorCode, LobbyEntry, ParticipantId, Role, ServerMessage,
};
use people::{accepted, connect, join, join_message, refused, As};

/// Sends `join` as `who` and waits for `waiting_in_lobby`: the id and whether a host is here.
async fn wait_in_lobby(
    s: &TestServer,
    room: &str,
    name: &str,
    who: As<'_>,
) -> (Signaling, ParticipantId, bool) {
    let mut c = connect(s, who).await;
    c.send(&join_message(room, name, who, None)).await.unwrap();
    let (id, present) = c
        .recv_until(|m| match m {
            ServerMessage::WaitingInLobby {
                participant_id,
                host_present,
            } => Some((participant_id.clone(), *host_present)),
            ServerMessage::Joined(_) => panic!("{name} joined without waiting"),
            ServerMessage::Error { code, .. } => panic!("{name} refused: {code:?}"),
            _ => None,
        })
        .await
        .expect("waiting_in_lobby");
    (c, id, present)
}

async fn next_lobby(c: &mut Signaling) -> Vec<LobbyEntry> {
    c.recv_until(|m| match m {
        ServerMessage::LobbyUpdated { waiting } => Some(waiting.clone()),
        _ => None,
    })
    .await
    .expect("lobby_updated")
}

async fn joined(c: &mut Signaling) -> convene_proto::Joined {
    c.recv_until(|m| match m {
        ServerMessage::Joined(j) => Some((**j).clone()),
        _ => None,
    })
    .await
    .expect("joined")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_admits_and_turns_away_people_waiting_in_the_lobby() {
    let s = TestServer::start().await;
    let (mut ada, _) = join(&s, "door", "Ada", As::Guest).await;
    // Carol only watches the meeting.
    let (mut carol, _) = join(&s, "door", "Carol", As::Guest).await;
    accepted(&mut ada, M::SetLobby { enabled: true }).await;
    let (mut bob, bob_id, present) = wait_in_lobby(&s, "door", "Bob", As::Guest).await;
    assert!(present, "Ada is here to admit him");
    let waiting = next_lobby(&mut ada).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (&waiting[0].participant_id, waiting[0].display_name.as_str()),
        (&bob_id, "Bob")
    );
    assert!(!waiting[0].signed_in);
    // While waiting, Bob can do nothing in the meeting; Carol hears nothing of him.
    refused(&mut bob, chat("let me in"), ErrorCode::InLobby).await;
    let react = M::SendReaction {
        emoji: convene_proto::REACTIONS[0].into(),
    };
    refused(&mut bob, react, ErrorCode::InLobby).await;
    // A participant cannot open the door.
    refused(
        &mut carol,
        M::Admit {
            participant_id: bob_id.clone(),
        },
        ErrorCode::Forbidden,
    )
    .await;
    accepted(
        &mut ada,
        M::Admit {
            participant_id: bob_id.clone(),
        },
    )
    .await;
    let j = joined(&mut bob).await;
    assert_eq!(
        (j.participant_id, j.role),
        (bob_id.clone(), Role::Participant)
    );
    let seen = carol
        .recv_until(|m| match m {
            ServerMessage::ParticipantJoined { participant } => Some(participant.id.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(seen, bob_id);
    // Dave is turned away.
    let (mut dave, dave_id, _) = wait_in_lobby(&s, "door", "Dave", As::Guest).await;
    accepted(
        &mut ada,
        M::Deny {
            participant_id: dave_id.clone(),
        },
    )
    .await;
    assert_eq!(common::next_error(&mut dave).await.0, ErrorCode::Denied);
    assert_eq!(common::expect_closing(&mut dave).await, "denied");
    assert_eq!(dave.closed().await.unwrap().code, Some(4003));
    // Eve gives up waiting: she is gone from the lobby.
    let (eve, _, _) = wait_in_lobby(&s, "door", "Eve", As::Guest).await;
    eve.close().await;
    loop {
        if next_lobby(&mut ada).await.is_empty() {
            break;
        }
    }
    refused(
        &mut ada,
        M::Admit {
            participant_id: dave_id,
        },
        ErrorCode::NotFound,
    )
    .await;
    // Admit all.
    let (mut f, _, _) = wait_in_lobby(&s, "door", "Fay", As::Guest).await;
    let (mut g, _, _) = wait_in_lobby(&s, "door", "Gil", As::Guest).await;
    accepted(&mut ada, M::AdmitAll).await;
    joined(&mut f).await;
    joined(&mut g).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nobody_to_admit_the_lobby_holds_people_until_the_owner_comes() {
    let s = TestServer::start().await;
    let owner = http::signed_up(s.addr, "olga@example.org").await;
    let cora = http::signed_up(s.addr, "cora@example.org").await;
    let r = http::request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &owner)],
        Some(
            serde_json::json!({"unique_name": "planned-door", "lobby": true,
            "co_hosts": ["Cora@Example.org"], "empty_room_timeout": 30}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["lobby"], true);
    assert_eq!(r.body["co_hosts"], serde_json::json!(["cora@example.org"]));
    assert_eq!(r.body["empty_room_timeout"], 30);
    let (mut gus, gus_id, present) = wait_in_lobby(&s, "planned-door", "Gus", As::Guest).await;
    assert!(!present, "nobody who can admit is here yet");
    // The owner skips the lobby, hosts, sees Gus waiting; Gus hears a host came.
    let (mut olga, j) = join(&s, "planned-door", "Olga", As::Account(&owner)).await;
    assert_eq!(j.role, Role::Host);
    assert!(j.settings.lobby);
    assert_eq!(
        j.waiting
            .iter()
            .map(|w| &w.participant_id)
            .collect::<Vec<_>>(),
        [&gus_id]
    );
    let told = gus
        .recv_until(|m| match m {
            ServerMessage::WaitingInLobby { host_present, .. } => Some(*host_present),
            _ => None,
        })
        .await
        .unwrap();
    assert!(told);
    // A co-host by plan skips it too, as co-host.
    let (_cora, jc) = join(&s, "planned-door", "Cora", As::Account(&cora)).await;
    assert_eq!(jc.role, Role::CoHost);
    assert_eq!(jc.waiting.len(), 1, "co-hosts see who waits");
    accepted(
        &mut olga,
        M::Admit {
            participant_id: gus_id,
        },
    )
    .await;
    assert_eq!(joined(&mut gus).await.role, Role::Participant);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lobby_holds_no_more_people_than_the_room_seats() {
    let s = TestServer::with(|c| c.rooms.max_participants = 2).await;
    let (mut ada, _) = join(&s, "small-door", "Ada", As::Guest).await;
    accepted(&mut ada, M::SetLobby { enabled: true }).await;
    let _b = wait_in_lobby(&s, "small-door", "Bob", As::Guest).await;
    let _c = wait_in_lobby(&s, "small-door", "Cy", As::Guest).await;
    let mut dee = connect(&s, As::Guest).await;
    dee.send(&join_message("small-door", "Dee", As::Guest, None))
        .await
        .unwrap();
    let (code, _, _) = common::next_error(&mut dee).await;
    assert_eq!(
        code,
        ErrorCode::RoomFull,
        "a full lobby turns newcomers away"
    );
}
