//! Test 6: garbage input is dropped with a reason, counted, and never panics.

use std::net::SocketAddr;
use std::time::Duration;

use convene_media::{DropReason, Protocol};

use super::sim::{sfu_addr, Rng, World};

/// A STUN binding request with the given USERNAME and, optionally, a bogus MESSAGE-INTEGRITY.
fn stun_request(username: &str, integrity: bool) -> Vec<u8> {
    let mut attrs = Vec::new();
    let name = username.as_bytes();
    attrs.extend_from_slice(&0x0006u16.to_be_bytes());
    attrs.extend_from_slice(&(name.len() as u16).to_be_bytes());
    attrs.extend_from_slice(name);
    while attrs.len() % 4 != 0 {
        attrs.push(0);
    }
    // PRIORITY, required in binding requests.
    attrs.extend_from_slice(&0x0024u16.to_be_bytes());
    attrs.extend_from_slice(&4u16.to_be_bytes());
    attrs.extend_from_slice(&0x6e00_01ffu32.to_be_bytes());
    if integrity {
        attrs.extend_from_slice(&0x0008u16.to_be_bytes());
        attrs.extend_from_slice(&20u16.to_be_bytes());
        attrs.extend_from_slice(&[0xAB; 20]);
    }
    let mut v = Vec::new();
    v.extend_from_slice(&0x0001u16.to_be_bytes());
    v.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    v.extend_from_slice(&[7; 12]);
    v.extend_from_slice(&attrs);
    v
}

fn server_ufrag(w: &World, client: usize) -> String {
    w.server_ufrags[client].clone()
}

#[test]
fn garbage_is_dropped_with_reason() {
    let mut w = World::new(6);
    w.join("alice", true, true);
    w.join("bob", true, true);
    w.run_for(Duration::from_secs(2));
    let before = w.sfu.stats();
    assert_eq!(before.dropped_total(), 0, "clean traffic drops nothing");

    let dst = sfu_addr();
    let stranger: SocketAddr = "192.0.2.9:4444".parse().unwrap();
    let alice = w.clients[0].addr;
    let now = w.now;
    let expect = |w: &mut World, src: SocketAddr, data: &[u8], reason: DropReason| {
        let r = w.sfu.handle_input(now, Protocol::Udp, src, dst, data);
        assert_eq!(
            r,
            Err(reason),
            "datagram {:02x?}",
            &data[..data.len().min(16)]
        );
    };

    expect(&mut w, stranger, &[], DropReason::Empty);
    expect(&mut w, stranger, &[0xff; 100], DropReason::NotWebRtc);
    expect(&mut w, stranger, &[0x00; 12], DropReason::MalformedStun);
    // Well-formed STUN from nobody we know.
    expect(
        &mut w,
        stranger,
        &stun_request("nobody:x", true),
        DropReason::UnknownUfrag,
    );
    // Right ufrag, wrong password (bogus MESSAGE-INTEGRITY), even from alice's own address.
    let ufrag = server_ufrag(&w, 0);
    let forged = stun_request(&format!("{ufrag}:x"), true);
    expect(&mut w, stranger, &forged, DropReason::BadStunCredentials);
    expect(&mut w, alice, &forged, DropReason::BadStunCredentials);
    let no_integrity = stun_request(&format!("{ufrag}:x"), false);
    // A binding request without MESSAGE-INTEGRITY does not even parse.
    expect(&mut w, alice, &no_integrity, DropReason::MalformedStun);
    // A binding indication: never expected by an ICE-lite server.
    let mut response = stun_request("nobody:x", false);
    response[0..2].copy_from_slice(&0x0011u16.to_be_bytes());
    expect(&mut w, stranger, &response, DropReason::UnexpectedStun);
    // Media from an address that never passed a STUN check.
    let mut rtp = vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
    rtp.resize(200, 0x55);
    expect(&mut w, stranger, &rtp, DropReason::UnknownPeer);
    // Truncated RTP / RTCP / DTLS from a known peer.
    expect(&mut w, alice, &rtp[..11], DropReason::Truncated);
    let mut csrc_rtp = rtp[..20].to_vec();
    csrc_rtp[0] = 0x8f; // 15 CSRCs claimed, 8 bytes present
    expect(&mut w, alice, &csrc_rtp, DropReason::Truncated);
    let rtcp = [0x80, 200, 0, 12, 0, 0, 0, 1, 1, 2, 3];
    expect(&mut w, alice, &rtcp, DropReason::Truncated);
    expect(
        &mut w,
        alice,
        &[22, 0xfe, 0xfd, 0, 0],
        DropReason::Truncated,
    );
    // Well-formed but unauthenticated SRTP from alice's address: SRTP rejects it silently or
    // with an error; either way nothing is forwarded and nothing panics.
    let _ = w.sfu.handle_input(now, Protocol::Udp, alice, dst, &rtp);

    // A few thousand random datagrams, from strangers and from alice's address.
    let mut rng = Rng::new(0xC0FFEE);
    let mut count_err = 0;
    for i in 0..5000 {
        let len = rng.below(1500) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        // Steer the first byte into each demultiplexing range.
        if let Some(b) = data.first_mut() {
            *b = match i % 5 {
                0 => (rng.below(4)) as u8,
                1 => 20 + rng.below(44) as u8,
                2 => 128 + rng.below(64) as u8,
                _ => *b,
            };
        }
        if i % 7 == 0 && data.len() >= 8 {
            data[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        }
        let src = if i % 2 == 0 { alice } else { stranger };
        if w.sfu
            .handle_input(now, Protocol::Udp, src, dst, &data)
            .is_err()
        {
            count_err += 1;
        }
    }
    let stats = w.sfu.stats();
    let reasons: Vec<_> = stats.dropped_by_reason().collect();
    println!("dropped by reason: {reasons:?}");
    assert!(
        count_err > 2500,
        "most random datagrams rejected: {count_err}"
    );
    for r in [
        DropReason::Empty,
        DropReason::NotWebRtc,
        DropReason::MalformedStun,
        DropReason::UnknownUfrag,
        DropReason::BadStunCredentials,
        DropReason::UnexpectedStun,
        DropReason::UnknownPeer,
        DropReason::Truncated,
    ] {
        assert!(stats.dropped(r) > 0, "{r:?} counted");
    }

    // The session survives: media keeps flowing both ways.
    let a_before = w.clients[1].video_from(0).len();
    let b_before = w.clients[0].audio_from(1).len();
    w.run_for(Duration::from_secs(2));
    assert!(w.clients[1].video_from(0).len() > a_before + 30);
    assert!(w.clients[0].audio_from(1).len() > b_before + 50);
    assert_eq!(
        w.clients[0].corrupt_frames() + w.clients[1].corrupt_frames(),
        0
    );
}

#[test]
fn garbage_signaling_is_an_error_not_a_panic() {
    let mut w = World::new(7);
    w.join("alice", true, true);
    let id = w.clients[0].id.clone();
    let now = w.now;
    assert!(w.sfu.handle_offer(&id, "garbage", &[], now).is_err());
    assert!(w.sfu.handle_answer(&id, "v=0\r\n", now).is_err());
    assert!(w.sfu.handle_candidate(&id, "candidate:nonsense").is_err());
    let good = "a=candidate:1 1 udp 2113929471 10.1.0.1 5000 typ host";
    assert!(w.sfu.handle_candidate(&id, good).is_ok());
    let nobody = convene_proto::ParticipantId::new("nobody");
    assert!(w.sfu.handle_offer(&nobody, "v=0", &[], now).is_err());
    w.run_for(Duration::from_secs(1));
}
