//! `[files]`: files shared in meetings (docs: README, *Files*).

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Whether participants may share files at all.
    pub enabled: bool,
    /// The blob store's directory: the files' bytes and previews.
    pub dir: String,
    /// The largest file, in bytes.
    pub max_file_bytes: u64,
    /// The most one meeting's files may hold together, in bytes.
    pub max_meeting_bytes: u64,
    /// Days a file is kept after it was shared; 0: as long as its meeting's record.
    pub retention_days: u64,
    /// The most pixels (width × height) of an image the server decodes for its preview; a larger
    /// image is refused (`image_too_large`), as a decompression bomb would be.
    pub image_max_pixels: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: "./data/files".into(),
            max_file_bytes: 100 * 1024 * 1024,
            max_meeting_bytes: 1024 * 1024 * 1024,
            retention_days: 0,
            image_max_pixels: 50_000_000,
        }
    }
}

impl FilesConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why.into(),
            })
        };
        if self.dir.trim().is_empty() {
            return bad("files.dir", "must name a directory");
        }
        if self.max_file_bytes == 0 || self.max_file_bytes > i64::MAX as u64 {
            return bad("files.max_file_bytes", "must be at least 1");
        }
        if self.max_meeting_bytes < self.max_file_bytes || self.max_meeting_bytes > i64::MAX as u64
        {
            return bad(
                "files.max_meeting_bytes",
                "must be at least files.max_file_bytes",
            );
        }
        if self.image_max_pixels == 0 {
            return bad("files.image_max_pixels", "must be at least 1");
        }
        Ok(())
    }
}
