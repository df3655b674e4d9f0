//! An address block ("10.0.0.0/8", "2001:db8::/32"), as `turn.allow_peers` lists them.

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub net: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// "a.b.c.d/n" or "x::y/n"; a bare address is a block of one. Bits past the prefix must be 0,
    /// so that a typo ("10.0.0.1/8") is not read as a wider block than was meant.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, p)) => (ip.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let ip = s.trim().parse::<IpAddr>().ok()?;
                (ip, bits(ip))
            }
        };
        if prefix > bits(ip) {
            return None;
        }
        let c = Cidr { net: ip, prefix };
        (mask(ip, prefix) == to_u128(ip)).then_some(c)
    }

    pub const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Cidr {
        Cidr {
            net: IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)),
            prefix,
        }
    }

    pub const fn v6(segments: [u16; 8], prefix: u8) -> Cidr {
        let [a, b, c, d, e, f, g, h] = segments;
        Cidr {
            net: IpAddr::V6(std::net::Ipv6Addr::new(a, b, c, d, e, f, g, h)),
            prefix,
        }
    }

    /// Whether `ip` lies in the block (never across address families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.net.is_ipv4() == ip.is_ipv4() && mask(ip, self.prefix) == to_u128(self.net)
    }
}

fn bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `ip` with the bits past `prefix` cleared.
fn mask(ip: IpAddr, prefix: u8) -> u128 {
    let host_bits = u32::from(bits(ip).saturating_sub(prefix));
    let v = to_u128(ip);
    match host_bits {
        128 => 0,
        n => v & !((1u128 << n) - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn parses_and_matches() {
        let c = Cidr::parse("10.0.0.0/8").expect("cidr");
        assert!(c.contains(ip("10.255.1.2")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")), "never across families");
        let all = Cidr::parse("0.0.0.0/0").expect("cidr");
        assert!(all.contains(ip("203.0.113.9")));
        let all6 = Cidr::parse("::/0").expect("cidr");
        assert!(all6.contains(ip("2001:db8::1")) && !all6.contains(ip("1.2.3.4")));
        let one = Cidr::parse("192.0.2.7").expect("bare address");
        assert_eq!(one.prefix, 32);
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse("2001:db8::/32").expect("cidr");
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
    }

    #[test]
    fn refuses_nonsense() {
        for s in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.1/8",
            "10.0.0.0/",
            "10.0.0.0/x",
            "host/8",
            "10.0.0.0/-1",
        ] {
            assert_eq!(Cidr::parse(s), None, "{s}");
        }
    }
}
