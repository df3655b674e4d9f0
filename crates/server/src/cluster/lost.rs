//! A node that stops renewing its lease (killed, cut off) is lost: the first survivor to notice
//! takes the job atomically (a job key only one can set), closes the records the lost node left
//! open, at its last heartbeat, with reason `node_lost`, and only then removes the node from the
//! set of nodes. Until then its rooms are not placed anew (directory.rs), so that the node that
//! makes one again finds its meeting closed and reopens it with everyone awaited (rooms/restore.rs):
//! its people resume as themselves. A node that restarts under its id closes its own records at
//! start-up as a single node does (reason `server_restart`).

use super::Cluster;
use crate::state::AppState;

/// Takes the job of closing node ARGV[1]'s records (job key KEYS[3], held for ARGV[3] ms by
/// ARGV[2]) if its lease KEYS[2] is gone and it is still in the set KEYS[1]; 1 for the one caller
/// that did.
const TAKE_JOB: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[3]) then return 1 end
return 0
"#;

/// Looks for lost nodes and closes their records.
pub(super) async fn sweep(state: &AppState, cluster: &Cluster) {
    // Just after an outage the other nodes' leases are gone because Redis was, not they: wait
    // until they have had a lease to come back (health.rs).
    if !cluster.settled() {
        return;
    }
    let mut c = cluster.conn();
    let seen: Vec<(String, f64)> = match redis::cmd("ZRANGE")
        .arg(cluster.keys.nodes())
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut c)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            cluster.redis_failed();
            tracing::warn!(error = %e, "cluster: could not list the nodes");
            return;
        }
    };
    for (node, last_ms) in seen {
        if node == cluster.node {
            continue;
        }
        let taken: i64 = match redis::Script::new(TAKE_JOB)
            .key(cluster.keys.nodes())
            .key(cluster.keys.node(&node))
            .key(cluster.keys.lost_job(&node))
            .arg(&node)
            .arg(&cluster.node)
            .arg(cluster.lease_ms() * 10)
            .invoke_async(&mut c)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                cluster.redis_failed();
                tracing::warn!(error = %e, "cluster: could not check a node's lease");
                return;
            }
        };
        if taken == 1 {
            close_records(state, cluster, &node, last_ms as i64).await;
        }
    }
}

async fn close_records(state: &AppState, cluster: &Cluster, node: &str, last_ms: i64) {
    // Rows the lost node last marked alive up to the moment its lease ran out are its own; a node
    // that restarts under the id registers only after that, so its new rows stay open.
    let until = last_ms + cluster.lease.as_millis() as i64;
    let mut c = cluster.conn();
    match state.store.recover_lost(node, until).await {
        Ok(r) => {
            tracing::warn!(
                node,
                last_heartbeat_ms = last_ms,
                sessions = r.sessions_closed,
                meetings = r.meetings_closed,
                "cluster: a node was lost; closed its open records (reason node_lost)"
            );
            // Its compositions ran on its disk and died with it (a node restarting under its id
            // does the same for its own at start-up).
            match state
                .store
                .fail_unfinished_compositions(
                    node,
                    "the node making the composition was lost; ask again",
                    crate::clock::now_ms(),
                )
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::warn!(
                    node,
                    compositions = n,
                    "cluster: failed a lost node's compositions"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, node, "cluster: could not fail a lost node's compositions")
                }
            }
            // Done: its rooms may be placed anew now.
            let done = redis::pipe()
                .cmd("ZREM")
                .arg(cluster.keys.nodes())
                .arg(node)
                .ignore()
                .cmd("DEL")
                .arg(cluster.keys.lost_job(node))
                .ignore()
                .query_async::<()>(&mut c)
                .await;
            if let Err(e) = done {
                tracing::warn!(error = %e, node, "cluster: could not mark a lost node done");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, node, "cluster: could not close a lost node's records; retrying");
            // Give the job back for the next sweep (by anyone).
            let _ = redis::cmd("DEL")
                .arg(cluster.keys.lost_job(node))
                .query_async::<i64>(&mut c)
                .await;
        }
    }
}
