//! The periodic tick: layer bitrates, speaker detection, per-subscriber layer allocation,
//! unused-layer hints and BWE targets.

use std::time::{Duration, Instant};

use convene_proto::{ParticipantId, TrackId};
use str0m::bwe::Bitrate;
use str0m::media::Rid;

use super::Sfu;
use crate::error::MediaError;
use crate::ids::{PeerIdx, TrackOrigin};
use crate::outbox::{drain, Outbox};
use crate::peer::{ConnState, OutState, Participant, Visibility};
use crate::simulcast::{allocate, Demand, LayerId, LayerOption};
use crate::track::Track;
use crate::types::{Event, TrackKind};

/// A layer is not reported unused in its first 2 s. A new publisher's subscribers want no layer
/// until their renegotiation completes: reported at the first tick, every layer was stopped after
/// the publisher's first frame, and each subscriber lost the frames until the resumed layers'
/// keyframes (6-7 frames each, in about half of the meeting10 benchmark runs).
pub(crate) const STARTUP_GRACE: Duration = Duration::from_secs(2);

/// Budget reserved per received audio track, bits/s (Opus voice with FEC).
const AUDIO_BPS: u64 = 40_000;
/// Assumed bitrate of a layer not measured yet, by position (lowest first).
const DEFAULT_LAYER_BPS: [u64; 4] = [150_000, 500_000, 1_500_000, 3_000_000];
/// Lowest bitrate we let BWE go for (below this video is unusable anyway).
const MIN_BWE_BPS: u64 = 100_000;

impl Sfu {
    /// How `subscriber` shows `track`: `Some((w, h))` visible at that size in CSS pixels times
    /// device pixel ratio, `None` hidden (nothing is forwarded until shown again).
    pub fn set_video_constraint(
        &mut self,
        subscriber: &ParticipantId,
        track: &TrackId,
        size: Option<(u32, u32)>,
        now: Instant,
    ) -> Result<(), MediaError> {
        let idx = self.idx(subscriber)?;
        if let Some(o) = self
            .peers
            .get_mut(idx)
            .and_then(|p| p.out.values_mut().find(|o| &o.track == track))
        {
            o.visibility = match size {
                Some((w, h)) => Visibility::Visible(w, h),
                None => Visibility::Hidden,
            };
        }
        self.allocate(idx, now);
        self.process_work(now);
        self.finish(now);
        Ok(())
    }

    pub(crate) fn tick(&mut self, now: Instant) {
        let elapsed_us = now
            .saturating_duration_since(self.last_tick)
            .as_micros()
            .max(1) as u64;
        self.last_tick = now;
        // Remote tracks' figures come from their own core (`relay.rs`).
        for p in self.peers.iter_mut() {
            for t in &mut p.published {
                for l in &mut t.layers {
                    let inst = l.bytes * 8 * 1_000_000 / elapsed_us;
                    l.bytes = 0;
                    let active = l
                        .last_frame
                        .is_some_and(|f| now.saturating_duration_since(f).as_millis() < 500);
                    if active {
                        l.bitrate_bps = if l.bitrate_bps == 0 {
                            inst
                        } else {
                            (l.bitrate_bps * 3 + inst) / 4
                        };
                        l.peak_bps = l.peak_bps.max(l.bitrate_bps);
                    }
                }
            }
        }

        self.report_speakers();
        for i in self.peers.indexes().collect::<Vec<_>>() {
            self.allocate(i, now);
        }
        self.tick_sinks(now);
        self.report_unused_layers(now);
        self.relay_layers(|l, t| l.available(&t.unused_reported, now));
        self.send_demands(true);
    }

    /// Each room's dominant speaker (when it changed) and loudest few (when they need saying).
    fn report_speakers(&mut self) {
        for speech in self.speakers.tick() {
            let room = speech.room;
            if let Some(id) = speech.dominant.and_then(|d| self.publisher_id(d)) {
                self.out.events.push_back(Event::DominantSpeaker {
                    room: room.clone(),
                    participant: id.clone(),
                });
            }
            if let Some(levels) = speech.levels {
                let levels = levels
                    .into_iter()
                    .filter_map(|(i, l)| self.publisher_id(i).map(|p| (p.clone(), l)))
                    .collect();
                self.out
                    .events
                    .push_back(Event::AudioLevels { room, levels });
            }
        }
    }

    /// Choose the layer of every video `sub` receives, from its bandwidth estimate and the
    /// sizes it shows them at; request keyframes for pending switches.
    pub(crate) fn allocate(&mut self, sub: PeerIdx, now: Instant) {
        let Some(sp) = self.peer(sub) else { return };
        if sp.conn != ConnState::Connected {
            return;
        }
        let budget = sp.bwe_bps.unwrap_or(self.config.initial_bitrate_bps);
        let mut audio = 0u64;
        // (key, demand or None if hidden, layer ids lowest first)
        let mut plan = Vec::new();
        let mut keys: Vec<_> = sp.out.keys().copied().collect();
        keys.sort();
        for key in keys {
            let Some(o) = sp.out.get(&key) else { continue };
            if !matches!(o.state, OutState::Open(_)) {
                continue;
            }
            if o.kind == TrackKind::Audio {
                audio += AUDIO_BPS;
                continue;
            }
            let Some(t) = self.track(key) else {
                continue;
            };
            let unused = self.unused_reported(key);
            let display = match o.visibility {
                Visibility::Hidden => {
                    plan.push((key, None, Vec::new()));
                    continue;
                }
                Visibility::Visible(w, h) => Some((w, h)),
                Visibility::Unconstrained => None,
            };
            let Some((demand, ids)) = video_demand(t, unused, o.layer.target(), display, now)
            else {
                continue;
            };
            plan.push((key, Some(demand), ids));
        }
        let demands: Vec<Demand> = plan.iter().filter_map(|p| p.1.clone()).collect();
        let desired: u64 = audio
            + demands
                .iter()
                .filter_map(|d| d.layers.last().map(|l| l.bitrate_bps))
                .sum::<u64>();
        let chosen = allocate(budget.saturating_sub(audio), &demands);

        let mut keyframes = Vec::new();
        let Some(sp) = self.peers.get_mut(sub) else {
            return;
        };
        let mut chosen = chosen.into_iter();
        for (key, demand, ids) in plan {
            let Some(o) = sp.out.get_mut(&key) else {
                continue;
            };
            let target = match demand {
                None => None,
                Some(_) => chosen.next().and_then(|i| ids.get(i).copied()),
            };
            if demand.is_some() && target.is_none() {
                continue;
            }
            if let (TrackOrigin::Remote(ri), mid) = key {
                self.links.mark_dirty(ri, mid);
            }
            if let Some(layer) = o.layer.set_target(target) {
                keyframes.push((key, layer));
            } else if let Some(layer) = o.layer.awaiting_keyframe() {
                // Still waiting: ask again (rate-limited) in case a request or keyframe was lost.
                keyframes.push((key, layer));
            }
        }
        tell_bwe(sp, sub, desired, &mut self.out);
        for ((publisher, mid), layer) in keyframes {
            if !self.start_from_cache(sub, (publisher, mid), layer, now) {
                self.request_keyframe(publisher, mid, layer, now);
            }
        }
    }

    /// Tell publishers which simulcast layers nobody currently wants (past a layer's
    /// `STARTUP_GRACE`).
    fn report_unused_layers(&mut self, now: Instant) {
        let mut reports = Vec::new();
        for (pi, p) in self.peers.iter() {
            for t in &p.published {
                if t.kind != TrackKind::Video || t.layers.len() < 2 {
                    continue;
                }
                let key = (TrackOrigin::Local(pi), t.mid);
                // Wanted by a subscriber here, or by one on another core of the room.
                let wanted: Vec<LayerId> = t
                    .peer_subscribers()
                    .filter_map(|s| self.peer(s))
                    .filter_map(|sp| sp.out.get(&key))
                    .flat_map(|o| o.layer.needed())
                    .chain(t.link_layers())
                    .chain(t.sink().map(|s| self.sinks.needed(s)).unwrap_or_default())
                    .collect();
                let mut unused: Vec<Rid> = t
                    .layers
                    .iter()
                    .filter(|l| {
                        l.first_frame
                            .is_some_and(|f| now.saturating_duration_since(f) >= STARTUP_GRACE)
                    })
                    .filter_map(|l| l.rid)
                    .filter(|r| !wanted.contains(&Some(*r)))
                    .collect();
                unused.sort_by_key(|r| r.to_string());
                if unused != t.unused_reported {
                    reports.push((pi, t.mid, unused));
                }
            }
        }
        for (pi, mid, unused) in reports {
            let Some(p) = self.peers.get_mut(pi) else {
                continue;
            };
            let participant = p.id.clone();
            let Some(t) = p.published_mut(mid) else {
                continue;
            };
            t.unused_reported = unused.clone();
            self.out.events.push_back(Event::LayersUnused {
                participant,
                track: t.id.clone(),
                rids: unused.iter().map(|r| r.to_string()).collect(),
            });
        }
    }
}

/// What one subscriber's video asks of the allocator: its available layers, lowest first, with
/// their bitrates and sizes, the size it is shown at, and the layer it wants now; and the layers'
/// ids in the same order. `None` when no layer is available.
pub(super) fn video_demand(
    t: &Track,
    unused: &[Rid],
    target: Option<LayerId>,
    display: Option<(u32, u32)>,
    now: Instant,
) -> Option<(Demand, Vec<LayerId>)> {
    let mut layers: Vec<_> = t
        .layers
        .iter()
        .enumerate()
        .filter(|(_, l)| l.available(unused, now))
        .map(|(pos, l)| {
            let default = DEFAULT_LAYER_BPS[pos.min(DEFAULT_LAYER_BPS.len() - 1)];
            let bps = if l.bitrate_bps > 0 {
                l.bitrate_bps
            } else {
                default
            };
            let peak = if l.peak_bps > 0 { l.peak_bps } else { default };
            (l.rid, bps, l.size, peak)
        })
        .collect();
    if layers.is_empty() {
        return None;
    }
    // Lowest first: by resolution when every layer's is known (it does not change while
    // layers pause and resume), else by the highest bitrate each has shown.
    if layers.iter().all(|l| l.2.is_some()) {
        layers.sort_by_key(|l| (l.2.map(|(w, h)| u64::from(w) * u64::from(h)), l.3));
    } else {
        layers.sort_by_key(|l| l.3);
    }
    let current = target.and_then(|cur| layers.iter().position(|l| l.0 == cur));
    let demand = Demand {
        layers: layers
            .iter()
            .map(|l| LayerOption {
                bitrate_bps: l.1,
                size: l.2,
            })
            .collect(),
        display,
        current,
    };
    let ids: Vec<LayerId> = layers.iter().map(|l| l.0).collect();
    Some((demand, ids))
}

/// Tell BWE what the subscriber could use so it probes up to it (and no further).
fn tell_bwe(sp: &mut Participant, sub: PeerIdx, desired: u64, out: &mut Outbox) {
    if desired.abs_diff(sp.bwe_desired_bps) > sp.bwe_desired_bps / 10 {
        sp.bwe_desired_bps = desired;
        if let Some(rtc) = sp.rtc.live() {
            rtc.bwe().set_bitrate(
                Bitrate::bps(MIN_BWE_BPS),
                Bitrate::bps(desired.max(MIN_BWE_BPS)),
            );
        }
        drain(sp, sub, out);
    }
}
