//! A shard's answers to its sessions' signaling tasks: opening a session (its peer and first
//! offer), SDP, candidates, figures, closing.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Instant;

use convene_proto::OfferedTrack;
use str0m::change::SdpPendingOffer;
use str0m::config::DtlsCert;
use str0m::{Candidate, IceConnectionState, Rtc};
use tokio::sync::{mpsc, oneshot};

use super::command::{Key, ShardCmd};
use super::session::Session;
use super::Shard;
use crate::lean::{build_capturing, KeySlot};
use crate::path::RtpPath;
use convene_client::frame::unix_micros;
use convene_client::parts::{add_receive_only_line, Link, Receiver};
use convene_client::{MediaError, MediaEvent, MediaStats, NetCounters, Transport};

/// A new session's peer, before it has a slot.
struct Peer {
    rtc: Box<Rtc>,
    keys: Option<Arc<KeySlot>>,
    offer: String,
    pending: SdpPendingOffer,
}

impl Shard {
    pub(super) fn session(&mut self, key: Key) -> Result<&mut Session, MediaError> {
        self.sessions
            .get_mut(key.slot)
            .and_then(Option::as_mut)
            .filter(|s| s.gen == key.gen)
            .ok_or(MediaError::Ended)
    }

    pub(super) fn command(&mut self, c: ShardCmd) {
        let unix = unix_micros();
        match c {
            ShardCmd::Open {
                events,
                cert,
                ended,
                reply,
            } => {
                let _ = reply.send(self.open(events, cert, ended));
            }
            ShardCmd::Answer { key, sdp, reply } => {
                let r = self.answer(key, &sdp);
                self.after(key, unix);
                let _ = reply.send(r);
            }
            ShardCmd::Offer {
                key,
                sdp,
                tracks,
                reply,
            } => {
                let r = self.accept_offer(key, &sdp, &tracks);
                self.after(key, unix);
                let _ = reply.send(r);
            }
            ShardCmd::RestartIce { key, reply } => {
                let r = self.session(key).map(|s| {
                    s.want_restart = true;
                    s.offer()
                });
                self.after(key, unix);
                let _ = reply.send(r);
            }
            ShardCmd::Candidate { key, candidate } => {
                if let Ok(s) = self.session(key) {
                    s.rtc.add_remote_candidate(candidate);
                }
                self.after(key, unix);
            }
            ShardCmd::TrackEnded { key, track } => {
                if let Ok(s) = self.session(key) {
                    s.receiver.set_inactive_track(&track);
                }
            }
            ShardCmd::Note { key, error } => {
                if let Ok(s) = self.session(key) {
                    s.stats.last_error = Some(error);
                }
            }
            ShardCmd::EventDropped { key } => {
                if let Ok(s) = self.session(key) {
                    s.stats.events_dropped += 1;
                }
            }
            ShardCmd::Stats { key, reply } => {
                if let Ok(s) = self.session(key) {
                    let _ = reply.send(s.snapshot());
                }
            }
            ShardCmd::Counters { key, reply } => {
                if let Ok(s) = self.session(key) {
                    let _ = reply.send(s.net);
                }
            }
            ShardCmd::Close { key } => {
                if self.session(key).is_ok() {
                    self.remove(key.slot);
                }
            }
        }
    }

    /// After str0m was changed from outside: what it wants to send or schedule now.
    fn after(&mut self, key: Key, unix: u64) {
        if self.session(key).is_ok() {
            self.drain(key.slot, unix);
        }
    }

    fn open(
        &mut self,
        events: mpsc::Sender<MediaEvent>,
        cert: Option<DtlsCert>,
        ended: oneshot::Sender<String>,
    ) -> Result<(Key, String), MediaError> {
        let ip = self.addresses.take().ok_or_else(|| {
            MediaError::Io(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                "no loopback address left for another shared-socket session",
            ))
        })?;
        let local = SocketAddrV4::new(ip, self.port);
        let now = Instant::now();
        let peer = self.new_peer(local, cert, now)?;
        let mut receiver = Receiver::default();
        receiver.packet_mode = true;
        let stats = Box::new(MediaStats {
            transport: Transport::Udp,
            local_addr: Some(SocketAddr::V4(local)),
            ice_state: format!("{:?}", IceConnectionState::New),
            offers_sent: 1,
            ..MediaStats::default()
        });
        self.next_gen = self.next_gen.wrapping_add(1);
        let session = Session {
            gen: self.next_gen,
            rtc: peer.rtc,
            local,
            receiver,
            net: NetCounters::default(),
            remote: None,
            stats,
            events,
            ended: Some(ended),
            pending: Some(peer.pending),
            want_restart: false,
            link: Link::new(),
            timeout: now,
            str0m_ran: now,
            scheduled: None,
            flowing: false,
            keys: peer.keys,
            lean: None,
            twcc_id: None,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.sessions[slot] = Some(session);
                slot
            }
            None => {
                self.sessions.push(Some(session));
                self.sessions.len() - 1
            }
        };
        self.route.insert(ip, slot);
        let key = Key {
            slot,
            gen: self.next_gen,
        };
        self.drain(slot, unix_micros());
        Ok((key, peer.offer))
    }

    /// A packet-mode peer on `local`, with its first offer: an inactive audio m-line.
    fn new_peer(
        &self,
        local: SocketAddrV4,
        cert: Option<DtlsCert>,
        now: Instant,
    ) -> Result<Peer, MediaError> {
        let mut builder = Rtc::builder().set_rtp_mode(true);
        if let Some(cert) = cert {
            builder = builder.set_dtls_cert(cert);
        }
        let (rtc, keys) = match self.path {
            RtpPath::Lean => {
                let (rtc, keys) = build_capturing(builder, now);
                (rtc, Some(keys))
            }
            RtpPath::Str0m => (builder.build(now), None),
        };
        let mut rtc = Box::new(rtc);
        let candidate = Candidate::host(SocketAddr::V4(local), "udp")
            .map_err(|e| MediaError::Candidate(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let mut api = rtc.sdp_api();
        add_receive_only_line(&mut api);
        let (offer, pending) = api.apply().ok_or(MediaError::Ended)?;
        Ok(Peer {
            rtc,
            keys,
            offer: offer.to_sdp_string(),
            pending,
        })
    }

    fn answer(&mut self, key: Key, sdp: &str) -> Result<Option<String>, MediaError> {
        self.session(key)?.answer(sdp)
    }

    fn accept_offer(
        &mut self,
        key: Key,
        sdp: &str,
        tracks: &[OfferedTrack],
    ) -> Result<Option<String>, MediaError> {
        self.session(key)?.accept_offer(sdp, tracks)
    }
}
