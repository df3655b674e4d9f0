use std::sync::Arc;

use str0m::unversioned::{H264Packetizer, Packetizer, Vp8Packetizer};

use super::*;

fn held(payloads: Vec<Vec<u8>>) -> Vec<Held> {
    let n = payloads.len();
    payloads
        .into_iter()
        .enumerate()
        .map(|(i, p)| Held {
            seq: i as u64,
            time: 0,
            marker: i + 1 == n,
            keyframe_start: i == 0,
            arrival: std::time::Instant::now(),
            payload: Arc::from(p.into_boxed_slice()),
        })
        .collect()
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

#[test]
fn vp8_and_h264_frames_come_back_as_packetized() {
    let vp8 = bytes(3000, 1);
    let packets = Vp8Packetizer::default().packetize(1100, &vp8).unwrap();
    assert!(packets.len() > 1);
    let mut d = Depack::for_codec(Codec::Vp8).unwrap();
    assert_eq!(d.frame(&held(packets)).unwrap(), vp8);

    // Annex B: an SPS, a PPS and an IDR slice large enough to be fragmented (FU-A).
    let mut h264 = vec![0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0x8c];
    h264.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
    h264.extend_from_slice(&[0, 0, 0, 1, 0x65]);
    h264.extend(bytes(2500, 3).into_iter().map(|b| b | 0x10));
    let packets = H264Packetizer::default().packetize(1100, &h264).unwrap();
    let mut d = Depack::for_codec(Codec::H264).unwrap();
    assert_eq!(d.frame(&held(packets)).unwrap(), h264);
}

#[test]
fn vp9_descriptors_of_every_shape_are_stripped() {
    // Flexible mode, 15-bit picture id, layer indices, two reference indices.
    let flexible = [0b1111_1000u8, 0x80 | 0x12, 0x34, 0x20, 0x03, 0x02];
    // Non-flexible, 7-bit picture id, layer indices + TL0PICIDX, scalability structure with
    // sizes (2 spatial layers) and a group of one picture with one reference.
    let mut ss = vec![0b1010_1010u8, 0x05, 0x20, 0x07];
    ss.extend_from_slice(&[0b0011_1000]); // N_S = 1 (two layers), Y, G
    ss.extend_from_slice(&[0x01, 0x40, 0x00, 0xb4, 0x02, 0x80, 0x01, 0x68]);
    ss.extend_from_slice(&[0x01, 0b0000_0100, 0x01]);
    for descriptor in [flexible.to_vec(), ss] {
        let body = bytes(500, 9);
        let mut p = descriptor.clone();
        p.extend_from_slice(&body);
        assert_eq!(vp9_descriptor_len(&p), Some(descriptor.len()));
        let mut d = Depack::for_codec(Codec::Vp9).unwrap();
        assert_eq!(d.frame(&held(vec![p])).unwrap(), body);
    }
    // Cut inside the descriptor: malformed, not a panic.
    assert_eq!(vp9_descriptor_len(&[0x80]), None);
    let mut d = Depack::for_codec(Codec::Vp9).unwrap();
    assert_eq!(d.frame(&held(vec![vec![0xa0, 0x05]])), Err(Malformed));
}

#[test]
fn av1_obus_are_rebuilt_with_sizes_across_fragments() {
    // A sequence header OBU (type 1) and a frame OBU (type 6), neither with a size field.
    let seq_header = [vec![0x08u8], bytes(10, 2)].concat();
    let frame = [vec![0x30u8], bytes(300, 4)].concat();
    // Packet 1: W=2, the sequence header with its length, then the frame's first 100 bytes as
    // the last element, continued (Y). Packet 2: Z (continuation), W=1, the rest.
    let mut p1 = vec![0b0110_1000u8, seq_header.len() as u8];
    p1.extend_from_slice(&seq_header);
    p1.extend_from_slice(&frame[..100]);
    let mut p2 = vec![0b1001_0000u8];
    p2.extend_from_slice(&frame[100..]);
    let mut d = Depack::for_codec(Codec::Av1).unwrap();
    let out = d.frame(&held(vec![p1, p2])).unwrap();
    let mut want = vec![0x0a, 10];
    want.extend_from_slice(&seq_header[1..]);
    want.extend_from_slice(&[0x32, 0xac, 0x02]); // 300 in LEB128
    want.extend_from_slice(&frame[1..]);
    assert_eq!(out, want);
    // A temporal delimiter is left out.
    let mut d = Depack::for_codec(Codec::Av1).unwrap();
    assert_eq!(
        d.frame(&held(vec![vec![0b0001_0000, 0x10]])).unwrap(),
        Vec::<u8>::new()
    );
    // A fragment that never ends, or a length past the packet: malformed.
    let mut d = Depack::for_codec(Codec::Av1).unwrap();
    assert_eq!(
        d.frame(&held(vec![vec![0b0101_0000, 0x30, 1]])),
        Err(Malformed)
    );
    assert_eq!(
        d.frame(&held(vec![vec![0b0000_0000, 50, 0x30]])),
        Err(Malformed)
    );
}
