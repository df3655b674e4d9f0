//! What the decoder refuses, each refusal naming what was wrong.

use std::sync::Arc;
use std::time::Instant;

use super::{audio, encode, opus, samples};
use crate::link::msg::Msg;
use crate::link::wire::*;

#[test]
fn every_prefix_is_refused_and_changes_nothing() {
    let (mut e, mut d) = (RelayEncoder::new(), RelayDecoder::new());
    let now = Instant::now();
    for msg in samples() {
        let bytes = encode(&mut e, msg);
        for i in 0..bytes.len() {
            assert!(
                d.decode(&bytes[..i], now).is_err(),
                "prefix {i} of {bytes:?}"
            );
        }
        d.decode(&bytes, now).expect("the whole message");
    }
    // A packet cut inside its payload taught the decoder nothing: the next, without parameters,
    // is refused.
    let mut e = RelayEncoder::new();
    let (with, without) = (
        encode(&mut e, audio(1, "0", 1)),
        encode(&mut e, audio(1, "0", 2)),
    );
    let mut d = RelayDecoder::new();
    assert!(d.decode(&with[..with.len() - 1], now).is_err());
    assert!(matches!(
        d.decode(&without, now),
        Err(WireError::UnknownParams { publisher: 1, .. })
    ));
}

#[test]
fn trailing_bytes_and_unknown_types_are_refused() {
    let mut e = RelayEncoder::new();
    let mut bytes = encode(&mut e, Msg::Left { publisher: 1 });
    bytes.push(0);
    let now = Instant::now();
    let mut d = RelayDecoder::new();
    assert_eq!(
        d.decode(&bytes, now).err(),
        Some(WireError::TrailingBytes(1))
    );
    assert_eq!(
        d.decode(&[1, 8], now).err(),
        Some(WireError::UnknownType(8))
    );
    assert_eq!(
        d.decode(&[1, 0], now).err(),
        Some(WireError::UnknownType(0))
    );
    assert_eq!(
        d.decode(&[2, 3, 0, 0, 0, 1], now).err(),
        Some(WireError::UnknownVersion(2))
    );
    assert_eq!(
        d.decode(&[], now).err(),
        Some(WireError::Truncated("version"))
    );
}

/// A publish message with `room` and `n` rids, written by hand.
fn publish_bytes(room: &[u8], n: u8) -> Vec<u8> {
    let mut b = vec![1, 1];
    b.extend_from_slice(&(room.len() as u16).to_be_bytes());
    b.extend_from_slice(room);
    b.extend_from_slice(&[0, 0, 0, 1, 0, 1, b'p', 0, 1, b't', 1, b'1', 1, 1, n]);
    for _ in 0..n {
        b.extend_from_slice(&[1, b'r']);
    }
    b
}

#[test]
fn lengths_and_counts_are_bounded() {
    let now = Instant::now();
    let mut d = RelayDecoder::new();
    assert!(d.decode(&publish_bytes(b"r", 8), now).is_ok());
    let too_many = |what, count| {
        Some(WireError::TooMany {
            what,
            count,
            limit: 8,
        })
    };
    assert_eq!(
        d.decode(&publish_bytes(b"r", 9), now).err(),
        too_many("rids", 9)
    );
    assert_eq!(
        d.decode(&publish_bytes(b"r", 255), now).err(),
        too_many("rids", 255)
    );
    let demand = [1, 6, 0, 0, 0, 1, 1, b'1', 9, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(d.decode(&demand, now).err(), too_many("demanded layers", 9));
    assert_eq!(
        d.decode(&[1, 5, 0, 0, 0, 1, 1, b'1', 200], now).err(),
        too_many("layers", 200)
    );
    let long_room = vec![b'a'; 1025];
    let too_long = |what, len, limit| Some(WireError::TooLong { what, len, limit });
    assert_eq!(
        d.decode(&publish_bytes(&long_room, 0), now).err(),
        too_long("room", 1025, 1024)
    );
    // A length that says more than there is, within its bound: truncated, nothing allocated.
    assert_eq!(
        d.decode(&[1, 1, 3, 0xe8], now).err(),
        Some(WireError::Truncated("room"))
    );
    let long_mid = [&[1, 2, 0, 0, 0, 1, 17][..], &[b'm'; 17]].concat();
    assert_eq!(d.decode(&long_mid, now).err(), too_long("mid", 17, 16));
    assert_eq!(
        d.decode(
            &[1, 7, 0, 0, 0, 1, 1, b'1', 10, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i'],
            now
        )
        .err(),
        too_long("rid", 9, 8)
    );
    // A payload over 64 KiB, as an encoder writes it.
    let mut e = RelayEncoder::new();
    let mut big = audio(1, "0", 1);
    if let Msg::Packet { packet, .. } = &mut big {
        packet.payload = Arc::from(vec![0; 64 * 1024 + 1]);
    }
    assert_eq!(
        d.decode(&encode(&mut e, big), now).err(),
        too_long("payload", 65_537, 65_536)
    );
}

#[test]
fn a_packet_without_parameters_never_sent_is_refused() {
    let mut e = RelayEncoder::new();
    let _first = encode(&mut e, audio(4, "0", 1));
    let second = encode(&mut e, audio(4, "0", 2));
    let err = RelayDecoder::new().decode(&second, Instant::now()).err();
    assert_eq!(
        err,
        Some(WireError::UnknownParams {
            publisher: 4,
            mid: "0".into()
        })
    );
}

#[test]
fn invalid_text_and_values_are_refused() {
    let now = Instant::now();
    let mut d = RelayDecoder::new();
    let not_utf8 = publish_bytes(&[0xc3, 0x28], 0);
    assert_eq!(
        d.decode(&not_utf8, now).err(),
        Some(WireError::NotUtf8("room"))
    );
    // A mid str0m would have rewritten (`-` becomes `_`).
    assert_eq!(
        d.decode(&[1, 2, 0, 0, 0, 1, 3, b'a', b'-', b'b'], now)
            .err(),
        Some(WireError::BadId("mid"))
    );
    let bad = |what, value| Some(WireError::BadValue { what, value });
    let mut kind = publish_bytes(b"r", 0);
    let at = kind.len() - 3;
    kind[at] = 2;
    assert_eq!(d.decode(&kind, now).err(), bad("track kind", 2));
    let mut source = publish_bytes(b"r", 0);
    let at = source.len() - 2;
    source[at] = 4;
    assert_eq!(d.decode(&source, now).err(), bad("track source", 4));
    assert_eq!(
        d.decode(
            &[1, 5, 0, 0, 0, 1, 1, b'1', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4],
            now
        )
        .err(),
        bad("layer flags", 4)
    );
}

#[test]
fn invalid_packet_fields_are_refused() {
    let now = Instant::now();
    let mut d = RelayDecoder::new();
    let bad = |what, value| Some(WireError::BadValue { what, value });
    // The flags byte follows publisher, mid "0" and no layer.
    let mut e = RelayEncoder::new();
    let good = encode(&mut e, audio(1, "0", 1));
    let (flags_at, level_at) = (9, 30);
    assert_eq!(good[flags_at], LEVEL | VOICE_KNOWN | VOICE | PARAMS);
    let edit = |at: usize, v: u8| {
        let mut b = good.clone();
        b[at] = v;
        b
    };
    assert_eq!(
        d.decode(&edit(flags_at, 0x40 | LEVEL), now).err(),
        bad("packet flags", 0x42)
    );
    assert_eq!(
        d.decode(&edit(flags_at, VOICE), now).err(),
        bad("packet flags", 0x08)
    );
    assert_eq!(
        d.decode(&edit(flags_at, RESET), now).err(),
        bad("packet flags", 0x20)
    );
    assert_eq!(
        d.decode(&edit(level_at, 5), now).err(),
        bad("audio level", 5)
    );
    assert_eq!(
        d.decode(&edit(level_at, 0x80), now).err(),
        bad("audio level", -128)
    );
    // The JSON: not a parameter set, or a payload type over 7 bits.
    let json_at = level_at + 3;
    assert_eq!(good[json_at], b'{');
    assert!(matches!(
        d.decode(&edit(json_at, b'['), now),
        Err(WireError::BadParams(_))
    ));
    let json = serde_json::to_string(&opus()).expect("json");
    let bigger = json.replacen("\"pt\":111", "\"pt\":200", 1);
    assert_ne!(json, bigger);
    let mut b = good[..level_at + 1].to_vec();
    b.extend_from_slice(&(bigger.len() as u16).to_be_bytes());
    b.extend_from_slice(bigger.as_bytes());
    b.extend_from_slice(&good[json_at + json.len()..]);
    assert_eq!(d.decode(&b, now).err(), bad("payload type", 200));
    d.decode(&good, now).expect("the unedited packet");
}

#[test]
fn numbers_out_of_range_are_refused() {
    let now = Instant::now();
    let mut d = RelayDecoder::new();
    let bad = |what, value| Some(WireError::BadValue { what, value });
    let good = encode(&mut RelayEncoder::new(), audio(1, "0", 1));
    let (seq_at, time_at, clock_at) = (10, 18, 26);
    let put = |at: usize, v: &[u8]| [&good[..at], v, &good[at + v.len()..]].concat();
    assert_eq!(
        d.decode(&put(clock_at, &[0; 4]), now).err(),
        bad("clock rate", 0)
    );
    let fast = put(clock_at, &1_000_001u32.to_be_bytes());
    assert_eq!(d.decode(&fast, now).err(), bad("clock rate", 1_000_001));
    // Far from what str0m's extension of 16 and 32 bits makes; just below 0 is fine.
    let seq = put(seq_at, &(1u64 << 62).to_be_bytes());
    assert_eq!(d.decode(&seq, now).err(), bad("sequence number", 1 << 62));
    let time = put(time_at, &(1u64 << 63).to_be_bytes());
    assert_eq!(d.decode(&time, now).err(), bad("RTP time", i64::MIN));
    let below_zero = put(seq_at, &u64::MAX.to_be_bytes());
    RelayDecoder::new()
        .decode(&below_zero, now)
        .expect("a sequence number extended back past 0");
}
