//! A room request carried to the node that runs the room: the room plane's `Actor` and `RoomOp`
//! are plain serde data, posted (signed) to the owner's `/internal/cluster/op`, which hands them to
//! its room as if they had been asked there and answers with the room's answer or refusal.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use convene_proto::{ErrorCode, RoomId};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;

use super::{Cluster, NodeInfo};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::rooms::{Actor, RoomAnswer, RoomOp};

pub const OP_PATH: &str = "/internal/cluster/op";

/// Longest answer read back (a room's participant list).
const MAX_ANSWER: usize = 8 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub struct OpRequest {
    pub room: RoomId,
    pub actor: Actor,
    pub op: RoomOp,
    /// Told, not asked: the owner answers at once.
    pub tell: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteAnswer {
    Ok(RoomAnswer),
    Err { code: ErrorCode, message: String },
}

impl Cluster {
    /// Asks `room` on `owner` for `op`, as `actor`.
    pub async fn remote_request(
        &self,
        owner: &NodeInfo,
        req: &OpRequest,
    ) -> Result<RoomAnswer, ServerError> {
        self.remote_ops.fetch_add(1, Ordering::Relaxed);
        // OpRequest is plain data: serializing it cannot fail.
        let body = serde_json::to_vec(req).unwrap_or_default();
        let sig = self.key.sign(&self.node, now_ms(), OP_PATH, &body);
        let answer = tokio::time::timeout(Duration::from_secs(10), post(&owner.http, sig, body))
            .await
            .map_err(|_| "timed out".to_owned())
            .and_then(|r| r);
        match answer {
            Ok(RemoteAnswer::Ok(a)) => Ok(a),
            Ok(RemoteAnswer::Err { code, message }) => Err(ServerError::client(code, message)),
            Err(why) => {
                tracing::warn!(owner = %owner.id, why, "cluster: a room request to another node failed");
                Err(ServerError::client(
                    ErrorCode::ServerBusy,
                    "the meeting's node cannot be reached now; try again shortly",
                ))
            }
        }
    }
}

async fn post(http: &str, sig: String, body: Vec<u8>) -> Result<RemoteAnswer, String> {
    let res = signed_post(http, OP_PATH, sig, body).await?;
    let status = res.status();
    let bytes = Limited::new(res.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| format!("answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("status {status}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("answer: {e}"))
}

/// POSTs `body`, signed (`sig`), to `path` on the node at `http` (`http://host:port`), on a
/// connection of its own, and returns the answer as its head arrives (the body follows).
pub(super) async fn signed_post(
    http: &str,
    path: &'static str,
    sig: String,
    body: Vec<u8>,
) -> Result<hyper::Response<hyper::body::Incoming>, String> {
    let authority = http
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// address: {http}"))?
        .trim_end_matches('/')
        .to_owned();
    let tcp = TcpStream::connect(&authority)
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    // The connection carries the body after the head, and ends with it (or when the answer is
    // dropped unread).
    tokio::spawn(conn);
    let req = hyper::Request::post(path)
        .header("host", authority.as_str())
        .header("content-type", "application/json")
        .header(super::auth::HEADER, sig)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    sender
        .send_request(req)
        .await
        .map_err(|e| format!("HTTP: {e}"))
}
