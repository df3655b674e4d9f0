//! How fast a meeting is composed: seconds of meeting per second of wall time, with the server's own
//! ffmpeg arguments (`compose::graph::plan`) at the server's priority, on a synthetic recording of real
//! VP8 and Opus frames (ffmpeg encodes a test picture and a tone; convene-record writes the files).
//!
//! `cargo run -p convene-server --example compose_speed -- [SECONDS] [PEOPLE]` (default 60 s, 4 people:
//! everyone from the start but the last, who joins at a third; the first shares a screen in the middle
//! third; one turns the camera off for a while). Needs ffmpeg.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::{
    Frame, Gap, GapReason, MeetingId, MeetingRecording, MeetingTime, ReadFrame, Stamp, TrackMeta,
    TrackSpec, VideoCodec, WallTime,
};
use convene_server::compose::{graph, runner};

fn encode(dir: &Path, secs: u64) -> anyhow::Result<(Vec<ReadFrame>, Vec<ReadFrame>)> {
    let video = dir.join("v.webm");
    let audio = dir.join("a.webm");
    let t = secs.to_string();
    let v = video.to_str().unwrap_or_default();
    let a = audio.to_str().unwrap_or_default();
    let runs: [&[&str]; 2] = [
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=25",
            "-t",
            &t,
            "-c:v",
            "libvpx",
            "-g",
            "50",
            "-b:v",
            "500k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            v,
        ],
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=48000",
            "-t",
            &t,
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            a,
        ],
    ];
    for args in runs {
        let ok = Command::new("ffmpeg").args(args).status()?.success();
        anyhow::ensure!(ok, "ffmpeg could not make the test media");
    }
    Ok((
        convene_record::read_file(&video)?.1,
        convene_record::read_file(&audio)?.1,
    ))
}

fn stamp(ms: u64) -> Stamp {
    Stamp {
        meeting: MeetingTime(ms),
        wall: WallTime(ms),
    }
}

/// Writes `frames` from `from` to `to` (ms), skipping `hole` up to the next keyframe.
fn track(
    rec: &mut MeetingRecording,
    who: usize,
    source: Source,
    frames: &[ReadFrame],
    (from, to): (u64, u64),
    hole: Option<(u64, u64)>,
) -> anyhow::Result<()> {
    let id = TrackId::new(format!("p{who}-{source:?}"));
    let spec = match source {
        Source::Microphone => TrackSpec::opus(),
        _ => TrackSpec::video(VideoCodec::Vp8),
    };
    let meta = TrackMeta {
        track: id.clone(),
        participant: ParticipantId::new(format!("p{who}")),
        participant_name: format!("P{who}"),
        source,
    };
    rec.add_track(meta, spec)?;
    let mut wait_key = false;
    for f in frames {
        let at = from + f.pts.as_millis() as u64;
        if at >= to {
            break;
        }
        if hole.is_some_and(|(a, b)| at >= a && at < b) {
            wait_key = true;
            continue;
        }
        if wait_key && !f.keyframe {
            continue;
        }
        wait_key = false;
        let frame = Frame {
            pts: Duration::from_millis(at),
            keyframe: f.keyframe,
            data: &f.data,
        };
        rec.write(&id, frame)?;
    }
    if let Some((a, b)) = hole {
        let gap = Gap {
            start: MeetingTime(a),
            end: MeetingTime(b),
            reason: GapReason::Paused,
        };
        rec.gap(&id, gap)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let secs: u64 = args.next().map_or(Ok(60), |s| s.parse())?;
    let people: usize = args.next().map_or(Ok(4), |s| s.parse())?;
    let ms = secs * 1000;
    let work = tempfile::tempdir()?;
    let (video, audio) = encode(work.path(), secs)?;
    let dir = work.path().join("rec");
    let mut rec = MeetingRecording::start(&dir, MeetingId(1), RoomId::new("bench"), stamp(0))?;
    for p in 0..people {
        let from = if p + 1 == people && p > 0 { ms / 3 } else { 0 };
        let hole = (p == 1).then_some((ms / 2, ms / 2 + ms / 10));
        track(&mut rec, p, Source::Camera, &video, (from, ms), hole)?;
        track(&mut rec, p, Source::Microphone, &audio, (from, ms), None)?;
    }
    track(
        &mut rec,
        0,
        Source::Screen,
        &video,
        (ms / 3, 2 * ms / 3),
        None,
    )?;
    let manifest = rec.finish(stamp(ms))?;

    let output = work.path().join("out.mp4");
    let plan = graph::plan(&manifest, &dir, &output, &graph::Encoding::default());
    let ffmpeg = runner::locate("ffmpeg")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let took = runtime.block_on(async {
        let started = Instant::now();
        let mut run = runner::start(&ffmpeg, &plan.args, 19, plan.duration_ms)?;
        while run.next().await?.is_some() {}
        run.finish().await?;
        anyhow::Ok(started.elapsed())
    })?;
    let size = std::fs::metadata(&output)?.len();
    println!(
        "{secs} s meeting, {people} people ({} video tiles, {} audio tracks) composed in {:.1} s: \
         {:.2} s of meeting per second; {} KiB",
        plan.videos,
        plan.audios,
        took.as_secs_f64(),
        secs as f64 / took.as_secs_f64(),
        size / 1024
    );
    Ok(())
}
