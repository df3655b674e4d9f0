//! Active-speaker detection from RFC 6464 audio levels, with hysteresis.
//!
//! Levels arrive per audio frame (typically every 20 ms) as loudness 0..=127 (127 = 0 dBov).
//! Each tick folds the frames of the tick into a smoothed level per participant; a challenger
//! becomes dominant only when it is clearly louder than the current speaker for several ticks,
//! so two people talking at similar volume do not make the dominant speaker flap.

use std::collections::HashMap;
use std::hash::Hash;

use convene_proto::RoomId;

use crate::ids::TrackOrigin;

/// Loudness (127 - dBov) above which a participant counts as speaking (~ -50 dBov).
pub(crate) const SPEAKING_THRESHOLD: f32 = 77.0;
/// How much louder (dB) a challenger must be than the dominant speaker.
const SWITCH_MARGIN: f32 = 6.0;
/// Consecutive ticks the challenger must win before taking over.
const SWITCH_TICKS: u32 = 3;
/// Smoothing of the per-tick mean (weight of the new tick).
const ALPHA: f32 = 0.5;

#[derive(Debug, Default, Clone, Copy)]
struct Level {
    sum: f32,
    frames: u32,
    smoothed: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Challenge<K> {
    None,
    By { who: K, ticks: u32 },
}

#[derive(Debug)]
pub(crate) struct SpeakerDetector<K> {
    levels: HashMap<K, Level>,
    dominant: Option<K>,
    challenge: Challenge<K>,
    last_reported_nonempty: bool,
}

impl<K: Copy + Eq + Hash + Ord> SpeakerDetector<K> {
    pub(crate) fn new() -> Self {
        SpeakerDetector {
            levels: HashMap::new(),
            dominant: None,
            challenge: Challenge::None,
            last_reported_nonempty: false,
        }
    }

    /// One audio frame's level from `who` (loudness 0..=127).
    pub(crate) fn on_level(&mut self, who: K, loudness: u8) {
        let l = self.levels.entry(who).or_default();
        l.sum += f32::from(loudness.min(127));
        l.frames += 1;
    }

    pub(crate) fn remove(&mut self, who: K) {
        self.levels.remove(&who);
        if self.dominant == Some(who) {
            self.dominant = None;
        }
        if matches!(self.challenge, Challenge::By { who: w, .. } if w == who) {
            self.challenge = Challenge::None;
        }
    }

    /// Fold this tick's frames in; returns the new dominant speaker if it changed.
    pub(crate) fn tick(&mut self) -> Option<K> {
        for l in self.levels.values_mut() {
            // A tick without frames is silence (DTX sends nothing while silent).
            let mean = if l.frames > 0 {
                l.sum / l.frames as f32
            } else {
                0.0
            };
            // Start from the first measurement instead of ramping up from silence.
            l.smoothed = if l.smoothed == 0.0 {
                mean
            } else {
                (1.0 - ALPHA) * l.smoothed + ALPHA * mean
            };
            l.sum = 0.0;
            l.frames = 0;
        }

        // Ties are broken by key so the result does not depend on HashMap order.
        let loudest = self
            .levels
            .iter()
            .filter(|(_, l)| l.smoothed >= SPEAKING_THRESHOLD)
            .max_by(|a, b| a.1.smoothed.total_cmp(&b.1.smoothed).then(b.0.cmp(a.0)))
            .map(|(k, l)| (*k, l.smoothed));

        let Some((cand, cand_level)) = loudest else {
            self.challenge = Challenge::None;
            return None;
        };

        let Some(dom) = self.dominant else {
            self.dominant = Some(cand);
            return Some(cand);
        };
        if cand == dom {
            self.challenge = Challenge::None;
            return None;
        }

        let dom_level = self.levels.get(&dom).map(|l| l.smoothed).unwrap_or(0.0);
        // A silent dominant speaker yields to anyone speaking; otherwise demand a margin.
        let wins = dom_level < SPEAKING_THRESHOLD || cand_level >= dom_level + SWITCH_MARGIN;
        if !wins {
            self.challenge = Challenge::None;
            return None;
        }
        let ticks = match self.challenge {
            Challenge::By { who, ticks } if who == cand => ticks + 1,
            _ => 1,
        };
        if ticks >= SWITCH_TICKS {
            self.dominant = Some(cand);
            self.challenge = Challenge::None;
            Some(cand)
        } else {
            self.challenge = Challenge::By { who: cand, ticks };
            None
        }
    }

    /// The `n` loudest speaking participants (loudest first) as of the last tick, or `None` when
    /// nothing needs reporting (empty now and empty last time).
    pub(crate) fn loudest(&mut self, n: usize) -> Option<Vec<(K, u8)>> {
        let mut v: Vec<(K, u8)> = self
            .levels
            .iter()
            .filter(|(_, l)| l.smoothed >= SPEAKING_THRESHOLD)
            .map(|(k, l)| (*k, l.smoothed.round().clamp(0.0, 127.0) as u8))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(n);
        let nonempty = !v.is_empty();
        if !nonempty && !self.last_reported_nonempty {
            return None;
        }
        self.last_reported_nonempty = nonempty;
        Some(v)
    }
}

/// Number of entries in `AudioLevels`.
const AUDIO_LEVELS_TOP: usize = 3;

/// Speaker detection of every room of this core, by track origin (local or remote publisher).
#[derive(Default)]
pub(crate) struct Speakers {
    rooms: HashMap<RoomId, SpeakerDetector<TrackOrigin>>,
}

/// What a tick found in one room.
pub(crate) struct RoomSpeech {
    pub room: RoomId,
    /// The new dominant speaker, if it changed.
    pub dominant: Option<TrackOrigin>,
    /// The loudest few, if they need reporting.
    pub levels: Option<Vec<(TrackOrigin, u8)>>,
}

impl Speakers {
    /// One audio packet's RFC 6464 level from `who`.
    pub(crate) fn on_level(&mut self, room: &RoomId, who: TrackOrigin, level: i8) {
        if !self.rooms.contains_key(room) {
            self.rooms.insert(room.clone(), SpeakerDetector::new());
        }
        if let Some(d) = self.rooms.get_mut(room) {
            d.on_level(who, loudness(level));
        }
    }

    pub(crate) fn remove(&mut self, room: &RoomId, who: TrackOrigin) {
        if let Some(d) = self.rooms.get_mut(room) {
            d.remove(who);
        }
    }

    pub(crate) fn remove_room(&mut self, room: &RoomId) {
        self.rooms.remove(room);
    }

    /// Each room's tick, rooms in order.
    pub(crate) fn tick(&mut self) -> Vec<RoomSpeech> {
        let mut rooms: Vec<_> = self.rooms.iter_mut().collect();
        rooms.sort_by(|a, b| a.0.cmp(b.0));
        rooms
            .into_iter()
            .map(|(room, d)| RoomSpeech {
                room: room.clone(),
                dominant: d.tick(),
                levels: d.loudest(AUDIO_LEVELS_TOP),
            })
            .collect()
    }
}

/// RFC 6464 level is -dBov (str0m gives it negative): 0 is loudest. As loudness 0..=127.
fn loudness(level: i8) -> u8 {
    127u8.saturating_sub(level.unsigned_abs().min(127))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(d: &mut SpeakerDetector<u32>, levels: &[(u32, u8)]) -> Option<u32> {
        for _ in 0..12 {
            for (k, l) in levels {
                d.on_level(*k, *l);
            }
        }
        d.tick()
    }

    #[test]
    fn follows_loudest_with_hysteresis() {
        let mut d = SpeakerDetector::new();
        assert_eq!(feed(&mut d, &[(1, 100), (2, 90)]), Some(1));
        // Small fluctuation: 2 slightly louder than 1 never takes over.
        for i in 0..20 {
            let (a, b) = if i % 2 == 0 { (95, 99) } else { (99, 95) };
            assert_eq!(feed(&mut d, &[(1, a), (2, b)]), None);
        }
        // Clearly louder for long enough: switch exactly once.
        let mut switches = vec![];
        for _ in 0..10 {
            if let Some(k) = feed(&mut d, &[(1, 80), (2, 110)]) {
                switches.push(k);
            }
        }
        assert_eq!(switches, vec![2]);
        let top = d.loudest(3).unwrap();
        assert_eq!(top[0].0, 2);
    }
}
