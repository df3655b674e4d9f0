//! The SDP side of a Janus publisher: its offer's m-lines, given to the synthesiser that writes
//! on them, and the counts the synthesiser's figures make in a [`Snap`].

use convene_client::media::SendStats;
use convene_client::Synthesizer;
use str0m::change::SdpPendingOffer;
use str0m::media::{Direction, MediaKind, Simulcast, SimulcastLayer};
use str0m::Rtc;

use crate::session::Snap;

/// Janus takes the first rid of the offer for the highest quality (as janus.js sends them), so
/// the layers are offered highest first; `rids` come lowest first.
pub(super) fn janus_simulcast(rids: &[&str]) -> Option<Simulcast> {
    if rids.is_empty() {
        return None;
    }
    let mut s = Simulcast::new();
    for r in rids.iter().rev() {
        s.add_send_layer(SimulcastLayer::new(r));
    }
    Some(s)
}

/// Adds the send m-lines `synth` publishes to `rtc`, tells it their mids, and makes the offer.
pub(super) fn publisher_offer(
    rtc: &mut Rtc,
    synth: &mut Synthesizer,
) -> Result<(String, SdpPendingOffer), String> {
    let opts = synth.options().clone();
    let mut api = rtc.sdp_api();
    if opts.audio {
        let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        synth.set_audio_mid(Some(mid));
    }
    if opts.video {
        let rids = synth.offer_rids();
        let mid = api.add_media(
            MediaKind::Video,
            Direction::SendOnly,
            None,
            None,
            janus_simulcast(&rids),
        );
        synth.set_video_mid(mid, &rids);
    }
    let (offer, pending) = api.apply().ok_or("nothing to offer")?;
    Ok((offer.to_sdp_string(), pending))
}

/// What the synthesiser wrote, as a [`Snap`] counts it: every frame of every layer.
pub(super) fn add_sent(s: &mut Snap, sent: &SendStats) {
    s.frames_out = sent.audio_frames + sent.video_frames.iter().sum::<u64>();
    s.media_bytes_out = sent.audio_bytes + sent.video_bytes.iter().sum::<u64>();
    s.frames_skipped = sent.frames_skipped;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use convene_client::PublishOptions;
    use str0m::Candidate;

    use super::*;

    fn rtc() -> Rtc {
        let mut rtc = Rtc::new(Instant::now());
        let addr = "127.0.0.1:5000".parse().expect("addr");
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        rtc
    }

    fn sdp(opts: PublishOptions) -> (String, Synthesizer) {
        let mut synth = Synthesizer::new(opts, 1);
        let (sdp, _) = publisher_offer(&mut rtc(), &mut synth).expect("offer");
        (sdp, synth)
    }

    #[test]
    fn simulcast_is_offered_highest_layer_first() {
        let (sdp, synth) = sdp(PublishOptions::default());
        assert!(sdp.contains("a=simulcast:send f;h;q"), "{sdp}");
        for rid in ["q", "h", "f"] {
            assert!(sdp.contains(&format!("a=rid:{rid} send")), "{sdp}");
        }
        assert!(sdp.contains("m=audio") && sdp.contains("m=video"));
        // The synthesiser has m-lines to write on: once media flows, frames are due.
        let mut synth = synth;
        synth.set_flowing(true, Instant::now());
        assert!(synth.next_wakeup().is_some());
        let mut idle = Synthesizer::new(PublishOptions::default(), 1);
        idle.set_flowing(true, Instant::now());
        assert_eq!(idle.next_wakeup(), None, "no m-line, nothing due");
        assert!(janus_simulcast(&[]).is_none());
    }

    #[test]
    fn one_layer_and_no_video_offer_what_is_asked() {
        let (one, _) = sdp(PublishOptions {
            layers: convene_client::Layers::One,
            ..PublishOptions::default()
        });
        assert!(!one.contains("a=simulcast"), "{one}");
        let (audio, _) = sdp(PublishOptions {
            video: false,
            ..PublishOptions::default()
        });
        assert!(
            !audio.contains("m=video") && audio.contains("m=audio"),
            "{audio}"
        );
        let mut nothing = Synthesizer::new(PublishOptions::none(), 1);
        assert!(publisher_offer(&mut rtc(), &mut nothing).is_err());
    }

    #[test]
    fn every_layer_counts_as_a_frame_sent() {
        let sent = SendStats {
            audio_frames: 50,
            audio_bytes: 4000,
            video_frames: [30, 30, 30],
            video_bytes: [100, 400, 1600],
            frames_skipped: 2,
            ..SendStats::default()
        };
        let mut s = Snap::default();
        add_sent(&mut s, &sent);
        assert_eq!(
            (s.frames_out, s.media_bytes_out, s.frames_skipped),
            (140, 6100, 2)
        );
    }
}
