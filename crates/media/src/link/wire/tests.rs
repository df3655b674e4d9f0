use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_proto::{ParticipantId, RoomId, TrackId};
use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
use str0m::media::{Frequency, MediaTime, Mid, Pt, Rid};

use super::*;
use crate::link::msg::{LayerInfo, RelayMessage};
use crate::packet::InPacket;
use crate::types::{TrackKind, TrackSource};

mod refused;

fn opus() -> PayloadParams {
    let spec = CodecSpec {
        codec: Codec::Opus,
        clock_rate: Frequency::FORTY_EIGHT_KHZ,
        channels: Some(2),
        format: FormatParams {
            min_p_time: Some(10),
            use_inband_fec: Some(true),
            ..FormatParams::default()
        },
    };
    PayloadParams::new(Pt::from(111), None, spec)
}

fn vp8_params() -> PayloadParams {
    let spec = CodecSpec {
        codec: Codec::Vp8,
        clock_rate: Frequency::NINETY_KHZ,
        channels: None,
        format: FormatParams::default(),
    };
    PayloadParams::new(Pt::from(96), Some(Pt::from(97)), spec)
}

fn audio(publisher: u32, mid: &str, seq: u64) -> Msg {
    let packet = InPacket {
        mid: Mid::from(mid),
        rid: None,
        params: opus(),
        seq: seq.into(),
        time: MediaTime::new(seq * 960, Frequency::FORTY_EIGHT_KHZ),
        marker: seq.is_multiple_of(2),
        audio_level: Some(-30),
        voice_activity: Some(true),
        arrival: Instant::now(),
        payload: Arc::from(vec![0x41, 0x01, seq as u8]),
        keyframe_start: false,
        vp8: None,
    };
    Msg::Packet {
        publisher,
        packet: Box::new(packet),
    }
}

/// A VP8 packet: descriptor with S, a 15-bit picture id, TL0PICIDX and TID, then a frame tag,
/// start code and size.
fn vp8_payload(keyframe: bool, picture_id: u16) -> Vec<u8> {
    let id = picture_id.to_be_bytes();
    let mut p = vec![0x90, 0xe0, 0x80 | id[0], id[1], 7, 0];
    p.extend_from_slice(&[if keyframe { 0x10 } else { 0x11 }, 0, 0]);
    p.extend_from_slice(&[0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]);
    p
}

fn video(keyframe: bool, arrival: Instant) -> Msg {
    let packet = InPacket {
        mid: Mid::from("1"),
        rid: Some(Rid::from("h")),
        params: vp8_params(),
        seq: 70_000.into(),
        time: MediaTime::new(5_000_000_000, Frequency::NINETY_KHZ),
        marker: true,
        audio_level: None,
        voice_activity: None,
        arrival,
        payload: Arc::from(vp8_payload(keyframe, 300)),
        // Deliberately wrong: the decoder reads them from the payload.
        keyframe_start: false,
        vp8: None,
    };
    Msg::Packet {
        publisher: 7,
        packet: Box::new(packet),
    }
}

/// One message of every kind, in an order a link may carry them.
fn samples() -> Vec<Msg> {
    let mid = Mid::from("1");
    vec![
        Msg::Publish {
            room: RoomId::new("café-team"),
            publisher: 7,
            id: ParticipantId::new("p_abc"),
            track: TrackId::new("p_abc-1"),
            mid,
            kind: TrackKind::Video,
            source: TrackSource::Screen,
            rids: vec![Rid::from("l"), Rid::from("m"), Rid::from("h")],
        },
        audio(7, "0", 1),
        audio(7, "0", 2),
        video(true, Instant::now()),
        Msg::Layers {
            publisher: 7,
            mid,
            layers: vec![
                LayerInfo {
                    rid: Some(Rid::from("l")),
                    bitrate_bps: 150_000,
                    peak_bps: u64::MAX,
                    size: Some((320, 180)),
                    available: true,
                },
                LayerInfo {
                    rid: None,
                    bitrate_bps: 0,
                    peak_bps: 0,
                    size: None,
                    available: false,
                },
            ],
        },
        Msg::Demand {
            publisher: 3,
            mid,
            layers: vec![Some(Rid::from("m")), None],
        },
        Msg::KeyframeRequest {
            publisher: 3,
            mid,
            layer: Some(Rid::from("h")),
        },
        Msg::Unpublish { publisher: 7, mid },
        Msg::Left { publisher: 7 },
    ]
}

fn encode(e: &mut RelayEncoder, msg: Msg) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode(&RelayMessage(msg), &mut out);
    out
}

/// The packet of a decoded message.
fn packet_of(m: RelayMessage) -> Box<InPacket> {
    match m.0 {
        Msg::Packet { packet, .. } => packet,
        _ => panic!("not a packet"),
    }
}

#[test]
fn every_kind_round_trips() {
    let (mut e, mut d, mut again) = (
        RelayEncoder::new(),
        RelayDecoder::new(),
        RelayEncoder::new(),
    );
    let now = Instant::now();
    let mut kinds = Vec::new();
    for msg in samples() {
        let bytes = encode(&mut e, msg);
        let decoded = d.decode(&bytes, now).expect("decodes");
        kinds.push(format!("{decoded:?}"));
        if let Msg::Publish { room, rids, .. } = &decoded.0 {
            assert_eq!(room.as_str(), "café-team");
            assert_eq!(
                rids.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                ["l", "m", "h"]
            );
        }
        // Every field sent came back: encoded again (by an encoder that saw the same messages),
        // it is the same bytes.
        let mut out = Vec::new();
        again.encode(&decoded, &mut out);
        assert_eq!(out, bytes, "{decoded:?}");
    }
    let kinds: Vec<&str> = kinds.iter().map(|k| &k[13..k.len() - 1]).collect();
    assert_eq!(
        kinds,
        [
            "publish",
            "packet",
            "packet",
            "packet",
            "layers",
            "demand",
            "keyframe_request",
            "unpublish",
            "left"
        ]
    );
}

#[test]
fn codec_parameters_go_once_and_again_when_they_change() {
    let (mut e, mut d) = (RelayEncoder::new(), RelayDecoder::new());
    let now = Instant::now();
    let first = encode(&mut e, audio(1, "0", 1));
    let second = encode(&mut e, audio(1, "0", 2));
    let json = serde_json::to_vec(&opus()).expect("json");
    assert_eq!(first.len(), second.len() + 2 + json.len());
    assert_eq!(
        packet_of(d.decode(&first, now).expect("first")).params,
        opus()
    );
    assert_eq!(
        packet_of(d.decode(&second, now).expect("second")).params,
        opus()
    );
    // Another track of the same publisher has its own entry.
    assert_eq!(encode(&mut e, audio(1, "2", 3)).len(), first.len());
    // Changed parameters go again.
    let mut changed = audio(1, "0", 3);
    if let Msg::Packet { packet, .. } = &mut changed {
        packet.params.set_fb_nack(true);
    }
    let third = encode(&mut e, changed);
    assert_eq!(third[9] & PARAMS, PARAMS);
    assert!(packet_of(d.decode(&third, now).expect("third"))
        .params
        .fb_nack());
}

#[test]
fn keyframe_and_vp8_ids_are_read_again_and_arrival_is_local() {
    let (mut e, mut d) = (RelayEncoder::new(), RelayDecoder::new());
    let sent_at = Instant::now();
    let now = sent_at + Duration::from_secs(5);
    let p = packet_of(
        d.decode(&encode(&mut e, video(true, sent_at)), now)
            .expect("decodes"),
    );
    assert!(p.keyframe_start);
    let ids = p.vp8.expect("VP8 ids");
    assert_eq!(
        (ids.picture_id, ids.tl0_pic_idx),
        (Some((300, true)), Some(7))
    );
    assert_eq!(p.arrival, now);
    assert_eq!(
        (p.rid, *p.seq, p.time.numer(), p.marker),
        (Some(Rid::from("h")), 70_000, 5_000_000_000, true)
    );
    assert_eq!((p.audio_level, p.voice_activity), (None, None));
    let p = packet_of(
        d.decode(&encode(&mut e, video(false, sent_at)), now)
            .expect("delta"),
    );
    assert!(!p.keyframe_start && p.vp8.is_some());
}

#[test]
fn the_encoder_cuts_lists_at_the_bound() {
    let (mut e, mut d) = (RelayEncoder::new(), RelayDecoder::new());
    let now = Instant::now();
    // More simulcast layers than the link carries: the other core hears of the first 8.
    let rids: Vec<Rid> = (0..10)
        .map(|i| Rid::from(format!("r{i}").as_str()))
        .collect();
    let publish = Msg::Publish {
        room: RoomId::new("r"),
        publisher: 1,
        id: ParticipantId::new("p"),
        track: TrackId::new("t"),
        mid: Mid::from("1"),
        kind: TrackKind::Video,
        source: TrackSource::Camera,
        rids,
    };
    match d.decode(&encode(&mut e, publish), now).map(|m| m.0) {
        Ok(Msg::Publish { rids, .. }) => assert_eq!(rids.len(), 8),
        other => panic!("{:?}", other.map(RelayMessage)),
    }
}

#[test]
fn left_and_unpublish_forget_parameters_on_both_ends() {
    let (mut e, mut d) = (RelayEncoder::new(), RelayDecoder::new());
    let now = Instant::now();
    let mut send = |e: &mut RelayEncoder, msg| {
        let bytes = encode(e, msg);
        d.decode(&bytes, now).expect("decodes");
        (bytes.len(), d.params.map.len())
    };
    let (full, _) = send(&mut e, audio(1, "0", 1));
    send(&mut e, audio(1, "2", 1));
    send(&mut e, audio(2, "0", 1));
    assert_eq!(send(&mut e, Msg::Left { publisher: 1 }).1, 1);
    assert_eq!(e.params.map.len(), 1);
    // A slot used again after a leave starts without parameters: they go again.
    assert_eq!(send(&mut e, audio(1, "0", 1)).0, full);
    let unpublish = Msg::Unpublish {
        publisher: 2,
        mid: Mid::from("0"),
    };
    assert_eq!(send(&mut e, unpublish).1, 1);
    assert_eq!(send(&mut e, audio(2, "0", 2)).0, full);
}

#[test]
fn a_full_table_starts_afresh_on_both_ends() {
    let (mut e, mut d) = (
        RelayEncoder::with_params_cap(2),
        RelayDecoder::with_params_cap(2),
    );
    let now = Instant::now();
    let flags = |b: &[u8]| b[9];
    for (i, mid) in ["0", "2", "4", "0"].into_iter().enumerate() {
        let bytes = encode(&mut e, audio(1, mid, i as u64));
        // The third track fills the table: both ends forget the others; the first then goes again.
        assert_eq!(
            flags(&bytes) & (PARAMS | RESET),
            if i == 2 { PARAMS | RESET } else { PARAMS }
        );
        d.decode(&bytes, now).expect("decodes");
        assert_eq!(d.params.map.len(), e.params.map.len());
    }
    assert_eq!(d.params.map.len(), 2);
    // A decoder at its cap refuses another track's parameters unless told to start afresh.
    let mut wide = RelayEncoder::new();
    let mut d = RelayDecoder::with_params_cap(2);
    for mid in ["0", "2"] {
        d.decode(&encode(&mut wide, audio(1, mid, 1)), now)
            .expect("decodes");
    }
    let third = encode(&mut wide, audio(1, "4", 1));
    assert_eq!(
        d.decode(&third, now).err(),
        Some(WireError::ParamsTableFull(2))
    );
    assert_eq!(d.params.map.len(), 2);
}

#[test]
fn one_packet_relayed_to_several_links_is_known_as_one() {
    let one = RelayMessage(audio(3, "0", 7));
    let copy = one.clone();
    assert!(one.same_packet(&copy), "a clone shares the payload");
    // The same numbers with another payload, another sequence, another publisher: not the same.
    assert!(!one.same_packet(&RelayMessage(audio(3, "0", 7))));
    assert!(!one.same_packet(&RelayMessage(audio(3, "0", 8))));
    let mut other = one.clone();
    if let Msg::Packet { publisher, .. } = &mut other.0 {
        *publisher = 4;
    }
    assert!(!one.same_packet(&other));
    let left = RelayMessage(Msg::Left { publisher: 3 });
    assert!(!left.same_packet(&left.clone()), "only packets");
}
