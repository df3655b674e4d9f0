//! The RTCP a receiver sends (receiver reports, RFC 3550 6.4.2; generic NACK, RFC 4585 6.2.1) and
//! reads (sender reports, for the round-trip fields of its own reports).

/// One report block of a receiver report (RFC 3550 6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    /// 24 bits, signed (duplicates can make it negative).
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    /// The middle 32 bits of the last sender report's NTP time, 0 if none came.
    pub last_sr: u32,
    /// Since that report, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// Report blocks one receiver report holds at most (its count field has 5 bits).
pub(crate) const MAX_BLOCKS: usize = 31;

/// Appends a receiver report (PT 201) with up to [`MAX_BLOCKS`] of `blocks`.
pub(crate) fn write_receiver_report(sender_ssrc: u32, blocks: &[ReportBlock], out: &mut Vec<u8>) {
    let blocks = &blocks[..blocks.len().min(MAX_BLOCKS)];
    let words = 1 + 6 * blocks.len() as u16;
    out.push(0x80 | blocks.len() as u8);
    out.push(201);
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    for b in blocks {
        out.extend_from_slice(&b.ssrc.to_be_bytes());
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32) & 0x00ff_ffff;
        out.extend_from_slice(&((u32::from(b.fraction_lost) << 24) | lost).to_be_bytes());
        out.extend_from_slice(&b.highest_seq.to_be_bytes());
        out.extend_from_slice(&b.jitter.to_be_bytes());
        out.extend_from_slice(&b.last_sr.to_be_bytes());
        out.extend_from_slice(&b.delay_since_last_sr.to_be_bytes());
    }
}

/// Appends a generic NACK (PT 205, FMT 1) for `missing`, ascending (wrapping) sequence numbers:
/// each FCI entry names one packet and, in its bitmask, up to 16 after it.
pub(crate) fn write_nack(sender_ssrc: u32, media_ssrc: u32, missing: &[u16], out: &mut Vec<u8>) {
    if missing.is_empty() {
        return;
    }
    let start = out.len();
    out.extend_from_slice(&[0x80 | 1, 205, 0, 0]);
    out.extend_from_slice(&sender_ssrc.to_be_bytes());
    out.extend_from_slice(&media_ssrc.to_be_bytes());
    let mut i = 0;
    while i < missing.len() {
        let pid = missing[i];
        let mut blp: u16 = 0;
        i += 1;
        while let Some(&s) = missing.get(i) {
            let d = s.wrapping_sub(pid);
            if !(1..=16).contains(&d) {
                break;
            }
            blp |= 1 << (d - 1);
            i += 1;
        }
        out.extend_from_slice(&pid.to_be_bytes());
        out.extend_from_slice(&blp.to_be_bytes());
    }
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

/// The sender reports in a (decrypted) compound packet: (SSRC, middle 32 bits of its NTP time).
/// Stops at the first malformed packet.
pub(crate) fn sender_reports(mut buf: &[u8], found: &mut impl FnMut(u32, u32)) {
    while buf.len() >= 4 {
        if buf[0] >> 6 != 2 {
            return;
        }
        let len = (usize::from(u16::from_be_bytes([buf[2], buf[3]])) + 1) * 4;
        let Some(packet) = buf.get(..len) else {
            return;
        };
        if packet[1] == 200 && packet.len() >= 28 {
            let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
            let ntp = u32::from_be_bytes([packet[10], packet[11], packet[12], packet[13]]);
            found(ssrc, ntp);
        }
        buf = &buf[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_report_has_its_blocks_in_order() {
        let b = ReportBlock {
            ssrc: 0x0102_0304,
            fraction_lost: 64,
            cumulative_lost: -2,
            highest_seq: 0x0001_0005,
            jitter: 90,
            last_sr: 0xaabb_ccdd,
            delay_since_last_sr: 65_536,
        };
        let mut out = Vec::new();
        write_receiver_report(7, &[b, b], &mut out);
        assert_eq!(out.len(), 8 + 2 * 24);
        assert_eq!(&out[..8], &[0x82, 201, 0, 13, 0, 0, 0, 7]);
        assert_eq!(&out[8..12], &[1, 2, 3, 4]);
        assert_eq!(&out[12..16], &[64, 0xff, 0xff, 0xfe], "24-bit signed loss");
        assert_eq!(&out[16..20], &[0, 1, 0, 5]);
        assert_eq!(&out[24..28], &[0xaa, 0xbb, 0xcc, 0xdd]);
        let mut many = Vec::new();
        write_receiver_report(7, &[b; 40], &mut many);
        assert_eq!(many[0] & 0x1f, 31, "at most 31 blocks");
        assert_eq!(many.len(), 8 + 31 * 24);
        let mut none = Vec::new();
        write_receiver_report(7, &[], &mut none);
        assert_eq!(none, [0x80, 201, 0, 1, 0, 0, 0, 7]);
    }

    #[test]
    fn nacks_pack_neighbours_into_the_bitmask() {
        let mut out = Vec::new();
        write_nack(1, 2, &[65_534, 65_535, 1, 20, 40], &mut out);
        // 65534 with 65535 (bit 0) and 1 (bit 2, across the wrap); 20; 40.
        assert_eq!(out.len(), 12 + 3 * 4);
        assert_eq!(&out[..4], &[0x81, 205, 0, 5]);
        assert_eq!(&out[12..16], &[0xff, 0xfe, 0b0000_0000, 0b0000_0101]);
        assert_eq!(&out[16..20], &[0, 20, 0, 0]);
        assert_eq!(&out[20..24], &[0, 40, 0, 0]);
        let mut none = Vec::new();
        write_nack(1, 2, &[], &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn sender_reports_are_found_in_a_compound_and_garbage_stops_the_walk() {
        // An RR (no blocks), then an SR from SSRC 9 with NTP 0x11223344_55667788.
        let mut buf = vec![0x80, 201, 0, 1, 0, 0, 0, 1];
        buf.extend_from_slice(&[0x80, 200, 0, 6, 0, 0, 0, 9]);
        buf.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]);
        buf.extend_from_slice(&[0; 12]);
        let mut found = Vec::new();
        sender_reports(&buf, &mut |s, n| found.push((s, n)));
        assert_eq!(found, [(9, 0x3344_5566)]);
        // A length past the end, or a wrong version: nothing read past it.
        let mut bad = buf.clone();
        bad[3] = 40;
        found.clear();
        sender_reports(&bad, &mut |s, n| found.push((s, n)));
        assert!(found.is_empty());
        bad = buf.clone();
        bad[8] = 0x40;
        sender_reports(&bad, &mut |s, n| found.push((s, n)));
        assert!(found.is_empty());
    }
}
