//! Files cut like a kill -9: what reached the operating system reads back up to the cut.

mod common;

use std::time::Duration;

use common::{assert_same, ms, vp8_stream, write_all};
use convene_record::{read_file, summarize, Ending, TrackSpec, VideoCodec};

/// Offsets of the Cluster element IDs in a file.
fn cluster_offsets(bytes: &[u8]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x1f, 0x43, 0xb6, 0x75])
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn a_file_cut_like_a_kill_reads_up_to_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let sent = vp8_stream();
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &sent);
    // A killed process never writes a trailer: cut the unfinished file.
    w.flush_cluster().expect("flush");
    let bytes = std::fs::read(&path).expect("read");
    let clusters = cluster_offsets(&bytes);
    assert!(
        clusters.len() >= 9,
        "a cluster per second: {}",
        clusters.len()
    );
    for (n, extra) in [(3usize, 0usize), (5, 40), (8, 700)] {
        let cut = dir.path().join(format!("cut-{n}-{extra}.webm"));
        std::fs::write(&cut, &bytes[..clusters[n] + extra]).expect("write cut");
        let (track, read) = read_file(&cut).expect("a cut file still demuxes");
        assert_eq!(
            track.ending == Ending::Clean,
            extra == 0,
            "cut {n}+{extra}: {:?}",
            track.ending
        );
        // Every frame of the clusters before the cut survives, and whole blocks after it.
        let start = cluster_start(&bytes, clusters[n]);
        let before = sent.iter().take_while(|f| f.pts < start).count();
        assert!(
            read.len() >= before,
            "cut {n}+{extra}: {} < {before}",
            read.len()
        );
        assert!(read.len() < sent.len());
        assert_same(&read, &sent[..read.len()], false);
        let summary = summarize(&cut).expect("summary");
        assert_eq!(summary.frames, read.len() as u64);
        assert_eq!(
            summary.last.map(|t| t.as_duration()),
            read.last().map(|f| f.pts)
        );
    }
    drop(w);
}

/// The Timestamp of the cluster at `at` (its first child).
fn cluster_start(bytes: &[u8], at: usize) -> Duration {
    // Cluster ID (4) + unknown size (1 byte 0xff or 8 bytes 0x01ff..), then Timestamp 0xe7, size, value.
    let mut p = at + 4;
    p += if bytes[p] == 0xff { 1 } else { 8 };
    assert_eq!(bytes[p], 0xe7, "cluster timestamp element");
    let len = usize::from(bytes[p + 1] & 0x7f);
    let value = bytes[p + 2..p + 2 + len]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    ms(value)
}

#[test]
fn an_unfinished_file_holds_what_reached_the_os() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let sent = vp8_stream();
    let w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &sent);
    // What a kill -9 leaves: the bytes handed to the OS, with no trailer.
    let copy = dir.path().join("killed.webm");
    std::fs::copy(&path, &copy).expect("copy");
    let (track, read) = read_file(&copy).expect("an unfinished file demuxes");
    assert_eq!(track.duration_ms, None, "never finalised");
    // Every keyframe and every second of media reaches the OS: only the last second may be missing.
    let last = read.last().expect("frames").pts;
    assert!(
        last >= sent.last().expect("sent").pts - ms(1_000),
        "last read {last:?}"
    );
    assert_same(&read, &sent[..read.len()], false);
    drop(w);
}

fn find(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern)
        .map(|(i, _)| i)
        .collect()
}

/// Where the Segment's payload starts (Seek positions count from there).
fn segment_data_start(bytes: &[u8]) -> usize {
    let at = find(bytes, &[0x18, 0x53, 0x80, 0x67])[0] + 4;
    let size_len = bytes[at].leading_zeros() as usize + 1;
    at + size_len
}

#[test]
fn the_seekhead_points_at_the_cues_only_once_they_exist() {
    const CUES_ENTRY: [u8; 13] = [
        0x4d, 0xbb, 0x92, 0x53, 0xab, 0x84, 0x1c, 0x53, 0xbb, 0x6b, 0x53, 0xac, 0x88,
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp8), &vp8_stream());
    w.flush_cluster().expect("flush");
    let unfinished = std::fs::read(&path).expect("read");
    assert!(
        find(&unfinished, &CUES_ENTRY).is_empty(),
        "no Cues entry while there are no Cues"
    );
    w.finish().expect("finish");
    let done = std::fs::read(&path).expect("read");
    let entries = find(&done, &CUES_ENTRY);
    assert_eq!(entries.len(), 1, "one Cues entry once finished");
    let p = entries[0] + CUES_ENTRY.len();
    let pos = u64::from_be_bytes(done[p..p + 8].try_into().expect("8 bytes")) as usize;
    let cues = segment_data_start(&done) + pos;
    assert_eq!(
        &done[cues..cues + 4],
        &[0x1c, 0x53, 0xbb, 0x6b],
        "the entry leads to the Cues"
    );
}
