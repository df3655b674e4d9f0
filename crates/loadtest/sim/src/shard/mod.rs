//! A shard: one task running the str0m peers of many receive-only, packet-mode sessions on one
//! shared socket ([`MuxSocket`]), with one timer heap.
//!
//! A session per task costs a task wakeup, a `recvfrom` and a `WouldBlock` read per packet; a
//! shard reads a batch of every session's packets with one `recvmmsg`, hands each to its
//! session's `Rtc` by destination address, and sends what they all queued with `sendmmsg`. The
//! sessions' signaling stays in their own tasks (`shared.rs`), which ask the shard for SDP.
//! With [`RtpPath::Lean`] str0m runs only ICE and DTLS once a session is connected; its RTP
//! and RTCP go through the lean path (`lean/`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Input, Output};
use tokio::sync::mpsc;

mod addresses;
mod command;
mod control;
mod session;

pub(crate) use addresses::AddressPool;
pub(crate) use command::{Key, ShardCmd};
use session::{lean_poll, Depth, Session};

use crate::lean::{is_srtp, Lean, Scratch};
use crate::mux::{MuxSocket, Outgoing, RecvBatch, BATCH};
use crate::path::RtpPath;
use crate::prefetch::prefetch_all;
use convene_client::frame::unix_micros;
use convene_client::MediaEvent;

/// `recvmmsg` batches per turn before commands and timers get theirs.
const MAX_BATCHES: usize = 8;
/// The shard reads its socket on a timer, not when it becomes readable: woken by readiness, the
/// thread woke for nearly every datagram (at ~50,000 packets/s, 17 % of the tool's time went to
/// switching tasks); on a timer each read takes in a millisecond's packets. The kernel's arrival
/// time of each datagram (`SO_TIMESTAMP`) stands for the moment of reading, so measured delays
/// and the arrival times in our feedback do not grow by the wait.
const READ_INTERVAL: Duration = Duration::from_millis(1);
/// Commands served after each turn, besides the one the turn may have woken for: enough for a
/// ramp's joiners, few enough that reading the socket keeps its share.
const MAX_COMMANDS_PER_TURN: usize = 64;
/// How many datagrams ahead of the one being handled its session is prefetched (see
/// `prefetch.rs`); each further level of pointers, [`PREFETCH_STEP`] fewer.
const PREFETCH_AHEAD: usize = 6;
const PREFETCH_STEP: usize = 2;

/// The shard's state apart from its socket (which the read guard borrows).
pub(crate) struct Shard {
    port: u16,
    path: RtpPath,
    sessions: Vec<Option<Session>>,
    free: Vec<usize>,
    next_gen: u32,
    route: HashMap<Ipv4Addr, usize>,
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// Reused by `fire_timers`.
    due: Vec<(Instant, usize, u32)>,
    out: Vec<Outgoing>,
    recv: RecvBatch,
    /// The session slot of each datagram of `recv`.
    slots: Vec<Option<usize>>,
    scratch: Scratch,
    addresses: Arc<AddressPool>,
    /// Datagrams the kernel dropped on this socket (its buffer was full): the tool fell behind.
    overflow: Arc<AtomicU64>,
}

impl Shard {
    /// Binds the shard's socket and starts its task on the current runtime.
    pub fn spawn(
        addresses: Arc<AddressPool>,
        overflow: Arc<AtomicU64>,
        path: RtpPath,
    ) -> io::Result<mpsc::UnboundedSender<ShardCmd>> {
        let sock = MuxSocket::bind()?;
        let shard = Shard {
            port: sock.port,
            path,
            sessions: Vec::new(),
            free: Vec::new(),
            next_gen: 0,
            route: HashMap::new(),
            timers: BinaryHeap::new(),
            due: Vec::new(),
            out: Vec::new(),
            recv: RecvBatch::new(),
            slots: Vec::with_capacity(BATCH),
            scratch: Scratch::default(),
            addresses,
            overflow,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(shard.run(sock, rx));
        Ok(tx)
    }

    async fn run(mut self, sock: MuxSocket, mut cmds: mpsc::UnboundedReceiver<ShardCmd>) {
        let mut next_read = Instant::now();
        let sleep = tokio::time::sleep_until(next_read.into());
        tokio::pin!(sleep);
        loop {
            let now = Instant::now();
            if now >= next_read {
                next_read = if self.read(&sock) {
                    now
                } else {
                    now + READ_INTERVAL
                };
            }
            // Commands (joiners' SDP, stats for the progress line and the measured window) get
            // a turn every time, whatever the socket holds.
            for _ in 0..MAX_COMMANDS_PER_TURN {
                match cmds.try_recv() {
                    Ok(c) => self.command(c),
                    Err(_) => break,
                }
            }
            self.fire_timers(Instant::now());
            self.flush(&sock);
            let next = self
                .timers
                .peek()
                .map_or(next_read, |Reverse((t, ..))| (*t).min(next_read));
            if next <= Instant::now() {
                // Packets are still waiting, but the other tasks on this thread (publishers'
                // frame clocks, signaling) get their turn first.
                tokio::task::yield_now().await;
                continue;
            }
            sleep.as_mut().reset(next.into());
            tokio::select! {
                biased;
                c = cmds.recv() => match c {
                    Some(c) => self.command(c),
                    // Every handle is gone: no session can be left.
                    None => break,
                },
                _ = &mut sleep => {}
            }
        }
        for s in self.sessions.iter_mut().flatten() {
            s.emit(MediaEvent::Ended("shard stopped".into()));
        }
    }

    /// Reads up to [`MAX_BATCHES`] batches; true if packets may still be waiting.
    fn read(&mut self, sock: &MuxSocket) -> bool {
        for _ in 0..MAX_BATCHES {
            match sock.recv(&mut self.recv) {
                Ok(n) => {
                    self.dispatch();
                    if n < BATCH {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                // A pending socket error (ICMP); the next read may succeed.
                Err(_) => {}
            }
        }
        true
    }

    fn dispatch(&mut self) {
        let now = Instant::now();
        let unix = unix_micros();
        self.overflow
            .fetch_max(u64::from(self.recv.overflow), Ordering::Relaxed);
        let route = &self.route;
        self.slots.clear();
        self.slots
            .extend(self.recv.meta.iter().map(|m| route.get(&m.dest).copied()));
        for i in 0..PREFETCH_AHEAD {
            self.prefetch(i, Depth::Session);
        }
        for i in 0..self.recv.meta.len() {
            self.prefetch(i + PREFETCH_AHEAD, Depth::Session);
            self.prefetch(i + PREFETCH_AHEAD - PREFETCH_STEP, Depth::Blocks);
            self.prefetch(i + PREFETCH_AHEAD - 2 * PREFETCH_STEP, Depth::Buckets);
            let m = self.recv.meta[i];
            // None: for a session that closed since; dropped.
            let Some(slot) = self.slots[i] else {
                continue;
            };
            let Some(s) = self.sessions.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            s.net.packets_in += 1;
            s.net.bytes_in += m.len as u64;
            s.remote = Some(m.source);
            let data = self.recv.data(i);
            let (at, at_unix) = m.arrival(now, unix);
            if let (Some(lean), true) = (s.lean.as_mut(), is_srtp(data)) {
                s.flowing = true;
                let scratch = &mut self.scratch;
                lean.handle(data, at, at_unix, &mut s.rtc, &mut s.receiver, scratch);
                if lean.next_due().is_some_and(|t| t <= now) {
                    lean_poll(s, now, scratch, &mut self.out);
                }
                // A deadline the packet set (feedback due in 50 ms) gets a timer, for when no
                // later packet comes to send it.
                self.schedule(slot);
                continue;
            }
            // Not STUN/DTLS/RTP (or too short): nothing str0m could use.
            let Ok(r) = Receive::new(Protocol::Udp, m.source, SocketAddr::V4(s.local), data) else {
                continue;
            };
            if let Err(e) = s.rtc.handle_input(Input::Receive(now, r)) {
                s.stats.last_error = Some(format!("input: {e}"));
            }
            // Frames this packet completes (str0m path) are stamped with its arrival.
            self.drain(slot, at_unix);
        }
    }

    /// Prefetches the state of the session of datagram `i` of the batch, if it has one.
    fn prefetch(&self, i: usize, depth: Depth) {
        let Some(s) = self
            .slots
            .get(i)
            .copied()
            .flatten()
            .and_then(|slot| self.sessions.get(slot))
        else {
            return;
        };
        match (depth, s) {
            // Only its address: reading it here would wait for the very load being hinted.
            (Depth::Session, s) => prefetch_all(s),
            (Depth::Blocks, Some(s)) => s.prefetch_blocks(),
            (Depth::Buckets, Some(s)) => s.prefetch_buckets(),
            (_, None) => {}
        }
    }

    /// Polls one session's str0m until only a timeout is left. A str0m error ends the session.
    fn drain(&mut self, slot: usize, unix: u64) {
        let Some(s) = self.sessions.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let failed = loop {
            match s.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    s.timeout = t;
                    break None;
                }
                // What str0m would send for the streams the lean path took over (reports for
                // streams it never saw): the lean path sends the real ones.
                Ok(Output::Transmit(t)) if s.lean.is_some() && is_srtp(&t.contents) => {
                    if let Some(l) = s.lean.as_mut() {
                        l.stats.str0m_rtcp_dropped += 1;
                    }
                }
                Ok(Output::Transmit(t)) => match t.destination {
                    SocketAddr::V4(dest) => {
                        s.net.packets_out += 1;
                        s.net.bytes_out += t.contents.len() as u64;
                        self.out.push(Outgoing {
                            source: *s.local.ip(),
                            dest,
                            data: t.contents.into(),
                        });
                    }
                    SocketAddr::V6(_) => s.net.send_dropped += 1,
                },
                Ok(Output::Event(e)) => s.on_event(e, unix),
                Err(e) => break Some(e.to_string()),
            }
        };
        if let Some(why) = failed {
            self.end(slot, format!("WebRTC: {why}"));
        } else {
            self.schedule(slot);
        }
    }

    /// Makes sure the timer heap wakes the shard for this session's next deadline.
    fn schedule(&mut self, slot: usize) {
        let Some(s) = self.sessions.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let at = s.next_wake();
        if s.scheduled.is_none_or(|sched| at < sched) {
            s.scheduled = Some(at);
            self.timers.push(Reverse((at, slot, s.gen)));
        }
    }

    fn end(&mut self, slot: usize, why: String) {
        if let Some(mut s) = self.remove(slot) {
            s.emit(MediaEvent::Ended(why.clone()));
            if let Some(tx) = s.ended.take() {
                let _ = tx.send(why);
            }
        }
    }

    fn remove(&mut self, slot: usize) -> Option<Session> {
        let s = self.sessions.get_mut(slot)?.take()?;
        self.route.remove(s.local.ip());
        self.free.push(slot);
        Some(s)
    }

    fn fire_timers(&mut self, now: Instant) {
        // Take what is due first: a timeout str0m sets at or before `now` while handling one
        // waits for the next turn (with a later `now`) instead of looping here.
        let mut due = std::mem::take(&mut self.due);
        while let Some(&Reverse((t, slot, gen))) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            due.push((t, slot, gen));
        }
        for &(t, slot, gen) in &due {
            let Some(s) = self.sessions.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if s.gen != gen {
                continue;
            }
            if s.scheduled == Some(t) {
                s.scheduled = None;
            }
            if s.lean
                .as_ref()
                .and_then(Lean::next_due)
                .is_some_and(|d| d <= now)
            {
                lean_poll(s, now, &mut self.scratch, &mut self.out);
            }
            if s.str0m_due() <= now {
                s.str0m_ran = now;
                if let Err(e) = s.rtc.handle_input(Input::Timeout(now)) {
                    s.stats.last_error = Some(format!("timeout: {e}"));
                }
                self.drain(slot, unix_micros());
            } else {
                // Nothing of str0m's was due (its timeout moved later since this entry was
                // pushed), or only the lean path's: wake for what comes next.
                self.schedule(slot);
            }
        }
        due.clear();
        self.due = due;
    }

    fn flush(&mut self, sock: &MuxSocket) {
        if self.out.is_empty() {
            return;
        }
        let (sessions, route) = (&mut self.sessions, &self.route);
        sock.send(&self.out, &mut |o: &Outgoing| {
            if let Some(s) = route
                .get(&o.source)
                .and_then(|&slot| sessions.get_mut(slot))
                .and_then(Option::as_mut)
            {
                s.net.packets_out -= 1;
                s.net.bytes_out -= o.data.len() as u64;
                s.net.send_dropped += 1;
            }
        });
        for o in self.out.drain(..) {
            self.scratch.recycle(o.data);
        }
    }
}
