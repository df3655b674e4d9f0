//! SDP offer/answer with each participant, and the publish/subscribe bookkeeping it drives.
//! The protocol is described in crates/media/NEGOTIATION.md.

use std::time::Instant;

use convene_proto::{ParticipantId, TrackId};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid, Rid};

use super::Sfu;
use crate::error::MediaError;
use crate::ids::{PeerIdx, Subscriber, TrackKey, TrackOrigin};
use crate::link::Msg;
use crate::outbox::drain;
use crate::peer::{OutState, OutTrack, SdpState, Visibility};
use crate::rewrite::Rewriter;
use crate::simulcast::LayerState;
use crate::track::{LocalTrack, Track};
use crate::types::{Event, OfferedTrack, TrackKind, TrackSource};

impl Sfu {
    /// Accept the client's offer (its publications) and return the SDP answer. `sources` maps the
    /// offer's mids to what they carry (see also [`Sfu::set_track_source`]).
    ///
    /// Glare: the server is the polite peer. If its own offer is pending, that offer is rolled
    /// back, the client's is accepted, and the server re-offers afterwards (a `SendOffer` event,
    /// to be sent after this answer).
    pub fn handle_offer(
        &mut self,
        participant: &ParticipantId,
        sdp: &str,
        sources: &[(String, TrackSource)],
        now: Instant,
    ) -> Result<String, MediaError> {
        let offer =
            SdpOffer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        // Before anything is applied, so that a refused offer changes nothing.
        check_declared_sources(sdp, sources)?;
        // A different DTLS fingerprint means a new peer connection (a reloaded page, a rebuilt
        // connection): it starts a fresh media session rather than confusing the old one.
        let fingerprint = dtls_fingerprint(sdp);
        let idx = self.idx(participant)?;
        let known = self.peer(idx).and_then(|p| p.remote_fingerprint.clone());
        if known.is_some() && fingerprint.is_some() && known != fingerprint {
            self.reset_participant(participant, now);
        }
        let idx = self.idx(participant)?;
        let Some(p) = self.peers.get_mut(idx) else {
            return Err(MediaError::UnknownParticipant(participant.clone()));
        };
        for (mid, source) in sources {
            p.declared_sources.insert(Mid::from(mid.as_str()), *source);
        }
        if matches!(p.sdp, SdpState::ServerOffered(_)) {
            roll_back(p.out.values_mut());
        }
        let first = matches!(p.sdp, SdpState::AwaitingFirstOffer);
        // Dropping the pending offer is the rollback: str0m applies nothing before the answer.
        p.sdp = SdpState::Stable;
        let answer = p
            .make_rtc(&self.config, &self.dtls_cert, &self.candidates, now)
            .sdp_api()
            .accept_offer(offer);
        if answer.is_err() && first {
            // Still no remote description: the server must not start offering.
            p.sdp = SdpState::AwaitingFirstOffer;
        }
        drain(p, idx, &mut self.out);
        // An offer with new remote ICE credentials is an ICE restart: str0m then picks new local
        // credentials too, and STUN must find this participant by the new ufrag.
        let creds = p
            .rtc
            .live()
            .map(|rtc| rtc.direct_api().local_ice_credentials());
        if let Some(creds) = creds.filter(|c| c.ufrag != p.ufrag) {
            self.peers.set_ice_credentials(idx, creds.ufrag, creds.pass);
        }
        let answer = answer?;
        if let Some(p) = self.peers.get_mut(idx) {
            p.remote_fingerprint = fingerprint;
        }
        self.process_work(now);
        self.renegotiate.push(idx);
        self.finish(now);
        Ok(answer.to_sdp_string())
    }

    /// Apply the client's answer to the server's last `SendOffer`.
    pub fn handle_answer(
        &mut self,
        participant: &ParticipantId,
        sdp: &str,
        now: Instant,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let Some(p) = self.peers.get_mut(idx) else {
            return Err(MediaError::UnknownParticipant(participant.clone()));
        };
        let SdpState::ServerOffered(pending) = std::mem::replace(&mut p.sdp, SdpState::Stable)
        else {
            return Err(MediaError::NoPendingOffer(participant.clone()));
        };
        // An offer of ours means the client offered first, which made the Rtc.
        let Some(rtc) = p.rtc.live() else {
            return Err(MediaError::NoPendingOffer(participant.clone()));
        };
        let res = rtc.sdp_api().accept_answer(pending, answer);
        drain(p, idx, &mut self.out);
        if let Err(e) = res {
            roll_back(p.out.values_mut());
            self.renegotiate.push(idx);
            self.finish(now);
            return Err(e.into());
        }
        let mut opened = Vec::new();
        p.out.retain(|key, o| match o.state {
            OutState::Negotiating(m) => {
                o.state = OutState::Open(m);
                opened.push((*key, o.track.clone()));
                true
            }
            OutState::NegotiatingStop(_) => false,
            _ => true,
        });
        // A track unpublished while its m-line was being negotiated: stop it right away.
        for (key, track) in opened {
            let alive = self.track(key).is_some_and(|t| t.id == track);
            if !alive {
                if let Some(o) = self.peers.get_mut(idx).and_then(|p| p.out.get_mut(&key)) {
                    if let OutState::Open(m) = o.state {
                        o.state = OutState::ToStop(m);
                    }
                }
            }
        }
        self.process_work(now);
        self.allocate(idx, now);
        self.renegotiate.push(idx);
        self.finish(now);
        Ok(())
    }

    /// Offer pending receive m-line changes if no exchange is in progress; the publishers of the
    /// videos it adds are asked for keyframes at once (`keyframes.rs`).
    pub(crate) fn maybe_offer(&mut self, idx: PeerIdx, now: Instant) {
        let Some(p) = self.peers.get_mut(idx) else {
            return;
        };
        if !matches!(p.sdp, SdpState::Stable) {
            return;
        }
        let mut keys: Vec<TrackKey> = p.out.keys().copied().collect();
        keys.sort();
        let mut videos = Vec::new();
        // Stable means an offer was accepted, which made the Rtc.
        let Some(rtc) = p.rtc.live() else {
            return;
        };
        let mut change = rtc.sdp_api();
        for key in &keys {
            let Some(o) = p.out.get_mut(key) else {
                continue;
            };
            match o.state {
                OutState::ToOpen => {
                    let kind = match o.kind {
                        TrackKind::Audio => MediaKind::Audio,
                        TrackKind::Video => MediaKind::Video,
                    };
                    let mid = change.add_media(
                        kind,
                        Direction::SendOnly,
                        Some(o.publisher_id.to_string()),
                        Some(o.track.to_string()),
                        None,
                    );
                    o.state = OutState::Negotiating(mid);
                    if o.kind == TrackKind::Video {
                        videos.push(*key);
                    }
                }
                OutState::ToStop(m) => {
                    change.stop_media(m);
                    o.state = OutState::NegotiatingStop(m);
                }
                _ => {}
            }
        }
        let offer = if change.has_changes() {
            change.apply()
        } else {
            drop(change);
            None
        };
        match offer {
            Some((offer, pending)) => {
                p.sdp = SdpState::ServerOffered(pending);
                self.out.events.push_back(Event::SendOffer {
                    participant: p.id.clone(),
                    sdp: offer.to_sdp_string(),
                    tracks: offered_tracks(p.out.values()),
                });
            }
            None => {
                // Nothing needed negotiation (e.g. the m-line was already stopped).
                p.out
                    .retain(|_, o| !matches!(o.state, OutState::NegotiatingStop(_)));
                videos.clear();
            }
        }
        drain(p, idx, &mut self.out);
        for key in videos {
            self.prefetch_keyframes(key, now);
        }
    }

    pub(crate) fn publish(&mut self, idx: PeerIdx, mid: Mid, kind: TrackKind, rids: Vec<Rid>) {
        let Some(p) = self.peers.get_mut(idx) else {
            return;
        };
        if p.published.iter().any(|t| t.mid == mid) {
            return;
        }
        let source = p
            .declared_sources
            .get(&mid)
            .copied()
            .filter(|s| s.kind() == kind)
            .unwrap_or(TrackSource::default_for(kind));
        let id = TrackId::new(format!("{}-{}", p.id, mid));
        p.published.push(LocalTrack::new(Track::new(
            id.clone(),
            mid,
            kind,
            source,
            &rids,
        )));
        self.out.events.push_back(Event::TrackPublished {
            participant: p.id.clone(),
            track: id,
            mid: mid.to_string(),
            kind,
            source,
            layers: rids.iter().map(|r| r.to_string()).collect(),
        });
        let members = self
            .rooms
            .get(&p.room)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for sub in members {
            if sub != idx {
                self.subscribe(sub, TrackOrigin::Local(idx), mid);
            }
        }
        self.add_sink(idx, mid);
        self.relay_publish(idx, mid);
    }

    /// Create a (to be negotiated) receive m-line on `sub` for `publisher`'s track `mid`.
    pub(crate) fn subscribe(&mut self, sub: PeerIdx, publisher: TrackOrigin, mid: Mid) {
        if !self.peer(sub).is_some_and(|p| p.receives) {
            return;
        }
        let Some(publisher_id) = self.publisher_id(publisher).cloned() else {
            return;
        };
        let Some(t) = self.track_mut((publisher, mid)) else {
            return;
        };
        t.add_peer(sub);
        let (track, kind, source) = (t.id.clone(), t.kind, t.source);
        let Some(sp) = self.peers.get_mut(sub) else {
            return;
        };
        sp.out.entry((publisher, mid)).or_insert(OutTrack {
            publisher_id,
            track,
            kind,
            source,
            state: OutState::ToOpen,
            visibility: Visibility::Unconstrained,
            layer: match kind {
                // Audio has no layers: always forward. Video starts when the allocator says so.
                TrackKind::Audio => LayerState::Forwarding { current: None },
                TrackKind::Video => LayerState::Paused,
            },
            rewrite: Rewriter::default(),
            pt: None,
        });
        self.renegotiate.push(sub);
        if let TrackOrigin::Remote(ri) = publisher {
            self.links.mark_dirty(ri, mid);
        }
    }

    /// `sub` stops receiving the track `key`: its m-line is stopped (by renegotiation).
    pub(crate) fn unsubscribe(&mut self, sub: PeerIdx, key: TrackKey) {
        if let Some(t) = self.track_mut(key) {
            t.remove(Subscriber::Peer(sub));
        }
        self.stop_out(sub, key);
        if let TrackOrigin::Remote(ri) = key.0 {
            self.links.mark_dirty(ri, key.1);
        }
    }

    /// A track ended: its subscribers' m-lines are stopped (by renegotiation); a local track's
    /// end is announced, and told to the room's other cores.
    pub(crate) fn unpublish(&mut self, publisher: TrackOrigin, mid: Mid) {
        let t = match publisher {
            TrackOrigin::Local(idx) => self.peers.get_mut(idx).and_then(|p| {
                let pos = p.published.iter().position(|t| t.mid == mid)?;
                Some(p.published.remove(pos).track)
            }),
            TrackOrigin::Remote(ri) => self.links.get_mut(ri).and_then(|p| {
                let pos = p.published.iter().position(|t| t.mid == mid)?;
                Some(p.published.remove(pos).track)
            }),
        };
        let Some(t) = t else { return };
        if let Some(sink) = t.sink() {
            self.sinks.end(sink);
        }
        if let TrackOrigin::Local(idx) = publisher {
            if let Some(p) = self.peer(idx) {
                self.out.events.push_back(Event::TrackUnpublished {
                    participant: p.id.clone(),
                    track: t.id.clone(),
                });
            }
            self.relay_to_links(idx, || Msg::Unpublish {
                publisher: idx.0,
                mid,
            });
        }
        // A link hears of a local track's end by the `Unpublish` above.
        for sub in t.peer_subscribers() {
            self.stop_out(sub, (publisher, mid));
        }
    }

    /// Stops `sub`'s receive m-line for `key` (by renegotiation).
    fn stop_out(&mut self, sub: PeerIdx, key: TrackKey) {
        let Some(sp) = self.peers.get_mut(sub) else {
            return;
        };
        match sp.out.get(&key).map(|o| o.state) {
            Some(OutState::ToOpen) => {
                sp.out.remove(&key);
            }
            Some(OutState::Open(m)) => {
                if let Some(o) = sp.out.get_mut(&key) {
                    o.state = OutState::ToStop(m);
                }
            }
            // Negotiating: handled when the answer arrives; stopping: already going.
            _ => {}
        }
        self.renegotiate.push(sub);
    }
}

/// What a server offer's receive m-lines carry, by mid.
fn offered_tracks<'a>(outs: impl Iterator<Item = &'a OutTrack>) -> Vec<OfferedTrack> {
    let mut tracks: Vec<OfferedTrack> = outs
        .filter_map(|o| match o.state {
            OutState::Negotiating(m) | OutState::Open(m) => Some(OfferedTrack {
                mid: m.to_string(),
                publisher: o.publisher_id.clone(),
                track: o.track.clone(),
                kind: o.kind,
                source: o.source,
            }),
            _ => None,
        })
        .collect();
    tracks.sort_by(|a, b| a.mid.cmp(&b.mid));
    tracks
}

/// The server's offer was abandoned: m-lines it was adding or stopping go back to "to do".
fn roll_back<'a>(outs: impl Iterator<Item = &'a mut OutTrack>) {
    for o in outs {
        o.state = match o.state {
            OutState::Negotiating(_) => OutState::ToOpen,
            OutState::NegotiatingStop(m) => OutState::ToStop(m),
            s => s,
        };
    }
}

/// Each declared mid must be an m-line of the offer, once, of its source's kind: a declaration
/// that cannot apply is refused rather than quietly replaced by the default source.
fn check_declared_sources(sdp: &str, sources: &[(String, TrackSource)]) -> Result<(), MediaError> {
    // (mid, kind) of each m-line; None for an m-line that is neither audio nor video.
    let mut lines: Vec<(Option<&str>, Option<TrackKind>)> = Vec::new();
    for l in sdp.lines().map(str::trim) {
        if let Some(m) = l.strip_prefix("m=") {
            let kind = match m.split_whitespace().next() {
                Some("audio") => Some(TrackKind::Audio),
                Some("video") => Some(TrackKind::Video),
                _ => None,
            };
            lines.push((None, kind));
        } else if let (Some(mid), Some(last)) = (l.strip_prefix("a=mid:"), lines.last_mut()) {
            last.0 = Some(mid.trim());
        }
    }
    for (i, (mid, source)) in sources.iter().enumerate() {
        let bad = |problem| MediaError::BadTrackDeclaration {
            mid: mid.clone(),
            problem,
        };
        if sources[..i].iter().any(|(m, _)| m == mid) {
            return Err(bad("is declared twice"));
        }
        let Some((_, kind)) = lines.iter().find(|(m, _)| *m == Some(mid.as_str())) else {
            return Err(bad("is not an m-line of the offer"));
        };
        match (kind, source.kind()) {
            (Some(k), want) if *k == want => {}
            (Some(TrackKind::Audio), _) => {
                return Err(bad("is audio: its source is microphone or screen_audio"))
            }
            (Some(TrackKind::Video), _) => {
                return Err(bad("is video: its source is camera or screen"))
            }
            (None, _) => return Err(bad("is neither audio nor video")),
        }
    }
    Ok(())
}

/// The `a=fingerprint:` value of an SDP (session or first media level).
fn dtls_fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim().strip_prefix("a=fingerprint:"))
        .map(|f| f.trim().to_ascii_lowercase())
}
