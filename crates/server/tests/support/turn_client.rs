//! A minimal TURN client (RFC 8656) over UDP, TCP or another stream (TLS), for tests: long-term credentials with the
//! 401 challenge, Allocate, Refresh, CreatePermission, ChannelBind, Send and Data.
//! It builds and reads messages with the server's STUN codec, which its own unit tests check
//! against RFC 5769's vectors.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use convene_server::turn::auth::long_term_key;
use convene_server::turn::stun::{self, attr, method, Builder, Class, Message};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A byte stream TURN can run on: TCP, or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

pub enum Link {
    Udp(UdpSocket, SocketAddr),
    /// RFC 8656's stream framing (TCP or TLS).
    Tcp(Box<dyn Stream>),
}

pub struct TurnClient {
    link: Link,
    pub username: String,
    password: String,
    realm: String,
    nonce: String,
}

/// A refusal: the error code and reason.
pub type Refused = (u16, String);

impl TurnClient {
    pub async fn udp(server: SocketAddr, username: &str, password: &str) -> TurnClient {
        let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        Self::with(Link::Udp(s, server), username, password)
    }

    pub async fn tcp(server: SocketAddr, username: &str, password: &str) -> TurnClient {
        let s = TcpStream::connect(server).await.expect("connect");
        Self::with(Link::Tcp(Box::new(s)), username, password)
    }

    /// Over a stream already set up, e.g. a TLS connection.
    pub fn over(stream: impl Stream + 'static, username: &str, password: &str) -> TurnClient {
        Self::with(Link::Tcp(Box::new(stream)), username, password)
    }

    fn with(link: Link, username: &str, password: &str) -> TurnClient {
        TurnClient {
            link,
            username: username.into(),
            password: password.into(),
            realm: String::new(),
            nonce: String::new(),
        }
    }

    pub async fn send_raw(&mut self, b: &[u8]) {
        match &mut self.link {
            Link::Udp(s, to) => {
                s.send_to(b, *to).await.expect("send");
            }
            Link::Tcp(s) => s.write_all(b).await.expect("write"),
        }
    }

    /// The next message from the server (a STUN message or ChannelData), or None after `wait`.
    pub async fn recv_raw(&mut self, wait: Duration) -> Option<Vec<u8>> {
        match &mut self.link {
            Link::Udp(s, _) => {
                let mut buf = vec![0u8; 65_536];
                let n = tokio::time::timeout(wait, s.recv(&mut buf))
                    .await
                    .ok()?
                    .ok()?;
                buf.truncate(n);
                Some(buf)
            }
            Link::Tcp(s) => tokio::time::timeout(wait, read_frame(s)).await.ok()?,
        }
    }

    pub fn set_password(&mut self, password: &str) {
        self.password = password.into();
    }

    fn key(&self) -> [u8; 16] {
        long_term_key(&self.username, &self.realm, &self.password)
    }

    /// A request with the credentials (after a 401 or 438 fetched a nonce, again once).
    pub async fn request(
        &mut self,
        m: u16,
        attrs: impl Fn(Builder) -> Builder,
    ) -> Result<Vec<u8>, Refused> {
        for _ in 0..3 {
            let tid: [u8; 12] = rand::random();
            let mut b = attrs(Builder::new(m, Class::Request, tid));
            let signed = !self.nonce.is_empty();
            if signed {
                b = b
                    .attr(attr::USERNAME, self.username.as_bytes())
                    .attr(attr::REALM, self.realm.as_bytes())
                    .attr(attr::NONCE, self.nonce.as_bytes());
            }
            let key = self.key();
            let raw = b.finish(signed.then_some(&key[..]));
            let answer = self.transact(&raw, tid).await;
            let msg = Message::parse(&answer).expect("a STUN answer");
            if msg.class == Class::Success {
                assert!(msg.verify(&key), "a success is signed with our key");
                return Ok(answer);
            }
            let (code, reason) = error_code(&msg);
            let challenge = code == 438 || (code == 401 && !signed);
            if challenge {
                self.realm = msg.text(attr::REALM).expect("realm").to_owned();
                self.nonce = msg.text(attr::NONCE).expect("nonce").to_owned();
                continue;
            }
            return Err((code, reason));
        }
        panic!("no answer but challenges")
    }

    async fn transact(&mut self, raw: &[u8], tid: [u8; 12]) -> Vec<u8> {
        for _ in 0..5 {
            self.send_raw(raw).await;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            while let Some(b) = self
                .recv_raw(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
            {
                if Message::parse(&b).is_ok_and(|m| m.tid == tid) {
                    return b;
                }
            }
        }
        panic!("no answer from the TURN server")
    }

    /// Allocates; returns the relayed address.
    pub async fn allocate(&mut self) -> Result<SocketAddr, Refused> {
        let a = self
            .request(method::ALLOCATE, |b| {
                b.attr(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            })
            .await?;
        let m = Message::parse(&a).expect("parse");
        let v = m.get(attr::XOR_RELAYED_ADDRESS).expect("relayed address");
        Ok(m.xor_address(v).expect("address"))
    }

    pub async fn refresh(&mut self, lifetime: u32) -> Result<u32, Refused> {
        let a = self
            .request(method::REFRESH, |b| b.u32(attr::LIFETIME, lifetime))
            .await?;
        Ok(Message::parse(&a)
            .expect("parse")
            .u32(attr::LIFETIME)
            .expect("lifetime"))
    }

    pub async fn permit(&mut self, peer: SocketAddr) -> Result<(), Refused> {
        self.request(method::CREATE_PERMISSION, |b| {
            b.xor_address(attr::XOR_PEER_ADDRESS, peer)
        })
        .await
        .map(|_| ())
    }

    pub async fn bind_channel(&mut self, channel: u16, peer: SocketAddr) -> Result<(), Refused> {
        self.request(method::CHANNEL_BIND, |b| {
            b.attr(
                attr::CHANNEL_NUMBER,
                &[(channel >> 8) as u8, channel as u8, 0, 0],
            )
            .xor_address(attr::XOR_PEER_ADDRESS, peer)
        })
        .await
        .map(|_| ())
    }

    /// A Send indication: `data` to `peer` through the relay.
    pub async fn send_to(&mut self, peer: SocketAddr, data: &[u8]) {
        let b = Builder::new(method::SEND, Class::Indication, rand::random())
            .xor_address(attr::XOR_PEER_ADDRESS, peer)
            .attr(attr::DATA, data)
            .finish(None);
        self.send_raw(&b).await;
    }

    pub async fn send_channel(&mut self, channel: u16, data: &[u8]) {
        let pad = matches!(self.link, Link::Tcp(_));
        self.send_raw(&stun::channel_data(channel, data, pad)).await;
    }

    /// The next data relayed to us: (peer, bytes) from a Data indication, or (None, bytes) from
    /// ChannelData with its channel.
    pub async fn recv_data(&mut self, wait: Duration) -> Option<(Option<SocketAddr>, Vec<u8>)> {
        let b = self.recv_raw(wait).await?;
        if let Some((_, d)) = stun::parse_channel_data(&b) {
            return Some((None, d.to_vec()));
        }
        let m = Message::parse(&b).ok()?;
        assert_eq!((m.class, m.method), (Class::Indication, method::DATA));
        let peer = m.xor_address(m.get(attr::XOR_PEER_ADDRESS)?);
        Some((peer, m.get(attr::DATA)?.to_vec()))
    }
}

pub fn error_code(m: &Message<'_>) -> Refused {
    let v = m.get(attr::ERROR_CODE).expect("an error code");
    let code = u16::from(v[2]) * 100 + u16::from(v[3]);
    (code, String::from_utf8_lossy(&v[4..]).into_owned())
}

async fn read_frame(s: &mut Box<dyn Stream>) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.ok()?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let rest = match head[0] >> 6 {
        0 => 16 + len,
        _ => len.div_ceil(4) * 4,
    };
    let mut b = head.to_vec();
    b.resize(4 + rest, 0);
    s.read_exact(&mut b[4..]).await.ok()?;
    if head[0] >> 6 == 1 {
        b.truncate(4 + len);
    }
    Some(b)
}
