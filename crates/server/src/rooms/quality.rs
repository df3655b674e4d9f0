//! Connection-quality reports: each participant's client says how its link is, and the room shows it to
//! everyone as the participant's `connection_quality`. Throttled per participant so that a large room is
//! not flooded with updates: a level change goes out at once (at most one per [`LEVEL_INTERVAL`]), changed
//! figures at the same level at most once per `rooms.quality_figures_interval_secs`. A report held back
//! goes out when its time comes (the room's timer), so the latest one always arrives.

use std::time::{Duration, Instant};

use convene_proto::{ConnectionQuality, ParticipantId, ServerMessage};

use super::participant::Participant;
use super::room::Room;

/// The shortest time between two broadcasts of one participant's quality, level changes included.
pub const LEVEL_INTERVAL: Duration = Duration::from_secs(1);

impl Room {
    /// Takes a participant's report; broadcasts it now or holds it until the throttle allows.
    pub(super) fn set_quality(&mut self, from: &ParticipantId, quality: ConnectionQuality) {
        let Some(p) = self.find_mut(from) else { return };
        // A report equal to what is shown cancels one held back: the others already see the latest.
        p.quality.pending =
            (p.info.connection_quality.as_ref() != Some(&quality)).then_some(quality);
        self.flush_quality(Instant::now());
    }

    /// When the earliest held-back report is due.
    pub(super) fn quality_deadline(&self) -> Option<Instant> {
        let figures = self.figures_interval();
        let now = Instant::now();
        self.participants
            .iter()
            .filter_map(|p| due_at(p, figures, now))
            .min()
    }

    /// Broadcasts every held-back report that is due by `now`.
    pub(super) fn flush_quality(&mut self, now: Instant) {
        let figures = self.figures_interval();
        let mut due = Vec::new();
        for p in &mut self.participants {
            if due_at(p, figures, now).is_some_and(|t| t <= now) {
                p.info.connection_quality = p.quality.pending.take();
                p.quality.shown_at = Some(now);
                due.push(p.info.clone());
            }
        }
        for participant in due {
            self.broadcast(&ServerMessage::ParticipantUpdated { participant });
        }
    }

    fn figures_interval(&self) -> Duration {
        Duration::from_secs(self.state.config.rooms.quality_figures_interval_secs)
    }
}

/// When `p`'s held-back report may go out: a level change one LEVEL_INTERVAL after the last broadcast,
/// other figures one `figures` interval after it; the first report at once.
fn due_at(p: &Participant, figures: Duration, now: Instant) -> Option<Instant> {
    let pending = p.quality.pending.as_ref()?;
    let shown = p.info.connection_quality.as_ref().map(|q| q.level);
    let wait = if shown == Some(pending.level) {
        figures
    } else {
        LEVEL_INTERVAL
    };
    Some(p.quality.shown_at.map_or(now, |t| t + wait))
}
