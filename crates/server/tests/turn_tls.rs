//! TURN over TLS on the HTTPS port: told apart from HTTPS by the ALPN "stun.turn" or, with no
//! ALPN (as browsers connect to `turns:` URLs), by a STUN header as the first decrypted bytes.
//! Same credentials, peer filter and connection cap as TURN over TCP; HTTPS keeps working.

mod common;
#[path = "support/turn_client.rs"]
mod turn_client;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use convene_proto::{Joined, ServerMessage};
use convene_server::Config;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use turn_client::TurnClient;

const SECRET: &str = "turn-tls-test-secret";
const STRAY: &str = "convene_media_dropped_packets_total{reason=\"unknown_ufrag\"}";

fn turn_tls_on(c: &mut Config) {
    c.turn.enabled = true;
    c.turn.listen_port = 0;
    c.turn.secret = SECRET.into();
    c.tls.self_signed = true;
    c.turn.tls_host = "localhost".into();
}

/// A TLS connection to the server's HTTPS port offering `alpn` (none: as a browser's `turns:`),
/// trusting the self-signed certificate.
async fn tls_to(addr: SocketAddr, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    tls_over(TcpStream::connect(addr).await.expect("connect"), alpn).await
}

/// TLS as `tls_to` does, on a connection made already.
async fn tls_over(tcp: TcpStream, alpn: &[&[u8]]) -> TlsStream<TcpStream> {
    let mut config = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake")
}

/// Joins over `wss://` (plain `ws://` on a TLS port is redirected) and returns `joined`.
async fn join_over_tls(addr: SocketAddr, room: &str) -> Joined {
    let tls = tls_to(addr, &[b"http/1.1"]).await;
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("WebSocket over TLS");
    let join = serde_json::to_string(&convene_client::join_msg(room, "Ada")).expect("json");
    ws.send(WsMessage::Text(join.into())).await.expect("send");
    while let Some(m) = ws.next().await {
        if let WsMessage::Text(t) = m.expect("message") {
            if let ServerMessage::Joined(j) = serde_json::from_str(t.as_str()).expect("parse") {
                // Leaving the socket open keeps the participant, not the credential: it is valid
                // on its own.
                return *j;
            }
        }
    }
    panic!("no joined")
}

/// The `turns:` URL of `joined`, with its username and password.
fn turns_entry(j: &Joined) -> (String, String, String) {
    let t = j
        .ice_servers
        .iter()
        .find(|i| i.urls.iter().any(|u| u.starts_with("turn")))
        .expect("the embedded TURN server in joined");
    let url = t
        .urls
        .iter()
        .find(|u| u.starts_with("turns:"))
        .expect("a turns: URL")
        .clone();
    (
        url,
        t.username.clone().expect("username"),
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

#[tokio::test]
async fn turn_over_tls_relays_to_our_media_with_the_joined_credentials() {
    let s = TestServer::with(turn_tls_on).await;
    let media = s.udp_addr.expect("media");
    let j = join_over_tls(s.addr, "turn-tls").await;
    let (url, user, pass) = turns_entry(&j);
    assert_eq!(
        url,
        format!("turns:localhost:{}?transport=tcp", s.addr.port()),
        "TURN over TLS on the HTTPS port, named as the certificate is"
    );
    let other = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let other_addr = other.local_addr().expect("addr");
    let mut sent = 0.0;
    let mut kept = Vec::new();
    // With RFC 7443's ALPN, and with none (a browser's turns: connection).
    for alpn in [&[b"stun.turn".as_slice()][..], &[]] {
        let tls = tls_to(s.addr, alpn).await;
        let mut c = TurnClient::over(tls, &user, &pass);
        let relayed = c.allocate().await.expect("allocate over TLS");
        assert_eq!(relayed.ip(), media.ip(), "relayed on the public IP");
        c.permit(media).await.expect("permission to our media");
        for _ in 0..5 {
            c.send_to(media, &stray_binding()).await;
        }
        sent += 5.0;
        let got = s.metric_reaches(STRAY, sent).await;
        assert!(
            got >= sent,
            "relayed datagrams reached the media socket: {got}"
        );
        for peer in [other_addr, "10.0.0.1:5000".parse().expect("addr")] {
            let e = c.permit(peer).await.expect_err("a forbidden peer");
            assert_eq!(e.0, 403, "{peer}: {e:?}");
        }
        c.send_to(other_addr, b"must not arrive").await;
        let mut buf = [0u8; 64];
        let leaked =
            tokio::time::timeout(Duration::from_millis(300), other.recv_from(&mut buf)).await;
        assert!(
            leaked.is_err(),
            "a Send to another loopback port was relayed"
        );

        let tls = tls_to(s.addr, alpn).await;
        let mut forged = TurnClient::over(tls, &user, "forged-password");
        let e = forged.allocate().await.expect_err("forged credentials");
        assert_eq!(e.0, 401, "{e:?}");
        kept.push(c);
    }
    assert_eq!(
        s.metric("convene_turn_allocations").await,
        2.0,
        "both TLS allocations held while their connections are open"
    );
    drop(kept);
    let mut freed = -1.0;
    for _ in 0..100 {
        freed = s.metric("convene_turn_allocations").await;
        if freed == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(freed, 0.0, "an allocation ends with its TLS connection");
}

/// GET over TLS with the given ALPN; the response's status line.
async fn https_get(addr: SocketAddr, alpn: &[&[u8]], path: &str) -> String {
    let mut tls = tls_to(addr, alpn).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    text.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn https_on_the_same_port_still_works() {
    let s = TestServer::with(turn_tls_on).await;
    // A browser offers http/1.1; a bare client offers nothing and is told apart by its bytes.
    for alpn in [&[b"h2".as_slice(), b"http/1.1"][..], &[]] {
        let status = https_get(s.addr, alpn, "/healthz").await;
        assert_eq!(status, "HTTP/1.1 200 OK", "ALPN {alpn:?}");
    }
    // Bytes that are neither HTTP nor STUN (no magic cookie) are not served.
    let mut tls = tls_to(s.addr, &[]).await;
    tls.write_all(&[0u8; 20]).await.expect("write");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf))
        .await
        .expect("closed, not left hanging");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
}

#[tokio::test]
async fn no_turns_url_without_tls() {
    let s = TestServer::with(|c| {
        c.turn.enabled = true;
        c.turn.listen_port = 0;
        c.turn.secret = SECRET.into();
    })
    .await;
    let (_c, j) = s.join("turn-no-tls", "Ada").await;
    let urls: Vec<&String> = j.ice_servers.iter().flat_map(|i| &i.urls).collect();
    assert!(urls.iter().any(|u| u.starts_with("turn:")), "{urls:?}");
    assert!(!urls.iter().any(|u| u.starts_with("turns:")), "{urls:?}");
}

/// An Allocate without credentials: the server answers it with a 401 challenge.
fn bare_allocate() -> Vec<u8> {
    use convene_server::turn::stun::{attr, method, Builder, Class};
    Builder::new(method::ALLOCATE, Class::Request, rand::random())
        .attr(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
        .finish(None)
}

/// True when the server closes `tls` within a few seconds.
async fn closed<S: tokio::io::AsyncRead + Unpin>(tls: &mut S) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn tls_and_tcp_turn_connections_share_one_cap() {
    let s = TestServer::with(|c| {
        turn_tls_on(c);
        c.turn.max_allocations = 1;
    })
    .await;
    let j = join_over_tls(s.addr, "turn-tls-cap").await;
    let (_, user, pass) = turns_entry(&j);
    let turn_port = j
        .ice_servers
        .iter()
        .flat_map(|i| &i.urls)
        .find_map(|u| u.strip_prefix("turn:")?.strip_suffix("?transport=tcp"))
        .expect("a turn: TCP URL")
        .parse::<SocketAddr>()
        .expect("address");

    // A TCP connection to the TURN port holds the one place.
    let mut tcp = TurnClient::tcp(turn_port, &user, &pass).await;
    tcp.allocate().await.expect("allocate over TCP");
    let mut tls = tls_to(s.addr, &[b"stun.turn"]).await;
    tls.write_all(&stray_binding()).await.expect("write");
    assert!(
        closed(&mut tls).await,
        "a TLS TURN connection past the cap is closed"
    );
    drop(tcp);

    // Its place is free once it has gone: a TLS connection gets it, and then holds it.
    let mut held = None;
    for _ in 0..50 {
        let mut tls = tls_to(s.addr, &[b"stun.turn"]).await;
        tls.write_all(&bare_allocate()).await.expect("write");
        if !closed(&mut tls).await {
            // It answered (a 401 challenge): served. The client skips that stale answer.
            let mut c = TurnClient::over(tls, &user, &pass);
            c.allocate().await.expect("allocate over TLS");
            held = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(held.is_some(), "the TLS connection got the freed place");
    let mut tcp = TcpStream::connect(turn_port).await.expect("connect");
    tcp.write_all(&stray_binding()).await.expect("write");
    assert!(
        closed(&mut tcp).await,
        "a TCP TURN connection past the cap is closed"
    );
}

/// A TCP connection to `addr` from the loopback address `from` (each is an address of its own).
async fn connect_from(addr: SocketAddr, from: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    let from: std::net::IpAddr = from.parse().expect("an IP");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    socket.connect(addr).await.expect("connect")
}

#[tokio::test]
async fn turn_over_tls_is_not_served_on_the_reserve() {
    let s = TestServer::with(|c| {
        turn_tls_on(c);
        c.limits.exempt_loopback = false;
        c.connections.max_total = 2;
        c.connections.max_per_address = 2;
        c.connections.reserve = 1;
    })
    .await;
    // The test server's readiness checks end on the server's side a moment after the client's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut served = tls_over(connect_from(s.addr, "127.0.0.5").await, &[b"stun.turn"]).await;
    served.write_all(&bare_allocate()).await.expect("write");
    assert!(
        !closed(&mut served).await,
        "TURN over TLS on a general slot is served"
    );
    drop(served);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Half-sent requests take the general capacity: the next connection lands on the reserve,
    // which is for operations (health, metrics, admin), not for a relay held a whole call.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = connect_from(s.addr, "127.0.0.3").await;
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        held.push(c);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut reserve = tls_over(connect_from(s.addr, "127.0.0.5").await, &[b"stun.turn"]).await;
    let _ = reserve.write_all(&bare_allocate()).await;
    assert!(
        closed(&mut reserve).await,
        "TURN over TLS on the reserve is closed"
    );
}

mod accept_any {
    use tokio_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::{DigitallySignedStruct, Error, SignatureScheme};

    /// The server's certificate is self-signed, made at start-up: trusted as it is (tls.rs tests
    /// the certificate itself).
    #[derive(Debug)]
    pub struct AcceptAny;

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Ok(HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            vec![
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::ECDSA_NISTP384_SHA384,
                SignatureScheme::ED25519,
                SignatureScheme::RSA_PSS_SHA256,
                SignatureScheme::RSA_PKCS1_SHA256,
            ]
        }
    }
}
