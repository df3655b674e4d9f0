//! What draining the participants' `Rtc`s yields, queued until the server polls it.
//!
//! str0m requires that every mutation of an `Rtc` is followed by draining `poll_output` to a
//! timeout. [`drain`] does that for one participant: transmits and counters go here, str0m events
//! to a work queue that the SFU handles afterwards (which may mutate, and drain, other `Rtc`s).
//! The events for the server share one queue, whoever raises them: their order is observable.

use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

use str0m::net::Transmit;
use str0m::Output;

use crate::ids::PeerIdx;
use crate::peer::{ConnState, Participant};
use crate::stats::Stats;
use crate::types::Event;

/// A separate struct from the participants so that it can be borrowed next to one of them.
#[derive(Default)]
pub(crate) struct Outbox {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<Event>,
    pub work: VecDeque<(PeerIdx, str0m::Event)>,
    pub stats: Stats,
    /// Each live participant's next `Rtc` timeout.
    pub timeouts: BTreeSet<(Instant, PeerIdx)>,
}

pub(crate) fn mark_disconnected(p: &mut Participant, out: &mut Outbox, now: Instant) {
    if p.conn != ConnState::Disconnected {
        p.conn = ConnState::Disconnected;
        p.disconnected_since = Some(now);
        out.events.push_back(Event::Disconnected {
            participant: p.id.clone(),
        });
    }
}

/// Drain one `Rtc` to its next timeout (str0m's single-mutation invariant).
pub(crate) fn drain(p: &mut Participant, idx: PeerIdx, out: &mut Outbox) {
    loop {
        // Nothing to drain before the first offer made the Rtc.
        let Some(rtc) = p.rtc.live() else {
            return;
        };
        match rtc.poll_output() {
            Ok(Output::Transmit(t)) => {
                out.stats.packets_out += 1;
                out.stats.bytes_out += t.contents.len() as u64;
                out.transmits.push_back(t);
            }
            Ok(Output::Event(e)) => out.work.push_back((idx, e)),
            Ok(Output::Timeout(t)) => {
                if t != p.timeout || !out.timeouts.contains(&(t, idx)) {
                    out.timeouts.remove(&(p.timeout, idx));
                    p.timeout = t;
                    if p.rtc.is_alive() {
                        out.timeouts.insert((t, idx));
                    }
                }
                return;
            }
            Err(_) => {
                p.rtc.disconnect();
                out.timeouts.remove(&(p.timeout, idx));
                // No clock here: the Rtc's last timeout is the latest time it saw, close enough
                // for a grace period counted in seconds.
                let seen = p.timeout;
                mark_disconnected(p, out, seen);
                return;
            }
        }
    }
}
