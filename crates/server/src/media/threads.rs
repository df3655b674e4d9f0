//! The media workers' threads: told to stop and joined when the server stops, and when the last
//! handle to the media plane is dropped (a server task aborted rather than drained).
//!
//! Why it matters: a thread still running while the process exits races the crypto library's exit
//! handlers. AWS-LC (str0m's DTLS) zeroizes its random generators at exit; a worker that seeds its
//! generator in that moment, e.g. while it makes a newcomer's DTLS key, aborts the process, and a
//! clean shutdown ends in SIGABRT.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::{lock, MediaCmd};

pub(super) struct WorkerThreads {
    /// Each worker's command queue, by index.
    queues: Arc<Vec<mpsc::UnboundedSender<MediaCmd>>>,
    /// Taken by the first stop.
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl WorkerThreads {
    pub fn new(queues: Arc<Vec<mpsc::UnboundedSender<MediaCmd>>>) -> Self {
        WorkerThreads {
            queues,
            handles: Mutex::new(Vec::new()),
        }
    }

    pub fn add(&self, handle: JoinHandle<()>) {
        lock(&self.handles).push(handle);
    }

    /// Tells every worker to stop and waits until its thread has ended; the number joined (0 once
    /// stopped). Blocks for as long as a worker takes to finish the command in hand.
    pub fn stop(&self) -> usize {
        let handles = std::mem::take(&mut *lock(&self.handles));
        for queue in self.queues.iter() {
            // An error: that worker has ended already (its thread is joined below all the same).
            let _ = queue.send(MediaCmd::Stop);
        }
        let me = std::thread::current().id();
        let mut joined = 0;
        for handle in handles {
            // A worker never holds the plane, so it never drops the last handle; if it did, it
            // must not wait for itself.
            if handle.thread().id() == me {
                continue;
            }
            if handle.join().is_err() {
                tracing::error!("a media worker had panicked");
            }
            joined += 1;
        }
        joined
    }
}

impl Drop for WorkerThreads {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MediaCmd, MediaPlane};
    use crate::config::MediaConfig;
    use convene_proto::{ParticipantId, RoomId};

    fn plane() -> MediaPlane {
        let config = MediaConfig {
            workers: 2,
            ..MediaConfig::default()
        };
        let udp = super::super::reuseport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
        let (plane, _out) = MediaPlane::start(&config, udp, 0, metrics, None).unwrap();
        // A newcomer on each worker: making its DTLS key is the work that raced the exit.
        for i in 0..4 {
            let room = RoomId::new(format!("room-{i}"));
            let participant = ParticipantId::new(format!("p-{i}"));
            plane.send(
                &room,
                MediaCmd::AddParticipant {
                    room: room.clone(),
                    participant,
                },
            );
        }
        plane
    }

    /// A worker's queue closes when its thread has ended (the worker owns the receiver).
    fn ended(queues: &[tokio::sync::mpsc::UnboundedSender<MediaCmd>]) -> Vec<bool> {
        queues.iter().map(|q| q.is_closed()).collect()
    }

    #[test]
    fn stop_returns_once_every_worker_has_ended() {
        let plane = plane();
        let queues = plane.workers.clone();
        assert_eq!(ended(&queues), [false, false]);
        assert_eq!(plane.stop(), 2);
        assert_eq!(ended(&queues), [true, true]);
        // Again: nothing left to join; a late command is dropped, not a panic.
        assert_eq!(plane.stop(), 0);
        let room = RoomId::new("late");
        let participant = ParticipantId::new("late");
        plane.send(
            &room,
            MediaCmd::AddParticipant {
                room: room.clone(),
                participant,
            },
        );
    }

    #[test]
    fn dropping_the_last_handle_stops_the_workers() {
        let plane = plane();
        let queues = plane.workers.clone();
        let other = plane.clone();
        drop(plane);
        assert_eq!(ended(&queues), [false, false], "a handle is left");
        drop(other);
        assert_eq!(ended(&queues), [true, true]);
    }
}
