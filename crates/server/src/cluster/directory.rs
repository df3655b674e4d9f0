//! Which node runs which room. A room's entry, `room:NAME` = `NODE|FENCE`, expires after two node
//! leases unless its owner renews it; it is written only by a Lua script that checks what is there first,
//! so two nodes can never own one room at once: the first claim wins and every later caller reads
//! the winner. FENCE comes from one counter, so each claim is told apart from an earlier claim of
//! the same room by the same node, and a renewal or release of a claim that was lost meanwhile
//! does nothing.

use std::time::Instant;

use convene_proto::{ErrorCode, RoomId};
use rand::seq::SliceRandom;

use super::{Claim, Cluster, NodeInfo};
use crate::error::ServerError;
use crate::rooms::{Actor, RoomOp};
use crate::state::AppState;

/// Where a join for a room goes.
#[derive(Debug)]
pub enum Route {
    /// This node owns the room (now claimed for it if nobody did).
    Local,
    /// Another live node owns it.
    Remote(NodeInfo),
}

/// Claims KEYS[1] for ARGV[1] unless someone else holds it. ARGV[3] is the value the caller saw
/// ('' for none): an entry whose owner's node lease is gone may be taken over, but only the one the
/// caller saw. Returns the value in place afterwards, or false when the candidate is not live.
const CLAIM: &str = r#"
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[3] then return cur end
if cur then
  local owner = string.match(cur, '^(.*)|')
  if owner and redis.call('EXISTS', ARGV[4] .. 'node:' .. owner) == 1 then return cur end
end
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local v = ARGV[1] .. '|' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v
"#;

/// Renews this node's room entries: KEYS[1] is the fence counter, KEYS[2] the set of nodes,
/// KEYS[3..] the rooms; ARGV[1] the lease, ARGV[2] this node, ARGV[i] the value held for KEYS[i].
/// An entry still ours is renewed; one that expired (Redis was away longer than a lease) is
/// claimed again with a new fence, unless this node was taken for lost meanwhile (gone from the
/// set: its records were closed). Returns the value held now for each room, '' for a room lost.
const RENEW: &str = r#"
local listed = redis.call('ZSCORE', KEYS[2], ARGV[2])
local out = {}
for i = 3, #KEYS do
  local cur = redis.call('GET', KEYS[i])
  if cur == ARGV[i] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[#out + 1] = cur
  elseif not cur and listed then
    local v = ARGV[2] .. '|' .. redis.call('INCR', KEYS[1])
    redis.call('SET', KEYS[i], v, 'PX', ARGV[1])
    out[#out + 1] = v
  else
    out[#out + 1] = ''
  end
end
return out
"#;

/// Deletes KEYS[1] if it still holds ARGV[1].
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

fn owner_of(value: &str) -> &str {
    value.rsplit_once('|').map_or(value, |(node, _)| node)
}

impl Cluster {
    /// Where `room` runs, placing it on the less loaded of two random live nodes if it runs
    /// nowhere. `here_only`: a join relayed to this node must be served here (never relayed on).
    pub async fn route(&self, room: &RoomId, here_only: bool) -> Result<Route, ServerError> {
        let mut c = self.conn();
        for _ in 0..3 {
            let seen: Option<String> = match redis::cmd("GET")
                .arg(self.keys.room(room))
                .query_async(&mut c)
                .await
            {
                Ok(seen) => seen,
                Err(e) => {
                    let refusal = self.unavailable(&e);
                    // A room this node runs goes on taking joins while Redis is away: no other
                    // node can claim it meanwhile, and its entry is renewed or claimed again on
                    // return.
                    if self.claims().contains_key(room) {
                        return Ok(Route::Local);
                    }
                    return Err(refusal);
                }
            };
            let value = match seen.as_deref() {
                Some(v) if owner_of(v) == self.node => Some(v.to_owned()),
                Some(v) => match self
                    .node_info(owner_of(v))
                    .await
                    .map_err(|e| self.unavailable(&e))?
                {
                    Some(owner) if here_only => {
                        return Err(moved(&owner.id));
                    }
                    Some(owner) => return Ok(Route::Remote(owner)),
                    // Just after an outage its node may not have registered again yet.
                    None if !self.settled() => return Err(Self::recovering()),
                    // Its node is gone: once its records are closed (lost.rs), place the room
                    // anew, taking over that entry only.
                    None => {
                        self.lost_node_settled(owner_of(v)).await?;
                        self.place(room, v, here_only).await?
                    }
                },
                None => self.place(room, "", here_only).await?,
            };
            let Some(value) = value else { continue };
            if owner_of(&value) == self.node {
                // Fresh: a join is on its way, so the next renewal keeps the claim even if the
                // room is not live yet (or has just ended and is made again).
                self.claims().insert(
                    room.clone(),
                    Claim {
                        value,
                        since: Instant::now(),
                    },
                );
                return Ok(Route::Local);
            }
            if here_only {
                return Err(moved(owner_of(&value)));
            }
            // Claimed for another node (by us or by someone faster): go around and look it up.
        }
        Err(ServerError::client(
            ErrorCode::ServerBusy,
            "no node of the cluster could take the meeting now; try again shortly",
        ))
    }

    /// Refuses (retryably) while a lost node is still in the set of nodes: its records are not
    /// closed yet, and a room made again now would start a new meeting instead of reopening its
    /// meeting with everyone awaited.
    async fn lost_node_settled(&self, node: &str) -> Result<(), ServerError> {
        let mut c = self.conn();
        let listed: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.keys.nodes())
            .arg(node)
            .query_async(&mut c)
            .await
            .map_err(|e| self.unavailable(&e))?;
        match listed {
            None => Ok(()),
            Some(_) => Err(ServerError::client(
                ErrorCode::ServerBusy,
                "the meeting's node was lost; the meeting is moving to another node, join again \
                 in a moment",
            )),
        }
    }

    /// Claims `room` for a chosen node; the value in place afterwards (None: the chosen node
    /// vanished meanwhile, choose again).
    async fn place(
        &self,
        room: &RoomId,
        seen: &str,
        here_only: bool,
    ) -> Result<Option<String>, ServerError> {
        // A room running here whose entry expired (Redis was away) is claimed here again; any
        // other placement waits until the nodes have re-claimed their rooms after an outage.
        let ours = self.claims().contains_key(room);
        if !ours && !self.settled() {
            return Err(Self::recovering());
        }
        let candidate = if here_only || ours {
            self.node.clone()
        } else {
            self.choose().await?
        };
        let mut c = self.conn();
        redis::Script::new(CLAIM)
            .key(self.keys.room(room))
            .key(self.keys.fence())
            .key(self.keys.node(&candidate))
            .arg(&candidate)
            .arg(self.room_lease_ms())
            .arg(seen)
            .arg(&self.keys.prefix)
            .invoke_async::<Option<String>>(&mut c)
            .await
            .map_err(|e| self.unavailable(&e))
    }

    /// The less loaded of two random live nodes that take new rooms ("power of two choices":
    /// nearly as even as asking every node, without every node herding to the same one).
    async fn choose(&self) -> Result<String, ServerError> {
        let nodes = self.live_nodes().await.map_err(|e| self.unavailable(&e))?;
        let open: Vec<&NodeInfo> = nodes.iter().filter(|n| !n.draining).collect();
        let two: Vec<&&NodeInfo> = open.choose_multiple(&mut rand::thread_rng(), 2).collect();
        two.into_iter()
            .min_by(|a, b| load(a).total_cmp(&load(b)))
            .map(|n| n.id.clone())
            .ok_or_else(|| {
                ServerError::client(
                    ErrorCode::ServerBusy,
                    "no node of the cluster takes new meetings now; try again shortly",
                )
            })
    }

    /// Renews the leases of the rooms this node runs. A claim not yet joined gets a lease to
    /// become live (a join in progress). A room that ended is only no longer renewed: its entry
    /// runs out within a lease. (Deleting it would race a join that found it a moment before and
    /// is making the room again here: the room would run with no entry.)
    pub(super) async fn renew_rooms(&self, state: &AppState) {
        let keep: Vec<(RoomId, String)> = {
            let mut claims = self.claims();
            claims.retain(|room, claim| {
                state.rooms.get(room).is_some() || claim.since.elapsed() < self.lease
            });
            claims
                .iter()
                .map(|(room, claim)| (room.clone(), claim.value.clone()))
                .collect()
        };
        if keep.is_empty() {
            return;
        }
        let renew = redis::Script::new(RENEW);
        let mut script = renew.prepare_invoke();
        script
            .key(self.keys.fence())
            .key(self.keys.nodes())
            .arg(self.room_lease_ms())
            .arg(&self.node);
        for (room, value) in &keep {
            script.key(self.keys.room(room)).arg(value);
        }
        let mut c = self.conn();
        match script.invoke_async::<Vec<String>>(&mut c).await {
            Ok(held) => {
                for ((room, old), now) in keep.iter().zip(held) {
                    self.renewed(state, room, old, now);
                }
            }
            Err(e) => {
                self.redis_failed();
                tracing::warn!(error = %e, "cluster: could not renew the rooms' leases");
            }
        }
    }

    /// Takes in what the renewal of one room found.
    fn renewed(&self, state: &AppState, room: &RoomId, old: &str, now: String) {
        if now == old {
            return;
        }
        if now.is_empty() {
            // The room was placed elsewhere (or this node was taken for lost and its records
            // closed) while Redis could not be reached: its people here move to the room's node
            // as after a drain, resuming as themselves.
            tracing::error!(room = %room.0, "cluster: this node lost a room's lease; draining it");
            self.claims().remove(room);
            if let Some(handle) = state.rooms.get(room) {
                tokio::spawn(async move {
                    let _ = handle.request(Actor::System, RoomOp::Drain).await;
                });
            }
            return;
        }
        tracing::warn!(room = %room.0, entry = now, "cluster: claimed a room's expired entry again");
        if let Some(claim) = self.claims().get_mut(room) {
            claim.value = now;
        }
    }

    async fn release(&self, room: &RoomId, value: &str) {
        let mut c = self.conn();
        let r = redis::Script::new(RELEASE)
            .key(self.keys.room(room))
            .arg(value)
            .invoke_async::<i64>(&mut c)
            .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, room = %room.0, "cluster: could not release a room");
        }
    }

    /// Releases every room of this node (after its drain).
    pub(super) async fn release_all(&self) {
        let all: Vec<(RoomId, String)> = self
            .claims()
            .drain()
            .map(|(room, claim)| (room, claim.value))
            .collect();
        for (room, value) in all {
            self.release(&room, &value).await;
        }
    }

    /// The owner of `room`, if it runs on a live node.
    pub async fn owner(&self, room: &RoomId) -> Result<Option<NodeInfo>, ServerError> {
        let mut c = self.conn();
        let seen: Option<String> = redis::cmd("GET")
            .arg(self.keys.room(room))
            .query_async(&mut c)
            .await
            .map_err(|e| self.unavailable(&e))?;
        match seen {
            Some(v) => self
                .node_info(owner_of(&v))
                .await
                .map_err(|e| self.unavailable(&e)),
            None => Ok(None),
        }
    }

    /// Every room in the directory (SCAN: no one command blocks Redis for long).
    pub async fn all_rooms(&self) -> Result<Vec<RoomId>, ServerError> {
        let mut c = self.conn();
        let mut cursor: u64 = 0;
        let mut out = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(self.keys.room_pattern())
                .arg("COUNT")
                .arg(500)
                .query_async(&mut c)
                .await
                .map_err(|e| self.unavailable(&e))?;
            out.extend(
                keys.iter()
                    .filter_map(|k| self.keys.room_name(k))
                    .map(|n| RoomId(n.to_owned())),
            );
            if next == 0 {
                break;
            }
            cursor = next;
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out.dedup();
        Ok(out)
    }
}

/// Participants first, then media load: a node's people are what its rooms cost.
fn load(n: &NodeInfo) -> f64 {
    n.participants as f64 + n.media_busy
}

fn moved(owner: &str) -> ServerError {
    tracing::info!(owner, "a relayed join for a room another node owns now");
    ServerError::client(
        ErrorCode::ServerBusy,
        "the meeting moved to another node while you joined; join again",
    )
}
