//! Rooms spread over several cores.
//!
//! A server runs one core per worker thread, and a large room has participants on more than one.
//! Each core forwards its own participants' packets to its own subscribers, and relays each packet
//! once to every other core of the room that wants it (a "link"); that core forwards it on to its
//! subscribers as if the publisher were local. So one room's forwarding work is shared by the
//! cores that hold its subscribers, and a packet crosses between cores once, not once per
//! subscriber.
//!
//! Over a link go, in order: publications (`Publish`, `Unpublish`, `Left`), media packets, the layers
//! a core wants of each remote track (`Demand`: the publisher's core relays only those, and counts
//! them when it tells the publisher which layers nobody watches), and keyframe requests. The
//! server carries the messages between threads; the core only says where each goes.

use std::fmt;
use std::time::Instant;

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::media::{Mid, Rid};

use crate::ids::{LinkId, PeerIdx, RemoteIdx, Subscriber, TrackOrigin};
use crate::packet::InPacket;
use crate::sfu::{loudness, Sfu};
use crate::simulcast::LayerId;
use crate::track::{IngressLayer, LocalTrack, RemoteTrack, Track};
use crate::types::{TrackKind, TrackSource};

/// A message for another core, from [`Sfu::poll_relay`] to that core's [`Sfu::handle_relay`].
pub struct RelayMessage(pub(crate) Msg);

impl RelayMessage {
    /// A media packet (which may be dropped under overload, like a datagram) rather than
    /// control (which must arrive).
    pub fn is_media(&self) -> bool {
        matches!(self.0, Msg::Packet { .. })
    }
}

impl fmt::Debug for RelayMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.0 {
            Msg::Publish { .. } => "publish",
            Msg::Unpublish { .. } => "unpublish",
            Msg::Left { .. } => "left",
            Msg::Packet { .. } => "packet",
            Msg::Layers { .. } => "layers",
            Msg::Demand { .. } => "demand",
            Msg::KeyframeRequest { .. } => "keyframe_request",
        };
        write!(f, "RelayMessage({kind})")
    }
}

/// `publisher` is the publisher's slot on its own core: in `Publish` .. `Frame` the sender's, in
/// `Demand` and `KeyframeRequest` (which go back to the publisher's core) the receiver's.
pub(crate) enum Msg {
    Publish {
        room: RoomId,
        publisher: u32,
        id: ParticipantId,
        track: TrackId,
        mid: Mid,
        kind: TrackKind,
        source: TrackSource,
        rids: Vec<Rid>,
    },
    Unpublish {
        publisher: u32,
        mid: Mid,
    },
    Left {
        publisher: u32,
    },
    Packet {
        publisher: u32,
        packet: Box<InPacket>,
    },
    /// The publisher's core's view of a video track's layers, each tick: the other cores choose
    /// layers from it, since they see only the frames of layers they asked for.
    Layers {
        publisher: u32,
        mid: Mid,
        layers: Vec<LayerInfo>,
    },
    Demand {
        publisher: u32,
        mid: Mid,
        layers: Vec<LayerId>,
    },
    KeyframeRequest {
        publisher: u32,
        mid: Mid,
        layer: LayerId,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct LayerInfo {
    pub rid: LayerId,
    pub bitrate_bps: u64,
    pub peak_bps: u64,
    pub size: Option<(u32, u32)>,
    /// Flowing, or stopped only because nobody wanted it (so it may be asked for).
    pub available: bool,
}

/// A participant of another core whose tracks this core's participants receive.
#[derive(Debug)]
pub(crate) struct RemotePublisher {
    pub link: LinkId,
    /// Its slot on its own core (what that core's messages name it by).
    pub slot: u32,
    pub id: ParticipantId,
    pub room: RoomId,
    pub published: Vec<RemoteTrack>,
}

impl Sfu {
    /// Another core (`link`) hosts participants of `room` too: from now on they receive each
    /// other's tracks. Does nothing unless this core has participants in the room.
    pub fn add_link(&mut self, room: &RoomId, link: LinkId, now: Instant) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if r.links.contains(&link) {
            return;
        }
        r.links.push(link);
        for m in r.members.clone() {
            let Some(p) = self.peer(m) else { continue };
            let msgs: Vec<Msg> = p.published.iter().map(|t| publish_msg(p, m, t)).collect();
            for msg in msgs {
                self.out.relays.push_back((link, RelayMessage(msg)));
            }
        }
        self.finish(now);
    }

    /// `link` no longer hosts participants of `room`: its tracks end here, its wishes are
    /// forgotten.
    pub fn remove_link(&mut self, room: &RoomId, link: LinkId, now: Instant) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        r.links.retain(|l| *l != link);
        let members = r.members.clone();
        let remotes = r.remotes.clone();
        let gone: Vec<RemoteIdx> = remotes
            .into_iter()
            .filter(|ri| self.remote(*ri).is_some_and(|rp| rp.link == link))
            .collect();
        for ri in gone {
            self.drop_remote(ri);
        }
        for m in members {
            if let Some(p) = self.peers.get_mut(m.0 as usize).and_then(|p| p.as_mut()) {
                for t in &mut p.published {
                    t.remove(Subscriber::Link(link));
                }
            }
        }
        self.process_work(now);
        self.finish(now);
    }

    /// A message another core's [`Sfu::poll_relay`] addressed to this one.
    pub fn handle_relay(&mut self, link: LinkId, msg: RelayMessage, now: Instant) {
        match msg.0 {
            Msg::Packet { publisher, packet } => self.remote_packet(link, publisher, packet),
            Msg::Publish {
                room,
                publisher,
                id,
                track,
                mid,
                kind,
                source,
                rids,
            } => {
                let Some(r) = self.rooms.get(&room) else {
                    return;
                };
                if !r.links.contains(&link) {
                    return;
                }
                let ri = match self.remote_by_key.get(&(link, publisher)).copied() {
                    Some(ri) if self.remote(ri).is_some_and(|rp| rp.id == id) => ri,
                    other => {
                        if let Some(old) = other {
                            self.drop_remote(old);
                        }
                        self.new_remote(link, publisher, id, room)
                    }
                };
                let Some(rp) = self.remote_mut(ri) else {
                    return;
                };
                if let Some(t) = rp.published.iter_mut().find(|t| t.mid == mid) {
                    t.source = source;
                    return;
                }
                let room = rp.room.clone();
                rp.published.push(RemoteTrack::new(Track::new(
                    track, mid, kind, source, &rids,
                )));
                let members = self
                    .rooms
                    .get(&room)
                    .map(|r| r.members.clone())
                    .unwrap_or_default();
                for m in members {
                    self.subscribe(m, TrackOrigin::Remote(ri), mid);
                }
            }
            Msg::Layers {
                publisher,
                mid,
                layers,
            } => {
                let Some(ri) = self.remote_by_key.get(&(link, publisher)).copied() else {
                    return;
                };
                let Some(t) = self
                    .remote_mut(ri)
                    .and_then(|rp| rp.published.iter_mut().find(|t| t.mid == mid))
                else {
                    return;
                };
                for info in layers {
                    if t.layer_mut(info.rid).is_none() {
                        t.layers.push(IngressLayer::new(info.rid));
                    }
                    if let Some(l) = t.layer_mut(info.rid) {
                        l.bitrate_bps = info.bitrate_bps;
                        l.peak_bps = info.peak_bps;
                        l.size = info.size;
                        if info.available {
                            l.last_frame = Some(now);
                        }
                    }
                }
            }
            Msg::Unpublish { publisher, mid } => {
                if let Some(ri) = self.remote_by_key.get(&(link, publisher)).copied() {
                    self.unpublish(TrackOrigin::Remote(ri), mid);
                }
            }
            Msg::Left { publisher } => {
                if let Some(ri) = self.remote_by_key.get(&(link, publisher)).copied() {
                    self.drop_remote(ri);
                }
            }
            Msg::Demand {
                publisher,
                mid,
                layers,
            } => {
                if !self.linked(PeerIdx(publisher), link) {
                    return;
                }
                let Some(t) = self
                    .peers
                    .get_mut(publisher as usize)
                    .and_then(|p| p.as_mut())
                    .and_then(|p| p.published_mut(mid))
                else {
                    return;
                };
                t.set_link_layers(link, layers);
            }
            Msg::KeyframeRequest {
                publisher,
                mid,
                layer,
            } => {
                if self.linked(PeerIdx(publisher), link) {
                    self.request_keyframe(TrackOrigin::Local(PeerIdx(publisher)), mid, layer, now);
                }
            }
        }
        self.process_work(now);
        self.finish(now);
    }

    /// The next message for another core.
    pub fn poll_relay(&mut self) -> Option<(LinkId, RelayMessage)> {
        self.out.relays.pop_front()
    }

    /// Is local participant `idx` in a room that `link` hosts too?
    fn linked(&self, idx: PeerIdx, link: LinkId) -> bool {
        self.peer(idx)
            .and_then(|p| self.rooms.get(&p.room))
            .is_some_and(|r| r.links.contains(&link))
    }

    pub(crate) fn remote(&self, ri: RemoteIdx) -> Option<&RemotePublisher> {
        self.remotes.get(ri.0 as usize).and_then(|r| r.as_ref())
    }

    pub(crate) fn remote_mut(&mut self, ri: RemoteIdx) -> Option<&mut RemotePublisher> {
        self.remotes.get_mut(ri.0 as usize).and_then(|r| r.as_mut())
    }

    fn new_remote(
        &mut self,
        link: LinkId,
        slot: u32,
        id: ParticipantId,
        room: RoomId,
    ) -> RemoteIdx {
        // As for local slots: not one a subscriber's receive m-line still names.
        let reusable = self.remote_free.iter().position(|&i| {
            !self
                .peers
                .iter()
                .flatten()
                .any(|p| p.out.keys().any(|(r, _)| *r == TrackOrigin::Remote(i)))
        });
        let ri = match reusable {
            Some(pos) => self.remote_free.swap_remove(pos),
            None => {
                self.remotes.push(None);
                RemoteIdx((self.remotes.len() - 1) as u32)
            }
        };
        if let Some(r) = self.rooms.get_mut(&room) {
            r.remotes.push(ri);
        }
        self.remotes[ri.0 as usize] = Some(RemotePublisher {
            link,
            slot,
            id,
            room,
            published: Vec::new(),
        });
        self.remote_by_key.insert((link, slot), ri);
        ri
    }

    /// A remote publisher left (or its link went): its tracks end for our subscribers.
    pub(crate) fn drop_remote(&mut self, ri: RemoteIdx) {
        let mids: Vec<Mid> = self
            .remote(ri)
            .map(|rp| rp.published.iter().map(|t| t.mid).collect())
            .unwrap_or_default();
        for mid in mids {
            self.unpublish(TrackOrigin::Remote(ri), mid);
        }
        let Some(rp) = self.remotes.get_mut(ri.0 as usize).and_then(|r| r.take()) else {
            return;
        };
        self.remote_by_key.remove(&(rp.link, rp.slot));
        if let Some(r) = self.rooms.get_mut(&rp.room) {
            r.remotes.retain(|x| *x != ri);
            r.speaker.remove(TrackOrigin::Remote(ri));
        }
        self.remote_free.push(ri);
    }

    /// Tell every link about a local track that appeared.
    pub(crate) fn relay_publish(&mut self, idx: PeerIdx, mid: Mid) {
        let Some(p) = self.peers.get(idx.0 as usize).and_then(|p| p.as_ref()) else {
            return;
        };
        let Some(links) = self.rooms.get(&p.room).map(|r| &r.links) else {
            return;
        };
        let Some(t) = p.published.iter().find(|t| t.mid == mid) else {
            return;
        };
        for link in links {
            let msg = publish_msg(p, idx, t);
            self.out.relays.push_back((*link, RelayMessage(msg)));
        }
    }

    /// Tell every link of `idx`'s room something about a local publisher.
    pub(crate) fn relay_to_links(&mut self, idx: PeerIdx, msg: impl Fn() -> Msg) {
        let Some(links) = self
            .peer(idx)
            .and_then(|p| self.rooms.get(&p.room))
            .map(|r| r.links.clone())
        else {
            return;
        };
        for link in links {
            self.out.relays.push_back((link, RelayMessage(msg())));
        }
    }

    /// Each tick: tell the room's other cores how the layers of local videos are doing.
    pub(crate) fn relay_layers(&mut self, available: impl Fn(&IngressLayer, &LocalTrack) -> bool) {
        for (i, p) in self.peers.iter().enumerate() {
            let Some(p) = p else { continue };
            let Some(room) = self.rooms.get(&p.room) else {
                continue;
            };
            if room.links.is_empty() {
                continue;
            }
            for t in p.published.iter().filter(|t| t.kind == TrackKind::Video) {
                let layers: Vec<LayerInfo> = t
                    .layers
                    .iter()
                    .map(|l| LayerInfo {
                        rid: l.rid,
                        bitrate_bps: l.bitrate_bps,
                        peak_bps: l.peak_bps,
                        size: l.size,
                        available: available(l, t),
                    })
                    .collect();
                for link in &room.links {
                    let msg = Msg::Layers {
                        publisher: i as u32,
                        mid: t.mid,
                        layers: layers.clone(),
                    };
                    self.out.relays.push_back((*link, RelayMessage(msg)));
                }
            }
        }
    }

    fn remote_packet(&mut self, link: LinkId, publisher: u32, data: Box<InPacket>) {
        let Some(ri) = self.remote_by_key.get(&(link, publisher)).copied() else {
            return;
        };
        let Some(rp) = self.remotes.get_mut(ri.0 as usize).and_then(|r| r.as_mut()) else {
            return;
        };
        let Some(t) = rp.published.iter_mut().find(|t| t.mid == data.mid) else {
            return;
        };
        // Layer figures come with `Layers`.
        let kind = t.kind;
        self.out.stats.relay_packets_in += 1;
        if kind == TrackKind::Audio {
            if let (Some(level), Some(r)) = (data.audio_level, self.rooms.get_mut(&rp.room)) {
                r.speaker.on_level(TrackOrigin::Remote(ri), loudness(level));
            }
        }
        self.fan_out(TrackOrigin::Remote(ri), &data, kind);
    }

    /// Ask the cores of remote tracks for the layers our subscribers now want (changes only):
    /// the tracks marked since the last call, or all of them.
    pub(crate) fn send_demands(&mut self, all: bool) {
        let mut list = if all {
            self.demand_dirty.clear();
            self.remotes
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().map(|r| (RemoteIdx(i as u32), r)))
                .flat_map(|(i, r)| r.published.iter().map(move |t| (i, t.mid)))
                .collect()
        } else {
            std::mem::take(&mut self.demand_dirty)
        };
        list.sort();
        list.dedup();
        for (ri, mid) in list {
            self.send_demand(ri, mid);
        }
    }

    pub(crate) fn send_demand(&mut self, ri: RemoteIdx, mid: Mid) {
        let Some(rp) = self.remotes.get_mut(ri.0 as usize).and_then(|r| r.as_mut()) else {
            return;
        };
        let Some(t) = rp.published.iter_mut().find(|t| t.mid == mid) else {
            return;
        };
        let mut wanted: Vec<LayerId> = t
            .peer_subscribers()
            .filter_map(|s| self.peers.get(s.0 as usize).and_then(|p| p.as_ref()))
            .filter_map(|sp| sp.out.get(&(TrackOrigin::Remote(ri), mid)))
            .flat_map(|o| o.layer.needed())
            .collect();
        wanted.sort_by_key(|l| l.map(|r| r.to_string()));
        wanted.dedup();
        if t.demand_sent.as_ref() == Some(&wanted) {
            return;
        }
        t.demand_sent = Some(wanted.clone());
        let msg = Msg::Demand {
            publisher: rp.slot,
            mid,
            layers: wanted,
        };
        self.out.relays.push_back((rp.link, RelayMessage(msg)));
    }
}

fn publish_msg(p: &crate::participant::Participant, idx: PeerIdx, t: &Track) -> Msg {
    Msg::Publish {
        room: p.room.clone(),
        publisher: idx.0,
        id: p.id.clone(),
        track: t.id.clone(),
        mid: t.mid,
        kind: t.kind,
        source: t.source,
        rids: t.layers.iter().filter_map(|l| l.rid).collect(),
    }
}
