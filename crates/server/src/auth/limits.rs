//! Slowing down password guessing: failed sign-ins are counted per account and per address in a fixed
//! window; past the limit, attempts are refused (429, with Retry-After) without checking the password,
//! until the window ends. In memory on a single node; in a cluster counted in Redis for all nodes
//! (cluster/limits.rs), with this node's own count as the fallback while Redis does not answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
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
    max: (u32, u32),
    /// This node's counts: the only ones on a single node; in a cluster, kept as well, for when
    /// Redis does not answer.
    inner: Mutex<(Counter<String>, Counter<IpAddr>)>,
    shared: OnceLock<Arc<crate::cluster::Cluster>>,
}

impl SignInLimiter {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        Self {
            window,
            max: (per_account, per_address),
            inner: Mutex::new((Counter::new(per_account), Counter::new(per_address))),
            shared: OnceLock::new(),
        }
    }

    /// Counts in the cluster's Redis from now on.
    pub fn share(&self, cluster: Arc<crate::cluster::Cluster>) {
        let _ = self.shared.set(cluster);
    }

    /// None: go on. Some(wait): refused for that long.
    pub async fn check(&self, account: &str, addr: IpAddr, now: Instant) -> Option<Duration> {
        if let Some(c) = self.shared.get() {
            match c.signin_blocked(account, addr, self.max).await {
                Ok(wait) => return wait,
                Err(e) => {
                    tracing::warn!(error = %e, "sign-in limits: Redis failed; this node's count")
                }
            }
        }
        let inner = self.lock();
        let a = inner.0.blocked(&account.to_owned(), now, self.window);
        let b = inner.1.blocked(&addr, now, self.window);
        a.max(b)
    }

    pub async fn failed(&self, account: &str, addr: IpAddr, now: Instant) {
        {
            let mut inner = self.lock();
            inner.0.fail(&account.to_owned(), now, self.window);
            inner.1.fail(&addr, now, self.window);
        }
        if let Some(c) = self.shared.get() {
            if let Err(e) = c.signin_failed(account, addr, self.window).await {
                tracing::warn!(error = %e, "sign-in limits: could not count a failure in Redis");
            }
        }
    }

    /// A right password clears the account's count (not the address's: one good account must not
    /// reset an address that is guessing others).
    pub async fn succeeded(&self, account: &str) {
        self.lock().0.windows.remove(account);
        if let Some(c) = self.shared.get() {
            if let Err(e) = c.signin_succeeded(account).await {
                tracing::warn!(error = %e, "sign-in limits: could not clear a count in Redis");
            }
        }
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

    #[tokio::test]
    async fn accounts_and_addresses_are_limited_for_a_window() {
        let l = SignInLimiter::new(3, 5, Duration::from_secs(60));
        let t0 = Instant::now();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check("ada", ip, t0).await.is_none());
            l.failed("ada", ip, t0).await;
        }
        let wait = l.check("ada", ip, t0).await.expect("blocked");
        assert!(wait <= Duration::from_secs(60));
        assert!(
            l.check("ada", other, t0).await.is_some(),
            "the account, from anywhere"
        );
        assert!(
            l.check("bob", ip, t0).await.is_none(),
            "another account from here, for now"
        );
        l.failed("bob", ip, t0).await;
        l.failed("cleo", ip, t0).await;
        assert!(
            l.check("dan", ip, t0).await.is_some(),
            "the address, for any account"
        );
        assert!(l.check("dan", other, t0).await.is_none());
        let later = t0 + Duration::from_secs(61);
        assert!(l.check("ada", ip, later).await.is_none(), "the window ends");
        l.failed("eve", other, t0).await;
        l.succeeded("eve").await;
        assert!(l.check("eve", other, t0).await.is_none());
    }
}
