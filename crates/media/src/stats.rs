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
    /// Media frames (audio frames, whole video frames) handed to a subscriber, and payload bytes.
    /// The core forwards at frame level; str0m re-packetizes, see `packets_out` for packets.
    pub frames_forwarded: u64,
    pub bytes_forwarded: u64,
    /// Frames not forwarded because the publisher is server-muted.
    pub frames_muted: u64,
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
    /// Simulcast layer switches completed (at a keyframe of the new layer).
    pub layer_switches: u64,
    pub(crate) dropped: [u64; DropReason::ALL.len()],
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

    pub(crate) fn count_drop(&mut self, reason: DropReason) {
        self.dropped[reason.index()] += 1;
    }
}
