//! STUN on the media port: how the server routes a datagram to its worker (the USERNAME's local
//! ufrag) and how the media core demultiplexes it and checks it (RFC 7983 classes, STUN parsing,
//! MESSAGE-INTEGRITY, the ICE agent), with a participant in session. An input is one datagram,
//! sent as is or signed as alice's client would sign it (then it passes the integrity check and
//! reaches str0m's ICE agent), from alice's address or a stranger's.
#![no_main]

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use convene_fuzz::bytes::Bytes;
use convene_fuzz::media::Session;
use convene_media::Protocol;
use libfuzzer_sys::fuzz_target;

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mode = b.u8();
    let msg = b.rest();
    // What the server's workers do first with every datagram (media/mod.rs `Shared::owner`).
    if let Some(name) = convene_media::stun_username(msg) {
        let _ = convene_media::local_ufrag(name);
    }
    let mut slot = SESSION.lock().unwrap_or_else(|p| p.into_inner());
    let s = Session::next(&mut slot);
    let stranger: SocketAddr = "192.0.2.7:40000".parse().expect("address");
    let src = if mode & 1 == 0 { s.client_addr } else { stranger };
    let datagram = match (mode >> 1) & 3 {
        // As alice's client signs it.
        0 | 1 => convene_fuzz::stun::sign(msg, &s.username(), &s.pwd),
        // Signed with a fuzzed USERNAME (its first line) and alice's password.
        2 => {
            let mut b = Bytes::new(msg);
            let user = String::from_utf8_lossy(b.until(b'\n')).into_owned();
            convene_fuzz::stun::sign(b.rest(), &user, &s.pwd)
        }
        _ => msg.to_vec(),
    };
    s.input(Protocol::Udp, src, &datagram);
    s.advance(Duration::from_millis(u64::from(mode >> 3)));
});
