//! Joins a room, publishes synthetic media and prints what arrives, once a second.
//!
//! cargo run -p convene-client --example media_smoke -- ws://127.0.0.1:18080/ws [options]
//!   --room NAME      (default "smoke")
//!   --name NAME      (default "smoke-<pid>")
//!   --tcp            ICE-TCP instead of UDP
//!   --no-audio / --no-video
//!   --layers N       simulcast layers 1..=3 (default 3)
//!   --bitrate BPS    top layer bitrate (default 1000000)
//!   --fps N          (default 30)
//!   --secs N         run time, then leave (default: until Ctrl-C)
//!   --restart-ice S  restart ICE after S seconds
//!   --constraint WxH send set_video_constraint for every remote video (e.g. 320x180)

use std::time::Duration;

use convene_client::{
    join_msg, MediaConfig, MediaEvent, MediaSession, PublishOptions, Signaling, Transport,
};
use convene_proto::{MediaKind, ServerMessage};

struct Args {
    url: String,
    room: String,
    name: String,
    config: MediaConfig,
    secs: Option<u64>,
    restart_ice: Option<u64>,
    constraint: Option<(u32, u32)>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let url = it.next().ok_or("usage: media_smoke WS_URL [options]")?;
    let mut a = Args {
        url,
        room: "smoke".into(),
        name: format!("smoke-{}", std::process::id()),
        config: MediaConfig::default(),
        secs: None,
        restart_ice: None,
        constraint: None,
    };
    let mut publish = PublishOptions::default();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--room" => a.room = value()?,
            "--name" => a.name = value()?,
            "--tcp" => a.config.transport = Transport::Tcp,
            "--no-audio" => publish.audio = false,
            "--no-video" => publish.video = false,
            "--layers" => publish.layers = value()?.parse().map_err(|e| format!("{e}"))?,
            "--bitrate" => {
                publish.video_bitrate_bps = value()?.parse().map_err(|e| format!("{e}"))?
            }
            "--fps" => publish.frame_rate = value()?.parse().map_err(|e| format!("{e}"))?,
            "--secs" => a.secs = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--restart-ice" => a.restart_ice = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--constraint" => {
                let v = value()?;
                let (w, h) = v.split_once('x').ok_or("--constraint WxH")?;
                a.constraint = Some((
                    w.parse().map_err(|e| format!("{e}"))?,
                    h.parse().map_err(|e| format!("{e}"))?,
                ));
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    a.config.publish = publish;
    Ok(a)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut sig = Signaling::connect(&a.url).await?;
    let joined = sig.join(join_msg(&a.room, &a.name)).await?;
    println!(
        "joined {} as {} ({} in the room)",
        joined.room,
        joined.participant_id,
        joined.participants.len()
    );
    let mut media = MediaSession::start(sig, joined.participant_id.clone(), a.config).await?;
    let start = tokio::time::Instant::now();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    let mut restarted = false;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            ev = media.next_event() => {
                match ev {
                    Some(MediaEvent::Signaling(m)) => print_signal(&m),
                    Some(MediaEvent::TracksChanged) => {
                        if let Some(size) = a.constraint {
                            for t in media.stats().await?.tracks {
                                if t.active && t.kind == MediaKind::Video {
                                    media.set_video_constraint(t.track_id, Some(size)).await?;
                                }
                            }
                        }
                        println!("tracks changed");
                    }
                    Some(MediaEvent::Ended(why)) => {
                        println!("media ended: {why}");
                        return Ok(());
                    }
                    Some(e) => println!("{e:?}"),
                    None => return Ok(()),
                }
                continue;
            }
            _ = tokio::signal::ctrl_c() => break,
        }
        let elapsed = start.elapsed().as_secs();
        if a.restart_ice.is_some_and(|s| elapsed >= s) && !restarted {
            restarted = true;
            println!("restarting ICE");
            media.restart_ice().await?;
        }
        print_stats(&media.stats().await?, elapsed);
        if a.secs.is_some_and(|s| elapsed >= s) {
            break;
        }
    }
    let mut sig = media.stop().await?;
    sig.send(&convene_proto::ClientMessage::Leave).await?;
    sig.close().await;
    Ok(())
}

fn print_signal(m: &ServerMessage) {
    match m {
        // Several a second: too chatty to print.
        ServerMessage::AudioLevels { .. } => {}
        m => println!("<- {}", serde_json::to_string(m).unwrap_or_default()),
    }
}

fn print_stats(s: &convene_client::MediaStats, elapsed: u64) {
    println!(
        "[{elapsed:>4}s] connected={} ice={} remote={:?} net in {} pkts/{} B out {} pkts/{} B | sent audio {} video {:?} key {:?} kf-req {} paused {:?}{}",
        s.connected,
        s.ice_state,
        s.remote_addr,
        s.net.packets_in,
        s.net.bytes_in,
        s.net.packets_out,
        s.net.bytes_out,
        s.sent.audio_frames,
        s.sent.video_frames,
        s.sent.keyframes,
        s.sent.keyframe_requests,
        s.sent.paused_layers,
        s.last_error
            .as_ref()
            .map(|e| format!(" | last error: {e}"))
            .unwrap_or_default(),
    );
    for t in &s.tracks {
        println!(
            "    {} mid {} {:?}/{:?} from {}{}: frames {} bytes {} key {} layers {:?} lost {} reorder {} delay mean {:?}us max {}us corrupt {} foreign {} last seq {:?}",
            t.track_id,
            t.mid,
            t.kind,
            t.source,
            t.participant_id,
            if t.active { "" } else { " (ended)" },
            t.frames,
            t.bytes,
            t.keyframes,
            t.layer_frames,
            t.lost(),
            t.out_of_order,
            t.mean_delay_us(),
            t.delay_us_max,
            t.corrupt,
            t.foreign,
            t.last_header.map(|h| h.seq),
        );
    }
}
