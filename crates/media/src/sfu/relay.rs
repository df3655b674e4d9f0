//! Routing to and from the other cores of a room (see `link/mod.rs` for how rooms spread over
//! cores): what our participants publish goes out to them, what theirs publish comes in as
//! remote tracks, and what our subscribers want of those goes back as demands.

use std::time::Instant;

use convene_proto::{ParticipantId, RoomId};
use str0m::media::Mid;

use super::Sfu;
use crate::ids::{LinkId, PeerIdx, RemoteIdx, Subscriber, TrackOrigin};
use crate::link::{LayerInfo, Msg, RelayMessage, RemotePublisher};
use crate::packet::InPacket;
use crate::peer::Participant;
use crate::simulcast::LayerId;
use crate::track::{IngressLayer, LocalTrack, RemoteTrack, Track};
use crate::types::TrackKind;

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
                self.links.send(link, msg);
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
            .filter(|ri| self.links.get(*ri).is_some_and(|rp| rp.link == link))
            .collect();
        for ri in gone {
            self.drop_remote(ri);
        }
        for m in members {
            if let Some(p) = self.peers.get_mut(m) {
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
                let (origin, track) = (
                    (link, publisher, id, room),
                    Track::new(track, mid, kind, source, &rids),
                );
                self.remote_publish(origin, track);
            }
            Msg::Layers {
                publisher,
                mid,
                layers,
            } => self.remote_layers(link, publisher, mid, layers, now),
            Msg::Unpublish { publisher, mid } => {
                if let Some(ri) = self.links.find(link, publisher) {
                    self.unpublish(TrackOrigin::Remote(ri), mid);
                }
            }
            Msg::Left { publisher } => {
                if let Some(ri) = self.links.find(link, publisher) {
                    self.drop_remote(ri);
                }
            }
            Msg::Demand {
                publisher,
                mid,
                layers,
            } => {
                if self.linked(PeerIdx(publisher), link) {
                    let t = self.peers.get_mut(PeerIdx(publisher));
                    if let Some(t) = t.and_then(|p| p.published_mut(mid)) {
                        t.set_link_layers(link, layers);
                    }
                }
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

    /// A track of another core's participant: our participants in its room subscribe to it.
    /// (A track already known only changes its source.)
    fn remote_publish(
        &mut self,
        (link, slot, id, room): (LinkId, u32, ParticipantId, RoomId),
        track: Track,
    ) {
        if !self
            .rooms
            .get(&room)
            .is_some_and(|r| r.links.contains(&link))
        {
            return;
        }
        let ri = match self.links.find(link, slot) {
            Some(ri) if self.links.get(ri).is_some_and(|rp| rp.id == id) => ri,
            other => {
                // The slot names someone else now: the one before left.
                if let Some(old) = other {
                    self.drop_remote(old);
                }
                self.new_remote(link, slot, id, room)
            }
        };
        let Some(rp) = self.links.get_mut(ri) else {
            return;
        };
        let mid = track.mid;
        if let Some(t) = rp.track_mut(mid) {
            t.source = track.source;
            return;
        }
        let room = rp.room.clone();
        rp.published.push(RemoteTrack::new(track));
        let members = self
            .rooms
            .get(&room)
            .map(|r| r.members.clone())
            .unwrap_or_default();
        for m in members {
            self.subscribe(m, TrackOrigin::Remote(ri), mid);
        }
    }

    /// The publisher's core's figures of a remote video's layers (we see only the frames of
    /// those we asked for).
    fn remote_layers(
        &mut self,
        link: LinkId,
        slot: u32,
        mid: Mid,
        layers: Vec<LayerInfo>,
        now: Instant,
    ) {
        let Some(ri) = self.links.find(link, slot) else {
            return;
        };
        let Some(t) = self.links.get_mut(ri).and_then(|rp| rp.track_mut(mid)) else {
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

    /// The next message for another core.
    pub fn poll_relay(&mut self) -> Option<(LinkId, RelayMessage)> {
        self.links.poll()
    }

    /// Is local participant `idx` in a room that `link` hosts too?
    fn linked(&self, idx: PeerIdx, link: LinkId) -> bool {
        self.peer(idx)
            .and_then(|p| self.rooms.get(&p.room))
            .is_some_and(|r| r.links.contains(&link))
    }

    fn new_remote(
        &mut self,
        link: LinkId,
        slot: u32,
        id: ParticipantId,
        room: RoomId,
    ) -> RemoteIdx {
        let publisher = RemotePublisher {
            link,
            slot,
            id,
            room: room.clone(),
            published: Vec::new(),
        };
        let peers = &self.peers;
        let ri = self
            .links
            .insert(publisher, |i| peers.names(TrackOrigin::Remote(i)));
        if let Some(r) = self.rooms.get_mut(&room) {
            r.remotes.push(ri);
        }
        ri
    }

    /// A remote publisher left (or its link went): its tracks end for our subscribers.
    pub(crate) fn drop_remote(&mut self, ri: RemoteIdx) {
        let mids: Vec<Mid> = self
            .links
            .get(ri)
            .map(|rp| rp.published.iter().map(|t| t.mid).collect())
            .unwrap_or_default();
        for mid in mids {
            self.unpublish(TrackOrigin::Remote(ri), mid);
        }
        let Some(rp) = self.links.remove(ri) else {
            return;
        };
        if let Some(r) = self.rooms.get_mut(&rp.room) {
            r.remotes.retain(|x| *x != ri);
            self.speakers.remove(&rp.room, TrackOrigin::Remote(ri));
        }
    }

    /// Tell every link about a local track that appeared.
    pub(crate) fn relay_publish(&mut self, idx: PeerIdx, mid: Mid) {
        let Some(p) = self.peers.get(idx) else {
            return;
        };
        let Some(links) = self.rooms.get(&p.room).map(|r| &r.links) else {
            return;
        };
        let Some(t) = p.published.iter().find(|t| t.mid == mid) else {
            return;
        };
        for link in links {
            self.links.send(*link, publish_msg(p, idx, t));
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
            self.links.send(link, msg());
        }
    }

    /// Each tick: tell the room's other cores how the layers of local videos are doing.
    pub(crate) fn relay_layers(&mut self, available: impl Fn(&IngressLayer, &LocalTrack) -> bool) {
        for (i, p) in self.peers.iter() {
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
                        publisher: i.0,
                        mid: t.mid,
                        layers: layers.clone(),
                    };
                    self.links.send(*link, msg);
                }
            }
        }
    }

    fn remote_packet(&mut self, link: LinkId, publisher: u32, data: Box<InPacket>) {
        let Some(ri) = self.links.find(link, publisher) else {
            return;
        };
        let Some(rp) = self.links.get(ri) else {
            return;
        };
        let Some(t) = rp.published.iter().find(|t| t.mid == data.mid) else {
            return;
        };
        // Layer figures come with `Layers`.
        let kind = t.kind;
        self.out.stats.relay_packets_in += 1;
        if kind == TrackKind::Audio && self.rooms.contains_key(&rp.room) {
            if let Some(level) = data.audio_level {
                self.speakers
                    .on_level(&rp.room, TrackOrigin::Remote(ri), level);
            }
        }
        self.fan_out(TrackOrigin::Remote(ri), &data, kind);
    }

    /// Ask the cores of remote tracks for the layers our subscribers now want (changes only):
    /// the tracks marked since the last call, or all of them.
    pub(crate) fn send_demands(&mut self, all: bool) {
        for (ri, mid) in self.links.take_dirty(all) {
            self.send_demand(ri, mid);
        }
    }

    pub(crate) fn send_demand(&mut self, ri: RemoteIdx, mid: Mid) {
        let Some(rp) = self.links.get(ri) else {
            return;
        };
        let Some(t) = rp.published.iter().find(|t| t.mid == mid) else {
            return;
        };
        let mut wanted: Vec<LayerId> = t
            .peer_subscribers()
            .filter_map(|s| self.peers.get(s))
            .filter_map(|sp| sp.out.get(&(TrackOrigin::Remote(ri), mid)))
            .flat_map(|o| o.layer.needed())
            .collect();
        wanted.sort_by_key(|l| l.map(|r| r.to_string()));
        wanted.dedup();
        if t.demand_sent.as_ref() == Some(&wanted) {
            return;
        }
        let (link, slot) = (rp.link, rp.slot);
        if let Some(t) = self.links.get_mut(ri).and_then(|rp| rp.track_mut(mid)) {
            t.demand_sent = Some(wanted.clone());
        }
        let msg = Msg::Demand {
            publisher: slot,
            mid,
            layers: wanted,
        };
        self.links.send(link, msg);
    }
}

fn publish_msg(p: &Participant, idx: PeerIdx, t: &Track) -> Msg {
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
