//! Joins a room, publishes synthetic audio and video, prints what happens, and leaves on Ctrl-C.
//!
//! ```text
//! cargo run -p convene-client --example join -- ws://127.0.0.1:8080/ws standup Ada
//! ```
//! Then open the room in a browser to see (and hear) the synthetic participant, or drop the
//! network for a moment to watch it reconnect.

use convene_client::{JoinRequest, Layers, Meeting, MeetingEvent, MeetingOptions, PublishOptions};
use convene_proto::ServerMessage;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let room = args.next().unwrap_or_else(|| "demo".into());
    let name = args.next().unwrap_or_else(|| "Rust client".into());

    let options = MeetingOptions {
        publish: PublishOptions {
            layers: Layers::Two,
            ..PublishOptions::default()
        },
        ..MeetingOptions::default()
    };
    let mut meeting = Meeting::join(&url, JoinRequest::new(room, name), options).await?;
    let joined = meeting.joined();
    println!(
        "joined {} as {} ({} here)",
        joined.room,
        joined.participant_id,
        joined.participants.len()
    );
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            event = meeting.next_event() => match event {
                Some(MeetingEvent::Ended(why)) => {
                    println!("the meeting ended for us: {why:?}");
                    return Ok(());
                }
                Some(e) => print_event(&e),
                None => return Ok(()),
            },
        }
    }
    let stats = meeting.stats().await?;
    println!(
        "sent {} audio and {} video frames; received from {} tracks",
        stats.sent.audio_frames,
        stats.sent.video_frames.iter().sum::<u64>(),
        stats.tracks.len()
    );
    meeting.leave().await?;
    println!("left");
    Ok(())
}

fn print_event(e: &MeetingEvent) {
    match e {
        MeetingEvent::Message(ServerMessage::Chat { message }) => {
            println!("{}: {}", message.from_name, message.text)
        }
        MeetingEvent::Message(ServerMessage::ParticipantJoined { participant }) => {
            println!("{} joined", participant.display_name)
        }
        MeetingEvent::Message(ServerMessage::ParticipantLeft {
            participant_id,
            reason,
        }) => println!("{participant_id} left ({reason:?})"),
        // Audio levels come four times a second: too many to print.
        MeetingEvent::Message(ServerMessage::AudioLevels { .. }) => {}
        MeetingEvent::Message(m) => println!("{}", m.type_name()),
        other => println!("{other:?}"),
    }
}
