use super::*;

fn sample(key: Option<&[u8]>) -> Vec<u8> {
    Builder::new(method::ALLOCATE, Class::Request, [9; 12])
        .attr(attr::USERNAME, b"1700000000:p_x")
        .u32(attr::REQUESTED_TRANSPORT, 17 << 24)
        .xor_address(
            attr::XOR_PEER_ADDRESS,
            "192.0.2.1:5000".parse().expect("addr"),
        )
        .xor_address(
            attr::XOR_PEER_ADDRESS,
            "[2001:db8::7]:6000".parse().expect("addr"),
        )
        .finish(key)
}

#[test]
fn round_trip_with_integrity_and_fingerprint() {
    let raw = sample(Some(b"key"));
    let m = Message::parse(&raw).expect("parse");
    assert_eq!((m.method, m.class), (method::ALLOCATE, Class::Request));
    assert_eq!(m.tid, [9; 12]);
    assert_eq!(m.text(attr::USERNAME), Some("1700000000:p_x"));
    assert_eq!(m.u32(attr::REQUESTED_TRANSPORT), Some(17 << 24));
    let peers: Vec<_> = m
        .all(attr::XOR_PEER_ADDRESS)
        .map(|v| m.xor_address(v).expect("address"))
        .collect();
    assert_eq!(
        peers,
        vec![
            "192.0.2.1:5000".parse::<SocketAddr>().expect("a"),
            "[2001:db8::7]:6000".parse().expect("a")
        ]
    );
    assert!(m.verify(b"key"));
    assert!(!m.verify(b"other"));
    let plain = sample(None);
    assert!(!Message::parse(&plain).expect("parse").verify(b"key"));
}

#[test]
fn method_and_class_bits() {
    for (m, c) in [
        (method::BINDING, Class::Success),
        (method::CHANNEL_BIND, Class::Error),
        (method::DATA, Class::Indication),
        (method::REFRESH, Class::Request),
    ] {
        let raw = Builder::new(m, c, [1; 12]).finish(None);
        let p = Message::parse(&raw).expect("parse");
        assert_eq!((p.method, p.class), (m, c));
    }
    // A Binding success response is 0x0101 on the wire (RFC 8489 5).
    let raw = Builder::new(method::BINDING, Class::Success, [1; 12]).finish(None);
    assert_eq!(&raw[..2], &[0x01, 0x01]);
}

#[test]
fn rfc5769_sample_request_verifies() {
    // RFC 5769 2.1: a request with short-term credentials, password "VOkJxbRl1RmTxUk/WvJxBt".
    let hex = concat!(
        "000100582112a442b7e7a701bc34d686fa87dfae",
        "802200105354554e207465737420636c69656e74",
        "002400046e0001ff80290008932ff9b151263b36",
        "000600096576746a3a68367659202020",
        "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2",
        "80280004e57a3bcf",
    );
    let raw: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    let m = Message::parse(&raw).expect("parse");
    assert_eq!(m.text(attr::USERNAME), Some("evtj:h6vY"));
    assert!(m.verify(b"VOkJxbRl1RmTxUk/WvJxBt"));
}

#[test]
fn tampering_and_truncation_are_refused() {
    let raw = sample(Some(b"key"));
    let mut flipped = raw.clone();
    flipped[30] ^= 1;
    assert_eq!(
        Message::parse(&flipped).err(),
        Some(ParseError::BadFingerprint)
    );
    for n in 0..raw.len() {
        assert!(Message::parse(&raw[..n]).is_err(), "prefix of {n}");
    }
    // An attribute claiming more than is there.
    let mut long = Builder::new(method::BINDING, Class::Request, [1; 12])
        .attr(attr::USERNAME, b"abcd")
        .finish(None);
    long[22..24].copy_from_slice(&200u16.to_be_bytes());
    assert!(Message::parse(&long).is_err());
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = sample(Some(b"key"));
    for i in 0..20_000 {
        let mut b = valid.clone();
        let flips = 1 + (next() % 8) as usize;
        for _ in 0..flips {
            let at = (next() as usize) % b.len();
            b[at] = next() as u8;
        }
        b.truncate(20 + (next() as usize) % (b.len() - 19));
        if i % 2 == 0 {
            // Keep the length field consistent so that attribute parsing is reached.
            let l = (b.len() - 20) as u16;
            b[2..4].copy_from_slice(&l.to_be_bytes());
        }
        if let Ok(m) = Message::parse(&b) {
            let _ = m.verify(b"key");
            let _ = m.unknown_required();
            for v in m.all(attr::XOR_PEER_ADDRESS) {
                let _ = m.xor_address(v);
            }
        }
        let _ = parse_channel_data(&b);
    }
}

#[test]
fn unknown_comprehension_required_attributes_are_listed() {
    let raw = Builder::new(method::ALLOCATE, Class::Request, [1; 12])
        .attr(0x0018, &[0x80, 0, 0, 0]) // EVEN-PORT
        .attr(0x001A, &[]) // DONT-FRAGMENT
        .attr(0x8030, &[1, 2, 3, 4]) // comprehension-optional: ignored
        .finish(None);
    let m = Message::parse(&raw).expect("parse");
    assert_eq!(m.unknown_required(), vec![0x0018, 0x001A]);
}

#[test]
fn channel_data() {
    let b = super::channel_data(0x4001, b"hello", true);
    assert_eq!(b.len(), 12);
    assert_eq!(parse_channel_data(&b), Some((0x4001, &b"hello"[..])));
    assert_eq!(
        parse_channel_data(&super::channel_data(0x5000, b"x", false)),
        None
    );
    assert_eq!(parse_channel_data(&[0x40, 0x00, 0x00, 0x09, 1]), None);
}
