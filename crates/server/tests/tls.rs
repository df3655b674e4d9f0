//! HTTPS: a certificate from files (verified by the client against that certificate), and a
//! self-signed certificate made at start-up (the client sees a certificate for the configured names).

mod common;

use std::sync::Arc;

use common::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

async fn https_get(
    addr: std::net::SocketAddr,
    config: ClientConfig,
    path: &str,
) -> (String, Vec<CertificateDer<'static>>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let connector = TlsConnector::from(Arc::new(config));
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake");
    let certs = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    (String::from_utf8_lossy(&buf).to_string(), certs)
}

#[tokio::test]
async fn certificate_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, made.cert.pem()).unwrap();
    std::fs::write(&key_path, made.signing_key.serialize_pem()).unwrap();
    let s = TestServer::with(|c| {
        c.tls.cert = cert_path.display().to_string();
        c.tls.key = key_path.display().to_string();
    })
    .await;
    let mut roots = RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (resp, _) = https_get(s.addr, config, "/healthz").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with("ok\n"), "{resp}");
}

#[tokio::test]
async fn self_signed_certificate_made_at_start() {
    let s = TestServer::with(|c| c.tls.self_signed = true).await;
    // Trust nothing in advance: take the certificate the server presents, then verify a second
    // connection against it, so the test proves a real certificate for "localhost" was made.
    let config = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny))
        .with_no_client_auth();
    let (resp, certs) = https_get(s.addr, config, "/readyz").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let mut roots = RootCertStore::empty();
    roots.add(certs[0].clone()).unwrap();
    let strict = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (resp, _) = https_get(s.addr, strict, "/healthz").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
}

/// A certificate for "localhost" in files, and a server using it.
async fn server_with_cert_files() -> (TestServer, RootCertStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, made.cert.pem()).unwrap();
    std::fs::write(&key_path, made.signing_key.serialize_pem()).unwrap();
    let s = TestServer::with(|c| {
        c.tls.cert = cert_path.display().to_string();
        c.tls.key = key_path.display().to_string();
    })
    .await;
    let mut roots = RootCertStore::empty();
    roots.add(made.cert.der().clone()).unwrap();
    (s, roots, dir)
}

/// A plain HTTP request on the TLS port; returns the response.
async fn plain(addr: std::net::SocketAddr, path: &str, host: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tcp.read_to_end(&mut buf).await;
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn plain_http_on_the_tls_port_redirects_to_https_except_probes() {
    let (s, _, _dir) = server_with_cert_files().await;
    let host = format!("localhost:{}", s.addr.port());
    for path in ["/", "/r/team?name=Ada", "/app/main.js", "/api/v1/meetings"] {
        let resp = plain(s.addr, path, &host).await;
        assert!(resp.starts_with("HTTP/1.1 308"), "{path}: {resp}");
        let location = format!("location: https://{host}{path}\r\n");
        assert!(resp.contains(&location), "{path}: {resp}");
        // Not over plain HTTP: a man in the middle could strip it.
        assert!(
            !resp
                .to_ascii_lowercase()
                .contains("strict-transport-security"),
            "{resp}"
        );
    }
    // Load balancer probes and scrapers keep working over plain HTTP.
    assert!(plain(s.addr, "/healthz", &host)
        .await
        .starts_with("HTTP/1.1 200"));
    assert!(plain(s.addr, "/readyz", &host)
        .await
        .starts_with("HTTP/1.1 200"));
    // A Host that cannot be part of a URL gets an error, not a redirect elsewhere.
    let resp = plain(s.addr, "/", "evil.example/x@").await;
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    // A plain server does not redirect.
    let p = TestServer::start().await;
    assert!(plain(p.addr, "/", "localhost")
        .await
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn hsts_with_certificate_files_not_with_a_self_signed_trial() {
    let (s, roots, _dir) = server_with_cert_files().await;
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let (resp, _) = https_get(s.addr, config, "/").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{resp}"
    );

    let trial = TestServer::with(|c| c.tls.self_signed = true).await;
    let config = ClientConfig::builder()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept_any::AcceptAny))
        .with_no_client_auth();
    let (resp, _) = https_get(trial.addr, config, "/").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        !resp
            .to_ascii_lowercase()
            .contains("strict-transport-security"),
        "{resp}"
    );
}

mod accept_any {
    use tokio_rustls::rustls::client::danger::{
        HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
    };
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use tokio_rustls::rustls::{DigitallySignedStruct, Error, SignatureScheme};

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
