//! AV1 in WebM: the track's CodecPrivate is an AV1CodecConfigurationRecord ("av1C": four bytes that
//! repeat the sequence header's profile, level, tier and colour layout, then the sequence header OBU
//! itself), and the picture size the file declares is the sequence header's maximum frame size
//! (AV1 spec §5.5). Frames come as a temporal unit of OBUs in the low-overhead format (each with its
//! size field, as the RTP depacketiser rebuilds them); a keyframe's temporal unit starts with the
//! sequence header. A frame smaller than the maximum (frame_size_override) is not looked at.

use crate::bits::BitReader;
use crate::spec::FrameSize;

const OBU_SEQUENCE_HEADER: u8 = 1;

/// What a recording needs from a sequence header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SequenceHeader {
    pub max_size: FrameSize,
    /// The av1C record, with the OBU as configOBUs.
    pub config: Vec<u8>,
}

/// The first sequence header OBU of a temporal unit, parsed. `Err` when there is one but it is not
/// understood; `Ok(None)` when the unit has none.
pub(crate) fn sequence_header(data: &[u8]) -> Result<Option<SequenceHeader>, &'static str> {
    let mut rest = data;
    while !rest.is_empty() {
        let obu = split_obu(rest)?;
        if obu.kind == OBU_SEQUENCE_HEADER {
            let fields =
                parse_sequence_header(obu.payload).ok_or("av1 sequence header truncated")?;
            let mut config = fields.av1c_head().to_vec();
            config.extend_from_slice(obu.whole);
            return Ok(Some(SequenceHeader {
                max_size: fields.max_size,
                config,
            }));
        }
        rest = obu.next;
    }
    Ok(None)
}

/// One OBU at the start of some bytes.
struct Obu<'a> {
    kind: u8,
    whole: &'a [u8],
    payload: &'a [u8],
    /// The bytes after it.
    next: &'a [u8],
}

fn split_obu(data: &[u8]) -> Result<Obu<'_>, &'static str> {
    let header = data[0];
    if header & 0x80 != 0 {
        return Err("av1 obu forbidden bit set");
    }
    let obu_type = (header >> 3) & 0x0f;
    let has_extension = header & 0x04 != 0;
    let has_size = header & 0x02 != 0;
    let mut at = 1 + usize::from(has_extension);
    let size = if has_size {
        let (size, used) = leb128(data.get(at..).ok_or("av1 obu truncated")?)?;
        at += used;
        usize::try_from(size).map_err(|_| "av1 obu size too large")?
    } else {
        // Without a size field the OBU runs to the end of the data.
        data.len().saturating_sub(at)
    };
    let end = at
        .checked_add(size)
        .filter(|&e| e <= data.len())
        .ok_or("av1 obu truncated")?;
    Ok(Obu {
        kind: obu_type,
        whole: &data[..end],
        payload: &data[at..end],
        next: &data[end..],
    })
}

fn leb128(data: &[u8]) -> Result<(u64, usize), &'static str> {
    let mut value = 0u64;
    for (i, b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("av1 obu size not understood")
}

/// The sequence header fields av1C repeats, and the size.
#[derive(Default)]
struct Fields {
    profile: u32,
    level: u32,
    tier: u32,
    high_bitdepth: bool,
    twelve_bit: bool,
    monochrome: bool,
    subsampling: (u32, u32),
    chroma_sample_position: u32,
    max_size: FrameSize,
}

impl Fields {
    fn av1c_head(&self) -> [u8; 4] {
        [
            0x81, // marker, version 1
            ((self.profile << 5) | self.level) as u8,
            ((self.tier << 7)
                | (u32::from(self.high_bitdepth) << 6)
                | (u32::from(self.twelve_bit) << 5)
                | (u32::from(self.monochrome) << 4)
                | (self.subsampling.0 << 3)
                | (self.subsampling.1 << 2)
                | self.chroma_sample_position) as u8,
            0, // no initial presentation delay
        ]
    }
}

fn parse_sequence_header(payload: &[u8]) -> Option<Fields> {
    let mut r = BitReader::new(payload);
    let mut f = Fields {
        profile: r.bits(3)?,
        ..Fields::default()
    };
    r.bit()?; // still_picture
    let reduced = r.flag()?;
    if reduced {
        f.level = r.bits(5)?;
    } else {
        operating_points(&mut r, &mut f)?;
    }
    let width_bits = r.bits(4)? + 1;
    let height_bits = r.bits(4)? + 1;
    f.max_size = FrameSize {
        width: r.bits(width_bits)? + 1,
        height: r.bits(height_bits)? + 1,
    };
    skip_coding_tools(&mut r, reduced)?;
    color_config(&mut r, &mut f)?;
    Some(f)
}

/// Timing and decoder model info, then the operating points; keeps the first point's level and tier.
fn operating_points(r: &mut BitReader<'_>, f: &mut Fields) -> Option<()> {
    let mut decoder_model = false;
    let mut buffer_delay_bits = 0;
    if r.flag()? {
        r.bits(32)?; // num_units_in_display_tick
        r.bits(32)?; // time_scale
        if r.flag()? {
            uvlc(r)?; // num_ticks_per_picture_minus_1
        }
        decoder_model = r.flag()?;
        if decoder_model {
            buffer_delay_bits = r.bits(5)? + 1;
            r.bits(32)?; // num_units_in_decoding_tick
            r.bits(10)?; // buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
        }
    }
    let initial_display_delay = r.flag()?;
    let count = r.bits(5)? + 1;
    for i in 0..count {
        r.bits(12)?; // operating_point_idc
        let level = r.bits(5)?;
        let tier = if level > 7 { r.bit()? } else { 0 };
        if i == 0 {
            (f.level, f.tier) = (level, tier);
        }
        if decoder_model && r.flag()? {
            r.bits(buffer_delay_bits)?;
            r.bits(buffer_delay_bits)?;
            r.bit()?; // low_delay_mode_flag
        }
        if initial_display_delay && r.flag()? {
            r.bits(4)?;
        }
    }
    Some(())
}

fn uvlc(r: &mut BitReader<'_>) -> Option<()> {
    let mut zeros = 0;
    while r.bit()? == 0 {
        zeros += 1;
        if zeros >= 32 {
            return None;
        }
    }
    r.bits(zeros)?;
    Some(())
}

/// From frame_id_numbers_present_flag to enable_restoration (§5.5.1).
fn skip_coding_tools(r: &mut BitReader<'_>, reduced: bool) -> Option<()> {
    if !reduced && r.flag()? {
        r.bits(7)?; // delta_frame_id_length_minus_2, additional_frame_id_length_minus_1
    }
    r.bits(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if !reduced {
        r.bits(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = r.flag()?;
        if order_hint {
            r.bits(2)?; // enable_jnt_comp, enable_ref_frame_mvs
        }
        let force_screen_content = if r.flag()? { 2 } else { r.bit()? };
        if force_screen_content > 0 && !r.flag()? {
            r.bit()?; // seq_force_integer_mv
        }
        if order_hint {
            r.bits(3)?; // order_hint_bits_minus_1
        }
    }
    r.bits(3)?; // enable_superres, enable_cdef, enable_restoration
    Some(())
}

/// color_config (§5.5.2).
fn color_config(r: &mut BitReader<'_>, f: &mut Fields) -> Option<()> {
    f.high_bitdepth = r.flag()?;
    if f.profile == 2 && f.high_bitdepth {
        f.twelve_bit = r.flag()?;
    }
    f.monochrome = f.profile != 1 && r.flag()?;
    let (mut primaries, mut transfer, mut matrix) = (2, 2, 2);
    if r.flag()? {
        (primaries, transfer, matrix) = (r.bits(8)?, r.bits(8)?, r.bits(8)?);
    }
    if f.monochrome {
        f.subsampling = (1, 1);
        return Some(());
    }
    // BT.709 primaries, sRGB transfer, identity matrix: 4:4:4 RGB with no more fields.
    if primaries == 1 && transfer == 13 && matrix == 0 {
        return Some(());
    }
    r.bit()?; // color_range
    f.subsampling = match f.profile {
        0 => (1, 1),
        1 => (0, 0),
        _ if f.twelve_bit => {
            let x = r.bit()?;
            (x, if x == 1 { r.bit()? } else { 0 })
        }
        _ => (1, 0),
    };
    if f.subsampling == (1, 1) {
        f.chroma_sample_position = r.bits(2)?;
    }
    Some(())
}

/// A temporal unit for a keyframe: a sequence header OBU (profile 0, level 8 = 4.0, 8-bit 4:2:0,
/// no timing info) for `size`, then a frame OBU of `payload` bytes. For tests and synthesised streams.
pub fn keyframe_unit(size: FrameSize, payload: &[u8]) -> Vec<u8> {
    let mut w = crate::synth::BitWriter::default();
    w.put(0, 3); // seq_profile
    w.put(0, 1); // still_picture
    w.put(0, 1); // reduced_still_picture_header
    w.put(0, 1); // timing_info_present_flag
    w.put(0, 1); // initial_display_delay_present_flag
    w.put(0, 5); // operating_points_cnt_minus_1
    w.put(0, 12); // operating_point_idc
    w.put(8, 5); // seq_level_idx (4.0, so a tier bit follows)
    w.put(0, 1); // seq_tier
    w.put(15, 4); // frame_width_bits_minus_1
    w.put(15, 4); // frame_height_bits_minus_1
    w.put(size.width - 1, 16);
    w.put(size.height - 1, 16);
    w.put(0, 1); // frame_id_numbers_present_flag
    w.put(0, 3); // 128x128 superblock, filter intra, intra edge filter
    w.put(0, 4); // interintra, masked, warped, dual filter
    w.put(0, 1); // enable_order_hint
    w.put(0, 1); // seq_choose_screen_content_tools
    w.put(0, 1); // seq_force_screen_content_tools = 0
    w.put(0, 3); // superres, cdef, restoration
    w.put(0, 1); // high_bitdepth
    w.put(0, 1); // mono_chrome
    w.put(0, 1); // color_description_present_flag
    w.put(0, 1); // color_range
    w.put(0, 2); // chroma_sample_position
    w.put(1, 1); // trailing one bit
    let body = w.into_bytes();
    let mut unit = vec![(OBU_SEQUENCE_HEADER << 3) | 0x02, body.len() as u8];
    unit.extend(body);
    unit.push((6 << 3) | 0x02); // OBU_FRAME with a size field
    unit.push(payload.len() as u8);
    unit.extend_from_slice(payload);
    unit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_and_builds_av1c_from_the_sequence_header() {
        let size = FrameSize {
            width: 1920,
            height: 1080,
        };
        let unit = keyframe_unit(size, &[1, 2, 3]);
        let seq = sequence_header(&unit).expect("parsed").expect("present");
        assert_eq!(seq.max_size, size);
        // marker+version, profile 0 level 8, tier 0 8-bit 4:2:0 (ss 1,1) csp 0, no delay.
        assert_eq!(&seq.config[..4], &[0x81, 0x08, 0b0000_1100, 0]);
        assert_eq!(
            &seq.config[4..],
            &unit[..unit.len() - 5],
            "configOBUs: the sequence header"
        );
    }

    #[test]
    fn a_unit_without_a_sequence_header_has_none_and_bad_obus_are_refused() {
        assert_eq!(sequence_header(&[0x32, 0x01, 0xaa]), Ok(None));
        assert!(sequence_header(&[0x0a, 0x05, 0x00]).is_err(), "truncated");
        assert!(sequence_header(&[0x8a, 0x00]).is_err(), "forbidden bit");
    }
}
