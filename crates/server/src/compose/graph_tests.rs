use std::path::Path;

use convene_proto::Source;

use super::*;
use crate::compose::fixture::{manifest, track};

fn args_of(m: &convene_record::Manifest) -> Plan {
    plan(
        m,
        Path::new("/rec"),
        Path::new("/out/c.mp4"),
        &Encoding::default(),
    )
}

fn value_after<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

#[test]
fn each_track_is_an_input_placed_at_its_start() {
    let m = manifest(
        1_000,
        Some(11_000),
        vec![
            track("a", Source::Camera, 1_000, 11_000, &[]),
            track("a", Source::Microphone, 1_020, 11_000, &[]),
            track("b", Source::Camera, 4_500, 9_000, &[]),
            track("b", Source::Microphone, 4_480, 9_000, &[(6_000, 7_000)]),
        ],
    );
    let p = args_of(&m);
    assert_eq!(p.duration_ms, 10_000);
    assert_eq!((p.videos, p.audios), (2, 2));
    // Videos first (by track), then audio; each offset by its start in the recording.
    assert_eq!(
        value_after(&p.args, "-i"),
        vec![
            "file:/rec/a-camera.webm",
            "file:/rec/b-camera.webm",
            "file:/rec/a-microphone.webm",
            "file:/rec/b-microphone.webm"
        ]
    );
    assert_eq!(
        value_after(&p.args, "-itsoffset"),
        vec!["0.000", "3.500", "0.020", "3.480"]
    );
    assert_eq!(value_after(&p.args, "-t"), vec!["10.000"]);
    assert_eq!(value_after(&p.args, "-c:v"), vec!["libx264"]);
    assert_eq!(value_after(&p.args, "-progress"), vec!["pipe:1"]);
    assert_eq!(p.args.last().map(String::as_str), Some("file:/out/c.mp4"));
}

#[test]
fn tiles_show_only_while_they_are_placed_and_audio_is_mixed_with_silence() {
    let m = manifest(
        0,
        Some(10_000),
        vec![
            track("a", Source::Camera, 0, 10_000, &[]),
            track("a", Source::Microphone, 0, 10_000, &[]),
            track("b", Source::Camera, 4_000, 9_000, &[]),
            track("b", Source::Microphone, 4_000, 9_000, &[]),
        ],
    );
    let p = args_of(&m);
    let graph = value_after(&p.args, "-filter_complex")[0];
    let parts: Vec<&str> = graph.split(';').collect();
    assert_eq!(parts[0], "color=c=black:s=1280x720:r=25:d=10.000[base]");
    // a has two places (alone, then beside b): its picture is split and scaled for each.
    assert!(parts.contains(&"[0:v]split=2[v0_0][v0_1]"), "{graph}");
    assert!(parts.contains(&"[1:v]null[v1_0]"), "{graph}");
    let overlays: Vec<&&str> = parts.iter().filter(|p| p.contains("overlay=")).collect();
    assert_eq!(overlays.len(), 3, "{graph}");
    // Alone: full canvas, before b joins and after b leaves.
    assert!(graph.contains(
        "overlay=x=0:y=0:eof_action=pass:enable='gte(t,0.000)*lt(t,4.000)+gte(t,9.000)*lt(t,10.000)'"
    ), "{graph}");
    assert!(
        graph.contains("overlay=x=640:y=180:eof_action=pass:enable='gte(t,4.000)*lt(t,9.000)'"),
        "{graph}"
    );
    assert!(
        graph.contains("scale=640:360:force_original_aspect_ratio=decrease"),
        "{graph}"
    );
    assert!(
        graph.contains("[2:a]aresample=48000:async=1:first_pts=0"),
        "{graph}"
    );
    assert!(
        graph.contains("[a2][a3]amix=inputs=2:duration=longest:normalize=0,apad[aout]"),
        "{graph}"
    );
    assert_eq!(value_after(&p.args, "-map"), vec!["[vout]", "[aout]"]);
}

#[test]
fn a_recording_without_audio_or_video_still_has_both_streams() {
    let only_sound = manifest(
        0,
        Some(3_000),
        vec![track("a", Source::Microphone, 0, 3_000, &[])],
    );
    let p = args_of(&only_sound);
    let graph = value_after(&p.args, "-filter_complex")[0];
    assert!(graph.contains("[base]format=yuv420p[vout]"), "{graph}");
    assert_eq!(p.videos, 0);

    let only_picture = manifest(
        0,
        Some(3_000),
        vec![track("a", Source::Camera, 0, 3_000, &[])],
    );
    let p = args_of(&only_picture);
    let graph = value_after(&p.args, "-filter_complex")[0];
    assert!(
        graph.contains("anullsrc=r=48000:cl=stereo[aout]"),
        "{graph}"
    );
    assert_eq!(value_after(&p.args, "-i").len(), 1);
}

#[test]
fn a_track_without_frames_is_no_input() {
    let mut empty = track("b", Source::Microphone, 0, 0, &[]);
    empty.start = None;
    empty.end = None;
    let m = manifest(
        0,
        Some(2_000),
        vec![track("a", Source::Microphone, 0, 2_000, &[]), empty],
    );
    assert_eq!(
        value_after(&args_of(&m).args, "-i"),
        vec!["file:/rec/a-microphone.webm"]
    );
}
