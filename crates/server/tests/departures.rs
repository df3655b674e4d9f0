//! When a participant goes (leave, or a disconnect that outlives the resume window), everyone else
//! hears `track_unpublished` for each of its publications, then `participant_left`, as
//! docs/protocol.md promises.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::TestServer;
use convene_client::{join_msg, MediaConfig, MediaSession, PublishOptions, Signaling, Transport};
use convene_proto::{ClientMessage, ParticipantId, ServerMessage, TrackId};

/// A publisher with audio and video, and an observer (signaling only) that has seen both published.
async fn publisher_and_observer(
    s: &TestServer,
    room: &str,
) -> (MediaSession, Signaling, ParticipantId, BTreeSet<TrackId>) {
    let mut observer = s.client().await;
    observer.join(join_msg(room, "Observer")).await.unwrap();
    let mut sig = s.client().await;
    let joined = sig.join(join_msg(room, "Publisher")).await.unwrap();
    let me = joined.participant_id.clone();
    let config = MediaConfig {
        transport: Transport::Udp,
        publish: PublishOptions::default(),
        ..MediaConfig::default()
    };
    let publisher = MediaSession::start(sig, me.clone(), config).await.unwrap();
    let mut tracks = BTreeSet::new();
    while tracks.len() < 2 {
        let t = observer
            .recv_until(|m| match m {
                ServerMessage::TrackPublished {
                    participant_id,
                    track,
                } if participant_id == &me => Some(track.id.clone()),
                _ => None,
            })
            .await
            .expect("the publisher's tracks are announced");
        tracks.insert(t);
    }
    (publisher, observer, me, tracks)
}

/// Collects `track_unpublished` of `who` until its `participant_left`; returns both.
async fn unpublished_then_left(
    observer: &mut Signaling,
    who: &ParticipantId,
) -> (BTreeSet<TrackId>, String) {
    let mut ended = BTreeSet::new();
    observer.timeout = Duration::from_secs(10);
    loop {
        match observer.recv().await.expect("events") {
            ServerMessage::TrackUnpublished {
                participant_id,
                track_id,
            } if &participant_id == who => {
                ended.insert(track_id);
            }
            ServerMessage::ParticipantLeft {
                participant_id,
                reason,
            } if &participant_id == who => {
                return (ended, reason.as_str().to_owned());
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leavers_tracks_are_unpublished_for_everyone() {
    let s = TestServer::start().await;
    let (publisher, mut observer, who, tracks) = publisher_and_observer(&s, "dep-leave").await;
    publisher.send(ClientMessage::Leave).await.unwrap();
    let (ended, reason) = unpublished_then_left(&mut observer, &who).await;
    assert_eq!(
        ended, tracks,
        "every track ends before the participant leaves"
    );
    assert_eq!(reason, "left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_past_the_window_unpublishes_the_tracks() {
    let s = TestServer::with(|c| c.rooms.resume_window_secs = 1).await;
    let (publisher, mut observer, who, tracks) = publisher_and_observer(&s, "dep-drop").await;
    // The connection goes without a leave; nobody resumes it.
    let sig = publisher.stop().await.unwrap();
    sig.abort();
    let (ended, reason) = unpublished_then_left(&mut observer, &who).await;
    assert_eq!(ended, tracks);
    assert_eq!(reason, "disconnected");
}
