//! The run: ramp participants up, let them settle, measure a window, drain, and collect.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::convene::ConveneSession;
use crate::janus::{JanusSession, PublisherIds};
use crate::metrics;
use convene_sim::SharedUdp;

use crate::options::{Options, Receive, RtpPath, Sockets, Target};
use crate::pacing::{self, Slot};
use crate::procstat;
use crate::progress::{Line, Progress};
use crate::report::{self, Report, WindowSample};
use crate::session::{Failure, Outcome, Snap};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Ramp,
    Measure,
    Drain,
    Done,
}

/// Counters every participant adds to about once a second, for the progress line.
#[derive(Default)]
pub struct Live {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub packets_in: AtomicU64,
    pub packets_out: AtomicU64,
}

enum AnySession {
    Convene(ConveneSession),
    Janus(JanusSession),
}

impl AnySession {
    async fn snap(&mut self) -> Result<Snap, Failure> {
        match self {
            AnySession::Convene(s) => s.snap().await,
            AnySession::Janus(s) => s.snap().await,
        }
    }
    /// Packets received and sent so far, for the progress line: a Convene session answers
    /// without copying its tracks' figures (which every participant's full snapshot each
    /// second did, a few % of the tool's CPU).
    async fn packets(&mut self) -> Result<(u64, u64), Failure> {
        match self {
            AnySession::Convene(s) => s.packets().await,
            AnySession::Janus(s) => s.snap().await.map(|s| (s.packets_in, s.packets_out)),
        }
    }

    /// A chat message (Convene only: main.rs refuses `--chat-every` for Janus).
    async fn chat(&self, text: String) {
        if let AnySession::Convene(s) = self {
            // A failed send means the session ended, which `ended()` reports.
            let _ = s.chat(text).await;
        }
    }

    async fn stop_publishing(&mut self) {
        match self {
            AnySession::Convene(s) => s.stop_publishing().await,
            AnySession::Janus(s) => s.stop_publishing().await,
        }
    }
    async fn ended(&mut self) -> Failure {
        match self {
            AnySession::Convene(s) => s.ended().await,
            AnySession::Janus(s) => s.ended().await,
        }
    }
    async fn close(self) {
        match self {
            AnySession::Convene(s) => s.close().await,
            AnySession::Janus(s) => s.close().await,
        }
    }
}

async fn start_session(
    o: &Options,
    slot: Slot,
    publishers: &PublisherIds,
) -> Result<(AnySession, Duration, Duration), Failure> {
    match o.target {
        Target::Convene => ConveneSession::start(o, slot)
            .await
            .map(|(s, j, c)| (AnySession::Convene(s), j, c)),
        Target::Janus => JanusSession::start(o, slot, publishers)
            .await
            .map(|(s, j, c)| (AnySession::Janus(s), j, c)),
    }
}

async fn participant(
    o: Arc<Options>,
    slot: Slot,
    live: Arc<Live>,
    mut phase: watch::Receiver<Phase>,
    publishers: PublisherIds,
) -> Outcome {
    let mut out = Outcome {
        slot,
        join: None,
        connect: None,
        failure: None,
        at_measure: None,
        at_drain: None,
        last: None,
    };
    let timeout = Duration::from_secs_f64(o.connect_timeout);
    let started = tokio::select! {
        r = tokio::time::timeout(timeout, start_session(&o, slot, &publishers)) => match r {
            Ok(r) => r,
            Err(_) => Err(Failure::new("connect_timeout", format!("not connected after {timeout:?}"))),
        },
        _ = phase.wait_for(|p| *p == Phase::Done) => {
            Err(Failure::new("not_connected_at_end", "the run ended first"))
        }
    };
    let mut session = match started {
        Ok((s, join, connect)) => {
            out.join = Some(join);
            out.connect = Some(connect);
            live.connected.fetch_add(1, Ordering::Relaxed);
            s
        }
        Err(f) => {
            out.failure = Some(f);
            live.failed.fetch_add(1, Ordering::Relaxed);
            return out;
        }
    };
    // Staggered, so thousands of participants do not all ask for stats in the same millisecond.
    let stagger = Duration::from_millis((slot.index as u64 * 397) % 1000);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + stagger,
        Duration::from_secs(1),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_live = (0, 0);
    let mut seen = Phase::Ramp;
    let mut ticks = 0u64;
    let failure = loop {
        tokio::select! {
            f = session.ended() => break Some(f),
            _ = tick.tick() => {
                ticks += 1;
                if o.chat_every.is_some_and(|n| ticks.is_multiple_of(n)) && seen < Phase::Drain {
                    session.chat(format!("chat {ticks} from {}", slot.index)).await;
                }
                if let Ok((packets_in, packets_out)) = session.packets().await {
                    let d = |a: u64, b: u64| a.saturating_sub(b);
                    live.packets_in.fetch_add(d(packets_in, last_live.0), Ordering::Relaxed);
                    live.packets_out.fetch_add(d(packets_out, last_live.1), Ordering::Relaxed);
                    last_live = (packets_in, packets_out);
                }
            }
            r = phase.changed() => {
                let now = if r.is_ok() { *phase.borrow_and_update() } else { Phase::Done };
                if now >= Phase::Measure && seen < Phase::Measure {
                    out.at_measure = session.snap().await.ok();
                }
                if now >= Phase::Drain && seen < Phase::Drain {
                    out.at_drain = session.snap().await.ok();
                    if slot.publisher {
                        session.stop_publishing().await;
                    }
                }
                seen = now;
                if now == Phase::Done {
                    break None;
                }
            }
        }
    };
    out.last = session.snap().await.ok();
    if let Some(f) = failure {
        out.failure = Some(f);
        live.failed.fetch_add(1, Ordering::Relaxed);
        live.connected.fetch_sub(1, Ordering::Relaxed);
    }
    session.close().await;
    out
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("shared sockets: {0}")]
    SharedSockets(String),
    #[error("nothing to do: no participants")]
    Empty,
    #[error("a participant task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("starting the publishers' thread: {0}")]
    Runtime(#[from] std::io::Error),
}

/// A runtime owned by async code: dropped without blocking (which would panic inside another
/// runtime), whichever way the owner returns.
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.0.as_ref().map(|rt| rt.handle().clone())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Readings at one edge of the measured window.
async fn window_edge(server_pid: Option<u32>, metrics_url: Option<&str>) -> WindowSample {
    let metrics = match metrics_url {
        Some(u) => metrics::scrape(u).await,
        None => None,
    };
    WindowSample {
        at: Instant::now(),
        server: server_pid.and_then(|p| procstat::sample(Some(p)).ok()),
        tool: procstat::sample(None).ok(),
        udp: procstat::udp_counters().ok(),
        metrics,
    }
}

struct Ticker<'a> {
    progress: Progress,
    live: &'a Live,
    t0: Instant,
    total: u64,
    last: (Instant, u64, u64, f64),
    /// (time, packets in, packets out) of recent draws: rates over ~2 s, since participants
    /// add their counts once a second.
    history: std::collections::VecDeque<(Instant, u64, u64)>,
}

impl Ticker<'_> {
    fn draw(&mut self, phase: &str, fraction: f64) {
        let now = Instant::now();
        let dt = now.duration_since(self.last.0).as_secs_f64();
        if dt < 0.2 {
            return;
        }
        let pin = self.live.packets_in.load(Ordering::Relaxed);
        let pout = self.live.packets_out.load(Ordering::Relaxed);
        let cpu = procstat::sample(None).map_or(self.last.3, |s| s.cpu_secs);
        self.history.push_back((now, pin, pout));
        while self
            .history
            .front()
            .is_some_and(|h| now.duration_since(h.0) > Duration::from_secs(2))
        {
            self.history.pop_front();
        }
        let (t_old, in_old, out_old) = self.history.front().copied().unwrap_or((now, pin, pout));
        let span = now.duration_since(t_old).as_secs_f64().max(1e-3);
        let line = Line {
            phase,
            elapsed: now.duration_since(self.t0),
            fraction,
            connected: self.live.connected.load(Ordering::Relaxed),
            total: self.total,
            failed: self.live.failed.load(Ordering::Relaxed),
            pkts_in_per_sec: pin.saturating_sub(in_old) as f64 / span,
            pkts_out_per_sec: pout.saturating_sub(out_old) as f64 / span,
            tool_cpu_percent: (cpu - self.last.3) / dt * 100.0,
        };
        self.progress.draw(&line);
        self.last = (now, pin, pout, cpu);
    }

    /// Sleeps `d`, drawing the progress line.
    async fn sleep(&mut self, phase: &str, d: Duration) {
        let start = Instant::now();
        let end = start + d;
        loop {
            let now = Instant::now();
            if now >= end {
                break;
            }
            let f = now.duration_since(start).as_secs_f64() / d.as_secs_f64().max(1e-9);
            self.draw(phase, f);
            tokio::time::sleep((end - now).min(Duration::from_millis(250))).await;
        }
    }
}

/// Runs the load described by `o` against the server at `o.url`.
pub async fn run(o: Options) -> Result<Report, RunError> {
    let slots = pacing::plan(o.rooms, o.publishers, o.subscribers);
    if slots.is_empty() {
        return Err(RunError::Empty);
    }
    let mut o = o;
    if o.target == Target::Convene
        && o.sockets == Sockets::Shared
        && o.receive == Receive::Packets
        && !o.tcp
        && o.subscribers > 0
    {
        if !o.local_ip.is_loopback() {
            return Err(RunError::SharedSockets(
                "shared sockets use loopback addresses; use --sockets own with --local-ip".into(),
            ));
        }
        let path = match o.rtp_path {
            RtpPath::Lean => convene_sim::RtpPath::Lean,
            RtpPath::Str0m => convene_sim::RtpPath::Str0m,
        };
        let shared = SharedUdp::new(o.threads.max(1), path)
            .map_err(|e| RunError::SharedSockets(format!("{e} (or run with --sockets own)")))?;
        o.shared = Some(shared);
    }
    let o = Arc::new(o);
    let metrics_url = match (&o.metrics_url, o.target) {
        (Some(u), _) => Some(u.clone()),
        (None, Target::Convene) => metrics::metrics_url_for(&o.url),
        (None, Target::Janus) => None,
    };
    let before = report::Baseline {
        server: o.server_pid.and_then(|p| procstat::sample(Some(p)).ok()),
        tool: procstat::sample(None).ok(),
        udp: procstat::udp_counters().ok(),
    };
    let live = Arc::new(Live::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Ramp);
    let publishers: PublisherIds = Arc::default();
    let t0 = Instant::now();
    let total = slots.len();

    // Publishers get a thread of their own: their frame clocks are the load, and behind hundreds
    // of subscriber tasks (Janus's have a socket and task each) they fell hundreds of ms behind
    // and skipped frames while the thread was mostly idle.
    let publisher_rt = Background(Some(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("publishers")
            .enable_all()
            .build()?,
    ));
    // Starts each participant at its time on the ramp.
    let spawner = {
        let (o, live, phase_rx, publishers) = (
            o.clone(),
            live.clone(),
            phase_rx.clone(),
            publishers.clone(),
        );
        let here = tokio::runtime::Handle::current();
        let publisher_rt = publisher_rt.handle().unwrap_or_else(|| here.clone());
        tokio::spawn(async move {
            let mut handles: Vec<JoinHandle<Outcome>> = Vec::with_capacity(slots.len());
            for slot in slots {
                let at = t0 + pacing::offset(slot.index, o.ramp);
                tokio::time::sleep_until(at.into()).await;
                if *phase_rx.borrow() == Phase::Done {
                    break;
                }
                let on = if slot.publisher { &publisher_rt } else { &here };
                handles.push(on.spawn(participant(
                    o.clone(),
                    slot,
                    live.clone(),
                    phase_rx.clone(),
                    publishers.clone(),
                )));
            }
            handles
        })
    };

    let mut ticker = Ticker {
        progress: Progress::new(!o.quiet),
        live: &live,
        t0,
        total: total as u64,
        last: (t0, 0, 0, procstat::sample(None).map_or(0.0, |s| s.cpu_secs)),
        history: Default::default(),
    };
    // Ramp: until everyone has connected or failed (or could no longer make it).
    let ramp_deadline =
        t0 + pacing::ramp_len(total, o.ramp) + Duration::from_secs_f64(o.connect_timeout + 1.0);
    loop {
        let done = live.connected.load(Ordering::Relaxed) + live.failed.load(Ordering::Relaxed);
        if done >= total as u64 || Instant::now() >= ramp_deadline {
            break;
        }
        ticker.draw("ramp", done as f64 / total as f64);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ramp_secs = t0.elapsed().as_secs_f64();
    ticker
        .sleep("settle", Duration::from_secs_f64(o.settle))
        .await;

    let _ = phase_tx.send(Phase::Measure);
    let start = window_edge(o.server_pid, metrics_url.as_deref()).await;
    ticker
        .sleep("measure", Duration::from_secs_f64(o.duration))
        .await;
    let _ = phase_tx.send(Phase::Drain);
    let end = window_edge(o.server_pid, metrics_url.as_deref()).await;
    ticker
        .sleep("drain", Duration::from_secs_f64(o.drain))
        .await;
    let _ = phase_tx.send(Phase::Done);
    ticker.progress.finish();

    let handles = spawner.await?;
    let mut outcomes = Vec::with_capacity(handles.len());
    for h in handles {
        outcomes.push(h.await?);
    }
    drop(publisher_rt);
    Ok(report::build(
        &o, &outcomes, total, ramp_secs, &before, &start, &end,
    ))
}
