//! The seam between this node's media plane and other nodes' (a room larger than one node; the
//! cluster's side is `cluster/span`). The plane asks it to place a newcomer's media session on
//! another node when this one is full, hands it the commands about participants placed there, and
//! tells it which workers hold a room, so that the room's cores on both nodes are linked. Workers
//! hand it the relay messages (already encoded) for cores on other nodes.

use convene_media::LinkId;
use convene_proto::{ParticipantId, RoomId};

use super::MediaCmd;

/// Link ids at or above this name a core on another node; below, a worker of this one.
const REMOTE: u32 = 1 << 31;

/// The link id of worker `worker` of the node connection numbered `slot`.
pub fn remote_link(slot: u32, worker: u32) -> LinkId {
    LinkId(REMOTE | ((slot & 0x7f_ffff) << 8) | (worker & 0xff))
}

/// The connection and worker a remote link names; None for a local worker.
pub fn split_link(link: LinkId) -> Option<(u32, u32)> {
    (link.0 & REMOTE != 0).then_some(((link.0 & !REMOTE) >> 8, link.0 & 0xff))
}

pub trait RemoteMedia: Send + Sync {
    /// Whether a session of `room` is on another node now.
    fn spans(&self, room: &RoomId) -> bool;
    /// Whether another node would take a newcomer of `room` now.
    fn can_place(&self, room: &RoomId) -> bool;
    /// Places `participant`'s media session on another node; false when none can take it.
    fn place(&self, room: &RoomId, participant: &ParticipantId) -> bool;
    /// Sends a command about a participant whose session is on another node; gives the command
    /// back when the participant's session is not there.
    fn send(&self, cmd: MediaCmd) -> Result<(), MediaCmd>;
    /// The workers of this node holding `room` are now `hosts`.
    fn hosts_changed(&self, room: &RoomId, hosts: &[usize]);
    /// Whether the link to the core `link` names is backed up: its media is then dropped before
    /// it is encoded (the encoding is a stream: what is encoded must arrive).
    fn backed_up(&self, link: LinkId) -> bool;
    /// An encoded relay message from worker `from` to the workers `to` of the node on the
    /// connection numbered `slot` (several when one packet goes to several of its cores: it
    /// crosses once).
    fn relay(&self, from: usize, slot: u32, to: Vec<u8>, bytes: Vec<u8>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_links_never_name_a_local_worker_and_come_apart_again() {
        for (slot, worker) in [(0, 0), (1, 3), (0x7f_ffff, 255)] {
            let link = remote_link(slot, worker);
            assert!(link.0 >= REMOTE, "{link:?}");
            assert_eq!(split_link(link), Some((slot, worker)));
        }
        assert_eq!(split_link(LinkId(7)), None, "worker 7 of this node");
    }
}
