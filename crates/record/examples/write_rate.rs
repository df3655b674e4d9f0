//! How fast one thread writes recordings: N participants' camera (30 fps VP8, ~1.5 Mbit/s, a
//! keyframe every 2 s) and microphone (50 Opus packets/s, ~32 kbit/s) for a given media length,
//! interleaved in time order as the server's queue would hand them over; then how fast start-up
//! recovery reads the files back. `cargo run --release -p convene-record --example write_rate -- 4 60`

use std::time::{Duration, Instant};

use convene_proto::{ParticipantId, RoomId, Source, TrackId};
use convene_record::synth::vp8_keyframe_header;
use convene_record::{
    Frame, FrameSize, Manifest, MeetingId, MeetingRecording, MeetingTime, Stamp, TrackMeta,
    TrackSpec, VideoCodec, WallTime,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let participants = args.first().copied().unwrap_or(4);
    let seconds = args.get(1).copied().unwrap_or(60);
    let root = tempfile::tempdir()?;
    let dir = root.path().join("m");
    let at = |ms| Stamp {
        meeting: MeetingTime(ms),
        wall: WallTime(ms),
    };
    let mut rec = MeetingRecording::start(&dir, MeetingId(1), RoomId::new("bench"), at(0))?;
    let mut tracks = Vec::new();
    for p in 0..participants {
        for (source, spec) in [
            (Source::Camera, TrackSpec::video(VideoCodec::Vp8)),
            (Source::Microphone, TrackSpec::opus()),
        ] {
            let track = TrackId::new(format!("{p}-{source:?}"));
            let meta = TrackMeta {
                track: track.clone(),
                participant: ParticipantId::new(format!("p{p}")),
                participant_name: format!("P {p}"),
                source,
            };
            rec.add_track(meta, spec)?;
            tracks.push((track, source));
        }
    }
    let key = vp8_keyframe_header(FrameSize {
        width: 1280,
        height: 720,
    });
    let video: Vec<u8> = key
        .iter()
        .copied()
        .chain((0..6_250).map(|i| i as u8))
        .collect();
    let audio: Vec<u8> = std::iter::once(0xfc)
        .chain((0..80).map(|i| i as u8))
        .collect();
    let (mut frames, mut bytes) = (0u64, 0u64);
    let started = Instant::now();
    for t in 0..seconds * 1000 {
        for (track, source) in &tracks {
            let (due, keyframe, data) = match source {
                Source::Camera => (t % 33 == 0, t % 1980 == 0, &video[..]),
                _ => (t % 20 == 0, false, &audio[..]),
            };
            if !due {
                continue;
            }
            let pts = Duration::from_millis(t);
            rec.write(
                track,
                Frame {
                    pts,
                    keyframe,
                    data,
                },
            )?;
            frames += 1;
            bytes += data.len() as u64;
        }
    }
    rec.finish(at(seconds * 1000))?;
    let took = started.elapsed();
    let secs = took.as_secs_f64();
    println!(
        "wrote {participants} participants x {seconds} s: {frames} frames, {:.1} MB in {:.2} s \
         = {:.0} frames/s, {:.1} MB/s, {:.1}x real time",
        bytes as f64 / 1e6,
        secs,
        frames as f64 / secs,
        bytes as f64 / 1e6 / secs,
        seconds as f64 / secs
    );
    // Recovery reads every file back: mark the recording cut and time it.
    let mut m = Manifest::load(&dir)?;
    m.state = convene_record::RecordingState::Recording;
    for t in &mut m.tracks {
        t.state = convene_record::TrackState::Recording;
    }
    m.save(&dir)?;
    let started = Instant::now();
    Manifest::recover(&dir)?;
    let took = started.elapsed().as_secs_f64();
    println!(
        "recover read {:.1} MB back in {took:.2} s = {:.0} MB/s",
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / took
    );
    Ok(())
}
