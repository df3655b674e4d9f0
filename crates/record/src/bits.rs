//! A most-significant-bit-first reader for the few codec headers this crate parses.

/// Reads bits from a byte slice, first bit = the first byte's highest bit.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub(crate) fn bit(&mut self) -> Option<u32> {
        let byte = *self.data.get(self.pos / 8)?;
        let bit = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(u32::from(bit))
    }

    /// Up to 32 bits as an unsigned number.
    pub(crate) fn bits(&mut self, n: u32) -> Option<u32> {
        debug_assert!(n <= 32);
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }

    pub(crate) fn flag(&mut self) -> Option<bool> {
        Some(self.bit()? == 1)
    }

    /// Exp-Golomb unsigned (H.264 ue(v)).
    pub(crate) fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            // 32 leading zeros would not fit a u32; such a header is corrupt.
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        u32::try_from((1u64 << zeros) - 1 + u64::from(rest)).ok()
    }

    /// Exp-Golomb signed (H.264 se(v)).
    pub(crate) fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_and_exp_golomb_fields() {
        // 1 | 010 (ue=1) | 011 (ue=2) | 00100 (ue=3) | 1 (ue=0) | 00101 (se: k=4 -> -2)
        let data = [0b1010_0110, 0b0100_1001, 0b0100_0000];
        let mut r = BitReader::new(&data);
        assert_eq!(r.bit(), Some(1));
        assert_eq!(r.ue(), Some(1));
        assert_eq!(r.ue(), Some(2));
        assert_eq!(r.ue(), Some(3));
        assert_eq!(r.ue(), Some(0));
        assert_eq!(r.se(), Some(-2));
        let mut r = BitReader::new(&[0xAB]);
        assert_eq!(r.bits(4), Some(0xA));
        assert_eq!(r.bits(4), Some(0xB));
        assert_eq!(r.bit(), None);
    }
}
