//! The summary: a table for people and JSON for scripts.

use std::collections::BTreeMap;
use std::time::Instant;

use convene_client::histogram::DelayHistogram;
use serde::Serialize;

use crate::options::{Options, Receive, RtpPath, Target};
use crate::procstat::{ProcSample, UdpCounters};
use crate::session::Outcome;
use crate::session::{LeanCounts, Snap};
use crate::stats::{per_sec, ratio, Spread};

/// Readings before the first participant joined.
#[derive(Clone, Copy, Debug, Default)]
pub struct Baseline {
    pub server: Option<ProcSample>,
    pub tool: Option<ProcSample>,
    pub udp: Option<UdpCounters>,
}

/// Readings at one edge of the measured window.
#[derive(Clone, Debug)]
pub struct WindowSample {
    pub at: Instant,
    pub server: Option<ProcSample>,
    pub tool: Option<ProcSample>,
    pub udp: Option<UdpCounters>,
    pub metrics: Option<BTreeMap<String, f64>>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Load {
    pub rooms: usize,
    pub publishers_per_room: usize,
    pub subscribers_per_room: usize,
    pub audio: bool,
    pub video: bool,
    pub layers: u8,
    pub video_bitrate_bps: u32,
    pub fps: u32,
    pub transport: &'static str,
    /// How subscribers received: "packets" (str0m's RTP mode) or "frames".
    pub receive: Receive,
    /// Receive-only participants' sockets: "shared" (a few for all, `--sockets shared`) or "own".
    pub sockets: &'static str,
    /// With shared sockets: how those participants took in RTP (`--rtp-path`).
    pub rtp_path: Option<RtpPath>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Participants {
    pub planned: usize,
    pub connected: usize,
    pub failed: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Flow {
    pub packets_per_sec: f64,
    pub bytes_per_sec: f64,
    pub frames_per_sec: f64,
}

/// Whole run, every participant, after the drain.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Totals {
    pub packets_sent: u64,
    pub packets_received: u64,
    pub frames_sent: u64,
    pub frames_received: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Loss {
    /// Over the whole run, after the drain: frames each receiver should have had between the
    /// first and the last it got from each track, and those that never came (in order). Frames
    /// the tool's publishers skipped (`tool.frames_skipped`) count here too, once per receiver.
    pub frames_expected: u64,
    pub frames_lost: u64,
    pub ratio: f64,
    pub corrupt: u64,
    pub foreign: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Delay {
    pub samples: u64,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub max_us: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Server {
    pub pid: Option<u32>,
    pub cpu_secs: Option<f64>,
    /// Of one core.
    pub cpu_percent: Option<f64>,
    pub rss_before_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
    pub peak_rss_kib: Option<u64>,
    /// (RSS at the end of the window - RSS before the run) / connected participants.
    pub mem_per_participant_kib: Option<f64>,
    /// From the server's own counters (Convene /metrics), per second of the window.
    pub packets_out_per_sec: Option<f64>,
    pub packets_in_per_sec: Option<f64>,
    pub forwarded_packets_per_sec: Option<f64>,
    pub dropped_packets: Option<f64>,
    /// Server CPU per packet it sent (its counter), and per packet the tool received.
    pub cpu_us_per_packet_out: Option<f64>,
    pub cpu_us_per_received_packet: Option<f64>,
    /// Packets the tool received per server CPU-second: comparable across servers.
    pub received_packets_per_cpu_sec: Option<f64>,
    /// At the end of the window: participants the server has a bandwidth estimate for, and
    /// their mean (bits/s).
    pub bandwidth_estimates: Option<f64>,
    pub bandwidth_estimate_mean_bps: Option<f64>,
    /// In the window: NACKs the server received (from subscribers missing packets).
    pub nacks_received: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Tool {
    pub cpu_secs: Option<f64>,
    pub cpu_percent: Option<f64>,
    /// Tool CPU per packet it handled (sent + received) in the window: what one simulated
    /// participant costs per packet.
    pub cpu_us_per_packet: Option<f64>,
    pub peak_rss_kib: Option<u64>,
    /// (RSS at the end of the window - RSS before the first join) / connected participants.
    pub mem_per_participant_kib: Option<f64>,
    /// Frames the publishers skipped because the tool was behind: non-zero means the tool, not
    /// the server, limited the run.
    pub frames_skipped: u64,
    pub send_dropped: u64,
    /// Host-wide, in the window: UDP datagrams the kernel dropped for a full receive buffer (the
    /// server's or the tool's sockets: a process that does not read fast enough).
    pub host_udp_rcvbuf_drops: Option<u64>,
    pub host_udp_sndbuf_drops: Option<u64>,
    /// The same from before the first join to the end of the window: drops during the ramp
    /// (handshakes make it the busiest time) lose packets that the window's loss count includes.
    pub host_udp_rcvbuf_drops_since_start: Option<u64>,
    pub host_udp_sndbuf_drops_since_start: Option<u64>,
    /// Whole run, `--sockets shared`: datagrams the kernel dropped on the tool's shared sockets
    /// because the tool did not read them in time (the tool, not the server, lost them).
    pub shared_socket_drops: Option<u64>,
    /// Whole run, `--rtp-path lean`: participants that took the lean receive path and what it
    /// counted (SRTP failures must stay 0).
    pub lean: Option<LeanCounts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub label: String,
    pub target: Target,
    pub load: Load,
    pub participants: Participants,
    pub failures: BTreeMap<String, u64>,
    pub failure_examples: BTreeMap<String, String>,
    pub ramp_secs: f64,
    /// WebSocket connect to `joined`.
    pub join_ms: Spread,
    /// WebSocket connect to ICE + DTLS up.
    pub connect_ms: Spread,
    pub window_secs: f64,
    /// All datagrams the tool sent / received in the window (RTP, RTCP, STUN).
    pub sent: Flow,
    pub received: Flow,
    pub totals: Totals,
    pub loss: Loss,
    /// Frame send to receive, in the window.
    pub delay: Delay,
    pub server: Server,
    pub tool: Tool,
}

fn delta(
    m0: &Option<BTreeMap<String, f64>>,
    m1: &Option<BTreeMap<String, f64>>,
    k: &str,
) -> Option<f64> {
    Some(m1.as_ref()?.get(k)? - m0.as_ref()?.get(k).copied().unwrap_or(0.0))
}

pub fn build(
    o: &Options,
    outcomes: &[Outcome],
    planned: usize,
    ramp_secs: f64,
    before: &Baseline,
    start: &WindowSample,
    end: &WindowSample,
) -> Report {
    let secs = end.at.duration_since(start.at).as_secs_f64();
    let (window, whole, failures, examples) = tally(outcomes, planned);
    let connected = outcomes
        .iter()
        .filter(|o| o.connect.is_some() && o.failure.is_none())
        .count();
    let hist: &DelayHistogram = &window.delay;
    let received_pps = per_sec(window.packets_in, secs);

    let server = server_figures(o, before, start, end, &window, connected);
    Report {
        label: o.label.clone(),
        target: o.target,
        load: load(o),
        participants: Participants {
            planned,
            connected,
            failed: planned - connected,
        },
        failures,
        failure_examples: examples,
        ramp_secs,
        join_ms: Spread::of_durations_ms(outcomes.iter().filter_map(|o| o.join)),
        connect_ms: Spread::of_durations_ms(outcomes.iter().filter_map(|o| o.connect)),
        window_secs: secs,
        sent: Flow {
            packets_per_sec: per_sec(window.packets_out, secs),
            bytes_per_sec: per_sec(window.bytes_out, secs),
            frames_per_sec: per_sec(window.frames_out, secs),
        },
        received: Flow {
            packets_per_sec: received_pps,
            bytes_per_sec: per_sec(window.bytes_in, secs),
            frames_per_sec: per_sec(window.frames_in, secs),
        },
        totals: Totals {
            packets_sent: whole.packets_out,
            packets_received: whole.packets_in,
            frames_sent: whole.frames_out,
            frames_received: whole.frames_in,
        },
        loss: Loss {
            frames_expected: whole.expected,
            frames_lost: whole.lost,
            ratio: ratio(whole.lost as f64, whole.expected as f64),
            corrupt: whole.corrupt,
            foreign: whole.foreign,
        },
        delay: Delay {
            samples: hist.count(),
            p50_us: hist.quantile(0.5),
            p99_us: hist.quantile(0.99),
            max_us: hist.quantile(1.0),
        },
        server,
        tool: tool_figures(o, before, start, end, &window, &whole, connected),
    }
}

/// What every participant's figures add up to (over the window, and over the whole run), and
/// the failures by cause, with an example of each.
fn tally(
    outcomes: &[Outcome],
    planned: usize,
) -> (Snap, Snap, BTreeMap<String, u64>, BTreeMap<String, String>) {
    let mut window = Snap::default();
    let mut whole = Snap::default();
    let mut failures = BTreeMap::new();
    let mut examples = BTreeMap::new();
    for out in outcomes {
        if let Some(f) = &out.failure {
            *failures.entry(f.cause.clone()).or_insert(0) += 1;
            examples
                .entry(f.cause.clone())
                .or_insert_with(|| f.detail.clone());
        }
        if let Some(d) = &out.at_drain {
            window.add_delta(d, out.at_measure.as_ref().unwrap_or(&Snap::default()));
        }
        if let Some(l) = &out.last {
            whole.add_delta(l, &Snap::default());
        }
    }
    // Participants that never started count as not connected, without a cause of their own.
    let unstarted = planned.saturating_sub(outcomes.len());
    if unstarted > 0 {
        failures.insert("not_started".into(), unstarted as u64);
    }
    (window, whole, failures, examples)
}

/// The server's figures over the window.
fn server_figures(
    o: &Options,
    before: &Baseline,
    start: &WindowSample,
    end: &WindowSample,
    window: &Snap,
    connected: usize,
) -> Server {
    let secs = end.at.duration_since(start.at).as_secs_f64();
    let (s0, s1) = (start.server, end.server);
    let cpu = s0.zip(s1).map(|(a, b)| b.cpu_secs - a.cpu_secs);
    let pkts_out = delta(
        &start.metrics,
        &end.metrics,
        "convene_media_packets_out_total",
    );
    Server {
        pid: o.server_pid,
        cpu_secs: cpu,
        cpu_percent: cpu.map(|c| ratio(c, secs) * 100.0),
        rss_before_kib: before.server.map(|s| s.rss_kib),
        rss_end_kib: s1.map(|s| s.rss_kib),
        peak_rss_kib: s1.map(|s| s.peak_rss_kib),
        mem_per_participant_kib: before
            .server
            .zip(s1)
            .map(|(a, b)| ratio(b.rss_kib as f64 - a.rss_kib as f64, connected as f64)),
        packets_out_per_sec: pkts_out.map(|p| p / secs),
        packets_in_per_sec: delta(
            &start.metrics,
            &end.metrics,
            "convene_media_packets_in_total",
        )
        .map(|p| p / secs),
        forwarded_packets_per_sec: delta(
            &start.metrics,
            &end.metrics,
            "convene_media_forwarded_packets_total",
        )
        .map(|p| p / secs),
        dropped_packets: delta(
            &start.metrics,
            &end.metrics,
            "convene_media_dropped_packets_total",
        ),
        cpu_us_per_packet_out: cpu.zip(pkts_out).map(|(c, p)| ratio(c * 1e6, p)),
        cpu_us_per_received_packet: cpu.map(|c| ratio(c * 1e6, window.packets_in as f64)),
        received_packets_per_cpu_sec: cpu.map(|c| ratio(window.packets_in as f64, c)),
        bandwidth_estimates: end.metrics.as_ref().and_then(|m| {
            m.get("convene_media_subscriber_bandwidth_bps_count")
                .copied()
        }),
        bandwidth_estimate_mean_bps: end.metrics.as_ref().and_then(|m| {
            let n = m.get("convene_media_subscriber_bandwidth_bps_count")?;
            let sum = m.get("convene_media_subscriber_bandwidth_bps_sum")?;
            (*n > 0.0).then(|| sum / n)
        }),
        nacks_received: delta(
            &start.metrics,
            &end.metrics,
            "convene_media_nacks_received_total",
        ),
    }
}

/// The tool's own figures: what it cost, and what it dropped itself.
fn tool_figures(
    o: &Options,
    before: &Baseline,
    start: &WindowSample,
    end: &WindowSample,
    window: &Snap,
    whole: &Snap,
    connected: usize,
) -> Tool {
    let secs = end.at.duration_since(start.at).as_secs_f64();
    let tool_cpu = start
        .tool
        .zip(end.tool)
        .map(|(a, b)| b.cpu_secs - a.cpu_secs);
    Tool {
        cpu_secs: tool_cpu,
        cpu_percent: tool_cpu.map(|c| ratio(c, secs) * 100.0),
        cpu_us_per_packet: tool_cpu
            .map(|c| ratio(c * 1e6, (window.packets_in + window.packets_out) as f64)),
        peak_rss_kib: end.tool.map(|t| t.peak_rss_kib),
        mem_per_participant_kib: before
            .tool
            .zip(end.tool)
            .map(|(a, b)| ratio(b.rss_kib as f64 - a.rss_kib as f64, connected as f64)),
        frames_skipped: whole.frames_skipped,
        send_dropped: whole.send_dropped,
        host_udp_rcvbuf_drops: udp_drops(start.udp, end.udp, |u| u.rcvbuf_errors),
        host_udp_sndbuf_drops: udp_drops(start.udp, end.udp, |u| u.sndbuf_errors),
        host_udp_rcvbuf_drops_since_start: udp_drops(before.udp, end.udp, |u| u.rcvbuf_errors),
        host_udp_sndbuf_drops_since_start: udp_drops(before.udp, end.udp, |u| u.sndbuf_errors),
        shared_socket_drops: o.shared.as_ref().map(|s| s.receive_overflow()),
        lean: (o.shared.is_some() && o.rtp_path == RtpPath::Lean).then_some(whole.lean),
    }
}

/// The load the options asked for.
fn load(o: &Options) -> Load {
    Load {
        rooms: o.rooms,
        publishers_per_room: o.publishers,
        subscribers_per_room: o.subscribers,
        audio: !o.no_audio,
        video: !o.no_video,
        layers: o.layers.count() as u8,
        video_bitrate_bps: o.video_bitrate,
        fps: o.fps,
        transport: if o.tcp { "ice-tcp" } else { "udp" },
        receive: o.receive,
        sockets: if o.shared.is_some() { "shared" } else { "own" },
        rtp_path: o.shared.is_some().then_some(o.rtp_path),
    }
}

/// How much a kernel UDP counter grew between two readings.
fn udp_drops(
    from: Option<UdpCounters>,
    to: Option<UdpCounters>,
    counter: impl Fn(&UdpCounters) -> u64,
) -> Option<u64> {
    from.zip(to)
        .map(|(a, b)| counter(&b).saturating_sub(counter(&a)))
}
