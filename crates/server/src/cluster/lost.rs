//! A node that stops renewing its lease (killed, cut off) is lost: the first survivor to notice
//! takes the job atomically (only one removes it from the set of nodes) and closes the records the
//! lost node left open, at its last heartbeat, with reason `node_lost`. A node that restarts under
//! its id closes its own records at start-up as a single node does (reason `server_restart`).

use super::Cluster;
use crate::state::AppState;

/// Removes ARGV[1] from the set KEYS[1] if its lease KEYS[2] is gone; 1 for the one caller that did.
const TAKE_JOB: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
return redis.call('ZREM', KEYS[1], ARGV[1])
"#;

/// Looks for lost nodes and closes their records.
pub(super) async fn sweep(state: &AppState, cluster: &Cluster) {
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
            .arg(&node)
            .invoke_async(&mut c)
            .await
        {
            Ok(n) => n,
            Err(e) => {
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
    match state.store.recover_lost(node, until).await {
        Ok(r) => tracing::warn!(
            node,
            last_heartbeat_ms = last_ms,
            sessions = r.sessions_closed,
            meetings = r.meetings_closed,
            "cluster: a node was lost; closed its open records (reason node_lost)"
        ),
        Err(e) => {
            tracing::warn!(error = %e, node, "cluster: could not close a lost node's records; retrying");
            // Put the job back for the next sweep (by anyone).
            let mut c = cluster.conn();
            let _ = redis::cmd("ZADD")
                .arg(cluster.keys.nodes())
                .arg("NX")
                .arg(last_ms)
                .arg(node)
                .query_async::<i64>(&mut c)
                .await;
        }
    }
}
