//! The protocol state of one connection: before join, in a room, or closing. Identity lives here, taken
//! from the join this connection made; nothing in a later message can change who is speaking.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use convene_proto::{
    parse_client_message, ClientMessage, ConnectionQuality, ErrorCode, ParticipantId, ServerMessage,
};

use super::connection::close_code;
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::media::MediaCmd;
use crate::policy::{self, Identity};
use crate::ratelimit::{RateLimiter, Verdict};
use crate::rooms::{Actor, ConnHandle, JoinRequest, PlanSettings, RoomOp, RoomPlane};
use crate::state::AppState;
use crate::validate;
use convene_proto::RoomId;

#[derive(PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
}

enum Phase {
    /// Connected, not in a room yet.
    Lobby,
    InRoom {
        room: RoomId,
        me: ParticipantId,
    },
    /// Left on purpose: nothing more is accepted.
    Left,
    /// In a room another node of the cluster runs: every frame goes there (cluster/relay.rs).
    Relayed(crate::cluster::Relay),
}

pub struct Session {
    state: Arc<AppState>,
    conn: ConnHandle,
    phase: Phase,
    limiter: RateLimiter,
    /// Who is on the other end: from the session cookie of the upgrade request.
    actor: Identity,
    /// Where the connection comes from, for limits per address.
    peer: IpAddr,
    /// Another node relays this connection: its join is served here, never relayed on.
    pub relayed_in: bool,
}

impl Session {
    pub fn new(state: Arc<AppState>, conn: ConnHandle, actor: Identity, peer: IpAddr) -> Self {
        let l = &state.config.limits;
        let limiter = RateLimiter::new(
            l.messages_per_sec,
            l.messages_burst,
            l.rate_limit_close_after,
            Instant::now(),
        );
        Self {
            state,
            conn,
            phase: Phase::Lobby,
            limiter,
            actor,
            peer,
            relayed_in: false,
        }
    }

    pub async fn on_binary(&mut self) -> Flow {
        if let Some(flow) = self.rate_limit() {
            return flow;
        }
        self.state.metrics.messages_in.inc("invalid");
        self.send_error(
            ServerError::client(
                ErrorCode::MalformedJson,
                "binary frames are not used; send JSON text",
            ),
            None,
        );
        Flow::Continue
    }

    pub async fn on_text(&mut self, text: &str) -> Flow {
        if let Some(flow) = self.rate_limit() {
            return flow;
        }
        if let Phase::Relayed(relay) = &self.phase {
            // When the owner's side has ended, the relay has closed this connection already.
            relay.forward(text).await;
            return Flow::Continue;
        }
        let msg = match parse_client_message(text) {
            Ok(m) => m,
            Err(e) => {
                self.state.metrics.messages_in.inc("invalid");
                self.send_error(ServerError::client(e.code, e.message), e.request.as_deref());
                return Flow::Continue;
            }
        };
        let ty = msg.type_name();
        self.state.metrics.messages_in.inc(ty);
        match self.dispatch(msg, text).await {
            Ok(flow) => flow,
            Err(e) => {
                self.send_error(e, Some(ty));
                Flow::Continue
            }
        }
    }

    /// None: go on with the message. Some: drop it (and maybe close).
    fn rate_limit(&mut self) -> Option<Flow> {
        match self.limiter.check(Instant::now()) {
            Verdict::Allow => None,
            Verdict::Drop { notify } => {
                self.state
                    .metrics
                    .errors
                    .inc(ErrorCode::RateLimited.as_str());
                if notify {
                    let e = ServerError::client(
                        ErrorCode::RateLimited,
                        "too many messages; some were dropped",
                    );
                    self.conn.send(&e.to_message(None));
                }
                Some(Flow::Continue)
            }
            Verdict::Close => {
                self.state
                    .metrics
                    .connections_closed_for_rate
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.conn.close(close_code::POLICY, "rate limit exceeded");
                Some(Flow::Close)
            }
        }
    }

    async fn dispatch(&mut self, msg: ClientMessage, text: &str) -> Result<Flow, ServerError> {
        if let ClientMessage::Ping { ts } = msg {
            self.conn.send(&ServerMessage::Pong {
                ts,
                server_time: now_ms(),
            });
            return Ok(Flow::Continue);
        }
        match &self.phase {
            Phase::Lobby => self.lobby(msg, text).await,
            Phase::InRoom { .. } if matches!(msg, ClientMessage::Join { .. }) => {
                Err(ServerError::client(
                    ErrorCode::AlreadyJoined,
                    "this connection has already joined; open another to join again",
                ))
            }
            Phase::InRoom { room, me } => {
                let (room, me) = (room.clone(), me.clone());
                self.in_room(room, me, msg).await
            }
            Phase::Left => Err(ServerError::client(
                ErrorCode::NotJoined,
                "you have left the room",
            )),
            // on_text passes a relayed connection's frames on before they get here.
            Phase::Relayed(_) => Ok(Flow::Continue),
        }
    }

    /// Before `join`, only `join` (and `ping`) are accepted.
    async fn lobby(&mut self, msg: ClientMessage, text: &str) -> Result<Flow, ServerError> {
        let ClientMessage::Join {
            room,
            display_name,
            version,
            access_token,
            password,
            resume_token,
            mic_muted,
            camera_muted,
        } = msg
        else {
            return Err(ServerError::client(
                ErrorCode::NotJoined,
                "join a room first (send `join`)",
            ));
        };
        let version = version.unwrap_or(1);
        if version != convene_proto::PROTOCOL_VERSION {
            return Err(ServerError::client(
                ErrorCode::UnsupportedVersion,
                format!(
                    "protocol version {version} is not supported; this server speaks {}",
                    convene_proto::PROTOCOL_VERSION
                ),
            ));
        }
        if self.state.is_draining() {
            return Err(ServerError::client(
                ErrorCode::ServerDraining,
                "the server is shutting down; try again shortly",
            ));
        }
        let limits = &self.state.config.limits;
        let room = validate::room_name(&room, limits.room_name_max_chars as usize)?;
        if let Some(relay) = self.relay_if_elsewhere(&room, text).await? {
            self.phase = Phase::Relayed(relay);
            return Ok(Flow::Continue);
        }
        let mut display_name = display_name;
        // Who joins: the connection's account or guest, or the holder of a token. A token's actor
        // becomes the connection's only once the join succeeds: a refused join (a full room) must not
        // leave the token's rights on the connection for a join elsewhere.
        let mut actor = self.actor.clone();
        if let Some(token) = access_token {
            let claims = crate::auth::tokens::verify(&self.state.config.auth, &token, &room.0)?;
            if let Some(name) = claims.name {
                display_name = name;
            }
            actor = Identity::Token {
                identity: claims.sub,
                grants: claims.grants,
            };
        }
        let display_name =
            validate::display_name(&display_name, limits.display_name_max_chars as usize)?;
        let limits = &self.state.config.limits;
        let limited = !(limits.exempt_loopback && self.peer.is_loopback());
        if limited && limits.joins_per_minute_per_address > 0 {
            if let Some(wait) = self.state.join_limiter.join(self.peer, Instant::now()) {
                return Err(ServerError::client(
                    ErrorCode::RateLimited,
                    format!(
                        "too many joins from your address; try again in {} s",
                        wait.as_secs().max(1)
                    ),
                ));
            }
        }
        let planned = self.state.store.planned_room(&room.0).await?;
        let password = self.check_password(planned.as_ref(), password).await?;
        policy::may_enter(
            &actor,
            planned.as_ref(),
            password,
            self.state.config.rooms.create_on_join,
        )?;
        let entry = policy::entry_role(&actor, planned.as_ref());
        let grants = match &actor {
            Identity::Token { grants, .. } => Some(grants.clone()),
            Identity::Guest | Identity::User { .. } => None,
        };
        let req = JoinRequest {
            room,
            display_name,
            resume_token,
            mic_muted: mic_muted.unwrap_or(false),
            camera_muted: camera_muted.unwrap_or(false),
            user: actor.user_id(),
            identity: actor.identity().map(str::to_owned),
            // A room named in a token may be opened like a planned one.
            planned: planned.is_some() || matches!(actor, Identity::Token { .. }),
            guest_addr: (limited && actor == Identity::Guest).then_some(self.peer),
            seat_limit: planned
                .as_ref()
                .and_then(|p| p.max_participants)
                .and_then(|n| u32::try_from(n).ok()),
            entry,
            grants,
            plan: planned.as_ref().map(|p| PlanSettings {
                lobby: p.lobby,
                record_on_connect: p.record_on_connect,
                empty_timeout: p
                    .empty_room_timeout_secs
                    .and_then(|s| u64::try_from(s).ok())
                    .map(std::time::Duration::from_secs),
            }),
        };
        let state = self.state.clone();
        let (room, me) = state.plane.join(&state, req, self.conn.clone()).await?;
        self.actor = actor;
        self.phase = Phase::InRoom { room, me };
        Ok(Flow::Continue)
    }

    /// In a cluster: the relay to the room's node when another node runs it (placing the room
    /// first if it runs nowhere). The owner then does every check of the join itself.
    async fn relay_if_elsewhere(
        &self,
        room: &RoomId,
        join: &str,
    ) -> Result<Option<crate::cluster::Relay>, ServerError> {
        let Some(cluster) = self.state.cluster.clone() else {
            return Ok(None);
        };
        let owner = match cluster.route(room, self.relayed_in).await? {
            crate::cluster::Route::Local => return Ok(None),
            crate::cluster::Route::Remote(owner) => owner,
        };
        let from = crate::cluster::RelayedFrom {
            user: match &self.actor {
                Identity::User { id, email } => Some((id.0, email.clone())),
                Identity::Guest | Identity::Token { .. } => None,
            },
            peer: self.peer,
        };
        let max = self.state.config.limits.max_frame_bytes as usize;
        let relay = crate::cluster::Relay::open(
            cluster,
            &owner,
            &from,
            join.to_owned(),
            self.conn.clone(),
            max,
        )
        .await?;
        Ok(Some(relay))
    }

    /// Checks a join's password against the room's. Wrong guesses count against the room and the
    /// address like failed sign-ins, so guessing is slowed down the same way.
    async fn check_password(
        &self,
        planned: Option<&convene_store::PlannedRoom>,
        given: Option<String>,
    ) -> Result<policy::Password, ServerError> {
        let Some(room) = planned else {
            return Ok(policy::Password::NotAsked);
        };
        let Some(stored) = room.password_hash.clone() else {
            return Ok(policy::Password::NotAsked);
        };
        let Some(given) = given else {
            return Ok(policy::Password::Missing);
        };
        let key = format!("room:{}", room.name);
        let limiter = &self.state.signin_limiter;
        if let Some(wait) = limiter.check(&key, self.peer, Instant::now()).await {
            return Err(ServerError::client(
                ErrorCode::RateLimited,
                format!(
                    "too many wrong passwords; try again in {} s",
                    wait.as_secs().max(1)
                ),
            ));
        }
        let right =
            tokio::task::spawn_blocking(move || crate::auth::password::verify(&given, &stored))
                .await
                .map_err(|e| ServerError::Internal(format!("password check: {e}")))?;
        if right {
            Ok(policy::Password::Right)
        } else {
            limiter.failed(&key, self.peer, Instant::now()).await;
            Ok(policy::Password::Wrong)
        }
    }

    async fn in_room(
        &mut self,
        room: RoomId,
        me: ParticipantId,
        msg: ClientMessage,
    ) -> Result<Flow, ServerError> {
        let by = Actor::Participant { id: me.clone() };
        let rooms = &self.state.rooms;
        match msg {
            ClientMessage::Leave => {
                let op = RoomOp::Leave {
                    conn_id: self.conn.id(),
                };
                rooms.tell(&room, by, op).await;
                self.phase = Phase::Left;
                self.conn.send(&ServerMessage::Closing {
                    reason: "left".into(),
                });
                self.conn.close(close_code::NORMAL, "left");
                return Ok(Flow::Close);
            }
            ClientMessage::ChatSend {
                text,
                client_msg_id,
            } => {
                policy::may_chat(&self.actor)?;
                let text =
                    validate::chat_text(&text, self.state.config.limits.chat_max_chars as usize)?;
                let op = RoomOp::Chat {
                    text,
                    client_msg_id,
                };
                rooms
                    .request(&room, by, op)
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
            ClientMessage::SendReaction { emoji } => {
                policy::may_react(&self.actor)?;
                let emoji = validate::reaction(emoji)?;
                let op = RoomOp::React { emoji };
                rooms
                    .request(&room, by, op)
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
            ClientMessage::SetConnectionQuality {
                level,
                loss_pct,
                rtt_ms,
            } => {
                // One decimal is all a person reads; finer noise would count as a change.
                let loss_pct = (loss_pct * 10.0).round() / 10.0;
                let quality = ConnectionQuality {
                    level,
                    loss_pct,
                    rtt_ms,
                };
                rooms.tell(&room, by, RoomOp::SetQuality { quality }).await;
            }
            ClientMessage::SetHand { raised } => {
                rooms.tell(&room, by, RoomOp::SetHand { raised }).await;
            }
            ClientMessage::SetMuted { mic, camera } => {
                // Asked, not told: an unmute a host holds back is refused (`muted_by_host`).
                rooms
                    .request(&room, by, RoomOp::SetMuted { mic, camera })
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
            ClientMessage::SdpOffer { sdp, tracks } => {
                let op = RoomOp::Offer { sdp, tracks };
                rooms
                    .request(&room, by, op)
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
            ClientMessage::AskToUnmute { source } => {
                let op = RoomOp::AskToUnmute { source };
                rooms
                    .request(&room, by, op)
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
            ClientMessage::SdpAnswer { .. }
            | ClientMessage::IceCandidate { .. }
            | ClientMessage::SetVideoConstraint { .. } => {
                let Some(media) = &self.state.media else {
                    return Err(ServerError::client(
                        ErrorCode::MediaError,
                        "media is not enabled on this server",
                    ));
                };
                media.send(&room, media_command(me, msg)?);
            }
            ClientMessage::Join { .. } | ClientMessage::Ping { .. } => {}
            other => {
                // Host powers go to the room, which asks the policy (rooms/moderation.rs).
                let op = super::powers::host_power(other)?;
                rooms
                    .request(&room, by, op)
                    .await
                    .map_err(|e| ended_is_not_joined(e, rooms.get(&room).is_some()))?;
            }
        }
        Ok(Flow::Continue)
    }

    pub async fn on_disconnect(&mut self) {
        if let Phase::InRoom { room, me } = &self.phase {
            let by = Actor::Participant { id: me.clone() };
            let op = RoomOp::ConnectionLost {
                conn_id: self.conn.id(),
            };
            self.state.rooms.tell(room, by, op).await;
        }
    }

    fn send_error(&self, e: ServerError, request: Option<&str>) {
        if let ServerError::Storage(_) | ServerError::Internal(_) = &e {
            tracing::warn!(error = %e, "request failed");
        }
        self.state.metrics.errors.inc(e.code().as_str());
        self.conn.send(&e.to_message(request));
    }
}

/// The media command for a media message; the participant is the session's, never the message's.
fn media_command(me: ParticipantId, msg: ClientMessage) -> Result<MediaCmd, ServerError> {
    Ok(match msg {
        ClientMessage::SdpAnswer { sdp } => MediaCmd::Answer {
            participant: me,
            sdp,
        },
        ClientMessage::IceCandidate { candidate, .. } => MediaCmd::Candidate {
            participant: me,
            candidate,
        },
        ClientMessage::SetVideoConstraint {
            track,
            width,
            height,
        } => MediaCmd::VideoConstraint {
            participant: me,
            track,
            size: match (width, height) {
                (Some(w), Some(h)) if w > 0 && h > 0 => Some((w, h)),
                (None, None) => None,
                _ => {
                    return Err(ServerError::client(
                        ErrorCode::InvalidMessage,
                        "give both width and height (positive), or neither to hide the video",
                    ))
                }
            },
        },
        _ => return Err(ServerError::Internal("not a media message".into())),
    })
}

/// To a participant, a room that has ended means it is no longer in one.
fn ended_is_not_joined(e: ServerError, room_live: bool) -> ServerError {
    if e.code() == ErrorCode::NotFound && !room_live {
        ServerError::client(ErrorCode::NotJoined, "the meeting has ended")
    } else {
        e
    }
}
