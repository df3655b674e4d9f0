//! Counters and gauges, rendered in the Prometheus text format. Kept dependency-free: the set is small
//! and fixed, and a lock-free atomic per series is all the hot path needs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use convene_proto::{ClientMessage, ErrorCode, ServerMessage};

/// A counter family keyed by one label value known in advance, so increments never allocate or lock.
pub struct LabeledCounter {
    labels: &'static [&'static str],
    values: Vec<AtomicU64>,
    /// Label values not in the fixed list (should not happen; counted, not lost).
    other: AtomicU64,
}

impl LabeledCounter {
    fn new(labels: &'static [&'static str]) -> Self {
        Self {
            labels,
            values: labels.iter().map(|_| AtomicU64::new(0)).collect(),
            other: AtomicU64::new(0),
        }
    }

    pub fn inc(&self, label: &str) {
        match self.labels.iter().position(|l| *l == label) {
            Some(i) => self.values[i].fetch_add(1, Ordering::Relaxed),
            None => self.other.fetch_add(1, Ordering::Relaxed),
        };
    }

    pub fn get(&self, label: &str) -> u64 {
        self.labels
            .iter()
            .position(|l| *l == label)
            .map_or(0, |i| self.values[i].load(Ordering::Relaxed))
    }

    fn render(&self, out: &mut String, name: &str, label: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (l, v) in self.labels.iter().zip(&self.values) {
            let _ = writeln!(
                out,
                "{name}{{{label}=\"{l}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "{name}{{{label}=\"other\"}} {}",
            self.other.load(Ordering::Relaxed)
        );
    }
}

/// Client message types and `invalid`, from the protocol crate's one list.
fn client_types_and_invalid() -> &'static [&'static str] {
    static TYPES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    TYPES.get_or_init(|| {
        ClientMessage::TYPES
            .iter()
            .copied()
            .chain(["invalid"])
            .collect()
    })
}

fn error_codes() -> &'static [&'static str] {
    static CODES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    CODES.get_or_init(|| ErrorCode::ALL.iter().map(|c| c.as_str()).collect())
}

pub struct Metrics {
    pub rooms: AtomicI64,
    pub participants: AtomicI64,
    pub ws_connections: AtomicI64,
    pub messages_in: LabeledCounter,
    pub messages_out: LabeledCounter,
    pub errors: LabeledCounter,
    pub joins: AtomicU64,
    /// Joins refused because every media worker they could use was saturated.
    pub joins_refused_busy: AtomicU64,
    pub resumes: AtomicU64,
    pub storage_failures: AtomicU64,
    pub connections_closed_for_rate: AtomicU64,
    /// Webhook deliveries answered 2xx, not (failed or no answer), and events given up on.
    pub webhook_delivered: AtomicU64,
    pub webhook_failed: AtomicU64,
    pub webhook_given_up: AtomicU64,
    /// Extra families other parts of the server add (name -> rendered text), e.g. the media plane.
    extra: Mutex<BTreeMap<&'static str, String>>,
    /// The accept loop's connection counts, rendered when scraped.
    admission: std::sync::OnceLock<std::sync::Arc<crate::net::admission::Admission>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            rooms: AtomicI64::new(0),
            participants: AtomicI64::new(0),
            ws_connections: AtomicI64::new(0),
            messages_in: LabeledCounter::new(client_types_and_invalid()),
            messages_out: LabeledCounter::new(ServerMessage::TYPES),
            errors: LabeledCounter::new(error_codes()),
            joins: AtomicU64::new(0),
            joins_refused_busy: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
            storage_failures: AtomicU64::new(0),
            connections_closed_for_rate: AtomicU64::new(0),
            webhook_delivered: AtomicU64::new(0),
            webhook_failed: AtomicU64::new(0),
            webhook_given_up: AtomicU64::new(0),
            extra: Mutex::new(BTreeMap::new()),
            admission: std::sync::OnceLock::new(),
        }
    }
}

impl Metrics {
    /// Replaces a block of already-rendered families (used for metrics owned by another component).
    pub fn set_extra(&self, key: &'static str, text: String) {
        if let Ok(mut extra) = self.extra.lock() {
            extra.insert(key, text);
        }
    }

    /// Connection counts to render (set once, when the accept loop starts).
    pub fn set_admission(&self, admission: std::sync::Arc<crate::net::admission::Admission>) {
        let _ = self.admission.set(admission);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let loadu = |a: &AtomicU64| a.load(Ordering::Relaxed);
        gauge(
            &mut out,
            "convene_rooms",
            "Rooms open on this node.",
            load(&self.rooms),
        );
        gauge(
            &mut out,
            "convene_participants",
            "Participants in rooms on this node (including those within their resume window).",
            load(&self.participants),
        );
        gauge(
            &mut out,
            "convene_websocket_connections",
            "Open WebSocket connections.",
            load(&self.ws_connections),
        );
        counter(
            &mut out,
            "convene_joins_total",
            "Successful joins.",
            loadu(&self.joins),
        );
        counter(
            &mut out,
            "convene_joins_refused_busy_total",
            "Joins refused with server_busy: every media worker they could use was saturated.",
            loadu(&self.joins_refused_busy),
        );
        counter(
            &mut out,
            "convene_resumes_total",
            "Joins that resumed an earlier participant.",
            loadu(&self.resumes),
        );
        counter(
            &mut out,
            "convene_storage_failures_total",
            "Writes to the meeting record that failed.",
            loadu(&self.storage_failures),
        );
        counter(
            &mut out,
            "convene_connections_closed_rate_limit_total",
            "Connections closed for flooding.",
            loadu(&self.connections_closed_for_rate),
        );
        counter(
            &mut out,
            "convene_webhook_deliveries_total",
            "Webhook deliveries answered with a 2xx status.",
            loadu(&self.webhook_delivered),
        );
        counter(
            &mut out,
            "convene_webhook_failures_total",
            "Webhook deliveries that failed (another status, or no answer); they are retried.",
            loadu(&self.webhook_failed),
        );
        counter(
            &mut out,
            "convene_webhook_given_up_total",
            "Webhook events given up on after webhooks.retry_hours of failures.",
            loadu(&self.webhook_given_up),
        );
        self.messages_in.render(
            &mut out,
            "convene_messages_in_total",
            "type",
            "Signaling messages received, by type (invalid: could not be parsed).",
        );
        self.messages_out.render(
            &mut out,
            "convene_messages_out_total",
            "type",
            "Signaling messages sent, by type.",
        );
        self.errors.render(
            &mut out,
            "convene_errors_total",
            "code",
            "Error messages sent to clients, by code.",
        );
        if let Some(a) = self.admission.get() {
            a.render(&mut out);
        }
        crate::process::render(&mut out);
        if let Ok(extra) = self.extra.lock() {
            for text in extra.values() {
                out.push_str(text);
            }
        }
        out
    }
}
