//! The standard Prometheus process metrics, read from /proc (Linux); elsewhere they are left out.

use std::fmt::Write;

/// Clock ticks per second for /proc/self/stat times; 100 on every Linux platform we run on.
const TICKS_PER_SEC: f64 = 100.0;

pub fn render(out: &mut String) {
    if let Some(cpu) = cpu_seconds() {
        let _ = writeln!(
            out,
            "# HELP process_cpu_seconds_total User and system CPU time of the server process.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total {cpu}"
        );
    }
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        for (key, name, help) in [
            (
                "VmRSS:",
                "process_resident_memory_bytes",
                "Resident memory.",
            ),
            (
                "VmHWM:",
                "process_resident_memory_max_bytes",
                "Peak resident memory.",
            ),
        ] {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                    kb * 1024
                );
            }
        }
        if let Some(n) = status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            let _ = writeln!(
                out,
                "# HELP process_threads Operating-system threads of the server process.\n# TYPE process_threads gauge\nprocess_threads {n}"
            );
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        let _ = writeln!(
            out,
            "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds {}",
            fds.count()
        );
    }
}

/// utime + stime of this process, in seconds.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after its closing parenthesis are plain.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let mut out = String::new();
        super::render(&mut out);
        assert!(out.contains("process_cpu_seconds_total"), "{out}");
        assert!(out.contains("process_resident_memory_bytes"), "{out}");
        assert!(out.contains("process_threads "), "{out}");
        // Burn a little CPU and see the counter move.
        let before = super::cpu_seconds().unwrap();
        let mut x = 0u64;
        let t = std::time::Instant::now();
        while t.elapsed() < std::time::Duration::from_millis(150) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(super::cpu_seconds().unwrap() > before);
    }
}
