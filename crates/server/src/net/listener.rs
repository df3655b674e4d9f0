//! The TCP accept loop. Each connection is told apart by its first bytes: a TLS handshake, or plain
//! HTTP. (The media plane adds ICE-TCP here, so a deployment opens one TCP port.)

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::media::MediaPlane;

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

const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts until `stop` turns true.
pub async fn accept_loop(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    ice_tcp: Option<MediaPlane>,
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
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        let ice_tcp = ice_tcp.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, peer, app, tls, ice_tcp).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn handle(
    stream: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    tls: Option<Arc<TlsAcceptor>>,
    ice_tcp: Option<MediaPlane>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut first = [0u8; 1];
    let n = tokio::time::timeout(FIRST_BYTE_TIMEOUT, stream.peek(&mut first)).await??;
    if n == 0 {
        return Ok(());
    }
    match (sniff(first[0]), tls) {
        (Sniffed::IceTcp, _) => match ice_tcp {
            Some(media) => {
                crate::media::ice_tcp::serve(stream, peer, media).await;
                Ok(())
            }
            // Not HTTP and no media over TCP here: nothing to talk about.
            None => Ok(()),
        },
        (Sniffed::Tls, Some(acceptor)) => {
            let stream = acceptor.accept(stream).await?;
            serve_http(stream, app, peer).await
        }
        // Plain HTTP also on a TLS-enabled port, so that health checks and localhost keep working.
        (_, _) => serve_http(stream, app, peer).await,
    }
}

async fn serve_http<S>(
    stream: S,
    app: Router,
    peer: std::net::SocketAddr,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Handlers that limit per address (sign-in) read it from the request.
    let app = app.layer(axum::Extension(super::PeerAddr(peer)));
    let service = TowerToHyperService::new(app);
    Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await
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
