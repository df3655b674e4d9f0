//! A TCP proxy on loopback in front of a database, that a test can cut and restore: what a
//! database server that stops and starts again looks like to its clients, without stopping the
//! shared server other tests use.
//!
//! Cut: every open connection through it is closed (both sides), and the listening socket is
//! closed too, so a new connection is refused (ECONNREFUSED), as with a stopped server.
//! Restore: the same port listens again.

use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct DbProxy {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    /// Bumped at each cut: relays of an earlier generation end.
    generation: watch::Sender<u64>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl DbProxy {
    pub async fn start(upstream: SocketAddr) -> DbProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (generation, _) = watch::channel(0);
        let proxy = DbProxy {
            addr,
            upstream,
            generation,
            acceptor: Mutex::new(None),
        };
        proxy.accept_on(listener);
        proxy
    }

    fn accept_on(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let generation = self.generation.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(relay(client, upstream, generation.subscribe()));
            }
        });
        *self.acceptor.lock().expect("proxy lock") = Some(task);
    }

    /// Closes every connection through the proxy and stops listening: new ones are refused.
    pub fn cut(&self) {
        if let Some(t) = self.acceptor.lock().expect("proxy lock").take() {
            // Aborting the task drops the listener, which closes the socket.
            t.abort();
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        // The aborted acceptor drops its listener at its next poll; retry the bind briefly.
        for _ in 0..100 {
            if let Ok(l) = TcpListener::bind(self.addr).await {
                self.accept_on(l);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the proxy could not listen on {} again", self.addr);
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

/// Copies both ways until either side closes or the proxy is cut.
async fn relay(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<u64>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.changed() => {}
    }
    // Dropping both streams closes them: the database client sees its connection end.
}
