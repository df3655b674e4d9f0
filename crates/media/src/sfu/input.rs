//! Inputs from outside: datagrams, trickled candidates and time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use convene_proto::ParticipantId;
use str0m::ice::StunMessage;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Input};

use super::Sfu;
use crate::demux::{self, Kind};
use crate::error::{DropReason, MediaError};
use crate::outbox::{drain, mark_disconnected};

/// Rounds of str0m timeouts one participant gets per `handle_timeout` while it still has work
/// due (see there), and how far past `now` a timeout still counts as due for them.
const CATCH_UP_ROUNDS: usize = 256;
const CATCH_UP_SLACK: Duration = Duration::from_millis(1);

impl Sfu {
    /// Trickled remote candidate (`candidate:...` attribute value). ICE-lite does not need
    /// them, but they let str0m accept media from addresses before a STUN check arrives.
    /// An empty one is the end of the client's candidates (as a browser's last
    /// `RTCIceCandidate` says it): an ICE-lite server, which never checks toward the client,
    /// has nothing to do then.
    pub fn handle_candidate(
        &mut self,
        participant: &ParticipantId,
        candidate: &str,
    ) -> Result<(), MediaError> {
        let idx = self.idx(participant)?;
        if candidate.trim().is_empty() {
            return Ok(());
        }
        let s = candidate.trim().trim_start_matches("a=");
        let c =
            Candidate::from_sdp_string(s).map_err(|e| MediaError::BadCandidate(e.to_string()))?;
        // A candidate before the offer has no session to go to; ICE-lite never checks toward
        // the client anyway, so it is dropped.
        if let Some(p) = self.peers.get_mut(idx) {
            if let Some(rtc) = p.rtc.live() {
                rtc.add_remote_candidate(c);
                drain(p, idx, &mut self.out);
            }
        }
        Ok(())
    }

    /// Feed one datagram from the shared socket. Garbage is dropped with a reason (and counted).
    pub fn handle_input(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Result<(), DropReason> {
        let r = self.route_input(now, proto, source, destination, contents);
        if let Err(reason) = r {
            self.out.stats.count_drop(reason);
        }
        self.process_work(now);
        self.finish(now);
        r
    }

    fn route_input(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &[u8],
    ) -> Result<(), DropReason> {
        let kind = demux::classify(buf)?;
        let idx = if kind == Kind::Stun {
            let msg = StunMessage::parse(buf).map_err(|_| DropReason::MalformedStun)?;
            if !msg.is_binding_request() {
                return Err(DropReason::UnexpectedStun);
            }
            let ufrag = msg
                .username()
                .and_then(demux::local_ufrag)
                .ok_or(DropReason::BadStunCredentials)?;
            let idx = self.peers.by_ufrag(ufrag).ok_or(DropReason::UnknownUfrag)?;
            let p = self.peer(idx).ok_or(DropReason::UnknownUfrag)?;
            let hmac = self.hmac;
            if !msg.verify(p.ice_pwd.as_bytes(), |k, d| hmac.sha1_hmac(k, d)) {
                return Err(DropReason::BadStunCredentials);
            }
            idx
        } else {
            self.peers
                .by_addr(&(proto, source))
                .ok_or(DropReason::UnknownPeer)?
        };
        let recv = Receive::new(proto, source, destination, buf).map_err(|_| match kind {
            Kind::Stun => DropReason::MalformedStun,
            _ => DropReason::NotWebRtc,
        })?;
        let input = Input::Receive(now, recv);
        if kind == Kind::Stun {
            // Checks USERNAME and MESSAGE-INTEGRITY against this participant's credentials.
            let p = self.peers.get(idx).ok_or(DropReason::UnknownPeer)?;
            match p.rtc.get() {
                // Our ufrag reaches a client only in the answer to its offer, so a check
                // before the offer is not from the participant's browser.
                None => return Err(DropReason::Rejected),
                Some(rtc) if !rtc.accepts(&input) => return Err(DropReason::BadStunCredentials),
                Some(_) => {}
            }
            self.peers.remember_addr(idx, (proto, source));
        }
        let p = self.peers.get_mut(idx).ok_or(DropReason::UnknownPeer)?;
        self.out.stats.packets_in += 1;
        self.out.stats.bytes_in += buf.len() as u64;
        // Only a participant that offered has an address (STUN above needs a session).
        let rtc = p.rtc.live().ok_or(DropReason::UnknownPeer)?;
        let res = rtc.handle_input(input);
        drain(p, idx, &mut self.out);
        res.map_err(|_| DropReason::Rejected)
    }

    /// Drive time: every participant whose timeout passed, and the periodic tick.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut budget = self.config.timeout_rounds_per_call.max(1);
        while let Some(&(t, idx)) = self.out.timeouts.first() {
            if t > now || budget == 0 {
                break;
            }
            self.out.timeouts.pop_first();
            if let Some(p) = self.peers.get_mut(idx) {
                // str0m's pacer sends one packet per timeout and asks for the next 1 µs later.
                // A worker that wakes late would then send one packet per subscriber per wakeup
                // and queue the rest without bound (all the memory and delay of an overloaded
                // server). So catch up here: keep handing it its own next timeout while that is
                // (nearly) due, running its clock at most CATCH_UP_SLACK ahead of `now`.
                let mut at = now;
                for _ in 0..CATCH_UP_ROUNDS.min(budget) {
                    budget -= 1;
                    // Only a made Rtc registers timeouts; a missing one ends the catch-up.
                    let Some(rtc) = p.rtc.live() else { break };
                    if rtc.handle_input(Input::Timeout(at)).is_err() {
                        mark_disconnected(p, &mut self.out, now);
                        break;
                    }
                    drain(p, idx, &mut self.out);
                    if p.timeout > now + CATCH_UP_SLACK || !p.rtc.is_alive() {
                        break;
                    }
                    at = at.max(p.timeout);
                }
                // A timeout that did not advance would spin the caller's loop.
                if p.timeout <= now && p.rtc.is_alive() {
                    self.out.timeouts.remove(&(p.timeout, idx));
                    p.timeout = now + Duration::from_millis(1);
                    self.out.timeouts.insert((p.timeout, idx));
                }
            }
            self.process_work(now);
        }
        if now >= self.next_tick {
            self.reset_long_disconnected(now);
            self.tick(now);
            self.next_tick = now.max(self.next_tick) + self.config.tick_interval;
            self.process_work(now);
        }
        self.finish(now);
    }
}
