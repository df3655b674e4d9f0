//! People in a meeting, for the moderation tests: joins as a guest, an account or a token holder,
//! and the messages they expect.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use convene_client::{join_msg, ClientError, Signaling};
use convene_proto::{ClientMessage, ErrorCode, Joined, ParticipantId, ServerMessage};

use crate::common::TestServer;

/// How someone comes to a meeting.
#[derive(Clone, Copy)]
pub enum As<'a> {
    Guest,
    /// A browser signed in with this session cookie.
    Account(&'a str),
    /// The holder of this access token.
    Token(&'a str),
}

/// Opens a connection as `who` and sends `join`; `resume` presents a resume token.
pub async fn connect(s: &TestServer, who: As<'_>) -> Signaling {
    let origin = format!("http://{}", s.addr);
    let mut headers = vec![("Origin", origin.as_str())];
    if let As::Account(cookie) = who {
        headers.push(("Cookie", cookie));
    }
    Signaling::connect_with_headers(&s.ws_url(), &headers)
        .await
        .expect("connect")
}

pub fn join_message(room: &str, name: &str, who: As<'_>, resume: Option<&str>) -> ClientMessage {
    let mut msg = join_msg(room, name);
    if let ClientMessage::Join {
        access_token,
        resume_token,
        ..
    } = &mut msg
    {
        if let As::Token(t) = who {
            *access_token = Some(t.into());
        }
        *resume_token = resume.map(str::to_owned);
    }
    msg
}

/// Joins and waits for `joined`, or the code that refused it.
pub async fn try_join(
    s: &TestServer,
    room: &str,
    name: &str,
    who: As<'_>,
    resume: Option<&str>,
) -> Result<(Signaling, Joined), ErrorCode> {
    let mut c = connect(s, who).await;
    match c.join(join_message(room, name, who, resume)).await {
        Ok(j) => Ok((c, j)),
        Err(ClientError::Refused { code, .. }) => Err(code),
        Err(e) => panic!("join failed: {e}"),
    }
}

pub async fn join(s: &TestServer, room: &str, name: &str, who: As<'_>) -> (Signaling, Joined) {
    try_join(s, room, name, who, None)
        .await
        .unwrap_or_else(|code| panic!("{name} was refused: {code:?}"))
}

/// Sends `msg` and expects it refused with `code`.
pub async fn refused(c: &mut Signaling, msg: ClientMessage, code: ErrorCode) {
    let ty = msg.type_name();
    c.send(&msg).await.expect("send");
    let (got, message, request) = crate::common::next_error(c).await;
    assert_eq!(
        (got, request.as_deref()),
        (code, Some(ty)),
        "{ty}: {message}"
    );
}

/// Sends `msg`, then a ping, and checks that no error came before the pong: accepted.
pub async fn accepted(c: &mut Signaling, msg: ClientMessage) {
    let ty = msg.type_name();
    c.send(&msg).await.expect("send");
    c.send(&ClientMessage::Ping { ts: Some(7.0) })
        .await
        .expect("ping");
    c.recv_until(|m| match m {
        ServerMessage::Error { code, message, .. } => panic!("{ty} refused: {code:?} {message}"),
        ServerMessage::Pong { ts: Some(t), .. } if *t == 7.0 => Some(()),
        _ => None,
    })
    .await
    .expect("pong");
}

/// The next `participant_updated` about `id`.
pub async fn update_of(c: &mut Signaling, id: &ParticipantId) -> convene_proto::ParticipantInfo {
    c.recv_until(|m| match m {
        ServerMessage::ParticipantUpdated { participant } if &participant.id == id => {
            Some(participant.clone())
        }
        _ => None,
    })
    .await
    .expect("an update")
}

/// The first `participant_updated` about `id` for which `pred` holds.
pub async fn update_where(
    c: &mut Signaling,
    id: &ParticipantId,
    pred: impl Fn(&convene_proto::ParticipantInfo) -> bool,
) -> convene_proto::ParticipantInfo {
    c.recv_until(|m| match m {
        ServerMessage::ParticipantUpdated { participant }
            if &participant.id == id && pred(participant) =>
        {
            Some(participant.clone())
        }
        _ => None,
    })
    .await
    .expect("an update")
}

/// The next `moderated` notice: its action, source and role.
pub async fn notice(
    c: &mut Signaling,
) -> (
    convene_proto::ModerationAction,
    Option<convene_proto::Source>,
    Option<String>,
) {
    c.recv_until(|m| match m {
        ServerMessage::Moderated {
            action,
            source,
            by_name,
            ..
        } => Some((*action, *source, by_name.clone())),
        _ => None,
    })
    .await
    .expect("a moderated notice")
}
