//! What two nodes tell each other over the media link of the rooms spanning them. Each WebSocket
//! message on the link is one item, sealed (seal.rs). An item's first byte says what it is:
//! `1` control, followed by the JSON of [`Control`] (rare: joins, SDP, links); `2` a relay
//! message from one core to one or more cores of the other node (a packet that several of them
//! want crosses once): the sending worker (1 byte), the number of receiving workers (1 byte, at
//! least 1) and each (1 byte), then the media core's own encoding of the message
//! (`convene_media::RelayEncoder`, one stream per sending worker).

use convene_proto::{ErrorCode, ParticipantId, RoomId, Source, TrackId};
use serde::{Deserialize, Serialize};

pub use super::event::WireEvent;
use crate::media::{source_from_proto, source_to_proto, MediaCmd, MediaOut};

const CONTROL: u8 = 1;
const RELAY: u8 = 2;

/// Control between a room's owner node and a helper node holding media sessions for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Control {
    // Owner to helper: the room's commands about participants placed there.
    Add {
        room: RoomId,
        participant: ParticipantId,
    },
    Remove {
        participant: ParticipantId,
    },
    Offer {
        participant: ParticipantId,
        sdp: String,
        sources: Vec<(String, Source)>,
    },
    Answer {
        participant: ParticipantId,
        sdp: String,
    },
    Candidate {
        participant: ParticipantId,
        candidate: String,
    },
    VideoConstraint {
        participant: ParticipantId,
        track: TrackId,
        size: Option<(u32, u32)>,
    },
    ServerMute {
        participant: ParticipantId,
        source: Source,
        muted: bool,
    },
    SetReceives {
        participant: ParticipantId,
        receives: bool,
    },
    /// Link the owner's worker `owner` with the helper's worker `helper` for `room`.
    Link {
        room: RoomId,
        owner: u32,
        helper: u32,
    },
    Unlink {
        room: RoomId,
        owner: u32,
        helper: u32,
    },
    // Helper to owner.
    /// The helper's workers holding `room` now.
    Hosts {
        room: RoomId,
        workers: Vec<u32>,
    },
    /// The helper linked its side: the owner may link its own (and its messages will be heard).
    Linked {
        room: RoomId,
        owner: u32,
        helper: u32,
    },
    SdpAnswer {
        participant: ParticipantId,
        sdp: String,
    },
    /// A participant's request refused, in the words the client is told.
    Refused {
        participant: ParticipantId,
        request: String,
        code: ErrorCode,
        message: String,
    },
    Event(WireEvent),
    /// Either way, every few seconds: the link is alive (a link silent for longer is closed).
    Beat,
}

/// One item of the link.
#[derive(Debug)]
pub enum Item {
    Control(Control),
    Relay {
        from: u8,
        to: Vec<u8>,
        bytes: Vec<u8>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    #[error("empty item")]
    Empty,
    #[error("unknown item kind {0}")]
    Kind(u8),
    #[error("a relay item without its workers")]
    Short,
    #[error("control: {0}")]
    Json(#[from] serde_json::Error),
}

impl Item {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        match self {
            Item::Control(c) => {
                out.push(CONTROL);
                // Plain data: serializing it cannot fail.
                let _ = serde_json::to_writer(&mut *out, c);
            }
            Item::Relay { from, to, bytes } => {
                // A worker number is one byte, so at most 256 receivers; the plane has no more.
                let n = to.len().min(255);
                out.extend_from_slice(&[RELAY, *from, n as u8]);
                out.extend_from_slice(&to[..n]);
                out.extend_from_slice(bytes);
            }
        }
    }

    pub fn decode(b: &[u8]) -> Result<Item, ItemError> {
        match b.first() {
            None => Err(ItemError::Empty),
            Some(&CONTROL) => Ok(Item::Control(serde_json::from_slice(&b[1..])?)),
            Some(&RELAY) => {
                let (&from, &n) = (
                    b.get(1).ok_or(ItemError::Short)?,
                    b.get(2).ok_or(ItemError::Short)?,
                );
                let end = 3 + usize::from(n);
                match b.get(3..end) {
                    Some(to) if n > 0 => Ok(Item::Relay {
                        from,
                        to: to.to_vec(),
                        bytes: b[end..].to_vec(),
                    }),
                    _ => Err(ItemError::Short),
                }
            }
            Some(&k) => Err(ItemError::Kind(k)),
        }
    }
}

/// The control item for a command the owner's room gave about a participant placed on the helper;
/// None for commands that are not about one participant's session.
pub fn control_of(cmd: MediaCmd) -> Option<Control> {
    Some(match cmd {
        MediaCmd::AddParticipant { room, participant } => Control::Add { room, participant },
        MediaCmd::RemoveParticipant { participant } => Control::Remove { participant },
        MediaCmd::Offer {
            participant,
            sdp,
            sources,
        } => Control::Offer {
            participant,
            sdp,
            sources: sources
                .into_iter()
                .map(|(mid, s)| (mid, source_to_proto(s)))
                .collect(),
        },
        MediaCmd::Answer { participant, sdp } => Control::Answer { participant, sdp },
        MediaCmd::Candidate {
            participant,
            candidate,
        } => Control::Candidate {
            participant,
            candidate,
        },
        MediaCmd::VideoConstraint {
            participant,
            track,
            size,
        } => Control::VideoConstraint {
            participant,
            track,
            size,
        },
        MediaCmd::ServerMute {
            participant,
            source,
            muted,
        } => Control::ServerMute {
            participant,
            source: source_to_proto(source),
            muted,
        },
        MediaCmd::SetReceives {
            participant,
            receives,
        } => Control::SetReceives {
            participant,
            receives,
        },
        _ => return None,
    })
}

/// The command a helper gives its own plane for an owner's control item (None: not a command).
pub fn command_of(c: Control) -> Option<(Option<RoomId>, MediaCmd)> {
    Some(match c {
        Control::Add { room, participant } => (
            Some(room.clone()),
            MediaCmd::AddParticipant { room, participant },
        ),
        Control::Remove { participant } => (None, MediaCmd::RemoveParticipant { participant }),
        Control::Offer {
            participant,
            sdp,
            sources,
        } => (
            None,
            MediaCmd::Offer {
                participant,
                sdp,
                sources: sources
                    .into_iter()
                    .map(|(mid, s)| (mid, source_from_proto(s)))
                    .collect(),
            },
        ),
        Control::Answer { participant, sdp } => (None, MediaCmd::Answer { participant, sdp }),
        Control::Candidate {
            participant,
            candidate,
        } => (
            None,
            MediaCmd::Candidate {
                participant,
                candidate,
            },
        ),
        Control::VideoConstraint {
            participant,
            track,
            size,
        } => (
            None,
            MediaCmd::VideoConstraint {
                participant,
                track,
                size,
            },
        ),
        Control::ServerMute {
            participant,
            source,
            muted,
        } => (
            None,
            MediaCmd::ServerMute {
                participant,
                source: source_from_proto(source),
                muted,
            },
        ),
        Control::SetReceives {
            participant,
            receives,
        } => (
            None,
            MediaCmd::SetReceives {
                participant,
                receives,
            },
        ),
        _ => return None,
    })
}

/// What a helper tells the owner for its plane's report about a session it holds.
pub fn report_of(out: MediaOut) -> Control {
    match out {
        MediaOut::Answer { participant, sdp } => Control::SdpAnswer { participant, sdp },
        MediaOut::Failed {
            participant,
            request,
            error,
        } => {
            let e = crate::error::media_failure(&error);
            Control::Refused {
                participant,
                request: request.to_owned(),
                code: e.code(),
                message: e.public_message(),
            }
        }
        MediaOut::Refused {
            participant,
            request,
            code,
            message,
        } => Control::Refused {
            participant,
            request: request.to_owned(),
            code,
            message,
        },
        MediaOut::Event(e) => Control::Event(WireEvent::from(e)),
        // Made by an owner for its own rooms, never by a helper's plane; told as what it is.
        MediaOut::Moved { participant } => Control::Event(WireEvent::SessionReset { participant }),
    }
}

/// The requests a refusal may name (the protocol's message types), so the owner passes on only
/// its own words.
fn request_name(r: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "join",
        "sdp_offer",
        "sdp_answer",
        "ice_candidate",
        "set_video_constraint",
        "mute",
        "receives",
    ];
    KNOWN.iter().find(|k| **k == r).copied().unwrap_or("media")
}

/// The owner's report for a helper's control item about a session (None: not a report).
pub fn out_of(c: Control) -> Option<MediaOut> {
    Some(match c {
        Control::SdpAnswer { participant, sdp } => MediaOut::Answer { participant, sdp },
        Control::Refused {
            participant,
            request,
            code,
            message,
        } => MediaOut::Refused {
            participant,
            request: request_name(&request),
            code,
            message,
        },
        Control::Event(e) => MediaOut::Event(e.into()),
        _ => return None,
    })
}
