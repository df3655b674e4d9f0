//! One session of a shard: its str0m peer (ICE, DTLS, SDP), what it received, and the lean
//! receive path once DTLS is up.

use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_proto::OfferedTrack;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::Direction;
use str0m::{Event, Rtc};
use tokio::sync::{mpsc, oneshot};

use crate::lean::{twcc_extension_id, KeySlot, Lean, Scratch};
use crate::mux::Outgoing;
use crate::prefetch::{prefetch_histograms, prefetch_receiver};
use convene_client::parts::{packet_mid, Link, Receiver};
use convene_client::{MediaError, MediaEvent, MediaStats, NetCounters};

/// How late a session's str0m timeout may fire once its media flows. str0m runs every due timeout
/// whenever a packet is handed to it, and a subscriber gets one every ~10 ms, so most timeouts
/// (NACK every 33 ms, TWCC every 50 ms, reports) are run by a packet before this slack is over
/// and need no wakeup of their own: those wakeups were 15 % of the tool's CPU in a fan-out.
/// 20 ms later feedback is within what a browser's RTCP scheduling varies by.
const TIMER_SLACK: Duration = Duration::from_millis(20);
/// Once the lean path runs, str0m is left with ICE and DTLS, whose timers are seconds apart
/// (ICE keepalives every 3 s, retries from 250 ms), but its RTP machinery still asks for a
/// timeout every 33 ms (NACK rounds for streams it never sees), and each one ran all of str0m:
/// ~5 % of the tool's CPU in a fan-out. Its timeouts then run at most this often.
const LEAN_STR0M_INTERVAL: Duration = Duration::from_millis(250);

/// What the shard prefetches for a session: each level reads what the one before brought in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    /// The session's own memory.
    Session,
    /// The blocks it points to: keys, SSRC table, feedback list, tracks, reassembly state.
    Blocks,
    /// The delay histogram buckets its tracks counted last (their addresses are in the tracks).
    Buckets,
}

/// One receive-only peer connection of a shard.
pub(super) struct Session {
    pub(super) gen: u32,
    pub(super) rtc: Box<Rtc>,
    pub(super) local: SocketAddrV4,
    pub(super) receiver: Receiver,
    /// Counted per datagram: kept in the session's own memory, which the shard prefetches,
    /// rather than in the boxed `stats`.
    pub(super) net: NetCounters,
    /// Where the server's datagrams come from: our feedback goes there.
    pub(super) remote: Option<SocketAddr>,
    /// The rest of what [`Session::snapshot`] reports, which no datagram touches: boxed, so
    /// that the session's own memory is what handling a datagram reads, and prefetching it
    /// costs fewer cache lines.
    pub(super) stats: Box<MediaStats>,
    pub(super) events: mpsc::Sender<MediaEvent>,
    pub(super) ended: Option<oneshot::Sender<String>>,
    pub(super) pending: Option<str0m::change::SdpPendingOffer>,
    pub(super) want_restart: bool,
    pub(super) link: Link,
    /// str0m's next timeout, and the earliest heap entry not yet due for this session.
    pub(super) timeout: Instant,
    /// When str0m's timeouts last ran.
    pub(super) str0m_ran: Instant,
    pub(super) scheduled: Option<Instant>,
    /// Media has arrived: timeouts may wait [`TIMER_SLACK`] for a packet to run them. Before,
    /// ICE and DTLS run on time, so that connecting takes as long as it would.
    pub(super) flowing: bool,
    /// [`crate::RtpPath::Lean`]: where the DTLS handshake leaves its keys, and the lean path once it
    /// has them.
    pub(super) keys: Option<Arc<KeySlot>>,
    pub(super) lean: Option<Lean>,
    /// The transport-wide-cc extension's id in the server's SDP.
    pub(super) twcc_id: Option<u8>,
}

impl Session {
    /// When the shard should wake for a deadline at `t`.
    pub(super) fn wake_at(&self, t: Instant) -> Instant {
        if self.flowing {
            t + TIMER_SLACK
        } else {
            t
        }
    }

    /// When str0m's timeouts are to run: at its timeout, but not sooner than
    /// [`LEAN_STR0M_INTERVAL`] after the last run once the lean path has its RTP.
    pub(super) fn str0m_due(&self) -> Instant {
        if self.lean.is_some() {
            self.timeout.max(self.str0m_ran + LEAN_STR0M_INTERVAL)
        } else {
            self.timeout
        }
    }

    /// When the shard should wake for this session: str0m's timeout or the lean path's feedback.
    pub(super) fn next_wake(&self) -> Instant {
        let str0m = self.wake_at(self.str0m_due());
        match self.lean.as_ref().and_then(Lean::next_due) {
            Some(t) => str0m.min(self.wake_at(t)),
            None => str0m,
        }
    }

    /// Brings the blocks this session points to, which handling a datagram reads, towards the
    /// cache (see `prefetch.rs`). Reads the session's own fields: the shard prefetches those
    /// ([`Depth::Session`]) some datagrams before.
    pub(super) fn prefetch_blocks(&self) {
        if let Some(lean) = &self.lean {
            lean.prefetch();
        }
        prefetch_receiver(&self.receiver);
    }

    /// After [`Session::prefetch_blocks`], some datagrams before: the histogram buckets.
    pub(super) fn prefetch_buckets(&self) {
        prefetch_histograms(&self.receiver);
    }

    /// DTLS is up: with the keys it exported, the session's RTP takes the lean path.
    fn start_lean(&mut self, now: Instant) {
        let Some(captured) = self.keys.take().and_then(|k| k.take()) else {
            return;
        };
        match Lean::start(&captured, self.twcc_id, now) {
            Ok(mut lean) => {
                lean.map_streams(&mut self.rtc, &self.receiver);
                self.lean = Some(lean);
            }
            // It stays with str0m, which takes any profile.
            Err(e) => self.stats.last_error = Some(format!("lean path: {e}")),
        }
    }

    pub(super) fn emit(&mut self, e: MediaEvent) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.events.try_send(e) {
            self.stats.events_dropped += 1;
        }
    }

    pub(super) fn on_event(&mut self, e: Event, now_unix_us: u64) {
        if let Some(report) = self.link.on_event(&e, &mut self.stats) {
            if matches!(e, Event::Connected) {
                self.start_lean(Instant::now());
            }
            if let Some(r) = report {
                self.emit(r);
            }
            return;
        }
        match e {
            Event::RtpPacket(p) => {
                self.flowing = true;
                match packet_mid(&mut self.rtc, &p) {
                    Some(mid) => self.receiver.on_packet(mid, &p, now_unix_us),
                    None => self.receiver.unmapped_frames += 1,
                }
            }
            Event::MediaChanged(c) if c.direction == Direction::Inactive => {
                self.receiver.set_inactive_mid(c.mid)
            }
            _ => {}
        }
    }

    /// An offer with any ICE restart asked for, if none is pending and there is something to
    /// offer.
    pub(super) fn offer(&mut self) -> Option<String> {
        if self.pending.is_some() {
            return None;
        }
        let mut api = self.rtc.sdp_api();
        let restart = std::mem::take(&mut self.want_restart);
        if restart {
            api.ice_restart(true);
        }
        let (offer, pending) = api.apply()?;
        self.pending = Some(pending);
        self.stats.offers_sent += 1;
        self.stats.ice_restarts += u64::from(restart);
        Some(offer.to_sdp_string())
    }

    /// The extension ids of a server SDP the lean path reads packets by.
    fn learn_extensions(&mut self, sdp: &str) {
        self.twcc_id = twcc_extension_id(sdp).or(self.twcc_id);
        if let Some(lean) = self.lean.as_mut() {
            lean.set_twcc_id(self.twcc_id);
        }
    }

    pub(super) fn snapshot(&self) -> MediaStats {
        let mut s = MediaStats::clone(&self.stats);
        s.net = self.net;
        s.remote_addr = self.remote;
        s.tracks = self.receiver.tracks.clone();
        s.unmapped_frames = self.receiver.unmapped_frames;
        s.lean = self.lean.as_ref().map(|l| l.stats.clone());
        s
    }

    /// The server's answer to our pending offer; a new offer if an ICE restart is due.
    pub(super) fn answer(&mut self, sdp: &str) -> Result<Option<String>, MediaError> {
        let Some(pending) = self.pending.take() else {
            return Ok(None);
        };
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        self.stats.answers_received += 1;
        self.learn_extensions(sdp);
        Ok(if self.want_restart {
            self.offer()
        } else {
            None
        })
    }

    /// The server's offer: our answer, or None while our own offer is pending (glare).
    pub(super) fn accept_offer(
        &mut self,
        sdp: &str,
        tracks: &[OfferedTrack],
    ) -> Result<Option<String>, MediaError> {
        if self.pending.is_some() {
            self.stats.server_offers_ignored += 1;
            return Ok(None);
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        self.receiver.map_tracks(tracks);
        self.learn_extensions(sdp);
        if let Some(lean) = self.lean.as_mut() {
            lean.map_streams(&mut self.rtc, &self.receiver);
        }
        self.stats.server_offers_answered += 1;
        self.emit(MediaEvent::TracksChanged);
        Ok(Some(answer.to_sdp_string()))
    }
}

/// Sends the lean path's due feedback from the session's address to the server.
pub(super) fn lean_poll(
    s: &mut Session,
    now: Instant,
    scratch: &mut Scratch,
    out: &mut Vec<Outgoing>,
) {
    let (Some(lean), Some(SocketAddr::V4(dest))) = (s.lean.as_mut(), s.remote) else {
        return;
    };
    let (source, net) = (*s.local.ip(), &mut s.net);
    lean.poll(now, scratch, &mut |data| {
        net.packets_out += 1;
        net.bytes_out += data.len() as u64;
        out.push(Outgoing { source, dest, data });
    });
}
