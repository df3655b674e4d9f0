//! Counters the server exports as metrics. Monotonic unless noted.

use convene_proto::ParticipantId;

use crate::error::DropReason;

#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Datagrams accepted into a participant's WebRTC stack, and their bytes.
    pub packets_in: u64,
    pub bytes_in: u64,
    /// Datagrams emitted via `poll_transmit`, and their bytes.
    pub packets_out: u64,
    pub bytes_out: u64,
    /// RTP packets handed to a subscriber's stream, and their payload bytes (retransmissions
    /// and RTCP are in `packets_out`, not here).
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
    /// Packets not forwarded because the publisher is server-muted.
    pub packets_muted: u64,
    /// NACKs received from subscribers / sent to publishers (from str0m's RTCP statistics).
    pub nacks_received: u64,
    pub nacks_sent: u64,
    /// PLI+FIR received from subscribers / sent to publishers (str0m statistics).
    pub plis_received: u64,
    pub plis_sent: u64,
    /// Keyframe requests the core decided to send upstream (switches, new subscribers, relays).
    pub keyframe_requests: u64,
    /// Keyframe requests suppressed by the per-track rate limit.
    pub keyframe_requests_throttled: u64,
    /// Subscribers that started a video from the cached packets since its last keyframe, without
    /// asking the publisher for a new one (`keyframe_cache.rs`).
    pub keyframe_cache_starts: u64,
    /// Simulcast layer switches completed (at a keyframe of the new layer).
    pub layer_switches: u64,
    /// Packets relayed to / received from other cores hosting the same room.
    pub relay_packets_out: u64,
    pub relay_packets_in: u64,
    pub(crate) dropped: [u64; DropReason::ALL.len()],
    /// Participants whose peer connection is made (gauge): those that have offered. A joined
    /// participant gets one only at its first offer (peer.rs, `RtcSession`).
    pub media_sessions: u64,
    /// Latest TWCC estimate per subscriber, bits/s (gauge; only connected subscribers with BWE).
    pub subscriber_bandwidth_bps: Vec<(ParticipantId, u64)>,
}

impl Stats {
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped[reason.index()]
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// (reason, count) for every reason, for labelled metrics.
    pub fn dropped_by_reason(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (*r, self.dropped[r.index()]))
    }

    /// Adds another core's counters (a server runs one core per worker thread).
    pub fn merge(&mut self, other: &Stats) {
        self.packets_in += other.packets_in;
        self.bytes_in += other.bytes_in;
        self.packets_out += other.packets_out;
        self.bytes_out += other.bytes_out;
        self.packets_forwarded += other.packets_forwarded;
        self.bytes_forwarded += other.bytes_forwarded;
        self.packets_muted += other.packets_muted;
        self.nacks_received += other.nacks_received;
        self.nacks_sent += other.nacks_sent;
        self.plis_received += other.plis_received;
        self.plis_sent += other.plis_sent;
        self.keyframe_requests += other.keyframe_requests;
        self.keyframe_requests_throttled += other.keyframe_requests_throttled;
        self.keyframe_cache_starts += other.keyframe_cache_starts;
        self.layer_switches += other.layer_switches;
        self.relay_packets_out += other.relay_packets_out;
        self.relay_packets_in += other.relay_packets_in;
        self.media_sessions += other.media_sessions;
        for (a, b) in self.dropped.iter_mut().zip(other.dropped.iter()) {
            *a += b;
        }
        self.subscriber_bandwidth_bps
            .extend(other.subscriber_bandwidth_bps.iter().cloned());
    }

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        self.dropped[reason.index()] += 1;
    }
}
