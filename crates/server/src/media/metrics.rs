//! The media core's counters in Prometheus text, published by the worker once a second.

use std::fmt::Write;

use convene_media::Stats;

use super::batch::SendCounts;
use crate::metrics::Metrics;

/// Upper bounds (bits/s) of the subscriber bandwidth histogram buckets.
const BWE_BUCKETS: &[u64] = &[
    100_000, 300_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000,
];

/// One gauge line per worker, labelled by its index.
fn per_worker_gauge(
    out: &mut String,
    name: &str,
    help: &str,
    values: impl Iterator<Item = String>,
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (w, v) in values.enumerate() {
        let _ = writeln!(out, "{name}{{worker=\"{w}\"}} {v}");
    }
}

/// Renders the sum of every worker's counters.
pub(super) fn publish(
    workers: &[Stats],
    load: &[usize],
    busy: &[super::busy::Busy],
    sends: &[SendCounts],
    handoff_dropped: u64,
    routes: (usize, usize),
    metrics: &Metrics,
) {
    let mut stats = Stats::default();
    for w in workers {
        stats.merge(w);
    }
    let stats = &stats;
    let mut out = String::with_capacity(2048);
    let counters: [(&str, &str, u64); 14] = [
        (
            "convene_media_packets_in_total",
            "Datagrams accepted from participants.",
            stats.packets_in,
        ),
        (
            "convene_media_bytes_in_total",
            "Bytes accepted from participants.",
            stats.bytes_in,
        ),
        (
            "convene_media_packets_out_total",
            "Datagrams sent to participants.",
            stats.packets_out,
        ),
        (
            "convene_media_bytes_out_total",
            "Bytes sent to participants.",
            stats.bytes_out,
        ),
        (
            "convene_media_forwarded_packets_total",
            "RTP packets forwarded to a subscriber.",
            stats.packets_forwarded,
        ),
        (
            "convene_media_nacks_received_total",
            "NACKs received from subscribers.",
            stats.nacks_received,
        ),
        (
            "convene_media_nacks_sent_total",
            "NACKs sent to publishers.",
            stats.nacks_sent,
        ),
        (
            "convene_media_plis_received_total",
            "PLI/FIR received from subscribers.",
            stats.plis_received,
        ),
        (
            "convene_media_plis_sent_total",
            "PLI/FIR sent to publishers.",
            stats.plis_sent,
        ),
        (
            "convene_media_cached_keyframe_starts_total",
            "Videos a subscriber started from the packets kept since the last keyframe, without a keyframe request.",
            stats.keyframe_cache_starts,
        ),
        (
            "convene_media_layer_switches_total",
            "Simulcast layer switches (at keyframes).",
            stats.layer_switches,
        ),
        (
            "convene_media_packets_muted_total",
            "Packets not forwarded because the publisher is muted by the server.",
            stats.packets_muted,
        ),
        (
            "convene_media_relayed_packets_out_total",
            "Packets relayed to another worker that holds subscribers of the same room.",
            stats.relay_packets_out,
        ),
        (
            "convene_media_relayed_packets_in_total",
            "Packets received from another worker for this worker's subscribers.",
            stats.relay_packets_in,
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    let batched = [
        (
            "convene_media_batch_send_calls_total",
            "sendmmsg calls (media.batch_send / media.gso).",
            sends.iter().map(|c| c.calls).sum::<u64>(),
        ),
        (
            "convene_media_gso_segments_total",
            "Datagrams sent as segments of a UDP GSO send (media.gso).",
            sends.iter().map(|c| c.gso_segments).sum::<u64>(),
        ),
    ];
    for (name, help, v) in batched {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    per_worker_gauge(
        &mut out,
        "convene_media_worker_participants",
        "Media sessions held by each worker thread.",
        load.iter().map(|n| n.to_string()),
    );
    let name = "convene_media_sessions";
    let _ = writeln!(
        out,
        "# HELP {name} Peer connections made: participants that have offered (a joined participant gets one at its first offer).\n# TYPE {name} gauge\n{name} {}",
        stats.media_sessions
    );
    per_worker_gauge(
        &mut out,
        "convene_media_worker_busy_ratio",
        "Share of the time each worker thread spends working (smoothed; joins are refused when every worker a join could use is at media.max_worker_busy).",
        busy.iter().map(|r| format!("{:.3}", r.total)),
    );
    per_worker_gauge(
        &mut out,
        "convene_media_worker_steady_busy_ratio",
        "The busy ratio without joining work (handshakes, negotiation): what the worker's participants' media costs; admission projects this share over recent joins.",
        busy.iter().map(|r| format!("{:.3}", r.steady)),
    );
    let name = "convene_media_dropped_packets_total";
    let _ = writeln!(
        out,
        "# HELP {name} Datagrams dropped, by reason.\n# TYPE {name} counter"
    );
    for (reason, n) in stats.dropped_by_reason() {
        let _ = writeln!(out, "{name}{{reason=\"{}\"}} {n}", reason.as_str());
    }
    let _ = writeln!(out, "{name}{{reason=\"overload\"}} {handoff_dropped}");
    let send_failed: u64 = sends.iter().map(|c| c.failed).sum();
    let _ = writeln!(out, "{name}{{reason=\"send_failed\"}} {send_failed}");
    // A snapshot histogram: the current estimate of each connected subscriber.
    let name = "convene_media_subscriber_bandwidth_bps";
    let _ = writeln!(
        out,
        "# HELP {name} Estimated downlink bandwidth of each subscriber now (TWCC).\n# TYPE {name} histogram"
    );
    let values: Vec<u64> = stats
        .subscriber_bandwidth_bps
        .iter()
        .map(|(_, b)| *b)
        .collect();
    for le in BWE_BUCKETS {
        let n = values.iter().filter(|v| **v <= *le).count();
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", values.len());
    let _ = writeln!(out, "{name}_sum {}", values.iter().sum::<u64>());
    let _ = writeln!(out, "{name}_count {}", values.len());
    let name = "convene_media_routes";
    let _ = writeln!(
        out,
        "# HELP {name} Entries the workers route incoming datagrams by: ICE ufrags and the remote addresses validated for them (those of present participants).\n# TYPE {name} gauge\n{name}{{kind=\"ufrag\"}} {}\n{name}{{kind=\"address\"}} {}",
        routes.0, routes.1
    );
    metrics.set_extra("media", out);
}
