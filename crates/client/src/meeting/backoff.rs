//! "Full jitter" backoff, as the browser SDK does it: a uniformly random delay below a ceiling
//! that doubles per attempt, so that the thousands of clients a restart disconnects at once do
//! not all come back in the same millisecond.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The first attempt's ceiling.
pub(crate) const BASE: Duration = Duration::from_millis(250);

/// The ceiling of attempt `attempt` (0 for the first retry): `BASE * 2^attempt`, at most `max`.
pub(crate) fn ceiling(attempt: u32, max: Duration) -> Duration {
    BASE.saturating_mul(1u32 << attempt.min(20)).min(max)
}

/// The delay before attempt `attempt`: `unit` (a random number in 0..1) of its ceiling.
pub(crate) fn delay(attempt: u32, max: Duration, unit: f64) -> Duration {
    ceiling(attempt, max).mul_f64(unit.clamp(0.0, 1.0))
}

/// A random number in 0..1, from the standard library's per-process random hash keys (no
/// dependency for what only needs to differ between clients).
pub(crate) fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_up_to_the_maximum() {
        let max = Duration::from_secs(5);
        assert_eq!(ceiling(0, max), Duration::from_millis(250));
        assert_eq!(ceiling(1, max), Duration::from_millis(500));
        assert_eq!(ceiling(4, max), Duration::from_millis(4000));
        assert_eq!(ceiling(5, max), max, "capped");
        assert_eq!(ceiling(1000, max), max, "no overflow however long it tries");
    }

    #[test]
    fn the_delay_is_a_fraction_of_the_ceiling() {
        let max = Duration::from_secs(5);
        assert_eq!(delay(2, max, 0.0), Duration::ZERO);
        assert_eq!(delay(2, max, 0.5), Duration::from_millis(500));
        assert_eq!(delay(2, max, 7.0), Duration::from_millis(1000), "clamped");
    }

    #[test]
    fn random_units_are_in_range_and_differ() {
        let xs: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let first = xs[0];
        assert!(xs.iter().any(|x| *x != first), "not all the same");
    }
}
