//! Binomial 95% intervals that stay honest at 0% and 100% (method version 2): Clopper–Pearson
//! for the score, Wilson for shares of replies, and draws from the Clopper–Pearson confidence
//! distribution for rank intervals. Each takes a "successes" count that may be fractional (a
//! Kaplan–Meier share times the complaints it rests on).

use rand::Rng;
use rand_distr::{Beta, Distribution};

/// The normal quantile of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;
const ALPHA: f64 = 0.05;

/// The exact (Clopper–Pearson) 95% interval of a proportion from `k` successes out of `n`: its
/// coverage is at least 95% for every true proportion, 0 and 1 included. `None` when `n` is 0.
pub fn clopper_pearson(k: f64, n: f64) -> Option<[f64; 2]> {
    if n <= 0.0 {
        return None;
    }
    let k = k.clamp(0.0, n);
    let lo = if k <= 0.0 {
        0.0
    } else {
        statrs::function::beta::inv_beta_reg(k, n - k + 1.0, ALPHA / 2.0)
    };
    let hi = if k >= n {
        1.0
    } else {
        statrs::function::beta::inv_beta_reg(k + 1.0, n - k, 1.0 - ALPHA / 2.0)
    };
    Some([lo, hi])
}

/// The Wilson score 95% interval of `k` successes out of `n`. `None` when `n` is 0.
pub fn wilson(k: f64, n: f64) -> Option<[f64; 2]> {
    if n <= 0.0 {
        return None;
    }
    let p = (k / n).clamp(0.0, 1.0);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some([(centre - half).max(0.0), (centre + half).min(1.0)])
}

/// One draw of a proportion from the Clopper–Pearson confidence distribution of `k` out of `n`:
/// half the time from Beta(k, n − k + 1) (whose 2.5% quantile is the interval's lower bound),
/// half the time from Beta(k + 1, n − k) (whose 97.5% quantile is its upper bound). Brands'
/// draws ranked together give rank intervals consistent with the score intervals, including at
/// 0% and 100%, where a bootstrap of the complaints never moves.
pub fn draw(k: f64, n: f64, rng: &mut impl Rng) -> f64 {
    let k = k.clamp(0.0, n);
    let (a, b) = if rng.random::<bool>() {
        (k, n - k + 1.0)
    } else {
        (k + 1.0, n - k)
    };
    if a <= 0.0 {
        return 0.0;
    }
    if b <= 0.0 {
        return 1.0;
    }
    Beta::new(a, b).map_or(k / n, |d| d.sample(rng))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_the_textbook_values() {
        // All of 17 answered: [0.025^(1/17), 1] = [0.8049, 1].
        let [lo, hi] = clopper_pearson(17.0, 17.0).unwrap();
        assert!((lo - 0.025f64.powf(1.0 / 17.0)).abs() < 1e-9, "{lo}");
        assert_eq!(hi, 1.0);
        // None of 30: [0, 1 − 0.025^(1/30)] = [0, 0.1157].
        let [lo, hi] = clopper_pearson(0.0, 30.0).unwrap();
        assert_eq!(lo, 0.0);
        assert!(
            (hi - (1.0 - 0.025f64.powf(1.0 / 30.0))).abs() < 1e-9,
            "{hi}"
        );
        // 5 of 10: [0.1871, 0.8129] (Clopper & Pearson 1934; any statistics table).
        let [lo, hi] = clopper_pearson(5.0, 10.0).unwrap();
        assert!(
            (lo - 0.1871).abs() < 1e-4 && (hi - 0.8129).abs() < 1e-4,
            "{lo} {hi}"
        );
        assert_eq!(clopper_pearson(0.0, 0.0), None);
    }

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 0 of 10: [0, 0.2775]; 10 of 10: [0.7225, 1] (Newcombe 1998, table I).
        let [lo, hi] = wilson(0.0, 10.0).unwrap();
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4, "{hi}");
        let [lo, hi] = wilson(10.0, 10.0).unwrap();
        assert!(
            (lo - 0.7225).abs() < 1e-4 && (hi - 1.0).abs() < 1e-12,
            "{lo}"
        );
        // 81 of 263: [0.2553, 0.3662] (Newcombe 1998).
        let [lo, hi] = wilson(81.0, 263.0).unwrap();
        assert!(
            (lo - 0.2553).abs() < 1e-4 && (hi - 0.3662).abs() < 1e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn draws_fall_in_the_interval_about_95_times_in_100() {
        use rand::SeedableRng;
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
        for (k, n) in [(17.0, 17.0), (0.0, 30.0), (12.5, 40.0)] {
            let [lo, hi] = clopper_pearson(k, n).unwrap();
            let inside = (0..20_000)
                .filter(|_| (lo..=hi).contains(&draw(k, n, &mut rng)))
                .count() as f64
                / 20_000.0;
            assert!((0.94..=0.99).contains(&inside), "{k}/{n}: {inside}");
        }
    }
}
