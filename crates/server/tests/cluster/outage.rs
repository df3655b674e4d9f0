//! Redis stops answering for 10 s during a meeting (the run's own redis-server, SIGSTOPped): the
//! meeting goes on on its node, /readyz says why the nodes are not ready, work that needs the
//! directory is refused as retryable, and when Redis is back everything recovers by itself.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use convene_client::{join_msg, ClientError, JoinRequest, Meeting, MeetingOptions, Signaling};
use convene_proto::{ErrorCode, MediaKind, ParticipantId};

use super::{chat_is_gapless_across_nodes, light, plain_status, room, video_from, Env};

/// How long Redis is stopped.
const OUTAGE: Duration = Duration::from_secs(10);

fn signal(sig: &str, pid: u32) {
    let sent = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {sig} {pid}");
}

/// Frames of `from`'s video that `m` has decoded so far.
async fn frames_from(m: &Meeting, from: &ParticipantId) -> u64 {
    let st = m.stats().await.expect("stats");
    st.tracks_from(from)
        .filter(|t| t.kind == MediaKind::Video)
        .map(|t| t.frames)
        .max()
        .unwrap_or(0)
}

/// Waits (15 s at most) until `m` has decoded `more` frames of `from`'s video than now.
async fn more_video(m: &Meeting, from: &ParticipantId, more: u64) {
    let start = frames_from(m, from).await;
    for _ in 0..150 {
        if frames_from(m, from).await >= start + more {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{from}'s video stopped reaching {}",
        m.joined().participant_id
    );
}

/// Waits (10 s at most) until every node's /readyz answers `status` with a body containing `says`.
async fn all_ready(env: &Env, status: u16, says: &str) {
    for n in &env.nodes {
        let mut last = (0, String::new());
        for _ in 0..100 {
            last = plain_status(*n, "/readyz").await;
            if last.0 == status && last.1.contains(says) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            last.0 == status && last.1.contains(says),
            "/readyz of {n}: {last:?}, expected {status} saying {says:?}"
        );
    }
}

/// A join on `node` for `name`, refused or not.
async fn try_join(node: SocketAddr, name: &str, who: &str) -> Result<Signaling, ClientError> {
    let mut s = Signaling::connect(&format!("ws://{node}/ws")).await?;
    s.join(join_msg(name, who)).await?;
    Ok(s)
}

pub async fn a_redis_outage_leaves_meetings_running(env: &Env, ids: &[String]) {
    let name = room("outage");
    let options = || MeetingOptions {
        publish: light(),
        // A dropped connection must fail the test, not be papered over by a reconnect.
        reconnect: None,
        ..MeetingOptions::default()
    };
    let join_on = |i: usize, who: &'static str| {
        let url = format!("ws://{}/ws", env.nodes[i]);
        let name = name.clone();
        async move {
            Meeting::join(&url, JoinRequest::new(name.as_str(), who), options())
                .await
                .unwrap_or_else(|e| panic!("{who} joins: {e}"))
        }
    };
    let mut meetings = vec![join_on(0, "Ida").await, join_on(1, "Jo").await];
    let (ia, ib) = (
        meetings[0].joined().participant_id.clone(),
        meetings[1].joined().participant_id.clone(),
    );
    video_from(&meetings[1], &ia, 10).await;
    video_from(&meetings[0], &ib, 10).await;
    let node: String = sqlx::query_scalar("SELECT node_id FROM meetings WHERE room = $1")
        .bind(&name)
        .fetch_one(&env.db)
        .await
        .expect("the meeting's node");
    let owner = ids.iter().position(|id| *id == node).expect("one of ours");
    let other = (owner + 1) % 3;

    signal("-STOP", env.redis_pid);
    let stopped = Instant::now();
    all_ready(env, 503, "Redis").await;
    // Media and chat go on, between clients of the owner and of a relaying node alike.
    more_video(&meetings[1], &ia, 30).await;
    more_video(&meetings[0], &ib, 30).await;
    chat_is_gapless_across_nodes(&mut meetings).await;
    // A join that needs the directory is refused, saying why; one on the room's node is served.
    match try_join(env.nodes[other], &name, "Kit").await {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, ErrorCode::ServerBusy);
            assert!(message.contains("Redis"), "{message}");
        }
        Err(e) => panic!("refused with a clear error, not: {e}"),
        Ok(_) => panic!("a join through a node that needs the directory was served"),
    }
    let local = try_join(env.nodes[owner], &name, "Lou")
        .await
        .expect("a join on the room's own node is served without Redis");
    local.close().await;
    tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
    signal("-CONT", env.redis_pid);

    all_ready(env, 200, "ready").await;
    // A new participant through another node gets in once the room's node has claimed its entry
    // again (a few seconds: `server_busy` until then, which clients retry).
    let url = format!("ws://{}/ws", env.nodes[other]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let late = loop {
        let opts = MeetingOptions {
            publish: light(),
            reconnect: None,
            ..MeetingOptions::default()
        };
        match Meeting::join(&url, JoinRequest::new(name.as_str(), "Max"), opts).await {
            Ok(m) => break m,
            Err(e) if Instant::now() < deadline => {
                println!("join after the outage: {e}; again");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("no join within 20 s of Redis' return: {e}"),
        }
    };
    let listed: Vec<&ParticipantId> = late.joined().participants.iter().map(|p| &p.id).collect();
    assert!(listed.contains(&&ia) && listed.contains(&&ib), "{listed:?}");
    video_from(&late, &ia, 10).await;
    meetings.push(late);
    chat_is_gapless_across_nodes(&mut meetings).await;
    // One meeting, still on its node; nobody's record closed as if a node had been lost.
    let (count, now_on, ended): (i64, String, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM meetings WHERE room = $1), node_id, ended_at \
         FROM meetings WHERE room = $1",
    )
    .bind(&name)
    .fetch_one(&env.db)
    .await
    .expect("the meeting");
    assert_eq!((count, now_on.as_str(), ended), (1, node.as_str(), None));
    let lost: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM participant_sessions WHERE leave_reason = 'node_lost'",
    )
    .fetch_one(&env.db)
    .await
    .expect("count");
    assert_eq!(lost, 0, "no node was taken for lost");
    for m in meetings {
        m.leave().await.expect("leave");
    }
}
