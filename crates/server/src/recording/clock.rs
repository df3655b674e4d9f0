//! The meeting's clock for a recording: the media core stamps frames with `Instant`s, the files
//! and the manifest hold time since the meeting started. One (Instant, wall time) pair taken when
//! the recording starts maps the one onto the other.

use std::time::{Duration, Instant};

use convene_record::{MeetingTime, Stamp, WallTime};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeetingClock {
    /// The moment the pair was taken ...
    origin: Instant,
    /// ... and how far into the meeting that was.
    into_meeting: Duration,
    /// The wall clock then, ms since the Unix epoch.
    wall_ms: i64,
}

impl MeetingClock {
    /// `meeting_started_ms` and `now_ms` are wall-clock ms; `now` is the same moment as `now_ms`.
    pub fn new(meeting_started_ms: i64, now_ms: i64, now: Instant) -> Self {
        // A meeting cannot start after now; a clock step backwards makes it look so: start at 0.
        let into = u64::try_from(now_ms.saturating_sub(meeting_started_ms)).unwrap_or(0);
        Self {
            origin: now,
            into_meeting: Duration::from_millis(into),
            wall_ms: now_ms,
        }
    }

    /// Time since the meeting started at `at` (0 for anything before the meeting's start).
    pub fn pts(&self, at: Instant) -> Duration {
        match at.checked_duration_since(self.origin) {
            Some(after) => self.into_meeting + after,
            None => self
                .into_meeting
                .saturating_sub(self.origin.duration_since(at)),
        }
    }

    /// `at` on both clocks (the wall clock as the monotonic one has moved since the origin).
    pub fn stamp(&self, at: Instant) -> Stamp {
        let pts = self.pts(at);
        let since_origin = i64::try_from(pts.as_millis()).unwrap_or(i64::MAX)
            - i64::try_from(self.into_meeting.as_millis()).unwrap_or(i64::MAX);
        let wall = self.wall_ms.saturating_add(since_origin).max(0);
        Stamp {
            meeting: MeetingTime::from_duration(pts),
            wall: WallTime(wall as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_map_onto_time_since_the_meeting_started() {
        let now = Instant::now();
        let c = MeetingClock::new(10_000, 12_500, now);
        assert_eq!(c.pts(now), Duration::from_millis(2_500));
        assert_eq!(
            c.pts(now + Duration::from_millis(40)),
            Duration::from_millis(2_540)
        );
        // A frame stamped a little before the origin (the core maps RTP time) is not in the future.
        if let Some(before) = now.checked_sub(Duration::from_millis(100)) {
            assert_eq!(c.pts(before), Duration::from_millis(2_400));
        }
        let s = c.stamp(now + Duration::from_secs(1));
        assert_eq!((s.meeting, s.wall), (MeetingTime(3_500), WallTime(13_500)));
    }

    #[test]
    fn a_meeting_that_seems_to_start_later_starts_at_zero() {
        let now = Instant::now();
        let c = MeetingClock::new(20_000, 12_500, now);
        assert_eq!(c.pts(now), Duration::ZERO);
    }
}
