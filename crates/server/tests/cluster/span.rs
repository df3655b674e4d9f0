//! A room larger than one node: two nodes of their own (scripts/test-cluster.sh starts them with
//! `media.max_sessions=2`, their own schema, key prefix and Redis), four participants of one
//! room. The room's node holds the media of two; the other two go to the second node, and the
//! nodes relay the room's media to each other over their sealed link. Everyone decodes everyone
//! else's audio and video, a loud participant on the second node is the dominant speaker for
//! one on the first, and a receiver's size constraint picks the layer across the link. Then the
//! second node is killed (-9): the two whose media it held are told `media_reset`
//! (`media_node_lost`), their media comes back through the room's node, and nobody leaves.

use std::time::Duration;

use convene_client::{JoinRequest, Layers, Meeting, MeetingEvent, MeetingOptions, PublishOptions};
use convene_proto::{ClientMessage, ErrorCode, MediaKind, ParticipantId, Role, ServerMessage};

use super::{get, metrics, room, video_from, Env};

fn publish(loudness: u8) -> PublishOptions {
    PublishOptions {
        layers: Layers::Three,
        video_bitrate_bps: 300_000,
        frame_rate: 15,
        audio_loudness: loudness,
        ..PublishOptions::default()
    }
}

async fn audio_from(m: &Meeting, from: &ParticipantId, frames: u64) {
    for _ in 0..300 {
        let st = m.stats().await.expect("stats");
        if st
            .tracks_from(from)
            .any(|t| t.kind == MediaKind::Audio && t.frames >= frames)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no audio from {from} reached {}", m.joined().participant_id);
}

/// Both nodes' metrics once the room's node has placed two sessions on the other and the other
/// counts both as held (it counts each when the placement reaches it over their link, which can
/// be a moment after the join is answered), or as they are after 10 s, for the assertions to
/// report.
async fn settled_span_metrics(
    nodes: &[std::net::SocketAddr],
) -> Vec<std::collections::HashMap<String, f64>> {
    let placed = "convene_span_sessions{role=\"placed_elsewhere\"}";
    let held = "convene_span_sessions{role=\"held_here\"}";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m: Vec<_> = futures_util::future::join_all(nodes.iter().map(|n| metrics(*n))).await;
        let settled = (0..2).any(|i| get(&m[i], placed) == 2.0 && get(&m[1 - i], held) == 2.0);
        if settled || tokio::time::Instant::now() >= deadline {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn a_room_larger_than_one_node_spans_two(env: &Env) {
    let nodes = &env.span_nodes;
    let name = room("span");
    let mut meetings = Vec::new();
    // The fourth is loud, the others silent: the dominant speaker is the fourth. The first joins
    // through the first node, the others through the room's node (found after the first join),
    // so that losing the other node costs nobody their signaling, only media.
    let mut signaling_at = nodes[0];
    for (i, who) in ["Ada", "Bob", "Cyd", "Dee"].into_iter().enumerate() {
        let url = format!("ws://{signaling_at}/ws");
        let options = MeetingOptions {
            publish: publish(if i == 3 { 110 } else { 0 }),
            ..MeetingOptions::default()
        };
        let m = Meeting::join(&url, JoinRequest::new(name.as_str(), who), options)
            .await
            .unwrap_or_else(|e| panic!("{who} joins a room whose node is full: {e}"));
        meetings.push(m);
        if i == 0 {
            let rooms: Vec<_> =
                futures_util::future::join_all(nodes.iter().map(|n| metrics(*n))).await;
            let at = (0..2)
                .find(|&i| get(&rooms[i], "convene_rooms") == 1.0)
                .expect("one node runs the room");
            signaling_at = nodes[at];
            if at != 0 {
                // Relayed through the other node: in again, directly.
                if let Some(m) = meetings.pop() {
                    let _ = m.leave().await;
                }
                let url = format!("ws://{signaling_at}/ws");
                let options = MeetingOptions {
                    publish: publish(0),
                    ..MeetingOptions::default()
                };
                let m = Meeting::join(&url, JoinRequest::new(name.as_str(), who), options)
                    .await
                    .expect("Ada joins on the room's node");
                meetings.push(m);
            }
        }
    }
    let m = settled_span_metrics(nodes).await;
    let placed = |i: usize| get(&m[i], "convene_span_sessions{role=\"placed_elsewhere\"}");
    let held = |i: usize| get(&m[i], "convene_span_sessions{role=\"held_here\"}");
    let owner = (0..2)
        .find(|&i| placed(i) == 2.0)
        .unwrap_or_else(|| panic!("the room's node placed two sessions elsewhere: {m:?}"));
    let helper = 1 - owner;
    assert_eq!(held(helper), 2.0, "the other node holds them");
    for (i, mi) in m.iter().enumerate() {
        assert!(get(mi, "convene_span_links") >= 1.0, "node {i} has a link");
    }

    // Media both ways across the link: everyone decodes everyone else.
    let ids: Vec<ParticipantId> = meetings
        .iter()
        .map(|m| m.joined().participant_id.clone())
        .collect();
    for (i, m) in meetings.iter().enumerate() {
        for (j, from) in ids.iter().enumerate() {
            if i != j {
                video_from(m, from, 10).await;
                audio_from(m, from, 20).await;
            }
        }
    }
    // Each node's room is on both its workers (room_spread_threshold=1), and each packet crossed
    // once for the node's cores that wanted it: on each node, more deliveries than messages.
    let m: Vec<_> = futures_util::future::join_all(nodes.iter().map(|n| metrics(*n))).await;
    for (i, mi) in m.iter().enumerate() {
        let (received, delivered) = (
            get(mi, "convene_span_relay_received_total"),
            get(mi, "convene_span_relay_delivered_total"),
        );
        assert!(
            received > 100.0 && delivered > received,
            "node {i}: {received} relay messages received, {delivered} deliveries"
        );
    }
    // Ada's media is on the room's node, Dee's on the other (the first two joins filled it).
    speaker_across_the_link(&mut meetings[0], &ids[3]).await;
    layer_choice_across_the_link(&meetings[0], &ids[3]).await;
    layer_choice_across_the_link(&meetings[3], &ids[0]).await;
    no_recording_while_spread(&mut meetings).await;
    a_lost_helpers_sessions_come_back(env, helper, &mut meetings, &ids).await;
    for m in meetings {
        let _ = m.leave().await;
    }
}

/// A participant on the room's node hears that the loud one (on the other) speaks.
async fn speaker_across_the_link(ada: &mut Meeting, loud: &ParticipantId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, ada.next_event()).await {
            Ok(Some(MeetingEvent::Message(ServerMessage::DominantSpeaker {
                participant_id: Some(p),
            }))) if &p == loud => return,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no dominant_speaker naming {loud} within 20 s"),
        }
    }
}

/// `m` first gets the top layer of `from`'s video, then asks for a small one: the low layer
/// comes and the top one stops, so the publisher's node relays what the other node wants.
async fn layer_choice_across_the_link(m: &Meeting, from: &ParticipantId) {
    let frames = |st: &convene_client::MediaStats| {
        st.tracks_from(from)
            .find(|t| t.kind == MediaKind::Video)
            .map(|t| (t.track_id.clone(), t.layer_frames))
    };
    let mut top = false;
    for _ in 0..200 {
        let st = m.stats().await.expect("stats");
        if frames(&st).is_some_and(|(_, l)| l[2] > 10) {
            top = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        top,
        "the top layer of {from}'s video reached {}",
        m.joined().participant_id
    );
    let st = m.stats().await.expect("stats");
    let (track, _) = frames(&st).expect("a video track");
    m.set_video_constraint(track, Some((320, 180)))
        .await
        .expect("constrain");
    // A switch waits for a keyframe of the new layer (the publisher's node asks for one).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = frames(&m.stats().await.expect("stats")).expect("video").1;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = frames(&m.stats().await.expect("stats")).expect("video").1;
    assert!(
        after[0] > before[0] + 5,
        "the low layer flows: {before:?} -> {after:?}"
    );
    assert_eq!(
        after[2], before[2],
        "the top layer stopped: {before:?} -> {after:?}"
    );
}

/// Video frames `m` received from `from`, on every track it had of it (a rebuilt peer connection
/// brings new ones).
async fn video_frames(m: &Meeting, from: &ParticipantId) -> u64 {
    let st = m.stats().await.expect("stats");
    st.tracks
        .iter()
        .filter(|t| &t.participant_id == from && t.kind == MediaKind::Video)
        .map(|t| t.frames)
        .sum()
}

/// kill -9 of the node holding the third and fourth participants' media.
async fn a_lost_helpers_sessions_come_back(
    env: &Env,
    helper: usize,
    meetings: &mut [Meeting],
    ids: &[ParticipantId],
) {
    let pid = env.span_pids[helper].to_string();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    for m in meetings[2..].iter_mut() {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, m.next_event()).await {
                Ok(Some(MeetingEvent::MediaRebuilt { reason })) => {
                    assert_eq!(reason, "media_node_lost");
                    break;
                }
                Ok(Some(MeetingEvent::Ended(why))) => panic!("the meeting ended: {why:?}"),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("no media_reset within 15 s of losing the node"),
            }
        }
    }
    // Their media reaches the first participant again, now through the room's node.
    for from in &ids[2..] {
        let before = video_frames(&meetings[0], from).await;
        let mut flowing = false;
        for _ in 0..150 {
            if video_frames(&meetings[0], from).await >= before + 20 {
                flowing = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            flowing,
            "video from {from} flows again after its node was lost"
        );
    }
    // Nobody left the meeting.
    while let Some(e) = meetings[0].try_next_event() {
        if let MeetingEvent::Message(ServerMessage::ParticipantLeft { participant_id, .. }) = e {
            panic!("{participant_id} left when only their media's node was lost");
        }
    }
}

/// The host asks to record: refused while the meeting's media is spread over the two nodes (the
/// recording would hold the tracks of one only).
async fn no_recording_while_spread(meetings: &mut [Meeting]) {
    let host = meetings
        .iter_mut()
        .find(|m| m.joined().role == Role::Host)
        .expect("a host");
    host.send(ClientMessage::StartRecording)
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, host.next_event()).await {
            Ok(Some(MeetingEvent::Message(ServerMessage::Error { code, message, .. }))) => {
                assert_eq!(code, ErrorCode::ServerBusy, "{message}");
                assert!(message.contains("larger than one server"), "{message}");
                return;
            }
            Ok(Some(MeetingEvent::Message(ServerMessage::RecordingStarted { .. }))) => {
                panic!("a recording started that would miss half the meeting")
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no answer to start_recording within 10 s"),
        }
    }
}
