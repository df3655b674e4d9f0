//! What every part of a running server shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use convene_store::Store;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::rooms::Registry;

pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub rooms: Registry,
    draining: AtomicBool,
    /// Turns true after the rooms have drained: connections still open (not in a room) close then.
    close_all: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(config: Arc<Config>, store: Arc<dyn Store>) -> Self {
        Self {
            config,
            store,
            metrics: Arc::new(Metrics::default()),
            rooms: Registry::default(),
            draining: AtomicBool::new(false),
            close_all: tokio::sync::watch::channel(false).0,
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn close_all_connections(&self) {
        self.close_all.send_replace(true);
    }

    pub fn watch_close_all(&self) -> tokio::sync::watch::Receiver<bool> {
        self.close_all.subscribe()
    }
}
