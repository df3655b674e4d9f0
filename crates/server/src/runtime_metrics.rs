//! Gauges read when `/metrics` is scraped: the tokio runtime's live tasks and the database pool's
//! connections. A leak of either shows as a number that grows with churn and does not come back
//! (scripts/soak.sh compares them with their baseline).

use std::fmt::Write;

use convene_store::Store;

pub fn render(out: &mut String, store: &dyn Store) {
    // The runtime serving this request: the one that runs rooms, sessions and the HTTP server.
    // Media workers run their own threads (media/threads.rs) and are not tasks here.
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let _ = writeln!(
        out,
        "# HELP convene_runtime_alive_tasks Tasks alive on the server's tokio runtime.\n# TYPE convene_runtime_alive_tasks gauge\nconvene_runtime_alive_tasks {tasks}"
    );
    let c = store.connections();
    let name = "convene_database_connections";
    let _ = writeln!(
        out,
        "# HELP {name} Connections the database pool holds, by state.\n# TYPE {name} gauge\n{name}{{state=\"idle\"}} {}\n{name}{{state=\"in_use\"}} {}",
        c.idle,
        c.open.saturating_sub(c.idle)
    );
    if let Some(bytes) = store.memory_bytes() {
        let name = "convene_database_memory_bytes";
        let _ = writeln!(
            out,
            "# HELP {name} Heap the database library holds in this process (SQLite's caches).\n# TYPE {name} gauge\n{name} {bytes}"
        );
    }
    if let Some(heap) = crate::memory::heap_usage() {
        let name = "convene_heap_bytes";
        let _ = writeln!(
            out,
            "# HELP {name} The allocators' heap (jemalloc's for Rust, glibc's for the C libraries), by state: in use, or resident but in no allocation.\n# TYPE {name} gauge\n{name}{{state=\"in_use\"}} {}\n{name}{{state=\"free\"}} {}",
            heap.in_use, heap.free
        );
    }
}
