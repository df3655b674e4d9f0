//! What both kinds of session track of their peer connection: whether ICE and DTLS are up, and
//! which m-line a received RTP packet belongs to.

use str0m::change::SdpApi;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::rtp::RtpPacket;
use str0m::{Event, IceConnectionState, Rtc};

use super::stats::{MediaEvent, MediaStats};

/// What a participant that publishes nothing offers first, so that ICE and DTLS have an m-line to
/// come up on: an inactive audio m-line, as a browser offers its unused transceivers. (A data
/// channel would do too, but it costs an SCTP association on both ends for nothing.)
pub fn add_receive_only_line(api: &mut SdpApi) {
    api.add_media(MediaKind::Audio, Direction::Inactive, None, None, None);
}

/// Whether ICE and DTLS are up, from str0m's events.
pub struct Link {
    dtls_up: bool,
    ice: IceConnectionState,
}

impl Default for Link {
    fn default() -> Self {
        Link::new()
    }
}

impl Link {
    pub fn new() -> Self {
        Link {
            dtls_up: false,
            ice: IceConnectionState::New,
        }
    }

    /// Takes str0m's connection events: None if `e` is not one; otherwise `stats` is updated and
    /// the event to report, if any, is returned.
    pub fn on_event(&mut self, e: &Event, stats: &mut MediaStats) -> Option<Option<MediaEvent>> {
        let report = match e {
            Event::Connected => {
                self.dtls_up = true;
                Some(MediaEvent::Connected)
            }
            Event::IceConnectionStateChange(s) => {
                let was = std::mem::replace(&mut self.ice, *s);
                stats.ice_state = format!("{s:?}");
                (*s == IceConnectionState::Disconnected && was != *s)
                    .then_some(MediaEvent::Disconnected)
            }
            _ => return None,
        };
        let ice_up = matches!(
            self.ice,
            IceConnectionState::Connected | IceConnectionState::Completed
        );
        stats.connected = self.dtls_up && ice_up;
        Some(report)
    }
}

/// The m-line of a received RTP packet: from its mid extension, or else (str0m omits it after
/// the first packets, and RTX is undone to the main SSRC) from the stream str0m mapped.
pub fn packet_mid(rtc: &mut Rtc, p: &RtpPacket) -> Option<Mid> {
    p.header
        .ext_vals
        .mid
        .or_else(|| rtc.direct_api().stream_rx(&p.header.ssrc).map(|s| s.mid()))
}
