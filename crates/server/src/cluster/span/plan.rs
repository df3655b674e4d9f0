//! Who holds what in rooms spanning nodes, and what to do when something changes: plain state,
//! no I/O, so that every step can be tested alone. Each method returns the actions to carry out
//! (mod.rs does, outside the lock).
//!
//! A node plays both roles at once, for different rooms: **owner** of the rooms it runs whose
//! participants it placed on helpers (`placed`, `rooms`), and **helper** holding sessions for
//! other nodes' rooms (`hosted`, `hosted_rooms`, `links`).

use std::collections::{HashMap, HashSet};

use convene_media::TrackSource;
use convene_proto::{ParticipantId, RoomId};

use super::wire::{self, Control};
use crate::media::router::{target, Target};
use crate::media::{remote_link, MediaCmd, MediaOut};

#[derive(Debug)]
pub enum Action {
    Send(u32, Control),
    /// To this node's own workers (a helper's sessions).
    Here(RoomId, MediaCmd),
    /// To wherever the plane places it (a session placed again after its helper was lost).
    Place(RoomId, MediaCmd),
    Worker(usize, MediaCmd),
    Inject(MediaOut),
}

/// A participant of one of our rooms whose session a helper holds, with what the room told its
/// session (given again if it must be placed anew).
#[derive(Debug)]
struct Placed {
    slot: u32,
    room: RoomId,
    mutes: Vec<(TrackSource, bool)>,
    receives: Option<bool>,
}

/// One helper's side of one of our rooms.
#[derive(Debug, Default)]
struct Side {
    /// The helper's workers holding the room.
    hosts: Vec<u32>,
    /// (our worker, the helper's worker) linked, or asked for and not yet answered.
    linked: HashSet<(u32, u32)>,
    pending: HashSet<(u32, u32)>,
}

#[derive(Debug, Default)]
struct Span {
    /// Our workers holding the room.
    local: Vec<u32>,
    sides: HashMap<u32, Side>,
}

#[derive(Debug, Default)]
pub struct Plan {
    // Owner role.
    helpers: HashMap<String, u32>,
    placed: HashMap<ParticipantId, Placed>,
    rooms: HashMap<RoomId, Span>,
    // Helper role.
    hosted: HashMap<ParticipantId, (u32, RoomId)>,
    hosted_rooms: HashMap<RoomId, u32>,
    /// (owner link, room, owner's worker, our worker) linked for owners.
    links: HashSet<(u32, RoomId, u32, u32)>,
}

impl Plan {
    pub fn helper_slot(&self, node: &str) -> Option<u32> {
        self.helpers.get(node).copied()
    }

    pub fn add_helper(&mut self, node: &str, slot: u32) {
        self.helpers.insert(node.to_owned(), slot);
    }

    /// The links of helpers holding part of `room`.
    pub fn helpers_of(&self, room: &RoomId) -> Vec<u32> {
        self.rooms
            .get(room)
            .map(|s| s.sides.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Sessions placed on helpers, and sessions held here for owners.
    pub fn counts(&self) -> (usize, usize) {
        (self.placed.len(), self.hosted.len())
    }

    pub fn hosted_slot(&self, p: &ParticipantId) -> Option<u32> {
        self.hosted.get(p).map(|h| h.0)
    }

    pub fn hosted_room_slot(&self, room: &RoomId) -> Option<u32> {
        self.hosted_rooms.get(room).copied()
    }

    /// Owner: `participant` of `room` goes to the helper on link `slot`; `local` are our workers
    /// holding the room.
    pub fn place(
        &mut self,
        slot: u32,
        room: &RoomId,
        participant: &ParticipantId,
        local: &[usize],
    ) -> Vec<Action> {
        self.placed.insert(
            participant.clone(),
            Placed {
                slot,
                room: room.clone(),
                mutes: Vec::new(),
                receives: None,
            },
        );
        let span = self.rooms.entry(room.clone()).or_default();
        span.local = local.iter().map(|w| *w as u32).collect();
        span.sides.entry(slot).or_default();
        let add = Control::Add {
            room: room.clone(),
            participant: participant.clone(),
        };
        vec![Action::Send(slot, add)]
    }

    /// Owner: a command of the room about a participant a helper holds; the command back when
    /// no helper holds it.
    pub fn command(&mut self, cmd: MediaCmd) -> Result<Vec<Action>, MediaCmd> {
        let Some(p) = participant_of(&cmd) else {
            return Err(cmd);
        };
        let Some(placed) = self.placed.get_mut(p) else {
            return Err(cmd);
        };
        let slot = placed.slot;
        match &cmd {
            MediaCmd::ServerMute { source, muted, .. } => {
                placed.mutes.retain(|m| m.0 != *source);
                placed.mutes.push((*source, *muted));
            }
            MediaCmd::SetReceives { receives, .. } => placed.receives = Some(*receives),
            MediaCmd::RemoveParticipant { participant } => {
                self.placed.remove(participant);
            }
            _ => {}
        }
        Ok(wire::control_of(cmd)
            .map(|c| vec![Action::Send(slot, c)])
            .unwrap_or_default())
    }

    /// Our workers holding `room` changed: as its owner, link them with the helpers'; as a
    /// helper, tell the owner.
    pub fn hosts_changed(&mut self, room: &RoomId, hosts: &[usize]) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(&slot) = self.hosted_rooms.get(room) {
            let workers = hosts.iter().map(|w| *w as u32).collect();
            let c = Control::Hosts {
                room: room.clone(),
                workers,
            };
            actions.push(Action::Send(slot, c));
            if hosts.is_empty() {
                self.hosted_rooms.remove(room);
            }
        }
        if let Some(span) = self.rooms.get_mut(room) {
            span.local = hosts.iter().map(|w| *w as u32).collect();
            reconcile(room, span, &mut actions);
        }
        actions
    }

    /// A control item from link `slot`. `hosts_room`: whether our own workers hold a room (then
    /// they, not a helper, report its speakers).
    pub fn on_control(
        &mut self,
        slot: u32,
        c: Control,
        hosts_room: &dyn Fn(&RoomId) -> bool,
    ) -> Vec<Action> {
        match c {
            Control::Add { .. }
            | Control::Remove { .. }
            | Control::Offer { .. }
            | Control::Answer { .. }
            | Control::Candidate { .. }
            | Control::VideoConstraint { .. }
            | Control::ServerMute { .. }
            | Control::SetReceives { .. } => self.owner_command(slot, c),
            Control::Link {
                room,
                owner,
                helper,
            } => {
                self.links.insert((slot, room.clone(), owner, helper));
                let link = remote_link(slot, owner);
                let answer = Control::Linked {
                    room: room.clone(),
                    owner,
                    helper,
                };
                // The answer is queued before our worker can say anything on the new link.
                vec![
                    Action::Send(slot, answer),
                    Action::Worker(helper as usize, MediaCmd::AddLink { room, link }),
                ]
            }
            Control::Unlink {
                room,
                owner,
                helper,
            } => match self.links.remove(&(slot, room.clone(), owner, helper)) {
                true => {
                    let link = remote_link(slot, owner);
                    vec![Action::Worker(
                        helper as usize,
                        MediaCmd::RemoveLink { room, link },
                    )]
                }
                false => Vec::new(),
            },
            Control::Hosts { room, workers } => self.helper_hosts(slot, room, workers),
            Control::Linked {
                room,
                owner,
                helper,
            } => self.linked(slot, room, owner, helper),
            Control::Beat => Vec::new(),
            report => self.report(slot, report, hosts_room),
        }
    }

    /// Helper: a command of the owner on link `slot` about a session we hold for it.
    fn owner_command(&mut self, slot: u32, c: Control) -> Vec<Action> {
        let Some((room, cmd)) = wire::command_of(c) else {
            return Vec::new();
        };
        let Some(p) = participant_of(&cmd).cloned() else {
            return Vec::new();
        };
        if let (Some(room), MediaCmd::AddParticipant { .. }) = (&room, &cmd) {
            self.hosted.insert(p.clone(), (slot, room.clone()));
            self.hosted_rooms.insert(room.clone(), slot);
        }
        // Only the owner that placed a session may speak of it.
        let room = match self.hosted.get(&p) {
            Some((s, room)) if *s == slot => room.clone(),
            _ => return Vec::new(),
        };
        if matches!(cmd, MediaCmd::RemoveParticipant { .. }) {
            self.hosted.remove(&p);
        }
        vec![Action::Here(room, cmd)]
    }

    /// Owner: the helper on `slot` holds `room` on `workers` now.
    fn helper_hosts(&mut self, slot: u32, room: RoomId, mut workers: Vec<u32>) -> Vec<Action> {
        // A worker is named in one byte: more than 256 distinct ones is no real node's list.
        workers.retain(|w| *w < 256);
        workers.sort_unstable();
        workers.dedup();
        let mut actions = Vec::new();
        let Some(span) = self.rooms.get_mut(&room) else {
            return actions;
        };
        let Some(side) = span.sides.get_mut(&slot) else {
            return actions;
        };
        side.hosts = workers;
        reconcile(&room, span, &mut actions);
        let placed_there = self
            .placed
            .values()
            .any(|p| p.slot == slot && p.room == room);
        if let Some(span) = self.rooms.get_mut(&room) {
            if span.sides.get(&slot).is_some_and(|s| s.hosts.is_empty()) && !placed_there {
                span.sides.remove(&slot);
            }
            if span.sides.is_empty() {
                self.rooms.remove(&room);
            }
        }
        actions
    }

    /// Owner: the helper linked its worker: link ours.
    fn linked(&mut self, slot: u32, room: RoomId, owner: u32, helper: u32) -> Vec<Action> {
        let side = self
            .rooms
            .get_mut(&room)
            .and_then(|s| s.sides.get_mut(&slot))
            .filter(|side| side.pending.contains(&(owner, helper)));
        match side {
            Some(side) => {
                side.pending.remove(&(owner, helper));
                side.linked.insert((owner, helper));
                let link = remote_link(slot, helper);
                vec![Action::Worker(
                    owner as usize,
                    MediaCmd::AddLink { room, link },
                )]
            }
            // Undone meanwhile: the helper undoes its side.
            _ => vec![Action::Send(
                slot,
                Control::Unlink {
                    room,
                    owner,
                    helper,
                },
            )],
        }
    }

    /// Owner: a helper's report about a session it holds for one of our rooms, for our room's
    /// router; refused unless that helper holds it.
    fn report(
        &mut self,
        slot: u32,
        c: Control,
        hosts_room: &dyn Fn(&RoomId) -> bool,
    ) -> Vec<Action> {
        let Some(out) = wire::out_of(c) else {
            return Vec::new();
        };
        let ok = match target(&out) {
            Target::Participant(p) => self.holds(slot, p),
            // Our own workers hear every speaker of the room over the links; a helper speaks for
            // the room only while we hold none of it.
            Target::Room(room) => {
                self.rooms
                    .get(room)
                    .is_some_and(|s| s.sides.contains_key(&slot))
                    && !hosts_room(room)
            }
        };
        match ok {
            true => vec![Action::Inject(out)],
            false => Vec::new(),
        }
    }

    fn holds(&self, slot: u32, p: &ParticipantId) -> bool {
        self.placed.get(p).is_some_and(|x| x.slot == slot)
    }

    /// Link `slot` ended. As owner: our workers drop their links to the helper, and the sessions
    /// it held are placed again with what the room told them, their clients told to offer anew.
    /// As helper: the sessions and links we held for the owner end.
    pub fn closed(&mut self, slot: u32) -> Vec<Action> {
        let mut actions = Vec::new();
        self.helpers.retain(|_, s| *s != slot);
        self.rooms.retain(|room, span| {
            if let Some(side) = span.sides.remove(&slot) {
                for (ours, theirs) in side.linked {
                    let link = remote_link(slot, theirs);
                    let room = room.clone();
                    actions.push(Action::Worker(
                        ours as usize,
                        MediaCmd::RemoveLink { room, link },
                    ));
                }
            }
            !span.sides.is_empty()
        });
        let lost: Vec<ParticipantId> = self
            .placed
            .iter()
            .filter(|(_, p)| p.slot == slot)
            .map(|(id, _)| id.clone())
            .collect();
        for participant in lost {
            let Some(p) = self.placed.remove(&participant) else {
                continue;
            };
            actions.extend(replace(participant, p));
        }
        self.links.retain(|(s, room, owner, helper)| {
            if *s == slot {
                let link = remote_link(slot, *owner);
                let room = room.clone();
                actions.push(Action::Worker(
                    *helper as usize,
                    MediaCmd::RemoveLink { room, link },
                ));
            }
            *s != slot
        });
        self.hosted_rooms.retain(|_, s| *s != slot);
        let gone: Vec<(ParticipantId, RoomId)> = self
            .hosted
            .iter()
            .filter(|(_, h)| h.0 == slot)
            .map(|(p, h)| (p.clone(), h.1.clone()))
            .collect();
        for (participant, room) in gone {
            self.hosted.remove(&participant);
            actions.push(Action::Here(
                room,
                MediaCmd::RemoveParticipant { participant },
            ));
        }
        actions
    }
}

/// A session whose helper was lost: placed again, given the room's mutes, its client told.
fn replace(participant: ParticipantId, p: Placed) -> Vec<Action> {
    let room = p.room;
    let mut actions = vec![Action::Place(
        room.clone(),
        MediaCmd::AddParticipant {
            room: room.clone(),
            participant: participant.clone(),
        },
    )];
    for (source, muted) in p.mutes {
        let participant = participant.clone();
        let cmd = MediaCmd::ServerMute {
            participant,
            source,
            muted,
        };
        actions.push(Action::Place(room.clone(), cmd));
    }
    if let Some(receives) = p.receives {
        let participant = participant.clone();
        let cmd = MediaCmd::SetReceives {
            participant,
            receives,
        };
        actions.push(Action::Place(room.clone(), cmd));
    }
    actions.push(Action::Inject(MediaOut::Moved { participant }));
    actions
}

/// Owner: link each of our workers holding `room` with each of each helper's, and undo links
/// no longer wanted.
fn reconcile(room: &RoomId, span: &mut Span, actions: &mut Vec<Action>) {
    for (&slot, side) in span.sides.iter_mut() {
        let want: HashSet<(u32, u32)> = span
            .local
            .iter()
            .flat_map(|a| side.hosts.iter().map(move |b| (*a, *b)))
            .collect();
        for &(owner, helper) in &want {
            if side.linked.contains(&(owner, helper)) || side.pending.contains(&(owner, helper)) {
                continue;
            }
            side.pending.insert((owner, helper));
            let room = room.clone();
            let c = Control::Link {
                room,
                owner,
                helper,
            };
            actions.push(Action::Send(slot, c));
        }
        let stale: Vec<(u32, u32)> = side
            .linked
            .iter()
            .chain(side.pending.iter())
            .filter(|pair| !want.contains(pair))
            .copied()
            .collect();
        for (owner, helper) in stale {
            side.pending.remove(&(owner, helper));
            if side.linked.remove(&(owner, helper)) {
                let link = remote_link(slot, helper);
                let cmd = MediaCmd::RemoveLink {
                    room: room.clone(),
                    link,
                };
                actions.push(Action::Worker(owner as usize, cmd));
            }
            let room = room.clone();
            let c = Control::Unlink {
                room,
                owner,
                helper,
            };
            actions.push(Action::Send(slot, c));
        }
    }
}

fn participant_of(cmd: &MediaCmd) -> Option<&ParticipantId> {
    crate::media::participant_of(cmd)
}
