//! Starts a Convene server binary on free loopback ports with a database of its own, for a run
//! that measures it (the load run, the idle-connection cost).

use std::io;
use std::net::{TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::metrics;

pub struct Spawned {
    pub child: Child,
    /// Its database's directory, removed by [`Spawned::stop`].
    pub dir: PathBuf,
}

impl Spawned {
    /// Files under its recordings' folder (`--record`) and their total size.
    pub fn recorded(&self) -> (u64, u64) {
        folder_size(&self.dir.join("recordings"))
    }

    /// Kills the server and removes its directory.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free port on loopback (released at once; the server binds it right after).
fn free_ports() -> io::Result<(u16, u16)> {
    let t = TcpListener::bind("127.0.0.1:0")?;
    let u = UdpSocket::bind("127.0.0.1:0")?;
    Ok((t.local_addr()?.port(), u.local_addr()?.port()))
}

/// Starts `bin serve` with `extra` arguments; returns it, its signaling URL and its pid once it
/// answers /readyz.
pub async fn spawn_server(bin: &Path, extra: &[String]) -> io::Result<(Spawned, String, u32)> {
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
        .stdout(Stdio::from(io::stderr().as_fd().try_clone_to_owned()?))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("starting {}: {e}", bin.display())))?;
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("the server exited at once"))?;
    let spawned = Spawned { child, dir };
    let ready = format!("http://127.0.0.1:{http}/readyz");
    for _ in 0..200 {
        if metrics::http_get(&ready).await.is_some() {
            return Ok((spawned, format!("ws://127.0.0.1:{http}/ws"), pid));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    spawned.stop().await;
    Err(io::Error::other(format!(
        "the spawned server did not become ready on 127.0.0.1:{http}"
    )))
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
