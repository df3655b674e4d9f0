use convene_proto::Source;

use super::*;
use crate::compose::fixture::{manifest, track};

const HD: Canvas = Canvas {
    width: 1280,
    height: 720,
};

fn rect(x: u32, y: u32, w: u32, h: u32) -> Rect {
    Rect { x, y, w, h }
}

/// A segment as (start, end, [(track, rect)]).
type Shape = (u64, u64, Vec<(usize, Rect)>);

fn shape(t: &Timeline) -> Vec<Shape> {
    t.segments
        .iter()
        .map(|s| {
            let tiles = s.tiles.iter().map(|t| (t.track, t.rect)).collect();
            (s.span.start, s.span.end, tiles)
        })
        .collect()
}

#[test]
fn a_gap_splits_presence_and_times_are_relative_to_the_recording() {
    let t = track(
        "a",
        Source::Camera,
        1_500,
        9_000,
        &[(3_000, 4_000), (6_000, 6_500)],
    );
    let spans = presence(&t, 1_000, 10_000);
    let pairs: Vec<_> = spans.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(pairs, vec![(500, 2_000), (3_000, 5_000), (5_500, 8_000)]);
    // A track that never had a frame is never shown.
    let mut silent = t.clone();
    silent.start = None;
    silent.end = None;
    assert!(presence(&silent, 0, 10_000).is_empty());
}

#[test]
fn joins_leaves_and_a_camera_off_change_the_grid() {
    // a: whole meeting; b joins at 4 s, turns the camera off 6-7 s, leaves at 9 s.
    let m = manifest(
        0,
        Some(10_000),
        vec![
            track("a", Source::Camera, 0, 10_000, &[]),
            track("a", Source::Microphone, 0, 10_000, &[]),
            track("b", Source::Camera, 4_000, 9_000, &[(6_000, 7_000)]),
        ],
    );
    let t = timeline(&m, HD);
    assert_eq!(t.duration_ms, 10_000);
    let alone = vec![(0, rect(0, 0, 1280, 720))];
    let pair = vec![(0, rect(0, 180, 640, 360)), (2, rect(640, 180, 640, 360))];
    assert_eq!(
        shape(&t),
        vec![
            (0, 4_000, alone.clone()),
            (4_000, 6_000, pair.clone()),
            (6_000, 7_000, alone.clone()),
            (7_000, 9_000, pair),
            (9_000, 10_000, alone),
        ]
    );
}

#[test]
fn a_screen_share_takes_the_stage() {
    let m = manifest(
        0,
        Some(8_000),
        vec![
            track("a", Source::Camera, 0, 8_000, &[]),
            track("b", Source::Camera, 0, 8_000, &[]),
            track("b", Source::Screen, 2_000, 5_000, &[]),
        ],
    );
    let t = timeline(&m, HD);
    let s = shape(&t);
    assert_eq!(s.len(), 3);
    assert_eq!((s[1].0, s[1].1), (2_000, 5_000));
    // The screen first and larger than the cameras beside it.
    assert_eq!(
        s[1].2,
        vec![
            (2, rect(0, 0, 960, 720)),
            (0, rect(960, 180, 320, 180)),
            (1, rect(960, 360, 320, 180)),
        ]
    );
    assert_eq!(s[0].2, s[2].2);
}

#[test]
fn the_grid_holds_at_most_its_limit_and_centres_a_short_last_row() {
    let many: Vec<(usize, Source)> = (0..MAX_GRID_TILES + 3)
        .map(|i| (i, Source::Camera))
        .collect();
    let tiles = arrange(&many, HD);
    assert_eq!(tiles.len(), MAX_GRID_TILES);
    assert_eq!(tiles.last().map(|t| t.track), Some(MAX_GRID_TILES - 1));
    let three = arrange(&many[..3], HD);
    assert_eq!(
        three.iter().map(|t| t.rect).collect::<Vec<_>>(),
        vec![
            rect(0, 0, 640, 360),
            rect(640, 0, 640, 360),
            rect(320, 360, 640, 360)
        ]
    );
    // Tiles never leave the canvas and never overlap.
    for n in 1..=MAX_GRID_TILES {
        let tiles = arrange(&many[..n], HD);
        for (i, a) in tiles.iter().enumerate() {
            assert!(
                a.rect.x + a.rect.w <= 1280 && a.rect.y + a.rect.h <= 720,
                "{n}: {a:?}"
            );
            assert!(a.rect.w % 2 == 0 && a.rect.h % 2 == 0);
            for b in &tiles[i + 1..] {
                let apart = a.rect.x + a.rect.w <= b.rect.x
                    || b.rect.x + b.rect.w <= a.rect.x
                    || a.rect.y + a.rect.h <= b.rect.y
                    || b.rect.y + b.rect.h <= a.rect.y;
                assert!(apart, "{n}: {a:?} overlaps {b:?}");
            }
        }
    }
}

#[test]
fn the_strip_beside_a_screen_holds_at_most_its_limit() {
    let mut shown: Vec<(usize, Source)> = (0..MAX_STRIP_TILES + 2)
        .map(|i| (i, Source::Camera))
        .collect();
    shown.push((99, Source::Screen));
    let tiles = arrange(&shown, HD);
    assert_eq!(tiles.len(), 1 + MAX_STRIP_TILES);
    assert_eq!(tiles[0].track, 99);
}

#[test]
fn an_interrupted_recording_ends_with_its_last_frame() {
    let m = manifest(
        2_000,
        None,
        vec![track("a", Source::Microphone, 2_500, 7_250, &[])],
    );
    assert_eq!(bounds(&m), (2_000, 7_250));
    let t = timeline(&m, HD);
    assert_eq!(t.duration_ms, 5_250);
    assert!(t.segments.is_empty(), "no video: no tiles");
}
