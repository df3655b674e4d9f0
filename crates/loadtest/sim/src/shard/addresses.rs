//! The loopback addresses shared-socket sessions get, one each, so the server tells them apart.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};

/// Addresses for sessions: 127.1.0.1, 127.1.0.2 ... (all of 127.0.0.0/8 is loopback).
pub(crate) struct AddressPool {
    next: AtomicU32,
}

impl AddressPool {
    const FIRST: u32 = u32::from_be_bytes([127, 1, 0, 1]);
    const LAST: u32 = u32::from_be_bytes([127, 255, 255, 254]);

    pub fn new() -> Self {
        AddressPool {
            next: AtomicU32::new(0),
        }
    }

    pub(super) fn take(&self) -> Option<Ipv4Addr> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let ip = Self::FIRST.checked_add(n).filter(|ip| *ip <= Self::LAST)?;
        Some(Ipv4Addr::from(ip))
    }
}
