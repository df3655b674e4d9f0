//! One webhook delivery: an HTTP/1.1 POST over a connection we open to an address `target.rs`
//! checked (HTTPS verified against webpki's roots, for the URL's host name), with one time limit for
//! all of it and a bound on how much of the answer is read. Redirects are not followed: a receiver
//! answers, it does not send us elsewhere.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::target::Target;

/// A request to send.
pub struct Post<'a> {
    pub target: &'a Target,
    /// Checked addresses of the target's host (`target::resolve`).
    pub addrs: &'a [SocketAddr],
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

/// How a delivery went: the status of an answer, or why there was none.
pub type Outcome = Result<u16, String>;

pub async fn post(p: Post<'_>) -> Outcome {
    match tokio::time::timeout(p.timeout, send(&p)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {} s", p.timeout.as_secs())),
    }
}

async fn send(p: &Post<'_>) -> Outcome {
    let tcp = connect(p.addrs).await?;
    if p.target.https {
        let name = ServerName::try_from(p.target.host.clone())
            .map_err(|_| format!("{} is not a valid TLS server name", p.target.host))?;
        let tls = TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        exchange(tls, p).await
    } else {
        exchange(tcp, p).await
    }
}

async fn connect(addrs: &[SocketAddr]) -> Result<TcpStream, String> {
    let mut last = String::from("no address");
    for a in addrs {
        match TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("connect {a}: {e}"),
        }
    }
    Err(last)
}

async fn exchange<S>(io: S, p: &Post<'_>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let driver = tokio::spawn(conn);
    let host = match (p.target.https, p.target.port) {
        (true, 443) | (false, 80) => p.target.host.clone(),
        (_, port) if p.target.host.contains(':') => format!("[{}]:{port}", p.target.host),
        (_, port) => format!("{}:{port}", p.target.host),
    };
    let mut req = hyper::Request::post(p.target.path.as_str())
        .header("host", host)
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("Convene-Webhooks/", env!("CARGO_PKG_VERSION")),
        );
    for (k, v) in &p.headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(p.body.clone()))
        .map_err(|e| format!("request: {e}"))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = res.status().as_u16();
    // Read (a bounded part of) the answer, so the receiver is not cut off mid-reply; its content
    // does not matter.
    let _ = Limited::new(res.into_body(), p.max_response_bytes)
        .collect()
        .await;
    driver.abort();
    Ok(status)
}

/// rustls with the provider the rest of the server uses, and webpki's root certificates.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
            // The provider supports the default protocol versions: this cannot fail.
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}
