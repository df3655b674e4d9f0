//! The human-readable summary of a [`Report`].

use std::fmt::Write as _;

use crate::report::Report;
use crate::stats::{opt, thousands};

fn o0(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), thousands)
}

fn ms(v: Option<u64>) -> String {
    opt(v.map(|u| u as f64 / 1e3), 2)
}

/// The human-readable summary.
pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let l = &r.load;
    let _ = writeln!(
        s,
        "== {} {:?}: {} room(s) x ({} pub + {} sub), audio {}, video {} ({} layer(s), {} kbit/s, {} fps), {}, subscribers receive {:?}",
        if r.label.is_empty() { "run" } else { &r.label },
        r.target,
        l.rooms,
        l.publishers_per_room,
        l.subscribers_per_room,
        l.audio,
        l.video,
        l.layers,
        l.video_bitrate_bps / 1000,
        l.fps,
        l.transport,
        l.receive
    );
    participant_rows(&mut s, r);
    flow_rows(&mut s, r);
    server_rows(&mut s, r);
    tool_rows(&mut s, r);
    s
}

/// Who took part, and how long joining took.
fn participant_rows(s: &mut String, r: &Report) {
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "  {k:<30} {v}");
    };
    let p = &r.participants;
    row(
        "participants",
        format!(
            "{} connected of {} ({} failed)",
            p.connected, p.planned, p.failed
        ),
    );
    if !r.failures.is_empty() {
        let f: Vec<String> = r
            .failures
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        row("failures", f.join(", "));
        for (k, v) in &r.failure_examples {
            row(&format!("  e.g. {k}"), v.chars().take(120).collect());
        }
    }
    row(
        "join ms p50 / p99 / max",
        format!(
            "{} / {} / {}",
            opt(r.join_ms.p50, 1),
            opt(r.join_ms.p99, 1),
            opt(r.join_ms.max, 1)
        ),
    );
    row(
        "media up ms p50 / p99 / max",
        format!(
            "{} / {} / {}",
            opt(r.connect_ms.p50, 1),
            opt(r.connect_ms.p99, 1),
            opt(r.connect_ms.max, 1)
        ),
    );
    row(
        "ramp / window s",
        format!("{:.1} / {:.1}", r.ramp_secs, r.window_secs),
    );
}

/// What flowed, what was lost and how late.
fn flow_rows(s: &mut String, r: &Report) {
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "  {k:<30} {v}");
    };
    row(
        "sent pkt/s, kB/s, frames/s",
        format!(
            "{}, {}, {}",
            thousands(r.sent.packets_per_sec),
            thousands(r.sent.bytes_per_sec / 1e3),
            thousands(r.sent.frames_per_sec)
        ),
    );
    row(
        "received pkt/s, kB/s, frames/s",
        format!(
            "{}, {}, {}",
            thousands(r.received.packets_per_sec),
            thousands(r.received.bytes_per_sec / 1e3),
            thousands(r.received.frames_per_sec)
        ),
    );
    row(
        "frames lost / expected",
        format!(
            "{} / {} ({:.4}%), corrupt {}, foreign {}",
            r.loss.frames_lost,
            r.loss.frames_expected,
            r.loss.ratio * 100.0,
            r.loss.corrupt,
            r.loss.foreign
        ),
    );
    row(
        "delay ms p50 / p99 / max",
        format!(
            "{} / {} / {} ({} frames)",
            ms(r.delay.p50_us),
            ms(r.delay.p99_us),
            ms(r.delay.max_us),
            r.delay.samples
        ),
    );
}

/// What the server spent.
fn server_rows(s: &mut String, r: &Report) {
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "  {k:<30} {v}");
    };
    let sv = &r.server;
    row(
        "server cpu s (% of a core)",
        format!("{} ({})", opt(sv.cpu_secs, 2), opt(sv.cpu_percent, 0)),
    );
    row(
        "server rss before/end/peak MiB",
        format!(
            "{} / {} / {}",
            opt(sv.rss_before_kib.map(|k| k as f64 / 1024.0), 1),
            opt(sv.rss_end_kib.map(|k| k as f64 / 1024.0), 1),
            opt(sv.peak_rss_kib.map(|k| k as f64 / 1024.0), 1)
        ),
    );
    row(
        "server KiB per participant",
        opt(sv.mem_per_participant_kib, 0),
    );
    row(
        "server pkt/s out / in",
        format!(
            "{} / {}",
            o0(sv.packets_out_per_sec),
            o0(sv.packets_in_per_sec)
        ),
    );
    row(
        "server forwarded packets/s",
        o0(sv.forwarded_packets_per_sec),
    );
    row(
        "server cpu us/pkt out, /rcvd",
        format!(
            "{} / {}",
            opt(sv.cpu_us_per_packet_out, 2),
            opt(sv.cpu_us_per_received_packet, 2)
        ),
    );
    row(
        "received pkts per server cpu-s",
        o0(sv.received_packets_per_cpu_sec),
    );
    row("server dropped packets", o0(sv.dropped_packets));
}

/// What the tool spent, and what it dropped itself.
fn tool_rows(s: &mut String, r: &Report) {
    let mut row = |k: &str, v: String| {
        let _ = writeln!(s, "  {k:<30} {v}");
    };
    let t = &r.tool;
    row(
        "tool cpu s (% of a core)",
        format!("{} ({})", opt(t.cpu_secs, 2), opt(t.cpu_percent, 0)),
    );
    row("tool cpu us/pkt (sent + rcvd)", opt(t.cpu_us_per_packet, 2));
    row(
        "tool peak rss MiB, KiB each",
        format!(
            "{}, {}",
            opt(t.peak_rss_kib.map(|k| k as f64 / 1024.0), 1),
            opt(t.mem_per_participant_kib, 0)
        ),
    );
    let drops = |rcv: Option<u64>, snd: Option<u64>| {
        format!(
            "{} / {}",
            o0(rcv.map(|v| v as f64)),
            o0(snd.map(|v| v as f64))
        )
    };
    row(
        "host UDP rcvbuf / sndbuf drops",
        drops(t.host_udp_rcvbuf_drops, t.host_udp_sndbuf_drops),
    );
    row(
        "  since the first join",
        drops(
            t.host_udp_rcvbuf_drops_since_start,
            t.host_udp_sndbuf_drops_since_start,
        ),
    );
    if let Some(d) = t.shared_socket_drops {
        row("tool shared-socket drops (run)", o0(Some(d as f64)));
    }
    if let Some(l) = &t.lean {
        row(
            "lean path: sessions, SRTP fails",
            format!("{}, {}", l.sessions, l.srtp_failures),
        );
        row(
            "lean: TWCC, RR, NACKed (run)",
            format!(
                "{} / {} / {}",
                l.twcc_feedback_sent, l.receiver_reports_sent, l.nacks_sent
            ),
        );
    }
    row(
        "tool frames skipped / send drops",
        format!(
            "{} / {}{}",
            t.frames_skipped,
            t.send_dropped,
            if t.frames_skipped > 0 {
                "  (the tool fell behind: it was a bottleneck)"
            } else {
                ""
            }
        ),
    );
}
