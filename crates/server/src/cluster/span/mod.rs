//! A room larger than one node. The room stays on its owner node, with its state and signaling;
//! when the owner's workers are full (`media.max_sessions`, or every worker saturated), a
//! newcomer's media session goes to another node (a helper), which the room drives as it drives
//! its own workers: the owner's plane hands the commands about that participant to this part,
//! which carries them over a link to the helper (wire.rs), and the helper's reports come back
//! the same way into the owner's router. The cores of both nodes that hold the room are linked
//! with the API the cores of one node use between themselves (the media core's `add_link`,
//! `poll_relay`, `handle_relay`), so layer choice, keyframe requests and speaker detection work
//! across the link. A packet that several cores of the other node want crosses once: the
//! sending worker gathers the cores it goes to into one item (media/worker.rs), and the
//! receiving node hands each of them the message.
//!
//! One link (a WebSocket to the helper's `/internal/cluster/span`, signed with the cluster key)
//! per owner and helper; every message on it is sealed with a key derived from the cluster
//! secret (seal.rs): never plain on the wire. The owner links each of its workers holding the
//! room with each of the helper's, in two steps so that neither side's first messages are lost:
//! it asks (`Link`), the helper links its worker and answers (`Linked`) before that worker can
//! say anything, and only then does the owner link its own.
//!
//! When a link ends (a node died, drained or was cut off), the helper ends the sessions it held
//! for the owner, and the owner places them again (here or on another node), with the mutes the
//! room gave them, and tells their clients to offer anew (`media_reset`): they stay in the
//! meeting.

mod event;
mod link;
mod plan;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use convene_media::LinkId;
use convene_proto::{ParticipantId, RoomId};
use tokio::sync::mpsc;

use super::{Cluster, NodeInfo};
use crate::media::router::{target, Target};
use crate::media::{split_link, MediaCmd, MediaOut, MediaPlane, RemoteMedia};
pub(crate) use link::accept;
pub use link::{EPOCH_HEADER, MAX_MESSAGE, PATH};
use plan::{Action, Plan};
use wire::{Control, Item};

/// Relay items waiting for one link before media is dropped (control never is; media is dropped
/// before it is encoded: see `RemoteMedia::backed_up`).
const RELAY_QUEUE: usize = 4096;

/// How long a node whose link ended is not chosen for new sessions.
const AVOID: std::time::Duration = std::time::Duration::from_secs(10);

/// A node that may take media sessions, as of the last heartbeat.
#[derive(Debug, Clone)]
struct Candidate {
    id: String,
    http: String,
    sessions: i64,
    capacity: i64,
}

/// One link, either way.
struct Conn {
    node: String,
    tx: mpsc::UnboundedSender<Item>,
    queued: Arc<AtomicUsize>,
}

pub struct Spans {
    me: Weak<Spans>,
    pub(crate) node: String,
    secret: Vec<u8>,
    media: MediaPlane,
    cluster: Arc<Cluster>,
    conns: Mutex<HashMap<u32, Conn>>,
    plan: Mutex<Plan>,
    candidates: Mutex<Vec<Candidate>>,
    /// Nodes whose link ended lately, not chosen again until then: a node that cannot be
    /// reached must not get the sessions placed again after its link failed.
    avoid: Mutex<HashMap<String, std::time::Instant>>,
    next_slot: AtomicU32,
    /// Relay items dropped because their link was backed up.
    pub dropped: AtomicU64,
    /// Relay items received, and the deliveries to this node's cores they made (more: a packet
    /// several cores want crosses once).
    received: AtomicU64,
    delivered: AtomicU64,
}

/// Poisoning is ignored: the maps hold plain values a panicking holder cannot leave half-made.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Spans {
    pub fn new(cluster: Arc<Cluster>, media: MediaPlane) -> Arc<Self> {
        Arc::new_cyclic(|me| Spans {
            me: me.clone(),
            node: cluster.node.clone(),
            secret: cluster.key.secret().to_vec(),
            media,
            cluster,
            conns: Mutex::new(HashMap::new()),
            plan: Mutex::new(Plan::default()),
            candidates: Mutex::new(Vec::new()),
            avoid: Mutex::new(HashMap::new()),
            next_slot: AtomicU32::new(1),
            dropped: AtomicU64::new(0),
            received: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
        })
    }

    /// The nodes that may take sessions now (from the heartbeat's list of live nodes).
    pub fn set_nodes(&self, nodes: &[NodeInfo]) {
        let list = nodes
            .iter()
            .filter(|n| n.id != self.node && !n.draining && n.media_busy < 0.9)
            .map(|n| Candidate {
                id: n.id.clone(),
                http: n.http.clone(),
                sessions: n.media_sessions,
                capacity: n.media_capacity,
            })
            .collect();
        *lock(&self.candidates) = list;
    }

    /// Whether this node takes part in a room spanning nodes now (then the heartbeat keeps the
    /// list of candidates fresh even when this node is not full).
    pub fn active(&self) -> bool {
        !lock(&self.conns).is_empty()
    }

    /// Links open now, for metrics.
    pub fn links(&self) -> usize {
        lock(&self.conns).len()
    }

    pub fn render_metrics(&self) -> String {
        let (placed, hosted) = lock(&self.plan).counts();
        format!(
            "# HELP convene_span_links Media links open to other nodes (rooms spanning nodes), either way.\n\
             # TYPE convene_span_links gauge\nconvene_span_links {}\n\
             # HELP convene_span_sessions Media sessions of rooms spanning nodes: this node's participants placed on another node, and another node's held here.\n\
             # TYPE convene_span_sessions gauge\nconvene_span_sessions{{role=\"placed_elsewhere\"}} {placed}\nconvene_span_sessions{{role=\"held_here\"}} {hosted}\n\
             # HELP convene_span_relay_dropped_total Media relay messages dropped because their link was backed up.\n\
             # TYPE convene_span_relay_dropped_total counter\nconvene_span_relay_dropped_total {}\n\
             # HELP convene_span_relay_received_total Relay messages received from other nodes (each crossed once).\n\
             # TYPE convene_span_relay_received_total counter\nconvene_span_relay_received_total {}\n\
             # HELP convene_span_relay_delivered_total Deliveries of received relay messages to this node's cores (a packet several want crossed once for all).\n\
             # TYPE convene_span_relay_delivered_total counter\nconvene_span_relay_delivered_total {}\n",
            self.links(),
            self.dropped.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
            self.delivered.load(Ordering::Relaxed),
        )
    }

    /// The candidate for a newcomer of `room`: a node already holding some of it, else the
    /// least loaded with room for one more.
    fn choose(&self, room: &RoomId) -> Option<Candidate> {
        let helping = lock(&self.plan).helpers_of(room);
        let conns = lock(&self.conns);
        let helping: Vec<&str> = helping
            .iter()
            .filter_map(|s| conns.get(s).map(|c| c.node.as_str()))
            .collect();
        let now = std::time::Instant::now();
        let mut avoid = lock(&self.avoid);
        avoid.retain(|_, until| *until > now);
        let candidates = lock(&self.candidates);
        let fits = |c: &&Candidate| {
            (c.capacity == 0 || c.sessions < c.capacity) && !avoid.contains_key(&c.id)
        };
        candidates
            .iter()
            .filter(fits)
            .min_by_key(|c| (!helping.contains(&c.id.as_str()), c.sessions))
            .cloned()
    }

    /// The link to `node`, opened if there is none.
    fn link_to(&self, node: &str, http: &str) -> u32 {
        let mut conns = lock(&self.conns);
        if let Some(slot) = lock(&self.plan).helper_slot(node) {
            if conns.contains_key(&slot) {
                return slot;
            }
        }
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        conns.insert(
            slot,
            Conn {
                node: node.to_owned(),
                tx,
                queued: queued.clone(),
            },
        );
        lock(&self.plan).add_helper(node, slot);
        if let Some(me) = self.me.upgrade() {
            let (node, http) = (node.to_owned(), http.to_owned());
            tokio::spawn(link::open(me, slot, node, http, rx, queued));
        }
        slot
    }

    /// A link from an owner node: its slot, its queue and its counter.
    fn accept(&self, node: &str) -> (u32, mpsc::UnboundedReceiver<Item>, Arc<AtomicUsize>) {
        let slot = self.next_slot.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let conn = Conn {
            node: node.to_owned(),
            tx,
            queued: queued.clone(),
        };
        lock(&self.conns).insert(slot, conn);
        (slot, rx, queued)
    }

    fn send(&self, slot: u32, c: Control) {
        if let Some(conn) = lock(&self.conns).get(&slot) {
            let _ = conn.tx.send(Item::Control(c));
        }
    }

    /// Carries out what the plan decided, outside its lock (the plane calls back into it).
    fn run(&self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Send(slot, c) => self.send(slot, c),
                Action::Here(room, cmd) => self.media.send_here(&room, cmd),
                Action::Place(room, cmd) => self.media.send(&room, cmd),
                Action::Worker(w, cmd) if w < self.media.workers() => self.media.send_to(w, cmd),
                Action::Worker(w, _) => tracing::warn!(worker = w, "span: no such worker"),
                Action::Inject(out) => self.media.inject(out),
            }
        }
    }

    /// A control item that arrived on link `slot`.
    fn on_control(&self, slot: u32, c: Control) {
        let hosts_room = |room: &RoomId| self.media.hosts_room(room);
        let actions = lock(&self.plan).on_control(slot, c, &hosts_room);
        self.run(actions);
    }

    /// A relay item that arrived on link `slot`, decoded: to this node's workers `to` (each gets
    /// the message; a packet's payload is shared).
    fn on_relay(&self, slot: u32, from: u8, to: &[u8], msg: convene_media::RelayMessage) {
        let from = crate::media::remote_link(slot, u32::from(from));
        self.received.fetch_add(1, Ordering::Relaxed);
        self.delivered.fetch_add(to.len() as u64, Ordering::Relaxed);
        if let Some((last, rest)) = to.split_last() {
            for w in rest {
                self.media.relay_in(usize::from(*w), from, msg.clone());
            }
            self.media.relay_in(usize::from(*last), from, msg);
        }
    }

    /// Link `slot` ended: each side undoes what it held for the other.
    fn closed(&self, slot: u32) {
        let Some(conn) = lock(&self.conns).remove(&slot) else {
            return;
        };
        tracing::info!(node = %conn.node, slot, "span: link closed");
        let until = std::time::Instant::now() + AVOID;
        lock(&self.avoid).insert(conn.node.clone(), until);
        let actions = lock(&self.plan).closed(slot);
        self.run(actions);
    }

    /// Takes the plane's reports about sessions this node holds for another node's rooms (they
    /// go back over the link); gives back the others.
    pub fn claim(&self, out: MediaOut) -> Option<MediaOut> {
        let slot = {
            let plan = lock(&self.plan);
            match target(&out) {
                Target::Participant(p) => plan.hosted_slot(p),
                Target::Room(room) => plan.hosted_room_slot(room),
            }
        };
        match slot {
            Some(slot) => {
                self.send(slot, wire::report_of(out));
                None
            }
            None => Some(out),
        }
    }
}

impl RemoteMedia for Spans {
    fn spans(&self, room: &RoomId) -> bool {
        !lock(&self.plan).helpers_of(room).is_empty()
    }

    fn can_place(&self, room: &RoomId) -> bool {
        self.choose(room).is_some()
    }

    fn place(&self, room: &RoomId, participant: &ParticipantId) -> bool {
        let Some(to) = self.choose(room) else {
            return false;
        };
        let local = self.media.hosts(room);
        let slot = self.link_to(&to.id, &to.http);
        // Counted at once: the next join before the helper's heartbeat sees this one.
        if let Some(c) = lock(&self.candidates).iter_mut().find(|c| c.id == to.id) {
            c.sessions += 1;
        }
        let actions = lock(&self.plan).place(slot, room, participant, &local);
        self.run(actions);
        tracing::info!(%room, %participant, helper = %to.id, "span: media session placed on another node");
        true
    }

    fn send(&self, cmd: MediaCmd) -> Result<(), MediaCmd> {
        let actions = lock(&self.plan).command(cmd)?;
        self.run(actions);
        Ok(())
    }

    fn hosts_changed(&self, room: &RoomId, hosts: &[usize]) {
        let actions = lock(&self.plan).hosts_changed(room, hosts);
        self.run(actions);
    }

    fn backed_up(&self, link: LinkId) -> bool {
        let Some((slot, _)) = split_link(link) else {
            return false;
        };
        let full = lock(&self.conns)
            .get(&slot)
            .is_some_and(|c| c.queued.load(Ordering::Relaxed) >= RELAY_QUEUE);
        if full {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        full
    }

    fn relay(&self, from: usize, slot: u32, to: Vec<u8>, bytes: Vec<u8>) {
        let conns = lock(&self.conns);
        let Some(conn) = conns.get(&slot) else {
            return;
        };
        conn.queued.fetch_add(1, Ordering::Relaxed);
        let item = Item::Relay {
            from: from as u8,
            to,
            bytes,
        };
        let _ = conn.tx.send(item);
    }
}
