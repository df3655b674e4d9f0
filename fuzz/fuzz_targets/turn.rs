//! TURN messages on the embedded TURN server's ports (UDP, TCP, TLS): the STUN codec (framing,
//! attributes, FINGERPRINT, MESSAGE-INTEGRITY), ChannelData framing, the long-term credential
//! check (a message signed with a participant's REST credential when the input asks, so the check
//! gets past the MAC to the expiry and nonce), and the peer-address policy on every XOR address.
//! A parsed message must survive being written again with the server's own builder.
#![no_main]

use std::net::SocketAddr;

use convene_fuzz::bytes::Bytes;
use convene_server::turn::auth::{long_term_key, Credentials};
use convene_server::turn::peers::PeerPolicy;
use convene_server::turn::stun::{self, attr, Builder, Message};
use libfuzzer_sys::fuzz_target;

const REALM: &str = "convene";
const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes::new(data);
    let mode = b.u8();
    let raw = b.rest();
    let _ = stun::parse_channel_data(raw);
    let creds = Credentials::new("fuzz-secret".into(), REALM.into());
    let signed;
    let input = if mode & 1 == 1 {
        // Re-signed as a client holding a participant's credential would sign it.
        let (user, pass) = creds.issue("p_fuzz", NOW + u64::from(mode >> 1) * 60);
        let key = long_term_key(&user, REALM, &pass);
        signed = match Message::parse(raw) {
            Ok(m) => resign(&m, &user, &creds.nonce(NOW), &key),
            Err(_) => return,
        };
        &signed[..]
    } else {
        raw
    };
    let Ok(msg) = Message::parse(input) else {
        return;
    };
    let _ = msg.unknown_required();
    let _ = creds.check(&msg, NOW);
    let media: SocketAddr = "192.0.2.1:40000".parse().expect("address");
    let policy = PeerPolicy::new([media], &["198.51.100.0/24".to_string()]);
    for t in [attr::XOR_PEER_ADDRESS, attr::XOR_MAPPED_ADDRESS, attr::XOR_RELAYED_ADDRESS] {
        for value in msg.all(t) {
            if let Some(peer) = msg.xor_address(value) {
                let _ = policy.check(peer);
            }
        }
    }
    let _ = msg.u32(attr::LIFETIME);
    let _ = msg.u32(attr::REQUESTED_TRANSPORT);
    let _ = msg.text(attr::USERNAME);
    // What parses is written again by the server's builder and parses the same.
    let again = rebuild(&msg).finish(None);
    let back = Message::parse(&again).expect("a message the builder wrote parses");
    assert_eq!((back.method, back.class, back.tid), (msg.method, msg.class, msg.tid));
});

/// The attributes before MESSAGE-INTEGRITY, in a new message of the same type.
fn rebuild(msg: &Message<'_>) -> Builder {
    let mut out = Builder::new(msg.method, msg.class, msg.tid);
    for (t, v) in msg.attributes() {
        if t != attr::MESSAGE_INTEGRITY && t != attr::FINGERPRINT && v.len() <= 1024 {
            out = out.attr(t, v);
        }
    }
    out
}

/// `msg` with USERNAME, REALM and NONCE set and a MESSAGE-INTEGRITY made with `key`.
fn resign(msg: &Message<'_>, user: &str, nonce: &str, key: &[u8]) -> Vec<u8> {
    let mut out = Builder::new(msg.method, msg.class, msg.tid);
    for (t, v) in msg.attributes() {
        if ![attr::MESSAGE_INTEGRITY, attr::FINGERPRINT, attr::USERNAME, attr::REALM, attr::NONCE].contains(&t)
            && v.len() <= 1024
        {
            out = out.attr(t, v);
        }
    }
    out.attr(attr::USERNAME, user.as_bytes())
        .attr(attr::REALM, REALM.as_bytes())
        .attr(attr::NONCE, nonce.as_bytes())
        .finish(Some(key))
}
