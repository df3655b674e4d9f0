//! str0m's events of one participant's `Rtc`, turned into SFU actions.

use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::media::MediaKind;
use str0m::IceConnectionState;

use super::Sfu;
use crate::ids::{PeerIdx, TrackOrigin};
use crate::outbox::mark_disconnected;
use crate::peer::{ConnState, Participant};
use crate::types::{Event, TrackKind};

impl Sfu {
    pub(crate) fn on_rtc_event(&mut self, idx: PeerIdx, ev: str0m::Event, now: Instant) {
        let Some(p) = self.peers.get_mut(idx) else {
            return;
        };
        match ev {
            str0m::Event::Connected => {
                p.conn = ConnState::Connected;
                let participant = p.id.clone();
                self.out.events.push_back(Event::Connected { participant });
                self.allocate(idx, now);
            }
            str0m::Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                mark_disconnected(p, &mut self.out, now);
            }
            str0m::Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) if p.conn == ConnState::Disconnected => {
                // Back within the grace period (consent regained, or an ICE restart).
                p.conn = ConnState::Connected;
                p.disconnected_since = None;
                let participant = p.id.clone();
                self.out.events.push_back(Event::Connected { participant });
            }
            str0m::Event::MediaAdded(e) if e.direction.is_receiving() => {
                let layers = e
                    .simulcast
                    .map(|s| if s.recv.is_empty() { s.send } else { s.recv })
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.rid)
                    .collect();
                self.publish(idx, e.mid, kind_of(e.kind), layers);
            }
            str0m::Event::MediaChanged(e) => {
                let published = p.published.iter().any(|t| t.mid == e.mid);
                if published && !e.direction.is_receiving() {
                    self.unpublish(TrackOrigin::Local(idx), e.mid);
                } else if !published && e.direction.is_receiving() {
                    let kind = p.rtc.get().and_then(|rtc| rtc.media(e.mid));
                    if let Some(kind) = kind.map(|m| kind_of(m.kind())) {
                        self.publish(idx, e.mid, kind, Vec::new());
                    }
                }
            }
            str0m::Event::RtpPacket(rtp) => self.forward(idx, rtp, now),
            str0m::Event::KeyframeRequest(req) => self.relay_keyframe_request(idx, req, now),
            str0m::Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                p.bwe_bps = Some(estimate.as_u64());
            }
            str0m::Event::MediaEgressStats(s) => {
                let (dn, dp) = counter_delta(p, s.mid, s.rid, true, s.nacks, s.plis + s.firs);
                self.out.stats.nacks_received += dn;
                self.out.stats.plis_received += dp;
            }
            str0m::Event::MediaIngressStats(s) => {
                let (dn, dp) = counter_delta(p, s.mid, s.rid, false, s.nacks, s.plis + s.firs);
                self.out.stats.nacks_sent += dn;
                self.out.stats.plis_sent += dp;
            }
            str0m::Event::Closed => mark_disconnected(p, &mut self.out, now),
            _ => {}
        }
    }
}

fn counter_delta(
    p: &mut Participant,
    mid: str0m::media::Mid,
    rid: Option<str0m::media::Rid>,
    egress: bool,
    nacks: u64,
    plis: u64,
) -> (u64, u64) {
    let prev = p
        .rtcp_counters
        .insert((mid, rid, egress), (nacks, plis))
        .unwrap_or((0, 0));
    (nacks.saturating_sub(prev.0), plis.saturating_sub(prev.1))
}

pub(crate) fn kind_of(k: MediaKind) -> TrackKind {
    match k {
        MediaKind::Audio => TrackKind::Audio,
        MediaKind::Video => TrackKind::Video,
    }
}
