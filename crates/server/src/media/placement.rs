//! Which worker holds which participant.
//!
//! A room starts on the least-loaded worker and its participants join it there, so a small room's
//! frames never leave one thread. Once a room has `spread_after` participants, each newcomer goes to
//! the least-loaded worker instead (preferring one the room is already on, when loads tie): a
//! large room then uses every core, its workers relaying frames to each other (see the media core's
//! `link/mod.rs`). The workers a room is on must be linked; [`Join`] and [`Leave`] say when.

use std::collections::HashMap;

use convene_proto::{ParticipantId, RoomId};

#[derive(Debug, Default)]
struct RoomPlace {
    /// Workers holding participants of the room, in the order the room reached them: the first
    /// is the room's home, which reports room-wide events (dominant speaker, audio levels).
    hosts: Vec<(usize, usize)>,
}

impl RoomPlace {
    fn total(&self) -> usize {
        self.hosts.iter().map(|h| h.1).sum()
    }
}

/// Where a joining participant went.
#[derive(Debug, PartialEq, Eq)]
pub struct Join {
    pub worker: usize,
    /// The room's other workers, when this worker is new to the room: each pair must be linked.
    pub link_with: Vec<usize>,
}

/// Where a leaving participant was.
#[derive(Debug, PartialEq, Eq)]
pub struct Leave {
    pub worker: usize,
    /// The room's other workers, when this was the room's last participant on `worker`: they must
    /// drop their link to it.
    pub unlink_from: Vec<usize>,
}

#[derive(Debug)]
pub struct Placement {
    rooms: HashMap<RoomId, RoomPlace>,
    participants: HashMap<ParticipantId, (RoomId, usize)>,
    /// Participants per worker.
    load: Vec<usize>,
    /// Participants a room has before it spreads over workers (0: never).
    spread_after: usize,
}

impl Placement {
    pub fn new(workers: usize, spread_after: usize) -> Self {
        Self {
            rooms: HashMap::new(),
            participants: HashMap::new(),
            load: vec![0; workers.max(1)],
            spread_after,
        }
    }

    /// The worker holding `participant`'s media session.
    pub fn worker(&self, participant: &ParticipantId) -> Option<usize> {
        self.participants.get(participant).map(|p| p.1)
    }

    /// Participants per worker.
    pub fn load(&self) -> &[usize] {
        &self.load
    }

    /// The workers holding participants of `room`, home first.
    pub fn hosts(&self, room: &RoomId) -> Vec<usize> {
        self.rooms
            .get(room)
            .map(|p| p.hosts.iter().map(|h| h.0).collect())
            .unwrap_or_default()
    }

    /// The worker that reports `room`'s room-wide events.
    pub fn home(&self, room: &RoomId) -> Option<usize> {
        self.rooms.get(room)?.hosts.first().map(|h| h.0)
    }

    /// Whether a newcomer to `room` has somewhere to go when the `saturated` workers take no one:
    /// any other worker, unless the room may not spread (then only its own).
    pub fn admits(&self, room: &RoomId, saturated: &[bool]) -> bool {
        let free = |w: usize| !saturated.get(w).copied().unwrap_or(false);
        match self.rooms.get(room).and_then(|p| p.hosts.first()) {
            Some(home) if self.spread_after == 0 => free(home.0),
            _ => (0..self.load.len()).any(free),
        }
    }

    /// Places a participant's new media session (one already placed is moved: left, then joined).
    /// A `saturated` worker takes no one while another can: a room whose own worker is saturated
    /// spreads early (unless rooms may not spread).
    pub fn join(&mut self, room: &RoomId, participant: &ParticipantId, saturated: &[bool]) -> Join {
        if self.participants.contains_key(participant) {
            self.leave(participant);
        }
        let free = |w: usize| !saturated.get(w).copied().unwrap_or(false);
        // When every worker is saturated (a join that passed `admits` just before), place as usual.
        let all_saturated = !(0..self.load.len()).any(free);
        let allowed = |w: usize| all_saturated || free(w);
        let least = |load: &[usize], prefer: &dyn Fn(usize) -> bool| {
            (0..load.len())
                .filter(|w| allowed(*w))
                .min_by_key(|w| (load[*w], !prefer(*w)))
                .unwrap_or(0)
        };
        let place = self.rooms.entry(room.clone()).or_default();
        let worker = match place.hosts.first() {
            None => least(&self.load, &|_| false),
            Some(home) if self.spread_after == 0 => home.0,
            Some(home) if place.total() < self.spread_after && allowed(home.0) => home.0,
            Some(_) => {
                let hosts: Vec<usize> = place.hosts.iter().map(|h| h.0).collect();
                least(&self.load, &|w| hosts.contains(&w))
            }
        };
        let link_with = match place.hosts.iter_mut().find(|h| h.0 == worker) {
            Some(h) => {
                h.1 += 1;
                Vec::new()
            }
            None => {
                let others = place.hosts.iter().map(|h| h.0).collect();
                place.hosts.push((worker, 1));
                others
            }
        };
        self.load[worker] += 1;
        self.participants
            .insert(participant.clone(), (room.clone(), worker));
        Join { worker, link_with }
    }

    /// A participant's media session ended; an emptied room is forgotten.
    pub fn leave(&mut self, participant: &ParticipantId) -> Option<Leave> {
        let (room, worker) = self.participants.remove(participant)?;
        self.load[worker] = self.load[worker].saturating_sub(1);
        let place = self.rooms.get_mut(&room)?;
        let pos = place.hosts.iter().position(|h| h.0 == worker)?;
        place.hosts[pos].1 -= 1;
        let mut unlink_from = Vec::new();
        if place.hosts[pos].1 == 0 {
            place.hosts.remove(pos);
            unlink_from = place.hosts.iter().map(|h| h.0).collect();
        }
        if place.hosts.is_empty() {
            self.rooms.remove(&room);
        }
        Some(Leave {
            worker,
            unlink_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::new(s)
    }

    #[test]
    fn rooms_go_to_the_least_loaded_worker_and_stay_there() {
        let mut p = Placement::new(2, 50);
        let rooms: Vec<RoomId> = (0..4).map(|i| RoomId(format!("r{i}"))).collect();
        for (i, r) in rooms.iter().enumerate() {
            for j in 0..25 {
                let j = p.join(r, &pid(&format!("{i}-{j}")), &[]);
                assert!(j.link_with.is_empty(), "a room of 25 stays on one worker");
            }
        }
        let homes: Vec<usize> = rooms.iter().filter_map(|r| p.home(r)).collect();
        assert_eq!(homes.iter().filter(|w| **w == 0).count(), 2, "{homes:?}");
        assert_eq!(p.load, vec![50, 50]);
        // Emptied rooms are forgotten and their load released.
        for j in 0..25 {
            p.leave(&pid(&format!("0-{j}")));
        }
        assert_eq!(p.home(&rooms[0]), None);
        assert_eq!(p.load.iter().sum::<usize>(), 75);
    }

    #[test]
    fn a_large_room_spreads_over_the_workers_and_links_them() {
        let mut p = Placement::new(2, 4);
        let big = RoomId("big".into());
        let joins: Vec<Join> = (0..10)
            .map(|i| p.join(&big, &pid(&format!("p{i}")), &[]))
            .collect();
        // The first 4 stay home; the 5th goes to the idle worker, which links with the home.
        assert!(joins[..4]
            .iter()
            .all(|j| j.worker == 0 && j.link_with.is_empty()));
        assert_eq!(
            joins[4],
            Join {
                worker: 1,
                link_with: vec![0]
            }
        );
        // Then newcomers balance the load, with no more links to make.
        assert!(joins[5..].iter().all(|j| j.link_with.is_empty()));
        assert_eq!(p.load, vec![5, 5]);
        assert_eq!(p.home(&big), Some(0));
        // Without a spread threshold a room never leaves its worker.
        let mut q = Placement::new(2, 0);
        assert!((0..10).all(|i| q.join(&big, &pid(&format!("q{i}")), &[]).worker == 0));
    }

    #[test]
    fn the_last_to_leave_a_worker_unlinks_it_and_the_home_moves_on() {
        let mut p = Placement::new(2, 1);
        let room = RoomId("r".into());
        assert_eq!(p.join(&room, &pid("a"), &[]).worker, 0);
        assert_eq!(
            p.join(&room, &pid("b"), &[]),
            Join {
                worker: 1,
                link_with: vec![0]
            }
        );
        assert_eq!(p.worker(&pid("b")), Some(1));
        assert_eq!(
            p.leave(&pid("a")),
            Some(Leave {
                worker: 0,
                unlink_from: vec![1]
            })
        );
        assert_eq!(
            p.home(&room),
            Some(1),
            "the room's events now come from worker 1"
        );
        assert_eq!(
            p.leave(&pid("b")),
            Some(Leave {
                worker: 1,
                unlink_from: vec![]
            })
        );
        assert_eq!(p.leave(&pid("b")), None, "leaving twice is harmless");
        assert_eq!(p.home(&room), None);
        // Rejoining with the same id moves the session (it leaves first).
        p.join(&room, &pid("c"), &[]);
        p.join(&room, &pid("c"), &[]);
        assert_eq!(p.load.iter().sum::<usize>(), 1);
    }

    #[test]
    fn saturated_workers_take_no_one_while_another_can() {
        let mut p = Placement::new(3, 50);
        let (a, b) = (RoomId("a".into()), RoomId("b".into()));
        // A new room skips the saturated worker 0, though it is the least loaded.
        assert_eq!(p.join(&a, &pid("a1"), &[true, false, false]).worker, 1);
        assert_eq!(p.join(&b, &pid("b1"), &[true, false, false]).worker, 2);
        // Room a's own worker saturates: it spreads early, to the least-loaded free worker.
        let j = p.join(&a, &pid("a2"), &[false, true, false]);
        assert_eq!(
            j,
            Join {
                worker: 0,
                link_with: vec![1]
            }
        );
        // Every worker saturated (a join that raced past `admits`): placed as usual.
        assert_eq!(p.join(&a, &pid("a3"), &[true, true, true]).worker, 1);
        assert_eq!(p.load, vec![1, 2, 1]);
    }

    #[test]
    fn a_join_is_admitted_while_a_worker_it_may_use_is_free() {
        let mut p = Placement::new(2, 50);
        let room = RoomId("r".into());
        assert!(p.admits(&room, &[]), "no saturation known");
        assert!(p.admits(&room, &[true, false]));
        assert!(!p.admits(&room, &[true, true]), "nowhere to go");
        p.join(&room, &pid("x"), &[]);
        assert!(
            p.admits(&room, &[true, false]),
            "the room spreads to worker 1"
        );
        // A room that may not spread goes only where it is.
        let mut q = Placement::new(2, 0);
        q.join(&room, &pid("y"), &[]);
        let home = q.home(&room).expect("placed");
        let mut sat = vec![false, false];
        sat[home] = true;
        assert!(!q.admits(&room, &sat));
        assert!(
            q.admits(&RoomId("other".into()), &sat),
            "a new room starts elsewhere"
        );
    }
}
