//! Slowing down password guessing: failed sign-ins are counted per account and per address in a fixed
//! window; past the limit, attempts are refused (429, with Retry-After) without checking the password,
//! until the window ends. In memory, per node (several nodes share it through Redis later).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys kept per map; past it, expired windows are dropped first. The per-address limit bounds
/// how fast one address can fill the account map.
const MAX_KEYS: usize = 100_000;

struct Window {
    start: Instant,
    failures: u32,
}

/// Events per key in a fixed window (failed sign-ins, joins).
pub struct Counter<K> {
    max: u32,
    windows: HashMap<K, Window>,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            windows: HashMap::new(),
        }
    }

    /// When the key may try again, if it may not now.
    pub fn blocked(&self, key: &K, now: Instant, window: Duration) -> Option<Duration> {
        let w = self.windows.get(key)?;
        let end = w.start + window;
        (w.failures >= self.max && now < end).then(|| end - now)
    }

    /// Counts one event of the key.
    pub fn fail(&mut self, key: &K, now: Instant, window: Duration) {
        if self.windows.len() >= MAX_KEYS {
            self.windows.retain(|_, w| now < w.start + window);
            if self.windows.len() >= MAX_KEYS {
                tracing::warn!("sign-in limiter full; forgetting the oldest failures");
                self.windows.clear();
            }
        }
        let w = self.windows.entry(key.clone()).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now >= w.start + window {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

pub struct SignInLimiter {
    window: Duration,
    inner: Mutex<(Counter<String>, Counter<IpAddr>)>,
}

impl SignInLimiter {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        Self {
            window,
            inner: Mutex::new((Counter::new(per_account), Counter::new(per_address))),
        }
    }

    /// None: go on. Some(wait): refused for that long.
    pub fn check(&self, account: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        let inner = self.lock();
        let a = inner.0.blocked(&account.to_owned(), now, self.window);
        let b = inner.1.blocked(&addr, now, self.window);
        a.max(b)
    }

    pub fn failed(&self, account: &str, addr: IpAddr, now: Instant) {
        let mut inner = self.lock();
        inner.0.fail(&account.to_owned(), now, self.window);
        inner.1.fail(&addr, now, self.window);
    }

    /// A right password clears the account's count (not the address's: one good account must not
    /// reset an address that is guessing others).
    pub fn succeeded(&self, account: &str) {
        self.lock().0.windows.remove(account);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Counter<String>, Counter<IpAddr>)> {
        // Plain maps updated in short sections: a panic elsewhere leaves them usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Joins per address per minute: a flood of joins from one address is refused before it reaches a room.
pub struct JoinLimiter {
    inner: Mutex<Counter<IpAddr>>,
}

impl JoinLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            inner: Mutex::new(Counter::new(per_minute)),
        }
    }

    /// Counts a join from `addr`; Some(wait) when it is over the limit.
    pub fn join(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        const MINUTE: Duration = Duration::from_secs(60);
        // Plain map updated in short sections: a panic elsewhere leaves it usable.
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = c.blocked(&addr, now, MINUTE) {
            return Some(wait);
        }
        c.fail(&addr, now, MINUTE);
        None
    }
}

/// Rooms planned per account per hour.
pub struct PlanLimiter {
    inner: Mutex<Counter<i64>>,
}

impl PlanLimiter {
    pub fn new(per_hour: u32) -> Self {
        Self {
            inner: Mutex::new(Counter::new(per_hour)),
        }
    }

    /// Counts a room planned by `account`; Some(wait) when it is over the limit.
    pub fn plan(&self, account: i64, now: Instant) -> Option<Duration> {
        const HOUR: Duration = Duration::from_secs(3600);
        // Plain map updated in short sections: a panic elsewhere leaves it usable.
        let mut c = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(wait) = c.blocked(&account, now, HOUR) {
            return Some(wait);
        }
        c.fail(&account, now, HOUR);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_addresses_are_limited_for_a_window() {
        let l = SignInLimiter::new(3, 5, Duration::from_secs(60));
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check("ada", ip, t0).is_none());
            l.failed("ada", ip, t0);
        }
        let wait = l.check("ada", ip, t0).expect("blocked");
        assert!(wait <= Duration::from_secs(60));
        assert!(
            l.check("ada", other, t0).is_some(),
            "the account, from anywhere"
        );
        assert!(
            l.check("bob", ip, t0).is_none(),
            "another account from here, for now"
        );
        l.failed("bob", ip, t0);
        l.failed("cleo", ip, t0);
        assert!(
            l.check("dan", ip, t0).is_some(),
            "the address, for any account"
        );
        assert!(l.check("dan", other, t0).is_none());
        let later = t0 + Duration::from_secs(61);
        assert!(l.check("ada", ip, later).is_none(), "the window ends");
        l.failed("eve", other, t0);
        l.succeeded("eve");
        assert!(l.check("eve", other, t0).is_none());
    }
}
