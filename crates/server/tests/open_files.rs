//! The real binary raises its soft open-file limit to the hard one at start, logs both, and sizes
//! its connection limits from the result.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// "Max open files  <soft>  <hard>  files" of /proc/<pid>/limits.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a Max open files line")
        .to_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_server_raises_a_low_soft_limit_to_the_hard_one_and_logs_both() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_convene"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--set",
        "media.udp_port=0",
        "--set",
        &format!("files.dir={}", dir.path().join("files").display()),
    ])
    .env("RUST_LOG", "info")
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The usual soft limit of a login shell, under whatever hard limit there is.
            lim.rlim_cur = lim.rlim_max.min(256);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start convene");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("[convene] {line}");
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut raised = None;
    let mut sized = None;
    while raised.is_none() || sized.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("the server logs its limits");
        if line.contains("open-file limit") {
            raised = Some(line);
        } else if line.contains("connection limits") {
            sized = Some(line);
        }
    }
    let (soft, hard) = open_file_limits(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let raised = raised.unwrap_or_default();
    let sized = sized.unwrap_or_default();
    if hard != "unlimited" {
        assert_eq!(soft, hard, "soft limit raised to the hard one");
        let hard_n: u64 = hard.parse().expect("a number");
        assert!(raised.contains(&format!("hard={hard}")), "{raised}");
        if hard_n > 256 {
            assert!(raised.contains("soft_before=256"), "{raised}");
        }
        // max_total = 0: the limit less an eighth (at least 256) and the reserve of 16.
        let total = hard_n
            .saturating_sub((hard_n / 8).max(256))
            .saturating_sub(16)
            .max(16);
        assert!(sized.contains(&format!("max_total={total}")), "{sized}");
    }
    assert!(
        raised.contains(&format!("soft={soft}")) || soft == "unlimited",
        "{raised}"
    );
}
