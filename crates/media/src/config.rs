//! Static configuration of the media core.

use std::net::IpAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// Addresses announced as host candidates (all share `udp_port` / `tcp_port`).
    pub public_ips: Vec<IpAddr>,
    pub udp_port: u16,
    /// Announce a passive ICE-TCP candidate (RFC 6544) on this port; the server does RFC 4571 framing.
    pub tcp_port: Option<u16>,
    /// Bandwidth assumed for a subscriber before (or without) a TWCC estimate, bits/s.
    pub initial_bitrate_bps: u64,
    /// Minimum spacing of keyframe requests per published track and layer.
    pub keyframe_request_interval: Duration,
    /// Period of speaker detection, audio levels and layer allocation.
    pub tick_interval: Duration,
    /// Period of str0m's per-peer statistics (feeds NACK/PLI counters).
    pub rtc_stats_interval: Duration,
    /// How long ICE may stay disconnected (the client may recover or restart ICE) before the
    /// participant's tracks are unpublished and a fresh media session waits for a new offer.
    /// 30 s is what browsers allow before they declare consent lost (RFC 7675); a shorter grace
    /// tore down live sessions of an overloaded server in the 1,000-listener benchmark.
    pub disconnect_grace: Duration,
    /// Most str0m timeouts one `Sfu::handle_timeout` call runs, over all participants. str0m's
    /// pacer sends a packet per timeout, so an overloaded core has many due at once; past this
    /// the call returns (the rest stay due) so the caller reads its sockets in between and new
    /// participants' handshakes are not starved.
    pub timeout_rounds_per_call: usize,
    /// How long a recording waits for a lost video packet's retransmission before it skips to the
    /// next keyframe. Chrome answers a NACK within a round trip; 400 ms covers a slow one.
    pub recording_loss_wait: Duration,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            public_ips: vec![IpAddr::from([127, 0, 0, 1])],
            udp_port: 3478,
            tcp_port: None,
            initial_bitrate_bps: 1_000_000,
            keyframe_request_interval: Duration::from_millis(500),
            tick_interval: Duration::from_millis(250),
            rtc_stats_interval: Duration::from_secs(1),
            disconnect_grace: Duration::from_secs(30),
            timeout_rounds_per_call: 4096,
            recording_loss_wait: Duration::from_millis(400),
        }
    }
}
