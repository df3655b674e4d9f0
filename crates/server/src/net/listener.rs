//! The TCP accept loop. Each connection is admitted or closed at once by its count (admission.rs),
//! then told apart by its first bytes: a TLS handshake, or plain HTTP. (The media plane adds
//! ICE-TCP here, and the TURN server TURN over TLS (tls_turn.rs), so a deployment opens one TCP
//! port.)

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::admission::{Admission, Held, Permit, Slot};
use super::tls_turn::{self, Routed};
use super::watchdog::{ConnClock, Limits, Watched};
use super::ConnInfo;
use crate::media::MediaPlane;
use crate::turn::Embedded;

/// What the first byte of a connection says it is.
#[derive(Debug, PartialEq, Eq)]
pub enum Sniffed {
    Tls,
    Http,
    /// RFC 4571 framed ICE-TCP (media).
    IceTcp,
}

/// TLS records start with content type 22 (handshake); HTTP with a method name in letters; an ICE-TCP
/// frame with the high byte of a small length.
pub fn sniff(first: u8) -> Sniffed {
    if first == 0x16 {
        Sniffed::Tls
    } else if crate::media::ice_tcp::looks_like_ice_tcp(first) {
        Sniffed::IceTcp
    } else {
        Sniffed::Http
    }
}

/// Time limits and TLS facts the accept loop applies to each connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnSettings {
    pub http: Limits,
    /// Until an ICE-TCP connection's first complete frame.
    pub ice_tcp_handshake: Duration,
    /// TLS comes from certificate files: HTTPS responses carry Strict-Transport-Security.
    pub hsts: bool,
}

impl ConnSettings {
    pub fn from_config(config: &crate::Config) -> Self {
        Self {
            http: Limits {
                header: Duration::from_secs(config.server.http_header_timeout_secs),
                idle: Duration::from_secs(config.server.http_idle_timeout_secs),
            },
            ice_tcp_handshake: Duration::from_secs(config.media.ice_tcp_handshake_timeout_secs),
            hsts: !config.tls.cert.is_empty(),
        }
    }
}

/// Accepts until `stop` turns true. `turn`: the TURN server that TLS connections speaking TURN
/// go to (Some only with `tls`).
#[allow(clippy::too_many_arguments)]
pub async fn accept_loop(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    ice_tcp: Option<MediaPlane>,
    turn: Option<Arc<Embedded>>,
    settings: ConnSettings,
    admission: Arc<Admission>,
    mut stop: watch::Receiver<bool>,
) {
    let tls = tls.map(Arc::new);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Running out of file descriptors must not spin the loop.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Counted before a byte is read: a refused connection is closed at once, and costs no
        // task, no buffer, no timer.
        let permit = match admission.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                tracing::debug!(%peer, ?why, "connection refused at accept");
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let ice_tcp = ice_tcp.clone();
        let turn = turn.clone();
        tokio::spawn(async move {
            let tls = tls.map(|acceptor| (acceptor, turn));
            if let Err(e) = handle(stream, permit, peer, app, tls, ice_tcp, settings).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn handle(
    stream: TcpStream,
    permit: Permit,
    peer: std::net::SocketAddr,
    app: Router,
    tls: Option<(Arc<TlsAcceptor>, Option<Arc<Embedded>>)>,
    ice_tcp: Option<MediaPlane>,
    settings: ConnSettings,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let started = tokio::time::Instant::now();
    let mut first = [0u8; 1];
    // The first byte starts an HTTP head or a TLS handshake: it gets the header timeout.
    let n = tokio::time::timeout(settings.http.header, stream.peek(&mut first)).await??;
    if n == 0 {
        return Ok(());
    }
    let tls_port = tls.is_some();
    let slot = permit.slot();
    match (sniff(first[0]), tls) {
        // Media on the reserve would hold it for a whole call: the reserve is for operations.
        (Sniffed::IceTcp, _) if slot == Slot::Reserve => Ok(()),
        (Sniffed::IceTcp, _) => match ice_tcp {
            Some(media) => {
                // The permit is held until the media connection ends.
                let _permit = permit;
                crate::media::ice_tcp::serve(stream, peer, media, settings.ice_tcp_handshake).await;
                Ok(())
            }
            // Not HTTP and no media over TCP here: nothing to talk about.
            None => Ok(()),
        },
        (Sniffed::Tls, Some((acceptor, turn))) => {
            let stream = Held::new(stream, permit);
            let deadline = started + settings.http.header;
            let stream = tokio::time::timeout_at(deadline, acceptor.accept(stream)).await??;
            let conn = ConnInfo {
                peer: Some(peer),
                tls: true,
                plain_on_tls_port: false,
                hsts: settings.hsts,
                slot,
            };
            let Some(turn) = turn else {
                return serve_http(stream, app, conn, settings.http).await;
            };
            match tls_turn::route(stream, deadline).await? {
                Routed::Http(stream) => serve_http(stream, app, conn, settings.http).await,
                // Like ICE-TCP: a relay would hold the reserve for a whole call.
                Routed::Turn(_) if slot == Slot::Reserve => Ok(()),
                Routed::Turn(stream) => {
                    // The TURN server's connection cap counts these with its TCP ones.
                    if let Some(turn_slot) = turn.stream_slot() {
                        turn.serve_tls(stream, peer, turn_slot).await;
                    }
                    Ok(())
                }
                Routed::Neither => Ok(()),
            }
        }
        // Plain HTTP on a TLS port is answered too: health checks work, the rest redirects to HTTPS.
        (_, _) => {
            let conn = ConnInfo {
                peer: Some(peer),
                tls: false,
                plain_on_tls_port: tls_port,
                hsts: false,
                slot,
            };
            serve_http(Held::new(stream, permit), app, conn, settings.http).await
        }
    }
}

/// Serves HTTP on one connection until it ends, is upgraded to a WebSocket (which then has its own
/// keepalive), or overstays a limit of `limits`.
async fn serve_http<S>(
    stream: S,
    app: Router,
    conn: ConnInfo,
    limits: Limits,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let clock = Arc::new(ConnClock::default());
    let io = TokioIo::new(Watched::new(stream, clock.clone()));
    let requests = clock.clone();
    let service = service_fn(move |mut request: Request<Incoming>| {
        let guard = requests.request_started();
        request.extensions_mut().insert(conn);
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(guard);
            response
        }
    });
    let builder = Builder::new(TokioExecutor::new());
    let served = builder.serve_connection_with_upgrades(io, service);
    tokio::select! {
        r = served => r,
        why = clock.expired(limits) => {
            tracing::debug!(?why, "HTTP connection overstayed its time; closing");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_tls_and_http() {
        assert_eq!(sniff(0x16), Sniffed::Tls);
        assert_eq!(sniff(b'G'), Sniffed::Http);
        assert_eq!(sniff(0x00), Sniffed::IceTcp);
    }
}
