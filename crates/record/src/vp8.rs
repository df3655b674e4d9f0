//! The picture size of a VP8 keyframe (RFC 6386 §9.1: a 3-byte frame tag, a 3-byte start code, then
//! 14-bit width and height, each with a 2-bit scale above it, little-endian).

use crate::spec::FrameSize;

const START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// `Ok(size)` for a keyframe, `Err` when the bytes are not a VP8 keyframe's.
pub(crate) fn keyframe_size(data: &[u8]) -> Result<FrameSize, &'static str> {
    if data.len() < 10 {
        return Err("vp8 keyframe shorter than its 10-byte header");
    }
    // Bit 0 of the frame tag is the frame type, 0 meaning a keyframe.
    if data[0] & 1 != 0 {
        return Err("vp8 frame tag says inter frame");
    }
    if data[3..6] != START_CODE {
        return Err("vp8 keyframe start code missing");
    }
    let width = u16::from_le_bytes([data[6], data[7]]) & 0x3fff;
    let height = u16::from_le_bytes([data[8], data[9]]) & 0x3fff;
    if width == 0 || height == 0 {
        return Err("vp8 keyframe with a zero size");
    }
    Ok(FrameSize {
        width: u32::from(width),
        height: u32::from(height),
    })
}

/// A VP8 keyframe header of the given size (for tests and callers that synthesise frames).
pub fn keyframe_header(size: FrameSize) -> [u8; 10] {
    // Frame tag: keyframe, version 0, shown, first partition size 0.
    let tag = [0x10, 0x00, 0x00];
    let w = (size.width as u16 & 0x3fff).to_le_bytes();
    let h = (size.height as u16 & 0x3fff).to_le_bytes();
    [
        tag[0],
        tag[1],
        tag[2],
        START_CODE[0],
        START_CODE[1],
        START_CODE[2],
        w[0],
        w[1],
        h[0],
        h[1],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_size_and_ignores_the_scale_bits() {
        let mut h = keyframe_header(FrameSize {
            width: 1280,
            height: 720,
        });
        h[7] |= 0xc0; // horizontal scale bits
        assert_eq!(
            keyframe_size(&h),
            Ok(FrameSize {
                width: 1280,
                height: 720
            })
        );
    }

    #[test]
    fn refuses_inter_frames_and_bad_start_codes() {
        let h = keyframe_header(FrameSize {
            width: 64,
            height: 48,
        });
        let mut inter = h;
        inter[0] |= 1;
        assert!(keyframe_size(&inter).is_err());
        let mut bad = h;
        bad[4] = 0;
        assert!(keyframe_size(&bad).is_err());
        assert!(keyframe_size(&h[..9]).is_err());
    }
}
