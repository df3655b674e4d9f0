//! TLS from certificate files, or a self-signed certificate made at start-up for a LAN trial.

use std::sync::Arc;

// PEM parsing from rustls's own key types (rustls-pemfile is unmaintained).
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: String },
    #[error("{path} holds no PEM private key")]
    NoKey { path: String },
    #[error("cannot make a self-signed certificate: {0}")]
    SelfSigned(String),
    #[error("the certificate and key do not work together: {0}")]
    Config(String),
}

/// ALPN of TURN over TLS (RFC 7443).
pub const ALPN_TURN: &[u8] = b"stun.turn";

/// None when TLS is not configured (plain HTTP). `turn`: the embedded TURN server is on, and TURN
/// over TLS shares this port (the ALPN "stun.turn" is offered).
pub fn acceptor(cfg: &TlsConfig, turn: bool) -> Result<Option<TlsAcceptor>, TlsError> {
    let (certs, key) = if !cfg.cert.is_empty() {
        (read_certs(&cfg.cert)?, read_key(&cfg.key)?)
    } else if cfg.self_signed {
        self_signed(&cfg.self_signed_names)?
    } else {
        return Ok(None);
    };
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    // WebSocket upgrades need HTTP/1.1; offering h2 would make browsers pick it for the page.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if turn {
        config.alpn_protocols.push(ALPN_TURN.to_vec());
    }
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.into() });
    }
    Ok(certs)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.into(),
        source,
    })?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoKey { path: path.into() })
}

fn self_signed(
    names: &[String],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let made = rcgen::generate_simple_self_signed(names.to_vec())
        .map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    tracing::warn!(names = ?names, "serving HTTPS with a self-signed certificate; browsers will warn");
    Ok((vec![cert], key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_without_the_pem_they_should_hold_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        std::fs::write(&junk, "not a PEM file\n").unwrap();
        let p = |f: &std::path::Path| f.to_str().unwrap().to_owned();

        assert_eq!(read_certs(&p(&cert)).unwrap().len(), 1);
        assert!(read_key(&p(&key)).is_ok());
        assert!(matches!(
            read_certs(&p(&junk)),
            Err(TlsError::NoCertificate { .. })
        ));
        assert!(matches!(
            read_certs(&p(&key)),
            Err(TlsError::NoCertificate { .. })
        ));
        assert!(matches!(read_key(&p(&cert)), Err(TlsError::NoKey { .. })));
        assert!(matches!(read_key(&p(&junk)), Err(TlsError::NoKey { .. })));
    }
}
