//! Runs ffmpeg as a child process at low CPU priority, reading its progress as it goes.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::progress::{Progress, ProgressReader};

/// What ffmpeg said on stderr, at most (its last words are kept for the composition's error).
const STDERR_KEPT: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("ffmpeg is not installed on this server (looked for {0:?}); install it (Debian: apt-get install ffmpeg) or set compose.ffmpeg")]
    Missing(String),
    #[error("could not start ffmpeg: {0}")]
    Spawn(std::io::Error),
    #[error("ffmpeg failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("reading ffmpeg's output: {0}")]
    Io(std::io::Error),
    #[error("{DISK_FULL}")]
    DiskFull,
}

/// Why a composition is refused or stopped when the disk is under `recording.min_free_mb`.
pub const DISK_FULL: &str =
    "the server's disk is too full to compose (under recording.min_free_mb free)";

/// Finds the ffmpeg to run: a path as configured, or a name looked up in PATH.
pub fn locate(configured: &str) -> Result<PathBuf, RunError> {
    let missing = || RunError::Missing(configured.to_owned());
    if configured.contains('/') {
        let p = PathBuf::from(configured);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(missing())
        };
    }
    let path = std::env::var_os("PATH").ok_or_else(missing)?;
    std::env::split_paths(&path)
        .map(|d| d.join(configured))
        .find(|p| is_executable(p))
        .ok_or_else(missing)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// An ffmpeg at work. Dropping it kills the process (a deleted composition, a shutdown).
pub struct Running {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    reader: ProgressReader,
    stderr: tokio::task::JoinHandle<String>,
}

/// Starts `ffmpeg args` at `niceness` (0-19: higher yields the CPU to the meetings on this node).
pub fn start(
    ffmpeg: &Path,
    args: &[String],
    niceness: i32,
    duration_ms: u64,
) -> Result<Running, RunError> {
    let mut cmd = Command::new(ffmpeg);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: between fork and exec the closure only calls getpriority(2) and setpriority(2),
    // which are async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            // Only ever lower the priority: raising it back needs privileges, and a server that
            // already runs nicer than asked keeps that.
            let now = libc::getpriority(libc::PRIO_PROCESS, 0);
            if niceness > now && libc::setpriority(libc::PRIO_PROCESS, 0, niceness) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => RunError::Missing(ffmpeg.display().to_string()),
        _ => RunError::Spawn(e),
    })?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(RunError::Spawn(std::io::Error::other("no pipes to ffmpeg")));
    };
    let stderr = tokio::spawn(async move {
        let mut all = Vec::new();
        let _ = BufReader::new(stderr).read_to_end(&mut all).await;
        let text = String::from_utf8_lossy(&all);
        let text = text.trim();
        let cut = text.len().saturating_sub(STDERR_KEPT);
        let cut = (cut..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[cut..].to_owned()
    });
    Ok(Running {
        child,
        lines: BufReader::new(stdout).lines(),
        reader: ProgressReader::new(duration_ms),
        stderr,
    })
}

impl Running {
    /// The next progress (0-99), or None when ffmpeg has said all it will.
    pub async fn next(&mut self) -> Result<Option<u8>, RunError> {
        while let Some(line) = self.lines.next_line().await.map_err(RunError::Io)? {
            match self.reader.line(&line) {
                Some(Progress::Percent(p)) => return Ok(Some(p)),
                Some(Progress::End) => return Ok(None),
                None => {}
            }
        }
        Ok(None)
    }

    /// Waits for ffmpeg to exit; an error unless it exited 0.
    pub async fn finish(mut self) -> Result<(), RunError> {
        let status = self.child.wait().await.map_err(RunError::Io)?;
        let stderr = (&mut self.stderr).await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(RunError::Failed {
                status: status.to_string(),
                stderr,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_ffmpeg_is_named_in_the_error() {
        let e = locate("ffmpeg-that-is-not-installed").unwrap_err();
        assert!(e.to_string().contains("ffmpeg is not installed"), "{e}");
        assert!(matches!(
            locate("/nonexistent/ffmpeg"),
            Err(RunError::Missing(_))
        ));
        // A file that is there but cannot run is no ffmpeg either.
        let f = tempfile::NamedTempFile::new().unwrap();
        assert!(locate(&f.path().display().to_string()).is_err());
        assert!(
            locate("sh").is_ok(),
            "PATH lookup finds a program that is there"
        );
    }

    #[tokio::test]
    async fn the_child_runs_at_the_niceness_asked() {
        let sh = locate("sh").unwrap();
        let args = ["-c", "echo out_time_us=1000000; echo progress=continue; cut -d' ' -f19 /proc/self/stat >&2; exit 3"]
            .map(String::from);
        let mut run = start(&sh, &args, 15, 2_000).unwrap();
        assert_eq!(run.next().await.unwrap(), Some(50));
        assert_eq!(run.next().await.unwrap(), None);
        match run.finish().await {
            // Field 19 of /proc/<pid>/stat is the nice value; the exit status is reported.
            Err(RunError::Failed { status, stderr }) => {
                assert_eq!(stderr, "15");
                assert!(status.contains('3'), "{status}");
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}
