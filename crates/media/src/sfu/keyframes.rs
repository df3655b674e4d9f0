//! Starting a subscriber from a layer's keyframe cache (`keyframe_cache.rs`), and asking
//! publishers for keyframes ahead of a newcomer.

use std::time::{Duration, Instant};

use super::forward::forward_to;
use super::Sfu;
use crate::ids::{PeerIdx, TrackKey, TrackOrigin};
use crate::packet::InPacket;
use crate::simulcast::{LayerId, LayerState};
use crate::track::{IngressLayer, Track};
use crate::types::TrackKind;

impl Sfu {
    /// `sub` starts receiving `key` on `layer` with nothing of the track sent to it yet: send it the
    /// cached run of that layer or, while the layer has none, of the largest layer below it that has
    /// one (then it switches up at the layer's next keyframe). True when it now receives `layer`
    /// itself (no keyframe request is needed). Only for a stream that has sent nothing: replaying
    /// to one paused earlier could repeat pictures it has shown already.
    pub(crate) fn start_from_cache(
        &mut self,
        sub: PeerIdx,
        key: TrackKey,
        layer: LayerId,
        now: Instant,
    ) -> bool {
        let max_age = self.config.keyframe_request_interval;
        let starting = self
            .peer(sub)
            .and_then(|p| p.out.get(&key))
            .is_some_and(|o| {
                o.layer == LayerState::Starting { target: layer } && o.rewrite.is_fresh()
            });
        let Some((from, run)) = starting
            .then(|| self.track(key))
            .flatten()
            .and_then(|t| cached_run(t, layer, now, max_age))
        else {
            return false;
        };
        let Some(o) = self.peers.get_mut(sub).and_then(|p| p.out.get_mut(&key)) else {
            return false;
        };
        o.layer = LayerState::Starting { target: from };
        let Some(sp) = self.peers.get_mut(sub) else {
            return false;
        };
        for d in &run {
            forward_to(&mut self.out, sp, sub, key, d, TrackKind::Video, None);
        }
        let Some(o) = sp.out.get_mut(&key) else {
            return false;
        };
        if o.layer != (LayerState::Forwarding { current: from }) {
            // Not started (a subscriber that cannot take the codec): wait for a keyframe as before.
            o.layer = LayerState::Starting { target: layer };
            return false;
        }
        self.out.stats.keyframe_cache_starts += 1;
        // Below the wanted layer: forward it until the wanted one's keyframe comes.
        o.layer.set_target(Some(layer));
        from == layer
    }

    /// A subscriber will want `key` (it joined, or the server is offering it the track): ask its
    /// publisher for a keyframe of every layer it sends now (each rate-limited as usual), so that
    /// one is cached when the subscriber is ready. Local publishers only: another core's layers
    /// reach this one only once wanted.
    pub(crate) fn prefetch_keyframes(&mut self, key: TrackKey, now: Instant) {
        if !matches!(key.0, TrackOrigin::Local(_)) {
            return;
        }
        let layers: Vec<LayerId> = self
            .track(key)
            .filter(|t| t.kind == TrackKind::Video)
            .map(|t| {
                t.layers
                    .iter()
                    .filter(|l| l.available(self.unused_reported(key), now))
                    .map(|l| l.rid)
                    .collect()
            })
            .unwrap_or_default();
        for layer in layers {
            self.request_keyframe(key.0, key.1, layer, now);
        }
    }
}

/// The cached run to start `track` with for a subscriber that wants `layer`: that layer's, else the
/// largest layer below it (by resolution) that has a fresh one.
fn cached_run(
    track: &Track,
    layer: LayerId,
    now: Instant,
    max_age: Duration,
) -> Option<(LayerId, Vec<InPacket>)> {
    let fresh = |l: &IngressLayer| l.cache.fresh(now, max_age).map(<[InPacket]>::to_vec);
    let wanted = track.layers.iter().find(|l| l.rid == layer)?;
    if let Some(run) = fresh(wanted) {
        return Some((layer, run));
    }
    let area = |l: &IngressLayer| l.size.map(|(w, h)| u64::from(w) * u64::from(h));
    let limit = area(wanted)?;
    let below = track
        .layers
        .iter()
        .filter(|l| area(l).is_some_and(|a| a < limit) && l.cache.fresh(now, max_age).is_some())
        .max_by_key(|l| area(l))?;
    Some((below.rid, fresh(below)?))
}
