//! Command-line options.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use convene_client::Layers;

/// How receive-only participants take in media (publishers always use frames: they send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Receive {
    /// str0m reassembles every frame (its depacketizer and jitter buffer), as a browser does.
    Frames,
    /// str0m's RTP mode: each packet checked as it arrives, frames completed by sequence number,
    /// no copy of the frame. Measures the same per frame, for less of the tool's CPU.
    Packets,
}

/// How Convene's receive-only participants (packet mode, UDP) use sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Sockets {
    /// One socket and task per tool thread for all of them, each participant on its own
    /// loopback address (127.1.x.y): batched system calls, one timer heap. Linux, loopback
    /// servers, and CAP_NET_RAW (the sockets are bound to the loopback device).
    Shared,
    /// A socket and a task per participant, on `--local-ip`.
    Own,
}

/// How shared-socket participants take in RTP once ICE and DTLS are up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RtpPath {
    /// Decrypt SRTP and send the feedback a browser would (TWCC, receiver reports, NACK)
    /// ourselves; str0m runs ICE and DTLS only. 40-47 % less tool CPU per packet than str0m.
    Lean,
    /// str0m decrypts every packet and sends its own feedback.
    Str0m,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Convene's WebSocket signaling (docs/protocol.md).
    Convene,
    /// Janus Gateway's VideoRoom plugin, through the Janus WebSocket API.
    Janus,
}

/// Simulated meeting participants against a running server: synthetic VP8 simulcast and Opus,
/// each frame stamped with its send time and sequence number, so loss and delay are exact.
#[derive(Clone, Debug, Parser)]
#[command(name = "convene-loadtest", version)]
pub struct Options {
    /// Signaling URL: Convene `ws://HOST:PORT/ws`, or Janus `ws://HOST:8188/`.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// Which server the URL points to.
    #[arg(long, value_enum, default_value_t = Target::Convene)]
    pub target: Target,
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Publishing participants per room (they also receive everyone else).
    #[arg(long, default_value_t = 2)]
    pub publishers: usize,
    /// Receive-only participants per room.
    #[arg(long, default_value_t = 0)]
    pub subscribers: usize,
    /// Rooms are named PREFIX-0, PREFIX-1 ...
    #[arg(long, default_value = "load")]
    pub room_prefix: String,
    /// Top simulcast layer bitrate, bit/s (each lower layer gets a quarter of the one above).
    #[arg(long, default_value_t = 500_000)]
    pub video_bitrate: u32,
    /// Simulcast layers, 1..=3 (1: plain VP8).
    #[arg(long, default_value_t = Layers::Three)]
    pub layers: Layers,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Publish no video.
    #[arg(long)]
    pub no_video: bool,
    /// Publish no audio.
    #[arg(long)]
    pub no_audio: bool,
    /// Measured window, seconds (after the ramp and the settle time).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Joins per second while ramping up (0: all at once).
    #[arg(long, default_value_t = 50.0)]
    pub ramp: f64,
    /// Seconds between the last participant connecting and the measured window.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// Seconds between publishers stopping and the final count (frames in flight arrive).
    #[arg(long, default_value_t = 1.0)]
    pub drain: f64,
    /// Give up on a participant not connected (joined, ICE and DTLS up) after this many seconds.
    #[arg(long, default_value_t = 30.0)]
    pub connect_timeout: f64,
    /// Sent as `access_token` in `join`.
    #[arg(long, env = "CONVENE_ACCESS_TOKEN")]
    pub access_token: Option<String>,
    /// The first participant of each room (its host) starts recording the meeting as it joins, so
    /// that the server writes every track to a file (Convene only; with `--spawn-server` the files
    /// go to the tool's temporary folder and their total is printed at the end).
    #[arg(long)]
    pub record: bool,
    /// Local IP for the media sockets and host candidates. Janus (libnice) never gathers loopback
    /// candidates, so against Janus use the host's own address (traffic still stays on the host).
    #[arg(long, default_value = "127.0.0.1")]
    pub local_ip: std::net::IpAddr,
    /// ICE-TCP instead of UDP (Convene only).
    #[arg(long)]
    pub tcp: bool,
    /// How subscribers receive (Convene only).
    #[arg(long, value_enum, default_value_t = Receive::Packets)]
    pub receive: Receive,
    /// How receive-only participants in packet mode use sockets (Convene over UDP only;
    /// publishers always have their own).
    #[arg(long, value_enum, default_value_t = Sockets::Shared)]
    pub sockets: Sockets,
    /// How `--sockets shared` participants take in RTP (Convene over UDP only).
    #[arg(long, value_enum, default_value_t = RtpPath::Lean)]
    pub rtp_path: RtpPath,
    /// The shards of `--sockets shared`, made by the run.
    #[arg(skip)]
    pub shared: Option<convene_sim::SharedUdp>,
    /// Print the report as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The server's process id, for its CPU time and memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Start this server binary (Convene's `convene`) on free loopback ports, measure it, stop it.
    #[arg(long, value_name = "PATH")]
    pub spawn_server: Option<PathBuf>,
    /// Extra argument for the spawned server (repeatable), e.g. `--server-arg=--set=media.workers=1`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
    /// Prometheus endpoint [default: derived from --url for Convene].
    #[arg(long)]
    pub metrics_url: Option<String>,
    /// Worker threads of the tool's own runtime.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Run the tool at this nice value (after starting `--spawn-server`, which keeps the default),
    /// e.g. -10 so that a saturated server on the same machine cannot starve the simulated
    /// clients. Below 0 needs root (CAP_SYS_NICE).
    #[arg(long, allow_hyphen_values = true)]
    pub nice: Option<i32>,
    /// A name for the run, copied into the report.
    #[arg(long, default_value = "")]
    pub label: String,
    /// Each participant sends a chat message every SECS seconds once connected (Convene only),
    /// e.g. for scripts/soak.sh's churn.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chat_every: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Options::parse_from(["convene-loadtest"])
    }
}

impl Options {
    pub fn total(&self) -> usize {
        self.rooms * (self.publishers + self.subscribers)
    }

    pub fn room_name(&self, room: usize) -> String {
        format!("{}-{room}", self.room_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags() {
        let o = Options::default();
        assert_eq!(
            (o.rooms, o.publishers, o.subscribers, o.layers),
            (1, 2, 0, Layers::Three)
        );
        let o = Options::parse_from([
            "x",
            "--rooms=4",
            "--publishers=3",
            "--subscribers=22",
            "--server-arg=--set=media.workers=1",
            "--target=janus",
        ]);
        assert_eq!(o.total(), 100);
        assert_eq!(o.room_name(3), "load-3");
        assert_eq!(o.server_args, ["--set=media.workers=1"]);
        assert_eq!(o.target, Target::Janus);
        assert_eq!(o.receive, Receive::Packets);
        let o = Options::parse_from(["x", "--receive=frames"]);
        assert_eq!(o.receive, Receive::Frames);
        assert!(Options::try_parse_from(["x", "--layers=4"]).is_err());
        assert_eq!(Options::default().chat_every, None);
        let o = Options::parse_from(["x", "--chat-every=5"]);
        assert_eq!(o.chat_every, Some(5));
        assert!(Options::try_parse_from(["x", "--chat-every=0"]).is_err());
    }
}
