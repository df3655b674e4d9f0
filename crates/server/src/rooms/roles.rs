//! Roles in a meeting: who hosts it, and how the host role moves (docs/protocol.md, *Roles and
//! permissions*). The policy says which role someone enters with; the room keeps one host.

use convene_proto::{ModerationAction, ParticipantId, Role, ServerMessage, Source};

use super::command::JoinRequest;
use super::room::{PlanState, Room};
use crate::policy::EntryRole;

impl Room {
    /// A meeting takes its plan's settings from its first join.
    pub(super) fn take_plan(&mut self, req: &JoinRequest) {
        if self.plan != PlanState::Unknown {
            return;
        }
        self.plan = match req.plan {
            Some(plan) => {
                self.settings.lobby = plan.lobby;
                PlanState::Planned(plan)
            }
            None => PlanState::AdHoc,
        };
    }

    /// Whether someone hosts (or, arriving, is about to).
    fn has_host(&self) -> bool {
        self.participants.iter().any(|p| p.info.role == Role::Host)
            || self.arriving.iter().any(|a| a.role == Role::Host)
    }

    /// The role a newcomer gets: an owner hosts; a co-host hosts a meeting nobody hosts; the first
    /// of an ad-hoc room hosts it.
    pub(super) fn role_on_entry(&self, entry: EntryRole, hidden: bool) -> Role {
        if hidden {
            return Role::Viewer;
        }
        match entry {
            EntryRole::Owner => Role::Host,
            EntryRole::CoHost if !self.has_host() => Role::Host,
            EntryRole::CoHost => Role::CoHost,
            EntryRole::Participant if self.plan == PlanState::AdHoc && !self.has_host() => {
                Role::Host
            }
            EntryRole::Participant => Role::Participant,
            EntryRole::Viewer => Role::Viewer,
        }
    }

    /// The owner came back: whoever hosted meanwhile becomes a co-host.
    pub(super) fn demote_other_hosts(&mut self, owner: &ParticipantId) {
        let others: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|p| p.info.role == Role::Host && &p.info.id != owner)
            .map(|p| p.info.id.clone())
            .collect();
        for id in others {
            self.change_role(&id, Role::CoHost, None);
        }
    }

    /// The host left: the longest-present co-host hosts now; with none, in an ad-hoc room, the
    /// longest-present participant. A planned room waits for its owner or a co-host.
    pub(super) fn hand_over_host(&mut self) {
        if self.has_host() {
            return;
        }
        let next = self
            .participants
            .iter()
            .filter(|p| !p.hidden())
            .find(|p| p.info.role == Role::CoHost)
            .or_else(|| {
                (self.plan == PlanState::AdHoc).then(|| {
                    self.participants
                        .iter()
                        .filter(|p| !p.hidden())
                        .find(|p| p.info.role == Role::Participant)
                })?
            })
            .map(|p| p.info.id.clone());
        if let Some(id) = next {
            self.change_role(&id, Role::Host, None);
        }
        self.tell_waiters_about_hosts();
    }

    /// Gives `id` the role `role`: announced to everyone, told to the person when someone did it
    /// (`by`), and kept in the record. A new viewer's media stops being forwarded.
    pub(super) fn change_role(&mut self, id: &ParticipantId, role: Role, by: Option<String>) {
        let Some(p) = self.find(id) else { return };
        let (session, was) = (p.session, p.info.role);
        if was == role {
            return;
        }
        self.update(id, |info| info.role = role);
        self.writer.set_role(session, role.as_str());
        if role == Role::Viewer {
            for source in [Source::Microphone, Source::Camera, Source::Screen] {
                self.media_mute(id, source, true);
            }
        } else if was == Role::Viewer {
            self.restore_forwarding(id);
        }
        if by.is_some() || role.moderates() != was.moderates() {
            self.send_to(
                id,
                &ServerMessage::Moderated {
                    action: ModerationAction::RoleChanged,
                    source: None,
                    role: Some(role),
                    by_name: by,
                },
            );
        }
        if role.moderates() && !was.moderates() {
            // A new host or co-host sees who waits.
            let msg = ServerMessage::LobbyUpdated {
                waiting: self.lobby_entries(),
            };
            self.send_to(id, &msg);
        }
    }

    /// A viewer made participant again: forwarding follows its own mutes and the hosts' again.
    fn restore_forwarding(&mut self, id: &ParticipantId) {
        let Some(p) = self.find(id) else { return };
        let info = p.info.clone();
        let held = |s: Source| info.host_muted.contains(&s);
        self.media_mute(
            id,
            Source::Microphone,
            info.mic_muted || held(Source::Microphone),
        );
        self.media_mute(
            id,
            Source::Camera,
            info.camera_muted || held(Source::Camera),
        );
        self.media_mute(id, Source::Screen, held(Source::Screen));
    }
}
