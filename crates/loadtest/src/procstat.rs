//! CPU time and memory of a process, from /proc (Linux).

use std::io;

use serde::Serialize;

/// Clock ticks per second of /proc/<pid>/stat times. USER_HZ is 100 on every Linux architecture
/// in use (the kernel scales its internal HZ to it for user space).
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ProcSample {
    /// User + system CPU seconds since the process started.
    pub cpu_secs: f64,
    /// Resident set now and its peak (VmHWM), KiB.
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

/// `pid` None: this process.
pub fn sample(pid: Option<u32>) -> io::Result<ProcSample> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".into(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))?;
    let cpu_secs = cpu_secs_from_stat(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable stat"))?;
    Ok(ProcSample {
        cpu_secs,
        rss_kib: status_kib(&status, "VmRSS:").unwrap_or(0),
        peak_rss_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
    })
}

/// utime + stime (fields 14 and 15) in seconds. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last ')'.
pub fn cpu_secs_from_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')': field 3 (state) is the first.
    let mut f = rest.split_whitespace().skip(11);
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// A "Key:   123 kB" line of /proc/<pid>/status, in KiB.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Host-wide UDP counters (/proc/net/snmp): datagrams the kernel dropped because a socket's
/// receive buffer was full, or it could not buffer an outgoing one. Neither server counts these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UdpCounters {
    pub rcvbuf_errors: u64,
    pub sndbuf_errors: u64,
}

/// Sets the nice value of every thread of this process (threads made later inherit it from
/// their maker). A negative value needs CAP_SYS_NICE. The load tool stands for clients on other
/// machines: run ahead of the server it measures, a saturated server cannot delay the simulated
/// clients' frame clocks on a shared machine.
pub fn set_nice(nice: i32) -> io::Result<()> {
    for task in std::fs::read_dir("/proc/self/task")? {
        let Ok(tid) = task?.file_name().to_string_lossy().parse::<libc::id_t>() else {
            continue;
        };
        // SAFETY: a plain system call; PRIO_PROCESS with a thread id sets that thread's value
        // (Linux keeps nice values per thread).
        let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, nice) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

pub fn udp_counters() -> io::Result<UdpCounters> {
    parse_snmp_udp(&std::fs::read_to_string("/proc/net/snmp")?)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Udp lines"))
}

/// The `Udp:` header line names the fields of the `Udp:` value line after it.
pub fn parse_snmp_udp(snmp: &str) -> Option<UdpCounters> {
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = lines.next()?.split_whitespace().collect();
    let values: Vec<&str> = lines.next()?.split_whitespace().collect();
    let get = |k: &str| -> Option<u64> {
        let i = names.iter().position(|n| *n == k)?;
        values.get(i)?.parse().ok()
    };
    Some(UdpCounters {
        rcvbuf_errors: get("RcvbufErrors")?,
        sndbuf_errors: get("SndbufErrors")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nice_value_reaches_every_thread() {
        // Raising the value (lowering the priority) needs no privilege. Its own threads:
        // this test's runtime has a few.
        let before = read_nice();
        let t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        set_nice(before.max(0) + 1).expect("nice");
        for n in all_nice() {
            assert_eq!(n, before.max(0) + 1);
        }
        t.join().expect("thread");
    }

    fn read_nice() -> i32 {
        all_nice().into_iter().next().expect("a thread")
    }

    /// Field 19 of each thread's stat: its nice value.
    fn all_nice() -> Vec<i32> {
        std::fs::read_dir("/proc/self/task")
            .expect("tasks")
            .filter_map(|t| {
                let stat = std::fs::read_to_string(t.ok()?.path().join("stat")).ok()?;
                let rest = &stat[stat.rfind(')')? + 2..];
                rest.split_whitespace().nth(16)?.parse().ok()
            })
            .collect()
    }

    #[test]
    fn parses_stat_with_a_tricky_name() {
        let stat = "1234 (tokio (rt) x) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 100 1000 50";
        assert_eq!(cpu_secs_from_stat(stat), Some(3.25));
        assert_eq!(cpu_secs_from_stat("garbage"), None);
    }

    #[test]
    fn parses_status_sizes() {
        let s = "Name:\tconvene\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(status_kib(s, "VmHWM:"), Some(20480));
        assert_eq!(status_kib(s, "VmRSS:"), Some(10240));
        assert_eq!(status_kib(s, "VmSwap:"), None);
    }

    #[test]
    fn parses_udp_snmp() {
        let snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
            Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors\n\
            Udp: 100 2 7 90 5 1 0\nUdpLite: InDatagrams\nUdpLite: 0\n";
        assert_eq!(
            parse_snmp_udp(snmp),
            Some(UdpCounters {
                rcvbuf_errors: 5,
                sndbuf_errors: 1
            })
        );
        assert_eq!(parse_snmp_udp("Ip: x\nIp: 1\n"), None);
    }

    #[test]
    fn reads_itself() {
        let s = sample(None).expect("/proc/self");
        assert!(s.rss_kib > 0 && s.peak_rss_kib >= s.rss_kib);
    }
}
