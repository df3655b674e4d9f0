//! Host powers in a room (docs/protocol.md, *Host mute, removal, end*): the policy decides whether
//! the actor may; the room applies it, tells whom it concerns, and writes the audit log.

use convene_proto::{
    ErrorCode, MeetingSettings, ModerationAction, ParticipantId, Role, ServerMessage, Source,
};
use convene_store::{LeaveReason, NewAuditEntry, NewBan};

use super::command::AnswerTo;
use super::plane::{Actor, RoomAnswer, RoomOp};
use super::room::{Continue, Ending, Room};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::policy::{self, Power};

impl Room {
    /// Applies a host power asked by `actor`. Answers `reply` (a removal once its ban is stored).
    pub(super) async fn moderate(
        &mut self,
        actor: Actor,
        op: RoomOp,
        reply: Option<AnswerTo>,
    ) -> Continue {
        let result = self.check_power(&actor, &op);
        if let Err(e) = result {
            answer(reply, Err(e));
            return Continue::Go;
        }
        let by = self.name_of(&actor);
        let settings_changed = matches!(op, RoomOp::SetLocked { .. } | RoomOp::SetLobby { .. });
        let outcome = match op {
            RoomOp::Mute { target, source } => self.host_mute(&actor, &target, source, by),
            RoomOp::MuteAll { source } => self.mute_all(&actor, source, by),
            RoomOp::AllowUnmute { target, source } => {
                self.allow_unmute(&actor, &target, source, by)
            }
            RoomOp::LowerHand { target } => self.lower_hand(&actor, &target, by),
            RoomOp::Remove { target } => return self.remove_for_good(&actor, &target, reply).await,
            RoomOp::DeleteFile { file_id } => {
                // Answered once the row is deleted (files.rs).
                let reply = reply.unwrap_or_else(|| tokio::sync::oneshot::channel().0);
                self.delete_file(&actor, file_id, reply);
                return Continue::Go;
            }
            RoomOp::StartRecording => self.start_recording(&actor),
            RoomOp::StopRecording { reason } => {
                self.stop_recording(&actor, reason);
                Ok(())
            }
            RoomOp::SetRole { target, role } => self.set_role(&actor, &target, role, by),
            RoomOp::TransferHost { target } => self.transfer_host(&actor, &target),
            RoomOp::SetLocked { locked } => self.set_settings(
                &actor,
                MeetingSettings {
                    locked,
                    ..self.settings
                },
            ),
            RoomOp::SetLobby { enabled } => self.set_settings(
                &actor,
                MeetingSettings {
                    lobby: enabled,
                    ..self.settings
                },
            ),
            RoomOp::Admit { target } => self.admit_logged(&actor, &target).await,
            RoomOp::Deny { target } => {
                let name = self.waiting_name(&target);
                self.deny(&target).map(|()| {
                    self.audit(&actor, "deny", Some(&target), name, None);
                })
            }
            RoomOp::AdmitAll => {
                let ids: Vec<ParticipantId> = self.lobby.iter().map(|w| w.id.clone()).collect();
                for id in ids {
                    // One that cannot be admitted (a full room) is told so; the others still are.
                    let _ = self.admit_logged(&actor, &id).await;
                }
                Ok(())
            }
            RoomOp::End => {
                tracing::info!(room = %self.id, "meeting ended for everyone");
                self.audit(&actor, "end", None, None, None);
                self.end_for_all(Ending::ForAll).await;
                answer(reply, Ok(RoomAnswer::Done));
                return Continue::Stop;
            }
            _ => Err(ServerError::Internal("not a host power".into())),
        };
        let settings = self.settings;
        answer(
            reply,
            outcome.map(|()| match settings_changed {
                true => RoomAnswer::Settings { settings },
                false => RoomAnswer::Done,
            }),
        );
        Continue::Go
    }

    /// Whether `actor` may do `op`: a participant by its role (and on whom), an outsider always
    /// (the REST layer asked the policy whether it may manage the room).
    fn check_power(&self, actor: &Actor, op: &RoomOp) -> Result<(), ServerError> {
        let Actor::Participant { id } = actor else {
            return Ok(());
        };
        let Some(me) = self.find(id) else {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "not in this room",
            ));
        };
        let (power, target) = match op {
            RoomOp::Mute { target, .. }
            | RoomOp::AllowUnmute { target, .. }
            | RoomOp::LowerHand { target } => (Power::Mute, Some(target)),
            RoomOp::MuteAll { .. } => (Power::MuteAll, None),
            RoomOp::Remove { target } => (Power::Remove, Some(target)),
            RoomOp::SetRole { target, .. } => (Power::SetRole, Some(target)),
            RoomOp::TransferHost { target } => (Power::TransferHost, Some(target)),
            RoomOp::End => (Power::End, None),
            RoomOp::DeleteFile { .. } => (Power::DeleteFile, None),
            RoomOp::StartRecording | RoomOp::StopRecording { .. } => (Power::Record, None),
            _ => (Power::Door, None),
        };
        // A token's `record` grant lets its holder record whatever its role.
        if power == Power::Record && me.grants.as_ref().is_some_and(|g| g.record) {
            return Ok(());
        }
        let target_role = target.and_then(|t| self.find(t)).map(|p| p.info.role);
        policy::may_use(me.info.role, power, target_role)?;
        if target.is_some_and(|t| t == id) && power != Power::Mute {
            return Err(ServerError::client(
                ErrorCode::InvalidMessage,
                "that cannot be done to yourself",
            ));
        }
        Ok(())
    }

    fn target(&self, id: &ParticipantId) -> Result<(), ServerError> {
        match self.find(id) {
            Some(p) if !p.hidden() => Ok(()),
            _ => Err(ServerError::client(
                ErrorCode::NotFound,
                "nobody of that id is in the meeting",
            )),
        }
    }

    fn host_mute(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
        source: Source,
        by: Option<String>,
    ) -> Result<(), ServerError> {
        self.target(target)?;
        let source = screen_with_audio(source);
        self.hold_muted(target, source, by);
        self.audit(actor, "mute", Some(target), None, Some(source_name(source)));
        Ok(())
    }

    /// Mutes `source` of `target` until a host allows it back, and tells them.
    fn hold_muted(&mut self, target: &ParticipantId, source: Source, by: Option<String>) {
        self.update(target, |info| {
            if !info.host_muted.contains(&source) {
                info.host_muted.push(source);
            }
            info.unmute_asked.retain(|s| *s != source);
            match source {
                Source::Microphone => info.mic_muted = true,
                Source::Camera => info.camera_muted = true,
                Source::Screen | Source::ScreenAudio => {}
            }
        });
        self.media_mute(target, source, true);
        self.keep_host_mutes(target);
        self.tell_moderated(target, ModerationAction::Muted, Some(source), by);
    }

    /// Records `target`'s host mutes as they are now, so that a restore after a restart or a
    /// node's death brings them back (rooms/restore.rs).
    fn keep_host_mutes(&self, target: &ParticipantId) {
        if let Some(p) = self.find(target) {
            if p.in_record() {
                self.writer.host_muted(p.session, &p.info.host_muted);
            }
        }
    }

    fn mute_all(
        &mut self,
        actor: &Actor,
        source: Source,
        by: Option<String>,
    ) -> Result<(), ServerError> {
        if !matches!(source, Source::Microphone | Source::Camera) {
            return Err(ServerError::client(
                ErrorCode::InvalidMessage,
                "mute_all takes microphone or camera",
            ));
        }
        let targets: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| !p.info.role.moderates() && !p.hidden())
            .map(|p| p.info.id.clone())
            .collect();
        for id in targets {
            self.hold_muted(&id, source, by.clone());
        }
        self.audit(actor, "mute_all", None, None, Some(source_name(source)));
        Ok(())
    }

    fn allow_unmute(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
        source: Source,
        by: Option<String>,
    ) -> Result<(), ServerError> {
        self.target(target)?;
        let source = screen_with_audio(source);
        self.update(target, |info| {
            info.host_muted.retain(|s| *s != source);
            info.unmute_asked.retain(|s| *s != source);
        });
        self.keep_host_mutes(target);
        if source == Source::Screen {
            // Nothing of the screen flows unless shared again; sharing is the participant's act.
            self.media_mute(target, source, false);
        }
        self.tell_moderated(target, ModerationAction::UnmuteAllowed, Some(source), by);
        self.audit(
            actor,
            "allow_unmute",
            Some(target),
            None,
            Some(source_name(source)),
        );
        Ok(())
    }

    /// A host-muted participant asks to unmute `source`: the hosts see it in its `unmute_asked`.
    pub(super) fn ask_to_unmute(
        &mut self,
        from: &ParticipantId,
        source: Source,
    ) -> Result<(), ServerError> {
        let source = screen_with_audio(source);
        if !self
            .find(from)
            .is_some_and(|p| p.info.host_muted.contains(&source))
        {
            return Err(ServerError::client(
                ErrorCode::InvalidMessage,
                "no host muted that source of yours: unmute it yourself",
            ));
        }
        self.update(from, |info| {
            if !info.unmute_asked.contains(&source) {
                info.unmute_asked.push(source);
            }
        });
        Ok(())
    }

    fn lower_hand(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
        by: Option<String>,
    ) -> Result<(), ServerError> {
        self.target(target)?;
        self.update(target, |info| info.hand_raised = false);
        self.tell_moderated(target, ModerationAction::HandLowered, None, by);
        self.audit(actor, "lower_hand", Some(target), None, None);
        Ok(())
    }

    /// Removes `target` and bans it from this meeting; `reply` is answered once the ban is stored.
    async fn remove_for_good(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
        reply: Option<AnswerTo>,
    ) -> Continue {
        if let Err(e) = self.target(target) {
            answer(reply, Err(e));
            return Continue::Go;
        }
        let (Some(meeting), Some(p)) = (self.meeting, self.find(target)) else {
            answer(
                reply,
                Err(ServerError::Internal(
                    "a participant without a meeting".into(),
                )),
            );
            return Continue::Go;
        };
        let ban = NewBan {
            meeting,
            participant_id: target.0.clone(),
            user: p.user,
            identity: p.identity.clone(),
            display_name: p.info.display_name.clone(),
            created_at: now_ms(),
        };
        if let Some(conn) = p.conn() {
            conn.send(&ServerMessage::Closing {
                reason: "removed".into(),
            });
            conn.close(convene_proto::close::REMOVED, "removed");
        }
        self.bans
            .add(target.clone(), ban.user, ban.identity.clone());
        self.audit(actor, "remove", Some(target), None, None);
        self.writer.ban(ban, reply);
        self.remove(target, LeaveReason::Removed).await;
        Continue::Go
    }

    fn set_role(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
        role: Role,
        by: Option<String>,
    ) -> Result<(), ServerError> {
        self.target(target)?;
        if role == Role::Host || self.find(target).is_some_and(|p| p.info.role == Role::Host) {
            return Err(ServerError::client(
                ErrorCode::InvalidMessage,
                "the host changes with transfer_host",
            ));
        }
        self.change_role(target, role, by);
        self.audit(actor, "set_role", Some(target), None, Some(role.as_str()));
        Ok(())
    }

    fn transfer_host(&mut self, actor: &Actor, target: &ParticipantId) -> Result<(), ServerError> {
        self.target(target)?;
        let by = self.name_of(actor);
        let hosts: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| p.info.role == Role::Host && &p.info.id != target)
            .map(|p| p.info.id.clone())
            .collect();
        for id in hosts {
            self.change_role(&id, Role::CoHost, None);
        }
        self.change_role(target, Role::Host, by);
        self.audit(actor, "transfer_host", Some(target), None, None);
        Ok(())
    }

    fn set_settings(&mut self, actor: &Actor, next: MeetingSettings) -> Result<(), ServerError> {
        let before = self.settings;
        if next == before {
            return Ok(());
        }
        self.settings = next;
        if let Some(meeting) = self.meeting {
            // Kept for a restore after a restart or a node's death.
            self.writer.settings(meeting, next);
        }
        self.broadcast(&ServerMessage::MeetingUpdated { settings: next });
        let action = match (before.locked != next.locked, next.locked, next.lobby) {
            (true, true, _) => "lock",
            (true, false, _) => "unlock",
            (false, _, true) => "lobby_on",
            (false, _, false) => "lobby_off",
        };
        self.audit(actor, action, None, None, None);
        Ok(())
    }

    async fn admit_logged(
        &mut self,
        actor: &Actor,
        target: &ParticipantId,
    ) -> Result<(), ServerError> {
        let name = self.waiting_name(target);
        self.admit(target)?;
        self.audit(actor, "admit", Some(target), name, None);
        Ok(())
    }

    fn waiting_name(&self, id: &ParticipantId) -> Option<String> {
        self.lobby
            .iter()
            .find(|w| &w.id == id)
            .map(|w| w.req.display_name.clone())
    }

    /// Tells `target` what a host did to it.
    fn tell_moderated(
        &self,
        target: &ParticipantId,
        action: ModerationAction,
        source: Option<Source>,
        by_name: Option<String>,
    ) {
        let msg = ServerMessage::Moderated {
            action,
            source,
            role: None,
            by_name,
        };
        self.send_to(target, &msg);
    }

    /// The display name of a participant actor (what `moderated.by_name` shows).
    pub(super) fn name_of(&self, actor: &Actor) -> Option<String> {
        match actor {
            Actor::Participant { id } => self.find(id).map(|p| p.info.display_name.clone()),
            _ => None,
        }
    }

    /// Writes a moderation action to the meeting's audit log (off the room's loop, in order).
    pub(super) fn audit(
        &self,
        actor: &Actor,
        action: &str,
        target: Option<&ParticipantId>,
        target_name: Option<String>,
        detail: Option<&str>,
    ) {
        let Some(meeting) = self.meeting else { return };
        let (kind, actor_id) = match actor {
            Actor::Participant { id } => ("participant", Some(id.0.clone())),
            Actor::User { id } => ("user", Some(id.to_string())),
            Actor::ApiKey { id } => ("api_key", Some(id.clone())),
            Actor::System => ("system", None),
        };
        let target_name = target_name.or_else(|| {
            target
                .and_then(|t| self.find(t))
                .map(|p| p.info.display_name.clone())
        });
        self.writer.audit(NewAuditEntry {
            meeting,
            at: now_ms(),
            actor_kind: kind.into(),
            actor_id,
            actor_name: self.name_of(actor),
            action: action.into(),
            target_id: target.map(|t| t.0.clone()),
            target_name,
            detail: detail.map(str::to_owned),
        });
    }
}

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Microphone => "microphone",
        Source::Camera => "camera",
        Source::Screen => "screen",
        Source::ScreenAudio => "screen_audio",
    }
}

fn answer(reply: Option<AnswerTo>, result: Result<RoomAnswer, ServerError>) {
    if let Some(r) = reply {
        let _ = r.send(result);
    }
}

/// A host mute of the screen's audio is a mute of the screen: they go together.
fn screen_with_audio(s: Source) -> Source {
    match s {
        Source::ScreenAudio => Source::Screen,
        other => other,
    }
}
