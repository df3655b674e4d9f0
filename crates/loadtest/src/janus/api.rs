//! Janus's WebSocket JSON API: requests carry a transaction; asynchronous plugin requests are
//! acked, then answered by an event with the same transaction. The requests and replies are
//! built and read by plain functions; [`JanusWs`] only moves them.

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Puts a transaction id (and the session, once there is one) on a request.
pub(super) fn stamp(msg: &mut Value, transaction: &str, session: u64) {
    msg["transaction"] = json!(transaction);
    if session != 0 {
        msg["session_id"] = json!(session);
    }
}

/// What a message is to the request with `transaction`.
#[derive(Debug, PartialEq)]
pub(super) enum Reply {
    /// About something else.
    Other,
    /// "Got it, the answer follows".
    Ack,
    Error(String),
    Done,
}

pub(super) fn reply_to(m: &Value, transaction: &str) -> Reply {
    if m["transaction"].as_str() != Some(transaction) {
        return Reply::Other;
    }
    match m["janus"].as_str() {
        Some("ack") => Reply::Ack,
        Some("error") => Reply::Error(m["error"].to_string()),
        _ => Reply::Done,
    }
}

/// A VideoRoom request to the plugin on `handle`, with a JSEP if given.
pub(super) fn plugin_message(handle: u64, body: Value, jsep: Option<Value>) -> Value {
    let mut msg = json!({"janus": "message", "handle_id": handle, "body": body});
    if let Some(j) = jsep {
        msg["jsep"] = j;
    }
    msg
}

/// A plugin reply's `plugindata.data` and JSEP; a reply with an `error_code` is an Err.
pub(super) fn plugin_result(r: &Value) -> Result<(Value, Option<Value>), String> {
    let data = r["plugindata"]["data"].clone();
    if data.get("error_code").is_some() {
        return Err(data.to_string());
    }
    Ok((data, r.get("jsep").cloned()))
}

/// An SDP as a JSEP of `kind` ("offer" or "answer"), without trickle (candidates are in it).
pub(super) fn jsep(kind: &str, sdp: &str) -> Value {
    json!({"type": kind, "sdp": sdp, "trickle": false})
}

pub(super) fn jsep_sdp(j: &Option<Value>) -> Result<String, String> {
    j.as_ref()
        .and_then(|j| j["sdp"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "no jsep in the reply".into())
}

/// The VideoRoom requests a participant makes.
pub(super) mod videoroom {
    use serde_json::{json, Value};

    pub fn create(room: u64, publishers: usize) -> Value {
        json!({
            "request": "create", "room": room, "publishers": publishers,
            "bitrate": 0, "videocodec": "vp8", "audiocodec": "opus", "notify_joining": false,
        })
    }

    pub fn join_publisher(room: u64, display: &str) -> Value {
        json!({"request": "join", "ptype": "publisher", "room": room, "display": display})
    }

    pub fn configure(audio: bool, video: bool) -> Value {
        json!({"request": "configure", "audio": audio, "video": video})
    }

    pub fn join_subscriber(room: u64, feeds: &[u64]) -> Value {
        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
        json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams})
    }

    pub fn start() -> Value {
        json!({"request": "start"})
    }

    /// Janus's code for "room exists" (another publisher made it first).
    pub fn room_exists(error: &str) -> bool {
        error.contains("427")
    }
}

pub(super) struct JanusWs {
    ws: Ws,
    session: u64,
    next: u64,
    /// Messages that arrived while waiting for a reply (events about other things).
    pub other: VecDeque<Value>,
}

impl JanusWs {
    pub async fn connect(url: &str) -> Result<JanusWs, String> {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| e.to_string())?;
        let mut j = JanusWs {
            ws,
            session: 0,
            next: 0,
            other: VecDeque::new(),
        };
        let r = j.call(json!({"janus": "create"})).await?;
        j.session = r["data"]["id"].as_u64().ok_or("no session id")?;
        Ok(j)
    }

    pub async fn send(&mut self, mut msg: Value) -> Result<String, String> {
        self.next += 1;
        let tx = format!("t{}", self.next);
        stamp(&mut msg, &tx, self.session);
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(tx)
    }

    pub async fn recv(&mut self) -> Result<Value, String> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return serde_json::from_str(t.as_str()).map_err(|e| e.to_string())
                }
                Some(Ok(Message::Close(_))) | None => return Err("janus closed".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
            }
        }
    }

    /// Sends a request and returns its reply (not the ack); an `error` reply is an Err.
    pub async fn call(&mut self, msg: Value) -> Result<Value, String> {
        let tx = self.send(msg).await?;
        loop {
            let m = self.recv().await?;
            match reply_to(&m, &tx) {
                Reply::Other => self.other.push_back(m),
                Reply::Ack => continue,
                Reply::Error(e) => return Err(e),
                Reply::Done => return Ok(m),
            }
        }
    }

    pub async fn attach(&mut self) -> Result<u64, String> {
        let r = self
            .call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        r["data"]["id"]
            .as_u64()
            .ok_or_else(|| "no handle id".into())
    }

    /// A VideoRoom request; returns `plugindata.data` and the JSEP, if any.
    pub async fn plugin(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(Value, Option<Value>), String> {
        let r = self.call(plugin_message(handle, body, jsep)).await?;
        plugin_result(&r)
    }

    pub async fn close(&mut self) {
        let _ = self.ws.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_the_transaction_and_then_the_session() {
        let mut m = json!({"janus": "create"});
        stamp(&mut m, "t1", 0);
        assert_eq!(m, json!({"janus": "create", "transaction": "t1"}));
        let mut m = json!({"janus": "attach"});
        stamp(&mut m, "t2", 77);
        assert_eq!(m["session_id"], 77);
        assert_eq!(m["transaction"], "t2");
    }

    #[test]
    fn replies_are_matched_by_transaction() {
        assert_eq!(
            reply_to(&json!({"janus": "ack", "transaction": "t1"}), "t1"),
            Reply::Ack
        );
        assert_eq!(
            reply_to(&json!({"janus": "success", "transaction": "t1"}), "t1"),
            Reply::Done
        );
        assert_eq!(
            reply_to(&json!({"janus": "success", "transaction": "t2"}), "t1"),
            Reply::Other
        );
        let e = json!({"janus": "error", "transaction": "t1", "error": {"code": 458}});
        assert_eq!(reply_to(&e, "t1"), Reply::Error(r#"{"code":458}"#.into()));
    }

    #[test]
    fn plugin_messages_and_results() {
        let m = plugin_message(5, videoroom::start(), Some(jsep("answer", "v=0")));
        assert_eq!(m["handle_id"], 5);
        assert_eq!(m["body"]["request"], "start");
        assert_eq!(
            m["jsep"],
            json!({"type": "answer", "sdp": "v=0", "trickle": false})
        );
        assert!(plugin_message(5, videoroom::start(), None)
            .get("jsep")
            .is_none());

        let ok =
            json!({"plugindata": {"data": {"id": 9}}, "jsep": {"type": "offer", "sdp": "v=0"}});
        let (data, j) = plugin_result(&ok).expect("ok");
        assert_eq!(data["id"], 9);
        assert_eq!(jsep_sdp(&j), Ok("v=0".into()));
        let refused = json!({"plugindata": {"data": {"error_code": 427, "error": "exists"}}});
        let e = plugin_result(&refused).expect_err("refused");
        assert!(videoroom::room_exists(&e));
        assert!(jsep_sdp(&None).is_err());
    }

    #[test]
    fn videoroom_requests() {
        let s = videoroom::join_subscriber(12, &[3, 4]);
        assert_eq!(s["streams"], json!([{"feed": 3}, {"feed": 4}]));
        assert_eq!(s["ptype"], "subscriber");
        assert_eq!(videoroom::join_publisher(12, "pub0")["display"], "pub0");
        assert_eq!(
            videoroom::configure(true, false),
            json!({"request": "configure", "audio": true, "video": false})
        );
        assert_eq!(videoroom::create(12, 11)["publishers"], 11);
    }
}
