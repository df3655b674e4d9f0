//! Deterministic simulated network and virtual clock for driving the SFU and test clients.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use convene_media::{
    Event, LinkId, Protocol, Recorded, RelayDecoder, RelayEncoder, RelayMessage, Sfu, SfuConfig,
    Transmit,
};
use convene_proto::{ParticipantId, RoomId};

use super::client::TestClient;

/// xorshift64*: tiny seeded PRNG so runs are reproducible without a rand dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One direction of a client's access link.
#[derive(Debug, Clone)]
pub struct Path {
    pub delay: Duration,
    pub loss: f64,
    /// Capacity in bits/s (None = unlimited). Excess queues; beyond `max_queue` it is dropped,
    /// like a router's tail-drop buffer, so TWCC sees both delay growth and loss.
    pub capacity_bps: Option<u64>,
    pub max_queue: Duration,
    busy_until: Option<Instant>,
}

impl Path {
    pub fn new(delay: Duration) -> Self {
        Path {
            delay,
            loss: 0.0,
            capacity_bps: None,
            max_queue: Duration::from_millis(150),
            busy_until: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Link {
    pub up: Path,
    pub down: Path,
}

#[derive(Debug)]
struct InFlight {
    at: Instant,
    seq: u64,
    proto: Protocol,
    source: SocketAddr,
    destination: SocketAddr,
    data: Vec<u8>,
}

// Ordered by delivery time, then send order (FIFO for equal times).
impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

pub struct Net {
    queue: BinaryHeap<Reverse<InFlight>>,
    pub links: HashMap<SocketAddr, Link>,
    pub rng: Rng,
    seq: u64,
    pub dropped: u64,
}

impl Net {
    pub fn new(seed: u64) -> Self {
        Net {
            queue: BinaryHeap::new(),
            links: HashMap::new(),
            rng: Rng::new(seed),
            seq: 0,
            dropped: 0,
        }
    }

    pub fn send(&mut self, now: Instant, t: Transmit) {
        let data: Vec<u8> = t.contents.into();
        // The link is the client's: upstream if the client is the source.
        let (path, _up) = if let Some(l) = self.links.get_mut(&t.source) {
            (&mut l.up, true)
        } else if let Some(l) = self.links.get_mut(&t.destination) {
            (&mut l.down, false)
        } else {
            self.dropped += 1;
            return;
        };
        if path.loss > 0.0 && self.rng.chance(path.loss) {
            self.dropped += 1;
            return;
        }
        let mut at = now;
        if let Some(bps) = path.capacity_bps {
            let start = path.busy_until.map_or(now, |b| b.max(now));
            if start - now > path.max_queue {
                self.dropped += 1;
                return;
            }
            let tx = Duration::from_nanos((data.len() as u64 + 28) * 8 * 1_000_000_000 / bps);
            path.busy_until = Some(start + tx);
            at = start + tx;
        }
        at += path.delay;
        self.seq += 1;
        self.queue.push(Reverse(InFlight {
            at,
            seq: self.seq,
            proto: t.proto,
            source: t.source,
            destination: t.destination,
            data,
        }));
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.queue.peek().map(|r| r.0.at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<InFlight> {
        if self.queue.peek().is_some_and(|r| r.0.at <= now) {
            self.queue.pop().map(|r| r.0)
        } else {
            None
        }
    }
}

pub const SFU_ADDR: ([u8; 4], u16) = ([10, 0, 0, 1], 3478);

pub fn sfu_addr() -> SocketAddr {
    SocketAddr::from(SFU_ADDR)
}

/// Core `n`'s address: core 0 is `sfu_addr()`. (A server's cores share one socket; giving each
/// its own address here only saves the simulation a demultiplexer.)
pub fn core_addr(n: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1 + n as u8], SFU_ADDR.1))
}

pub struct World {
    pub start: Instant,
    pub now: Instant,
    /// Core 0; with `add_core`, more cores sharing rooms through relay links.
    pub sfu: Sfu,
    pub more_cores: Vec<Sfu>,
    pub clients: Vec<TestClient>,
    /// The core of each client.
    pub client_core: Vec<usize>,
    /// Clients joined so far (their numbers).
    joined: usize,
    config: SfuConfig,
    pub net: Net,
    pub events: Vec<(Instant, Event)>,
    /// What the cores' recording sinks handed out, in order.
    pub recorded: Vec<Recorded>,
    pub room: RoomId,
    pub input_errors: u64,
    /// The server's ICE ufrag per client, from the SDP answer.
    pub server_ufrags: Vec<String>,
    /// Server offers to this participant are parked in `held_offers` instead of answered.
    pub hold_offers_for: Option<ParticipantId>,
    pub held_offers: Vec<Event>,
    /// Wall-clock CPU time spent inside `Sfu::handle_input` / `handle_timeout` (for the bench).
    pub sfu_time: Duration,
    /// A worker too busy to keep its timers: the cores' timeouts run at most this often.
    pub timeouts_every: Option<Duration>,
    last_timeouts: Instant,
    /// Relay messages go between cores as bytes (`RelayEncoder` to `RelayDecoder`, one pair per
    /// direction), as between nodes, instead of in memory.
    pub relay_over_wire: bool,
    wire: HashMap<(usize, usize), (RelayEncoder, RelayDecoder)>,
    /// What the relay messages took on the wire.
    pub wire_bytes: u64,
}

impl World {
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, |_| {})
    }

    pub fn with_config(seed: u64, f: impl FnOnce(&mut SfuConfig)) -> Self {
        let start = Instant::now();
        let mut config = SfuConfig {
            public_ips: vec![sfu_addr().ip()],
            udp_port: sfu_addr().port(),
            ..SfuConfig::default()
        };
        f(&mut config);
        World {
            start,
            now: start,
            sfu: Sfu::new(config.clone(), start).expect("config"),
            more_cores: Vec::new(),
            config,
            clients: Vec::new(),
            client_core: Vec::new(),
            joined: 0,
            net: Net::new(seed),
            events: Vec::new(),
            recorded: Vec::new(),
            room: RoomId::new("room"),
            input_errors: 0,
            server_ufrags: Vec::new(),
            hold_offers_for: None,
            held_offers: Vec::new(),
            sfu_time: Duration::ZERO,
            timeouts_every: None,
            last_timeouts: start,
            relay_over_wire: false,
            wire: HashMap::new(),
            wire_bytes: 0,
        }
    }

    /// When the cores' timeouts may run next.
    fn timeouts_at(&self, due: Instant) -> Instant {
        match self.timeouts_every {
            Some(every) => due.max(self.last_timeouts + every),
            None => due,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Adds a core (like a server's second worker thread); returns its number.
    pub fn add_core(&mut self) -> usize {
        let n = self.more_cores.len() + 1;
        let mut config = self.config.clone();
        config.public_ips = vec![core_addr(n).ip()];
        self.more_cores
            .push(Sfu::new(config, self.now).expect("config"));
        n
    }

    pub fn core(&mut self, n: usize) -> &mut Sfu {
        if n == 0 {
            &mut self.sfu
        } else {
            &mut self.more_cores[n - 1]
        }
    }

    fn cores(&self) -> usize {
        1 + self.more_cores.len()
    }

    fn core_of(&self, id: &ParticipantId) -> usize {
        self.clients
            .iter()
            .position(|c| &c.id == id)
            .map_or(0, |i| self.client_core[i])
    }

    /// Add a client publishing audio and/or 3-layer simulcast video, and negotiate.
    pub fn join(&mut self, name: &str, audio: bool, video: bool) -> usize {
        self.join_on(0, name, audio, video)
    }

    /// Like `join`, on core `core`. The first participant of the room on a core links that core
    /// with the room's other cores, as the server does.
    pub fn join_on(&mut self, core: usize, name: &str, audio: bool, video: bool) -> usize {
        self.join_with(core, name, audio, video, false)
    }

    /// A client that publishes nothing and offers a data channel only.
    pub fn join_with_data_channel(&mut self, name: &str) -> usize {
        self.join_with(0, name, false, false, true)
    }

    fn join_with(
        &mut self,
        core: usize,
        name: &str,
        audio: bool,
        video: bool,
        data_channel: bool,
    ) -> usize {
        // Numbers (and addresses) are never reused, so a leaver's frames stay told apart.
        let n = self.joined;
        self.joined += 1;
        let addr = SocketAddr::from(([10, 1, 0, n as u8 + 1], 5000));
        self.net.links.insert(
            addr,
            Link {
                up: Path::new(Duration::from_millis(10)),
                down: Path::new(Duration::from_millis(10)),
            },
        );
        let id = ParticipantId::new(name);
        let (room, now) = (self.room.clone(), self.now);
        let first_here = !self.client_core.contains(&core);
        self.core(core)
            .add_participant(room.clone(), id.clone(), now)
            .expect("add");
        if first_here {
            let mut others: Vec<usize> = self.client_core.clone();
            others.sort();
            others.dedup();
            for other in others {
                self.core(core).add_link(&room, LinkId(other as u32), now);
                self.core(other).add_link(&room, LinkId(core as u32), now);
            }
        }
        let mut c = TestClient::new(n as u8, id.clone(), addr, audio, video, self.now);
        c.data_channel = data_channel;
        let (offer, sources) = c.make_offer();
        let answer = self
            .core(core)
            .handle_offer(&id, &offer, &sources, now)
            .expect("offer accepted");
        let ufrag = answer
            .lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap_or_default()
            .trim()
            .to_string();
        self.server_ufrags.push(ufrag);
        c.accept_answer(&answer);
        self.clients.push(c);
        self.client_core.push(core);
        self.pump();
        n
    }

    /// Removes a participant from its core; the last one of a core unlinks it, as the server does.
    pub fn leave(&mut self, name: &str) {
        let id = ParticipantId::new(name);
        let core = self.core_of(&id);
        let (room, now) = (self.room.clone(), self.now);
        self.core(core)
            .remove_participant(&id, now)
            .expect("remove");
        let pos = self
            .clients
            .iter()
            .position(|c| c.id == id)
            .expect("client");
        self.clients.remove(pos);
        self.client_core.remove(pos);
        if !self.client_core.contains(&core) {
            let mut others: Vec<usize> = self.client_core.clone();
            others.sort();
            others.dedup();
            for other in others {
                self.core(other)
                    .remove_link(&room, LinkId(core as u32), now);
            }
        }
        self.pump();
    }

    pub fn client(&self, name: &str) -> &TestClient {
        self.clients
            .iter()
            .find(|c| c.id.as_str() == name)
            .expect("client")
    }

    /// Move queued transmits into the network and handle SFU events (signaling is instant).
    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            for core in 0..self.cores() {
                while let Some(t) = self.core(core).poll_transmit() {
                    self.net.send(self.now, t);
                    progressed = true;
                }
                // Between cores, messages arrive at once and in order (a channel in the server).
                while let Some((link, msg)) = self.core(core).poll_relay() {
                    let (to, now) = (link.0 as usize, self.now);
                    let msg = self.carry(core, to, msg);
                    self.core(to).handle_relay(LinkId(core as u32), msg, now);
                    progressed = true;
                }
            }
            for c in &mut self.clients {
                for t in c.outbox.drain(..) {
                    self.net.send(self.now, t);
                    progressed = true;
                }
            }
            let mut events = Vec::new();
            for core in 0..self.cores() {
                while let Some(e) = self.core(core).poll_event() {
                    events.push(e);
                }
                while let Some(r) = self.core(core).poll_recorded() {
                    self.recorded.push(r);
                }
            }
            for e in events {
                progressed = true;
                if let Event::SendOffer {
                    participant,
                    sdp,
                    tracks,
                } = &e
                {
                    if self.hold_offers_for.as_ref() == Some(participant) {
                        self.held_offers.push(e.clone());
                    } else if let Some(c) = self.clients.iter_mut().find(|c| &c.id == participant) {
                        let answer = c.accept_offer(sdp, tracks, self.now);
                        let (core, now) = (self.core_of(participant), self.now);
                        self.core(core)
                            .handle_answer(participant, &answer, now)
                            .expect("answer");
                    }
                }
                self.events.push((self.now, e));
            }
            if !progressed {
                return;
            }
        }
    }

    /// A relay message from core `from` to core `to`: as it is, or through its byte encoding.
    fn carry(&mut self, from: usize, to: usize, msg: RelayMessage) -> RelayMessage {
        if !self.relay_over_wire {
            return msg;
        }
        let (encoder, decoder) = self.wire.entry((from, to)).or_default();
        let mut bytes = Vec::new();
        encoder.encode(&msg, &mut bytes);
        self.wire_bytes += bytes.len() as u64;
        decoder
            .decode(&bytes, self.now)
            .expect("a relay message decodes from its encoding")
    }

    /// Advance virtual time to the next thing that happens, and handle it.
    pub fn step(&mut self) {
        let mut next = self.sfu.poll_timeout();
        for c in &self.more_cores {
            next = next.min(c.poll_timeout());
        }
        next = self.timeouts_at(next);
        if let Some(t) = self.net.next_at() {
            next = next.min(t);
        }
        for c in &self.clients {
            next = next.min(c.next_wakeup());
        }
        self.now = self.now.max(next);
        let now = self.now;
        while let Some(p) = self.net.pop_due(now) {
            if let Some(core) = (0..self.cores()).find(|n| p.destination == core_addr(*n)) {
                let t0 = Instant::now();
                let r =
                    self.core(core)
                        .handle_input(now, p.proto, p.source, p.destination, &p.data);
                self.sfu_time += t0.elapsed();
                if r.is_err() {
                    self.input_errors += 1;
                }
            } else if let Some(c) = self.clients.iter_mut().find(|c| c.addr == p.destination) {
                c.receive(now, p.proto, p.source, p.destination, &p.data);
            }
        }
        let mut ran = false;
        for core in 0..self.cores() {
            let due = self.core(core).poll_timeout();
            if self.timeouts_at(due) <= now {
                let t0 = Instant::now();
                self.core(core).handle_timeout(now);
                self.sfu_time += t0.elapsed();
                ran = true;
            }
        }
        if ran {
            self.last_timeouts = now;
        }
        for c in &mut self.clients {
            c.tick(now);
        }
        self.pump();
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
        }
    }

    /// Every client received every other client's audio and video, intact and in order, and
    /// none its own (about 5 s of media after connecting).
    pub fn assert_everyone_receives_everyone_intact(&self) {
        for c in &self.clients {
            assert_eq!(c.corrupt_frames(), 0, "{}: no corrupted payloads", c.id);
            for other in &self.clients {
                let audio = c.audio_from(other.num);
                let video = c.video_from(other.num);
                if other.num == c.num {
                    assert!(
                        audio.is_empty() && video.is_empty(),
                        "{} gets own media",
                        c.id
                    );
                    continue;
                }
                // ~5 s of media after connecting: 50 audio frames/s, 30 video frames/s.
                assert!(
                    audio.len() > 150,
                    "{} audio from {}: {}",
                    c.id,
                    other.id,
                    audio.len()
                );
                assert!(
                    video.len() > 60,
                    "{} video from {}: {}",
                    c.id,
                    other.id,
                    video.len()
                );
                // Audio arrives in order without gaps once flowing (no loss configured).
                for pair in audio.windows(2) {
                    assert_eq!(pair[1].1, pair[0].1 + 1, "audio sequence from {}", other.id);
                }
                // Video starts on a keyframe and frame numbers increase; a frame may repeat only
                // where the layer switches (the new layer's keyframe for the same picture).
                assert!(video[0].3, "first video frame is a keyframe");
                for pair in video.windows(2) {
                    let switch = pair[1].1 != pair[0].1;
                    assert!(!switch || pair[1].3, "layer switch on a keyframe");
                    assert!(
                        pair[1].2 > pair[0].2 || (switch && pair[1].2 == pair[0].2),
                        "video frames in order: {:?}",
                        video.iter().map(|v| (v.1, v.2, v.3)).collect::<Vec<_>>()
                    );
                }
            }
        }
    }

    /// The track id of `name`'s published video.
    pub fn video_track_of(&self, name: &str) -> convene_proto::TrackId {
        self.events
            .iter()
            .find_map(|(_, e)| match e {
                Event::TrackPublished {
                    participant,
                    track,
                    kind: convene_media::TrackKind::Video,
                    ..
                } if participant.as_str() == name => Some(track.clone()),
                _ => None,
            })
            .expect("video track published")
    }

    pub fn events_since(&self, t: Instant) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |(at, _)| *at >= t)
            .map(|(_, e)| e)
    }
}
