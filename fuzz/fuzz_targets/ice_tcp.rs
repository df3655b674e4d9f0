//! ICE-TCP on the HTTP port: how the listener tells a connection apart by its first byte, the
//! RFC 4571 framing (media/ice_tcp.rs `read_frame`), routing by the first frame's USERNAME, and
//! each frame handed to the media core as TCP input, with a participant in session. STUN frames
//! are signed as alice's client would when the input asks, so they pass the integrity check and
//! the connection becomes hers.
#![no_main]

use std::net::SocketAddr;
use std::sync::Mutex;

use convene_fuzz::bytes::Bytes;
use convene_fuzz::media::Session;
use convene_media::Protocol;
use convene_server::media::ice_tcp;
use convene_server::net::listener::{sniff, Sniffed};
use futures_util::FutureExt;
use libfuzzer_sys::fuzz_target;

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let sign = b.bool();
    let stream = b.rest();
    let Some(&first) = stream.first() else {
        return;
    };
    if !matches!(sniff(first), Sniffed::IceTcp) {
        assert!(!ice_tcp::looks_like_ice_tcp(first));
        return;
    }
    let mut rd: &[u8] = stream;
    let mut frames = Vec::new();
    // Reading from memory never waits: each read completes at once.
    while let Some(Some(frame)) = ice_tcp::read_frame(&mut rd).now_or_never() {
        assert!(frame.len() <= usize::from(u16::MAX));
        frames.push(frame);
        if frames.len() > 64 {
            break;
        }
    }
    if let Some(name) = frames.first().and_then(|f| convene_media::stun_username(f)) {
        let _ = convene_media::local_ufrag(name);
    }
    let mut slot = SESSION.lock().unwrap_or_else(|p| p.into_inner());
    let s = Session::next(&mut slot);
    let peer: SocketAddr = "192.0.2.8:50000".parse().expect("address");
    for frame in frames {
        let frame = if sign && frame.first().is_some_and(|b| *b < 4) {
            convene_fuzz::stun::sign(&frame, &s.username(), &s.pwd)
        } else {
            frame
        };
        s.input(Protocol::Tcp, peer, &frame);
    }
});
