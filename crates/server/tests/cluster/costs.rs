//! What the cluster costs Redis, measured from `INFO commandstats` of the run's own redis-server
//! (docs/scaling.md): commands per join (placing a new room, through a relay, on the room's node),
//! per chat message, and per second of a running room. The nodes' own heartbeats run meanwhile;
//! their rate is measured first and taken off each window. Printed, for the document; the checks
//! are only what the design promises (a chat message needs no Redis, a join a few commands).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use convene_client::{join_msg, Signaling};
use convene_proto::ClientMessage;

use super::{room, Env};

type Conn = redis::aio::MultiplexedConnection;

/// Commands by name since the last reset (`calls` counts the commands scripts run as well as the
/// scripts), without this measurement's own.
async fn commands(c: &mut Conn) -> BTreeMap<String, f64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(c)
        .await
        .expect("INFO");
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.split(',').find_map(|f| f.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .filter(|(name, _)| !["info", "config|resetstat"].contains(&name.as_str()))
        .collect()
}

/// One window: resets the counts, runs `work`, returns the commands it took beyond the nodes'
/// background rate (`idle`: commands per second), and their breakdown.
async fn window<F: std::future::Future<Output = ()>>(
    c: &mut Conn,
    idle: f64,
    work: F,
) -> (f64, BTreeMap<String, f64>) {
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(c)
        .await
        .expect("CONFIG RESETSTAT");
    let started = Instant::now();
    work.await;
    let took = started.elapsed().as_secs_f64();
    let m = commands(c).await;
    let all: f64 = m.values().sum();
    (all - idle * took, m)
}

/// A participant joined on `node` (signaling only).
async fn joined(env: &Env, node: usize, name: &str) -> Signaling {
    let mut s = Signaling::connect(&format!("ws://{}/ws", env.nodes[node]))
        .await
        .expect("connect");
    s.join(join_msg(name, "Counted")).await.expect("join");
    s
}

pub async fn redis_costs(env: &Env, ids: &[String]) {
    const JOINS: usize = 100;
    const ROOMS: usize = 30;
    const CHATS: usize = 300;
    const IDLE: Duration = Duration::from_secs(10);
    let client = redis::Client::open(super::var("CONVENE_TEST_CLUSTER_REDIS_URL")).expect("url");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("the run's Redis");
    let secs = IDLE.as_secs_f64();
    let (base, m) = window(&mut c, 0.0, tokio::time::sleep(IDLE)).await;
    let idle = base / secs;
    println!("redis: 3 nodes, the rooms of earlier cases: {idle:.1} commands/s {m:?}");

    // Later joins of one room through a relay and on its node (the background is lowest now).
    let name = room("costjoin");
    let host = joined(env, 0, &name).await;
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let owner = ids.iter().position(|id| *id == node).expect("one of ours");
    for (label, at) in [
        ("through a relay", (owner + 1) % 3),
        ("on the room's node", owner),
    ] {
        let (n, m) = window(&mut c, idle, async {
            for _ in 0..JOINS {
                let mut s = joined(env, at, &name).await;
                // Left, not lost: a lost one keeps its seat for the resume window.
                s.send(&ClientMessage::Leave).await.expect("leave");
                s.close().await;
            }
        })
        .await;
        println!("redis: per join {label} {:.2} {m:?}", n / JOINS as f64);
        assert!(n / JOINS as f64 >= 0.5, "a join looks the room up");
    }
    // Chat through a relay: the relay is a socket between the nodes, not Redis.
    let mut talker = joined(env, (owner + 1) % 3, &name).await;
    let (n, m) = window(&mut c, idle, async {
        for i in 0..CHATS {
            let msg = ClientMessage::ChatSend {
                text: format!("c{i}"),
                client_msg_id: None,
            };
            talker.send(&msg).await.expect("chat");
        }
        // Until the last one is through.
        tokio::time::sleep(Duration::from_millis(500)).await;
    })
    .await;
    println!("redis: per chat message {:.3} {m:?}", n / CHATS as f64);
    assert!(
        n / (CHATS as f64) < 0.5,
        "chat needs no Redis: {n:.0} commands beyond the beats for {CHATS}"
    );
    talker.close().await;
    host.close().await;

    // First joins: each places a new room.
    let mut held = Vec::new();
    let (first, m) = window(&mut c, idle, async {
        for i in 0..ROOMS {
            held.push(joined(env, i % 3, &room("cost")).await);
        }
    })
    .await;
    println!(
        "redis: per first join (placing the room) {:.2} {m:?}",
        first / ROOMS as f64
    );
    // Running rooms: the same beats, with ROOMS more rooms to renew.
    let (more, m) = window(&mut c, 0.0, tokio::time::sleep(IDLE)).await;
    let per_room_sec = (more / secs - idle) / ROOMS as f64;
    println!(
        "redis: per running room per second {per_room_sec:.3} ({:.1}/s with {ROOMS} more rooms) {m:?}",
        more / secs
    );
    for s in held {
        s.close().await;
    }
}
