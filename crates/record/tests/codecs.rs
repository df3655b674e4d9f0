//! VP9, H.264 and AV1 files: each codec's configuration and picture size, read back.

mod common;

use common::{assert_same, ms, write_all, Sent, HD};
use convene_record::synth::{
    av1_keyframe_unit, h264_baseline_size, h264_baseline_sps, vp9_keyframe_header,
};
use convene_record::{
    read_file, Frame, FrameSize, RecordError, TrackSpec, TrackWriter, VideoCodec,
};

#[test]
fn vp9_keyframes_set_the_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let size = FrameSize {
        width: 960,
        height: 540,
    };
    let sent: Vec<Sent> = (0..40)
        .map(|i| {
            let mut data = if i % 20 == 0 {
                vp9_keyframe_header(size).to_vec()
            } else {
                vec![0x86, 0x00] // marker 10, profile 0, inter frame
            };
            data.extend([i as u8; 100]);
            Sent {
                pts: ms(i * 40),
                keyframe: i % 20 == 0,
                data,
            }
        })
        .collect();
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::Vp9), &sent);
    w.finish().expect("finish");
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "V_VP9");
    assert_eq!(track.pixel_size, Some((960, 540)));
    assert_same(&read, &sent, false);
}

#[test]
fn h264_goes_in_matroska_length_prefixed_with_its_avcc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.mkv");
    let sps = h264_baseline_sps(40, 30, None);
    let pps = vec![0x68, 0xce, 0x3c, 0x80];
    let mut sent = Vec::new();
    let mut expected = Vec::new();
    for i in 0..90u64 {
        let key = i % 30 == 0;
        let slice: Vec<u8> = std::iter::once(if key { 0x65 } else { 0x41 })
            .chain((0..300).map(|j| (j as u64 * 7 + i) as u8 | 1))
            .collect();
        let mut au = Vec::new();
        let mut stored = Vec::new();
        let mut nals = vec![];
        if key {
            nals.push(sps.clone());
            nals.push(pps.clone());
        }
        nals.push(slice);
        for (k, nal) in nals.iter().enumerate() {
            // Mix 4- and 3-byte start codes, as encoders do.
            au.extend_from_slice(if k == 0 {
                &[0, 0, 0, 1][..]
            } else {
                &[0, 0, 1][..]
            });
            au.extend_from_slice(nal);
            stored.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            stored.extend_from_slice(nal);
        }
        sent.push(Sent {
            pts: ms(2_000 + i * 33),
            keyframe: key,
            data: au,
        });
        expected.push(Sent {
            pts: ms(2_000 + i * 33),
            keyframe: key,
            data: stored,
        });
    }
    let mut w = write_all(&path, TrackSpec::video(VideoCodec::H264), &sent);
    let stats = w.finish().expect("finish");
    assert_eq!(stats.sizes[0].size, h264_baseline_size(40, 30, None));
    let stored: usize = expected.iter().map(|f| f.data.len()).sum();
    assert_eq!(
        stats.frame_bytes, stored as u64,
        "bytes as the file stores them"
    );
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.doc_type, "matroska");
    assert_eq!(track.codec_id, "V_MPEG4/ISO/AVC");
    assert_eq!(track.pixel_size, Some((640, 480)));
    let mut avcc = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    avcc.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&sps);
    avcc.push(1);
    avcc.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    avcc.extend_from_slice(&pps);
    assert_eq!(track.codec_private, Some(avcc));
    assert_same(&read, &expected, false);
}

#[test]
fn an_h264_file_needs_parameter_sets_in_its_first_keyframe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut w = TrackWriter::create(
        &dir.path().join("x.mkv"),
        TrackSpec::video(VideoCodec::H264),
    )
    .expect("create");
    let idr_only = [0, 0, 0, 1, 0x65, 1, 2, 3];
    let frame = Frame {
        pts: ms(0),
        keyframe: true,
        data: &idr_only,
    };
    assert!(matches!(
        w.write_frame(frame),
        Err(RecordError::MissingCodecConfig(_))
    ));
}

#[test]
fn av1_takes_its_av1c_and_size_from_the_sequence_header() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cam.webm");
    let small = FrameSize {
        width: 320,
        height: 180,
    };
    let sent: Vec<Sent> = (0..60u64)
        .map(|i| {
            let payload: Vec<u8> = (0..120).map(|j| (j + i) as u8).collect();
            let key = i % 20 == 0;
            let data = if key {
                av1_keyframe_unit(if i < 40 { HD } else { small }, &payload)
            } else {
                let mut d = vec![0x32, payload.len() as u8]; // OBU_FRAME with a size field
                d.extend(payload);
                d
            };
            Sent {
                pts: ms(i * 33),
                keyframe: key,
                data,
            }
        })
        .collect();
    let mut w = TrackWriter::create(&path, TrackSpec::video(VideoCodec::Av1)).expect("create");
    let bare = Sent {
        pts: ms(0),
        keyframe: true,
        data: vec![0x32, 1, 0],
    };
    assert!(matches!(
        w.write_frame(bare.frame()),
        Err(RecordError::MissingCodecConfig(_))
    ));
    for f in &sent {
        w.write_frame(f.frame()).expect("write");
    }
    let stats = w.finish().expect("finish");
    let sizes: Vec<FrameSize> = stats.sizes.iter().map(|c| c.size).collect();
    assert_eq!(sizes, vec![HD, small]);
    let (track, read) = read_file(&path).expect("read back");
    assert_eq!(track.codec_id, "V_AV1");
    assert_eq!(track.pixel_size, Some((1280, 720)));
    let seq_obu = &sent[0].data[..sent[0].data.len() - 122];
    let mut av1c = vec![0x81, 0x08, 0x0c, 0x00];
    av1c.extend_from_slice(seq_obu);
    assert_eq!(track.codec_private, Some(av1c));
    assert_same(&read, &sent, false);
}
