//! The product client (`convene_client::Meeting`) against the in-process server: it comes back
//! by itself after a dropped connection as the same participant, rebuilds its media after
//! `media_reset`, and does not retry a terminal close.
//!
//! A WebSocket proxy between the client and the server drops the connection (as a network
//! failure or a crashed proxy would) and injects `media_reset`. The server sends `media_reset`
//! only after 30 s without media from a client (`SfuConfig::disconnect_grace`, not configurable),
//! so the injected one stands in for it: what is tested is the client's answer, a new peer
//! connection, which the server takes as a fresh media session (docs/protocol.md, *Media
//! negotiation* 8).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::TestServer;
use convene_client::{
    EndReason, JoinRequest, Layers, Meeting, MeetingEvent, MeetingOptions, PublishOptions,
    Reconnect,
};
use convene_proto::{ClientMessage, LeaveReason, ParticipantId, ServerMessage, TrackId};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

/// What the proxy does to every connection open through it.
#[derive(Clone, Debug)]
enum Ctl {
    /// Drop both sides without a close frame.
    Cut,
    /// Send this text to the client as if the server had.
    Inject(String),
    /// Stop passing anything on, keeping both sockets open (a peer that vanished).
    Freeze,
}

/// A WebSocket proxy on loopback that relays messages both ways.
struct Proxy {
    addr: SocketAddr,
    ctl: broadcast::Sender<Ctl>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (ctl, _) = broadcast::channel(16);
        let ctl2 = ctl.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(relay(tcp, upstream.clone(), ctl2.subscribe()));
            }
        });
        Proxy { addr, ctl }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn send(&self, c: Ctl) {
        self.ctl.send(c).expect("a connection through the proxy");
    }
}

async fn relay(tcp: tokio::net::TcpStream, upstream: String, mut ctl: broadcast::Receiver<Ctl>) {
    let Ok(mut client) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let Ok((mut server, _)) = tokio_tungstenite::connect_async(upstream.as_str()).await else {
        return;
    };
    let mut frozen = false;
    loop {
        if frozen {
            // Hold the sockets, reading and dropping, until the client gives up on them.
            while let Some(Ok(_)) = client.next().await {}
            return;
        }
        tokio::select! {
            m = client.next() => match m {
                Some(Ok(m)) => if server.send(m).await.is_err() { return },
                _ => return,
            },
            m = server.next() => match m {
                Some(Ok(m)) => if client.send(m).await.is_err() { return },
                _ => return,
            },
            c = ctl.recv() => match c {
                Ok(Ctl::Cut) | Err(_) => return,
                Ok(Ctl::Freeze) => frozen = true,
                Ok(Ctl::Inject(text)) => {
                    if client.send(Message::text(text)).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}

fn options(publish: PublishOptions) -> MeetingOptions {
    MeetingOptions {
        publish,
        reconnect: Some(Reconnect {
            max_delay: Duration::from_millis(500),
            ..Reconnect::default()
        }),
        ..MeetingOptions::default()
    }
}

/// Audio and a single video layer: enough to see frames flow, cheap on a shared machine.
fn light() -> PublishOptions {
    PublishOptions {
        layers: Layers::One,
        video_bitrate_bps: 200_000,
        frame_rate: 15,
        ..PublishOptions::default()
    }
}

/// Reads events until `pick` takes one (up to 20 s); returns it and everything before it.
async fn until<T>(
    m: &mut Meeting,
    mut pick: impl FnMut(&MeetingEvent) -> Option<T>,
) -> (T, Vec<MeetingEvent>) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, m.next_event())
            .await
            .unwrap_or_else(|_| panic!("timed out; events so far: {seen:#?}"))
            .unwrap_or_else(|| panic!("the event stream ended; events: {seen:#?}"));
        if let Some(t) = pick(&e) {
            return (t, seen);
        }
        seen.push(e);
    }
}

/// Waits until `m` has received at least `n` video frames on an active track of `from` other
/// than those in `old`; returns that track.
async fn video_from(m: &Meeting, from: &ParticipantId, old: &[TrackId], n: u64) -> TrackId {
    for _ in 0..200 {
        let st = m.stats().await.expect("stats");
        if let Some(t) = st.tracks_from(from).find(|t| {
            t.kind == convene_proto::MediaKind::Video && t.frames >= n && !old.contains(&t.track_id)
        }) {
            return t.track_id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no video from {from} (besides {old:?})");
}

#[tokio::test]
async fn after_a_dropped_connection_the_client_comes_back_as_the_same_participant() {
    let s = TestServer::start().await;
    let proxy = Proxy::start(s.ws_url()).await;
    let mut a = Meeting::join(
        &proxy.url(),
        JoinRequest::new("rc", "Ada"),
        options(light()),
    )
    .await
    .expect("join");
    let me = a.joined().participant_id.clone();
    let mut b = Meeting::join(
        &s.ws_url(),
        JoinRequest::new("rc", "Bob"),
        options(PublishOptions::none()),
    )
    .await
    .expect("join");
    let first = video_from(&b, &me, &[], 10).await;

    proxy.send(Ctl::Cut);
    let (attempt, _) = until(&mut a, |e| match e {
        MeetingEvent::Reconnecting { attempt, .. } => Some(*attempt),
        _ => None,
    })
    .await;
    assert_eq!(attempt, 1);
    let ((id, resumed), before) = until(&mut a, |e| match e {
        MeetingEvent::Reconnected {
            participant_id,
            resumed,
        } => Some((participant_id.clone(), *resumed)),
        _ => None,
    })
    .await;
    assert_eq!((id, resumed), (me.clone(), true), "the same participant");
    assert!(
        before
            .iter()
            .any(|e| matches!(e, MeetingEvent::Message(ServerMessage::Joined(j)) if j.resumed)),
        "the new joined is passed on: {before:#?}"
    );
    // Its new peer connection publishes again, and the other side receives it.
    until(&mut a, |e| {
        (*e == MeetingEvent::MediaConnected).then_some(())
    })
    .await;
    video_from(&b, &me, &[first], 10).await;
    // Nobody saw it leave.
    while let Some(e) = b.try_next_event() {
        assert!(
            !matches!(
                e,
                MeetingEvent::Message(ServerMessage::ParticipantLeft { .. })
            ),
            "{e:?}"
        );
    }
    a.leave().await.expect("leave");
    let (reason, _) = until(&mut b, |e| match e {
        MeetingEvent::Message(ServerMessage::ParticipantLeft { reason, .. }) => Some(*reason),
        _ => None,
    })
    .await;
    assert_eq!(reason, LeaveReason::Left);
}

#[tokio::test]
async fn after_media_reset_the_client_rebuilds_its_media_by_itself() {
    let s = TestServer::start().await;
    let proxy = Proxy::start(s.ws_url()).await;
    let mut a = Meeting::join(
        &proxy.url(),
        JoinRequest::new("mr", "Ada"),
        options(light()),
    )
    .await
    .expect("join");
    let me = a.joined().participant_id.clone();
    let b = Meeting::join(
        &s.ws_url(),
        JoinRequest::new("mr", "Bob"),
        options(PublishOptions::none()),
    )
    .await
    .expect("join");
    let first = video_from(&b, &me, &[], 10).await;
    until(&mut a, |e| {
        (*e == MeetingEvent::MediaConnected).then_some(())
    })
    .await;

    proxy.send(Ctl::Inject(
        r#"{"type": "media_reset", "reason": "no_media_from_client"}"#.into(),
    ));
    let (reason, seen) = until(&mut a, |e| match e {
        MeetingEvent::MediaRebuilt { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reason, "no_media_from_client");
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            MeetingEvent::Reconnecting { .. } | MeetingEvent::Ended(_)
        )),
        "the connection stayed: {seen:#?}"
    );
    until(&mut a, |e| {
        (*e == MeetingEvent::MediaConnected).then_some(())
    })
    .await;
    // A new peer connection: the server publishes new tracks, and frames flow on them.
    let second = video_from(&b, &me, std::slice::from_ref(&first), 10).await;
    assert_ne!(second, first);
    let sent = a.stats().await.expect("stats").sent;
    assert!(
        sent.video_frames[0] > 0 && sent.audio_frames > 0,
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_terminal_close_is_not_retried() {
    let s = TestServer::start().await;
    let host = Meeting::join(
        &s.ws_url(),
        JoinRequest::new("tc", "Host"),
        options(PublishOptions::none()),
    )
    .await
    .expect("join");
    let mut a = Meeting::join(
        &s.ws_url(),
        JoinRequest::new("tc", "Ada"),
        options(PublishOptions::none()),
    )
    .await
    .expect("join");
    let me = a.joined().participant_id.clone();
    host.send(ClientMessage::RemoveParticipant { participant_id: me })
        .await
        .expect("send");
    let (end, seen) = until(&mut a, |e| match e {
        MeetingEvent::Ended(end) => Some(end.clone()),
        _ => None,
    })
    .await;
    assert_eq!(end, EndReason::Removed);
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, MeetingEvent::Reconnecting { .. })),
        "no attempt to come back: {seen:#?}"
    );
    // Nothing follows the end; the handle says so.
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), a.next_event()).await,
        Ok(None)
    );
    assert!(a.send(ClientMessage::Leave).await.is_err());
}

#[tokio::test]
async fn a_server_that_answers_nothing_is_left_for_a_new_connection() {
    let s = TestServer::start().await;
    let proxy = Proxy::start(s.ws_url()).await;
    let mut opts = options(PublishOptions::none());
    opts.ping_interval = Duration::from_millis(200);
    let mut a = Meeting::join(&proxy.url(), JoinRequest::new("fz", "Ada"), opts)
        .await
        .expect("join");
    let me = a.joined().participant_id.clone();
    let t0 = tokio::time::Instant::now();
    proxy.send(Ctl::Freeze);
    let (reason, _) = until(&mut a, |e| match e {
        MeetingEvent::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert_eq!(reason, "no answer from the server");
    // Three ping intervals of silence, not the socket's own (much longer) timeouts.
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    let (id, _) = until(&mut a, |e| match e {
        MeetingEvent::Reconnected { participant_id, .. } => Some(participant_id.clone()),
        _ => None,
    })
    .await;
    assert_eq!(id, me);
}

#[tokio::test]
async fn reconnection_gives_up_when_its_window_passes() {
    let mut s = TestServer::start().await;
    let mut opts = options(PublishOptions::none());
    opts.reconnect = Some(Reconnect {
        max_delay: Duration::from_millis(200),
        attempt_timeout: Duration::from_millis(500),
        window: Some(Duration::from_millis(1500)),
    });
    let mut a = Meeting::join(&s.ws_url(), JoinRequest::new("gu", "Ada"), opts)
        .await
        .expect("join");
    // A drain says `server_shutdown`: worth coming back, but nothing answers any more.
    s.stop().await.expect("stop");
    let t0 = tokio::time::Instant::now();
    let (end, seen) = until(&mut a, |e| match e {
        MeetingEvent::Ended(end) => Some(end.clone()),
        _ => None,
    })
    .await;
    assert!(matches!(end, EndReason::Disconnected { .. }), "{end:?}");
    let attempts: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            MeetingEvent::Reconnecting { attempt, reason } => Some((*attempt, reason.clone())),
            _ => None,
        })
        .collect();
    assert!(attempts.len() >= 2, "{seen:#?}");
    assert_eq!(attempts[0], (1, "server_restarting".to_string()));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(5),
        "gave up after {took:?}"
    );
}

#[tokio::test]
async fn leaving_while_reconnecting_ends_at_once() {
    let mut s = TestServer::start().await;
    let mut opts = options(PublishOptions::none());
    opts.reconnect = Some(Reconnect {
        max_delay: Duration::from_secs(30),
        ..Reconnect::default()
    });
    let mut a = Meeting::join(&s.ws_url(), JoinRequest::new("lr", "Ada"), opts)
        .await
        .expect("join");
    s.stop().await.expect("stop");
    until(&mut a, |e| {
        matches!(e, MeetingEvent::Reconnecting { .. }).then_some(())
    })
    .await;
    // Publishing is kept for later; what needs the server says it is away.
    a.publish(PublishOptions::none()).await.expect("kept");
    assert!(matches!(
        a.send(ClientMessage::Ping { ts: None }).await,
        Err(convene_client::MeetingError::Reconnecting)
    ));
    tokio::time::timeout(Duration::from_secs(1), a.leave())
        .await
        .expect("no waiting for the backoff")
        .expect("leave");
}
