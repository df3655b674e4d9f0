//! The byte encoding of the messages between media cores on different nodes
//! (`convene_media::RelayDecoder`). An input is a sequence of messages, each a two-byte length
//! and its bytes, decoded in order by one decoder, so that a packet may find the codec parameters
//! an earlier message brought. What it accepts must be whole: each message decoded is encoded
//! again, and those bytes must decode, and encode once more to the same bytes (the first encoding
//! kept every field the wire carries).
#![no_main]

use std::time::Instant;

use convene_fuzz::bytes::Bytes;
use convene_media::{RelayDecoder, RelayEncoder};
use libfuzzer_sys::fuzz_target;

/// Most messages one input holds.
const MAX_MESSAGES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut b = Bytes::new(data);
    let mut decoder = RelayDecoder::new();
    // The re-encoding's link: one encoder and decoder, then an encoder of what that decoder read.
    let (mut encoder, mut peer, mut again) =
        (RelayEncoder::new(), RelayDecoder::new(), RelayEncoder::new());
    for _ in 0..MAX_MESSAGES {
        if b.is_empty() {
            break;
        }
        let frame = b.chunk(usize::from(u16::MAX));
        let Ok(msg) = decoder.decode(frame, now) else {
            continue;
        };
        let mut once = Vec::new();
        encoder.encode(&msg, &mut once);
        let read = match peer.decode(&once, now) {
            Ok(m) => m,
            Err(e) => panic!("{msg:?} encoded as {once:?} does not decode: {e}"),
        };
        let mut twice = Vec::new();
        again.encode(&read, &mut twice);
        assert_eq!(once, twice, "{msg:?} changed through its encoding");
    }
});
