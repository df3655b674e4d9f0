//! Connection quality through the protocol: a client's report reaches everyone in its participant's
//! `connection_quality`, out-of-range reports are refused, and a per-participant throttle keeps a
//! flapping or chatty client from flooding the room (each throttle test fails without its throttle).

mod common;

use std::time::{Duration, Instant};

use common::{assert_quiet, next_update, TestServer};
use convene_client::Signaling;
use convene_proto::{
    ClientMessage, ConnectionQuality, ErrorCode, ParticipantId, QualityLevel, ServerMessage,
};

fn report(level: QualityLevel, loss_pct: f64, rtt_ms: u32) -> ClientMessage {
    ClientMessage::SetConnectionQuality {
        level,
        loss_pct,
        rtt_ms,
    }
}

/// The connection quality of `who` in each `participant_updated` that reaches `c` within `wait`.
async fn updates_of(
    c: &mut Signaling,
    who: &ParticipantId,
    wait: Duration,
) -> Vec<Option<ConnectionQuality>> {
    let saved = c.timeout;
    let deadline = Instant::now() + wait;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        c.timeout = left;
        match c.recv().await {
            Ok(ServerMessage::ParticipantUpdated { participant }) if &participant.id == who => {
                seen.push(participant.connection_quality)
            }
            Ok(_) => {}
            Err(convene_client::ClientError::Timeout) => break,
            Err(e) => panic!("connection failed: {e}"),
        }
    }
    c.timeout = saved;
    seen
}

fn q(level: QualityLevel, loss_pct: f64, rtt_ms: u32) -> Option<ConnectionQuality> {
    Some(ConnectionQuality {
        level,
        loss_pct,
        rtt_ms,
    })
}

#[tokio::test]
async fn a_report_reaches_everyone_and_later_joiners() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("links", "Ada").await;
    assert_eq!(
        ja.participants[0].connection_quality, None,
        "null until reported"
    );
    let (mut b, _) = s.join("links", "Bob").await;
    a.send(&report(QualityLevel::Poor, 3.26, 140))
        .await
        .unwrap();
    for c in [&mut a, &mut b] {
        let p = next_update(c).await;
        assert_eq!(p.id, ja.participant_id);
        // Kept to one decimal: finer noise is not a change worth sending.
        assert_eq!(p.connection_quality, q(QualityLevel::Poor, 3.3, 140));
    }
    let (_c, jc) = s.join("links", "Cy").await;
    let ada = jc
        .participants
        .iter()
        .find(|p| p.id == ja.participant_id)
        .unwrap();
    assert_eq!(ada.connection_quality, q(QualityLevel::Poor, 3.3, 140));
    assert_eq!(
        s.metric("convene_messages_in_total{type=\"set_connection_quality\"}")
            .await,
        1.0
    );
}

#[tokio::test]
async fn reports_out_of_range_are_refused_and_reach_nobody() {
    let s = TestServer::start().await;
    let (mut a, _) = s.join("ranges", "Ada").await;
    let (mut b, _) = s.join("ranges", "Bob").await;
    for text in [
        r#"{"type":"set_connection_quality","level":"good","loss_pct":100.5,"rtt_ms":10}"#,
        r#"{"type":"set_connection_quality","level":"good","loss_pct":-1,"rtt_ms":10}"#,
        r#"{"type":"set_connection_quality","level":"good","loss_pct":1,"rtt_ms":60001}"#,
        r#"{"type":"set_connection_quality","level":"awful","loss_pct":1,"rtt_ms":10}"#,
    ] {
        a.send_raw(text).await.unwrap();
        let (code, request) = a
            .recv_until(|m| match m {
                ServerMessage::Error { code, request, .. } => Some((*code, request.clone())),
                _ => None,
            })
            .await
            .unwrap();
        assert_eq!(code, ErrorCode::InvalidMessage, "{text}");
        assert_eq!(request.as_deref(), Some("set_connection_quality"));
    }
    assert_quiet(&mut b, Duration::from_millis(300), "an update", |m| {
        matches!(m, ServerMessage::ParticipantUpdated { .. })
    })
    .await;
    // The ends of the ranges are fine.
    a.send(&report(QualityLevel::Bad, 100.0, 60_000))
        .await
        .unwrap();
    assert_eq!(
        next_update(&mut b).await.connection_quality,
        q(QualityLevel::Bad, 100.0, 60_000)
    );
}

#[tokio::test]
async fn a_flapping_level_is_sent_at_most_once_a_second_and_the_last_one_arrives() {
    let s = TestServer::start().await;
    let (mut a, ja) = s.join("flap", "Ada").await;
    let (mut b, _) = s.join("flap", "Bob").await;
    use QualityLevel::*;
    for level in [Good, Poor, Bad, Good, Poor] {
        a.send(&report(level, 1.0, 50)).await.unwrap();
    }
    let first = updates_of(&mut b, &ja.participant_id, Duration::from_millis(700)).await;
    assert_eq!(
        first,
        vec![q(Good, 1.0, 50)],
        "the first at once, the rest held"
    );
    let then = updates_of(&mut b, &ja.participant_id, Duration::from_millis(1500)).await;
    assert_eq!(
        then,
        vec![q(Poor, 1.0, 50)],
        "one more, the latest, a second later"
    );
}

#[tokio::test]
async fn figures_at_the_same_level_are_sent_at_most_once_per_interval() {
    let s = TestServer::with(|c| c.rooms.quality_figures_interval_secs = 2).await;
    let (mut a, ja) = s.join("figures", "Ada").await;
    let (mut b, _) = s.join("figures", "Bob").await;
    let me = ja.participant_id.clone();
    use QualityLevel::*;
    a.send(&report(Good, 0.5, 40)).await.unwrap();
    assert_eq!(
        updates_of(&mut b, &me, Duration::from_millis(300)).await,
        vec![q(Good, 0.5, 40)]
    );
    for (loss, rtt) in [(1.0, 42), (1.5, 45), (1.2, 41)] {
        a.send(&report(Good, loss, rtt)).await.unwrap();
    }
    let held = updates_of(&mut b, &me, Duration::from_millis(1200)).await;
    assert!(held.is_empty(), "figures held back: {held:?}");
    let later = updates_of(&mut b, &me, Duration::from_millis(1500)).await;
    assert_eq!(
        later,
        vec![q(Good, 1.2, 41)],
        "the latest, when the interval ends"
    );
    // A level change does not wait for the figures' interval (a second after the last one).
    tokio::time::sleep(Duration::from_millis(1000)).await;
    a.send(&report(Bad, 9.0, 41)).await.unwrap();
    assert_eq!(
        updates_of(&mut b, &me, Duration::from_millis(400)).await,
        vec![q(Bad, 9.0, 41)]
    );
    // A report equal to what is shown cancels one held back: nothing to send.
    a.send(&report(Bad, 12.0, 41)).await.unwrap();
    a.send(&report(Bad, 9.0, 41)).await.unwrap();
    let none = updates_of(&mut b, &me, Duration::from_millis(2600)).await;
    assert!(none.is_empty(), "{none:?}");
}

#[tokio::test]
async fn a_socket_that_has_not_joined_cannot_report() {
    let s = TestServer::start().await;
    let mut c = s.client().await;
    c.send(&report(QualityLevel::Good, 0.0, 10)).await.unwrap();
    let (code, request) = c
        .recv_until(|m| match m {
            ServerMessage::Error { code, request, .. } => Some((*code, request.clone())),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(code, ErrorCode::NotJoined);
    assert_eq!(request.as_deref(), Some("set_connection_quality"));
}
