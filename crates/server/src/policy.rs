//! The one place that decides who may enter a room, with which role, and what each role may do
//! there (docs/protocol.md, *Roles and permissions*). Everything else asks here and passes the answer
//! on; nothing else in the server decides permissions.

use convene_proto::{ErrorCode, Role, Source};
use convene_store::{Access, PlannedRoom, UserId};

use crate::error::ServerError;

/// Who is asking: decided by the connection (a session cookie), never by a message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Guest,
    User {
        id: UserId,
        email: String,
    },
    /// The holder of a verified access token for the room it joins.
    Token {
        identity: String,
        grants: crate::auth::tokens::Grants,
    },
}

impl Identity {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Identity::User { id, .. } => Some(*id),
            Identity::Guest | Identity::Token { .. } => None,
        }
    }

    pub fn identity(&self) -> Option<&str> {
        match self {
            Identity::Token { identity, .. } => Some(identity),
            Identity::Guest | Identity::User { .. } => None,
        }
    }
}

/// Whether the actor may send chat messages.
pub fn may_chat(actor: &Identity) -> Result<(), ServerError> {
    match actor {
        Identity::Token { grants, .. } if grants.hidden => Err(ServerError::client(
            ErrorCode::Forbidden,
            "a hidden participant does not chat",
        )),
        Identity::Token { grants, .. } if !grants.chat => Err(ServerError::client(
            ErrorCode::Forbidden,
            "your access token does not grant chat",
        )),
        _ => Ok(()),
    }
}

/// Whether the actor may send reactions. A reaction is a short message to everyone, so it goes
/// with chat: a token that does not grant chat does not grant reactions either.
pub fn may_react(actor: &Identity) -> Result<(), ServerError> {
    may_chat(actor).map_err(|_| {
        ServerError::client(
            ErrorCode::Forbidden,
            "your access token does not grant chat, which reactions are part of",
        )
    })
}

/// Whether a member of the room with `role` (and the token grants it joined with) may publish
/// every one of `sources` (what an offer would send).
pub fn may_publish(
    role: Role,
    grants: Option<&crate::auth::tokens::Grants>,
    sources: &[Source],
) -> Result<(), ServerError> {
    if sources.is_empty() {
        return Ok(());
    }
    if grants.is_some_and(|g| g.hidden) {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "a hidden participant publishes nothing",
        ));
    }
    if role == Role::Viewer {
        return Err(ServerError::client(
            ErrorCode::Forbidden,
            "viewers publish nothing; ask a host to make you a participant",
        ));
    }
    let Some(grants) = grants else {
        return Ok(());
    };
    match sources.iter().find(|s| !grants.publish.allows(**s)) {
        Some(s) => Err(ServerError::client(
            ErrorCode::Forbidden,
            format!(
                "your access token does not grant publishing {}",
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

/// Whether a member of the meeting with `role` (and the token grants it joined with) may share a
/// file. Viewers may not: a file goes to everyone, like a publication, and a webinar's audience
/// publishes nothing (they still chat and download). A token that does not grant chat does not
/// grant files either, since a file appears in the chat; nor does a hidden participant share.
pub fn may_share_file(
    role: Role,
    grants: Option<&crate::auth::tokens::Grants>,
) -> Result<(), ServerError> {
    let refuse = |why: &str| Err(ServerError::client(ErrorCode::Forbidden, why));
    if grants.is_some_and(|g| g.hidden) {
        return refuse("a hidden participant shares nothing");
    }
    if grants.is_some_and(|g| !g.chat) {
        return refuse("your access token does not grant chat, which files are part of");
    }
    if role == Role::Viewer {
        return refuse("viewers do not share files; ask a host to make you a participant");
    }
    Ok(())
}

/// The sources a participant's token grants publishing (every one without a token); its role may
/// still forbid them all (a viewer).
pub fn granted_sources(grants: Option<&crate::auth::tokens::Grants>) -> Vec<Source> {
    [
        Source::Microphone,
        Source::Camera,
        Source::Screen,
        Source::ScreenAudio,
    ]
    .into_iter()
    .filter(|s| grants.is_none_or(|g| !g.hidden && g.publish.allows(*s)))
    .collect()
}

/// A host power (docs/protocol.md, *Roles and permissions*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Mute someone, allow them to unmute, lower their hand.
    Mute,
    MuteAll,
    Remove,
    /// Admit, deny, lock, lobby on or off.
    Door,
    SetRole,
    TransferHost,
    End,
    /// Delete a shared file for everyone.
    DeleteFile,
    /// Start and stop recording the meeting (also granted by a token's `record`).
    Record,
}

/// Whether a participant of `role` may use `power` on someone of `target` role (None: on nobody
/// in particular). Outsiders (the REST API) are decided by [`may_manage_room`] instead.
pub fn may_use(role: Role, power: Power, target: Option<Role>) -> Result<(), ServerError> {
    let refuse = |why: &str| Err(ServerError::client(ErrorCode::Forbidden, why));
    match role {
        Role::Host => Ok(()),
        Role::CoHost => match power {
            Power::SetRole | Power::TransferHost | Power::End => {
                refuse("only the host may do that")
            }
            Power::Mute if target == Some(Role::Host) => refuse("a co-host cannot act on the host"),
            Power::Remove if target.is_some_and(Role::moderates) => {
                refuse("a co-host cannot remove the host or another co-host")
            }
            _ => Ok(()),
        },
        Role::Participant | Role::Viewer => refuse("only the host and co-hosts may do that"),
    }
}

/// Which role someone gets on entering, before the room applies its own rules (the owner takes
/// host back; the first of an ad-hoc room hosts it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryRole {
    Owner,
    CoHost,
    Participant,
    Viewer,
}

impl EntryRole {
    /// Hosts and co-hosts skip the lobby and get into a locked meeting.
    pub fn moderates(self) -> bool {
        matches!(self, EntryRole::Owner | EntryRole::CoHost)
    }
}

pub fn entry_role(actor: &Identity, planned: Option<&PlannedRoom>) -> EntryRole {
    match actor {
        Identity::User { id, email } => match planned {
            Some(r) if r.owner == *id => EntryRole::Owner,
            Some(r) if r.co_hosts.iter().any(|c| c == email) => EntryRole::CoHost,
            _ => EntryRole::Participant,
        },
        Identity::Token { grants, .. } if grants.room_admin => EntryRole::CoHost,
        Identity::Token { grants, .. } if grants.hidden || grants.publish.none() => {
            EntryRole::Viewer
        }
        Identity::Token { .. } | Identity::Guest => EntryRole::Participant,
    }
}

/// What the joiner said about the room's password, once checked against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Password {
    /// The room has none.
    NotAsked,
    Missing,
    Wrong,
    Right,
}

/// Whether `actor` may enter the room named in a join. `planned` is the room's plan, if someone
/// made it ahead of time; without one, an ad-hoc room is open to anyone with its link, if the server
/// makes rooms on join at all.
pub fn may_enter(
    actor: &Identity,
    planned: Option<&PlannedRoom>,
    password: Password,
    create_on_join: bool,
) -> Result<(), ServerError> {
    let refuse = |code, message: &str| Err(ServerError::client(code, message));
    let Some(room) = planned else {
        if create_on_join || matches!(actor, Identity::Token { .. }) {
            return Ok(());
        }
        return refuse(
            ErrorCode::RoomNotFound,
            "there is no such meeting; ask its host for the link",
        );
    };
    // The owner always may: the rules are theirs. So may the holder of a token signed with the
    // server's keys: whoever holds those decides who enters (the token names the room).
    if actor.user_id() == Some(room.owner) || matches!(actor, Identity::Token { .. }) {
        return Ok(());
    }
    match (room.access, actor) {
        (Access::Link, _) | (_, Identity::Token { .. }) => {}
        (Access::Accounts | Access::Invited, Identity::Guest) => {
            return refuse(
                ErrorCode::SignInRequired,
                "this meeting is for signed-in users; sign in to join",
            )
        }
        (Access::Accounts, Identity::User { .. }) => {}
        (Access::Invited, Identity::User { email, .. }) => {
            if !room
                .invited
                .iter()
                .chain(&room.co_hosts)
                .any(|i| i == email)
            {
                return refuse(
                    ErrorCode::NotInvited,
                    "this meeting is for invited people only; ask its host to invite you",
                );
            }
        }
    }
    match password {
        Password::NotAsked | Password::Right => Ok(()),
        Password::Missing => refuse(
            ErrorCode::PasswordRequired,
            "this meeting has a password; enter it to join",
        ),
        Password::Wrong => refuse(ErrorCode::WrongPassword, "the meeting password is wrong"),
    }
}

/// Which meeting records a REST caller may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordScope {
    /// Every meeting: administrators and API keys.
    All,
    /// Meetings this user attended signed in, or of rooms they planned (with their chat).
    Own(UserId),
}

pub fn records_scope(caller: &crate::auth::Caller) -> RecordScope {
    match caller {
        crate::auth::Caller::ApiKey(_) => RecordScope::All,
        crate::auth::Caller::User(u) if u.is_admin => RecordScope::All,
        crate::auth::Caller::User(u) => RecordScope::Own(u.id),
    }
}

/// Whether a REST caller may see who is in a live room and end it for everyone: API keys,
/// administrators, and the owner of the room's plan.
pub fn may_manage_room(caller: &crate::auth::Caller, planned: Option<&PlannedRoom>) -> bool {
    match caller {
        crate::auth::Caller::ApiKey(_) => true,
        crate::auth::Caller::User(u) => u.is_admin || planned.is_some_and(|r| r.owner == u.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(access: Access, invited: &[&str]) -> PlannedRoom {
        PlannedRoom {
            id: 1,
            name: "r".into(),
            owner: UserId(1),
            title: "t".into(),
            access,
            password_hash: None,
            max_participants: None,
            starts_at: None,
            created_at: 0,
            updated_at: 0,
            invited: invited.iter().map(|s| s.to_string()).collect(),
            lobby: false,
            empty_room_timeout_secs: None,
            co_hosts: Vec::new(),
            record_on_connect: false,
        }
    }

    fn user(id: i64, email: &str) -> Identity {
        Identity::User {
            id: UserId(id),
            email: email.into(),
        }
    }

    fn code(r: Result<(), ServerError>) -> Option<ErrorCode> {
        r.err().map(|e| e.code())
    }

    #[test]
    fn every_path_through_the_rules() {
        use Password::*;
        let guest = Identity::Guest;
        let owner = user(1, "own@x.org");
        let invited = user(2, "inv@x.org");
        let stranger = user(3, "str@x.org");
        // Ad-hoc rooms.
        assert_eq!(code(may_enter(&guest, None, NotAsked, true)), None);
        assert_eq!(
            code(may_enter(&owner, None, NotAsked, false)),
            Some(ErrorCode::RoomNotFound)
        );
        let link = room(Access::Link, &[]);
        assert_eq!(code(may_enter(&guest, Some(&link), NotAsked, false)), None);
        let accounts = room(Access::Accounts, &[]);
        assert_eq!(
            code(may_enter(&guest, Some(&accounts), NotAsked, true)),
            Some(ErrorCode::SignInRequired)
        );
        assert_eq!(
            code(may_enter(&stranger, Some(&accounts), NotAsked, true)),
            None
        );
        let inv = room(Access::Invited, &["inv@x.org"]);
        assert_eq!(
            code(may_enter(&guest, Some(&inv), NotAsked, true)),
            Some(ErrorCode::SignInRequired)
        );
        assert_eq!(
            code(may_enter(&stranger, Some(&inv), NotAsked, true)),
            Some(ErrorCode::NotInvited)
        );
        assert_eq!(code(may_enter(&invited, Some(&inv), NotAsked, true)), None);
        assert_eq!(code(may_enter(&owner, Some(&inv), NotAsked, true)), None);
        // Passwords, after access.
        assert_eq!(
            code(may_enter(&invited, Some(&inv), Missing, true)),
            Some(ErrorCode::PasswordRequired)
        );
        assert_eq!(
            code(may_enter(&invited, Some(&inv), Wrong, true)),
            Some(ErrorCode::WrongPassword)
        );
        assert_eq!(code(may_enter(&invited, Some(&inv), Right, true)), None);
        assert_eq!(
            code(may_enter(&stranger, Some(&inv), Right, true)),
            Some(ErrorCode::NotInvited),
            "a password does not replace an invitation"
        );
        assert_eq!(code(may_enter(&owner, Some(&inv), Missing, true)), None);
    }

    #[test]
    fn what_each_role_may_do_to_whom() {
        use Power::*;
        let ok = |r, p, t| may_use(r, p, t).is_ok();
        for p in [Mute, MuteAll, Remove, Door, SetRole, TransferHost, End] {
            assert!(ok(Role::Host, p, Some(Role::CoHost)), "{p:?}");
            assert!(!ok(Role::Participant, p, None), "{p:?}");
            assert!(!ok(Role::Viewer, p, None), "{p:?}");
        }
        assert!(ok(Role::CoHost, Mute, Some(Role::Participant)));
        assert!(ok(Role::CoHost, Door, None) && ok(Role::CoHost, MuteAll, None));
        assert!(!ok(Role::CoHost, Mute, Some(Role::Host)));
        assert!(ok(Role::CoHost, Remove, Some(Role::Viewer)));
        assert!(!ok(Role::CoHost, Remove, Some(Role::CoHost)));
        assert!(!ok(Role::CoHost, Remove, Some(Role::Host)));
        for p in [SetRole, TransferHost, End] {
            assert!(!ok(Role::CoHost, p, None), "{p:?}");
        }
    }

    #[test]
    fn publishing_follows_the_role_and_the_grants() {
        use crate::auth::tokens::{Grants, Publish};
        let mic = [Source::Microphone];
        assert!(may_publish(Role::Participant, None, &mic).is_ok());
        assert!(may_publish(Role::Viewer, None, &mic).is_err());
        assert!(
            may_publish(Role::Viewer, None, &[]).is_ok(),
            "an offer that only receives"
        );
        let some = Grants {
            publish: Publish::Sources(vec![Source::Microphone]),
            ..Grants::default()
        };
        assert!(may_publish(Role::Host, Some(&some), &mic).is_ok());
        assert!(may_publish(Role::Host, Some(&some), &[Source::Camera]).is_err());
        assert_eq!(granted_sources(Some(&some)), mic);
        assert_eq!(granted_sources(None).len(), 4);
        let hidden = Grants {
            hidden: true,
            ..Grants::default()
        };
        assert!(granted_sources(Some(&hidden)).is_empty());
        assert!(may_publish(Role::Participant, Some(&hidden), &mic).is_err());
    }

    #[test]
    fn who_may_share_and_delete_files() {
        use crate::auth::tokens::Grants;
        assert!(may_share_file(Role::Participant, None).is_ok());
        assert!(may_share_file(Role::Host, None).is_ok());
        assert!(
            may_share_file(Role::Viewer, None).is_err(),
            "viewers publish nothing"
        );
        let no_chat = Grants {
            chat: false,
            ..Grants::default()
        };
        assert!(may_share_file(Role::Participant, Some(&no_chat)).is_err());
        let hidden = Grants {
            hidden: true,
            ..Grants::default()
        };
        assert!(may_share_file(Role::CoHost, Some(&hidden)).is_err());
        assert!(may_use(Role::Host, Power::DeleteFile, None).is_ok());
        assert!(may_use(Role::CoHost, Power::DeleteFile, None).is_ok());
        assert!(may_use(Role::Participant, Power::DeleteFile, None).is_err());
        assert!(may_use(Role::Viewer, Power::DeleteFile, None).is_err());
    }

    #[test]
    fn who_enters_with_which_role() {
        use crate::auth::tokens::{Grants, Publish};
        let mut r = room(Access::Link, &[]);
        r.co_hosts = vec!["co@x.org".into()];
        assert_eq!(
            entry_role(&user(1, "own@x.org"), Some(&r)),
            EntryRole::Owner
        );
        assert_eq!(
            entry_role(&user(2, "co@x.org"), Some(&r)),
            EntryRole::CoHost
        );
        assert_eq!(
            entry_role(&user(1, "own@x.org"), None),
            EntryRole::Participant
        );
        assert_eq!(
            entry_role(&Identity::Guest, Some(&r)),
            EntryRole::Participant
        );
        let token = |grants| Identity::Token {
            identity: "t".into(),
            grants,
        };
        let admin = Grants {
            room_admin: true,
            ..Grants::default()
        };
        assert_eq!(entry_role(&token(admin), None), EntryRole::CoHost);
        let viewer = Grants {
            publish: Publish::All(false),
            ..Grants::default()
        };
        assert_eq!(entry_role(&token(viewer), None), EntryRole::Viewer);
        // A co-host may enter an invited room without being on its invitation list.
        let mut inv = room(Access::Invited, &[]);
        inv.co_hosts = vec!["co@x.org".into()];
        assert!(may_enter(&user(2, "co@x.org"), Some(&inv), Password::NotAsked, true).is_ok());
    }
}
