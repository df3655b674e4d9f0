//! Recording a meeting from its room (docs/protocol.md, *Recording*): who may start and stop it
//! (checked with the host powers, rooms/moderation.rs), everyone told, a joiner told in `joined`,
//! a planned room with `record_on_connect` recorded from its start. The files are the recorder's
//! (crate::recording); the room says when.

use std::time::Instant;

use convene_proto::{ErrorCode, RecordingStatus, RecordingStopReason, ServerMessage};
use convene_store::NewRecording;

use super::plane::Actor;
use super::room::{PlanState, Room};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::recording::clock::MeetingClock;
use crate::recording::StartRecording;

/// Whether the meeting is being recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Recording {
    /// Not recorded so far: a `record_on_connect` plan starts it.
    #[default]
    Never,
    On {
        public_id: String,
        status: RecordingStatus,
    },
    /// Stopped (by a host, the disk guard, a failure): a plan does not start it again.
    Stopped,
}

impl Room {
    /// What a joiner is told in `joined.recording`.
    pub(super) fn recording_status(&self) -> Option<RecordingStatus> {
        match &self.recording {
            Recording::On { status, .. } => Some(status.clone()),
            Recording::Never | Recording::Stopped => None,
        }
    }

    /// Starts recording for `actor` (already allowed). Starting what runs changes nothing.
    pub(super) fn start_recording(&mut self, actor: &Actor) -> Result<(), ServerError> {
        if matches!(self.recording, Recording::On { .. }) {
            return Ok(());
        }
        let (Some(recorder), Some(media)) = (self.state.recorder.clone(), &self.state.media) else {
            return Err(ServerError::client(
                ErrorCode::Forbidden,
                "recording is disabled on this server",
            ));
        };
        let Some(meeting) = self.meeting else {
            return Err(ServerError::client(
                ErrorCode::NotFound,
                "the meeting has not started",
            ));
        };
        // The recording is written here, from the tracks this node's workers hold; those of
        // participants whose media another node holds would be missing from it.
        if media.spans_nodes(&self.id) {
            return Err(ServerError::client(
                ErrorCode::ServerBusy,
                "this meeting is larger than one server (its media is spread over several), which cannot be recorded yet",
            ));
        }
        let config = &self.state.config.recording;
        if !crate::recording::disk::has_room(recorder.root(), config.min_free_bytes()) {
            return Err(ServerError::client(
                ErrorCode::ServerBusy,
                "the server's disk is too full to record (recording.min_free_mb)",
            ));
        }
        let (at_ms, at) = (now_ms(), Instant::now());
        let public_id = crate::recording::new_public_id();
        let by_name = self.name_of(actor);
        let row = NewRecording {
            public_id: public_id.clone(),
            meeting,
            started_at: at_ms,
            dir: public_id.clone(),
            started_by: by_name.clone(),
            node_id: self.state.config.server.node_id.clone(),
        };
        let start = StartRecording {
            public_id: public_id.clone(),
            meeting,
            room: self.id.clone(),
            dir: public_id.clone(),
            clock: MeetingClock::new(self.meeting_since, at_ms, at),
            at,
            names: self
                .participants
                .iter()
                .map(|p| (p.info.id.clone(), p.info.display_name.clone()))
                .collect(),
        };
        // The writer first, so that it knows the meeting before the first track arrives.
        recorder.start_recording(row, start);
        media.set_recording(&self.id, true);
        let status = RecordingStatus {
            since: at_ms,
            by_name: by_name.clone(),
        };
        tracing::info!(room = %self.id, recording = %public_id, "recording started");
        self.broadcast(&ServerMessage::RecordingStarted {
            recording: status.clone(),
        });
        self.event(
            "recording_started",
            serde_json::json!({"recording_id": public_id, "by_name": by_name}),
        );
        self.audit(actor, "start_recording", None, None, Some(&public_id));
        self.recording = Recording::On { public_id, status };
        Ok(())
    }

    /// Stops the recording (already allowed); stopping what does not run changes nothing.
    pub(super) fn stop_recording(&mut self, actor: &Actor, reason: RecordingStopReason) {
        let Recording::On { public_id, .. } =
            std::mem::replace(&mut self.recording, Recording::Stopped)
        else {
            return;
        };
        if let Some(media) = &self.state.media {
            media.set_recording(&self.id, false);
        }
        if let Some(recorder) = &self.state.recorder {
            recorder.stop_recording(&self.id, Instant::now());
        }
        let why = match reason {
            RecordingStopReason::Stopped => "stopped",
            RecordingStopReason::DiskFull => "disk_full",
            RecordingStopReason::Failed => "failed",
        };
        tracing::info!(room = %self.id, recording = %public_id, reason = why, "recording stopped");
        self.broadcast(&ServerMessage::RecordingStopped { reason });
        self.event(
            "recording_stopped",
            serde_json::json!({"recording_id": public_id, "reason": why}),
        );
        self.audit(actor, "stop_recording", None, None, Some(why));
    }

    /// The meeting ends (or the server drains): its recording stops with it, files finished.
    pub(super) fn recording_ends(&mut self) {
        self.stop_recording(&Actor::System, RecordingStopReason::Stopped);
    }

    /// A planned room with `record_on_connect` records its meeting from its start (once: a
    /// recording a host stopped is not started again by the next join).
    pub(super) fn record_on_connect(&mut self) {
        let planned = matches!(self.plan, PlanState::Planned(p) if p.record_on_connect);
        if !planned || self.recording != Recording::Never || self.meeting.is_none() {
            return;
        }
        if let Err(e) = self.start_recording(&Actor::System) {
            tracing::warn!(room = %self.id, error = %e, "cannot record the meeting on connect");
            self.recording = Recording::Stopped;
        }
    }

    /// A newcomer's name, for the tracks it will publish into a running recording.
    pub(super) fn recording_name(&self, p: &convene_proto::ParticipantInfo) {
        if let (Recording::On { .. }, Some(recorder)) = (&self.recording, &self.state.recorder) {
            recorder.name(&self.id, &p.id, &p.display_name);
        }
    }
}
