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
//! server carries the messages between threads (between machines, as bytes: `wire.rs`); the core
//! only says where each goes.
//!
//! This part keeps what this core knows of the others: their publishers whose tracks our
//! participants receive, which of their tracks' wanted layers changed since we last said, and the
//! messages waiting to go out. Relaying our own tracks is the forwarding's business: another core
//! is one more subscriber of them (`Subscription::Link`).

mod msg;
mod wire;

use std::collections::{HashMap, VecDeque};

use convene_proto::{ParticipantId, RoomId};
use str0m::media::Mid;

use crate::ids::{LinkId, RemoteIdx};
use crate::track::RemoteTrack;

pub use msg::RelayMessage;
pub(crate) use msg::{LayerInfo, Msg};
pub use wire::{RelayDecoder, RelayEncoder, WireError};

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

impl RemotePublisher {
    pub(crate) fn track_mut(&mut self, mid: Mid) -> Option<&mut RemoteTrack> {
        self.published.iter_mut().find(|t| t.mid == mid)
    }
}

#[derive(Default)]
pub(crate) struct Links {
    remotes: Vec<Option<RemotePublisher>>,
    free: Vec<RemoteIdx>,
    /// By link and the publisher's slot on its own core.
    by_key: HashMap<(LinkId, u32), RemoteIdx>,
    /// Remote tracks whose wanted layers may have changed since we last told their core.
    dirty: Vec<(RemoteIdx, Mid)>,
    out: VecDeque<(LinkId, RelayMessage)>,
}

impl Links {
    pub(crate) fn get(&self, ri: RemoteIdx) -> Option<&RemotePublisher> {
        self.remotes.get(ri.0 as usize).and_then(|r| r.as_ref())
    }

    pub(crate) fn get_mut(&mut self, ri: RemoteIdx) -> Option<&mut RemotePublisher> {
        self.remotes.get_mut(ri.0 as usize).and_then(|r| r.as_mut())
    }

    /// The publisher `link` names by `slot`.
    pub(crate) fn find(&self, link: LinkId, slot: u32) -> Option<RemoteIdx> {
        self.by_key.get(&(link, slot)).copied()
    }

    /// Every remote publisher, with its index.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (RemoteIdx, &RemotePublisher)> {
        self.remotes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (RemoteIdx(i as u32), r)))
    }

    /// Adds a publisher of `link`'s, in a free slot for which `in_use` is false (as for local
    /// slots: not one a subscriber's receive m-line still names).
    pub(crate) fn insert(
        &mut self,
        publisher: RemotePublisher,
        in_use: impl Fn(RemoteIdx) -> bool,
    ) -> RemoteIdx {
        let ri = match self.free.iter().position(|&i| !in_use(i)) {
            Some(pos) => self.free.swap_remove(pos),
            None => {
                self.remotes.push(None);
                RemoteIdx((self.remotes.len() - 1) as u32)
            }
        };
        self.by_key.insert((publisher.link, publisher.slot), ri);
        self.remotes[ri.0 as usize] = Some(publisher);
        ri
    }

    pub(crate) fn remove(&mut self, ri: RemoteIdx) -> Option<RemotePublisher> {
        let rp = self.remotes.get_mut(ri.0 as usize)?.take()?;
        self.by_key.remove(&(rp.link, rp.slot));
        self.free.push(ri);
        Some(rp)
    }

    /// The wanted layers of this remote track may have changed.
    pub(crate) fn mark_dirty(&mut self, ri: RemoteIdx, mid: Mid) {
        self.dirty.push((ri, mid));
    }

    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// The remote tracks marked since the last call, or all of them; in order, once each.
    pub(crate) fn take_dirty(&mut self, all: bool) -> Vec<(RemoteIdx, Mid)> {
        let mut list = std::mem::take(&mut self.dirty);
        if all {
            list = self
                .iter()
                .flat_map(|(i, r)| r.published.iter().map(move |t| (i, t.mid)))
                .collect();
        }
        list.sort();
        list.dedup();
        list
    }

    pub(crate) fn send(&mut self, link: LinkId, msg: Msg) {
        self.out.push_back((link, RelayMessage(msg)));
    }

    pub(crate) fn poll(&mut self) -> Option<(LinkId, RelayMessage)> {
        self.out.pop_front()
    }
}
