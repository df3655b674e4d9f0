//! Who joins when: the order of participants and the ramp-up schedule.

use std::time::Duration;

/// One simulated participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Position in the join order (0 first).
    pub index: usize,
    pub room: usize,
    pub publisher: bool,
}

/// Every participant, in join order: all publishers first (rooms interleaved, so every room has
/// its speakers early), then the subscribers, rooms interleaved too. Subscribers that join after
/// the publishers get their tracks in their first server offer, as in a real meeting.
pub fn plan(rooms: usize, publishers: usize, subscribers: usize) -> Vec<Slot> {
    let mut out = Vec::with_capacity(rooms * (publishers + subscribers));
    for (count, publisher) in [(publishers, true), (subscribers, false)] {
        for _ in 0..count {
            for room in 0..rooms {
                out.push(Slot {
                    index: out.len(),
                    room,
                    publisher,
                });
            }
        }
    }
    out
}

/// When participant `index` starts joining, after the run starts, at `rate` joins per second
/// (0 or less: all at once).
pub fn offset(index: usize, rate: f64) -> Duration {
    if rate <= 0.0 || !rate.is_finite() {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(index as f64 / rate)
}

/// How long the whole ramp takes for `n` participants.
pub fn ramp_len(n: usize, rate: f64) -> Duration {
    offset(n.saturating_sub(1), rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishers_first_rooms_interleaved() {
        let p = plan(2, 2, 3);
        assert_eq!(p.len(), 10);
        let rooms: Vec<usize> = p.iter().map(|s| s.room).collect();
        assert_eq!(rooms, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
        assert!(p[..4].iter().all(|s| s.publisher));
        assert!(p[4..].iter().all(|s| !s.publisher));
        assert!(p.iter().enumerate().all(|(i, s)| s.index == i));
        assert_eq!(p.iter().filter(|s| s.room == 1 && !s.publisher).count(), 3);
        assert!(plan(3, 0, 0).is_empty());
    }

    #[test]
    fn ramp_spaces_joins_evenly() {
        assert_eq!(offset(0, 50.0), Duration::ZERO);
        assert_eq!(offset(50, 50.0), Duration::from_secs(1));
        assert_eq!(offset(5, 20.0), Duration::from_millis(250));
        assert_eq!(offset(1000, 0.0), Duration::ZERO, "no ramp: all at once");
        assert_eq!(offset(7, f64::INFINITY), Duration::ZERO);
        assert_eq!(ramp_len(101, 100.0), Duration::from_secs(1));
        assert_eq!(ramp_len(0, 100.0), Duration::ZERO);
    }
}
