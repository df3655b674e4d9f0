//! convene-idle-cost: the server's memory per idle WebSocket connection. Starts the server,
//! opens idle connections in steps (500, 1000, 2000 ... in total), and after each step reads the
//! server's resident memory: (RSS − RSS before the first connection) / connections. `bare`
//! connections only upgrade; `joined` ones join a room (PER_ROOM to a room) and then stay quiet.
//! Every client keeps reading, so the server's pings are answered, as a browser's would be.
//! Media sessions are measured by convene-loadtest (`--publishers 0 --subscribers N`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use convene_client::{join_msg, Signaling};
use convene_loadtest::procstat;
use convene_loadtest::spawn::spawn_server;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Upgraded to a WebSocket, nothing sent.
    Bare,
    /// Joined to a room, then quiet.
    Joined,
}

#[derive(Debug, Parser)]
#[command(name = "convene-idle-cost")]
struct Args {
    /// The `convene` binary to start (on free loopback ports, with a temporary database).
    #[arg(long, value_name = "PATH")]
    spawn_server: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Bare)]
    mode: Mode,
    /// Connections open after each step, ascending.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,4000")]
    counts: Vec<usize>,
    /// Participants per room in `joined` mode.
    #[arg(long, default_value_t = 10)]
    per_room: usize,
    /// Seconds to wait after a step before reading the server's memory.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Extra argument for the server (repeatable), e.g. `--server-arg=--set=media.workers=1`.
    #[arg(long = "server-arg", value_name = "ARG", allow_hyphen_values = true)]
    server_args: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.counts.is_empty() || args.counts.windows(2).any(|w| w[0] >= w[1]) {
        bail!("--counts must be ascending, e.g. 500,1000,2000");
    }
    raise_open_files(args.counts.last().copied().unwrap_or(0))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

/// Each connection is a descriptor here too.
fn raise_open_files(connections: usize) -> anyhow::Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write one valid rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            bail!("getrlimit: {}", std::io::Error::last_os_error());
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            bail!("setrlimit: {}", std::io::Error::last_os_error());
        }
    }
    let needed = connections as u64 + 100;
    if lim.rlim_cur < needed {
        bail!(
            "{connections} connections need ~{needed} descriptors in this tool and the server; \
             the hard limit is {} (ulimit -Hn)",
            lim.rlim_cur
        );
    }
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    // The warm-up's rooms close a second after it, before the baseline (the default keeps an
    // empty room 30 s); the caller's arguments come after and win.
    let mut server_args = vec!["--set=rooms.empty_grace_secs=1".to_owned()];
    server_args.extend(args.server_args.iter().cloned());
    let (server, url, pid) = spawn_server(&args.spawn_server, &server_args).await?;
    let result = measure(&args, &url, pid).await;
    server.stop().await;
    result
}

async fn measure(args: &Args, url: &str, pid: u32) -> anyhow::Result<()> {
    let rss = || procstat::sample(Some(pid)).map(|s| s.rss_kib);
    // First connections allocate once for all (runtime threads, pools, a room's first state):
    // open and close some before the baseline, so that it counts the process, not the first.
    // Joined ones leave on purpose: a dropped participant would be kept for its resume window.
    for mut c in open(args, url, 0, 50).await? {
        if args.mode == Mode::Joined {
            c.send(&convene_proto::ClientMessage::Leave).await?;
        }
        c.close().await;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.settle.max(3.0))).await;
    let baseline = rss()?;
    println!("mode {:?}; server RSS before: {baseline} KiB", args.mode);
    println!("connections  rss_kib  delta_kib  kib_per_conn  kib_per_conn_this_step");
    let mut held = Vec::new();
    let mut last = (0usize, baseline);
    for &n in &args.counts {
        // Numbered after the warm-up's 50, so that no room is shared with a left participant.
        let more = open(args, url, 50 + held.len(), n - held.len()).await?;
        held.extend(more.into_iter().map(keep_reading));
        tokio::time::sleep(Duration::from_secs_f64(args.settle)).await;
        let now = rss()?;
        let delta = now as f64 - baseline as f64;
        let step = (now as f64 - last.1 as f64) / (n - last.0) as f64;
        println!(
            "{n:>11}  {now:>7}  {delta:>9.0}  {:>12.1}  {step:>22.1}",
            delta / n as f64
        );
        last = (n, now);
    }
    for h in held {
        h.abort();
    }
    Ok(())
}

/// Opens `count` connections, numbered from `first` (which names their rooms).
async fn open(
    args: &Args,
    url: &str,
    first: usize,
    count: usize,
) -> anyhow::Result<Vec<Signaling>> {
    let mut out = Vec::with_capacity(count);
    for i in first..first + count {
        let mut c = Signaling::connect(url)
            .await
            .with_context(|| format!("connection {i}"))?;
        if args.mode == Mode::Joined {
            let room = format!("idle-{}", i / args.per_room.max(1));
            c.join(join_msg(&room, &format!("p{i}")))
                .await
                .with_context(|| format!("join {i}"))?;
        }
        out.push(c);
    }
    Ok(out)
}

/// Reads and drops what the server sends (pings are answered on the way), until aborted.
fn keep_reading(mut c: Signaling) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while c.recv_untimed().await.is_ok() {} })
}
