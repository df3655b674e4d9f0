//! Which node this is. A configured `server.node_id` is used as given. Left at the default
//! ("node-1"), a single node stays "node-1" — what every install has had, so that an upgraded
//! single node still closes the records it left open under that name — while a node of a cluster
//! makes up an id at first start and keeps it in `cluster.node_id_file`, so that restarts keep it
//! and a node that restarts closes only its own records.

use std::path::Path;

use super::ClusterError;
use crate::config::{Config, DEFAULT_NODE_ID};

pub fn resolve_node_id(config: &Config) -> Result<String, ClusterError> {
    if !config.cluster.enabled() || config.server.node_id != DEFAULT_NODE_ID {
        return Ok(config.server.node_id.clone());
    }
    kept_or_made(Path::new(&config.cluster.node_id_file))
}

fn kept_or_made(path: &Path) -> Result<String, ClusterError> {
    let failed = |source| ClusterError::NodeIdFile {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(failed(e)),
    }
    let id = format!("node-{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(path, format!("{id}\n")).map_err(failed)?;
    tracing::info!(node_id = %id, file = %path.display(), "made up this node's id");
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(redis: &str, node_id: &str, file: &Path) -> Config {
        let mut c = Config::default();
        c.cluster.redis_url = redis.into();
        c.server.node_id = node_id.into();
        c.cluster.node_id_file = file.display().to_string();
        c
    }

    #[test]
    fn a_single_node_keeps_node_1_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node_id");
        let id = resolve_node_id(&config("", DEFAULT_NODE_ID, &file)).unwrap();
        assert_eq!(id, "node-1");
        assert!(!file.exists());
    }

    #[test]
    fn a_cluster_node_makes_an_id_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/node_id");
        let c = config("redis://127.0.0.1:6379", DEFAULT_NODE_ID, &file);
        let first = resolve_node_id(&c).unwrap();
        assert!(
            first.starts_with("node-") && first != DEFAULT_NODE_ID,
            "{first}"
        );
        assert_eq!(resolve_node_id(&c).unwrap(), first, "kept across restarts");
        let other_dir = tempfile::tempdir().unwrap();
        let other = config(
            "redis://127.0.0.1:6379",
            DEFAULT_NODE_ID,
            &other_dir.path().join("node_id"),
        );
        assert_ne!(
            resolve_node_id(&other).unwrap(),
            first,
            "another node, another id"
        );
        // A configured id wins and the file is not consulted.
        let named = config("redis://127.0.0.1:6379", "edge-3", &file);
        assert_eq!(resolve_node_id(&named).unwrap(), "edge-3");
    }
}
