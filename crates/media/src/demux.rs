//! Classifying datagrams on the shared socket (RFC 7983) and cheap structural checks,
//! so garbage is dropped with a reason before it reaches a participant's WebRTC stack.

use crate::error::DropReason;

/// Shortest SRTP/SRTCP authentication tag (HMAC-SHA1-80 = 10 bytes; AEAD tags are 16).
const MIN_AUTH_TAG: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Stun,
    Dtls,
    Rtp,
    Rtcp,
}

/// Classify by first byte (RFC 7983 §7) and check the header fits in the datagram.
pub(crate) fn classify(buf: &[u8]) -> Result<Kind, DropReason> {
    let Some(&b0) = buf.first() else {
        return Err(DropReason::Empty);
    };
    match b0 {
        0..=3 => {
            // STUN header is 20 bytes; the magic cookie tells STUN from other junk.
            if buf.len() < 20 || buf[4..8] != [0x21, 0x12, 0xA4, 0x42] {
                return Err(DropReason::MalformedStun);
            }
            Ok(Kind::Stun)
        }
        20..=63 => {
            // DTLS record header: type(1) version(2) epoch(2) seq(6) length(2).
            if buf.len() < 13 {
                return Err(DropReason::Truncated);
            }
            let len = u16::from_be_bytes([buf[11], buf[12]]) as usize;
            if buf.len() < 13 + len {
                return Err(DropReason::Truncated);
            }
            Ok(Kind::Dtls)
        }
        128..=191 => {
            if buf.len() < 2 {
                return Err(DropReason::Truncated);
            }
            let pt = buf[1] & 0x7f;
            if (64..96).contains(&pt) {
                check_rtcp(buf).map(|_| Kind::Rtcp)
            } else {
                check_rtp(buf).map(|_| Kind::Rtp)
            }
        }
        _ => Err(DropReason::NotWebRtc),
    }
}

fn check_rtp(buf: &[u8]) -> Result<(), DropReason> {
    if buf.len() < 12 {
        return Err(DropReason::Truncated);
    }
    let cc = (buf[0] & 0x0f) as usize;
    let mut header = 12 + 4 * cc;
    if buf[0] & 0x10 != 0 {
        // Header extension: profile(2) length-in-words(2) then the words.
        if buf.len() < header + 4 {
            return Err(DropReason::Truncated);
        }
        let words = u16::from_be_bytes([buf[header + 2], buf[header + 3]]) as usize;
        header += 4 + 4 * words;
    }
    if buf.len() < header + MIN_AUTH_TAG {
        return Err(DropReason::Truncated);
    }
    Ok(())
}

fn check_rtcp(buf: &[u8]) -> Result<(), DropReason> {
    // Header(8: V/P/RC, PT, length, sender SSRC) + SRTCP index(4) + tag.
    if buf.len() < 8 + 4 + MIN_AUTH_TAG {
        return Err(DropReason::Truncated);
    }
    let words = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    // The first (unencrypted length) packet must fit before the SRTCP trailer.
    if buf.len() < 4 + 4 * words + 4 + MIN_AUTH_TAG {
        return Err(DropReason::Truncated);
    }
    Ok(())
}

/// The USERNAME attribute of a STUN message, if it has one; a cheap walk over the attributes that
/// never reads past the buffer.
pub fn stun_username(buf: &[u8]) -> Option<&str> {
    if buf.len() < 20 || buf[0] > 3 || buf[4..8] != [0x21, 0x12, 0xA4, 0x42] {
        return None;
    }
    let mut at = 20;
    while at + 4 <= buf.len() {
        let ty = u16::from_be_bytes([buf[at], buf[at + 1]]);
        let len = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize;
        let value = buf.get(at + 4..at + 4 + len)?;
        if ty == 0x0006 {
            return std::str::from_utf8(value).ok();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// The local (server) ufrag of a STUN binding request: USERNAME is `<our ufrag>:<their ufrag>`.
pub fn local_ufrag(username: &str) -> Option<&str> {
    username.split_once(':').map(|(local, _)| local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(classify(&[]), Err(DropReason::Empty));
        assert_eq!(classify(&[200; 40]), Err(DropReason::NotWebRtc));
        assert_eq!(classify(&[0; 10]), Err(DropReason::MalformedStun));
        let mut stun = [0u8; 20];
        stun[4..8].copy_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
        assert_eq!(classify(&stun), Ok(Kind::Stun));
        // RTP with 1 CSRC but only a 12 byte header.
        let mut rtp = vec![0x81, 96];
        rtp.resize(14, 0);
        assert_eq!(classify(&rtp), Err(DropReason::Truncated));
        rtp.resize(12 + 4 + 10, 0);
        assert_eq!(classify(&rtp), Ok(Kind::Rtp));
        // RTCP (PT 200 -> 72 after masking) claiming 6 words.
        let mut rtcp = vec![0x80, 200, 0, 6];
        rtcp.resize(22, 0);
        assert_eq!(classify(&rtcp), Err(DropReason::Truncated));
        rtcp.resize(4 + 24 + 14, 0);
        assert_eq!(classify(&rtcp), Ok(Kind::Rtcp));
        assert_eq!(classify(&[22, 0xfe, 0xfd]), Err(DropReason::Truncated));
    }

    #[test]
    fn ufrag() {
        assert_eq!(local_ufrag("abc:def"), Some("abc"));
        assert_eq!(local_ufrag("abc"), None);
    }
}
