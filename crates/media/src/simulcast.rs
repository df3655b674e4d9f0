//! Simulcast layer selection: per (subscriber, track) switching state, and the allocation of a
//! subscriber's bandwidth across the videos it shows.

use str0m::media::Rid;

/// A layer of a published track: its rid, or `None` for a track without simulcast.
pub(crate) type LayerId = Option<Rid>;

/// Forwarding state of one video track towards one subscriber. Switching happens only when a
/// keyframe of the target layer arrives, so the subscriber's decoder never sees a delta frame
/// that references a picture from another layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LayerState {
    /// Hidden by the subscriber: nothing forwarded.
    Paused,
    /// Nothing forwarded yet (new, or resumed): waiting for a keyframe of `target`.
    Starting {
        target: LayerId,
    },
    Forwarding {
        current: LayerId,
    },
    /// Keep forwarding `current` until a keyframe of `target` arrives.
    Switching {
        current: LayerId,
        target: LayerId,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Drop,
    /// Forward; `switched` is true for the first frame of a new layer (or after a pause).
    Forward {
        switched: bool,
    },
}

impl LayerState {
    pub(crate) fn on_frame(&mut self, layer: LayerId, keyframe: bool) -> Decision {
        match *self {
            LayerState::Paused => Decision::Drop,
            LayerState::Starting { target } => {
                if layer == target && keyframe {
                    *self = LayerState::Forwarding { current: layer };
                    Decision::Forward { switched: true }
                } else {
                    Decision::Drop
                }
            }
            LayerState::Forwarding { current } => {
                if layer == current {
                    Decision::Forward { switched: false }
                } else {
                    Decision::Drop
                }
            }
            LayerState::Switching { current, target } => {
                if layer == target && keyframe {
                    *self = LayerState::Forwarding { current: layer };
                    Decision::Forward { switched: true }
                } else if layer == current {
                    Decision::Forward { switched: false }
                } else {
                    Decision::Drop
                }
            }
        }
    }

    /// Set the wanted layer (`None` = hidden). Returns the layer a keyframe is needed for.
    pub(crate) fn set_target(&mut self, target: Option<LayerId>) -> Option<LayerId> {
        let Some(target) = target else {
            *self = LayerState::Paused;
            return None;
        };
        match *self {
            LayerState::Paused => {
                *self = LayerState::Starting { target };
                Some(target)
            }
            LayerState::Starting { target: t } => {
                *self = LayerState::Starting { target };
                (t != target).then_some(target)
            }
            LayerState::Forwarding { current } | LayerState::Switching { current, .. }
                if current == target =>
            {
                *self = LayerState::Forwarding { current };
                None
            }
            LayerState::Forwarding { current } => {
                *self = LayerState::Switching { current, target };
                Some(target)
            }
            LayerState::Switching { current, target: t } => {
                *self = LayerState::Switching { current, target };
                (t != target).then_some(target)
            }
        }
    }

    /// The layers this subscriber needs the publisher to keep sending: the target, and while
    /// switching also the current one, which is forwarded until the target's keyframe arrives.
    /// (Counting only the target told publishers to stop the layer a subscriber was still
    /// watching: its video froze until the keyframe came, 7-15 frames per switch.)
    pub(crate) fn needed(&self) -> impl Iterator<Item = LayerId> {
        let (a, b) = match *self {
            LayerState::Paused => (None, None),
            LayerState::Starting { target } => (Some(target), None),
            LayerState::Forwarding { current } => (Some(current), None),
            LayerState::Switching { current, target } => (Some(target), Some(current)),
        };
        a.into_iter().chain(b)
    }

    /// The layer whose keyframe we are waiting for, if any.
    pub(crate) fn awaiting_keyframe(&self) -> Option<LayerId> {
        match *self {
            LayerState::Starting { target } | LayerState::Switching { target, .. } => Some(target),
            _ => None,
        }
    }

    /// The layer this subscriber wants (what it will end up receiving).
    pub(crate) fn target(&self) -> Option<LayerId> {
        match *self {
            LayerState::Paused => None,
            LayerState::Starting { target } | LayerState::Switching { target, .. } => Some(target),
            LayerState::Forwarding { current } => Some(current),
        }
    }
}

/// One selectable layer of a track, lowest quality first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayerOption {
    pub bitrate_bps: u64,
    /// Resolution, when known (parsed from VP8 keyframes).
    pub size: Option<(u32, u32)>,
}

/// What one visible video needs from the allocator.
#[derive(Debug, Clone)]
pub(crate) struct Demand {
    pub layers: Vec<LayerOption>,
    /// Size the subscriber renders the video at; `None` = no limit.
    pub display: Option<(u32, u32)>,
    /// Index of the currently targeted layer (for hysteresis).
    pub current: Option<usize>,
}

/// Highest useful layer index for the display size: the smallest layer at least as large as the
/// display (10% slack); larger layers would be downscaled by the client anyway.
fn size_cap(d: &Demand) -> usize {
    let top = d.layers.len().saturating_sub(1);
    let Some((w, h)) = d.display else {
        return top;
    };
    for (i, l) in d.layers.iter().enumerate() {
        match l.size {
            Some((lw, lh)) if lw * 11 / 10 >= w && lh * 11 / 10 >= h => return i,
            Some(_) => continue,
            // Unknown size: we cannot cap by size.
            None => return top,
        }
    }
    top
}

fn greedy(budget: u64, demands: &[Demand], caps: &[usize]) -> Vec<usize> {
    let mut idx = vec![0usize; demands.len()];
    let mut sum: u64 = demands
        .iter()
        .filter_map(|d| d.layers.first())
        .map(|l| l.bitrate_bps)
        .sum();
    // Upgrade one step at a time, round-robin, so videos share the budget fairly.
    loop {
        let mut changed = false;
        for (i, d) in demands.iter().enumerate() {
            if idx[i] >= caps[i] {
                continue;
            }
            let step = d.layers[idx[i] + 1]
                .bitrate_bps
                .saturating_sub(d.layers[idx[i]].bitrate_bps);
            if sum + step <= budget {
                sum += step;
                idx[i] += 1;
                changed = true;
            }
        }
        if !changed {
            return idx;
        }
    }
}

/// Layer index per demand. The lowest layer is always kept (video stays alive at any bandwidth);
/// upgrades need 15% headroom, downgrades happen only when the current choice no longer fits.
pub(crate) fn allocate(budget_bps: u64, demands: &[Demand]) -> Vec<usize> {
    let caps: Vec<usize> = demands.iter().map(size_cap).collect();
    let up = greedy(budget_bps * 85 / 100, demands, &caps);
    let keep = greedy(budget_bps, demands, &caps);
    demands
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let cur = d.current.unwrap_or(0).min(caps[i]);
            if up[i] >= cur {
                up[i]
            } else if keep[i] >= cur {
                cur
            } else {
                keep[i]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(s: &str) -> LayerId {
        Some(Rid::from(s))
    }

    #[test]
    fn switches_only_at_keyframes() {
        let mut s = LayerState::Paused;
        assert_eq!(s.on_frame(rid("h"), true), Decision::Drop);
        assert_eq!(s.set_target(Some(rid("h"))), Some(rid("h")));
        assert_eq!(s.on_frame(rid("h"), false), Decision::Drop);
        assert_eq!(
            s.on_frame(rid("h"), true),
            Decision::Forward { switched: true }
        );
        assert_eq!(s.set_target(Some(rid("l"))), Some(rid("l")));
        assert_eq!(
            s.on_frame(rid("h"), false),
            Decision::Forward { switched: false }
        );
        assert_eq!(s.on_frame(rid("l"), false), Decision::Drop);
        assert_eq!(
            s.on_frame(rid("l"), true),
            Decision::Forward { switched: true }
        );
        assert_eq!(s.on_frame(rid("h"), true), Decision::Drop);
        assert_eq!(s.set_target(None), None);
        assert_eq!(s.on_frame(rid("l"), true), Decision::Drop);
    }

    fn demand(current: Option<usize>, display: Option<(u32, u32)>) -> Demand {
        Demand {
            layers: vec![
                LayerOption {
                    bitrate_bps: 150_000,
                    size: Some((320, 180)),
                },
                LayerOption {
                    bitrate_bps: 500_000,
                    size: Some((640, 360)),
                },
                LayerOption {
                    bitrate_bps: 1_500_000,
                    size: Some((1280, 720)),
                },
            ],
            display,
            current,
        }
    }

    #[test]
    fn allocates_by_budget_and_size() {
        assert_eq!(allocate(10_000_000, &[demand(None, None)]), vec![2]);
        assert_eq!(allocate(700_000, &[demand(None, None)]), vec![1]);
        assert_eq!(allocate(100_000, &[demand(None, None)]), vec![0]);
        assert_eq!(
            allocate(10_000_000, &[demand(None, Some((320, 180)))]),
            vec![0]
        );
        assert_eq!(
            allocate(10_000_000, &[demand(None, Some((600, 340)))]),
            vec![1]
        );
        // Hysteresis: 560k keeps layer 1 (fits) although 85% of it would not.
        assert_eq!(allocate(560_000, &[demand(Some(1), None)]), vec![1]);
        assert_eq!(allocate(560_000, &[demand(Some(0), None)]), vec![0]);
        // Two videos share: both mid rather than one high and one low.
        assert_eq!(
            allocate(1_400_000, &[demand(None, None), demand(None, None)]),
            vec![1, 1]
        );
    }
}
