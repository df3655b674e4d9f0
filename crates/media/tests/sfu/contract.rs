//! What docs/protocol.md (*Media negotiation*) promises a client, checked on the SDP and events
//! the core really makes.

use std::time::Duration;

use convene_media::Event;

use super::sim::World;

/// The values of `a=<name>:` lines, in order.
fn attrs<'a>(sdp: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("a={name}:");
    sdp.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .map(str::trim)
        .collect()
}

/// The m-sections of an SDP (each from its `m=` line to the next).
fn sections(sdp: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in sdp.lines() {
        if l.starts_with("m=") {
            out.push(String::new());
        }
        if let Some(s) = out.last_mut() {
            s.push_str(l);
            s.push('\n');
        }
    }
    out
}

/// One transport for every m-line (max-bundle), the server's candidates once, ICE-lite; and
/// `ice-options:trickle`, which says the server accepts candidates trickled by the client
/// (RFC 8840), while the server itself sends none: its candidates are all in its SDP.
fn assert_bundled(sdp: &str, what: &str) {
    let mids = attrs(sdp, "mid");
    let group = attrs(sdp, "group");
    assert_eq!(group.len(), 1, "{what}: one group\n{sdp}");
    let bundled: Vec<&str> = group[0].split_whitespace().collect();
    assert_eq!(bundled[0], "BUNDLE", "{what}");
    assert_eq!(&bundled[1..], &mids[..], "{what}: every m-line is bundled");
    assert!(sdp.lines().any(|l| l.trim() == "a=ice-lite"), "{what}");
    let with_candidates: Vec<usize> = sections(sdp)
        .iter()
        .enumerate()
        .filter(|(_, s)| s.contains("a=candidate:"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        with_candidates,
        [0],
        "{what}: candidates once, in the first m-line"
    );
    for s in sections(sdp) {
        assert!(s.contains("a=ice-options:trickle"), "{what}: {s}");
        assert!(!s.contains("a=end-of-candidates"), "{what}: {s}");
    }
}

#[test]
fn answers_and_offers_bundle_every_m_line_on_one_transport() {
    let mut w = World::new(3);
    w.join("alice", true, true);
    w.join("bob", false, false);
    w.run_for(Duration::from_secs(2));
    assert_bundled(&w.client("alice").answers[0], "answer to alice");
    let offers: Vec<&String> = w
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::SendOffer { sdp, .. } => Some(sdp),
            _ => None,
        })
        .collect();
    assert!(!offers.is_empty(), "bob is offered alice's tracks");
    for sdp in offers {
        assert_bundled(sdp, "server offer");
    }
}

#[test]
fn a_server_offer_names_each_track_by_its_published_id() {
    let mut w = World::new(4);
    w.join("alice", true, true);
    w.join("bob", false, false);
    w.run_for(Duration::from_secs(2));
    let mut published = Vec::new();
    let mut offered = Vec::new();
    for (_, e) in &w.events {
        match e {
            Event::TrackPublished { track, mid, .. } => published.push((track.clone(), mid)),
            Event::SendOffer { tracks, sdp, .. } => {
                for t in tracks {
                    // The SDP names the track too: a=msid:<participant> <track>.
                    let msid = format!("{} {}", t.publisher, t.track);
                    assert!(attrs(sdp, "msid").contains(&msid.as_str()), "{msid}");
                    offered.push((t.track.clone(), t.mid.clone()));
                }
            }
            _ => {}
        }
    }
    assert_eq!(published.len(), 2);
    for (track, publisher_mid) in &published {
        let (_, subscriber_mid) = offered
            .iter()
            .find(|(t, _)| t == track)
            .unwrap_or_else(|| panic!("{track} offered under the id it was published with"));
        // Mids are opaque strings of each session: the subscriber's differs from the publisher's.
        assert_ne!(subscriber_mid, *publisher_mid);
    }
}

#[test]
fn publishing_nothing_a_client_may_offer_a_data_channel_or_an_inactive_audio_line() {
    let mut w = World::new(5);
    let alice = w.join("alice", true, true);
    w.join_with_data_channel("bob");
    w.join("cy", false, false);
    assert!(w.client("bob").answers[0].contains("m=application"));
    w.run_for(Duration::from_secs(6));
    for name in ["bob", "cy"] {
        let c = w.client(name);
        assert!(c.connected, "{name} connected");
        assert_eq!(c.corrupt_frames(), 0, "{name}");
        let (audio, video) = (c.audio_from(alice as u8), c.video_from(alice as u8));
        assert!(audio.len() > 150, "{name} hears alice: {}", audio.len());
        assert!(video.len() > 60, "{name} sees alice: {}", video.len());
    }
    let published_by = |who: &str| {
        w.events.iter().any(
            |(_, e)| matches!(e, Event::TrackPublished { participant, .. } if participant.as_str() == who),
        )
    };
    assert!(
        !published_by("bob") && !published_by("cy"),
        "nothing published"
    );
}

#[test]
fn a_track_declaration_that_cannot_apply_is_refused_and_changes_nothing() {
    use convene_media::{MediaError, Sfu, SfuConfig, TrackSource};
    use convene_proto::{ParticipantId, RoomId};
    use std::time::Instant;

    let now = Instant::now();
    let mut sfu = Sfu::new(SfuConfig::default(), now).unwrap();
    let id = ParticipantId::new("alice");
    sfu.add_participant(RoomId::new("r"), id.clone(), now)
        .unwrap();
    let mut c =
        super::client::TestClient::new(1, id.clone(), super::sim::core_addr(9), true, true, now);
    let (offer, sources) = c.make_offer();
    let (audio, video) = (sources[0].0.clone(), sources[1].0.clone());
    let cases = [
        (vec![(audio.clone(), TrackSource::Camera)], "is audio"),
        (vec![(video.clone(), TrackSource::ScreenAudio)], "is video"),
        (
            vec![("nope".to_owned(), TrackSource::Microphone)],
            "is not an m-line",
        ),
        (
            vec![
                (video.clone(), TrackSource::Screen),
                (video.clone(), TrackSource::Camera),
            ],
            "twice",
        ),
    ];
    for (declared, problem) in cases {
        match sfu.handle_offer(&id, &offer, &declared, now) {
            Err(e @ MediaError::BadTrackDeclaration { .. }) => {
                assert!(e.to_string().contains(problem), "{e}")
            }
            other => panic!("{declared:?}: {other:?}"),
        }
    }
    // Nothing was applied: the same offer with a declaration that fits is still a first offer.
    let declared = vec![(video.clone(), TrackSource::Screen)];
    let answer = sfu
        .handle_offer(&id, &offer, &declared, now)
        .expect("accepted");
    assert_eq!(attrs(&answer, "mid"), [audio.as_str(), video.as_str()]);
    c.accept_answer(&answer);
}
