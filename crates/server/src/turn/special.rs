//! Special-purpose addresses (IANA's IPv4 and IPv6 Special-Purpose Address Registries, the
//! multicast ranges and the space IANA has not allocated for global unicast) that a relay must
//! not reach unless the configuration says so: relaying to them would let a client reach this
//! machine's loopback services or the operator's private network through us (coturn's
//! CVE-2020-26262 was such a relay to loopback).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::cidr::Cidr;

/// The registry block an address belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Special {
    pub block: Cidr,
    pub name: &'static str,
}

const V4: &[(Cidr, &str)] = &[
    (Cidr::v4(0, 0, 0, 0, 8), "this network"),
    (Cidr::v4(10, 0, 0, 0, 8), "private"),
    (Cidr::v4(100, 64, 0, 0, 10), "shared address space (CGN)"),
    (Cidr::v4(127, 0, 0, 0, 8), "loopback"),
    (Cidr::v4(169, 254, 0, 0, 16), "link-local"),
    (Cidr::v4(172, 16, 0, 0, 12), "private"),
    // DS-Lite, PCP and TURN anycast, NAT64 discovery and the rest of IETF protocol assignments.
    (Cidr::v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    (Cidr::v4(192, 0, 2, 0, 24), "documentation (TEST-NET-1)"),
    (Cidr::v4(192, 31, 196, 0, 24), "AS112"),
    (Cidr::v4(192, 52, 193, 0, 24), "AMT"),
    (
        Cidr::v4(192, 88, 99, 0, 24),
        "6to4 relay anycast (deprecated)",
    ),
    (Cidr::v4(192, 168, 0, 0, 16), "private"),
    (Cidr::v4(192, 175, 48, 0, 24), "AS112 direct delegation"),
    (Cidr::v4(198, 18, 0, 0, 15), "benchmarking"),
    (Cidr::v4(198, 51, 100, 0, 24), "documentation (TEST-NET-2)"),
    (Cidr::v4(203, 0, 113, 0, 24), "documentation (TEST-NET-3)"),
    (Cidr::v4(224, 0, 0, 0, 4), "multicast"),
    // Includes the limited broadcast address 255.255.255.255.
    (Cidr::v4(240, 0, 0, 0, 4), "reserved"),
];

const V6: &[(Cidr, &str)] = &[
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (Cidr::v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    // Deprecated IPv4-compatible addresses (::a.b.c.d) and the rest of ::/8.
    (
        Cidr::v6([0, 0, 0, 0, 0, 0, 0, 0], 8),
        "reserved by IETF (::/8)",
    ),
    (
        Cidr::v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        "local-use NAT64",
    ),
    (Cidr::v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (Cidr::v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64), "dummy prefix"),
    (
        Cidr::v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        "documentation",
    ),
    // Teredo, PCP and TURN anycast, benchmarking, AMT, AS112, ORCHID, drone remote ID.
    (
        Cidr::v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments",
    ),
    // 6to4 embeds an IPv4 address that may be anything, this machine's loopback included.
    (Cidr::v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), "6to4"),
    (Cidr::v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48), "AS112"),
    (Cidr::v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (Cidr::v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), "SRv6 SIDs"),
    (Cidr::v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), "unique local"),
    (Cidr::v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (
        Cidr::v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "site-local (deprecated)",
    ),
    (Cidr::v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// Global unicast: the only IPv6 space IANA allocates to the internet (outside it all is special).
const GLOBAL_UNICAST: Cidr = Cidr::v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);

/// The address a peer address means: an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 well-known-prefix
/// (`64:ff9b::a.b.c.d`) address is the IPv4 address it carries, so that both are judged (and
/// matched against our media addresses) as that address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| {
        let o = v6.octets();
        Ipv4Addr::new(o[12], o[13], o[14], o[15])
    })
}

/// The special-purpose block `ip` (read as [`canonical`]) belongs to, if any: the narrowest one
/// listed, so that an `allow_peers` entry is compared with the block that matters.
pub fn classify(ip: IpAddr) -> Option<Special> {
    let ip = canonical(ip);
    let table = if ip.is_ipv4() { V4 } else { V6 };
    let found = table
        .iter()
        .filter(|(b, _)| b.contains(ip))
        .max_by_key(|(b, _)| b.prefix)
        .map(|&(block, name)| Special { block, name });
    if found.is_some() || ip.is_ipv4() || GLOBAL_UNICAST.contains(ip) {
        return found;
    }
    // Unallocated IPv6 space: the /3 it lies in (IANA's IPv6 Address Space registry is in /3s
    // and narrower; none outside 2000::/3 is global unicast).
    let c = Cidr::parse(&format!("{}/3", mask_v6(ip, 3))).unwrap_or(GLOBAL_UNICAST);
    Some(Special {
        block: c,
        name: "not global unicast",
    })
}

fn mask_v6(ip: IpAddr, prefix: u32) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let v = u128::from(v6) & !(u128::MAX >> prefix);
            IpAddr::V6(Ipv6Addr::from(v))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Option<&'static str> {
        classify(s.parse().expect("address")).map(|c| c.name)
    }

    #[test]
    fn ipv4_special_purpose_blocks() {
        let cases = [
            ("0.0.0.0", "this network"),
            ("0.1.2.3", "this network"),
            ("10.0.0.1", "private"),
            ("100.64.0.1", "shared address space (CGN)"),
            ("100.127.255.254", "shared address space (CGN)"),
            ("127.0.0.1", "loopback"),
            ("127.255.255.255", "loopback"),
            ("169.254.169.254", "link-local"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.0.0.10", "IETF protocol assignments"),
            ("192.0.0.170", "IETF protocol assignments"),
            ("192.0.2.1", "documentation (TEST-NET-1)"),
            ("192.31.196.1", "AS112"),
            ("192.52.193.1", "AMT"),
            ("192.88.99.1", "6to4 relay anycast (deprecated)"),
            ("192.168.1.1", "private"),
            ("192.175.48.1", "AS112 direct delegation"),
            ("198.18.0.1", "benchmarking"),
            ("198.19.255.255", "benchmarking"),
            ("198.51.100.1", "documentation (TEST-NET-2)"),
            ("203.0.113.1", "documentation (TEST-NET-3)"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("240.0.0.1", "reserved"),
            ("255.255.255.255", "reserved"),
        ];
        for (ip, want) in cases {
            assert_eq!(name(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn ipv4_public_addresses_are_not_special() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.255",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "9.255.255.255",
            "11.0.0.0",
            "126.255.255.255",
            "128.0.0.0",
        ] {
            assert_eq!(name(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_special_purpose_blocks() {
        let cases = [
            ("::", "unspecified"),
            ("::1", "loopback"),
            ("::127.0.0.1", "reserved by IETF (::/8)"),
            ("::10.0.0.1", "reserved by IETF (::/8)"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "IETF protocol assignments"),
            ("2001:2::1", "IETF protocol assignments"),
            ("2001:1ff::1", "IETF protocol assignments"),
            ("2002:7f00:1::1", "6to4"),
            ("2002:808:808::1", "6to4"),
            ("2620:4f:8000::1", "AS112"),
            ("3fff::1", "documentation"),
            ("5f00::1", "SRv6 SIDs"),
            ("fc00::1", "unique local"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf::1", "link-local"),
            ("fec0::1", "site-local (deprecated)"),
            ("ff02::1", "multicast"),
            ("ff05::1:3", "multicast"),
            ("4000::1", "not global unicast"),
            ("e000::1", "not global unicast"),
        ];
        for (ip, want) in cases {
            assert_eq!(name(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn ipv6_global_unicast_is_not_special() {
        for ip in ["2a00:1450::1", "2606:4700::1111", "2001:200::1", "3ffe::1"] {
            assert_eq!(name(ip), None, "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_as_ipv4() {
        // IPv4-mapped and NAT64 forms carry the IPv4 address's class with them.
        assert_eq!(name("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(name("::ffff:10.1.2.3"), Some("private"));
        assert_eq!(name("::ffff:169.254.1.1"), Some("link-local"));
        assert_eq!(name("::ffff:224.0.0.1"), Some("multicast"));
        assert_eq!(name("::ffff:8.8.8.8"), None);
        assert_eq!(name("64:ff9b::127.0.0.1"), Some("loopback"));
        assert_eq!(name("64:ff9b::192.168.0.1"), Some("private"));
        assert_eq!(name("64:ff9b::8.8.8.8"), None);
        // The block found is the IPv4 one, so that allow_peers compares with it.
        let c = classify("::ffff:127.0.0.1".parse().expect("ip")).expect("special");
        assert_eq!(c.block, Cidr::v4(127, 0, 0, 0, 8));
        assert_eq!(
            canonical("::ffff:1.2.3.4".parse().expect("ip")),
            "1.2.3.4".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn narrowest_block_wins() {
        let c = classify("::1".parse().expect("ip")).expect("special");
        assert_eq!(c.block.prefix, 128);
        let c = classify("2001:db8::1".parse().expect("ip")).expect("special");
        assert_eq!(c.block.prefix, 32);
        let c = classify("4000::1".parse().expect("ip")).expect("special");
        assert_eq!(c.block, Cidr::v6([0x4000, 0, 0, 0, 0, 0, 0, 0], 3));
    }
}
