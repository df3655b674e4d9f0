//! RTP headers (RFC 3550 5.1, header extensions RFC 8285) as far as a receiver needs them, and
//! extending 16-bit sequence numbers.

/// The fixed header and what follows it, of one RTP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub marker: bool,
    pub payload_type: u8,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Fixed header, CSRCs and extensions: where the (encrypted) payload starts.
    pub len: usize,
    /// The P bit: the payload ends with padding whose length is its last octet.
    pub padding: bool,
    /// The transport-wide sequence number (the extension with the id asked for).
    pub transport_seq: Option<u16>,
}

/// RTP (not RTCP) by RFC 5761 4: RTCP packet types 192-223 sit where RTP has M + PT.
pub(crate) fn is_rtcp(buf: &[u8]) -> bool {
    buf.get(1).is_some_and(|b| (192..=223).contains(b))
}

/// Parses an RTP header; `twcc_id` is the id of the transport-wide-cc extension, if negotiated.
/// None if it is not a well-formed RTP version 2 header.
pub(crate) fn parse(buf: &[u8], twcc_id: Option<u8>) -> Option<Header> {
    if buf.len() < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let csrcs = usize::from(buf[0] & 0x0f);
    let mut len = 12 + 4 * csrcs;
    let mut transport_seq = None;
    if buf[0] & 0x10 != 0 {
        let ext = buf.get(len..len + 4)?;
        let profile = u16::from_be_bytes([ext[0], ext[1]]);
        let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        let body = buf.get(len + 4..len + 4 + 4 * words)?;
        len += 4 + 4 * words;
        if let Some(id) = twcc_id {
            transport_seq = find_extension(profile, body, id)
                .filter(|v| v.len() >= 2)
                .map(|v| u16::from_be_bytes([v[0], v[1]]));
        }
    }
    if buf.len() < len {
        return None;
    }
    Some(Header {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7f,
        seq: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
        len,
        padding: buf[0] & 0x20 != 0,
        transport_seq,
    })
}

/// The value of extension `id` in a one-byte (0xBEDE) or two-byte (0x100X) extension block.
fn find_extension(profile: u16, mut body: &[u8], id: u8) -> Option<&[u8]> {
    let two_byte = profile & 0xfff0 == 0x1000;
    if profile != 0xbede && !two_byte {
        return None;
    }
    while let Some(&b) = body.first() {
        if b == 0 {
            // Padding between elements.
            body = &body[1..];
            continue;
        }
        let (eid, len, head) = if two_byte {
            (b, usize::from(*body.get(1)?), 2)
        } else {
            // One-byte form: id 15 ends the block.
            if b >> 4 == 15 {
                return None;
            }
            (b >> 4, usize::from(b & 0x0f) + 1, 1)
        };
        let value = body.get(head..head + len)?;
        if eid == id {
            return Some(value);
        }
        body = &body[head + len..];
    }
    None
}

/// The payload without RTP padding (RFC 3550 5.1: the last octet counts the padding, itself
/// included). None if the count does not fit.
pub(crate) fn unpad(payload: &[u8], padding: bool) -> Option<&[u8]> {
    if !padding {
        return Some(payload);
    }
    let n = usize::from(*payload.last()?);
    if n == 0 || n > payload.len() {
        return None;
    }
    Some(&payload[..payload.len() - n])
}

/// Extends 16-bit sequence numbers to 64 bits (the SRTP index: RFC 3711 3.3.1's ROC estimate).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SeqExt {
    max: Option<u64>,
}

impl SeqExt {
    /// The extended number nearest the highest one accepted so far.
    pub fn extend(&self, seq: u16) -> u64 {
        let Some(max) = self.max else {
            return u64::from(seq);
        };
        let c = (max & !0xffff) | u64::from(seq);
        if c + 0x8000 < max {
            c + 0x1_0000
        } else if c > max + 0x8000 && c >= 0x1_0000 {
            c - 0x1_0000
        } else {
            c
        }
    }

    /// Records a number that checked out (the packet authenticated).
    pub fn accept(&mut self, ext: u64) {
        self.max = Some(self.max.map_or(ext, |m| m.max(ext)));
    }

    pub fn max(&self) -> Option<u64> {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(ext: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x80,
            0x60 | 0x80,
            0x12,
            0x34,
            0,
            0,
            0x03,
            0xe8,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        if !ext.is_empty() {
            p[0] |= 0x10;
            p.extend_from_slice(ext);
        }
        p.extend_from_slice(b"payload");
        p
    }

    #[test]
    fn the_fixed_header_and_extensions_are_read() {
        let h = parse(&packet(&[]), Some(3)).expect("rtp");
        assert_eq!(
            (h.marker, h.payload_type, h.seq, h.timestamp, h.ssrc, h.len),
            (true, 0x60, 0x1234, 1000, 0xdeadbeef, 12)
        );
        assert_eq!(h.transport_seq, None);
        // One-byte extensions: id 1 (mid "0"), padding, id 3 (two bytes: 0x0102).
        let one = [0xbe, 0xde, 0, 2, 0x10, b'0', 0, 0x31, 0x01, 0x02, 0, 0];
        let h = parse(&packet(&one), Some(3)).expect("rtp");
        assert_eq!((h.len, h.transport_seq), (24, Some(0x0102)));
        assert_eq!(
            parse(&packet(&one), Some(5)).expect("rtp").transport_seq,
            None
        );
        // Two-byte extensions: id 3, length 2.
        let two = [0x10, 0x00, 0, 1, 3, 2, 0xab, 0xcd];
        assert_eq!(
            parse(&packet(&two), Some(3)).expect("rtp").transport_seq,
            Some(0xabcd)
        );
        // CSRCs move the payload.
        let mut p = packet(&[]);
        p[0] |= 1;
        assert_eq!(parse(&p, None).expect("rtp").len, 16);
    }

    #[test]
    fn malformed_headers_are_refused_not_read_past() {
        assert!(parse(&[0x80; 11], None).is_none());
        assert!(parse(&[0x40; 12], None).is_none(), "version 1");
        // An extension block longer than the packet.
        let mut p = packet(&[0xbe, 0xde, 0, 9]);
        p.truncate(20);
        assert!(parse(&p, Some(1)).is_none());
        // 15 CSRCs in a short packet.
        let mut p = packet(&[]);
        p[0] |= 0x0f;
        assert!(parse(&p, None).is_none());
        // An element running past its block is ignored, not read.
        let bad = [0xbe, 0xde, 0, 1, 0x3f, 1, 2, 3];
        assert_eq!(
            parse(&packet(&bad), Some(3)).expect("rtp").transport_seq,
            None
        );
    }

    #[test]
    fn rtcp_is_told_from_rtp() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 205]));
        assert!(!is_rtcp(&[0x80, 96]));
        assert!(!is_rtcp(&[0x80, 0x80 | 111]));
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn padding_is_removed_when_it_fits() {
        assert_eq!(unpad(&[1, 2, 0, 0, 3], true), Some(&[1, 2][..]));
        assert_eq!(unpad(&[0, 0, 3], true), Some(&[][..]), "padding only");
        assert_eq!(unpad(&[1, 2, 9], true), None);
        assert_eq!(unpad(&[1, 2, 0], true), None);
        assert_eq!(unpad(&[], true), None);
        assert_eq!(unpad(&[1, 2, 9], false), Some(&[1, 2, 9][..]));
    }

    #[test]
    fn sequence_numbers_extend_across_wraps_and_reorders() {
        let mut s = SeqExt::default();
        assert_eq!(s.extend(65530), 65530);
        s.accept(65530);
        assert_eq!(s.extend(65535), 65535);
        assert_eq!(s.extend(2), 65538, "wrapped");
        s.accept(65538);
        assert_eq!(s.extend(65534), 65534, "late, from before the wrap");
        assert_eq!(s.extend(3), 65539);
        s.accept(65534);
        assert_eq!(
            s.max(),
            Some(65538),
            "a late one does not lower the maximum"
        );
        let mut low = SeqExt::default();
        low.accept(5);
        assert_eq!(low.extend(65535), 65535, "no negative index near zero");
    }
}
