//! A one-line progress display on stderr (ANSI: carriage return + erase line), or a plain line
//! every few seconds when stderr is not a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    tty: bool,
    enabled: bool,
    last_plain: Option<Instant>,
    drawn: bool,
}

/// What one line shows.
pub struct Line<'a> {
    pub phase: &'a str,
    pub elapsed: Duration,
    /// Progress of the current phase, 0..=1.
    pub fraction: f64,
    pub connected: u64,
    pub total: u64,
    pub failed: u64,
    pub pkts_in_per_sec: f64,
    pub pkts_out_per_sec: f64,
    pub tool_cpu_percent: f64,
}

const WIDTH: usize = 24;

pub fn bar(fraction: f64) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * WIDTH as f64).round() as usize).min(WIDTH);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(WIDTH - filled))
}

pub fn format_line(l: &Line<'_>) -> String {
    format!(
        "{:>6.1}s {:<8} {} {}/{} connected, {} failed | in {} pkt/s out {} pkt/s | tool cpu {:.0}%",
        l.elapsed.as_secs_f64(),
        l.phase,
        bar(l.fraction),
        l.connected,
        l.total,
        l.failed,
        crate::stats::thousands(l.pkts_in_per_sec),
        crate::stats::thousands(l.pkts_out_per_sec),
        l.tool_cpu_percent,
    )
}

impl Progress {
    pub fn new(enabled: bool) -> Self {
        Progress {
            tty: std::io::stderr().is_terminal(),
            enabled,
            last_plain: None,
            drawn: false,
        }
    }

    pub fn draw(&mut self, l: &Line<'_>) {
        if !self.enabled {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{}", format_line(l));
            self.drawn = true;
        } else if self
            .last_plain
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
        {
            self.last_plain = Some(Instant::now());
            let _ = writeln!(err, "{}", format_line(l));
        }
        let _ = err.flush();
    }

    /// Ends the line so later output starts on a fresh one.
    pub fn finish(&mut self) {
        if self.enabled && self.tty && self.drawn {
            let _ = writeln!(std::io::stderr());
            self.drawn = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_fills_with_the_fraction() {
        assert_eq!(bar(0.0), format!("[{}]", "-".repeat(WIDTH)));
        assert_eq!(bar(1.0), format!("[{}]", "#".repeat(WIDTH)));
        assert_eq!(bar(2.0), bar(1.0));
        assert_eq!(bar(0.5).matches('#').count(), WIDTH / 2);
    }

    #[test]
    fn line_has_the_counts() {
        let s = format_line(&Line {
            phase: "ramp",
            elapsed: Duration::from_millis(1500),
            fraction: 0.5,
            connected: 5,
            total: 10,
            failed: 1,
            pkts_in_per_sec: 12_345.0,
            pkts_out_per_sec: 10.0,
            tool_cpu_percent: 42.0,
        });
        assert!(s.contains("5/10 connected, 1 failed"), "{s}");
        assert!(s.contains("in 12,345 pkt/s"), "{s}");
        assert!(s.starts_with("   1.5s ramp"), "{s}");
    }
}
