//! One recorded track: a subscriber that keeps no peer connection. It takes the publisher's packets
//! as a participant would (for a simulcast video the layer it is set to, switching at keyframes),
//! makes them one continuous stream (`rewrite.rs`), puts whole frames back together
//! (`assemble.rs`) and hands them out on the core's clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use str0m::format::Codec;

use super::assemble::{Assembled, Assembler, Held};
use super::depacketize::Depack;
use super::output::{GapReason, Recorded, RecordedCodec, RecordingId};
use crate::ids::TrackKey;
use crate::packet::InPacket;
use crate::rewrite::Rewriter;
use crate::simulcast::{Decision, LayerId, LayerState};
use crate::types::{TrackKind, TrackSource};

/// Whose track, for the `Started` output.
#[derive(Debug, Clone)]
pub(crate) struct TrackLabel {
    pub room: convene_proto::RoomId,
    pub participant: convene_proto::ParticipantId,
    pub track: convene_proto::TrackId,
    pub kind: TrackKind,
    pub source: TrackSource,
}

/// The stream's codec, found from its first packet.
#[derive(Debug)]
struct Decoder {
    codec: Codec,
    depack: Depack,
    clock_rate: u32,
}

#[derive(Debug)]
pub(crate) struct Recorder {
    pub id: RecordingId,
    pub key: TrackKey,
    label: TrackLabel,
    layer: LayerState,
    rewrite: Rewriter,
    asm: Assembler,
    decoder: Option<Decoder>,
    /// RTP time and instant of the first frame: the origin of every frame's `at`.
    origin: Option<(u64, Instant)>,
    /// The last frame handed out (for the start of a gap).
    last_at: Option<Instant>,
    /// Packets given up on, reported as a gap before the next frame.
    pending_gap: u64,
    /// Packets of another codec than the first (a renegotiation); not recorded.
    pub foreign: u64,
    last_arrival: Option<Instant>,
}

impl Recorder {
    pub(crate) fn new(id: RecordingId, key: TrackKey, label: TrackLabel, wait: Duration) -> Self {
        let asm = match label.kind {
            TrackKind::Audio => Assembler::audio(wait.min(AUDIO_WAIT)),
            TrackKind::Video => Assembler::video(wait),
        };
        Recorder {
            id,
            key,
            layer: LayerState::Paused,
            label,
            rewrite: Rewriter::default(),
            asm,
            decoder: None,
            origin: None,
            last_at: None,
            pending_gap: 0,
            foreign: 0,
            last_arrival: None,
        }
    }

    pub(crate) fn room(&self) -> &convene_proto::RoomId {
        &self.label.room
    }

    pub(crate) fn kind(&self) -> TrackKind {
        self.label.kind
    }

    /// The layers the publisher must keep sending for this recorder.
    pub(crate) fn needed(&self) -> impl Iterator<Item = LayerId> {
        self.layer.needed()
    }

    /// Record `target` (the best layer arriving) from now on. Returns the layer to ask a
    /// keyframe of, when the switch waits for one.
    pub(crate) fn set_layer(&mut self, target: LayerId) -> Option<LayerId> {
        self.layer.set_target(Some(target))
    }

    /// One forwarded packet of the track. Returns the layer to ask a keyframe of when a frame
    /// was lost and the video must resume at a keyframe.
    pub(crate) fn on_packet(
        &mut self,
        d: &InPacket,
        now: Instant,
        out: &mut VecDeque<Recorded>,
    ) -> Option<LayerId> {
        let switched = match self.label.kind {
            TrackKind::Audio => false,
            TrackKind::Video => match self.layer.on_frame(d.rid, d.keyframe_start) {
                Decision::Drop => return None,
                Decision::Forward { switched } => switched,
            },
        };
        let codec = d.params.spec().codec;
        match &self.decoder {
            Some(dec) if dec.codec != codec => {
                self.foreign += 1;
                return None;
            }
            Some(_) => {}
            None => {
                let depack = Depack::for_codec(codec)?;
                let clock_rate = d.params.spec().clock_rate.get();
                self.decoder = Some(Decoder {
                    codec,
                    depack,
                    clock_rate,
                });
            }
        }
        let w = self.rewrite.rewrite(d, switched)?;
        self.last_arrival = Some(d.arrival);
        self.asm.push(Held {
            seq: w.seq,
            time: w.time_ext,
            marker: d.marker,
            keyframe_start: d.keyframe_start,
            arrival: d.arrival,
            payload: d.payload.clone(),
        });
        self.drain(now, out)
    }

    /// Hand out what is ready at `now` (frames whose missing packets waited long enough are
    /// given up on). Returns the layer to ask a keyframe of after a loss.
    pub(crate) fn drain(&mut self, now: Instant, out: &mut VecDeque<Recorded>) -> Option<LayerId> {
        while let Some(a) = self.asm.poll(now) {
            match a {
                Assembled::Skipped { packets } => {
                    self.pending_gap += packets;
                }
                Assembled::Frame(packets) => {
                    if !self.write(&packets, out) {
                        self.asm.resume_at_keyframe();
                        self.pending_gap += packets.len() as u64;
                    }
                }
            }
        }
        self.keyframe_wanted()
    }

    /// The layer a keyframe is awaited on: the first one, a switch's, or one after a loss. Asked
    /// again at each tick while it does not come (the core rate-limits the requests).
    pub(crate) fn keyframe_wanted(&self) -> Option<LayerId> {
        if self.label.kind != TrackKind::Video {
            return None;
        }
        self.layer.awaiting_keyframe().or_else(|| {
            self.asm
                .awaiting_keyframe()
                .then(|| self.layer.target())
                .flatten()
        })
    }

    /// One whole frame out; false when it could not be read.
    fn write(&mut self, packets: &[Held], out: &mut VecDeque<Recorded>) -> bool {
        let (Some(first), Some(dec)) = (packets.first(), self.decoder.as_mut()) else {
            return true;
        };
        let Ok(data) = dec.depack.frame(packets) else {
            return false;
        };
        let (t0, at0) = *self.origin.get_or_insert((first.time, first.arrival));
        let micros = first.time.saturating_sub(t0) * 1_000_000 / u64::from(dec.clock_rate);
        let mut at = at0 + Duration::from_micros(micros);
        // Files count in milliseconds: a frame within one of the last (a layer switch rebases the
        // time to just after it) would share its timestamp, which players take for a broken stream.
        if let Some(last) = self.last_at {
            at = at.max(last + MIN_FRAME_SPACING);
        }
        if self.last_at.is_none() {
            out.push_back(Recorded::Started {
                id: self.id,
                room: self.label.room.clone(),
                participant: self.label.participant.clone(),
                track: self.label.track.clone(),
                kind: self.label.kind,
                source: self.label.source,
                codec: recorded_codec(dec.codec),
                clock_rate: dec.clock_rate,
                // WebRTC always negotiates Opus as two channels (RFC 7587 §7), mono or not.
                channels: (dec.codec == Codec::Opus).then_some(2),
                at,
            });
        }
        // Packets given up on before the first frame are before the recording's start.
        let skipped = std::mem::take(&mut self.pending_gap);
        if let (Some(from), true) = (self.last_at, skipped > 0) {
            out.push_back(Recorded::Gap {
                id: self.id,
                from,
                to: at,
                reason: GapReason::Lost,
                packets: skipped,
            });
        }
        self.last_at = Some(at);
        out.push_back(Recorded::Frame {
            id: self.id,
            at,
            keyframe: self.label.kind == TrackKind::Audio || first.keyframe_start,
            data,
        });
        true
    }

    /// Frames handed out were lost downstream (the server's queue to its writer was full): go on
    /// from the next keyframe, and report the packets skipped until then as a gap.
    pub(crate) fn resync(&mut self) {
        if self.label.kind == TrackKind::Video {
            self.asm.resume_at_keyframe();
        }
    }

    /// The track ended (or its recording stopped): whole frames behind a hole are handed out
    /// (nothing more will fill it), what is not whole is dropped. `at` of the end is the last
    /// frame's time.
    pub(crate) fn end(&mut self, out: &mut VecDeque<Recorded>) {
        if let Some(last) = self.last_arrival {
            self.drain(last + Duration::from_secs(3600), out);
        }
        if let Some(at) = self.last_at {
            out.push_back(Recorded::Ended { id: self.id, at });
        }
    }
}

/// The least time between two frames of a recorded track (a file's timestamp unit).
const MIN_FRAME_SPACING: Duration = Duration::from_millis(1);

/// Audio is not retransmitted (browsers do not NACK it): wait only for reordering.
const AUDIO_WAIT: Duration = Duration::from_millis(60);

fn recorded_codec(c: Codec) -> RecordedCodec {
    match c {
        Codec::Vp8 => RecordedCodec::Vp8,
        Codec::Vp9 => RecordedCodec::Vp9,
        Codec::Av1 => RecordedCodec::Av1,
        Codec::H264 => RecordedCodec::H264,
        // `Depack::for_codec` admits only these five.
        _ => RecordedCodec::Opus,
    }
}
