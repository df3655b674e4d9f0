//! H.264 in Matroska (`V_MPEG4/ISO/AVC`): frames arrive as Annex B access units (start-code
//! delimited NAL units, the form the server's depacketiser gives); the file stores each NAL unit
//! behind a 4-byte big-endian length, and the track's CodecPrivate is an AVCDecoderConfigurationRecord
//! (ISO/IEC 14496-15 §5.2.4.1) built from the SPS and PPS of the file's first keyframe. Parameter
//! sets stay in the frames too, so a later resolution change (a new SPS) still decodes.

mod sps;

pub(crate) use sps::Sps;

const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// The NAL units of an Annex B access unit, without their start codes. Bytes before the first start
/// code (there should be none) are taken as a NAL unit of their own rather than dropped.
pub fn split_annex_b(data: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 2 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            // A 4-byte start code's leading zero belongs to the start code, not the previous NAL.
            let end = if i > start && data[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            if end > start {
                nals.push(&data[start..end]);
            }
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    if start < data.len() {
        nals.push(&data[start..]);
    }
    nals
}

/// The access unit as the file stores it: each NAL unit behind its 4-byte big-endian length.
pub(crate) fn to_length_prefixed(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
    for nal in nals {
        // A NAL unit is part of one frame, far below 4 GiB; the conversion cannot fail in practice.
        let len = u32::try_from(nal.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

fn nal_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// The first SPS and PPS of an access unit, when it has both.
pub(crate) fn parameter_sets<'a>(nals: &[&'a [u8]]) -> Option<(&'a [u8], &'a [u8])> {
    let sps = nals.iter().find(|n| nal_type(n) == Some(NAL_SPS))?;
    let pps = nals.iter().find(|n| nal_type(n) == Some(NAL_PPS))?;
    Some((sps, pps))
}

/// The first SPS of an access unit, parsed.
pub(crate) fn first_sps(nals: &[&[u8]]) -> Option<Sps> {
    nals.iter()
        .find(|n| nal_type(n) == Some(NAL_SPS))
        .and_then(|n| Sps::parse(n))
}

/// AVCDecoderConfigurationRecord with one SPS and one PPS and 4-byte NAL lengths.
pub(crate) fn avc_config(sps_nal: &[u8], pps_nal: &[u8], sps: &Sps) -> Vec<u8> {
    let mut out = vec![
        1,          // configurationVersion
        sps_nal[1], // AVCProfileIndication
        sps_nal[2], // profile_compatibility
        sps_nal[3], // AVCLevelIndication
        0xfc | 3,   // reserved bits + lengthSizeMinusOne = 3
        0xe0 | 1,   // reserved bits + numOfSequenceParameterSets = 1
    ];
    push_with_u16_len(&mut out, sps_nal);
    out.push(1); // numOfPictureParameterSets
    push_with_u16_len(&mut out, pps_nal);
    if sps.has_chroma_info() {
        // The high profiles' extension (§5.2.4.1.1), which decoders use to pick their output format.
        out.push(0xfc | sps.chroma_format_idc as u8);
        out.push(0xf8 | sps.bit_depth_luma_minus8 as u8);
        out.push(0xf8 | sps.bit_depth_chroma_minus8 as u8);
        out.push(0); // numOfSequenceParameterSetExt
    }
    out
}

fn push_with_u16_len(out: &mut Vec<u8>, nal: &[u8]) {
    // Parameter sets are tens of bytes; one over 64 KiB is corrupt and is cut, never wrapped.
    let len = u16::try_from(nal.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&nal[..usize::from(len)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let au = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals = split_annex_b(&au);
        assert_eq!(nals, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
        assert_eq!(to_length_prefixed(&nals[1..2]), vec![0, 0, 0, 2, 0x68, 3]);
        assert!(parameter_sets(&nals).is_some());
        assert!(parameter_sets(&nals[2..]).is_none());
    }
}
