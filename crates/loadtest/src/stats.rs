//! Small statistics: percentiles over exact samples, rates, and number formatting.

use std::time::Duration;

use serde::Serialize;

/// The value at quantile `q` (0..=1) of `sorted` (ascending), by the nearest-rank method: the
/// smallest sample with at least a fraction `q` of the samples at or below it.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n);
    Some(sorted[rank - 1])
}

/// p50 / p99 / max of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub samples: usize,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Spread {
    pub fn of_durations_ms(ds: impl IntoIterator<Item = Duration>) -> Spread {
        let mut v: Vec<f64> = ds.into_iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        Spread {
            samples: v.len(),
            p50: percentile(&v, 0.5),
            p99: percentile(&v, 0.99),
            max: v.last().copied(),
        }
    }
}

/// `count` over `secs`, 0 for an empty window.
pub fn per_sec(count: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// A ratio that is 0 when the denominator is.
pub fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// 1234567.8 -> "1,234,568".
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// An optional number with a fixed number of decimals, "-" when absent.
pub fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 0.5), None);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&v, 1.0), Some(100.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[7.0], 0.99), Some(7.0));
        // Two samples: the median is the lower one, p99 the higher.
        assert_eq!(percentile(&[1.0, 2.0], 0.5), Some(1.0));
        assert_eq!(percentile(&[1.0, 2.0], 0.99), Some(2.0));
    }

    #[test]
    fn spread_sorts_its_samples() {
        let s = Spread::of_durations_ms([
            Duration::from_millis(30),
            Duration::from_millis(10),
            Duration::from_millis(20),
        ]);
        assert_eq!(s.samples, 3);
        assert_eq!(s.p50, Some(20.0));
        assert_eq!(s.p99, Some(30.0));
        assert_eq!(s.max, Some(30.0));
        assert_eq!(Spread::of_durations_ms([]).p50, None);
    }

    #[test]
    fn formatting() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
        assert_eq!(thousands(-12_345.0), "-12,345");
        assert_eq!(opt(None, 2), "-");
        assert_eq!(opt(Some(1.234), 1), "1.2");
        assert_eq!(per_sec(10, 0.0), 0.0);
        assert_eq!(per_sec(10, 2.0), 5.0);
        assert_eq!(ratio(1.0, 0.0), 0.0);
    }
}
