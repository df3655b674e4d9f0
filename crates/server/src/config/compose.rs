//! `[compose]`: compositions, one video made from a meeting's recording with ffmpeg (docs: README,
//! *Recording*).

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// libx264's speed presets, fastest first.
const PRESETS: &[&str] = &[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComposeConfig {
    /// The ffmpeg program: a name looked up in PATH, or a path.
    pub ffmpeg: String,
    /// CPU priority of ffmpeg (nice, 0-19): higher leaves more of the CPU to live meetings.
    pub niceness: i32,
    /// Compositions that may wait for the node's one running composition; more get `server_busy`.
    pub max_queued: u32,
    /// The composition's picture, in pixels (even numbers) and frames per second.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// libx264's speed preset: faster makes larger files.
    pub preset: String,
}

impl Default for ComposeConfig {
    fn default() -> Self {
        Self {
            ffmpeg: "ffmpeg".into(),
            niceness: 19,
            max_queued: 16,
            width: 1280,
            height: 720,
            fps: 25,
            preset: "veryfast".into(),
        }
    }
}

impl ComposeConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if self.ffmpeg.trim().is_empty() {
            return bad("compose.ffmpeg", "must name a program");
        }
        if !(0..=19).contains(&self.niceness) {
            return bad("compose.niceness", "must be between 0 and 19");
        }
        if self.max_queued == 0 {
            return bad("compose.max_queued", "must be at least 1");
        }
        let size_ok = |v: u32| (64..=7680).contains(&v) && v.is_multiple_of(2);
        if !size_ok(self.width) || !size_ok(self.height) {
            return bad(
                "compose.width",
                "width and height must be even numbers from 64 to 7680",
            );
        }
        if !(1..=60).contains(&self.fps) {
            return bad("compose.fps", "must be between 1 and 60");
        }
        if !PRESETS.contains(&self.preset.as_str()) {
            return bad(
                "compose.preset",
                "must be one of libx264's presets, e.g. veryfast",
            );
        }
        Ok(())
    }
}
