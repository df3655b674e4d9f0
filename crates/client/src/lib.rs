//! A Rust client for Convene: join a meeting from a program.
//!
//! [`Meeting`] is the client a program uses: it joins a room, publishes synthetic audio and
//! video (frames a receiver can measure: see [`frame`]), receives everyone else's, and hands out
//! what happens as [`MeetingEvent`]s. When the connection drops it comes back by itself with the
//! resume token (jittered backoff, within the server's window) and is the same participant
//! again; when the server resets the media session it builds a new peer connection,
//! republishes and resubscribes. The program sees [`MeetingEvent::Reconnecting`],
//! [`MeetingEvent::Reconnected`] and [`MeetingEvent::MediaRebuilt`], not errors; only a terminal
//! close (removed, meeting ended, replaced) or a lost connection that does not come back in time
//! ends it ([`MeetingEvent::Ended`]).
//!
//! ```no_run
//! use convene_client::{JoinRequest, Meeting, MeetingEvent, MeetingOptions, PublishOptions};
//!
//! # async fn demo() -> Result<(), convene_client::MeetingError> {
//! let options = MeetingOptions {
//!     publish: PublishOptions { video: false, ..PublishOptions::default() },
//!     ..MeetingOptions::default()
//! };
//! let mut meeting =
//!     Meeting::join("ws://127.0.0.1:8080/ws", JoinRequest::new("standup", "Ada"), options)
//!         .await?;
//! println!("joined as {}", meeting.joined().participant_id);
//! while let Some(event) = meeting.next_event().await {
//!     match event {
//!         MeetingEvent::Message(m) => println!("server: {}", m.type_name()),
//!         MeetingEvent::Ended(why) => {
//!             println!("ended: {why:?}");
//!             return Ok(());
//!         }
//!         other => println!("{other:?}"),
//!     }
//! }
//! meeting.leave().await
//! # }
//! ```
//!
//! `examples/join.rs` is a complete program (`cargo run -p convene-client --example join --
//! ws://127.0.0.1:8080/ws standup Ada`).
//!
//! Underneath are the pieces the test suites and the load tool use directly: [`Signaling`] (the
//! WebSocket) and [`MediaSession`] (a str0m peer connection driven by a task), and [`parts`] for
//! tools that run a session's peer their own way.

pub mod frame;
pub mod histogram;
pub mod media;
pub mod meeting;
pub mod signaling;

pub use media::parts;
pub use media::{
    new_dtls_cert, Layers, LeanStats, MediaConfig, MediaError, MediaEvent, MediaSession,
    MediaStats, NetCounters, Outcome, PacketConfig, PublishOptions, Publishing, ReceiveOnly,
    Synthesizer, TrackStats, Transport,
};
pub use meeting::{
    EndReason, JoinRequest, Meeting, MeetingError, MeetingEvent, MeetingOptions, Reconnect,
};
pub use signaling::{join_msg, ClientError, Closed, Signaling};
