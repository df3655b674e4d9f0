//! `[recording]`: meetings recorded to files, one per track (docs: README, *Recording*).

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    /// Whether meetings may be recorded at all.
    pub enabled: bool,
    /// The directory that holds the recordings, one folder each.
    pub dir: String,
    /// Free space (MiB) under which no recording or composition starts and running ones stop.
    pub min_free_mb: u64,
    /// Seconds between checks of the free space while something records.
    pub disk_check_secs: u64,
    /// Days a recording is kept after it started; 0 keeps every recording.
    pub retention_days: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: "./data/recordings".into(),
            min_free_mb: 1024,
            disk_check_secs: 5,
            retention_days: 0,
        }
    }
}

impl RecordingConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if self.dir.trim().is_empty() {
            return bad("recording.dir", "must name a directory");
        }
        if self.disk_check_secs == 0 {
            return bad("recording.disk_check_secs", "must be at least 1");
        }
        // Kept in bytes as u64 and compared with statvfs's answer.
        if self.min_free_mb > u64::MAX / (1024 * 1024) {
            return bad("recording.min_free_mb", "is too large");
        }
        Ok(())
    }

    /// The free-space threshold in bytes.
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_mb * 1024 * 1024
    }
}
