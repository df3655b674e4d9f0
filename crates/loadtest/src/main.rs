use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use convene_loadtest::{metrics, procstat, run, table, Options, Target};
use tokio::process::{Child, Command};

fn main() -> anyhow::Result<()> {
    let opts = Options::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(main_async(opts))
}

/// A free port on loopback (released at once; the server binds it right after).
fn free_ports() -> anyhow::Result<(u16, u16)> {
    let t = TcpListener::bind("127.0.0.1:0")?;
    let u = UdpSocket::bind("127.0.0.1:0")?;
    Ok((t.local_addr()?.port(), u.local_addr()?.port()))
}

struct Spawned {
    child: Child,
    dir: PathBuf,
}

async fn spawn_server(bin: &Path, extra: &[String]) -> anyhow::Result<(Spawned, String, u32)> {
    let (http, udp) = free_ports()?;
    let dir = std::env::temp_dir().join(format!("convene-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let child = Command::new(bin)
        .arg("serve")
        .arg(format!("--listen=127.0.0.1:{http}"))
        .arg(format!(
            "--database-url=sqlite://{}",
            dir.join("convene.db").display()
        ))
        .arg(format!("--set=media.udp_port={udp}"))
        .arg(format!(
            "--set=recording.dir={}",
            dir.join("recordings").display()
        ))
        .arg("--max-participants=100000")
        .arg("--set=log.level=warn")
        .args(extra)
        .stdin(Stdio::null())
        // Our stdout may carry the JSON report: the server's logs go to stderr.
        .stdout(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let pid = child.id().context("the server exited at once")?;
    let spawned = Spawned { child, dir };
    let ready = format!("http://127.0.0.1:{http}/readyz");
    for _ in 0..200 {
        if metrics::http_get(&ready).await.is_some() {
            return Ok((spawned, format!("ws://127.0.0.1:{http}/ws"), pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the spawned server did not become ready on 127.0.0.1:{http}")
}

async fn main_async(mut opts: Options) -> anyhow::Result<()> {
    let mut spawned = None;
    if let Some(bin) = opts.spawn_server.clone() {
        if opts.target != Target::Convene {
            bail!("--spawn-server starts Convene only; start Janus with bench/janus.sh");
        }
        let (s, url, pid) = spawn_server(&bin, &opts.server_args).await?;
        opts.url = url;
        opts.server_pid = Some(pid);
        spawned = Some(s);
    }
    if let Some(n) = opts.nice {
        procstat::set_nice(n).with_context(|| format!("setting the tool's nice value to {n}"))?;
    }
    let json = opts.json;
    let record = opts.record;
    let result = run(opts).await;
    if let Some(mut s) = spawned {
        let _ = s.child.start_kill();
        let _ = s.child.wait().await;
        if record {
            let (files, bytes) = folder_size(&s.dir.join("recordings"));
            eprintln!("recorded: {files} files, {:.1} MB", bytes as f64 / 1e6);
        }
        let _ = std::fs::remove_dir_all(&s.dir);
    }
    let r = result?;
    eprint!("{}", table::table(&r));
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    Ok(())
}

/// Files under `dir` (recursively) and their total size.
fn folder_size(dir: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    entries
        .flatten()
        .fold((0, 0), |(n, b), e| match e.metadata() {
            Ok(m) if m.is_dir() => {
                let (n2, b2) = folder_size(&e.path());
                (n + n2, b + b2)
            }
            Ok(m) => (n + 1, b + m.len()),
            Err(_) => (n, b),
        })
}
