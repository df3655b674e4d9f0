//! A log-linear histogram of microsecond values (delays), cheap to record and to merge, so a load
//! generator can report percentiles over millions of frames without keeping the samples.
//!
//! Values below 64 µs have their own bucket; above, every power of two is split into 32 buckets,
//! so a percentile is within about 3% of the true value. Values from about 18 minutes up share
//! the last bucket. Negative values (clock steps) count as 0.

/// Values below this are exact.
const LINEAR: u64 = 64;
/// log2(LINEAR): the first power of two split into sub-buckets.
const FIRST_EXP: u32 = 6;
/// Sub-buckets per power of two, as a bit count (32).
const SUB_BITS: u32 = 5;
/// Largest power of two with its own buckets (2^30 µs ≈ 18 min).
const LAST_EXP: u32 = 30;
/// Number of buckets.
pub const BUCKETS: usize = LINEAR as usize + ((LAST_EXP - FIRST_EXP + 1) << SUB_BITS) as usize;

#[derive(Clone, Debug, Default)]
pub struct DelayHistogram {
    /// Up to the highest bucket used so far: empty until the first sample (a track that never
    /// receives costs nothing), and delays of milliseconds need half of the buckets. A load
    /// generator keeps several per simulated participant.
    counts: Vec<u64>,
    total: u64,
    /// The bucket of the last sample: the next one is likely near it (for prefetching).
    last: usize,
}

impl PartialEq for DelayHistogram {
    /// Equal counts, however far each one's buckets were grown.
    fn eq(&self, other: &Self) -> bool {
        let (short, long) = if self.counts.len() <= other.counts.len() {
            (&self.counts, &other.counts)
        } else {
            (&other.counts, &self.counts)
        };
        self.total == other.total
            && long[..short.len()] == short[..]
            && long[short.len()..].iter().all(|c| *c == 0)
    }
}

impl Eq for DelayHistogram {}

fn bucket(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = (63 - v.leading_zeros()).min(LAST_EXP);
    if e == LAST_EXP && v >> LAST_EXP > 1 {
        return BUCKETS - 1;
    }
    let sub = (v >> (e - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    LINEAR as usize + (((e - FIRST_EXP) << SUB_BITS) as usize) + sub as usize
}

/// The smallest value of bucket `i`, and its width.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < LINEAR as usize {
        return (i as u64, 1);
    }
    let j = i - LINEAR as usize;
    let e = FIRST_EXP + (j >> SUB_BITS) as u32;
    let sub = (j & ((1 << SUB_BITS) - 1)) as u64;
    let width = 1u64 << (e - SUB_BITS);
    ((1u64 << e) + sub * width, width)
}

impl DelayHistogram {
    pub fn record(&mut self, us: i64) {
        let b = bucket(us.max(0) as u64);
        if b >= self.counts.len() {
            self.counts.resize(b + 1, 0);
        }
        self.counts[b] += 1;
        self.total += 1;
        self.last = b;
    }

    /// Where the next sample is likely to be counted: the last one's bucket.
    pub fn hot(&self) -> *const u64 {
        self.counts.as_ptr().wrapping_add(self.last)
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn merge(&mut self, other: &DelayHistogram) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// What was recorded after `earlier` (an older copy of this histogram) was taken.
    pub fn since(&self, earlier: &DelayHistogram) -> DelayHistogram {
        if earlier.counts.is_empty() {
            return self.clone();
        }
        let mut d = self.clone();
        for (a, b) in d.counts.iter_mut().zip(&earlier.counts) {
            *a = a.saturating_sub(*b);
        }
        d.total = d.counts.iter().sum();
        d
    }

    /// The value below which a fraction `q` (0..=1) of the samples lie (the middle of the
    /// bucket that holds it); None when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        // The rank of the wanted sample, 1-based: ceil(q * n), at least 1.
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, width) = bucket_range(i);
                return Some(lo + width / 2);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_in_order() {
        let mut last = 0;
        for i in 1..BUCKETS {
            let (lo, w) = bucket_range(i);
            assert!(lo > last, "bucket {i} starts after the previous");
            assert_eq!(bucket(lo), i);
            assert_eq!(bucket(lo + w - 1), i);
            last = lo;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_three_percent() {
        let mut h = DelayHistogram::default();
        assert_eq!(h.quantile(0.5), None);
        for v in 1..=10_000i64 {
            h.record(v);
        }
        for (q, want) in [(0.5, 5000.0), (0.99, 9900.0), (1.0, 10_000.0)] {
            let got = h.quantile(q).expect("samples") as f64;
            assert!((got - want).abs() / want < 0.03, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(0.0), Some(1));
        h.record(-5);
        assert_eq!(h.quantile(0.0), Some(0), "negative delays count as 0");
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = DelayHistogram::default();
        let mut b = DelayHistogram::default();
        a.record(10);
        b.record(1000);
        b.record(1000);
        a.merge(&b);
        a.merge(&DelayHistogram::default());
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.34).map(|v| v > 900), Some(true));
        assert_eq!(a.quantile(0.33), Some(10));
        let later = {
            let mut l = a.clone();
            l.record(50);
            l
        };
        let d = later.since(&a);
        assert_eq!((d.count(), d.quantile(0.5)), (1, Some(50)));
        assert_eq!(a.since(&DelayHistogram::default()), a);
    }

    #[test]
    fn buckets_grow_only_as_far_as_needed() {
        let mut h = DelayHistogram::default();
        h.record(5);
        assert_eq!(h.counts.len(), 6);
        h.record(2_000);
        let n = h.counts.len();
        assert_eq!(n, bucket(2_000) + 1);
        assert!(n < BUCKETS / 2);
        // A shorter histogram merges into a longer one and the other way round.
        let mut long = DelayHistogram::default();
        long.record(10_000_000);
        let mut a = h.clone();
        a.merge(&long);
        let mut b = long.clone();
        b.merge(&h);
        assert_eq!(a, b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(1.0).map(|v| v > 9_000_000), Some(true));
        // Equality ignores buckets grown but empty.
        let mut padded = h.clone();
        padded.counts.resize(BUCKETS, 0);
        assert_eq!(padded, h);
        assert_ne!(h, long);
    }
}
