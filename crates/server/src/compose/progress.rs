//! ffmpeg's `-progress pipe:1` output: blocks of `key=value` lines, each ending with
//! `progress=continue` (or `progress=end`). How far the output has got (`out_time_us`) against the
//! meeting's length is the composition's progress.

/// Reads progress lines one at a time.
#[derive(Debug)]
pub struct ProgressReader {
    duration_us: u64,
    out_time_us: u64,
}

/// What a line told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A block ended: this much is done, 0-99 (100 is for a finished file only, which the exit
    /// status says, not this stream).
    Percent(u8),
    /// ffmpeg is writing its last bytes.
    End,
}

impl ProgressReader {
    pub fn new(duration_ms: u64) -> Self {
        Self {
            duration_us: duration_ms.max(1) * 1000,
            out_time_us: 0,
        }
    }

    pub fn line(&mut self, line: &str) -> Option<Progress> {
        let (key, value) = line.trim().split_once('=')?;
        match key {
            // "N/A" before the first frame: nothing to learn.
            "out_time_us" => {
                if let Ok(us) = value.parse::<u64>() {
                    self.out_time_us = us;
                }
                None
            }
            "progress" if value == "end" => Some(Progress::End),
            "progress" => {
                let pct = self.out_time_us.saturating_mul(100) / self.duration_us;
                Some(Progress::Percent(pct.min(99) as u8))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_time_against_the_duration_is_the_progress() {
        let mut r = ProgressReader::new(20_000);
        let block = "frame=10\nout_time_us=N/A\nout_time=N/A\nprogress=continue\n\
                     out_time_us=5000000\nout_time_ms=5000000\nspeed=4x\nprogress=continue\n\
                     out_time_us=25000000\nprogress=continue\nprogress=end\n";
        let seen: Vec<_> = block.lines().filter_map(|l| r.line(l)).collect();
        assert_eq!(
            seen,
            vec![
                Progress::Percent(0),
                Progress::Percent(25),
                // Past the planned length (a last frame's duration) is not "done" yet.
                Progress::Percent(99),
                Progress::End
            ]
        );
        assert_eq!(r.line("garbage"), None);
    }
}
