//! Media sessions for the targets, set up as the media crate's tests set them up (`World`: the
//! SFU core and str0m clients on a simulated network in virtual time), and kept between inputs:
//! a handshake per input would cost more than the input. A world is made anew every
//! [`RENEW_AFTER`] inputs, and when its participant no longer holds a session, so that state left
//! by one input can only shape a bounded number of later ones.

use std::net::SocketAddr;
use std::time::Duration;

use crate::sim::{sfu_addr, World};

/// Inputs a world serves before it is made anew.
pub const RENEW_AFTER: u64 = 2000;

/// The port the core announces for ICE-TCP (a server's HTTP port).
pub const TCP_PORT: u16 = 443;

/// A world with one connected participant, `alice`, publishing audio and simulcast video, and what
/// a client needs to speak STUN for her.
pub struct Session {
    pub w: World,
    /// The server's ICE credentials for alice, from its answer.
    pub ufrag: String,
    pub pwd: String,
    /// Alice's own ufrag (the second half of a STUN USERNAME the server receives).
    pub client_ufrag: String,
    pub client_addr: SocketAddr,
    pub inputs: u64,
}

impl Session {
    pub fn new() -> Self {
        let mut w = World::with_config(1, |c| c.tcp_port = Some(TCP_PORT));
        w.join("alice", true, true);
        w.run_for(Duration::from_millis(500));
        let answer = w.clients[0].answers.last().cloned().unwrap_or_default();
        let attr = |name: &str| {
            answer
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let client_ufrag = w.clients[0].rtc.direct_api().local_ice_credentials().ufrag;
        let client_addr = w.clients[0].addr;
        Session {
            ufrag: attr("a=ice-ufrag:"),
            pwd: attr("a=ice-pwd:"),
            client_ufrag,
            client_addr,
            w,
            inputs: 0,
        }
    }

    /// The session for the next input: this one, or a new one when it is due.
    pub fn next(slot: &mut Option<Session>) -> &mut Session {
        let stale = slot.as_ref().is_none_or(|s| {
            s.inputs >= RENEW_AFTER
                || s.w.sfu.local_ufrag(&s.w.clients[0].id) != Some(s.ufrag.as_str())
        });
        if stale {
            *slot = Some(Session::new());
        }
        let s = slot.as_mut().expect("just made");
        s.inputs += 1;
        s
    }

    /// The USERNAME of a binding request from alice's client.
    pub fn username(&self) -> String {
        format!("{}:{}", self.ufrag, self.client_ufrag)
    }

    /// Feeds one datagram (or ICE-TCP frame) to the core at the current virtual time and drops
    /// what it sends back.
    pub fn input(&mut self, proto: convene_media::Protocol, src: SocketAddr, data: &[u8]) {
        let dst = match proto {
            convene_media::Protocol::Tcp => SocketAddr::new(sfu_addr().ip(), TCP_PORT),
            _ => sfu_addr(),
        };
        let now = self.w.now;
        let _ = self.w.sfu.handle_input(now, proto, src, dst, data);
        self.drain();
    }

    /// Moves virtual time on by `d`, running the core's timers, and drops their output.
    pub fn advance(&mut self, d: Duration) {
        self.w.now += d;
        let now = self.w.now;
        if self.w.sfu.poll_timeout() <= now {
            self.w.sfu.handle_timeout(now);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while self.w.sfu.poll_output().is_some() {}
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}
