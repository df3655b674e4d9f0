//! The fields of an H.264 sequence parameter set (ITU-T H.264 §7.3.2.1.1) that a recording needs:
//! the picture size (for the file's PixelWidth/Height and size changes) and the chroma format (for
//! the avcC record).

use crate::bits::BitReader;
use crate::spec::FrameSize;

/// The profiles whose SPS carries chroma format and bit depth (§7.3.2.1.1).
const HIGH_PROFILES: [u32; 12] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134];

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sps {
    pub profile_idc: u32,
    pub chroma_format_idc: u32,
    pub bit_depth_luma_minus8: u32,
    pub bit_depth_chroma_minus8: u32,
    pub size: FrameSize,
}

impl Sps {
    /// Parses an SPS NAL unit (with its one-byte NAL header).
    pub(crate) fn parse(nal: &[u8]) -> Option<Sps> {
        let rbsp = unescape(nal.get(1..)?);
        let mut r = BitReader::new(&rbsp);
        let profile_idc = r.bits(8)?;
        r.bits(16)?; // constraint flags, level_idc
        r.ue()?; // seq_parameter_set_id
        let (mut chroma, mut luma8, mut chroma8) = (1, 0, 0);
        let mut separate_planes = false;
        if HIGH_PROFILES.contains(&profile_idc) {
            chroma = r.ue()?;
            if chroma == 3 {
                separate_planes = r.flag()?;
            }
            luma8 = r.ue()?;
            chroma8 = r.ue()?;
            r.bit()?; // qpprime_y_zero_transform_bypass_flag
            if r.flag()? {
                let lists = if chroma == 3 { 12 } else { 8 };
                for i in 0..lists {
                    if r.flag()? {
                        skip_scaling_list(&mut r, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        r.ue()?; // log2_max_frame_num_minus4
        skip_pic_order_cnt(&mut r)?;
        r.ue()?; // max_num_ref_frames
        r.bit()?; // gaps_in_frame_num_value_allowed_flag
        let width_mbs = r.ue()? + 1;
        let height_map_units = r.ue()? + 1;
        let frame_mbs_only = r.flag()?;
        if !frame_mbs_only {
            r.bit()?; // mb_adaptive_frame_field_flag
        }
        r.bit()?; // direct_8x8_inference_flag
        let crop = if r.flag()? {
            [r.ue()?, r.ue()?, r.ue()?, r.ue()?]
        } else {
            [0; 4]
        };
        let field_factor = if frame_mbs_only { 1 } else { 2 };
        let chroma_array_type = if separate_planes { 0 } else { chroma };
        let (crop_x, crop_y) = match chroma_array_type {
            1 => (2, 2 * field_factor),
            2 => (2, field_factor),
            _ => (1, field_factor),
        };
        let width = (width_mbs * 16).checked_sub(crop_x * (crop[0] + crop[1]))?;
        let height =
            (field_factor * height_map_units * 16).checked_sub(crop_y * (crop[2] + crop[3]))?;
        Some(Sps {
            profile_idc,
            chroma_format_idc: chroma,
            bit_depth_luma_minus8: luma8,
            bit_depth_chroma_minus8: chroma8,
            size: FrameSize { width, height },
        })
    }

    pub(crate) fn has_chroma_info(&self) -> bool {
        matches!(self.profile_idc, 100 | 110 | 122 | 144)
    }
}

fn skip_pic_order_cnt(r: &mut BitReader<'_>) -> Option<()> {
    match r.ue()? {
        0 => {
            r.ue()?; // log2_max_pic_order_cnt_lsb_minus4
        }
        1 => {
            r.bit()?; // delta_pic_order_always_zero_flag
            r.se()?; // offset_for_non_ref_pic
            r.se()?; // offset_for_top_to_bottom_field
            let cycle = r.ue()?;
            for _ in 0..cycle {
                r.se()?;
            }
        }
        _ => {}
    }
    Some(())
}

fn skip_scaling_list(r: &mut BitReader<'_>, size: usize) -> Option<()> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + r.se()? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Some(())
}

/// Removes emulation prevention bytes (00 00 03 -> 00 00).
fn unescape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut zeros = 0;
    for &b in data {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::h264_baseline_sps as build_baseline_sps;

    #[test]
    fn parses_a_baseline_sps_with_and_without_cropping() {
        let nal = build_baseline_sps(80, 68, Some([0, 0, 0, 4]));
        let sps = Sps::parse(&nal).expect("sps");
        // 68 map units * 16 = 1088, minus 2*4 = 1080.
        assert_eq!(
            sps.size,
            FrameSize {
                width: 1280,
                height: 1080
            }
        );
        let nal = build_baseline_sps(40, 30, None);
        assert_eq!(
            Sps::parse(&nal).expect("sps").size,
            FrameSize {
                width: 640,
                height: 480
            }
        );
    }

    #[test]
    fn removes_emulation_prevention() {
        assert_eq!(unescape(&[0, 0, 3, 1, 0, 0, 3]), vec![0, 0, 1, 0, 0]);
    }
}
