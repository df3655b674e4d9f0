//! Which worker a datagram belongs to. A STUN request names its participant's ICE ufrag; any other
//! packet is known only by its source address, learned from the STUN checks that came from it. All
//! workers read the shared maps; each worker writes its own participants' entries and takes them
//! out again when they leave, so the maps hold what the node's present participants use and no
//! more (before, every address ever learned stayed: the churn soak's heap profile found the map
//! growing with each participant).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::RwLock;

use convene_proto::ParticipantId;

use super::{read, write};

/// Addresses kept per participant. A browser's checks come from a handful of candidates (host,
/// server-reflexive, relayed; IPv4 and IPv6), and an ICE restart adds the new network's; past
/// this the address validated longest ago is dropped, so a peer that sends checks from ever new
/// ports cannot grow the map.
pub(super) const ADDRS_PER_PARTICIPANT: usize = 8;

/// The maps every worker reads.
#[derive(Default)]
pub struct RouteMaps {
    ufrags: RwLock<HashMap<String, usize>>,
    addrs: RwLock<HashMap<SocketAddr, usize>>,
}

impl RouteMaps {
    /// The worker that owns a packet: by the STUN username when it is STUN, else by its source.
    pub fn owner(&self, data: &[u8], src: SocketAddr) -> Option<usize> {
        if let Some(ufrag) = convene_media::stun_username(data).and_then(convene_media::local_ufrag)
        {
            return read(&self.ufrags).get(ufrag).copied();
        }
        read(&self.addrs).get(&src).copied()
    }

    /// How many ufrags and addresses are routed, for /metrics.
    pub fn len(&self) -> (usize, usize) {
        (read(&self.ufrags).len(), read(&self.addrs).len())
    }

    /// Removes `key` if it still points at `worker` (another worker may have taken it since).
    fn remove_own<K: std::hash::Hash + Eq>(
        map: &RwLock<HashMap<K, usize>>,
        key: &K,
        worker: usize,
    ) {
        let mut map = write(map);
        if map.get(key) == Some(&worker) {
            map.remove(key);
        }
    }
}

/// What one participant of this worker has in the shared maps.
#[derive(Default)]
struct Held {
    ufrag: Option<String>,
    /// Oldest validation first.
    addrs: VecDeque<SocketAddr>,
}

/// One worker's entries in the shared maps.
pub(super) struct OwnRoutes {
    worker: usize,
    held: HashMap<ParticipantId, Held>,
    by_ufrag: HashMap<String, ParticipantId>,
}

impl OwnRoutes {
    pub(super) fn new(worker: usize) -> Self {
        Self {
            worker,
            held: HashMap::new(),
            by_ufrag: HashMap::new(),
        }
    }

    /// `participant`'s ufrag is now `ufrag` (a join, an ICE restart) or none (a leave, when its
    /// addresses go too).
    pub(super) fn set_ufrag(
        &mut self,
        maps: &RouteMaps,
        participant: &ParticipantId,
        ufrag: Option<&str>,
    ) {
        let before = self.held.get(participant).and_then(|h| h.ufrag.as_deref());
        if before == ufrag {
            return;
        }
        if let Some(old) = before.map(str::to_owned) {
            RouteMaps::remove_own(&maps.ufrags, &old, self.worker);
            self.by_ufrag.remove(&old);
        }
        match ufrag {
            Some(new) => {
                write(&maps.ufrags).insert(new.to_owned(), self.worker);
                self.by_ufrag.insert(new.to_owned(), participant.clone());
                self.held.entry(participant.clone()).or_default().ufrag = Some(new.to_owned());
            }
            None => {
                if let Some(held) = self.held.remove(participant) {
                    for addr in held.addrs {
                        RouteMaps::remove_own(&maps.addrs, &addr, self.worker);
                    }
                }
            }
        }
    }

    /// A STUN check to `ufrag` from `src` checked out: `src` is that participant's, and later
    /// packets from it are routed here.
    pub(super) fn validated(&mut self, maps: &RouteMaps, ufrag: &str, src: SocketAddr) {
        let Some(participant) = self.by_ufrag.get(ufrag) else {
            return;
        };
        let Some(held) = self.held.get_mut(participant) else {
            return;
        };
        if let Some(at) = held.addrs.iter().position(|a| *a == src) {
            held.addrs.remove(at);
        } else if held.addrs.len() >= ADDRS_PER_PARTICIPANT {
            if let Some(oldest) = held.addrs.pop_front() {
                RouteMaps::remove_own(&maps.addrs, &oldest, self.worker);
            }
        }
        held.addrs.push_back(src);
        // Checks repeat every few seconds (consent freshness): most find the entry already right.
        if read(&maps.addrs).get(&src) != Some(&self.worker) {
            write(&maps.addrs).insert(src, self.worker);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::new(s)
    }

    fn routed(maps: &RouteMaps, src: SocketAddr) -> Option<usize> {
        maps.owner(&[0x80, 0x60], src)
    }

    #[test]
    fn a_participants_addresses_leave_with_it() {
        let maps = RouteMaps::default();
        let mut own = OwnRoutes::new(1);
        own.set_ufrag(&maps, &pid("a"), Some("ua"));
        own.validated(&maps, "ua", addr(1000));
        own.validated(&maps, "ua", addr(1001));
        assert_eq!(routed(&maps, addr(1000)), Some(1));
        assert_eq!(maps.len(), (1, 2));
        own.set_ufrag(&maps, &pid("a"), None);
        assert_eq!(routed(&maps, addr(1000)), None);
        assert_eq!(maps.len(), (0, 0));
        assert!(own.held.is_empty() && own.by_ufrag.is_empty());
    }

    #[test]
    fn an_ice_restart_keeps_the_addresses_and_swaps_the_ufrag() {
        let maps = RouteMaps::default();
        let mut own = OwnRoutes::new(0);
        own.set_ufrag(&maps, &pid("a"), Some("u1"));
        own.validated(&maps, "u1", addr(1000));
        own.set_ufrag(&maps, &pid("a"), Some("u2"));
        assert_eq!(maps.len(), (1, 1));
        own.validated(&maps, "u1", addr(2000));
        assert_eq!(routed(&maps, addr(2000)), None, "the old ufrag is no one's");
        own.validated(&maps, "u2", addr(2000));
        assert_eq!(routed(&maps, addr(2000)), Some(0));
        own.set_ufrag(&maps, &pid("a"), None);
        assert_eq!(maps.len(), (0, 0));
    }

    #[test]
    fn an_address_another_worker_took_stays_with_it() {
        let maps = RouteMaps::default();
        let mut w0 = OwnRoutes::new(0);
        let mut w1 = OwnRoutes::new(1);
        w0.set_ufrag(&maps, &pid("a"), Some("ua"));
        w1.set_ufrag(&maps, &pid("b"), Some("ub"));
        w0.validated(&maps, "ua", addr(1000));
        // The same address (a NAT's port, reused) now checks out for b, on worker 1.
        w1.validated(&maps, "ub", addr(1000));
        w0.set_ufrag(&maps, &pid("a"), None);
        assert_eq!(routed(&maps, addr(1000)), Some(1));
    }

    #[test]
    fn a_participant_keeps_at_most_its_latest_addresses() {
        let maps = RouteMaps::default();
        let mut own = OwnRoutes::new(0);
        own.set_ufrag(&maps, &pid("a"), Some("ua"));
        let n = ADDRS_PER_PARTICIPANT as u16;
        for port in 0..n {
            own.validated(&maps, "ua", addr(1000 + port));
        }
        // The first is validated again: it becomes the newest, so the second is the one to go.
        own.validated(&maps, "ua", addr(1000));
        own.validated(&maps, "ua", addr(5000));
        assert_eq!(maps.len(), (1, ADDRS_PER_PARTICIPANT));
        assert_eq!(routed(&maps, addr(1000)), Some(0));
        assert_eq!(routed(&maps, addr(1001)), None);
        assert_eq!(routed(&maps, addr(5000)), Some(0));
        for port in 6000..6100 {
            own.validated(&maps, "ua", addr(port));
        }
        assert_eq!(maps.len(), (1, ADDRS_PER_PARTICIPANT));
    }

    #[test]
    fn a_check_to_an_unknown_ufrag_routes_nothing() {
        let maps = RouteMaps::default();
        let mut own = OwnRoutes::new(0);
        own.validated(&maps, "nobody", addr(1000));
        assert_eq!(maps.len(), (0, 0));
    }
}
