//! Kaplan–Meier estimation of S(t), the share of complaints still unanswered t seconds after they
//! were made, from right-censored observations (a complaint not answered by as-of is followed for
//! as-of − complaint time and then censored).
//!
//! Conventions (`content/methodology.md`): at a tied time, answers are counted before
//! censorings (a complaint censored at t was still waiting at t); S is a right-continuous step
//! function, so a reply at exactly t counts as "within t"; beyond the longest follow-up S is
//! undefined unless it has already reached 0.

/// One complaint as the estimator sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Obs {
    /// Seconds followed: until the first reply, or until as-of when unanswered.
    pub t: i64,
    pub answered: bool,
}

#[derive(Clone, Copy, Debug)]
struct Step {
    t: i64,
    /// Answers up to and including t.
    answered: u64,
    /// S just after t.
    s: f64,
    /// Greenwood's running sum Σ d / (n (n − d)) up to t (infinite once S = 0).
    greenwood: f64,
}

/// The fitted step function.
#[derive(Clone, Debug)]
pub struct KaplanMeier {
    steps: Vec<Step>,
    /// Every distinct time with the number still followed at it (T ≥ t).
    risk: Vec<(i64, u64)>,
    /// Longest follow-up, answered or not.
    t_max: i64,
    /// Observations (total weight).
    pub n: u64,
}

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

impl KaplanMeier {
    /// Fits S from observations (sorted here).
    pub fn fit(obs: &[Obs]) -> KaplanMeier {
        let mut sorted = obs.to_vec();
        sort(&mut sorted);
        KaplanMeier::fit_sorted(&sorted, None)
    }

    /// Fits S from observations sorted by [`sort`], each counted `weights[i]` times (a bootstrap
    /// resample) or once.
    pub fn fit_sorted(obs: &[Obs], weights: Option<&[u32]>) -> KaplanMeier {
        let w = |i: usize| weights.map_or(1, |w| u64::from(w[i]));
        let n: u64 = (0..obs.len()).map(w).sum();
        let mut at_risk = n;
        let mut s = 1.0;
        let mut greenwood = 0.0;
        let mut steps = Vec::new();
        let mut risk = Vec::new();
        let mut answered = 0;
        let mut t_max = 0;
        let mut i = 0;
        while i < obs.len() {
            let t = obs[i].t;
            let (mut d, mut c) = (0u64, 0u64);
            while i < obs.len() && obs[i].t == t {
                if obs[i].answered {
                    d += w(i)
                } else {
                    c += w(i)
                }
                i += 1;
            }
            if d + c > 0 {
                t_max = t;
                risk.push((t, at_risk));
            }
            if d > 0 {
                answered += d;
                let nr = at_risk as f64;
                s *= 1.0 - d as f64 / nr;
                greenwood += if at_risk > d {
                    d as f64 / (nr * (at_risk - d) as f64)
                } else {
                    f64::INFINITY
                };
                steps.push(Step {
                    t,
                    answered,
                    s,
                    greenwood,
                });
            }
            at_risk -= d + c;
        }
        KaplanMeier {
            steps,
            risk,
            t_max,
            n,
        }
    }

    fn step_at(&self, t: i64) -> Option<&Step> {
        let k = self.steps.partition_point(|st| st.t <= t);
        k.checked_sub(1).map(|k| &self.steps[k])
    }

    /// S(t), or `None` when no complaint was followed that long and S had not reached 0.
    pub fn survival(&self, t: i64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let s = self.step_at(t).map_or(1.0, |st| st.s);
        (t <= self.t_max || s == 0.0).then_some(s)
    }

    /// S at each of `times` (ascending), while defined: the curve a chart draws.
    pub fn curve(&self, times: &[i64]) -> Vec<(i64, f64)> {
        times
            .iter()
            .map_while(|&t| self.survival(t).map(|s| (t, s)))
            .collect()
    }

    /// The step function itself: S from time 0, then at each time with an answer, with its 95%
    /// pointwise band (Greenwood, log-log; the band is `None` where that scale degenerates).
    /// Ends at the longest follow-up. What a chart draws, rather than S sampled at fixed times.
    pub fn steps(&self) -> Vec<(i64, f64, Option<[f64; 2]>)> {
        let mut out = vec![(0, 1.0, None)];
        for st in &self.steps {
            let band = (st.s > 0.0 && st.s < 1.0 && st.greenwood.is_finite()).then(|| {
                let se = st.greenwood.sqrt() / st.s.ln().abs();
                [st.s.powf((Z95 * se).exp()), st.s.powf((-Z95 * se).exp())]
            });
            out.push((st.t, st.s, band));
        }
        if self.t_max > out.last().map_or(0, |p| p.0) {
            let &(_, s, band) = out.last().expect("starts with t = 0");
            out.push((self.t_max, s, band));
        }
        out
    }

    /// 1 − S(t): the share of complaints answered within t seconds.
    pub fn answered_within(&self, t: i64) -> Option<f64> {
        self.survival(t).map(|s| 1.0 - s)
    }

    /// The smallest answer time by which a share `p` of complaints was answered
    /// (S(t) ≤ 1 − p), or `None` when the curve never gets there.
    pub fn quantile(&self, p: f64) -> Option<i64> {
        let target = 1.0 - p;
        self.steps
            .iter()
            .find(|st| st.s <= target + 1e-12)
            .map(|st| st.t)
    }

    /// 95% interval for 1 − S(t): Greenwood's variance on the log-log scale. Where S(t) is 0 or 1
    /// that scale degenerates and the exact binomial (Clopper–Pearson) bound for an all-or-none
    /// outcome is used: m answers out of m gives [0.025^(1/m), 1]; none out of m followed that
    /// long gives [0, 1 − 0.025^(1/m)].
    pub fn answered_within_ci(&self, t: i64) -> Option<(f64, f64)> {
        let s = self.survival(t)?;
        let tail = 0.025f64;
        if s >= 1.0 {
            let m = self.at_risk_at(t);
            return Some((
                0.0,
                if m == 0 {
                    1.0
                } else {
                    1.0 - tail.powf(1.0 / m as f64)
                },
            ));
        }
        if s <= 0.0 {
            let m = self.answered_count_by(t);
            return Some((tail.powf(1.0 / m.max(1) as f64), 1.0));
        }
        let v = self.step_at(t).map_or(0.0, |st| st.greenwood);
        let se = v.sqrt() / s.ln().abs();
        let (s_lo, s_hi) = (s.powf((Z95 * se).exp()), s.powf((-Z95 * se).exp()));
        Some((1.0 - s_hi, 1.0 - s_lo))
    }

    /// Complaints followed at least t seconds (T ≥ t).
    fn at_risk_at(&self, t: i64) -> u64 {
        let k = self.risk.partition_point(|&(ti, _)| ti < t);
        self.risk.get(k).map_or(0, |&(_, n)| n)
    }

    /// Complaints answered within t seconds.
    fn answered_count_by(&self, t: i64) -> u64 {
        self.step_at(t).map_or(0, |st| st.answered)
    }
}

/// Kaplan–Meier evaluated at two times only (the score's 1 h and 24 h), from observations
/// grouped into blocks: a run of consecutive answers (no censoring in between) in the same band
/// contributes Π (1 − dⱼ/nⱼ) = (N − E)/N, so only the block counts matter. A bootstrap resample is
/// then a multinomial draw over the blocks, far cheaper than over the complaints. Agrees with
/// [`KaplanMeier`] (tested), which stays the reference.
#[derive(Clone, Debug)]
pub struct TwoPoints {
    blocks: Vec<Block>,
}

#[derive(Clone, Copy, Debug)]
struct Block {
    answered: bool,
    /// 0: t < t1, 1: t = t1, 2: t1 < t < t2, 3: t = t2, 4: t > t2.
    band: u8,
    count: u64,
}

impl TwoPoints {
    /// Groups observations sorted by [`sort`].
    pub fn new(sorted: &[Obs], t1: i64, t2: i64) -> TwoPoints {
        let mut blocks: Vec<Block> = Vec::new();
        for o in sorted {
            let band = match o.t {
                t if t < t1 => 0,
                t if t == t1 => 1,
                t if t < t2 => 2,
                t if t == t2 => 3,
                _ => 4,
            };
            // Everything after t2 only counts towards the number followed.
            let answered = o.answered && band < 4;
            match blocks.last_mut() {
                Some(b) if b.band == band && b.answered == answered => b.count += 1,
                _ => blocks.push(Block {
                    answered,
                    band,
                    count: 1,
                }),
            }
        }
        TwoPoints { blocks }
    }

    /// Observations per block.
    pub fn counts(&self) -> Vec<u64> {
        self.blocks.iter().map(|b| b.count).collect()
    }

    /// 1 − S(t1) and 1 − S(t2) with block `k` counted `weights[k]` times; `None` where undefined
    /// (as [`KaplanMeier::survival`]).
    pub fn answered_within(&self, weights: &[u64]) -> (Option<f64>, Option<f64>) {
        let mut at_risk: u64 = weights.iter().sum();
        if at_risk == 0 {
            return (None, None);
        }
        let (mut s1, mut s2) = (1.0f64, 1.0f64);
        let (mut seen1, mut seen2) = (false, false);
        for (b, &w) in self.blocks.iter().zip(weights) {
            if w == 0 {
                continue;
            }
            seen1 |= b.band >= 1;
            seen2 |= b.band >= 3;
            if b.answered {
                let f = 1.0 - w as f64 / at_risk as f64;
                if b.band <= 1 {
                    s1 *= f;
                }
                s2 *= f;
            }
            at_risk -= w;
        }
        (
            (seen1 || s1 == 0.0).then_some(1.0 - s1),
            (seen2 || s2 == 0.0).then_some(1.0 - s2),
        )
    }

    /// A resample with replacement of the observations, as block counts: multinomial over the
    /// blocks, drawn as successive binomials.
    pub fn resample(&self, counts: &[u64], rng: &mut impl rand::Rng, out: &mut Vec<u64>) {
        out.clear();
        let mut draws_left: u64 = counts.iter().sum();
        let mut mass_left = draws_left;
        for &c in counts {
            let w = if draws_left == 0 || c == 0 {
                0
            } else if c >= mass_left {
                draws_left
            } else {
                let p = c as f64 / mass_left as f64;
                rand_distr::Distribution::sample(
                    &rand_distr::Binomial::new(draws_left, p).expect("0 < p < 1"),
                    rng,
                )
            };
            out.push(w);
            draws_left -= w;
            mass_left -= c;
        }
    }
}

/// Sorts observations by time, answers before censorings at the same time.
pub fn sort(obs: &mut [Obs]) {
    obs.sort_unstable_by_key(|o| (o.t, !o.answered));
}

/// The order statistic at quantile p of sorted values: `v[round(p (len − 1))]`.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[(p * (sorted.len() - 1) as f64).round() as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: i64) -> Obs {
        Obs { t, answered: true }
    }
    fn cen(t: i64) -> Obs {
        Obs { t, answered: false }
    }

    #[test]
    fn without_censoring_equals_empirical_distribution() {
        let times = [5, 60, 60, 300, 3600, 3601, 7200, 86_400, 90_000, 200_000];
        let km = KaplanMeier::fit(&times.map(ev));
        for t in [
            0, 5, 59, 60, 61, 3599, 3600, 3601, 86_399, 86_400, 100_000, 10_000_000,
        ] {
            let empirical = times.iter().filter(|&&x| x <= t).count() as f64 / times.len() as f64;
            assert!(
                (km.answered_within(t).unwrap() - empirical).abs() < 1e-12,
                "t={t}"
            );
        }
        assert_eq!(km.quantile(0.5), Some(3600));
        assert_eq!(km.quantile(0.9), Some(90_000));
    }

    #[test]
    fn censoring_follows_textbook_example() {
        // Kaplan & Meier style example: 3 answered at 10, 1 censored at 20, 2 answered at 30,
        // 1 censored at 40. S(10) = 4/7, S(30) = 4/7 × (1 − 2/3) = 4/21.
        let obs = [ev(10), ev(10), ev(10), cen(20), ev(30), ev(30), cen(40)];
        let km = KaplanMeier::fit(&obs);
        assert!((km.survival(10).unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert!((km.survival(29).unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert!((km.survival(30).unwrap() - 4.0 / 21.0).abs() < 1e-12);
        assert!((km.survival(40).unwrap() - 4.0 / 21.0).abs() < 1e-12);
        assert_eq!(km.survival(41), None, "nobody followed past 40 s");
        assert_eq!(km.quantile(0.5), Some(30));
        assert_eq!(km.quantile(0.9), None);
    }

    #[test]
    fn answers_come_before_censorings_at_tied_times() {
        let km = KaplanMeier::fit(&[ev(10), cen(10)]);
        assert!((km.survival(10).unwrap() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn defined_beyond_follow_up_once_everyone_answered() {
        let km = KaplanMeier::fit(&[ev(10), ev(20)]);
        assert_eq!(km.answered_within(1_000_000), Some(1.0));
        assert_eq!(KaplanMeier::fit(&[]).survival(0), None);
    }

    #[test]
    fn greenwood_loglog_matches_hand_computation() {
        // S(10) = 0.5 with n = 4, d = 2: V = 2 / (4 × 2) = 0.25, se = 0.5 / ln 2.
        let km = KaplanMeier::fit(&[ev(10), ev(10), cen(50), cen(50)]);
        let (lo, hi) = km.answered_within_ci(10).unwrap();
        let se = 0.5 / 2f64.ln();
        let s_lo = 0.5f64.powf((Z95 * se).exp());
        let s_hi = 0.5f64.powf((-Z95 * se).exp());
        assert!((lo - (1.0 - s_hi)).abs() < 1e-12 && (hi - (1.0 - s_lo)).abs() < 1e-12);
        assert!(lo < 0.5 && 0.5 < hi);
        // R survival::survfit(conf.type = "log-log") gives S 95% CI [0.0578, 0.845] here.
        assert!(
            (1.0 - hi - 0.0578).abs() < 5e-4 && (1.0 - lo - 0.845).abs() < 5e-4,
            "{lo} {hi}"
        );
    }

    #[test]
    fn all_or_none_uses_exact_binomial_bound() {
        let km = KaplanMeier::fit(&[ev(1); 30]);
        let (lo, hi) = km.answered_within_ci(86_400).unwrap();
        assert!((lo - 0.025f64.powf(1.0 / 30.0)).abs() < 1e-12 && hi == 1.0);
        let km = KaplanMeier::fit(&[cen(100_000); 30]);
        let (lo, hi) = km.answered_within_ci(86_400).unwrap();
        assert!(lo == 0.0 && (hi - (1.0 - 0.025f64.powf(1.0 / 30.0))).abs() < 1e-12);
    }

    #[test]
    fn weights_equal_repetition() {
        let obs = [ev(5), cen(7), ev(9)];
        let mut rep = vec![ev(5), ev(5), ev(5), cen(7), ev(9), ev(9)];
        sort(&mut rep);
        let a = KaplanMeier::fit_sorted(&obs, Some(&[3, 1, 2]));
        let b = KaplanMeier::fit_sorted(&rep, None);
        for t in [0, 5, 7, 9] {
            assert_eq!(a.survival(t), b.survival(t));
        }
    }

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<i32> = (0..1000).collect();
        assert_eq!(percentile(&v, 0.025), Some(25));
        assert_eq!(percentile(&v, 0.975), Some(974));
        assert_eq!(percentile::<i32>(&[], 0.5), None);
    }
}
