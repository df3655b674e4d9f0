//! One simulated participant: what it measured (a [`Snap`]) and how it failed (a [`Failure`]).

use std::sync::OnceLock;
use std::time::Duration;

use convene_client::histogram::DelayHistogram;
use convene_client::{new_dtls_cert, MediaStats};
use str0m::config::DtlsCert;

use crate::pacing::Slot;

/// One DTLS certificate for every participant of the process (Convene's and Janus's): a key
/// generation per participant was a large part of the tool's cost of a join. None if it could
/// not be made (each peer connection then makes its own).
pub fn shared_dtls_cert() -> Option<DtlsCert> {
    static CERT: OnceLock<Option<DtlsCert>> = OnceLock::new();
    CERT.get_or_init(|| new_dtls_cert().ok()).clone()
}

/// Cumulative counters of one participant at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snap {
    /// Datagrams (or ICE-TCP frames) and their bytes, all kinds: RTP, RTCP, STUN, DTLS.
    pub packets_in: u64,
    pub bytes_in: u64,
    pub packets_out: u64,
    pub bytes_out: u64,
    /// Packets the tool could not send (socket buffer full).
    pub send_dropped: u64,
    /// Media frames received (reassembled from RTP) and their payload bytes.
    pub frames_in: u64,
    pub media_bytes_in: u64,
    /// Media frames written by the publisher.
    pub frames_out: u64,
    pub media_bytes_out: u64,
    /// Frames not generated because the tool fell behind its schedule: the tool was the bottleneck.
    pub frames_skipped: u64,
    /// Frames between each track's first and highest sequence number that never arrived in order.
    pub lost: u64,
    pub expected: u64,
    pub corrupt: u64,
    pub foreign: u64,
    /// Send-to-receive delay of every frame, µs.
    pub delay: DelayHistogram,
    /// The lean receive path (`--rtp-path lean`): 1 if this participant took it, and its counts.
    pub lean: LeanCounts,
}

/// What participants on the lean receive path counted (see `convene_client::LeanStats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LeanCounts {
    pub sessions: u64,
    pub srtp_failures: u64,
    pub unknown_ssrc: u64,
    pub duplicates: u64,
    pub nacks_sent: u64,
    pub twcc_feedback_sent: u64,
    pub receiver_reports_sent: u64,
}

impl LeanCounts {
    fn add_delta(&mut self, later: &LeanCounts, earlier: &LeanCounts) {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        self.sessions += d(later.sessions, earlier.sessions);
        self.srtp_failures += d(later.srtp_failures, earlier.srtp_failures);
        self.unknown_ssrc += d(later.unknown_ssrc, earlier.unknown_ssrc);
        self.duplicates += d(later.duplicates, earlier.duplicates);
        self.nacks_sent += d(later.nacks_sent, earlier.nacks_sent);
        self.twcc_feedback_sent += d(later.twcc_feedback_sent, earlier.twcc_feedback_sent);
        self.receiver_reports_sent += d(later.receiver_reports_sent, earlier.receiver_reports_sent);
    }
}

impl Snap {
    pub fn of(s: &MediaStats) -> Snap {
        let mut out = Snap {
            packets_in: s.net.packets_in,
            bytes_in: s.net.bytes_in,
            packets_out: s.net.packets_out,
            bytes_out: s.net.bytes_out,
            send_dropped: s.net.send_dropped,
            frames_out: s.sent.audio_frames + s.sent.video_frames.iter().sum::<u64>(),
            media_bytes_out: s.sent.audio_bytes + s.sent.video_bytes.iter().sum::<u64>(),
            frames_skipped: s.sent.frames_skipped,
            ..Snap::default()
        };
        if let Some(l) = &s.lean {
            out.lean = LeanCounts {
                sessions: 1,
                srtp_failures: l.srtp_failures,
                unknown_ssrc: l.unknown_ssrc,
                duplicates: l.duplicates,
                nacks_sent: l.nacks_sent,
                twcc_feedback_sent: l.twcc_feedback_sent,
                receiver_reports_sent: l.receiver_reports_sent,
            };
        }
        for t in &s.tracks {
            out.frames_in += t.frames;
            out.media_bytes_in += t.bytes;
            out.lost += t.lost();
            out.expected += t.expected();
            out.corrupt += t.corrupt;
            out.foreign += t.foreign;
            out.delay.merge(&t.delay_hist);
        }
        out
    }

    /// Adds `later - earlier` (counters of one participant) to `self`.
    pub fn add_delta(&mut self, later: &Snap, earlier: &Snap) {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        self.packets_in += d(later.packets_in, earlier.packets_in);
        self.bytes_in += d(later.bytes_in, earlier.bytes_in);
        self.packets_out += d(later.packets_out, earlier.packets_out);
        self.bytes_out += d(later.bytes_out, earlier.bytes_out);
        self.send_dropped += d(later.send_dropped, earlier.send_dropped);
        self.frames_in += d(later.frames_in, earlier.frames_in);
        self.media_bytes_in += d(later.media_bytes_in, earlier.media_bytes_in);
        self.frames_out += d(later.frames_out, earlier.frames_out);
        self.media_bytes_out += d(later.media_bytes_out, earlier.media_bytes_out);
        self.frames_skipped += d(later.frames_skipped, earlier.frames_skipped);
        self.lost += d(later.lost, earlier.lost);
        self.expected += d(later.expected, earlier.expected);
        self.corrupt += d(later.corrupt, earlier.corrupt);
        self.foreign += d(later.foreign, earlier.foreign);
        self.delay.merge(&later.delay.since(&earlier.delay));
        self.lean.add_delta(&later.lean, &earlier.lean);
    }
}

/// Why a participant did not make it (or dropped out), grouped by `cause` in the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// A short, stable category: `connect`, `join_refused:room_full`, `ice_dtls_timeout` ...
    pub cause: String,
    /// The first error message, for the report's examples.
    pub detail: String,
}

impl Failure {
    pub fn new(cause: impl Into<String>, detail: impl ToString) -> Self {
        Failure {
            cause: cause.into(),
            detail: detail.to_string(),
        }
    }
}

/// What one participant reports at the end.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub slot: Slot,
    pub join: Option<Duration>,
    pub connect: Option<Duration>,
    pub failure: Option<Failure>,
    /// Taken when the measured window starts and ends, and at the very end.
    pub at_measure: Option<Snap>,
    pub at_drain: Option<Snap>,
    pub last: Option<Snap>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_certificate_for_all() {
        let a = shared_dtls_cert().expect("a certificate");
        let b = shared_dtls_cert().expect("a certificate");
        assert!(!a.certificate.is_empty() && !a.private_key.is_empty());
        assert_eq!(
            (a.certificate, a.private_key),
            (b.certificate, b.private_key)
        );
    }

    #[test]
    fn deltas_add_up() {
        let mut a = Snap {
            packets_in: 10,
            frames_in: 5,
            lost: 1,
            ..Snap::default()
        };
        a.delay.record(100);
        let mut b = a.clone();
        b.packets_in = 25;
        b.frames_in = 9;
        b.delay.record(300);
        let mut sum = Snap::default();
        sum.add_delta(&b, &a);
        sum.add_delta(&b, &Snap::default());
        assert_eq!(sum.packets_in, 15 + 25);
        assert_eq!(sum.frames_in, 4 + 9);
        assert_eq!(sum.lost, 1);
        assert_eq!(sum.delay.count(), 1 + 2);
    }
}
