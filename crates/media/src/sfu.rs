//! The SFU: rooms, participants (one str0m `Rtc` each), datagram routing and the event loop glue.
//!
//! str0m requires that every mutation of an `Rtc` is followed by draining `poll_output` to a
//! timeout. [`Sfu::drain`] does that, queueing transmits for `poll_transmit` and str0m events in
//! a work queue that [`Sfu::process_work`] handles (which may mutate, and drain, other `Rtc`s).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId};
use str0m::bwe::Bitrate;
use str0m::crypto::Sha1HmacProvider;
use str0m::format::{Codec, FormatParams};
use str0m::ice::StunMessage;
use str0m::media::{Frequency, Mid, Pt, Rid};
use str0m::net::{Protocol, Receive, TcpType, Transmit};
use str0m::{Candidate, IceCreds, Input, Output, Rtc};

use crate::config::SfuConfig;
use crate::demux::{self, Kind};
use crate::error::{DropReason, MediaError};
use crate::ids::{LinkId, PeerIdx, RemoteIdx, Subscriber, TrackKey, TrackOrigin};
use crate::participant::{ConnState, Participant, SdpState};
use crate::relay::{Msg, RelayMessage, RemotePublisher};
use crate::speaker::SpeakerDetector;
use crate::stats::Stats;
use crate::track::Track;
use crate::types::{Event, TrackSource};

/// Addresses remembered per participant (ICE may try several before settling).
const MAX_ADDRS_PER_PEER: usize = 8;
/// Payload type browsers use for Opus.
const OPUS_PT: u8 = 111;
/// Rounds of str0m timeouts one participant gets per `handle_timeout` while it still has work
/// due (see there), and how far past `now` a timeout still counts as due for them.
pub(crate) const CATCH_UP_ROUNDS: usize = 256;
const CATCH_UP_SLACK: std::time::Duration = std::time::Duration::from_millis(1);

pub(crate) struct Room {
    pub members: Vec<PeerIdx>,
    pub speaker: SpeakerDetector<TrackOrigin>,
    /// Other cores hosting participants of this room.
    pub links: Vec<LinkId>,
    /// Their publishers.
    pub remotes: Vec<RemoteIdx>,
}

/// Queues filled while draining `Rtc`s; a separate struct so it can be borrowed next to a peer.
#[derive(Default)]
pub(crate) struct Outbox {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<Event>,
    pub work: VecDeque<(PeerIdx, str0m::Event)>,
    pub relays: VecDeque<(LinkId, RelayMessage)>,
    pub stats: Stats,
    pub timeouts: BTreeSet<(Instant, PeerIdx)>,
}

pub struct Sfu {
    pub(crate) config: SfuConfig,
    candidates: Vec<Candidate>,
    pub(crate) peers: Vec<Option<Participant>>,
    free: Vec<u32>,
    pub(crate) by_id: HashMap<ParticipantId, PeerIdx>,
    pub(crate) by_ufrag: HashMap<String, PeerIdx>,
    by_addr: HashMap<(Protocol, SocketAddr), PeerIdx>,
    pub(crate) rooms: HashMap<RoomId, Room>,
    /// Publishers of other cores that share rooms with this one (see `relay.rs`).
    pub(crate) remotes: Vec<Option<RemotePublisher>>,
    pub(crate) remote_free: Vec<RemoteIdx>,
    /// By link and the publisher's slot on its own core.
    pub(crate) remote_by_key: HashMap<(LinkId, u32), RemoteIdx>,
    /// Remote tracks whose wanted layers may have changed since we last told their core.
    pub(crate) demand_dirty: Vec<(RemoteIdx, Mid)>,
    pub(crate) out: Outbox,
    /// Participants whose receive m-lines changed and may need a server offer.
    pub(crate) renegotiate: Vec<PeerIdx>,
    pub(crate) next_tick: Instant,
    pub(crate) last_tick: Instant,
    /// For verifying STUN MESSAGE-INTEGRITY ourselves: `Rtc::accepts` skips the check for
    /// traffic from the nominated address, but we must report forged STUN as dropped.
    hmac: &'static dyn Sha1HmacProvider,
    /// One DTLS certificate for every peer connection of this core: making one per join cost
    /// about a third of the server's CPU under load (it is what LiveKit and Jitsi do as well).
    dtls_cert: str0m::config::DtlsCert,
}

impl Sfu {
    pub fn new(config: SfuConfig, now: Instant) -> Result<Self, MediaError> {
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
            peers: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            rooms: HashMap::new(),
            remotes: Vec::new(),
            remote_free: Vec::new(),
            remote_by_key: HashMap::new(),
            demand_dirty: Vec::new(),
            out: Outbox::default(),
            renegotiate: Vec::new(),
            hmac: crypto.sha1_hmac_provider,
        })
    }

    /// A free slot that no subscriber still refers to. Subscribers key their receive m-lines by
    /// (publisher slot, mid), and the m-lines of a departed publisher stay until renegotiation stops
    /// them; reusing its slot before that would let a newcomer's track collide with them (a page
    /// reload re-adds the same participant with the same mids at once).
    fn reusable_slot(&mut self) -> Option<u32> {
        let pos = self.free.iter().position(|&i| {
            !self.peers.iter().flatten().any(|p| {
                p.out
                    .keys()
                    .any(|(publisher, _)| *publisher == TrackOrigin::Local(PeerIdx(i)))
            })
        })?;
        Some(self.free.swap_remove(pos))
    }

    /// The participant's current local ICE username fragment (it changes with an ICE restart), so
    /// that a server running several cores can tell which core a STUN request belongs to.
    pub fn local_ufrag(&self, participant: &ParticipantId) -> Option<&str> {
        let idx = *self.by_id.get(participant)?;
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
        if self.by_id.contains_key(&participant) {
            return Err(MediaError::DuplicateParticipant(participant));
        }
        let creds = IceCreds::new();
        let mut cfg = Rtc::builder()
            .set_ice_lite(true)
            .set_local_ice_credentials(creds.clone())
            .set_dtls_cert(self.dtls_cert.clone())
            // Forward RTP packets as they come, not frames (see forward.rs).
            .set_rtp_mode(true)
            .clear_codecs();
        // Opus with in-band FEC and DTX; str0m's default Opus config has FEC but not DTX.
        cfg.codec_config().add_config(
            Pt::from(OPUS_PT),
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                use_dtx: Some(true),
                ..Default::default()
            },
        );
        let mut rtc = cfg
            .enable_vp8(true)
            .enable_h264(true)
            .enable_vp9(true)
            .enable_av1(true)
            .enable_bwe(Some(Bitrate::bps(self.config.initial_bitrate_bps)))
            .set_stats_interval(Some(self.config.rtc_stats_interval))
            .build(now);
        for c in &self.candidates {
            rtc.add_local_candidate(c.clone());
        }
        let idx = match self.reusable_slot() {
            Some(i) => PeerIdx(i),
            None => {
                self.peers.push(None);
                PeerIdx((self.peers.len() - 1) as u32)
            }
        };
        let mut p = Participant {
            id: participant.clone(),
            room: room.clone(),
            rtc,
            ufrag: creds.ufrag.clone(),
            ice_pwd: creds.pass.clone(),
            sdp: SdpState::AwaitingFirstOffer,
            conn: ConnState::New,
            published: Vec::new(),
            out: HashMap::new(),
            declared_sources: HashMap::new(),
            muted: Vec::new(),
            receives: true,
            bwe_bps: None,
            bwe_desired_bps: 0,
            timeout: now,
            addrs: Vec::new(),
            rtcp_counters: HashMap::new(),
            disconnected_since: None,
            remote_fingerprint: None,
        };
        self.by_ufrag.insert(creds.ufrag, idx);
        self.by_id.insert(participant, idx);
        drain(&mut p, idx, &mut self.out);
        self.peers[idx.0 as usize] = Some(p);

        let room = self.rooms.entry(room).or_insert_with(|| Room {
            members: Vec::new(),
            speaker: SpeakerDetector::new(),
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
    /// receive them (`keyframe_cache.rs`).
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
            let Some(rp) = self.remote(ri) else { continue };
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
        let Some(mut p) = self.peers[idx.0 as usize].take() else {
            return Err(MediaError::UnknownParticipant(participant.clone()));
        };
        for key in p.out.keys() {
            if let Some(t) = self.track_mut(*key) {
                t.remove(Subscriber::Peer(idx));
            }
            if let (TrackOrigin::Remote(ri), mid) = *key {
                self.demand_dirty.push((ri, mid));
            }
        }
        if let Some(room) = self.rooms.get_mut(&p.room) {
            room.members.retain(|m| *m != idx);
            room.speaker.remove(TrackOrigin::Local(idx));
            if room.members.is_empty() {
                // Nobody here receives the other cores' tracks any more.
                for ri in room.remotes.clone() {
                    self.drop_remote(ri);
                }
                self.rooms.remove(&p.room);
            }
        }
        self.by_ufrag.remove(&p.ufrag);
        for a in &p.addrs {
            if self.by_addr.get(a) == Some(&idx) {
                self.by_addr.remove(a);
            }
        }
        self.out.timeouts.remove(&(p.timeout, idx));
        self.by_id.remove(participant);
        p.rtc.disconnect();
        self.free.push(idx.0);
        self.finish(now);
        Ok(())
    }

    /// Trickled remote candidate (`candidate:...` attribute value). ICE-lite does not need
    /// them, but they let str0m accept media from addresses before a STUN check arrives.
    /// An empty one is the end of the client's candidates (as a browser's last
    /// `RTCIceCandidate` says it): an ICE-lite server, which never checks toward the client,
    /// has nothing to do then.
    pub fn handle_candidate(
        &mut self,
        participant: &ParticipantId,
        candidate: &str,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        if candidate.trim().is_empty() {
            return Ok(());
        }
        let s = candidate.trim().trim_start_matches("a=");
        let c =
            Candidate::from_sdp_string(s).map_err(|e| MediaError::BadCandidate(e.to_string()))?;
        if let Some(p) = peer_in(&mut self.peers, idx) {
            p.rtc.add_remote_candidate(c);
            drain(p, idx, &mut self.out);
        }
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
        if let Some(p) = peer_in(&mut self.peers, idx) {
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
        let Some(p) = peer_in(&mut self.peers, idx) else {
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
        if let Some(p) = peer_in(&mut self.peers, idx) {
            p.muted.retain(|s| *s != source);
            if muted {
                p.muted.push(source);
            }
        }
        Ok(())
    }

    /// Feed one datagram from the shared socket. Garbage is dropped with a reason (and counted).
    pub fn handle_input(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Result<(), DropReason> {
        let r = self.route_input(now, proto, source, destination, contents);
        if let Err(reason) = r {
            self.out.stats.count_drop(reason);
        }
        self.process_work(now);
        self.finish(now);
        r
    }

    fn route_input(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &[u8],
    ) -> Result<(), DropReason> {
        let kind = demux::classify(buf)?;
        let idx = if kind == Kind::Stun {
            let msg = StunMessage::parse(buf).map_err(|_| DropReason::MalformedStun)?;
            if !msg.is_binding_request() {
                return Err(DropReason::UnexpectedStun);
            }
            let ufrag = msg
                .username()
                .and_then(demux::local_ufrag)
                .ok_or(DropReason::BadStunCredentials)?;
            let idx = *self.by_ufrag.get(ufrag).ok_or(DropReason::UnknownUfrag)?;
            let p = self.peer(idx).ok_or(DropReason::UnknownUfrag)?;
            let hmac = self.hmac;
            if !msg.verify(p.ice_pwd.as_bytes(), |k, d| hmac.sha1_hmac(k, d)) {
                return Err(DropReason::BadStunCredentials);
            }
            idx
        } else {
            *self
                .by_addr
                .get(&(proto, source))
                .ok_or(DropReason::UnknownPeer)?
        };
        let recv = Receive::new(proto, source, destination, buf).map_err(|_| match kind {
            Kind::Stun => DropReason::MalformedStun,
            _ => DropReason::NotWebRtc,
        })?;
        let input = Input::Receive(now, recv);
        let p = self.peers[idx.0 as usize]
            .as_mut()
            .ok_or(DropReason::UnknownPeer)?;
        if kind == Kind::Stun {
            // Checks USERNAME and MESSAGE-INTEGRITY against this participant's credentials.
            if !p.rtc.accepts(&input) {
                return Err(DropReason::BadStunCredentials);
            }
            let key = (proto, source);
            if !p.addrs.contains(&key) {
                p.addrs.push(key);
                if p.addrs.len() > MAX_ADDRS_PER_PEER {
                    let old = p.addrs.remove(0);
                    if self.by_addr.get(&old) == Some(&idx) {
                        self.by_addr.remove(&old);
                    }
                }
            }
            self.by_addr.insert(key, idx);
        }
        self.out.stats.packets_in += 1;
        self.out.stats.bytes_in += buf.len() as u64;
        let res = p.rtc.handle_input(input);
        drain(p, idx, &mut self.out);
        res.map_err(|_| DropReason::Rejected)
    }

    /// Drive time: every participant whose timeout passed, and the periodic tick.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut budget = self.config.timeout_rounds_per_call.max(1);
        while let Some(&(t, idx)) = self.out.timeouts.first() {
            if t > now || budget == 0 {
                break;
            }
            self.out.timeouts.pop_first();
            if let Some(p) = self.peers.get_mut(idx.0 as usize).and_then(|p| p.as_mut()) {
                // str0m's pacer sends one packet per timeout and asks for the next 1 µs later.
                // A worker that wakes late would then send one packet per subscriber per wakeup
                // and queue the rest without bound (all the memory and delay of an overloaded
                // server). So catch up here: keep handing it its own next timeout while that is
                // (nearly) due, running its clock at most CATCH_UP_SLACK ahead of `now`.
                let mut at = now;
                for _ in 0..CATCH_UP_ROUNDS.min(budget) {
                    budget -= 1;
                    if p.rtc.handle_input(Input::Timeout(at)).is_err() {
                        mark_disconnected(p, &mut self.out, now);
                        break;
                    }
                    drain(p, idx, &mut self.out);
                    if p.timeout > now + CATCH_UP_SLACK || !p.rtc.is_alive() {
                        break;
                    }
                    at = at.max(p.timeout);
                }
                // A timeout that did not advance would spin the caller's loop.
                if p.timeout <= now && p.rtc.is_alive() {
                    self.out.timeouts.remove(&(p.timeout, idx));
                    p.timeout = now + std::time::Duration::from_millis(1);
                    self.out.timeouts.insert((p.timeout, idx));
                }
            }
            self.process_work(now);
        }
        if now >= self.next_tick {
            self.reset_long_disconnected(now);
            self.tick(now);
            self.next_tick = now.max(self.next_tick) + self.config.tick_interval;
            self.process_work(now);
        }
        self.finish(now);
    }

    /// Participants whose ICE stayed down past the grace period: their tracks end (subscribers are
    /// told and re-offered) and a fresh session waits for the client's next offer.
    fn reset_long_disconnected(&mut self, now: Instant) {
        let grace = self.config.disconnect_grace;
        let stale: Vec<ParticipantId> = self
            .peers
            .iter()
            .flatten()
            .filter(|p| p.disconnected_since.is_some_and(|t| now >= t + grace))
            .map(|p| p.id.clone())
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
    pub(crate) fn reset_participant(&mut self, id: &ParticipantId, now: Instant) {
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
            if let Some(p) = peer_in(&mut self.peers, idx) {
                p.muted = muted;
            }
        }
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
        s.subscriber_bandwidth_bps = self
            .peers
            .iter()
            .flatten()
            .filter_map(|p| p.bwe_bps.map(|b| (p.id.clone(), b)))
            .collect();
        s
    }

    pub(crate) fn idx(&self, id: &ParticipantId) -> Result<PeerIdx, MediaError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| MediaError::UnknownParticipant(id.clone()))
    }

    pub(crate) fn peer(&self, idx: PeerIdx) -> Option<&Participant> {
        self.peers.get(idx.0 as usize).and_then(|p| p.as_ref())
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
        if !self.demand_dirty.is_empty() {
            self.send_demands(false);
        }
    }

    /// The id of a publisher, local or remote.
    pub(crate) fn publisher_id(&self, r: TrackOrigin) -> Option<&ParticipantId> {
        match r {
            TrackOrigin::Local(i) => self.peer(i).map(|p| &p.id),
            TrackOrigin::Remote(i) => self.remote(i).map(|p| &p.id),
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
                .remote(i)?
                .published
                .iter()
                .find(|t| t.mid == mid)
                .map(|t| &t.track),
        }
    }

    pub(crate) fn track_mut(&mut self, (r, mid): TrackKey) -> Option<&mut Track> {
        match r {
            TrackOrigin::Local(i) => peer_in(&mut self.peers, i)?
                .published_mut(mid)
                .map(|t| &mut t.track),
            TrackOrigin::Remote(i) => self
                .remote_mut(i)?
                .published
                .iter_mut()
                .find(|t| t.mid == mid)
                .map(|t| &mut t.track),
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

pub(crate) fn mark_disconnected(p: &mut Participant, out: &mut Outbox, now: Instant) {
    if p.conn != ConnState::Disconnected {
        p.conn = ConnState::Disconnected;
        p.disconnected_since = Some(now);
        out.events.push_back(Event::Disconnected {
            participant: p.id.clone(),
        });
    }
}

/// Borrow one participant mutably while leaving the SFU's other fields free to borrow.
pub(crate) fn peer_in(peers: &mut [Option<Participant>], idx: PeerIdx) -> Option<&mut Participant> {
    peers.get_mut(idx.0 as usize).and_then(|p| p.as_mut())
}

/// Drain one `Rtc` to its next timeout (str0m's single-mutation invariant).
pub(crate) fn drain(p: &mut Participant, idx: PeerIdx, out: &mut Outbox) {
    loop {
        match p.rtc.poll_output() {
            Ok(Output::Transmit(t)) => {
                out.stats.packets_out += 1;
                out.stats.bytes_out += t.contents.len() as u64;
                out.transmits.push_back(t);
            }
            Ok(Output::Event(e)) => out.work.push_back((idx, e)),
            Ok(Output::Timeout(t)) => {
                if t != p.timeout || !out.timeouts.contains(&(t, idx)) {
                    out.timeouts.remove(&(p.timeout, idx));
                    p.timeout = t;
                    if p.rtc.is_alive() {
                        out.timeouts.insert((t, idx));
                    }
                }
                return;
            }
            Err(_) => {
                p.rtc.disconnect();
                out.timeouts.remove(&(p.timeout, idx));
                // No clock here: the Rtc's last timeout is the latest time it saw, close enough
                // for a grace period counted in seconds.
                let seen = p.timeout;
                mark_disconnected(p, out, seen);
                return;
            }
        }
    }
}

/// RFC 6464 level is -dBov (str0m gives it negative): 0 is loudest. As loudness 0..=127.
pub(crate) fn loudness(level: i8) -> u8 {
    127u8.saturating_sub(level.unsigned_abs().min(127))
}
