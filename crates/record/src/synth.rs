//! Synthetic codec headers: enough of a real keyframe's first bytes for a container and this crate's
//! size parsing, with made-up payload after them. For tests (here and in the server) and load tools
//! that record streams without an encoder.

use crate::spec::FrameSize;

pub use crate::av1::keyframe_unit as av1_keyframe_unit;
pub use crate::vp8::keyframe_header as vp8_keyframe_header;
pub use crate::vp9::keyframe_header as vp9_keyframe_header;

/// A Baseline-profile H.264 SPS NAL unit (with its header byte 0x67) for a picture of
/// `width_mbs` x `height_mbs` macroblocks, optionally cropped (left, right, top, bottom, in the
/// 4:2:0 crop units of two pixels).
pub fn h264_baseline_sps(width_mbs: u32, height_mbs: u32, crop: Option<[u32; 4]>) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.put(66, 8); // profile_idc: Baseline
    w.put(0, 8); // constraint flags
    w.put(31, 8); // level_idc 3.1
    w.ue(0); // seq_parameter_set_id
    w.ue(0); // log2_max_frame_num_minus4
    w.ue(2); // pic_order_cnt_type
    w.ue(1); // max_num_ref_frames
    w.put(0, 1); // gaps_in_frame_num_value_allowed_flag
    w.ue(width_mbs - 1);
    w.ue(height_mbs - 1);
    w.put(1, 1); // frame_mbs_only_flag
    w.put(1, 1); // direct_8x8_inference_flag
    match crop {
        Some(c) => {
            w.put(1, 1);
            c.into_iter().for_each(|v| w.ue(v));
        }
        None => w.put(0, 1),
    }
    w.put(0, 1); // vui_parameters_present_flag
    w.put(1, 1); // rbsp_stop_one_bit
    let mut nal = vec![0x67];
    nal.extend(w.into_bytes());
    nal
}

/// The size a Baseline SPS from [`h264_baseline_sps`] describes.
pub fn h264_baseline_size(width_mbs: u32, height_mbs: u32, crop: Option<[u32; 4]>) -> FrameSize {
    let c = crop.unwrap_or([0; 4]);
    FrameSize {
        width: width_mbs * 16 - 2 * (c[0] + c[1]),
        height: height_mbs * 16 - 2 * (c[2] + c[3]),
    }
}

/// Most-significant-bit-first bit writer for the synthetic headers.
#[derive(Default)]
pub(crate) struct BitWriter {
    bits: Vec<u8>,
}

impl BitWriter {
    pub(crate) fn put(&mut self, v: u32, n: u32) {
        for i in (0..n).rev() {
            self.bits.push(((v >> i) & 1) as u8);
        }
    }

    pub(crate) fn ue(&mut self, v: u32) {
        let x = v + 1;
        let len = 32 - x.leading_zeros();
        self.put(0, len - 1);
        self.put(x, len);
    }

    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        while !self.bits.len().is_multiple_of(8) {
            self.bits.push(0);
        }
        self.bits
            .chunks(8)
            .map(|c| c.iter().fold(0, |acc, b| (acc << 1) | b))
            .collect()
    }
}
