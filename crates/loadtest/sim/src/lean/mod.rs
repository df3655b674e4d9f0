//! The lean receive path of a shard session: once str0m has run ICE and the DTLS handshake, the
//! session decrypts the server's SRTP itself and sends the RTCP a browser would (transport-wide
//! feedback, receiver reports, NACKs), so that str0m's per-packet work (its SRTP context,
//! receive registers, timers) is not paid for every packet of every simulated participant.
//! str0m keeps ICE (consent checks) and DTLS; it never sees RTP, and what RTCP it would send for
//! the streams the SDP declared is dropped.

mod aead;
#[cfg(test)]
mod interop;
mod keys;
mod rtcp;
mod rtp;
mod srtp;
mod stream;
mod twcc;

use std::time::{Duration, Instant};

use str0m::media::Mid;
use str0m::Rtc;

pub(crate) use keys::{build_capturing, KeySlot};

use crate::prefetch::prefetch_slice;
use convene_client::parts::Receiver;
pub use convene_client::LeanStats;
use keys::{base, Captured, SessionKeys};
use rtcp::ReportBlock;
use stream::{Arrival, RxStream};
use twcc::TwccRx;

/// str0m's interval for transport-wide feedback (a browser's is 50-250 ms, by bitrate).
const TWCC_INTERVAL: Duration = Duration::from_millis(50);
/// Receiver reports: one compound with every stream's block.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// Pace of NACK rounds while packets are missing (each packet has its own interval too).
const NACK_ROUND: Duration = Duration::from_millis(10);
/// How often unknown SSRCs may make us look at str0m's streams again.
const REMAP_INTERVAL: Duration = Duration::from_millis(100);
/// SSRCs tracked at most (the server's media and RTX streams, and its probe stream).
const MAX_SSRCS: usize = 256;
/// An RTCP compound we send stays under this (SRTCP adds 20 octets).
const MAX_COMPOUND: usize = 1100;
/// Streams and SSRCs of a session whose state is prefetched (see `prefetch.rs`).
const PREFETCH_STREAMS: usize = 4;
/// Largest datagram decrypted (the receive buffers are this size).
const MAX_DATAGRAM: usize = 2048;

/// The transport-wide-cc extension's id in an SDP, if it has one.
pub(crate) fn twcc_extension_id(sdp: &str) -> Option<u8> {
    sdp.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("a=extmap:")?;
        let (id, uri) = rest.split_once(' ')?;
        let id = id.split('/').next()?.parse().ok()?;
        uri.trim()
            .contains("transport-wide-cc-extensions-01")
            .then_some(id)
    })
}

/// Test vectors are written in hex, with spaces between groups.
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// RTP and RTCP, not STUN or DTLS (RFC 7983: first octet 128-191).
pub(crate) fn is_srtp(data: &[u8]) -> bool {
    data.first().is_some_and(|b| (128..=191).contains(b))
}

struct Ssrc {
    ssrc: u32,
    /// The SRTP index of this SSRC's packets.
    index: rtp::SeqExt,
    /// The stream it carries, and whether as its RTX.
    target: Option<(usize, bool)>,
}

/// Buffers the sessions of a shard share: what they hold lives only during one call. One set,
/// hot in cache, instead of a 2 KiB decryption buffer per session: decrypting into a cold
/// per-session buffer cost a cache miss per 64 octets of every packet.
pub(crate) struct Scratch {
    plain: Vec<u8>,
    compound: Vec<u8>,
    nack_seqs: Vec<u16>,
    /// Where each RTCP packet of `compound` ends, for splitting it into datagrams.
    ends: Vec<usize>,
    /// Buffers of datagrams already sent, for the next ones (an allocation and a free per
    /// feedback datagram were ~2 % of the tool's CPU).
    spare: Vec<Vec<u8>>,
}

impl Scratch {
    /// Spare buffers kept at most: a shard's feedback for one turn, with room to spare.
    const MAX_SPARE: usize = 4096;

    /// Takes back the buffer of a datagram that was sent.
    pub fn recycle(&mut self, mut datagram: Vec<u8>) {
        if self.spare.len() < Self::MAX_SPARE {
            datagram.clear();
            self.spare.push(datagram);
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            plain: vec![0; MAX_DATAGRAM],
            compound: Vec::new(),
            nack_seqs: Vec::new(),
            ends: Vec::new(),
            spare: Vec::new(),
        }
    }
}

pub(crate) struct Lean {
    srtp_in: srtp::Context,
    srtcp_in: srtp::Context,
    srtcp_out: srtp::Context,
    srtcp_index: u32,
    sender_ssrc: u32,
    twcc_id: Option<u8>,
    twcc: TwccRx,
    streams: Vec<RxStream>,
    ssrcs: Vec<Ssrc>,
    epoch: Instant,
    next_twcc: Option<Instant>,
    next_report: Option<Instant>,
    next_nack: Option<Instant>,
    remap_at: Instant,
    pub stats: LeanStats,
}

impl Lean {
    /// The lean path for keys the handshake exported; an error names what it cannot take (a
    /// profile other than AES-GCM: the session then stays with str0m).
    pub fn start(c: &Captured, twcc_id: Option<u8>, now: Instant) -> Result<Lean, String> {
        let provider = base().srtp_provider;
        let keys = SessionKeys::derive(c, provider)
            .ok_or_else(|| format!("SRTP profile {:?} is not AES-GCM", c.profile))?;
        let ctx = |k| srtp::Context::new(keys.profile, k).ok_or_else(|| "bad SRTP key".to_string());
        Ok(Lean {
            srtp_in: ctx(&keys.rtp_in)?,
            srtcp_in: ctx(&keys.rtcp_in)?,
            srtcp_out: ctx(&keys.rtcp_out)?,
            srtcp_index: 0,
            sender_ssrc: rand_ssrc(),
            twcc_id,
            twcc: TwccRx::new(now),
            streams: Vec::new(),
            ssrcs: Vec::new(),
            epoch: now,
            next_twcc: None,
            next_report: None,
            next_nack: None,
            remap_at: now,
            stats: LeanStats::default(),
        })
    }

    pub fn set_twcc_id(&mut self, id: Option<u8>) {
        if id.is_some() {
            self.twcc_id = id;
        }
    }

    /// Learns the server's SSRCs (and their RTX) for the receiver's m-lines from str0m, which
    /// read them in the SDP.
    pub fn map_streams(&mut self, rtc: &mut Rtc, receiver: &Receiver) {
        for (track, t) in receiver.tracks.iter().enumerate() {
            let mid = Mid::from(t.mid.as_str());
            let Some((ssrc, rtx)) = rtc
                .direct_api()
                .stream_rx_by_mid(mid, None)
                .map(|s| (*s.ssrc(), s.rtx().map(|r| *r)))
            else {
                continue;
            };
            let i = match self.streams.iter().position(|s| s.ssrc == ssrc) {
                Some(i) => i,
                None => {
                    let clock_rate = match t.kind {
                        convene_proto::MediaKind::Audio => 48_000,
                        convene_proto::MediaKind::Video => 90_000,
                    };
                    self.streams
                        .push(RxStream::new(ssrc, rtx, track, clock_rate));
                    self.streams.len() - 1
                }
            };
            self.streams[i].rtx = self.streams[i].rtx.or(rtx);
            // A mid reused for a new track: the later track (the one its packets are for
            // now) wins, as in the receiver's own mapping.
            self.streams[i].track = track;
            self.target(ssrc, (i, false));
            if let Some(r) = rtx {
                self.target(r, (i, true));
            }
        }
    }

    fn target(&mut self, ssrc: u32, target: (usize, bool)) {
        if let Some(i) = self.ssrc_slot(ssrc) {
            self.ssrcs[i].target = Some(target);
        }
    }

    /// The slot of `ssrc`, added if new (None once [`MAX_SSRCS`] are tracked).
    fn ssrc_slot(&mut self, ssrc: u32) -> Option<usize> {
        if let Some(i) = self.ssrcs.iter().position(|s| s.ssrc == ssrc) {
            return Some(i);
        }
        if self.ssrcs.len() >= MAX_SSRCS {
            return None;
        }
        self.ssrcs.push(Ssrc {
            ssrc,
            index: rtp::SeqExt::default(),
            target: None,
        });
        Some(self.ssrcs.len() - 1)
    }

    /// Brings what [`Lean::handle`] reads first towards the cache (see `prefetch.rs`).
    pub fn prefetch(&self) {
        // Every stream and SSRC a packet may be for: a subscriber has a few (audio, video and
        // its RTX), and the video stream's was a miss when only the first was prefetched.
        prefetch_slice(&self.ssrcs[..self.ssrcs.len().min(PREFETCH_STREAMS)]);
        prefetch_slice(&self.streams[..self.streams.len().min(PREFETCH_STREAMS)]);
        self.srtp_in.prefetch();
        self.twcc.prefetch();
    }

    /// One SRTP or SRTCP datagram from the server.
    pub fn handle(
        &mut self,
        data: &[u8],
        now: Instant,
        now_unix_us: u64,
        rtc: &mut Rtc,
        receiver: &mut Receiver,
        scratch: &mut Scratch,
    ) {
        if rtp::is_rtcp(data) {
            self.handle_rtcp(data, now, &mut scratch.compound);
            return;
        }
        let Some(h) = rtp::parse(data, self.twcc_id) else {
            self.stats.srtp_failures += 1;
            return;
        };
        let known = self.ssrcs.iter().position(|s| s.ssrc == h.ssrc);
        let index = known.map_or(u64::from(h.seq), |i| self.ssrcs[i].index.extend(h.seq));
        let Some(n) = self
            .srtp_in
            .unprotect_rtp(data, h.len, h.ssrc, index, &mut scratch.plain)
        else {
            self.stats.srtp_failures += 1;
            return;
        };
        // Only an SSRC whose packet authenticated takes a slot.
        let Some(slot) = known.or_else(|| self.ssrc_slot(h.ssrc)) else {
            self.stats.unknown_ssrc += 1;
            return;
        };
        self.ssrcs[slot].index.accept(index);
        if self.ssrcs[slot].target.is_none() && now >= self.remap_at {
            self.remap_at = now + REMAP_INTERVAL;
            self.map_streams(rtc, receiver);
        }
        if let Some(seq) = h.transport_seq {
            self.twcc.record(seq, now);
            self.next_twcc.get_or_insert(now + TWCC_INTERVAL);
        }
        self.next_report.get_or_insert(now + REPORT_INTERVAL);
        let Some(payload) = rtp::unpad(&scratch.plain[..n], h.padding) else {
            self.stats.srtp_failures += 1;
            return;
        };
        let Some((i, is_rtx)) = self.ssrcs[slot].target else {
            if !payload.is_empty() {
                self.stats.unknown_ssrc += 1;
                receiver.unmapped_frames += 1;
            } else {
                self.stats.padding += 1;
            }
            return;
        };
        let s = &mut self.streams[i];
        let (ext, payload) = if is_rtx {
            // RFC 4588: the original sequence number, then the original payload; nothing
            // after it is a padding packet.
            if payload.len() <= 2 {
                self.stats.padding += 1;
                return;
            }
            let osn = u16::from_be_bytes([payload[0], payload[1]]);
            (s.seq.extend(osn), &payload[2..])
        } else {
            if payload.is_empty() {
                self.stats.padding += 1;
                return;
            }
            (index, payload)
        };
        if s.arrive(ext, now) == Arrival::Duplicate {
            self.stats.duplicates += 1;
            return;
        }
        if !is_rtx {
            let us = now.saturating_duration_since(self.epoch).as_micros() as u64;
            s.timing(h.timestamp, us);
        }
        if s.has_missing() && self.next_nack.is_none() {
            self.next_nack = Some(now);
        }
        let (track, ssrc) = (s.track, s.ssrc);
        receiver.on_track_rtp(track, ssrc, ext, h.marker, payload, now, now_unix_us);
    }

    fn handle_rtcp(&mut self, data: &[u8], now: Instant, plain: &mut Vec<u8>) {
        plain.clear();
        if self.srtcp_in.unprotect_rtcp(data, plain).is_none() {
            self.stats.srtp_failures += 1;
        } else {
            let streams = &mut self.streams;
            rtcp::sender_reports(plain, &mut |ssrc, ntp| {
                if let Some(s) = streams.iter_mut().find(|s| s.ssrc == ssrc) {
                    s.sender_report(ntp, now);
                }
            });
        }
    }

    /// When [`Lean::poll`] has something to do.
    pub fn next_due(&self) -> Option<Instant> {
        [self.next_twcc, self.next_report, self.next_nack]
            .into_iter()
            .flatten()
            .min()
    }

    /// Sends the feedback that is due: each datagram (SRTCP) goes to `send`.
    pub fn poll(&mut self, now: Instant, scratch: &mut Scratch, send: &mut impl FnMut(Vec<u8>)) {
        let Scratch {
            compound: out,
            ends: packets,
            nack_seqs,
            spare,
            ..
        } = scratch;
        out.clear();
        packets.clear();
        if self.next_report.is_some_and(|t| now >= t) {
            self.next_report = Some(now + REPORT_INTERVAL);
            let blocks: Vec<ReportBlock> = self
                .streams
                .iter_mut()
                .filter_map(|s| s.report(now))
                .collect();
            for chunk in blocks.chunks(rtcp::MAX_BLOCKS).take(4) {
                rtcp::write_receiver_report(self.sender_ssrc, chunk, out);
                packets.push(out.len());
                self.stats.receiver_reports_sent += 1;
            }
        }
        if self.next_nack.is_some_and(|t| now >= t) {
            let mut later = false;
            for s in &mut self.streams {
                nack_seqs.clear();
                later |= s.nacks(now, nack_seqs);
                if !nack_seqs.is_empty() {
                    rtcp::write_nack(self.sender_ssrc, s.ssrc, nack_seqs, out);
                    packets.push(out.len());
                    self.stats.nacks_sent += nack_seqs.len() as u64;
                }
            }
            self.next_nack = later.then_some(now + NACK_ROUND);
        }
        if self.next_twcc.is_some_and(|t| now >= t) {
            self.next_twcc = None;
            let media = self.streams.first().map_or(0, |s| s.ssrc);
            let start = out.len();
            let n = self.twcc.write_feedback(self.sender_ssrc, media, out);
            self.stats.twcc_feedback_sent += u64::from(n);
            // Each feedback packet's end, so that compounds split between them.
            let mut at = start;
            while at < out.len() {
                at += (usize::from(u16::from_be_bytes([out[at + 2], out[at + 3]])) + 1) * 4;
                packets.push(at);
            }
        }
        // Compounds of whole packets, each under the size limit, each one SRTCP datagram.
        let mut from = 0;
        let mut end = 0;
        for &p in packets.iter() {
            if p - from > MAX_COMPOUND && end > from {
                self.seal(&out[from..end], spare, send);
                from = end;
            }
            end = p;
        }
        if end > from {
            self.seal(&out[from..end], spare, send);
        }
    }

    fn seal(&mut self, plain: &[u8], spare: &mut Vec<Vec<u8>>, send: &mut impl FnMut(Vec<u8>)) {
        let mut datagram = spare.pop().unwrap_or_default();
        datagram.reserve(plain.len() + 24);
        let index = self.srtcp_index;
        self.srtcp_index = (self.srtcp_index + 1) & 0x7fff_ffff;
        if self.srtcp_out.protect_rtcp(plain, index, &mut datagram) {
            send(datagram);
        }
    }
}

/// An SSRC for our feedback: any value will do (the server keys nothing by it), but sessions
/// should not all use one.
fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded afresh for each instance.
    (std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u32)
        | 1
}

#[cfg(test)]
mod scratch_tests {
    use super::Scratch;

    #[test]
    fn sent_buffers_are_kept_for_reuse_up_to_a_limit() {
        let mut s = Scratch::default();
        for _ in 0..Scratch::MAX_SPARE + 10 {
            s.recycle(vec![7; 100]);
        }
        assert_eq!(s.spare.len(), Scratch::MAX_SPARE);
        assert!(s.spare.iter().all(|b| b.is_empty() && b.capacity() >= 100));
    }
}
