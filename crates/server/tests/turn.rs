//! The embedded TURN server: credentials from `joined`, relaying to this node's media and nowhere
//! else, quotas, lifetimes, and garbage.

mod common;
#[path = "support/turn_client.rs"]
mod turn_client;

use std::net::SocketAddr;
use std::time::Duration;

use common::TestServer;
use convene_server::Config;
use tokio::net::UdpSocket;
use turn_client::TurnClient;

const SECRET: &str = "turn-test-secret";

fn turn_on(c: &mut Config) {
    c.turn.enabled = true;
    c.turn.listen_port = 0;
    c.turn.secret = SECRET.into();
}

/// The TURN entry of `joined`'s ICE servers: (UDP address, TCP address, username, password).
async fn credentials(s: &TestServer, room: &str) -> (SocketAddr, SocketAddr, String, String) {
    let (_c, j) = s.join(room, "Ada").await;
    let t = j
        .ice_servers
        .iter()
        .find(|i| i.urls.iter().any(|u| u.starts_with("turn:")))
        .expect("a TURN server in joined");
    let addr = |transport: &str| {
        let u = t
            .urls
            .iter()
            .find(|u| u.ends_with(&format!("?transport={transport}")))
            .expect("a URL per transport");
        let host = u
            .trim_start_matches("turn:")
            .split('?')
            .next()
            .expect("host");
        host.parse::<SocketAddr>().expect("an address")
    };
    let username = t.username.clone().expect("username");
    let (_, who) = username.split_once(':').expect("expiry:participant");
    assert_eq!(
        who,
        j.participant_id.as_str(),
        "the credential is the participant's"
    );
    (
        addr("udp"),
        addr("tcp"),
        username,
        t.credential.clone().expect("credential"),
    )
}

/// A STUN binding request naming a ufrag nobody has: the media socket drops and counts it.
fn stray_binding() -> Vec<u8> {
    use convene_server::turn::stun::{attr, method, Builder, Class};
    Builder::new(method::BINDING, Class::Request, rand::random())
        .attr(attr::USERNAME, b"nobody:x")
        .u32(0x0024, 0x6e00_01ff)
        .finish(Some(b"no-such-password"))
}

const STRAY: &str = "convene_media_dropped_packets_total{reason=\"unknown_ufrag\"}";

#[tokio::test]
async fn relays_to_our_media_address_and_nowhere_else() {
    let s = TestServer::with(turn_on).await;
    let media = s.udp_addr.expect("media");
    let (udp, tcp, user, pass) = credentials(&s, "turn-media").await;
    assert_eq!(udp, tcp, "one port for UDP and TCP");
    let mut c = TurnClient::udp(udp, &user, &pass).await;
    let relayed = c.allocate().await.expect("allocate");
    assert_eq!(relayed.ip(), media.ip(), "relayed on the public IP");

    c.permit(media)
        .await
        .expect("permission to our media address");
    for _ in 0..5 {
        c.send_to(media, &stray_binding()).await;
    }
    let got = s.metric_reaches(STRAY, 5.0).await;
    assert!(
        got >= 5.0,
        "relayed datagrams reached the media socket: {got}"
    );

    // A listener elsewhere on loopback: permission for 127.0.0.1 exists (our media is there), but
    // the relay must not reach another port of it.
    let other = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let other_addr = other.local_addr().expect("addr");
    for peer in [
        other_addr.to_string(),
        format!("[::ffff:127.0.0.1]:{}", media.port() + 1),
        "10.0.0.1:5000".into(),
        "169.254.169.254:80".into(),
        "224.0.0.1:5000".into(),
        "[::1]:5000".into(),
        "192.168.1.1:5000".into(),
        "8.8.8.8:3478".into(),
    ] {
        let p: SocketAddr = peer.parse().expect("address");
        let e = c.permit(p).await.expect_err("refused");
        assert_eq!(e.0, 403, "{peer}: {e:?}");
        let e = c.bind_channel(0x4001, p).await.expect_err("refused");
        assert_eq!(e.0, 403, "channel to {peer}: {e:?}");
    }
    let refused = s
        .metric("convene_turn_refused_total{reason=\"peer\"}")
        .await;
    assert_eq!(refused, 16.0, "every refusal counted");
    c.send_to(other_addr, b"must not arrive").await;
    let mut buf = [0u8; 64];
    let leaked = tokio::time::timeout(Duration::from_millis(500), other.recv_from(&mut buf)).await;
    assert!(
        leaked.is_err(),
        "a Send to another loopback port was relayed"
    );

    // A channel to our media carries data too.
    c.bind_channel(0x4000, media)
        .await
        .expect("channel to media");
    let before = s.metric(STRAY).await;
    for _ in 0..5 {
        c.send_channel(0x4000, &stray_binding()).await;
    }
    let got = s.metric_reaches(STRAY, before + 5.0).await;
    assert!(got >= before + 5.0, "ChannelData reached the media socket");
}

#[tokio::test]
async fn allow_peers_opens_a_block_and_data_comes_back() {
    let s = TestServer::with(|c| {
        turn_on(c);
        c.turn.allow_peers = vec!["127.0.0.0/8".into()];
    })
    .await;
    let (udp, tcp, user, pass) = credentials(&s, "turn-allow").await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let peer_addr = peer.local_addr().expect("addr");
    for mut c in [
        TurnClient::udp(udp, &user, &pass).await,
        TurnClient::tcp(tcp, &user, &pass).await,
    ] {
        let relayed = c.allocate().await.expect("allocate");
        c.permit(peer_addr).await.expect("allowed by allow_peers");
        c.send_to(peer_addr, b"out").await;
        let mut buf = [0u8; 64];
        let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
            .await
            .expect("relayed out")
            .expect("recv");
        assert_eq!((&buf[..n], from), (&b"out"[..], relayed));
        peer.send_to(b"back", relayed).await.expect("send");
        let (from, data) = c
            .recv_data(Duration::from_secs(5))
            .await
            .expect("relayed back");
        assert_eq!((from, data), (Some(peer_addr), b"back".to_vec()));
        c.bind_channel(0x4002, peer_addr).await.expect("channel");
        peer.send_to(b"chan", relayed).await.expect("send");
        let (from, data) = c
            .recv_data(Duration::from_secs(5))
            .await
            .expect("ChannelData");
        assert_eq!((from, data), (None, b"chan".to_vec()));
    }
}

#[tokio::test]
async fn forged_and_expired_credentials_are_refused() {
    let s = TestServer::with(turn_on).await;
    let (udp, _, user, pass) = credentials(&s, "turn-auth").await;
    let mut forged = TurnClient::udp(udp, &user, "not-the-password").await;
    assert_eq!(forged.allocate().await.expect_err("forged").0, 401);
    let (_, who) = user.split_once(':').expect("name");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let old = format!("{}:{who}", now - 10);
    let old_pass = convene_server::media::ice_servers::turn_password(SECRET, &old);
    let mut expired = TurnClient::udp(udp, &old, &old_pass).await;
    let e = expired.allocate().await.expect_err("expired");
    assert_eq!(e, (401, "credentials expired".into()));
    // A far expiry made up without the secret.
    let mut made_up = TurnClient::udp(udp, &format!("{}:{who}", now + 9999), &pass).await;
    assert_eq!(made_up.allocate().await.expect_err("made up").0, 401);
    let mut ok = TurnClient::udp(udp, &user, &pass).await;
    ok.allocate().await.expect("the real one works");
    let refused = s
        .metric("convene_turn_refused_total{reason=\"auth\"}")
        .await;
    assert_eq!(refused, 3.0, "forged, expired and made up");
}

#[tokio::test]
async fn allocations_are_bounded_per_participant_and_per_node() {
    let s = TestServer::with(|c| {
        turn_on(c);
        c.turn.max_allocations_per_user = 2;
        c.turn.max_allocations = 3;
    })
    .await;
    let (udp, _, user, pass) = credentials(&s, "turn-quota").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TurnClient::udp(udp, &user, &pass).await;
        c.allocate().await.expect("within the participant's share");
        held.push(c);
    }
    let mut third = TurnClient::udp(udp, &user, &pass).await;
    assert_eq!(third.allocate().await.expect_err("quota").0, 486);
    let (_, _, user2, pass2) = credentials(&s, "turn-quota").await;
    let mut other = TurnClient::udp(udp, &user2, &pass2).await;
    other
        .allocate()
        .await
        .expect("another participant has a share");
    let mut fourth = TurnClient::udp(udp, &user2, &pass2).await;
    assert_eq!(fourth.allocate().await.expect_err("node quota").0, 486);
    assert_eq!(s.metric("convene_turn_allocations ").await, 3.0);
    assert_eq!(
        s.metric("convene_turn_refused_total{reason=\"quota\"}")
            .await,
        2.0
    );
    // Deleting one (Refresh with lifetime 0) frees its place.
    assert_eq!(held[0].refresh(0).await.expect("delete"), 0);
    fourth.allocate().await.expect("room again");
}

#[tokio::test]
async fn expired_allocations_are_freed() {
    let s = TestServer::with(|c| {
        turn_on(c);
        c.turn.max_allocations_per_user = 1;
        c.turn.max_lifetime_secs = 1;
    })
    .await;
    let (udp, _, user, pass) = credentials(&s, "turn-expiry").await;
    let mut first = TurnClient::udp(udp, &user, &pass).await;
    first.allocate().await.expect("allocate");
    let mut second = TurnClient::udp(udp, &user, &pass).await;
    assert_eq!(second.allocate().await.expect_err("quota").0, 486);
    let mut freed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if second.allocate().await.is_ok() {
            freed = true;
            break;
        }
    }
    assert!(freed, "the first allocation expired and freed its place");
    assert_eq!(first.refresh(600).await.expect_err("gone").0, 437);
}

#[tokio::test]
async fn garbage_is_ignored() {
    let s = TestServer::with(turn_on).await;
    let (udp, tcp, user, pass) = credentials(&s, "turn-garbage").await;
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let valid = stray_binding();
    for i in 0..2000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut b = match i % 3 {
            0 => valid.clone(),
            1 => vec![0x40, 0x00, 0xff, 0xff, 1, 2, 3],
            _ => seed.to_be_bytes().repeat(1 + (seed % 40) as usize),
        };
        let at = (seed as usize) % b.len();
        b[at] ^= (seed >> 8) as u8;
        sock.send_to(&b, udp).await.expect("send");
    }
    for junk in [
        &b"GET / HTTP/1.1\r\n\r\n"[..],
        &[0x00, 0x03, 0xff, 0xfc][..],
        &[0u8; 3][..],
    ] {
        use tokio::io::AsyncWriteExt;
        let mut t = tokio::net::TcpStream::connect(tcp).await.expect("connect");
        let _ = t.write_all(junk).await;
    }
    // The longest STUN message TCP framing allows is read whole, and the connection goes on.
    {
        use convene_server::turn::stun::{method, Builder, Class, Message};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let tid: [u8; 12] = rand::random();
        let big = Builder::new(method::BINDING, Class::Request, tid)
            .attr(0x8022, &vec![b'x'; 65_516])
            .finish(None);
        assert_eq!(big.len(), 20 + 65_528);
        let mut t = tokio::net::TcpStream::connect(tcp).await.expect("connect");
        t.write_all(&big).await.expect("write");
        let mut head = [0u8; 20];
        tokio::time::timeout(Duration::from_secs(5), t.read_exact(&mut head))
            .await
            .expect("an answer to the longest message")
            .expect("read");
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let mut answer = head.to_vec();
        answer.resize(20 + len, 0);
        t.read_exact(&mut answer[20..]).await.expect("read");
        assert_eq!(Message::parse(&answer).expect("STUN").tid, tid);
    }
    let mut c = TurnClient::udp(udp, &user, &pass).await;
    c.allocate().await.expect("still serving");
    assert_eq!(s.get("/healthz").await.0, 200);
}

/// Reads until the server closes the connection; true if it did within `wait`.
async fn closed_within(t: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(wait, t.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn tcp_connections_are_bounded_and_must_speak() {
    let s = TestServer::with(|c| {
        turn_on(c);
        c.turn.max_allocations = 2;
        c.media.ice_tcp_handshake_timeout_secs = 1;
    })
    .await;
    let (_, tcp, user, pass) = credentials(&s, "turn-tcp-limits").await;
    let mut c = TurnClient::tcp(tcp, &user, &pass).await;
    c.allocate().await.expect("over TCP");
    let mut idle = tokio::net::TcpStream::connect(tcp).await.expect("connect");
    let mut over = tokio::net::TcpStream::connect(tcp).await.expect("connect");
    assert!(
        closed_within(&mut over, Duration::from_secs(5)).await,
        "one connection over turn.max_allocations is closed at once"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(5)).await,
        "a connection that sends nothing is closed after the first-message timeout"
    );
    // The working one stays: its allocation answers.
    assert_eq!(c.refresh(600).await.expect("refresh"), 600);
}

#[tokio::test]
async fn protocol_errors_have_their_codes() {
    use convene_server::turn::stun::{attr, method};
    let s = TestServer::with(turn_on).await;
    let (udp, _, user, pass) = credentials(&s, "turn-codes").await;
    let mut c = TurnClient::udp(udp, &user, &pass).await;
    let tcp_relay = c
        .request(method::ALLOCATE, |b| {
            b.attr(attr::REQUESTED_TRANSPORT, &[6, 0, 0, 0])
        })
        .await;
    assert_eq!(tcp_relay.expect_err("TCP relaying").0, 442);
    let none = c.request(method::ALLOCATE, |b| b).await;
    assert_eq!(none.expect_err("no transport").0, 400);
    let even_port = c
        .request(method::ALLOCATE, |b| {
            b.attr(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                .attr(0x0018, &[0x80, 0, 0, 0])
        })
        .await;
    assert_eq!(even_port.expect_err("EVEN-PORT").0, 420);
    let v6 = c
        .request(method::ALLOCATE, |b| {
            b.attr(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                .attr(attr::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0])
        })
        .await;
    assert_eq!(v6.expect_err("no IPv6 here").0, 440);
    let media = s.udp_addr.expect("media");
    assert_eq!(c.permit(media).await.expect_err("no allocation").0, 437);
    c.allocate().await.expect("allocate");
    assert_eq!(c.allocate().await.expect_err("a second one").0, 437);
    assert_eq!(
        c.bind_channel(0x3fff, media)
            .await
            .expect_err("bad channel")
            .0,
        400
    );
    c.bind_channel(0x4000, media).await.expect("channel");
    // The same peer on a second channel.
    assert_eq!(
        c.bind_channel(0x4001, media)
            .await
            .expect_err("peer has a channel")
            .0,
        400
    );
    // Another participant's credential on this 5-tuple.
    let (_, _, user2, pass2) = credentials(&s, "turn-codes").await;
    let mut same_tuple = c;
    same_tuple.username = user2;
    same_tuple.set_password(&pass2);
    assert_eq!(
        same_tuple.refresh(600).await.expect_err("wrong user").0,
        441
    );
}

#[tokio::test]
async fn a_datagram_too_long_for_a_data_indication_needs_a_channel() {
    // IPv6: an IPv4 datagram always fits in a Data indication, a long IPv6 one may not.
    let s = TestServer::with(|c| {
        turn_on(c);
        c.server.listen = "[::1]:0".into();
        c.media.public_ips = vec!["::1".into()];
        c.turn.allow_peers = vec!["::1/128".into()];
    })
    .await;
    // Over TCP, where a message is not bounded by a UDP datagram's size, only by its length field.
    let (_, tcp, user, pass) = credentials(&s, "turn-long").await;
    let peer = UdpSocket::bind("[::1]:0").await.expect("bind");
    let peer_addr = peer.local_addr().expect("addr");
    let mut c = TurnClient::tcp(tcp, &user, &pass).await;
    let relayed = c
        .request(convene_server::turn::stun::method::ALLOCATE, |b| {
            use convene_server::turn::stun::attr;
            b.attr(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                .attr(attr::REQUESTED_ADDRESS_FAMILY, &[2, 0, 0, 0])
        })
        .await
        .expect("an IPv6 allocation");
    let relayed = {
        use convene_server::turn::stun::{attr, Message};
        let m = Message::parse(&relayed).expect("parse");
        m.xor_address(m.get(attr::XOR_RELAYED_ADDRESS).expect("relayed"))
            .expect("address")
    };
    c.permit(peer_addr).await.expect("permit");
    // The longest that fits arrives as a Data indication.
    peer.send_to(&vec![1u8; 65_496], relayed)
        .await
        .expect("send");
    let (from, data) = c.recv_data(Duration::from_secs(5)).await.expect("Data");
    assert_eq!((from, data.len()), (Some(peer_addr), 65_496));
    // One byte more would overflow the message's length: dropped, never sent malformed.
    peer.send_to(&vec![2u8; 65_497], relayed)
        .await
        .expect("send");
    let sent = c.recv_raw(Duration::from_millis(500)).await;
    assert!(sent.is_none(), "nothing comes: {:?}", sent.map(|b| b.len()));
    // Over a channel it fits.
    c.bind_channel(0x4003, peer_addr).await.expect("channel");
    peer.send_to(&vec![3u8; 65_497], relayed)
        .await
        .expect("send");
    let (from, data) = c
        .recv_data(Duration::from_secs(5))
        .await
        .expect("ChannelData");
    assert_eq!((from, data.len()), (None, 65_497));
}
