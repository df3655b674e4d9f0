//! The participants of this core: a slab of their sessions, and how a datagram, a participant id
//! or an ICE username finds one.

use std::collections::HashMap;
use std::net::SocketAddr;

use convene_proto::ParticipantId;
use str0m::net::Protocol;

use crate::error::MediaError;
use crate::ids::{PeerIdx, TrackOrigin};
use crate::peer::Participant;

/// Addresses remembered per participant (ICE may try several before settling).
const MAX_ADDRS_PER_PEER: usize = 8;

#[derive(Default)]
pub(crate) struct Peers {
    slots: Vec<Option<Participant>>,
    free: Vec<u32>,
    by_id: HashMap<ParticipantId, PeerIdx>,
    by_ufrag: HashMap<String, PeerIdx>,
    by_addr: HashMap<(Protocol, SocketAddr), PeerIdx>,
}

impl Peers {
    pub(crate) fn get(&self, idx: PeerIdx) -> Option<&Participant> {
        self.slots.get(idx.0 as usize).and_then(|p| p.as_ref())
    }

    pub(crate) fn get_mut(&mut self, idx: PeerIdx) -> Option<&mut Participant> {
        self.slots.get_mut(idx.0 as usize).and_then(|p| p.as_mut())
    }

    pub(crate) fn idx(&self, id: &ParticipantId) -> Result<PeerIdx, MediaError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| MediaError::UnknownParticipant(id.clone()))
    }

    pub(crate) fn contains(&self, id: &ParticipantId) -> bool {
        self.by_id.contains_key(id)
    }

    pub(crate) fn by_ufrag(&self, ufrag: &str) -> Option<PeerIdx> {
        self.by_ufrag.get(ufrag).copied()
    }

    pub(crate) fn by_addr(&self, addr: &(Protocol, SocketAddr)) -> Option<PeerIdx> {
        self.by_addr.get(addr).copied()
    }

    /// Every slot's index, taken or not (for walks that mutate the participants one by one).
    pub(crate) fn indexes(&self) -> impl Iterator<Item = PeerIdx> {
        (0..self.slots.len() as u32).map(PeerIdx)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (PeerIdx, &Participant)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (PeerIdx(i as u32), p)))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Participant> {
        self.slots.iter_mut().flatten()
    }

    /// Adds a participant in a free slot that no subscriber still refers to. Subscribers key their
    /// receive m-lines by (publisher slot, mid), and the m-lines of a departed publisher stay until
    /// renegotiation stops them; reusing its slot before that would let a newcomer's track collide
    /// with them (a page reload re-adds the same participant with the same mids at once).
    pub(crate) fn insert(&mut self, p: Participant) -> PeerIdx {
        let named = |i: u32| self.names(TrackOrigin::Local(PeerIdx(i)));
        let idx = match self.free.iter().position(|&i| !named(i)) {
            Some(pos) => PeerIdx(self.free.swap_remove(pos)),
            None => {
                self.slots.push(None);
                PeerIdx((self.slots.len() - 1) as u32)
            }
        };
        self.by_ufrag.insert(p.ufrag.clone(), idx);
        self.by_id.insert(p.id.clone(), idx);
        self.slots[idx.0 as usize] = Some(p);
        idx
    }

    /// Whether a receive m-line of some participant still names a track of `origin`.
    pub(crate) fn names(&self, origin: TrackOrigin) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|p| p.out.keys().any(|(o, _)| *o == origin))
    }

    pub(crate) fn remove(&mut self, idx: PeerIdx) -> Option<Participant> {
        let p = self.slots.get_mut(idx.0 as usize)?.take()?;
        self.by_ufrag.remove(&p.ufrag);
        for a in &p.addrs {
            if self.by_addr.get(a) == Some(&idx) {
                self.by_addr.remove(a);
            }
        }
        self.by_id.remove(&p.id);
        self.free.push(idx.0);
        Some(p)
    }

    /// `idx` authenticated from `addr`: its media is accepted from there (a bounded number of
    /// addresses each).
    pub(crate) fn remember_addr(&mut self, idx: PeerIdx, addr: (Protocol, SocketAddr)) {
        let Some(p) = self.slots.get_mut(idx.0 as usize).and_then(|p| p.as_mut()) else {
            return;
        };
        if !p.addrs.contains(&addr) {
            p.addrs.push(addr);
            if p.addrs.len() > MAX_ADDRS_PER_PEER {
                let old = p.addrs.remove(0);
                if self.by_addr.get(&old) == Some(&idx) {
                    self.by_addr.remove(&old);
                }
            }
        }
        self.by_addr.insert(addr, idx);
    }

    /// After an ICE restart, STUN finds `idx` by its new username fragment.
    pub(crate) fn set_ice_credentials(&mut self, idx: PeerIdx, ufrag: String, pwd: String) {
        let Some(p) = self.slots.get_mut(idx.0 as usize).and_then(|p| p.as_mut()) else {
            return;
        };
        p.ice_pwd = pwd;
        let old = std::mem::replace(&mut p.ufrag, ufrag.clone());
        self.by_ufrag.remove(&old);
        self.by_ufrag.insert(ufrag, idx);
    }
}
