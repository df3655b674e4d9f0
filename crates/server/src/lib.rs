//! Convene's server: HTTP, WebSocket signaling, rooms and meeting records in one process.
//! `main.rs` parses the command line and calls [`run`].

pub mod api;
pub mod audit_api;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod compose;
pub mod config;
pub mod db_gate;
pub mod error;
pub mod files;
pub mod http;
pub mod live_api;
pub mod logging;
pub mod media;
pub mod memory;
pub mod metrics;
pub mod moderation_api;
pub mod net;
pub mod pending_writes;
pub mod planned_api;
pub mod policy;
pub mod process;
pub mod ratelimit;
pub mod recording;
pub mod records;
pub mod rooms;
pub mod runtime_metrics;
pub mod state;
pub mod tls;
pub mod turn;
pub mod users;
pub mod validate;
pub mod web;
pub mod webhooks;
pub mod ws;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use convene_store::Store;
use tokio::net::TcpListener;

pub use config::Config;
use state::AppState;

/// The sockets a server serves on, bound before `run` so that tests can use port 0.
pub struct Listeners {
    pub http: TcpListener,
    /// The media UDP socket; None when media is disabled.
    pub udp: Option<std::net::UdpSocket>,
    /// The embedded TURN server's UDP socket and TCP listener; None unless `turn.enabled`.
    pub turn: Option<turn::Sockets>,
}

impl Listeners {
    /// Binds HTTP on `server.listen` and media UDP on the same IP at `media.udp_port`.
    pub async fn bind(config: &Config) -> std::io::Result<Self> {
        let http = TcpListener::bind(&config.server.listen).await?;
        let udp = if config.media.enabled {
            let ip = http.local_addr()?.ip();
            // Each media worker binds the port again (SO_REUSEPORT), so that all of one
            // participant's datagrams reach one worker.
            Some(media::reuseport::bind(std::net::SocketAddr::new(
                ip,
                config.media.udp_port,
            ))?)
        } else {
            None
        };
        let turn = match config.turn.enabled {
            true => Some(turn::Sockets::bind(
                http.local_addr()?.ip(),
                config.turn.listen_port,
            )?),
            false => None,
        };
        Ok(Self { http, udp, turn })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("database: {0}")]
    Store(#[from] convene_store::StoreError),
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("{0}")]
    Cluster(#[from] cluster::ClusterError),
    #[error("media: {0}")]
    Media(#[from] media::MediaStartError),
    #[error("TURN: {0}")]
    Turn(std::io::Error),
    #[error("recording directory {path}: {source}")]
    Recording {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs the server until `shutdown` resolves, then drains: joins are refused, participants are told,
/// records are closed; returns once that is done or the drain deadline passes. A drain that reaches
/// its deadline is not a failure: what is left is cut off (connections closed, open records closed
/// now or at the next start) and `Ok` is returned.
pub async fn run(
    config: Config,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RunError> {
    let mut config = config;
    // Before anything is recorded: the records carry the node's id.
    config.server.node_id = cluster::resolve_node_id(&config)?;
    let config = Arc::new(config);
    let pool = convene_store::PoolSettings {
        acquire_timeout: Duration::from_secs(config.database.acquire_timeout_secs),
    };
    let store = convene_store::SqlStore::connect_with(&config.database.url, pool).await?;
    let recovered = store.recover(&config.server.node_id).await?;
    if recovered.sessions_closed > 0 || recovered.meetings_closed > 0 {
        tracing::warn!(
            sessions = recovered.sessions_closed,
            meetings = recovered.meetings_closed,
            "closed records left open by an earlier process (reason server_restart)"
        );
    }
    // Compositions this node left queued or running died with it; their scratch files go with
    // the blob store's temporary files below.
    match store
        .fail_unfinished_compositions(
            &config.server.node_id,
            "the server stopped before the composition was done; ask again",
            clock::now_ms(),
        )
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            compositions = n,
            "failed compositions an earlier process left unfinished"
        ),
        Err(e) => tracing::warn!(error = %e, "could not fail unfinished compositions"),
    }
    // Uploads a crash cut off: nobody refers to them.
    if let Err(e) = files::blob::DirBlobStore::new(&config.files.dir)
        .clear_temporary()
        .await
    {
        tracing::warn!(error = %e, "could not clear unfinished uploads");
    }
    let resume_secret = store
        .secret(
            rooms::resume::KEY_NAME,
            &rooms::resume::ResumeKey::generate_secret(),
        )
        .await?;
    let resume_key = rooms::resume::ResumeKey::new(&resume_secret);
    let store: Arc<dyn convene_store::Store> = Arc::new(store);
    let metrics = Arc::new(metrics::Metrics::default());
    let tcp_port = listeners.http.local_addr().map(|a| a.port()).unwrap_or(0);
    let (reports_tx, reports_rx) = tokio::sync::mpsc::unbounded_channel();
    let recorder = match listeners.udp.is_some() && config.recording.enabled {
        true => Some(Arc::new(
            start_recorder(&config, store.as_ref(), reports_tx).await?,
        )),
        false => None,
    };
    let (media, media_out) = match listeners.udp {
        Some(udp) => {
            let (plane, out) = media::MediaPlane::start(
                &config.media,
                udp,
                tcp_port,
                metrics.clone(),
                recorder.clone(),
            )?;
            tracing::info!(udp = %plane.udp_addr, ice_tcp = plane.ice_tcp, "media plane started");
            (Some(plane), Some(out))
        }
        None => (None, None),
    };
    let mut state = AppState::new(
        config.clone(),
        store.clone(),
        metrics,
        media.clone(),
        resume_key,
    );
    state.recorder = recorder.clone();
    if let (Some(sockets), Some(plane)) = (listeners.turn, &media) {
        // TURN over TLS is served on the HTTP listener when it speaks TLS.
        let tls_on = !config.tls.cert.is_empty() || config.tls.self_signed;
        let https_port = tls_on.then_some(tcp_port);
        state.turn = Some(Arc::new(
            start_turn(&config, store.as_ref(), sockets, plane, https_port).await?,
        ));
    }
    if config.cluster.enabled() {
        let secret = store
            .secret(cluster::KEY_NAME, &cluster::ClusterKey::generate_secret())
            .await?;
        let advertise = match config.cluster.advertise_url.is_empty() {
            false => config
                .cluster
                .advertise_url
                .trim_end_matches('/')
                .to_owned(),
            true => listeners
                .http
                .local_addr()
                .map(|a| format!("http://{a}"))
                .unwrap_or_default(),
        };
        let c = cluster::Cluster::connect(&config, advertise, cluster::ClusterKey::new(&secret))
            .await?;
        state.set_cluster(Arc::new(c));
    }
    let state = Arc::new(state);
    if let Some(c) = &state.cluster {
        c.join_cluster(&state).await?;
    }
    tokio::spawn(recording::records::run(state.clone(), reports_rx));
    if let Some(out) = media_out {
        tokio::spawn(media::router::route(state.clone(), out));
    }
    webhooks::sync_config_endpoints(&state).await?;
    let tls = tls::acceptor(&config.tls, state.turn.is_some())?;

    let addr = listeners.http.local_addr().ok();
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(addr) = addr {
        tracing::info!("Convene listening on {scheme}://{addr}");
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let heartbeat = tokio::spawn(heartbeat_loop(state.clone(), stop_rx.clone()));
    let cluster_beat = state
        .cluster
        .clone()
        .map(|c| tokio::spawn(cluster::heartbeat(state.clone(), c, stop_rx.clone())));
    let retention = tokio::spawn(records::retention_loop(state.clone(), stop_rx.clone()));
    let webhooks = tokio::spawn(webhooks::run(state.clone(), stop_rx.clone()));
    let disk_guard = tokio::spawn(recording::disk::guard(state.clone(), stop_rx.clone()));
    let trimmer = tokio::spawn(memory::trim_when_idle(state.clone(), stop_rx.clone()));
    let recording_sweep = tokio::spawn(recording::retention::sweep_loop(
        state.clone(),
        stop_rx.clone(),
    ));
    // The database's blobs (a cluster's): uploads cut off by a crash of any node.
    let blob_sweep = config.cluster.enabled().then(|| {
        tokio::spawn(files::db_blob::sweep_unfinished_loop(
            state.store.clone(),
            stop_rx.clone(),
        ))
    });
    let admission = connection_limits(&config);
    state.metrics.set_admission(admission.clone());
    let app = http::router(state.clone());
    let plane = media.clone();
    let ice_tcp = media.filter(|m| m.ice_tcp);
    let turn_tls = state.turn.clone().filter(|_| tls.is_some());
    let acceptor = tokio::spawn(net::listener::accept_loop(
        listeners.http,
        app,
        tls,
        ice_tcp,
        turn_tls,
        net::listener::ConnSettings::from_config(&config),
        admission,
        stop_rx,
    ));

    shutdown.await;
    tracing::info!("shutting down: draining rooms");
    state.start_draining();
    if let Some(c) = &state.cluster {
        // Tell the others now, not at the next heartbeat: no new rooms are placed here.
        if let Err(e) = c.register(&c.info(&state)).await {
            tracing::warn!(error = %e, "cluster: could not announce the drain");
        }
    }
    let deadline = Duration::from_secs(config.server.drain_deadline_secs);
    let drained = tokio::time::timeout(deadline, async {
        state.plane.drain_all().await;
        state.close_all_connections();
        // Let connections flush their close frames.
        while state.metrics.ws_connections.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let _ = stop_tx.send(true);
    let _ = acceptor.await;
    let _ = heartbeat.await;
    if let Some(beat) = cluster_beat {
        // It releases this node's rooms and leaves the cluster as it ends.
        let _ = beat.await;
    }
    let _ = retention.await;
    let _ = webhooks.await;
    let _ = disk_guard.await;
    let _ = trimmer.await;
    let _ = recording_sweep.await;
    if let Some(sweep) = blob_sweep {
        let _ = sweep.await;
    }
    if let Some(r) = recorder {
        // The rooms have stopped their recordings; this finishes what is left and joins the
        // writer thread (blocking, hence off the runtime's threads).
        let writer = r.clone();
        let _ = tokio::task::spawn_blocking(move || writer.shutdown()).await;
        // Their rows are written before we return.
        let _ = r.reports_done().await;
    }
    if !state.pending_writes.is_empty() {
        let left = state.pending_writes.retry(state.store.as_ref()).await;
        if left > 0 {
            tracing::error!(
                left,
                "some records could not be closed; the next start closes them"
            );
        }
    }
    if let Some(t) = &state.turn {
        t.stop();
    }
    if let Some(plane) = plane {
        // The worker threads end before we return, so before the process exits: see
        // media/threads.rs. Joining blocks, hence off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || plane.stop()).await;
    }
    match drained {
        Ok(()) => tracing::info!("drained; bye"),
        Err(_) => tracing::warn!(
            deadline_secs = config.server.drain_deadline_secs,
            left = state.metrics.ws_connections.load(Ordering::Relaxed),
            "the drain reached its deadline; closing what is left"
        ),
    }
    Ok(())
}

/// Raises the open-file limit and sizes the connection limits from what it became.
fn connection_limits(config: &Config) -> Arc<net::admission::Admission> {
    use net::descriptors;
    let open_files = match descriptors::raise_open_file_limit() {
        Ok(l) => {
            tracing::info!(
                soft_before = l.soft_before,
                soft = l.soft,
                hard = l.hard,
                "open-file limit (RLIMIT_NOFILE) raised to the hard limit"
            );
            Some(l.soft)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit; connection limits as configured");
            None
        }
    };
    let (caps, warning) = descriptors::size(&config.connections, open_files);
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    tracing::info!(
        max_total = caps.total,
        reserve = caps.reserve,
        max_per_address = caps.per_address.unwrap_or(0),
        "connection limits"
    );
    net::admission::Admission::new(caps, config.limits.exempt_loopback)
}

/// Starts the embedded TURN server, relaying to this node's media addresses only: its UDP
/// socket's and each public IP's with the media port.
async fn start_turn(
    config: &Config,
    store: &dyn Store,
    sockets: turn::Sockets,
    plane: &media::MediaPlane,
    https_port: Option<u16>,
) -> Result<turn::Embedded, RunError> {
    let secret = match config.turn.secret.is_empty() {
        true => {
            store
                .secret(turn::KEY_NAME, &rooms::resume::ResumeKey::generate_secret())
                .await?
        }
        false => config.turn.secret.clone(),
    };
    let port = plane.udp_addr.port();
    let media = std::iter::once(plane.udp_addr)
        .chain(
            config
                .media
                .public_ips
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .map(|ip| std::net::SocketAddr::new(ip, port)),
        )
        .collect();
    turn::Embedded::start(config, sockets, secret, media, https_port).map_err(RunError::Turn)
}

/// Recovers what an earlier process left cut, then starts the writer on `recording.dir`.
async fn start_recorder(
    config: &Config,
    store: &dyn Store,
    reports: tokio::sync::mpsc::UnboundedSender<recording::Report>,
) -> Result<recording::Recorder, RunError> {
    let root = std::path::PathBuf::from(&config.recording.dir);
    let failed = |source| RunError::Recording {
        path: config.recording.dir.clone(),
        source,
    };
    // The directory is made by the first recording: a server that records nothing makes none.
    if root.exists() {
        recording::retention::recover(store, &root).await;
    }
    recording::Recorder::start(&root, reports).map_err(failed)
}

/// Marks open records as alive, so that after a crash they close at the last moment they were seen.
async fn heartbeat_loop(state: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Duration::from_secs(state.config.database.heartbeat_secs.max(1));
    let node = state.config.server.node_id.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // Closes first: a heartbeat must not mark alive a session that in truth has ended.
        if !state.pending_writes.is_empty() {
            let left = state.pending_writes.retry(state.store.as_ref()).await;
            if left > 0 {
                tracing::warn!(left, "record closes still failing; will retry");
            }
        }
        if let Err(e) = state.store.heartbeat(&node, clock::now_ms()).await {
            tracing::warn!(error = %e, "heartbeat to the database failed");
        }
    }
}
