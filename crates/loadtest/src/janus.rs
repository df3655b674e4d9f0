//! A participant on Janus Gateway's VideoRoom, for comparison: Janus's WebSocket JSON API for
//! signaling, and str0m for media (one peer connection to publish, one to subscribe to the other
//! publishers of the room, as Janus's VideoRoom works), with the same synthetic frames as the
//! Convene client.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use convene_client::frame::{
    parse_frame, sender_id, unix_micros, write_opus, write_vp8, FrameHeader, FrameKind,
};
use convene_client::media::{catch_up, stamped};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, Frequency, MediaData, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::options::Options;
use crate::pacing::Slot;
use crate::run::PublisherIds;
use crate::session::{shared_dtls_cert, Failure, Snap};

const RIDS: [&str; 3] = ["q", "h", "f"];
const KEEPALIVE: Duration = Duration::from_secs(20);
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(2500);
const AUDIO_FRAME_BYTES: usize = 80;
/// Janus room numbers: a base unique to this process, plus the room index (rooms outlive their
/// participants in Janus, so each run makes fresh ones).
fn room_id(room: usize) -> u64 {
    u64::from(std::process::id()) * 10_000 + room as u64
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn fail(cause: &str) -> impl Fn(String) -> Failure + '_ {
    move |d| Failure::new(cause, d)
}

/// Janus's WebSocket API: requests carry a transaction; asynchronous plugin requests are acked,
/// then answered by an event with the same transaction.
struct JanusWs {
    ws: Ws,
    session: u64,
    next: u64,
    /// Messages that arrived while waiting for a reply (events about other things).
    other: VecDeque<Value>,
}

impl JanusWs {
    async fn connect(url: &str) -> Result<JanusWs, String> {
        let mut req = url.into_client_request().map_err(|e| e.to_string())?;
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", http_header("janus-protocol"));
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

    async fn send(&mut self, mut msg: Value) -> Result<String, String> {
        self.next += 1;
        let tx = format!("t{}", self.next);
        msg["transaction"] = json!(tx);
        if self.session != 0 {
            msg["session_id"] = json!(self.session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        Ok(tx)
    }

    async fn recv(&mut self) -> Result<Value, String> {
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
    async fn call(&mut self, msg: Value) -> Result<Value, String> {
        let tx = self.send(msg).await?;
        loop {
            let m = self.recv().await?;
            if m["transaction"].as_str() != Some(tx.as_str()) {
                self.other.push_back(m);
                continue;
            }
            match m["janus"].as_str() {
                Some("ack") => continue,
                Some("error") => return Err(m["error"].to_string()),
                _ => return Ok(m),
            }
        }
    }

    async fn attach(&mut self) -> Result<u64, String> {
        let r = self
            .call(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}))
            .await?;
        r["data"]["id"]
            .as_u64()
            .ok_or_else(|| "no handle id".into())
    }

    /// A VideoRoom request; returns `plugindata.data` and the JSEP, if any.
    async fn plugin(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(Value, Option<Value>), String> {
        let mut msg = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(j) = jsep {
            msg["jsep"] = j;
        }
        let r = self.call(msg).await?;
        let data = r["plugindata"]["data"].clone();
        if data.get("error_code").is_some() {
            return Err(data.to_string());
        }
        Ok((data, r.get("jsep").cloned()))
    }
}

fn http_header(v: &'static str) -> tokio_tungstenite::tungstenite::http::HeaderValue {
    tokio_tungstenite::tungstenite::http::HeaderValue::from_static(v)
}

fn jsep_sdp(j: &Option<Value>) -> Result<String, String> {
    j.as_ref()
        .and_then(|j| j["sdp"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "no jsep in the reply".into())
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
        let join_time;
        if slot.publisher {
            let h = j.attach().await.map_err(fail("attach"))?;
            let create = json!({
                "request": "create", "room": room, "publishers": o.publishers.max(1) + 10,
                "bitrate": 0, "videocodec": "vp8", "audiocodec": "opus", "notify_joining": false,
            });
            if let Err(e) = j.plugin(h, create, None).await {
                // 427: the room exists (another publisher made it).
                if !e.contains("427") {
                    return Err(Failure::new("room_create", e));
                }
            }
            let (joined, _) = j
                .plugin(
                    h,
                    json!({"request": "join", "ptype": "publisher", "room": room,
                           "display": format!("pub{}", slot.index)}),
                    None,
                )
                .await
                .map_err(fail("join_refused"))?;
            let feed = joined["id"]
                .as_u64()
                .ok_or_else(|| Failure::new("join_refused", format!("no feed id in {joined}")))?;
            join_time = t0.elapsed();
            let (pc, offer) = Pc::new_publisher(o, feed)
                .await
                .map_err(fail("media_start"))?;
            let (_, jsep) = j
                .plugin(
                    h,
                    json!({"request": "configure", "audio": !o.no_audio, "video": !o.no_video}),
                    Some(json!({"type": "offer", "sdp": offer, "trickle": false})),
                )
                .await
                .map_err(fail("publish"))?;
            let mut pc = pc;
            pc.accept_answer(&jsep_sdp(&jsep).map_err(fail("publish"))?)
                .map_err(fail("publish"))?;
            let mut handle = PcHandle::spawn(pc);
            // Janus knows a feed for subscriptions only once its media is up.
            let _ = handle.connected.wait_for(|c| *c).await;
            pcs.push(handle);
            my_feed = Some(feed);
            publishers
                .lock()
                .map_err(|_| Failure::new("internal", "poisoned"))?
                .entry(slot.room)
                .or_default()
                .push(feed);
        } else {
            join_time = Duration::ZERO;
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
        let others: Vec<Value> = feeds
            .iter()
            .filter(|f| Some(**f) != my_feed)
            .map(|f| json!({"feed": f}))
            .collect();
        let mut join_time = join_time;
        if !others.is_empty() {
            let h = j.attach().await.map_err(fail("attach"))?;
            let (_, jsep) = j
                .plugin(
                    h,
                    json!({"request": "join", "ptype": "subscriber", "room": room,
                           "streams": others}),
                    None,
                )
                .await
                .map_err(fail("subscribe"))?;
            if !slot.publisher {
                join_time = t0.elapsed();
            }
            let offer = jsep_sdp(&jsep).map_err(fail("subscribe"))?;
            let (pc, answer) = Pc::new_subscriber(o, &offer)
                .await
                .map_err(fail("media_start"))?;
            j.plugin(
                h,
                json!({"request": "start"}),
                Some(json!({"type": "answer", "sdp": answer, "trickle": false})),
            )
            .await
            .map_err(fail("subscribe"))?;
            pcs.push(PcHandle::spawn(pc));
        }
        // Keep the session alive and its events drained until asked to stop.
        let (ws_stop, stop_rx) = oneshot::channel();
        let keeper = tokio::spawn(keep_alive(j, stop_rx));
        for pc in &mut pcs {
            let _ = pc.connected.wait_for(|c| *c).await;
        }
        Ok((
            JanusSession {
                pcs,
                keeper,
                ws_stop: Some(ws_stop),
            },
            join_time,
            t0.elapsed(),
        ))
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

/// Sends keepalives and drops events; on stop destroys the session. Returns why it ended.
async fn keep_alive(mut j: JanusWs, mut stop: oneshot::Receiver<()>) -> String {
    let mut tick = tokio::time::interval(KEEPALIVE);
    tick.tick().await;
    j.other.clear();
    loop {
        tokio::select! {
            _ = &mut stop => {
                let _ = j.send(json!({"janus": "destroy"})).await;
                let _ = j.ws.close(None).await;
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

enum PcCmd {
    Stats(oneshot::Sender<Snap>),
    StopPublishing,
    Stop,
}

struct PcHandle {
    cmd: mpsc::Sender<PcCmd>,
    connected: watch::Receiver<bool>,
}

impl PcHandle {
    fn spawn(pc: Pc) -> PcHandle {
        let (cmd, rx) = mpsc::channel(8);
        let (ctx, connected) = watch::channel(false);
        tokio::spawn(pc.run(rx, ctx));
        PcHandle { cmd, connected }
    }
}

/// Frames received on one m-line.
#[derive(Default)]
struct Track {
    first: Option<u32>,
    max: Option<u32>,
    in_order: u64,
}

/// What a publishing PC sends.
struct Synth {
    sender: u32,
    audio: Option<Mid>,
    video: Option<Mid>,
    rids: Vec<Rid>,
    bitrate: u32,
    fps: u32,
    next_audio: Option<Instant>,
    next_video: Option<Instant>,
    next_key: Instant,
    want_key: bool,
    audio_seq: u32,
    video_seq: u32,
    buf: Vec<u8>,
    on: bool,
}

/// One str0m peer connection to Janus and its UDP socket.
struct Pc {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    synth: Option<Synth>,
    tracks: HashMap<Mid, Track>,
    snap: Snap,
    buf: Vec<u8>,
    /// The kernel's arrival time of the datagram being handled (wall clock, µs), if any: the
    /// frame it completes arrived then.
    arrival_us: Option<u64>,
}

impl Pc {
    async fn bind(ip: std::net::IpAddr) -> Result<Pc, String> {
        let sock = UdpSocket::bind(SocketAddr::new(ip, 0))
            .await
            .map_err(|e| e.to_string())?;
        let local = sock.local_addr().map_err(|e| e.to_string())?;
        stamped::enable(&sock).map_err(|e| format!("SO_TIMESTAMP: {e}"))?;
        let mut builder = Rtc::builder();
        if let Some(cert) = shared_dtls_cert() {
            builder = builder.set_dtls_cert(cert);
        }
        let mut rtc = builder.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(|e| e.to_string())?);
        Ok(Pc {
            rtc,
            sock,
            local,
            pending: None,
            synth: None,
            tracks: HashMap::new(),
            snap: Snap::default(),
            buf: vec![0; 2000],
            arrival_us: None,
        })
    }

    /// A publishing PC and its offer.
    async fn new_publisher(o: &Options, feed: u64) -> Result<(Pc, String), String> {
        let mut pc = Pc::bind(o.local_ip).await?;
        let mut api = pc.rtc.sdp_api();
        let audio = (!o.no_audio)
            .then(|| api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        let n = usize::from(o.layers.clamp(1, 3));
        let rids: Vec<&str> = if n > 1 {
            RIDS[..n].to_vec()
        } else {
            Vec::new()
        };
        let video = (!o.no_video).then(|| {
            let sim = (!rids.is_empty()).then(|| {
                let mut s = Simulcast::new();
                // Janus takes the first rid for the highest quality (as janus.js sends them).
                for r in rids.iter().rev() {
                    s.add_send_layer(SimulcastLayer::new(r));
                }
                s
            });
            api.add_media(MediaKind::Video, Direction::SendOnly, None, None, sim)
        });
        let (offer, pending) = api.apply().ok_or("nothing to offer")?;
        pc.pending = Some(pending);
        pc.synth = Some(Synth {
            sender: sender_id(&format!("janus-{feed}")),
            audio,
            video,
            rids: rids.iter().map(|r| Rid::from(*r)).collect(),
            bitrate: o.video_bitrate,
            fps: o.fps.max(1),
            next_audio: None,
            next_video: None,
            next_key: Instant::now(),
            want_key: true,
            audio_seq: 0,
            video_seq: 0,
            buf: Vec::new(),
            on: true,
        });
        Ok((pc, offer.to_sdp_string()))
    }

    /// A receiving PC answering Janus's offer.
    async fn new_subscriber(o: &Options, offer: &str) -> Result<(Pc, String), String> {
        let mut pc = Pc::bind(o.local_ip).await?;
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
        let answer = pc
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| e.to_string())?;
        Ok((pc, answer.to_sdp_string()))
    }

    fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let pending = self.pending.take().ok_or("no offer pending")?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())
    }

    /// Polls str0m until only a timeout is left: sends what it transmits, handles its events.
    /// None: the connection failed.
    fn drain(&mut self, connected: &watch::Sender<bool>) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) => {
                    if self.sock.try_send_to(&t.contents, t.destination).is_ok() {
                        self.snap.packets_out += 1;
                        self.snap.bytes_out += t.contents.len() as u64;
                    } else {
                        self.snap.send_dropped += 1;
                    }
                }
                Ok(Output::Event(e)) => self.on_event(e, connected),
                Err(_) => return None,
            }
        }
    }

    async fn run(mut self, mut cmd: mpsc::Receiver<PcCmd>, connected: watch::Sender<bool>) {
        let Some(mut timeout) = self.drain(&connected) else {
            return;
        };
        loop {
            let wake = match self.synth.as_ref().and_then(Synth::next) {
                Some(n) => n.min(timeout),
                None => timeout,
            };
            tokio::select! {
                c = cmd.recv() => match c {
                    Some(PcCmd::Stats(tx)) => { let _ = tx.send(self.snap.clone()); }
                    Some(PcCmd::StopPublishing) => {
                        if let Some(s) = &mut self.synth { s.on = false; }
                    }
                    Some(PcCmd::Stop) | None => return,
                },
                r = self.sock.readable() => {
                    if r.is_err() { return; }
                    for _ in 0..64 {
                        let Ok((n, source, arrival)) = stamped::try_recv(&self.sock, &mut self.buf)
                        else {
                            break;
                        };
                        self.snap.packets_in += 1;
                        self.snap.bytes_in += n as u64;
                        let Ok(r) = Receive::new(Protocol::Udp, source, self.local, &self.buf[..n]) else {
                            continue;
                        };
                        let _ = self.rtc.handle_input(Input::Receive(Instant::now(), r));
                        // Frames this packet completes are stamped with its arrival.
                        self.arrival_us = arrival;
                        let drained = self.drain(&connected);
                        self.arrival_us = None;
                        match drained {
                            Some(t) => timeout = t,
                            None => return,
                        }
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
            let now = Instant::now();
            if timeout <= now && self.rtc.handle_input(Input::Timeout(now)).is_err() {
                return;
            }
            if let Some(s) = &mut self.synth {
                s.tick(&mut self.rtc, now, &mut self.snap);
            }
            match self.drain(&connected) {
                Some(t) => timeout = t,
                None => return,
            }
        }
    }

    fn on_event(&mut self, e: Event, connected: &watch::Sender<bool>) {
        match e {
            Event::Connected => {
                let _ = connected.send(true);
                if let Some(s) = &mut self.synth {
                    let now = Instant::now();
                    s.next_audio = Some(now);
                    s.next_video = Some(now);
                    s.next_key = now + KEYFRAME_INTERVAL;
                }
            }
            Event::KeyframeRequest(_) => {
                if let Some(s) = &mut self.synth {
                    s.want_key = true;
                }
            }
            Event::MediaData(d) => self.on_media(&d),
            _ => {}
        }
    }

    fn on_media(&mut self, d: &MediaData) {
        let kind = match self.rtc.media(d.mid).map(|m| m.kind()) {
            Some(MediaKind::Audio) => FrameKind::Audio,
            _ => FrameKind::Video,
        };
        let s = &mut self.snap;
        s.frames_in += 1;
        s.media_bytes_in += d.data.len() as u64;
        let Some(p) = parse_frame(kind, &d.data) else {
            s.foreign += 1;
            return;
        };
        s.corrupt += u64::from(!p.intact);
        let t = self.tracks.entry(d.mid).or_default();
        let seq = p.header.seq;
        match t.max {
            None => {
                t.first = Some(seq);
                t.max = Some(seq);
                t.in_order += 1;
            }
            Some(m) if seq.wrapping_sub(m) as i32 > 0 => {
                t.max = Some(seq);
                t.in_order += 1;
            }
            Some(_) => {}
        }
        let arrived = self.arrival_us.unwrap_or_else(unix_micros);
        s.delay.record(arrived as i64 - p.header.sent_us as i64);
        // Recomputed over all tracks: a handful per PC.
        let (mut lost, mut expected) = (0, 0);
        for t in self.tracks.values() {
            if let (Some(a), Some(b)) = (t.first, t.max) {
                let e = u64::from(b.wrapping_sub(a)) + 1;
                expected += e;
                lost += e.saturating_sub(t.in_order);
            }
        }
        s.lost = lost;
        s.expected = expected;
    }
}

impl Synth {
    fn next(&self) -> Option<Instant> {
        if !self.on {
            return None;
        }
        match (
            self.next_audio.filter(|_| self.audio.is_some()),
            self.next_video.filter(|_| self.video.is_some()),
        ) {
            (Some(a), Some(v)) => Some(a.min(v)),
            (a, v) => a.or(v),
        }
    }

    fn tick(&mut self, rtc: &mut Rtc, now: Instant, snap: &mut Snap) {
        if !self.on {
            return;
        }
        let unix = unix_micros();
        if let (Some(mid), Some(at)) = (self.audio, self.next_audio) {
            if at <= now {
                let skipped = catch_up(&mut self.next_audio, at, now, Duration::from_millis(20));
                snap.frames_skipped += skipped;
                self.audio_seq = self.audio_seq.wrapping_add(skipped as u32);
                let h = FrameHeader {
                    kind: FrameKind::Audio,
                    layer: 0,
                    sender: self.sender,
                    seq: self.audio_seq,
                    sent_us: unix,
                };
                write_opus(&mut self.buf, &h, AUDIO_FRAME_BYTES);
                let time =
                    MediaTime::new(u64::from(self.audio_seq) * 960, Frequency::FORTY_EIGHT_KHZ);
                if write(rtc, mid, None, Codec::Opus, now, time, &self.buf) {
                    snap.frames_out += 1;
                    snap.media_bytes_out += self.buf.len() as u64;
                }
                self.audio_seq = self.audio_seq.wrapping_add(1);
            }
        }
        if let (Some(mid), Some(at)) = (self.video, self.next_video) {
            if at <= now {
                let interval = Duration::from_secs(1) / self.fps;
                let skipped = catch_up(&mut self.next_video, at, now, interval);
                snap.frames_skipped += skipped;
                self.video_seq = self.video_seq.wrapping_add(skipped as u32);
                if self.next_key <= now {
                    self.next_key = now + KEYFRAME_INTERVAL;
                    self.want_key = true;
                }
                let key = std::mem::take(&mut self.want_key);
                let seq = self.video_seq;
                self.video_seq = seq.wrapping_add(1);
                let time = MediaTime::new(
                    u64::from(seq) * 90_000 / u64::from(self.fps),
                    Frequency::NINETY_KHZ,
                );
                let n = self.rids.len().max(1);
                for layer in 0..n {
                    let down = (n - 1 - layer) as u32;
                    let bytes = (u64::from(self.bitrate) >> (2 * down)) / 8 / u64::from(self.fps);
                    let h = FrameHeader {
                        kind: FrameKind::Video,
                        layer: layer as u8,
                        sender: self.sender,
                        seq,
                        sent_us: unix,
                    };
                    let size = if key {
                        bytes as usize * 3
                    } else {
                        bytes as usize
                    };
                    write_vp8(&mut self.buf, &h, key, 1280 >> down, 720 >> down, size);
                    if write(
                        rtc,
                        mid,
                        self.rids.get(layer).copied(),
                        Codec::Vp8,
                        now,
                        time,
                        &self.buf,
                    ) {
                        snap.frames_out += 1;
                        snap.media_bytes_out += self.buf.len() as u64;
                    }
                }
            }
        }
    }
}

fn write(
    rtc: &mut Rtc,
    mid: Mid,
    rid: Option<Rid>,
    codec: Codec,
    now: Instant,
    time: MediaTime,
    data: &[u8],
) -> bool {
    let Some(w) = rtc.writer(mid) else {
        return false;
    };
    let Some(pt) = w
        .payload_params()
        .find(|p| p.spec().codec == codec)
        .map(|p| p.pt())
    else {
        return false;
    };
    let w = match rid {
        Some(r) => w.rid(r),
        None => w,
    };
    w.write(pt, now, time, Arc::<[u8]>::from(data)).is_ok()
}
