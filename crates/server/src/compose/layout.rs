//! Where each video track shows, over the meeting: the recording cut into segments at every join,
//! leave, camera off/on and screen share, each with its tiles. Pure: the manifest in, rectangles out.

use convene_proto::Source;
use convene_record::{Manifest, MediaKind, TrackEntry};

/// The most tiles a grid holds; later video tracks wait for a free place. A grid of 100 faces
/// at 128x72 shows nobody, and each tile costs a scaler for the whole meeting.
pub const MAX_GRID_TILES: usize = 16;
/// The most tiles beside a shared screen.
pub const MAX_STRIP_TILES: usize = 4;

/// The picture the composition is made on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
}

/// Milliseconds from the start of the recording (the composition's time 0), end excluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// One video track's place: `track` indexes `Manifest::tracks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub track: usize,
    pub rect: Rect,
}

/// A stretch of the meeting in which the same tracks show in the same places.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub span: Span,
    pub tiles: Vec<Tile>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub duration_ms: u64,
    pub segments: Vec<Segment>,
}

/// The recording's start and end on the meeting clock: its own end when it completed, else (an
/// interrupted one) where its last track's file ends.
pub fn bounds(manifest: &Manifest) -> (u64, u64) {
    let origin = manifest.started_at.meeting.0;
    let last_frame = manifest
        .tracks
        .iter()
        .filter_map(|t| t.end)
        .map(|e| e.0)
        .max();
    let end = manifest
        .ended_at
        .map(|s| s.meeting.0)
        .or(last_frame)
        .unwrap_or(origin);
    (origin, end.max(origin))
}

/// When a track has media, relative to the recording's start: from its first to its last frame,
/// less its gaps (a camera turned off, a pause, frames lost).
pub fn presence(track: &TrackEntry, origin: u64, end: u64) -> Vec<Span> {
    let (Some(first), Some(last)) = (track.start, track.end) else {
        return Vec::new();
    };
    let clip = |t: u64| t.clamp(origin, end) - origin;
    let mut spans = Vec::new();
    let mut from = clip(first.0);
    let mut gaps: Vec<_> = track
        .gaps
        .iter()
        .map(|g| (clip(g.start.0), clip(g.end.0)))
        .collect();
    gaps.sort_unstable();
    for (a, b) in gaps {
        if a > from {
            spans.push(Span {
                start: from,
                end: a,
            });
        }
        from = from.max(b);
    }
    let to = clip(last.0);
    if to > from {
        spans.push(Span {
            start: from,
            end: to,
        });
    }
    spans
}

/// The segments of a recording, consecutive ones with the same tiles merged.
pub fn timeline(manifest: &Manifest, canvas: Canvas) -> Timeline {
    let (origin, end) = bounds(manifest);
    let duration_ms = end - origin;
    let videos: Vec<(usize, Source, Vec<Span>)> = manifest
        .tracks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.codec.kind() == MediaKind::Video)
        .map(|(i, t)| (i, t.source, presence(t, origin, end)))
        .collect();
    let mut cuts: Vec<u64> = vec![0, duration_ms];
    for (_, _, spans) in &videos {
        cuts.extend(spans.iter().flat_map(|s| [s.start, s.end]));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut segments: Vec<Segment> = Vec::new();
    for w in cuts.windows(2) {
        let span = Span {
            start: w[0],
            end: w[1],
        };
        let shown: Vec<(usize, Source)> = videos
            .iter()
            .filter(|(_, _, spans)| {
                spans
                    .iter()
                    .any(|s| s.start <= span.start && s.end >= span.end)
            })
            .map(|(i, source, _)| (*i, *source))
            .collect();
        let tiles = arrange(&shown, canvas);
        match segments.last_mut() {
            Some(last) if last.tiles == tiles => last.span.end = span.end,
            _ => segments.push(Segment { span, tiles }),
        }
    }
    segments.retain(|s| !s.tiles.is_empty());
    Timeline {
        duration_ms,
        segments,
    }
}

/// The tiles of the tracks shown at once (in the manifest's order: who came first keeps the
/// first place). A shared screen takes the stage, the others a strip beside it; else a grid.
pub fn arrange(shown: &[(usize, Source)], canvas: Canvas) -> Vec<Tile> {
    let stage = shown.iter().position(|(_, s)| *s == Source::Screen);
    match stage {
        Some(at) => {
            let mut rest: Vec<usize> = shown.iter().map(|(i, _)| *i).collect();
            let screen = rest.remove(at);
            rest.truncate(MAX_STRIP_TILES);
            staged(screen, &rest, canvas)
        }
        None => {
            let tracks: Vec<usize> = shown.iter().map(|(i, _)| *i).take(MAX_GRID_TILES).collect();
            grid(&tracks, canvas)
        }
    }
}

/// Scalers and the H.264 encoder want even sizes.
fn even(v: u32) -> u32 {
    v & !1
}

fn grid(tracks: &[usize], canvas: Canvas) -> Vec<Tile> {
    let n = tracks.len() as u32;
    if n == 0 {
        return Vec::new();
    }
    let cols = (1..=n).find(|c| c * c >= n).unwrap_or(n);
    let rows = n.div_ceil(cols);
    // Tiles keep the canvas's shape (cameras are mostly that shape too): two side by side are
    // letterboxed on the canvas, not stretched tall.
    let w = even(canvas.width / cols);
    let h = even((canvas.height / rows).min(w * canvas.height / canvas.width));
    // The grid sits in the middle; a last row that is not full is centred too.
    let top = (canvas.height - rows * h) / 2;
    let last_row = n - (rows - 1) * cols;
    tracks
        .iter()
        .enumerate()
        .map(|(i, &track)| {
            let (col, row) = (i as u32 % cols, i as u32 / cols);
            let in_row = if row == rows - 1 { last_row } else { cols };
            let left = (canvas.width - in_row * w) / 2;
            Tile {
                track,
                rect: Rect {
                    x: left + col * w,
                    y: top + row * h,
                    w,
                    h,
                },
            }
        })
        .collect()
}

fn staged(screen: usize, strip: &[usize], canvas: Canvas) -> Vec<Tile> {
    let stage_w = if strip.is_empty() {
        canvas.width
    } else {
        even(canvas.width * 3 / 4)
    };
    let mut tiles = vec![Tile {
        track: screen,
        rect: Rect {
            x: 0,
            y: 0,
            w: stage_w,
            h: even(canvas.height),
        },
    }];
    let slot = even(canvas.height / MAX_STRIP_TILES as u32);
    let top = (canvas.height - slot * strip.len() as u32) / 2;
    tiles.extend(strip.iter().enumerate().map(|(i, &track)| Tile {
        track,
        rect: Rect {
            x: stage_w,
            y: top + i as u32 * slot,
            w: even(canvas.width - stage_w),
            h: slot,
        },
    }));
    tiles
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
