//! `convene compose MEETING`: asks a running server for a composition over its REST API (with an
//! API key), follows its progress and, if asked, downloads the video.
//!
//! Through the server rather than on the data directory: the server's queue is what keeps to one
//! composition at a time per node (a second ffmpeg beside it would take the CPU its meetings need),
//! and the composition is then recorded, listed and downloadable like any other. Plain HTTP: run it
//! on the server's machine against its listen address, or behind the proxy that terminates TLS.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

/// How often the composition's state is asked for.
const POLL_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("the server URL must look like http://HOST:PORT, not {0:?}")]
    BadUrl(String),
    #[error("cannot reach the server at {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("the server answered {status}: {message}")]
    Refused { status: u16, message: String },
    #[error("the composition failed: {0}")]
    Failed(String),
    #[error("{0}")]
    Io(String),
}

/// A server's REST API, as one API key.
pub struct Remote {
    host: String,
    authorization: String,
}

/// A composition as the server shows it.
#[derive(Debug, serde::Deserialize)]
pub struct Status {
    pub id: String,
    pub state: String,
    pub progress: i64,
    pub error: Option<String>,
    pub bytes: Option<i64>,
    pub duration_ms: Option<i64>,
    pub download: Option<String>,
}

impl Remote {
    /// `url` is `http://host:port`; `api_key` is `id:secret`.
    pub fn new(url: &str, api_key: &str) -> Result<Self, RemoteError> {
        use base64::Engine;
        let host = url
            .strip_prefix("http://")
            .map(|h| h.trim_end_matches('/'))
            .filter(|h| !h.is_empty() && !h.contains('/'))
            .ok_or_else(|| RemoteError::BadUrl(url.to_owned()))?;
        let key = base64::engine::general_purpose::STANDARD.encode(api_key.as_bytes());
        Ok(Self {
            host: host.to_owned(),
            authorization: format!("Basic {key}"),
        })
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
    ) -> Result<hyper::Response<Incoming>, RemoteError> {
        let unreachable = |why: String| RemoteError::Connect {
            addr: self.host.clone(),
            why,
        };
        let tcp = tokio::net::TcpStream::connect(&self.host)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        tokio::spawn(conn);
        let req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", &self.authorization)
            .body(Empty::<Bytes>::new())
            .map_err(|e| RemoteError::Io(e.to_string()))?;
        sender
            .send_request(req)
            .await
            .map_err(|e| unreachable(e.to_string()))
    }

    /// A JSON call; an error status becomes `Refused` with the server's message.
    async fn json(&self, method: &str, path: &str) -> Result<serde_json::Value, RemoteError> {
        let res = self.send(method, path).await?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| RemoteError::Io(e.to_string()))?
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status >= 400 {
            let message = value["error"]["message"].as_str().map_or_else(
                || String::from_utf8_lossy(&body).into_owned(),
                str::to_owned,
            );
            return Err(RemoteError::Refused { status, message });
        }
        Ok(value)
    }

    /// Asks for a composition of `meeting` and follows it to its end; `progress` is told each
    /// state seen. The finished composition, or why it failed.
    pub async fn compose(
        &self,
        meeting: &str,
        mut progress: impl FnMut(&Status),
    ) -> Result<Status, RemoteError> {
        let base = format!("/api/v1/meetings/{meeting}/compositions");
        let parse = |v: serde_json::Value| {
            serde_json::from_value::<Status>(v).map_err(|e| RemoteError::Io(e.to_string()))
        };
        let mut status = parse(self.json("POST", &base).await?)?;
        let one = format!("{base}/{}", status.id);
        loop {
            progress(&status);
            match status.state.as_str() {
                "done" => return Ok(status),
                "failed" => {
                    return Err(RemoteError::Failed(status.error.unwrap_or_default()));
                }
                _ => {}
            }
            tokio::time::sleep(POLL_EVERY).await;
            status = parse(self.json("GET", &one).await?)?;
        }
    }

    /// Saves the video at `path` (the composition's `download` link) to `to`.
    pub async fn download(&self, path: &str, to: &Path) -> Result<u64, RemoteError> {
        let io = |e: std::io::Error| RemoteError::Io(format!("{}: {e}", to.display()));
        let res = self.send("GET", path).await?;
        let status = res.status().as_u16();
        if status != 200 {
            return Err(RemoteError::Refused {
                status,
                message: "the video could not be downloaded".into(),
            });
        }
        let mut file = tokio::fs::File::create(to).await.map_err(io)?;
        let mut body = res.into_body();
        let mut written = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| RemoteError::Io(e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data).await.map_err(io)?;
                written += data.len() as u64;
            }
        }
        file.sync_all().await.map_err(io)?;
        Ok(written)
    }
}

/// One line that rewrites itself: `[##########----------]  50% running`.
pub fn progress_line(s: &Status, out: &mut impl Write) {
    const WIDTH: usize = 30;
    let pct = s.progress.clamp(0, 100) as usize;
    let filled = pct * WIDTH / 100;
    let _ = write!(
        out,
        "\r[{}{}] {pct:>3}% {:<8}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        s.state
    );
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_plain_http_host_and_port() {
        assert!(Remote::new("http://127.0.0.1:8080", "k:s").is_ok());
        assert!(Remote::new("http://127.0.0.1:8080/", "k:s").is_ok());
        assert!(Remote::new("https://example.org", "k:s").is_err());
        assert!(Remote::new("http://h/x", "k:s").is_err());
        assert!(Remote::new("http://", "k:s").is_err());
    }

    #[test]
    fn the_progress_line_fills_with_the_percentage() {
        let mut out = Vec::new();
        let s = Status {
            id: "c".into(),
            state: "running".into(),
            progress: 50,
            error: None,
            bytes: None,
            duration_ms: None,
            download: None,
        };
        progress_line(&s, &mut out);
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            format!("\r[{}{}]  50% running ", "#".repeat(15), "-".repeat(15))
        );
    }
}
