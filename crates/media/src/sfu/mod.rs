//! The SFU: the parts of the core, and the routing between them.
//!
//! The parts own their state: the participants' sessions (`Peers`), what this core knows of the
//! other cores of its rooms (`Links`), speaker detection (`Speakers`); what drained sessions
//! yield waits in the `Outbox`. `Sfu` holds them with the rooms (who is in which, and which
//! other cores share it), and its methods, spread over the files of this module, route between
//! them: a datagram to a session, a session's packet to its subscribers (`forward.rs`), str0m's
//! events to actions (`events.rs`), offers and answers (`negotiation.rs`), the tick
//! (`alloc.rs`), other cores' messages (`relay.rs`), recording sinks (`record.rs`, the `Sinks`
//! part, which queues its own output for `poll_recorded`).

mod alloc;
mod events;
mod forward;
mod input;
mod keyframes;
mod negotiation;
mod record;
mod relay;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId};
use str0m::crypto::Sha1HmacProvider;
use str0m::media::Rid;
use str0m::net::{TcpType, Transmit};
use str0m::Candidate;

use crate::config::SfuConfig;
use crate::error::MediaError;
use crate::ids::{LinkId, PeerIdx, RemoteIdx, Subscriber, TrackKey, TrackOrigin};
use crate::link::{Links, Msg};
use crate::outbox::{drain, Outbox};
use crate::peer::Participant;
use crate::peers::Peers;
use crate::sink::Sinks;
use crate::speaker::Speakers;
use crate::stats::Stats;
use crate::track::Track;
use crate::types::{Event, Output, TrackSource};

/// Who is in a room here, and which other cores share it.
pub(crate) struct Room {
    pub members: Vec<PeerIdx>,
    /// Other cores hosting participants of this room.
    pub links: Vec<LinkId>,
    /// Their publishers.
    pub remotes: Vec<RemoteIdx>,
}

pub struct Sfu {
    config: SfuConfig,
    candidates: Vec<Candidate>,
    peers: Peers,
    rooms: HashMap<RoomId, Room>,
    links: Links,
    speakers: Speakers,
    sinks: Sinks,
    out: Outbox,
    /// Participants whose receive m-lines changed and may need a server offer.
    renegotiate: Vec<PeerIdx>,
    next_tick: Instant,
    last_tick: Instant,
    /// For verifying STUN MESSAGE-INTEGRITY ourselves: `Rtc::accepts` skips the check for
    /// traffic from the nominated address, but we must report forged STUN as dropped.
    hmac: &'static dyn Sha1HmacProvider,
    /// One DTLS certificate for every peer connection of this core: making one per join cost
    /// about a third of the server's CPU under load (it is what LiveKit and Jitsi do as well).
    dtls_cert: str0m::config::DtlsCert,
}

impl Sfu {
    pub fn new(config: SfuConfig, now: Instant) -> Result<Self, MediaError> {
        let loss_wait = config.recording_loss_wait;
        let mut candidates = Vec::new();
        for ip in &config.public_ips {
            let addr = SocketAddr::new(*ip, config.udp_port);
            candidates.push(
                Candidate::host(addr, "udp")
                    .map_err(|e| MediaError::BadCandidate(e.to_string()))?,
            );
            if let Some(port) = config.tcp_port {
                let c = Candidate::builder()
                    .tcp()
                    .host(SocketAddr::new(*ip, port))
                    .tcptype(TcpType::Passive)
                    .build()
                    .map_err(|e| MediaError::BadCandidate(e.to_string()))?;
                candidates.push(c);
            }
        }
        let crypto = str0m::crypto::from_feature_flags();
        let dtls_cert = crypto
            .dtls_provider
            .generate_certificate()
            .ok_or(MediaError::DtlsCertificate)?;
        Ok(Sfu {
            dtls_cert,
            next_tick: now + config.tick_interval,
            last_tick: now,
            config,
            candidates,
            peers: Peers::default(),
            rooms: HashMap::new(),
            links: Links::default(),
            speakers: Speakers::default(),
            sinks: Sinks::new(loss_wait),
            out: Outbox::default(),
            renegotiate: Vec::new(),
            hmac: crypto.sha1_hmac_provider,
        })
    }

    /// The participant's current local ICE username fragment (it changes with an ICE restart), so
    /// that a server running several cores can tell which core a STUN request belongs to.
    pub fn local_ufrag(&self, participant: &ParticipantId) -> Option<&str> {
        let idx = self.peers.idx(participant).ok()?;
        self.peer(idx).map(|p| p.ufrag.as_str())
    }

    /// The server's ICE candidates (they are also in every SDP answer/offer).
    pub fn local_candidates(&self) -> Vec<String> {
        self.candidates.iter().map(|c| c.to_sdp_string()).collect()
    }

    pub fn add_participant(
        &mut self,
        room: RoomId,
        participant: ParticipantId,
        now: Instant,
    ) -> Result<(), MediaError> {
        if self.peers.contains(&participant) {
            return Err(MediaError::DuplicateParticipant(participant));
        }
        let p = Participant::new(participant, room.clone(), now);
        let idx = self.peers.insert(p);
        if let Some(p) = self.peers.get_mut(idx) {
            drain(p, idx, &mut self.out);
        }
        let room = self.rooms.entry(room).or_insert_with(|| Room {
            members: Vec::new(),
            links: Vec::new(),
            remotes: Vec::new(),
        });
        room.members.push(idx);
        self.subscribe_to_room(idx, now);
        self.finish(now);
        Ok(())
    }

    /// Subscribes `idx` to everything already published in its room, here and on the room's other
    /// cores. Keyframes are asked for now: they wait in the keyframe cache until the newcomer can
    /// receive them (`keyframes.rs`).
    fn subscribe_to_room(&mut self, idx: PeerIdx, now: Instant) {
        let Some(room) = self.peer(idx).and_then(|p| self.rooms.get(&p.room)) else {
            return;
        };
        let members: Vec<PeerIdx> = room.members.iter().copied().filter(|m| *m != idx).collect();
        let remotes = room.remotes.clone();
        for other in members {
            let Some(op) = self.peer(other) else { continue };
            let tracks: Vec<_> = op.published.iter().map(|t| t.mid).collect();
            for mid in tracks {
                self.subscribe(idx, TrackOrigin::Local(other), mid);
                self.prefetch_keyframes((TrackOrigin::Local(other), mid), now);
            }
        }
        for ri in remotes {
            let Some(rp) = self.links.get(ri) else {
                continue;
            };
            let tracks: Vec<_> = rp.published.iter().map(|t| t.mid).collect();
            for mid in tracks {
                self.subscribe(idx, TrackOrigin::Remote(ri), mid);
            }
        }
    }

    pub fn remove_participant(
        &mut self,
        participant: &ParticipantId,
        now: Instant,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        let mids: Vec<_> = self
            .peer(idx)
            .map(|p| p.published.iter().map(|t| t.mid).collect())
            .unwrap_or_default();
        for mid in mids {
            self.unpublish(TrackOrigin::Local(idx), mid);
        }
        self.relay_to_links(idx, || Msg::Left { publisher: idx.0 });
        let Some(mut p) = self.peers.remove(idx) else {
            return Err(MediaError::UnknownParticipant(participant.clone()));
        };
        for key in p.out.keys() {
            if let Some(t) = self.track_mut(*key) {
                t.remove(Subscriber::Peer(idx));
            }
            if let (TrackOrigin::Remote(ri), mid) = *key {
                self.links.mark_dirty(ri, mid);
            }
        }
        self.speakers.remove(&p.room, TrackOrigin::Local(idx));
        if let Some(room) = self.rooms.get_mut(&p.room) {
            room.members.retain(|m| *m != idx);
            if room.members.is_empty() {
                // Nobody here receives the other cores' tracks any more.
                for ri in room.remotes.clone() {
                    self.drop_remote(ri);
                }
                self.rooms.remove(&p.room);
                self.speakers.remove_room(&p.room);
            }
        }
        self.out.timeouts.remove(&(p.timeout, idx));
        p.rtc.disconnect();
        self.finish(now);
        Ok(())
    }

    /// Declare what the client's m-line `mid` carries. May precede or follow the offer.
    pub fn set_track_source(
        &mut self,
        participant: &ParticipantId,
        mid: &str,
        source: TrackSource,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        let mid = str0m::media::Mid::from(mid);
        if let Some(p) = self.peers.get_mut(idx) {
            p.declared_sources.insert(mid, source);
            if let Some(t) = p.published_mut(mid) {
                if t.kind == source.kind() && t.source != source {
                    t.source = source;
                    // The room's other cores label the track by its source too.
                    self.relay_publish(idx, mid);
                }
            }
        }
        Ok(())
    }

    /// Whether the participant receives the others' tracks. Turning it off ends what it receives
    /// now; turning it on subscribes it to what is published.
    pub fn set_receives(
        &mut self,
        participant: &ParticipantId,
        receives: bool,
        now: Instant,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        let Some(p) = self.peers.get_mut(idx) else {
            return Err(MediaError::UnknownParticipant(participant.clone()));
        };
        if p.receives == receives {
            return Ok(());
        }
        p.receives = receives;
        if receives {
            self.subscribe_to_room(idx, now);
        } else {
            let keys: Vec<_> = p.out.keys().copied().collect();
            for key in keys {
                self.unsubscribe(idx, key);
            }
        }
        self.finish(now);
        Ok(())
    }

    /// Server mute: media from the participant's tracks of this source is not forwarded.
    pub fn set_server_muted(
        &mut self,
        participant: &ParticipantId,
        source: TrackSource,
        muted: bool,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        if let Some(p) = self.peers.get_mut(idx) {
            p.muted.retain(|s| *s != source);
            if muted {
                p.muted.push(source);
            }
        }
        Ok(())
    }

    /// Participants whose ICE stayed down past the grace period: their tracks end (subscribers are
    /// told and re-offered) and a fresh session waits for the client's next offer.
    fn reset_long_disconnected(&mut self, now: Instant) {
        let grace = self.config.disconnect_grace;
        let stale: Vec<ParticipantId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.disconnected_since.is_some_and(|t| now >= t + grace))
            .map(|(_, p)| p.id.clone())
            .collect();
        for id in stale {
            self.reset_participant(&id, now);
            self.out
                .events
                .push_back(Event::SessionReset { participant: id });
        }
    }

    /// Replaces a participant's media session with a fresh one (same room, same id, same server
    /// mutes): for a client that built a new peer connection, or one that never came back.
    fn reset_participant(&mut self, id: &ParticipantId, now: Instant) {
        let Ok(idx) = self.idx(id) else { return };
        let Some((room, muted)) = self.peer(idx).map(|p| (p.room.clone(), p.muted.clone())) else {
            return;
        };
        if self.remove_participant(id, now).is_err()
            || self.add_participant(room, id.clone(), now).is_err()
        {
            return;
        }
        if let Ok(idx) = self.idx(id) {
            if let Some(p) = self.peers.get_mut(idx) {
                p.muted = muted;
            }
        }
    }

    /// Everything the parts have queued, one item at a time: datagrams (the sessions' outbox),
    /// messages for other cores (the links), events for the server, recorded media (the sinks).
    /// `None` when all are drained; then [`Sfu::poll_timeout`] says when to come back. The
    /// `poll_*` methods below drain one part's queue each, for callers that want only that.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(t) = self.out.transmits.pop_front() {
            return Some(Output::Transmit(t));
        }
        if let Some((link, msg)) = self.links.poll() {
            return Some(Output::Relay(link, msg));
        }
        if let Some(e) = self.out.events.pop_front() {
            return Some(Output::Event(e));
        }
        self.sinks.poll().map(Output::Recorded)
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.out.events.pop_front()
    }

    /// Earliest instant at which `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Instant {
        match self.out.timeouts.first() {
            Some((t, _)) => (*t).min(self.next_tick),
            None => self.next_tick,
        }
    }

    /// A snapshot of the counters, with current per-subscriber bandwidth estimates.
    pub fn stats(&self) -> Stats {
        let mut s = self.out.stats.clone();
        s.media_sessions = self
            .peers
            .iter()
            .filter(|(_, p)| p.rtc.get().is_some())
            .count() as u64;
        s.subscriber_bandwidth_bps = self
            .peers
            .iter()
            .filter_map(|(_, p)| p.bwe_bps.map(|b| (p.id.clone(), b)))
            .collect();
        s
    }

    fn idx(&self, id: &ParticipantId) -> Result<PeerIdx, MediaError> {
        self.peers.idx(id)
    }

    fn peer(&self, idx: PeerIdx) -> Option<&Participant> {
        self.peers.get(idx)
    }

    /// Handle str0m events until none are left (handling one may produce more).
    pub(crate) fn process_work(&mut self, now: Instant) {
        while let Some((idx, ev)) = self.out.work.pop_front() {
            self.on_rtc_event(idx, ev, now);
        }
    }

    /// End of every public mutation: send server offers that became necessary, and tell other
    /// cores which of their layers we now want.
    pub(crate) fn finish(&mut self, now: Instant) {
        while !self.renegotiate.is_empty() {
            let mut list = std::mem::take(&mut self.renegotiate);
            list.sort();
            list.dedup();
            for idx in list {
                self.maybe_offer(idx, now);
            }
            self.process_work(now);
        }
        if self.links.has_dirty() {
            self.send_demands(false);
        }
    }

    /// The id of a publisher, local or remote.
    pub(crate) fn publisher_id(&self, r: TrackOrigin) -> Option<&ParticipantId> {
        match r {
            TrackOrigin::Local(i) => self.peer(i).map(|p| &p.id),
            TrackOrigin::Remote(i) => self.links.get(i).map(|p| &p.id),
        }
    }

    pub(crate) fn track(&self, (r, mid): TrackKey) -> Option<&Track> {
        match r {
            TrackOrigin::Local(i) => self
                .peer(i)?
                .published
                .iter()
                .find(|t| t.mid == mid)
                .map(|t| &t.track),
            TrackOrigin::Remote(i) => self
                .links
                .get(i)?
                .published
                .iter()
                .find(|t| t.mid == mid)
                .map(|t| &t.track),
        }
    }

    pub(crate) fn track_mut(&mut self, (r, mid): TrackKey) -> Option<&mut Track> {
        match r {
            TrackOrigin::Local(i) => self
                .peers
                .get_mut(i)?
                .published_mut(mid)
                .map(|t| &mut t.track),
            TrackOrigin::Remote(i) => self.links.get_mut(i)?.track_mut(mid).map(|t| &mut t.track),
        }
    }

    /// The layers this core told a local track's publisher nobody wants (none for a remote track).
    pub(crate) fn unused_reported(&self, (r, mid): TrackKey) -> &[Rid] {
        let TrackOrigin::Local(i) = r else {
            return &[];
        };
        self.peer(i)
            .and_then(|p| p.published.iter().find(|t| t.mid == mid))
            .map_or(&[], |t| t.unused_reported.as_slice())
    }
}
