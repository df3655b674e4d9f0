//! A worker's messages for cores of other nodes (a room spanning nodes, cluster/span): encoded
//! here, on the worker's thread, in one stream per node; a packet that several cores of one
//! node want is gathered into one message naming them all, so it crosses once.

use convene_media::LinkId;

use super::Worker;

/// A packet for cores of another node, with the cores it goes to so far.
pub(super) struct PendingRelay {
    pub(super) slot: u32,
    pub(super) msg: convene_media::RelayMessage,
    pub(super) to: Vec<u8>,
}

impl Worker {
    /// A message for a core of another node. A packet waits for the next output: when that is
    /// the same packet for another core of the same node, it joins it, so it crosses once.
    pub(super) fn relay_remote(
        &mut self,
        slot: u32,
        to: u8,
        link: LinkId,
        msg: convene_media::RelayMessage,
    ) {
        // The same packet for another core of that node crosses with the one already admitted:
        // no second look at the link's queue (a lock) per core.
        if let Some(p) = &mut self.pending {
            if p.slot == slot && p.msg.same_packet(&msg) {
                p.to.push(to);
                return;
            }
        }
        let Some(remote) = self.shared.remote() else {
            return;
        };
        if msg.is_media() && remote.backed_up(link) {
            return;
        }
        self.flush_remote();
        self.pending = Some(PendingRelay {
            slot,
            msg,
            to: vec![to],
        });
        // Control goes at once (in order after the packet before it).
        if self.pending.as_ref().is_some_and(|p| !p.msg.is_media()) {
            self.flush_remote();
        }
    }

    /// Encodes and hands over the message waiting for cores of another node.
    pub(super) fn flush_remote(&mut self) {
        let (Some(p), Some(remote)) = (self.pending.take(), self.shared.remote()) else {
            return;
        };
        let mut bytes = Vec::new();
        self.encoders
            .entry(p.slot)
            .or_default()
            .encode(&p.msg, &mut bytes);
        remote.relay(self.index, p.slot, p.to, bytes);
    }
}
