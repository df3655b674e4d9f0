//! SDP on the server's offer path: the room reads which sources an offer would publish
//! (media/offer_sources.rs) and the policy decides on them; the media core then checks the declared
//! tracks and str0m applies the offer (`Sfu::handle_offer`). A client's answer to a server offer
//! goes to `Sfu::handle_answer`, a trickled candidate to `Sfu::handle_candidate`.
//!
//! The invariant checked: the core never publishes a source that the room's reading of the same
//! offer did not see, since that reading is what the policy allowed.
//!
//! An input is an offer as sent, a valid offer (from a str0m client) with lines edited, an answer
//! to a server offer (as sent, or a valid one edited), or a candidate.
#![no_main]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use convene_fuzz::bytes::Bytes;
use convene_fuzz::client::TestClient;
use convene_media::{Event, Output, Sfu, SfuConfig, TrackSource};
use convene_proto::{ParticipantId, RoomId, Source};
use convene_server::media::offer_sources::sending_sources;
use convene_server::media::{source_from_proto, source_to_proto};
use libfuzzer_sys::fuzz_target;

struct State {
    sfu: Sfu,
    room: RoomId,
    now: Instant,
    /// A publisher's first offer (audio and simulcast video) and its declared tracks.
    offer: String,
    tracks: Vec<(String, TrackSource)>,
}

impl State {
    fn new() -> Self {
        let now = Instant::now();
        let mut sfu = Sfu::new(SfuConfig::default(), now).expect("core");
        let room = RoomId::new("room");
        let mut alice = TestClient::new(0, ParticipantId::new("alice"), addr(1), true, true, now);
        let (offer, tracks) = alice.make_offer();
        // Alice publishes, so that others get server offers to answer.
        sfu.add_participant(room.clone(), alice.id.clone(), now)
            .expect("alice");
        sfu.handle_offer(&alice.id, &offer, &tracks, now)
            .expect("a str0m offer is accepted");
        while sfu.poll_output().is_some() {}
        State {
            sfu,
            room,
            now,
            offer,
            tracks,
        }
    }
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([10, 1, 0, n], 5000))
}

/// `base` with up to 16 line edits: delete, replace, insert before, or duplicate line `i`.
fn edit(base: &str, b: &mut Bytes) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
    for _ in 0..b.u8() % 17 {
        if lines.is_empty() {
            break;
        }
        let op = b.u8();
        let i = usize::from(b.u8()) % lines.len();
        let text = String::from_utf8_lossy(b.until(b'\n')).into_owned();
        match op % 4 {
            0 => {
                lines.remove(i);
            }
            1 => lines[i] = text,
            2 => lines.insert(i, text),
            _ => lines.insert(i, lines[i].clone()),
        }
    }
    let mut out = lines.join("\r\n");
    out.push_str("\r\n");
    out
}

/// Declared tracks: up to 3 (mid, source) pairs.
fn declared(b: &mut Bytes) -> Vec<convene_proto::TrackSource> {
    let sources = [
        Source::Microphone,
        Source::Camera,
        Source::Screen,
        Source::ScreenAudio,
    ];
    (0..b.u8() % 4)
        .map(|_| {
            let s = b.u8();
            convene_proto::TrackSource {
                mid: String::from_utf8_lossy(b.take(usize::from(s >> 4) % 4)).into_owned(),
                source: sources[usize::from(s) % 4],
            }
        })
        .collect()
}

fn offer(s: &mut State, p: &ParticipantId, sdp: &str, tracks: Vec<convene_proto::TrackSource>) {
    // As the room does (rooms/publish.rs), then the worker (media/worker.rs).
    let allowed: HashSet<Source> = sending_sources(sdp, &tracks).into_iter().collect();
    let sources: Vec<(String, TrackSource)> = tracks
        .into_iter()
        .map(|t| (t.mid, source_from_proto(t.source)))
        .collect();
    let answer = s.sfu.handle_offer(p, sdp, &sources, s.now);
    if let Ok(answer) = answer {
        assert!(
            str0m::change::SdpAnswer::from_sdp_string(&answer).is_ok(),
            "the core's answer does not parse: {answer}"
        );
    }
    while let Some(out) = s.sfu.poll_output() {
        if let Output::Event(Event::TrackPublished {
            participant,
            source,
            mid,
            ..
        }) = out
        {
            if &participant == p {
                assert!(
                    allowed.contains(&source_to_proto(source)),
                    "published {source:?} (mid {mid}) that the room's reading ({allowed:?}) did not see in:\n{sdp}"
                );
            }
        }
    }
}

/// A participant whose first offer (receiving only) was accepted, and the server's offer to it.
fn with_server_offer(s: &mut State, p: &ParticipantId) -> Option<(TestClient, String, Vec<convene_media::OfferedTrack>)> {
    let mut c = TestClient::new(1, p.clone(), addr(2), false, false, s.now);
    let (first, tracks) = c.make_offer();
    let answer = s.sfu.handle_offer(p, &first, &tracks, s.now).ok()?;
    c.accept_answer(&answer);
    let mut server_offer = None;
    while let Some(out) = s.sfu.poll_output() {
        if let Output::Event(Event::SendOffer {
            participant,
            sdp,
            tracks,
        }) = out
        {
            if &participant == p {
                server_offer = Some((sdp, tracks));
            }
        }
    }
    let (sdp, tracks) = server_offer?;
    Some((c, sdp, tracks))
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut slot = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let s = slot.get_or_insert_with(State::new);
    s.now += std::time::Duration::from_millis(10);
    let mut b = Bytes::new(data);
    let p = ParticipantId::new("p");
    let room = s.room.clone();
    s.sfu
        .add_participant(room, p.clone(), s.now)
        .expect("p left after the last input");
    match b.u8() % 5 {
        0 => {
            let tracks = declared(&mut b);
            let sdp = String::from_utf8_lossy(b.rest()).into_owned();
            offer(s, &p, &sdp, tracks);
        }
        1 => {
            let base = s.offer.clone();
            let mut tracks: Vec<convene_proto::TrackSource> = s
                .tracks
                .iter()
                .map(|(mid, src)| convene_proto::TrackSource {
                    mid: mid.clone(),
                    source: source_to_proto(*src),
                })
                .collect();
            if b.bool() {
                tracks = declared(&mut b);
            }
            let sdp = edit(&base, &mut b);
            offer(s, &p, &sdp, tracks);
        }
        mode @ (2 | 3) => {
            if let Some((mut c, server_offer, tracks)) = with_server_offer(s, &p) {
                let answer = if mode == 2 {
                    String::from_utf8_lossy(b.rest()).into_owned()
                } else {
                    let genuine = c.accept_offer(&server_offer, &tracks, s.now);
                    edit(&genuine, &mut b)
                };
                let _ = s.sfu.handle_answer(&p, &answer, s.now);
                while s.sfu.poll_output().is_some() {}
            }
        }
        _ => {
            let candidate = String::from_utf8_lossy(b.rest()).into_owned();
            let _ = s.sfu.handle_candidate(&p, &candidate);
        }
    }
    s.sfu.remove_participant(&p, s.now).expect("p is here");
    while s.sfu.poll_output().is_some() {}
});
