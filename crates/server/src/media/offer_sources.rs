//! What a client offer would publish: the sources of its sending m-lines. Read here, before the offer
//! reaches the media plane, so that the one policy can refuse a source a token does not grant.

use convene_proto::{Source, TrackSource};

/// The sources of the m-lines of `sdp` that send (`sendrecv` or `sendonly`, port not 0): as
/// `tracks` declares them by mid, else microphone for audio and camera for video, as the server
/// takes undeclared lines.
pub fn sending_sources(sdp: &str, tracks: &[TrackSource]) -> Vec<Source> {
    let mut out = Vec::new();
    for section in sdp.split("\nm=").skip(1) {
        let mut lines = section.lines();
        let first = lines.next().unwrap_or_default();
        let mut fields = first.split_whitespace();
        let kind = fields.next().unwrap_or_default();
        let rejected = fields.next() == Some("0");
        let (mut mid, mut sends) = (None, true);
        for line in lines {
            let line = line.trim_end();
            if let Some(m) = line.strip_prefix("a=mid:") {
                mid = Some(m);
            }
            match line {
                "a=recvonly" | "a=inactive" => sends = false,
                "a=sendrecv" | "a=sendonly" => sends = true,
                _ => {}
            }
        }
        if rejected || !sends {
            continue;
        }
        let declared = mid.and_then(|m| tracks.iter().find(|t| t.mid == m).map(|t| t.source));
        let source = match (declared, kind) {
            (Some(s), _) => s,
            (None, "audio") => Source::Microphone,
            (None, "video") => Source::Camera,
            _ => continue,
        };
        out.push(source);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_lines_and_their_sources() {
        let sdp = "v=0\r\ns=-\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:2\r\na=recvonly\r\n\
            m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:3\r\na=sendonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:4\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:5\r\n";
        let declared = [TrackSource {
            mid: "4".into(),
            source: Source::Screen,
        }];
        assert_eq!(
            sending_sources(sdp, &declared),
            vec![Source::Microphone, Source::Camera, Source::Screen]
        );
        assert!(sending_sources("v=0\r\n", &[]).is_empty());
        assert!(sending_sources("garbage\nm=\nm=audio", &[]).len() <= 1);
    }
}
