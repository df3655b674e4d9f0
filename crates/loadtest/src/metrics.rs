//! Reads the server's Prometheus counters (plain HTTP GET on loopback, no client library).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The /metrics address of a server whose signaling URL is `ws://host:port/...`; None for `wss`.
pub fn metrics_url_for(ws_url: &str) -> Option<String> {
    let rest = ws_url.strip_prefix("ws://")?;
    let host = rest.split('/').next()?;
    Some(format!("http://{host}/metrics"))
}

/// GET `http://host:port/path`; the body, if the status is 200.
pub async fn http_get(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fut = async {
        let mut s = TcpStream::connect(host).await.ok()?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.split_whitespace()
            .nth(1)
            .is_some_and(|c| c == "200")
            .then(|| body.to_owned())
    };
    tokio::time::timeout(Duration::from_secs(5), fut)
        .await
        .ok()
        .flatten()
}

/// Sums every series of each metric family: `name{a="b"} 3` and `name{a="c"} 4` give name = 7.
/// Chunked transfer encoding is not decoded, but chunk-size lines never parse as samples.
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(x) => x,
            None => continue,
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        let name = series.split('{').next().unwrap_or(series).trim();
        if name.is_empty() {
            continue;
        }
        *out.entry(name.to_owned()).or_insert(0.0) += v;
    }
    out
}

pub async fn scrape(url: &str) -> Option<BTreeMap<String, f64>> {
    http_get(url).await.map(|b| parse(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_from_ws() {
        assert_eq!(
            metrics_url_for("ws://127.0.0.1:8080/ws").as_deref(),
            Some("http://127.0.0.1:8080/metrics")
        );
        assert_eq!(metrics_url_for("wss://x/ws"), None);
    }

    #[test]
    fn sums_labelled_series() {
        let m = parse(
            "# HELP x y\n# TYPE a counter\na 3\nb{reason=\"full\"} 1\nb{reason=\"late\"} 2.5\n\nc{x=\"a b\"} 4\n",
        );
        assert_eq!(m.get("a"), Some(&3.0));
        assert_eq!(m.get("b"), Some(&3.5));
        assert_eq!(m.get("c"), Some(&4.0));
        assert_eq!(m.len(), 3);
    }
}
