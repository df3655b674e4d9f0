//! Reactions: relayed to everyone in the room (the sender too), only from the fixed set, only from a
//! joined participant whose policy allows chat, and within each participant's own rate limit.

mod common;

use std::time::Duration;

use common::{assert_quiet, next_error, TestServer};
use convene_client::{join_msg, Signaling};
use convene_proto::{ClientMessage, ErrorCode, ParticipantId, ServerMessage, REACTIONS};
use convene_server::auth::tokens::{self, Grants};

fn react(emoji: &str) -> ClientMessage {
    ClientMessage::SendReaction {
        emoji: emoji.into(),
    }
}

/// The next reaction on `c`: who and what.
async fn next_reaction(c: &mut Signaling) -> (ParticipantId, String, i64) {
    c.recv_until(|m| match m {
        ServerMessage::Reaction {
            participant_id,
            emoji,
            ts,
        } => Some((participant_id.clone(), emoji.clone(), *ts)),
        _ => None,
    })
    .await
    .expect("a reaction")
}

/// Counts the reactions that reach `c` until none has come for `quiet`.
async fn count_reactions(c: &mut Signaling, quiet: Duration) -> usize {
    let saved = c.timeout;
    c.timeout = quiet;
    let mut n = 0;
    loop {
        match c.recv().await {
            Ok(ServerMessage::Reaction { .. }) => n += 1,
            Ok(_) => {}
            Err(convene_client::ClientError::Timeout) => break,
            Err(e) => panic!("connection failed while counting: {e}"),
        }
    }
    c.timeout = saved;
    n
}

fn is_reaction(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Reaction { .. })
}

#[tokio::test]
async fn a_reaction_reaches_the_others_and_the_sender() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("cheer", "Ada").await;
    let (mut b, _) = s.join("cheer", "Bob").await;
    let before = s
        .metric("convene_messages_out_total{type=\"reaction\"}")
        .await;
    for emoji in REACTIONS {
        a.send(&react(emoji)).await.unwrap();
        for c in [&mut a, &mut b] {
            let (from, got, ts) = next_reaction(c).await;
            assert_eq!(from, ja.participant_id);
            assert_eq!(got, *emoji);
            assert!(ts >= ja.server_time, "server time: {ts}");
        }
        // Wait out the default limit (5 in a row, then 1 a second) for the sixth.
        if emoji == &REACTIONS[4] {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
    }
    assert_eq!(
        s.metric("convene_messages_in_total{type=\"send_reaction\"}")
            .await,
        REACTIONS.len() as f64
    );
    assert_eq!(
        s.metric("convene_messages_out_total{type=\"reaction\"}")
            .await
            - before,
        2.0 * REACTIONS.len() as f64
    );
}

#[tokio::test]
async fn an_emoji_outside_the_set_is_refused_and_reaches_nobody() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("odd", "Ada").await;
    let (mut b, _) = s.join("odd", "Bob").await;
    // Another emoji, text, the heart without its variation selector, two reactions in one.
    for other in ["\u{1F4A9}", "hello", "\u{2764}", "\u{1F44D}\u{1F44D}", ""] {
        a.send(&react(other)).await.unwrap();
        let (code, message, request) = next_error(&mut a).await;
        assert_eq!(code, ErrorCode::InvalidReaction, "{other:?}");
        assert_eq!(request.as_deref(), Some("send_reaction"));
        assert!(
            REACTIONS.iter().all(|r| message.contains(r)),
            "the error lists the set: {message}"
        );
    }
    assert_quiet(&mut b, Duration::from_millis(300), "reaction", is_reaction).await;
    // Refused ones took nothing from the bucket: a full burst still passes.
    for _ in 0..s.config.limits.reactions_burst {
        a.send(&react(REACTIONS[0])).await.unwrap();
    }
    assert_eq!(
        count_reactions(&mut b, Duration::from_millis(400)).await,
        s.config.limits.reactions_burst as usize
    );
}

#[tokio::test]
async fn a_burst_over_the_limit_is_refused_and_the_others_get_exactly_the_burst() {
    // A refill so slow that none happens during the test.
    let s = TestServer::with(|c| {
        c.limits.reactions_per_sec = 0.01;
        c.limits.reactions_burst = 5;
    })
    .await;
    let (mut a, ja) = s.join("burst", "Ada").await;
    let (mut b, _) = s.join("burst", "Bob").await;
    for _ in 0..8 {
        a.send(&react("\u{1F44F}")).await.unwrap();
    }
    assert_eq!(count_reactions(&mut b, Duration::from_millis(500)).await, 5);
    // The sender sees its five and three refusals, each naming the request.
    let (mut seen, mut refused) = (0, 0);
    a.timeout = Duration::from_millis(500);
    while let Ok(m) = a.recv().await {
        match m {
            ServerMessage::Reaction { .. } => seen += 1,
            ServerMessage::Error { code, request, .. } => {
                assert_eq!(code, ErrorCode::RateLimited);
                assert_eq!(request.as_deref(), Some("send_reaction"));
                refused += 1;
            }
            _ => {}
        }
    }
    assert_eq!((seen, refused), (5, 3));
    // The general limit is another one: the connection still works for everything else.
    a.send(&ClientMessage::SetHand { raised: true })
        .await
        .unwrap();
    let p = common::next_update(&mut b).await;
    assert!(p.hand_raised);
    // The limit is Ada's own: Bob may react.
    b.send(&react("\u{1F389}")).await.unwrap();
    assert_ne!(next_reaction(&mut a).await.0, ja.participant_id);
    assert_ne!(
        next_reaction(&mut b).await.0,
        ja.participant_id,
        "its own echo"
    );
    // And it is the participant's, not the connection's: coming back on a new one refills nothing.
    let mut again = s.client().await;
    let mut msg = join_msg("burst", "Ada");
    if let ClientMessage::Join { resume_token, .. } = &mut msg {
        *resume_token = Some(ja.resume_token.clone());
    }
    let j = again.join(msg).await.expect("resume");
    assert!(j.resumed);
    again.send(&react("\u{1F44F}")).await.unwrap();
    assert_eq!(next_error(&mut again).await.0, ErrorCode::RateLimited);
    assert_quiet(&mut b, Duration::from_millis(300), "reaction", is_reaction).await;
}

#[tokio::test]
async fn the_bucket_refills_at_its_rate() {
    let s = TestServer::with(|c| {
        c.limits.reactions_per_sec = 4.0;
        c.limits.reactions_burst = 1;
    })
    .await;
    let (mut a, _) = s.join("refill", "Ada").await;
    a.send(&react("\u{1F602}")).await.unwrap();
    a.send(&react("\u{1F602}")).await.unwrap();
    next_reaction(&mut a).await;
    assert_eq!(next_error(&mut a).await.0, ErrorCode::RateLimited);
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.send(&react("\u{1F602}")).await.unwrap();
    next_reaction(&mut a).await;
}

#[tokio::test]
async fn a_socket_that_has_not_joined_cannot_react() {
    let s = TestServer::start().await;
    let (mut member, _) = s.join("closed-door", "Ada").await;
    let mut outsider = s.client().await;
    outsider.send(&react("\u{1F44D}")).await.unwrap();
    let (code, _, request) = next_error(&mut outsider).await;
    assert_eq!(code, ErrorCode::NotJoined);
    assert_eq!(request.as_deref(), Some("send_reaction"));
    assert_quiet(
        &mut member,
        Duration::from_millis(300),
        "reaction",
        is_reaction,
    )
    .await;
}

#[tokio::test]
async fn a_token_without_chat_cannot_react() {
    const KEY: &str = "k1:0123456789abcdef0123456789abcdef";
    let s = TestServer::with(|c| c.auth.token_keys = vec![KEY.into()]).await;
    let (mut member, _) = s.join("muted-room", "Ada").await;
    let grants = Grants {
        chat: false,
        ..Grants::default()
    };
    let (token, _) =
        tokens::make(&s.config, "muted-room", "u1", None, Some(600), grants, None).expect("token");
    let mut c = s.client().await;
    let mut msg = join_msg("muted-room", "Quiet");
    if let ClientMessage::Join { access_token, .. } = &mut msg {
        *access_token = Some(token);
    }
    c.join(msg).await.expect("the token admits");
    c.send(&react("\u{1F44D}")).await.unwrap();
    let (code, _, request) = next_error(&mut c).await;
    assert_eq!(code, ErrorCode::Forbidden);
    assert_eq!(request.as_deref(), Some("send_reaction"));
    assert_quiet(
        &mut member,
        Duration::from_millis(300),
        "reaction",
        is_reaction,
    )
    .await;
}
