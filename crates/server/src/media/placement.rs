//! Which worker holds which room. Every participant of a room is on one worker (the core forwards
//! within its own rooms), and a room goes to the worker with the fewest participants when its first
//! participant arrives, so that rooms spread by load, not by the luck of a hash.

use std::collections::HashMap;

use convene_proto::RoomId;

#[derive(Debug)]
pub struct Placement {
    /// Room -> (worker, participants with a media session).
    rooms: HashMap<RoomId, (usize, usize)>,
    /// Participants per worker.
    load: Vec<usize>,
}

impl Placement {
    pub fn new(workers: usize) -> Self {
        Self {
            rooms: HashMap::new(),
            load: vec![0; workers.max(1)],
        }
    }

    /// The worker of `room`, placing it on the least-loaded worker if it has none.
    pub fn worker(&mut self, room: &RoomId) -> usize {
        if let Some((w, _)) = self.rooms.get(room) {
            return *w;
        }
        let w = (0..self.load.len())
            .min_by_key(|w| self.load[*w])
            .unwrap_or(0);
        self.rooms.insert(room.clone(), (w, 0));
        w
    }

    /// A participant of `room` got a media session.
    pub fn joined(&mut self, room: &RoomId) -> usize {
        let w = self.worker(room);
        if let Some((_, n)) = self.rooms.get_mut(room) {
            *n += 1;
        }
        self.load[w] += 1;
        w
    }

    /// A participant's media session ended; an empty room is forgotten (its next join places it
    /// anew).
    pub fn left(&mut self, room: &RoomId) -> usize {
        let w = self.worker(room);
        if let Some((_, n)) = self.rooms.get_mut(room) {
            *n = n.saturating_sub(1);
            self.load[w] = self.load[w].saturating_sub(1);
            if *n == 0 {
                self.rooms.remove(room);
            }
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_go_to_the_least_loaded_worker_and_stay_there() {
        let mut p = Placement::new(2);
        let rooms: Vec<RoomId> = (0..4).map(|i| RoomId(format!("r{i}"))).collect();
        for r in &rooms {
            for _ in 0..25 {
                p.joined(r);
            }
        }
        let workers: Vec<usize> = rooms.iter().map(|r| p.worker(r)).collect();
        assert_eq!(
            workers.iter().filter(|w| **w == 0).count(),
            2,
            "{workers:?}"
        );
        assert_eq!(p.load, vec![50, 50]);
        // A big room and small ones: the small ones avoid the big room's worker.
        let mut p = Placement::new(2);
        let big = RoomId("big".into());
        for _ in 0..100 {
            p.joined(&big);
        }
        let small: Vec<usize> = (0..3).map(|i| p.joined(&RoomId(format!("s{i}")))).collect();
        assert!(small.iter().all(|w| *w != p.worker(&big)), "{small:?}");
        // Emptied rooms are forgotten and their load released.
        for _ in 0..100 {
            p.left(&big);
        }
        assert_eq!(p.load.iter().sum::<usize>(), 3);
    }
}
