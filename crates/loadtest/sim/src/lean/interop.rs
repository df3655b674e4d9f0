//! The lean path against a real str0m sender, which is what the server runs, over a simulated
//! network in virtual time: the keys and SRTP agree, and str0m takes our feedback. A NACK brings
//! a retransmission that completes its frame, transport-wide feedback moves the bandwidth
//! estimate, and receiver reports give the sender a round-trip time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_proto::{MediaKind as Kind, OfferedTrack, ParticipantId, Source, TrackId};
use str0m::bwe::{Bitrate, BweKind};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::stats::MediaEgressStats;
use str0m::{Candidate, Event, Input, Output, Rtc};

use super::{build_capturing, is_srtp, rtp, twcc_extension_id, KeySlot, Lean, Scratch};
use convene_client::frame::{sender_id, write_vp8, FrameHeader, FrameKind};
use convene_client::parts::Receiver;

const INITIAL_BWE: u64 = 300_000;

struct Net {
    now: Instant,
    a: Rtc,
    b: Rtc,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    keys: Arc<KeySlot>,
    lean: Option<Lean>,
    receiver: Receiver,
    scratch: Scratch,
    twcc_id: Option<u8>,
    mid: Mid,
    /// A's media sequence numbers whose first copy is lost on the way to B.
    drop_seqs: Vec<u16>,
    /// B's feedback reaches A (off: it is lost).
    feedback: bool,
    estimates: Vec<u64>,
    egress: Vec<MediaEgressStats>,
}

impl Net {
    /// A offers one video m-line, send-only, as the server offers a subscriber a track; B (our
    /// side) answers.
    fn new() -> Net {
        let now = Instant::now();
        let a_addr: SocketAddr = "10.0.0.1:5000".parse().expect("addr");
        let b_addr: SocketAddr = "10.0.0.2:6000".parse().expect("addr");
        let mut a = Rtc::builder()
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .enable_bwe(Some(Bitrate::bps(INITIAL_BWE)))
            .set_stats_interval(Some(Duration::from_millis(500)))
            .build(now);
        a.add_local_candidate(Candidate::host(a_addr, "udp").expect("candidate"));
        let (mut b, keys) = build_capturing(Rtc::builder().set_rtp_mode(true), now);
        b.add_local_candidate(Candidate::host(b_addr, "udp").expect("candidate"));

        let mut api = a.sdp_api();
        let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().expect("offer");
        let offer_sdp = offer.to_sdp_string();
        let answer = b.sdp_api().accept_offer(offer).expect("answer");
        a.sdp_api()
            .accept_answer(pending, answer)
            .expect("accepted");
        let mut receiver = Receiver::default();
        receiver.packet_mode = true;
        receiver.map_tracks(&[OfferedTrack {
            mid: mid.to_string(),
            participant_id: ParticipantId::new("p_a"),
            track_id: TrackId::new("t_video"),
            kind: Kind::Video,
            source: Source::Camera,
        }]);
        Net {
            now,
            a,
            b,
            a_addr,
            b_addr,
            keys,
            lean: None,
            receiver,
            scratch: Scratch::default(),
            twcc_id: twcc_extension_id(&offer_sdp),
            mid,
            drop_seqs: Vec::new(),
            feedback: true,
            estimates: Vec::new(),
            egress: Vec::new(),
        }
    }

    /// One millisecond of both peers and the network between them.
    fn step(&mut self) {
        let mut to_b = Vec::new();
        loop {
            match self.a.poll_output().expect("a") {
                Output::Transmit(t) => to_b.push(t.contents.to_vec()),
                Output::Event(Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })) => {
                    self.estimates.push(estimate.as_u64())
                }
                Output::Event(Event::MediaEgressStats(s)) => self.egress.push(s),
                Output::Event(_) => {}
                Output::Timeout(_) => break,
            }
        }
        for d in to_b {
            if self.lost_on_the_way(&d) {
                continue;
            }
            match self.lean.as_mut() {
                Some(lean) if is_srtp(&d) => lean.handle(
                    &d,
                    self.now,
                    0,
                    &mut self.b,
                    &mut self.receiver,
                    &mut self.scratch,
                ),
                _ => {
                    let r = Receive::new(Protocol::Udp, self.a_addr, self.b_addr, &d)
                        .expect("datagram");
                    self.b
                        .handle_input(Input::Receive(self.now, r))
                        .expect("b input");
                }
            }
        }
        let mut to_a = Vec::new();
        loop {
            match self.b.poll_output().expect("b") {
                // As in the shard: str0m's own RTCP is dropped once the lean path runs.
                Output::Transmit(t) if self.lean.is_some() && is_srtp(&t.contents) => {}
                Output::Transmit(t) => to_a.push(t.contents.to_vec()),
                Output::Event(Event::Connected) => {
                    let keys = self.keys.take().expect("keys exported");
                    let mut lean = Lean::start(&keys, self.twcc_id, self.now).expect("lean");
                    lean.map_streams(&mut self.b, &self.receiver);
                    self.lean = Some(lean);
                }
                Output::Event(_) => {}
                Output::Timeout(_) => break,
            }
        }
        if let Some(lean) = self.lean.as_mut() {
            if lean.next_due().is_some_and(|t| t <= self.now) {
                let feedback = self.feedback;
                lean.poll(self.now, &mut self.scratch, &mut |d| {
                    if feedback {
                        to_a.push(d)
                    }
                });
            }
        }
        for d in to_a {
            let r = Receive::new(Protocol::Udp, self.b_addr, self.a_addr, &d).expect("datagram");
            self.a
                .handle_input(Input::Receive(self.now, r))
                .expect("a input");
        }
        self.now += Duration::from_millis(1);
        self.a.handle_input(Input::Timeout(self.now)).expect("a");
        self.b.handle_input(Input::Timeout(self.now)).expect("b");
    }

    /// A media packet (not a retransmission) whose number is to be lost, the first time.
    fn lost_on_the_way(&mut self, d: &[u8]) -> bool {
        if !is_srtp(d) || rtp::is_rtcp(d) {
            return false;
        }
        let Some(h) = rtp::parse(d, None) else {
            return false;
        };
        let media = self
            .a
            .direct_api()
            .stream_tx_by_mid(self.mid, None)
            .map(|s| *s.ssrc());
        if Some(h.ssrc) != media {
            return false;
        }
        let before = self.drop_seqs.len();
        self.drop_seqs.retain(|&s| s != h.seq);
        self.drop_seqs.len() < before
    }

    fn connect(&mut self) {
        for _ in 0..2000 {
            if self.lean.is_some() {
                return;
            }
            self.step();
        }
        panic!("not connected in 2 s");
    }

    /// `secs` of video at 30 fps, each frame `packets` RTP packets of ~1,100 octets.
    fn send_video(&mut self, secs: u64, packets: usize, first_frame: &mut u32) {
        let vp8 = self
            .a
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
            .expect("vp8");
        let start = self.now;
        let mut next_frame = self.now;
        let mut seq: u64 = u64::from(*first_frame) * packets as u64;
        while self.now < start + Duration::from_secs(secs) {
            if self.now >= next_frame {
                let n = *first_frame;
                *first_frame += 1;
                let mut frame = Vec::new();
                let header = FrameHeader {
                    kind: FrameKind::Video,
                    layer: 2,
                    sender: sender_id("p_a"),
                    seq: n,
                    sent_us: u64::from(n),
                };
                write_vp8(
                    &mut frame,
                    &header,
                    n.is_multiple_of(90),
                    640,
                    360,
                    1100 * packets,
                );
                let chunks: Vec<&[u8]> = frame.chunks(1100).collect();
                let last = chunks.len() - 1;
                for (i, c) in chunks.into_iter().enumerate() {
                    let mut payload = vec![if i == 0 { 0x10 } else { 0x00 }];
                    payload.extend_from_slice(c);
                    let write = RtpWrite::new(
                        vp8,
                        seq.into(),
                        n * 3000,
                        self.now,
                        Arc::<[u8]>::from(payload),
                    )
                    .marker(i == last)
                    .nackable(true);
                    seq += 1;
                    let mid = self.mid;
                    if let Some(tx) = self.a.direct_api().stream_tx_by_mid(mid, None) {
                        tx.write_rtp(write);
                    }
                }
                next_frame += Duration::from_micros(33_333);
            }
            self.step();
        }
    }

    /// Time passes with nothing new sent: what the pacer holds goes out.
    fn idle(&mut self, ms: u64) {
        for _ in 0..ms {
            self.step();
        }
    }

    fn lean(&self) -> &Lean {
        self.lean.as_ref().expect("lean")
    }

    fn frames(&self) -> (u64, u64) {
        let t = &self.receiver.tracks[0];
        (t.frames, t.corrupt + t.foreign)
    }
}

#[test]
fn the_lean_path_decrypts_a_str0m_sender_and_recovers_a_lost_packet() {
    let mut net = Net::new();
    net.connect();
    let mut frame = 0;
    net.send_video(1, 2, &mut frame);
    net.idle(500);
    let (frames, bad) = net.frames();
    assert_eq!(frames, u64::from(frame), "every frame");
    assert_eq!(bad, 0);
    assert_eq!(net.lean().stats.srtp_failures, 0);

    // Lose a packet in the middle of a frame: the NACK brings it back on RTX and the frame
    // completes; nothing is counted lost.
    let next = 2 * u64::from(frame) + 11;
    net.drop_seqs.push(next as u16);
    net.send_video(2, 2, &mut frame);
    net.idle(500);
    assert!(net.drop_seqs.is_empty(), "the packet was lost");
    let t = &net.receiver.tracks[0];
    assert!(net.lean().stats.nacks_sent >= 1, "{:?}", net.lean().stats);
    assert_eq!(t.lost(), 0, "the retransmission completed the frame");
    assert_eq!(t.discontinuities, 0);
    assert_eq!(t.frames, u64::from(frame), "every frame");
    assert_eq!(net.lean().stats.srtp_failures, 0);
}

#[test]
fn str0m_takes_our_reports_and_transport_feedback() {
    let mut with = Net::new();
    with.connect();
    let mut frame = 0;
    // ~800 kbit/s offered, over an estimate that starts at 300 kbit/s.
    with.send_video(8, 3, &mut frame);
    assert!(with.lean().stats.twcc_feedback_sent > 100);
    assert!(with.lean().stats.receiver_reports_sent >= 7);
    // Receiver reports with the last sender report's time: str0m measures a round trip
    // (simulated: about a millisecond each way, in steps of one).
    let rtt = with
        .egress
        .iter()
        .rev()
        .find_map(|s| s.rtt)
        .expect("an rtt");
    assert!(rtt <= Duration::from_millis(10), "{rtt:?}");
    let estimate = *with.estimates.last().expect("estimates");

    // The same without any feedback reaching the sender: its estimate does not move up.
    let mut without = Net::new();
    without.connect();
    without.feedback = false;
    let mut frame = 0;
    without.send_video(8, 3, &mut frame);
    let blind = *without.estimates.last().unwrap_or(&INITIAL_BWE);
    assert!(
        estimate > INITIAL_BWE * 2 && estimate > blind * 2,
        "with feedback {estimate}, without {blind}"
    );
}
