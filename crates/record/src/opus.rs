//! Opus's CodecPrivate: the identification header "OpusHead" (RFC 7845 §5.1), which WebM requires.

/// OpusHead for `channels` (1 or 2, channel mapping family 0) at `input_rate` Hz.
///
/// Pre-skip is 0: a recording joins a running encoder at some packet, so there is no encoder start-up
/// delay in the file to skip (and the muxer writes CodecDelay from it, which is then 0 too).
pub(crate) fn opus_head(channels: u8, input_rate: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(19);
    h.extend_from_slice(b"OpusHead");
    h.push(1); // version
    h.push(channels);
    h.extend_from_slice(&0u16.to_le_bytes()); // pre-skip
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(0); // channel mapping family 0: mono or stereo
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_the_19_byte_family_0_header() {
        let h = opus_head(2, 48_000);
        assert_eq!(h.len(), 19);
        assert_eq!(&h[..8], b"OpusHead");
        assert_eq!(h[9], 2);
        assert_eq!(u32::from_le_bytes([h[12], h[13], h[14], h[15]]), 48_000);
        assert_eq!(h[18], 0);
    }
}
