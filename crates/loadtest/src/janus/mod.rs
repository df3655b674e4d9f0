//! A participant on Janus Gateway's VideoRoom, for comparison: Janus's WebSocket JSON API for
//! signaling (`api.rs`), and str0m for media (`pc.rs`: one peer connection to publish, one to
//! subscribe to the other publishers of the room, as Janus's VideoRoom works), with the frames
//! of the Convene client's synthesiser.

mod api;
mod offer;
mod pc;
mod receive;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::oneshot;

use crate::options::Options;
use crate::pacing::Slot;
use crate::session::{Failure, Snap};
use api::{jsep, jsep_sdp, videoroom, JanusWs};
use pc::{Pc, PcCmd, PcHandle};

/// Janus subscribers must name the feeds they subscribe to: the publishers record theirs here.
pub type PublisherIds = Arc<Mutex<BTreeMap<usize, Vec<u64>>>>;

const KEEPALIVE: Duration = Duration::from_secs(20);

/// Janus room numbers: a base unique to this process, plus the room index (rooms outlive their
/// participants in Janus, so each run makes fresh ones).
fn room_id(room: usize) -> u64 {
    u64::from(std::process::id()) * 10_000 + room as u64
}

fn fail(cause: &str) -> impl Fn(String) -> Failure + '_ {
    move |d| Failure::new(cause, d)
}

pub struct JanusSession {
    pcs: Vec<PcHandle>,
    keeper: tokio::task::JoinHandle<String>,
    ws_stop: Option<oneshot::Sender<()>>,
}

impl JanusSession {
    pub async fn start(
        o: &Options,
        slot: Slot,
        publishers: &PublisherIds,
    ) -> Result<(JanusSession, Duration, Duration), Failure> {
        let t0 = Instant::now();
        let mut j = JanusWs::connect(&o.url).await.map_err(fail("connect"))?;
        let room = room_id(slot.room);
        let mut pcs = Vec::new();
        let mut my_feed = None;
        let mut join_time = Duration::ZERO;
        if slot.publisher {
            let (handle, feed) = publish(&mut j, o, room, slot.index, t0, &mut join_time).await?;
            pcs.push(handle);
            my_feed = Some(feed);
            publishers
                .lock()
                .map_err(|_| Failure::new("internal", "poisoned"))?
                .entry(slot.room)
                .or_default()
                .push(feed);
        }
        // Subscribe to every other publisher of the room once all have published.
        let feeds = loop {
            let feeds: Vec<u64> = publishers
                .lock()
                .map_err(|_| Failure::new("internal", "poisoned"))?
                .get(&slot.room)
                .cloned()
                .unwrap_or_default();
            if feeds.len() >= o.publishers {
                break feeds;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let others: Vec<u64> = feeds.into_iter().filter(|f| Some(*f) != my_feed).collect();
        if !others.is_empty() {
            pcs.push(subscribe(&mut j, o, room, &others).await?);
            if !slot.publisher {
                join_time = t0.elapsed();
            }
        }
        // Keep the session alive and its events drained until asked to stop.
        let (ws_stop, stop_rx) = oneshot::channel();
        let keeper = tokio::spawn(keep_alive(j, stop_rx));
        for pc in &mut pcs {
            let _ = pc.connected.wait_for(|c| *c).await;
        }
        let session = JanusSession {
            pcs,
            keeper,
            ws_stop: Some(ws_stop),
        };
        Ok((session, join_time, t0.elapsed()))
    }

    pub async fn snap(&mut self) -> Result<Snap, Failure> {
        let mut total = Snap::default();
        for pc in &self.pcs {
            let (tx, rx) = oneshot::channel();
            pc.cmd
                .send(PcCmd::Stats(tx))
                .await
                .map_err(|_| Failure::new("media_ended", "pc task stopped"))?;
            let s = rx
                .await
                .map_err(|_| Failure::new("media_ended", "pc task stopped"))?;
            total.add_delta(&s, &Snap::default());
        }
        Ok(total)
    }

    pub async fn stop_publishing(&mut self) {
        for pc in &self.pcs {
            let _ = pc.cmd.send(PcCmd::StopPublishing).await;
        }
    }

    pub async fn ended(&mut self) -> Failure {
        let keeper = &mut self.keeper;
        let why = match keeper.await {
            Ok(w) => w,
            Err(e) => e.to_string(),
        };
        // Do not poll a finished JoinHandle again.
        self.keeper = tokio::spawn(std::future::pending());
        Failure::new("media_ended", why)
    }

    pub async fn close(mut self) {
        for pc in &self.pcs {
            let _ = pc.cmd.send(PcCmd::Stop).await;
        }
        if let Some(s) = self.ws_stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.keeper).await;
    }
}

/// Joins `room` as a publisher (making the room if it is the first) and publishes; returns
/// once media is up (Janus knows a feed for subscriptions only then), with the feed id.
async fn publish(
    j: &mut JanusWs,
    o: &Options,
    room: u64,
    index: usize,
    t0: Instant,
    join_time: &mut Duration,
) -> Result<(PcHandle, u64), Failure> {
    let h = j.attach().await.map_err(fail("attach"))?;
    let create = videoroom::create(room, o.publishers.max(1) + 10);
    if let Err(e) = j.plugin(h, create, None).await {
        if !videoroom::room_exists(&e) {
            return Err(Failure::new("room_create", e));
        }
    }
    let join = videoroom::join_publisher(room, &format!("pub{index}"));
    let (joined, _) = j
        .plugin(h, join, None)
        .await
        .map_err(fail("join_refused"))?;
    let feed = joined["id"]
        .as_u64()
        .ok_or_else(|| Failure::new("join_refused", format!("no feed id in {joined}")))?;
    *join_time = t0.elapsed();
    let (mut pc, offer) = Pc::new_publisher(o, feed)
        .await
        .map_err(fail("media_start"))?;
    let configure = videoroom::configure(!o.no_audio, !o.no_video);
    let (_, answer) = j
        .plugin(h, configure, Some(jsep("offer", &offer)))
        .await
        .map_err(fail("publish"))?;
    pc.accept_answer(&jsep_sdp(&answer).map_err(fail("publish"))?)
        .map_err(fail("publish"))?;
    let mut handle = PcHandle::spawn(pc);
    let _ = handle.connected.wait_for(|c| *c).await;
    Ok((handle, feed))
}

/// Subscribes to `feeds` of `room` on one peer connection.
async fn subscribe(
    j: &mut JanusWs,
    o: &Options,
    room: u64,
    feeds: &[u64],
) -> Result<PcHandle, Failure> {
    let h = j.attach().await.map_err(fail("attach"))?;
    let (_, offer) = j
        .plugin(h, videoroom::join_subscriber(room, feeds), None)
        .await
        .map_err(fail("subscribe"))?;
    let offer = jsep_sdp(&offer).map_err(fail("subscribe"))?;
    let (pc, answer) = Pc::new_subscriber(o, &offer)
        .await
        .map_err(fail("media_start"))?;
    j.plugin(h, videoroom::start(), Some(jsep("answer", &answer)))
        .await
        .map_err(fail("subscribe"))?;
    Ok(PcHandle::spawn(pc))
}

/// Sends keepalives and drops events; on stop destroys the session. Returns why it ended.
async fn keep_alive(mut j: JanusWs, mut stop: oneshot::Receiver<()>) -> String {
    let mut tick = tokio::time::interval(KEEPALIVE);
    tick.tick().await;
    j.other.clear();
    loop {
        tokio::select! {
            _ = &mut stop => {
                let _ = j.send(json!({"janus": "destroy"})).await;
                j.close().await;
                return "stopped".into();
            }
            _ = tick.tick() => {
                if let Err(e) = j.send(json!({"janus": "keepalive"})).await {
                    return e;
                }
            }
            m = j.recv() => {
                if let Err(e) = m {
                    return e;
                }
            }
        }
    }
}
