//! Token buckets: one per connection for every message, with a strike count so that a client that
//! keeps flooding is closed, and plain ones for single kinds of message (reactions).

use std::time::{Duration, Instant};

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop this message; `notify` is true for the first drop in a while, so the client is told once
    /// rather than once per dropped message.
    Drop {
        notify: bool,
    },
    /// The client kept flooding: close the connection.
    Close,
}

/// Tokens that refill at `rate` per second up to `burst`; each allowed event takes one.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_sec: f64, burst: u32, now: Instant) -> Self {
        Self {
            rate: per_sec,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: now,
        }
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return true;
        }
        false
    }
}

pub struct RateLimiter {
    bucket: TokenBucket,
    close_after: u32,
    drops_in_window: u32,
    window_start: Instant,
    last_notice: Option<Instant>,
}

const STRIKE_WINDOW: Duration = Duration::from_secs(10);
const NOTICE_EVERY: Duration = Duration::from_secs(1);

impl RateLimiter {
    pub fn new(per_sec: u32, burst: u32, close_after: u32, now: Instant) -> Self {
        Self {
            bucket: TokenBucket::new(f64::from(per_sec), burst, now),
            close_after,
            drops_in_window: 0,
            window_start: now,
            last_notice: None,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.bucket.take(now) {
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start) > STRIKE_WINDOW {
            self.window_start = now;
            self.drops_in_window = 0;
        }
        self.drops_in_window += 1;
        if self.drops_in_window >= self.close_after {
            return Verdict::Close;
        }
        let notify = self
            .last_notice
            .is_none_or(|t| now.saturating_duration_since(t) >= NOTICE_EVERY);
        if notify {
            self.last_notice = Some(now);
        }
        Verdict::Drop { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_burst_then_rate_then_closes() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(10, 5, 4, t0);
        for _ in 0..5 {
            assert_eq!(rl.check(t0), Verdict::Allow);
        }
        assert_eq!(rl.check(t0), Verdict::Drop { notify: true });
        assert_eq!(rl.check(t0), Verdict::Drop { notify: false });
        // A tenth of a second later one more token is there.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(rl.check(t1), Verdict::Allow);
        assert_eq!(rl.check(t1), Verdict::Drop { notify: false });
        assert_eq!(rl.check(t1), Verdict::Close);
    }

    #[test]
    fn a_bucket_refills_at_a_fractional_rate_up_to_its_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0.5, 2, t0);
        assert!(b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(
            !b.take(t0 + Duration::from_millis(1900)),
            "half a token per second"
        );
        assert!(b.take(t0 + Duration::from_millis(2100)));
        // A long pause saves up no more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(b.take(later) && b.take(later));
        assert!(!b.take(later));
    }

    #[test]
    fn strikes_expire() {
        let t0 = Instant::now();
        let mut rl = RateLimiter::new(1, 1, 3, t0);
        assert_eq!(rl.check(t0), Verdict::Allow);
        assert!(matches!(rl.check(t0), Verdict::Drop { .. }));
        assert!(matches!(rl.check(t0), Verdict::Drop { .. }));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(rl.check(later), Verdict::Allow);
        assert!(matches!(rl.check(later), Verdict::Drop { .. }));
    }
}
