//! The workaround for the muxer's placeholder Cues entry (see the writer module's top comment): while
//! a file is being written, its SeekHead's Seek entry for Cues says "position 0", which is the
//! SeekHead itself; a reader that follows it fails before reaching any frame. The entry becomes a
//! Void of the same 21 bytes until the trailer is written, then goes back for the library to fill.

use crate::error::RecordError;
use crate::sink::SharedSink;

/// Seek { SeekID = Cues (1C 53 BB 6B), SeekPosition = 0 as 8 bytes }, as the library writes it.
const PLACEHOLDER: [u8; 21] = [
    0x4d, 0xbb, 0x92, // Seek, 18 bytes
    0x53, 0xab, 0x84, 0x1c, 0x53, 0xbb, 0x6b, // SeekID: Cues
    0x53, 0xac, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, // SeekPosition: 0
];

/// A Void element of the same 21 bytes (0xEC, size 19, zeros).
const VOID: [u8; 21] = {
    let mut v = [0u8; 21];
    v[0] = 0xec;
    v[1] = 0x80 | 19;
    v
};

/// A voided placeholder, to restore before the trailer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeekEntryFix {
    at: u64,
}

impl SeekEntryFix {
    /// Voids the placeholder in the header just written (`header` = the file's first bytes). A header
    /// without one (a library that fixed this) needs nothing.
    pub(crate) fn apply(sink: &SharedSink, header: &[u8]) -> Result<Option<Self>, RecordError> {
        let mut found = header
            .windows(PLACEHOLDER.len())
            .enumerate()
            .filter(|(_, w)| *w == PLACEHOLDER)
            .map(|(i, _)| i);
        let (Some(at), None) = (found.next(), found.next()) else {
            return Ok(None);
        };
        let at = at as u64;
        sink.patch(at, &VOID)?;
        Ok(Some(Self { at }))
    }

    pub(crate) fn restore(self, sink: &SharedSink) -> Result<(), RecordError> {
        sink.patch(self.at, &PLACEHOLDER)?;
        Ok(())
    }
}
