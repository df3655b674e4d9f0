//! A recording's files are on the disk of the node that recorded it. A request for them (the
//! manifest, a track file, deleting the recording, composing it) that the load balancer sent to
//! another node is checked there (who may ask), then carried, signed, to the node that holds the
//! files (`/internal/cluster/recording`, internal.rs is the other end), and its answer streamed
//! back as it is. The holder trusts the carrying node's check, as it does for room requests.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use convene_proto::ErrorCode;
use convene_store::RecordingRecord;
use serde::{Deserialize, Serialize};

use super::{Cluster, NodeInfo};
use crate::clock::now_ms;
use crate::error::ServerError;
use crate::state::AppState;

pub const PATH: &str = "/internal/cluster/recording";

/// How long the holder has to start answering (a file's body then streams without a limit).
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// What is asked of the holder, about recording `recording` of meeting `meeting`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Carried {
    pub meeting: i64,
    pub recording: String,
    pub action: Action,
    /// The client's `Range` header, for a file.
    pub range: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Manifest,
    File { name: String },
    Delete,
    Compose,
}

/// The node to carry a request about `rec` to, or None when it is served here: not clustered,
/// written here, or made before recordings knew their node.
pub async fn holder(
    state: &AppState,
    rec: &RecordingRecord,
) -> Result<Option<(std::sync::Arc<Cluster>, NodeInfo)>, ServerError> {
    let (Some(cluster), Some(node)) = (state.cluster.clone(), rec.node_id.as_deref()) else {
        return Ok(None);
    };
    if node == cluster.node {
        return Ok(None);
    }
    match cluster.node_info(node).await {
        Ok(Some(info)) => Ok(Some((cluster, info))),
        Ok(None) => Err(ServerError::client(
            ErrorCode::ServerBusy,
            format!(
                "the recording's files are on node {node}, which is not running now; try again when it is back"
            ),
        )),
        Err(e) => {
            cluster.redis_failed();
            Err(ServerError::client(
                ErrorCode::ServerBusy,
                format!("cannot find the recording's node now (Redis: {e}); try again shortly"),
            ))
        }
    }
}

/// Carries `what` to `to` and answers with its answer.
pub async fn carry(
    cluster: &Cluster,
    to: &NodeInfo,
    what: &Carried,
) -> Result<Response, ServerError> {
    // Plain data: serializing it cannot fail.
    let body = serde_json::to_vec(what).unwrap_or_default();
    let sig = cluster.key.sign(&cluster.node, now_ms(), PATH, &body);
    let answer = tokio::time::timeout(ANSWER_WITHIN, post(&to.http, sig, body))
        .await
        .map_err(|_| "timed out".to_owned())
        .and_then(|r| r);
    answer.map_err(|why| {
        tracing::warn!(node = %to.id, why, "cluster: a recording request to its node failed");
        ServerError::client(
            ErrorCode::ServerBusy,
            "the node that holds the recording cannot be reached now; try again shortly",
        )
    })
}

async fn post(http: &str, sig: String, body: Vec<u8>) -> Result<Response, String> {
    let res = super::remote::signed_post(http, PATH, sig, body).await?;
    if res.status() == hyper::StatusCode::FORBIDDEN && res.headers().get(CARRIED).is_none() {
        // Refused by internal.rs itself (not by the recording API): the signature.
        return Err("the holder refused the signature".into());
    }
    let (mut parts, incoming) = res.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(incoming)))
}

/// Marks an answer the holder's recording API gave, as opposed to a refusal of the request.
pub const CARRIED: &str = "x-convene-carried";

/// Marks `res` as the holder's answer.
pub fn mark(res: &mut Response) {
    res.headers_mut()
        .insert(CARRIED, HeaderValue::from_static("1"));
}

/// Headers about one connection, not the message: the client's connection is another.
fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
    ] {
        h.remove(name);
    }
    h.remove("keep-alive");
    h.remove(CARRIED);
}
