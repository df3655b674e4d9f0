//! The ffmpeg command line of a composition: a pure function from the manifest (and where its
//! files are) to arguments.
//!
//! One ffmpeg run for the whole meeting: every tile is an `overlay` on a black canvas, shown only
//! while it belongs there (`enable` with the segments' times). The other way, one run per segment
//! and a concat, re-opens and seeks every file per segment, and cuts audio at the joins; here
//! each file is decoded once, audio is never cut, and progress is one clock. A track with several
//! places over the meeting (the grid grew, a screen share began) gets one scaled copy per place.
//!
//! Times: each file's frames are on the meeting clock; `-itsoffset` puts a file's first frame at
//! its start relative to the recording, so a gap in a file stays a gap. Audio is padded with
//! silence from 0 and over gaps (`aresample` with `async`, which follows the timestamps) and mixed
//! without normalisation (amix would otherwise lower everyone's volume by the number of tracks).
//!
//! Output: MP4, H.264 (libx264 `veryfast`) and AAC. On Debian's ffmpeg libx264 encodes several
//! times faster than libvpx's VP8 at a like quality, and MP4 plays in every browser and player;
//! `+faststart` puts the index first so a player can seek over HTTP ranges at once.

use std::collections::BTreeMap;
use std::path::Path;

use convene_record::{Manifest, MediaKind};

use super::layout::{self, Canvas, Rect};

/// How the composition is encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding {
    pub canvas: Canvas,
    pub fps: u32,
    /// libx264's speed preset.
    pub preset: String,
}

impl Default for Encoding {
    fn default() -> Self {
        Self {
            canvas: Canvas {
                width: 1280,
                height: 720,
            },
            fps: 25,
            preset: "veryfast".into(),
        }
    }
}

/// An ffmpeg run: its arguments (without the program) and the length of what it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub args: Vec<String>,
    pub duration_ms: u64,
    /// Video tiles shown over the meeting and audio tracks mixed, for the log.
    pub videos: usize,
    pub audios: usize,
}

/// Seconds, as ffmpeg reads them, exactly from milliseconds.
fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Where each shown video track is placed, and when: track → its rectangles → the times it holds each.
type Places = BTreeMap<usize, BTreeMap<Rect, Vec<layout::Span>>>;

/// The arguments that compose the recording in `dir` (described by `manifest`) into `output`.
pub fn plan(manifest: &Manifest, dir: &Path, output: &Path, enc: &Encoding) -> Plan {
    let (origin, _) = layout::bounds(manifest);
    let timeline = layout::timeline(manifest, enc.canvas);
    let duration = timeline.duration_ms.max(1);
    let places = places(&timeline);
    let audios: Vec<usize> = manifest
        .tracks
        .iter()
        .enumerate()
        .filter(|(_, t)| t.codec.kind() == MediaKind::Audio && t.start.is_some())
        .map(|(i, _)| i)
        .collect();
    let mut args: Vec<String> = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        .map(String::from)
        .into();
    let tracks: Vec<usize> = places.keys().chain(audios.iter()).copied().collect();
    let input_of = inputs(manifest, dir, origin, &tracks, &mut args);
    let mut filters = video_filters(&places, &input_of, enc, duration);
    filters.extend(audio_filters(&audios, &input_of));
    args.extend(["-filter_complex".into(), filters.join(";")]);
    let fps = enc.fps.to_string();
    let length = secs(duration);
    let encode = [
        "-map",
        "[vout]",
        "-map",
        "[aout]",
        "-c:v",
        "libx264",
        "-preset",
        &enc.preset,
        "-crf",
        "23",
        "-r",
        &fps,
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-movflags",
        "+faststart",
        "-t",
        &length,
        "-progress",
        "pipe:1",
        "-nostats",
    ];
    args.extend(encode.map(String::from));
    args.push(format!("file:{}", output.display()));
    Plan {
        args,
        duration_ms: duration,
        videos: places.len(),
        audios: audios.len(),
    }
}

fn places(timeline: &layout::Timeline) -> Places {
    let mut places = Places::new();
    for seg in &timeline.segments {
        for tile in &seg.tiles {
            places
                .entry(tile.track)
                .or_default()
                .entry(tile.rect)
                .or_default()
                .push(seg.span);
        }
    }
    places
}

/// Adds an input per track (by the manifest's index), offset to its start in the recording;
/// returns ffmpeg's input number of each.
fn inputs(
    manifest: &Manifest,
    dir: &Path,
    origin: u64,
    tracks: &[usize],
    args: &mut Vec<String>,
) -> BTreeMap<usize, usize> {
    let mut input_of = BTreeMap::new();
    for &i in tracks {
        let t = &manifest.tracks[i];
        let start = t.start.map_or(origin, |s| s.0).saturating_sub(origin);
        input_of.insert(i, input_of.len());
        args.extend([
            "-itsoffset".into(),
            secs(start),
            "-i".into(),
            // `file:` so that no name is read as another protocol or an option.
            format!("file:{}", dir.join(&t.file).display()),
        ]);
    }
    input_of
}

/// The black canvas and one scaled overlay per track and place, ending in `[vout]`.
fn video_filters(
    places: &Places,
    input_of: &BTreeMap<usize, usize>,
    enc: &Encoding,
    duration: u64,
) -> Vec<String> {
    let (w, h) = (enc.canvas.width, enc.canvas.height);
    let mut filters = vec![format!(
        "color=c=black:s={w}x{h}:r={}:d={}[base]",
        enc.fps,
        secs(duration)
    )];
    let mut last = "base".to_owned();
    let mut n = 0;
    for (track, rects) in places {
        let input = input_of[track];
        let labels: Vec<String> = (0..rects.len()).map(|k| format!("v{input}_{k}")).collect();
        filters.push(match labels.as_slice() {
            [one] => format!("[{input}:v]null[{one}]"),
            many => format!(
                "[{input}:v]split={}{}",
                many.len(),
                many.iter().map(|l| format!("[{l}]")).collect::<String>()
            ),
        });
        for (label, (rect, spans)) in labels.iter().zip(rects) {
            let enable = spans
                .iter()
                .map(|s| format!("gte(t,{})*lt(t,{})", secs(s.start), secs(s.end)))
                .collect::<Vec<_>>()
                .join("+");
            filters.push(format!(
                "[{label}]scale={w}:{h}:force_original_aspect_ratio=decrease,\
                 pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[{label}s]",
                w = rect.w,
                h = rect.h
            ));
            n += 1;
            let out = format!("c{n}");
            filters.push(format!(
                "[{last}][{label}s]overlay=x={}:y={}:eof_action=pass:enable='{enable}'[{out}]",
                rect.x, rect.y
            ));
            last = out;
        }
    }
    filters.push(format!("[{last}]format=yuv420p[vout]"));
    filters
}

/// Every audio track padded with silence from 0 and over its gaps, mixed, ending in `[aout]`;
/// silence when there is none.
fn audio_filters(audios: &[usize], input_of: &BTreeMap<usize, usize>) -> Vec<String> {
    if audios.is_empty() {
        return vec!["anullsrc=r=48000:cl=stereo[aout]".into()];
    }
    let mut filters = Vec::new();
    let mut mix = String::new();
    for i in audios {
        let input = input_of[i];
        filters.push(format!(
            "[{input}:a]aresample=48000:async=1:first_pts=0,aformat=channel_layouts=stereo[a{input}]"
        ));
        mix.push_str(&format!("[a{input}]"));
    }
    filters.push(format!(
        "{mix}amix=inputs={}:duration=longest:normalize=0,apad[aout]",
        audios.len()
    ));
    filters
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
