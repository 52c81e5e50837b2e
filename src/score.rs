//! Scoring: per-brand figures, intervals and ranks from paired complaints (the method of
//! `content/methodology.md`, version 1 or 2: [`crate::method`]). A pure function: the as-of
//! instant and the seed are parameters, and the same inputs give the same output, byte for byte.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::ScoreBasis;
use crate::corpus::SealedComplaint;
use crate::grievance;
use crate::km::{self, KaplanMeier, Obs, TwoPoints};
use crate::method::Version;
use crate::pair::Complaint;
use crate::registry::Registry;
use crate::time::{DAY, HOUR};

pub const SCHEMA: &str = "replyrank.leaderboard/2";

/// The method's parameters: everything besides the data that the figures depend on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Method {
    #[serde(skip)]
    pub as_of: i64,
    #[serde(skip)]
    pub window_days: u32,
    #[serde(default = "version_1")]
    pub version: Version,
    /// What the score is computed over (version 2; version 1 scores replies).
    #[serde(default)]
    pub score: ScoreBasis,
    pub min_complaints: usize,
    pub bootstrap: usize,
    pub seed: u64,
}

/// Leaderboards written before the method had versions are version 1's.
fn version_1() -> Version {
    Version::V1
}

/// A source as the leaderboard names it.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    pub name: String,
    pub coverage: String,
    /// Periods the source could not be read for (as collection recorded them).
    pub gaps: Vec<crate::source::Gap>,
}

/// The figures of one set of complaints (a brand's window, or one month of its history).
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub complaints: usize,
    pub answered_1h: Option<f64>,
    pub answered_24h: Option<f64>,
    pub answered_24h_ci: Option<(f64, f64)>,
    pub median_reply_s: Option<i64>,
    pub p90_reply_s: Option<i64>,
    pub score: Option<f64>,
}

/// Score = 100 × (answered within 1 h + answered within 24 h) / 2; undefined when the 24 h share is.
pub fn score_from(answered_1h: Option<f64>, answered_24h: Option<f64>) -> Option<f64> {
    Some(100.0 * (answered_1h? + answered_24h?) / 2.0)
}

pub fn score_of(km: &KaplanMeier) -> Option<f64> {
    score_from(km.answered_within(HOUR), km.answered_within(DAY))
}

impl Figures {
    pub fn of(obs: &[Obs]) -> Figures {
        let km = KaplanMeier::fit(obs);
        Figures {
            complaints: obs.len(),
            answered_1h: km.answered_within(HOUR),
            answered_24h: km.answered_within(DAY),
            answered_24h_ci: km.answered_within_ci(DAY),
            median_reply_s: km.quantile(0.5),
            p90_reply_s: km.quantile(0.9),
            score: score_of(&km),
        }
    }
}

/// A complaint's observation at as-of for an event `after` seconds (its first reply, or its
/// public answer): answered then, or still waiting (censored at its age).
pub fn observe(c: &Complaint, after: Option<i64>, as_of: i64) -> Obs {
    observe_at(c.at, after, as_of)
}

/// [`observe`] for a complaint made at `at`.
fn observe_at(at: i64, after: Option<i64>, as_of: i64) -> Obs {
    match after {
        Some(t) => Obs { t, answered: true },
        None => Obs {
            t: as_of - at,
            answered: false,
        },
    }
}

/// Version 2 leaves out of the figures the complaints whose listed reply the data lacks
/// (`cut_off`) and the opening posts that need no reply.
fn left_out(version: Version, cut_off: bool, needs_reply: bool) -> bool {
    version == Version::V2 && (cut_off || !needs_reply)
}

/// Complaints whose 24-hour outcome is known: answered, or followed for at least 24 hours.
fn known_at_24h(obs: &[Obs]) -> usize {
    obs.iter().filter(|o| o.answered || o.t >= DAY).count()
}

/// What a brand's score and its uncertainty rest on (version 2): the score's share and the
/// complaints whose 24-hour outcome is known.
struct ScoreBase {
    share: f64,
    n: f64,
}

impl ScoreBase {
    fn of(score: Option<f64>, obs: &[Obs]) -> Option<ScoreBase> {
        let n = known_at_24h(obs) as f64;
        (n > 0.0).then_some(ScoreBase {
            share: score? / 100.0,
            n,
        })
    }

    /// The exact 95% interval of the score, to one decimal.
    fn interval(&self) -> Option<[f64; 2]> {
        crate::interval::clopper_pearson(self.share * self.n, self.n)
            .map(|[lo, hi]| [round(100.0 * lo, 1), round(100.0 * hi, 1)])
    }

    /// `resamples` draws of the score from its confidence distribution.
    fn draws(&self, resamples: usize, seed: u64) -> Vec<Option<f64>> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        (0..resamples)
            .map(|_| Some(100.0 * crate::interval::draw(self.share * self.n, self.n, &mut rng)))
            .collect()
    }
}

/// Scores equal to one decimal share a rank: the key ranks compare.
fn rank_key(score: f64) -> i64 {
    (score * 10.0).round() as i64
}

/// Competition ranks (1, 2, 2, 4) of scores, highest first; `None` scores rank last.
pub fn competition_ranks(scores: &[Option<f64>]) -> Vec<usize> {
    let key = |s: Option<f64>| s.map_or(i64::MIN, rank_key);
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(key(scores[i])));
    let mut ranks = vec![0; scores.len()];
    for (pos, &i) in order.iter().enumerate() {
        ranks[i] = if pos > 0 && key(scores[order[pos - 1]]) == key(scores[i]) {
            ranks[order[pos - 1]]
        } else {
            pos + 1
        };
    }
    ranks
}

/// Times (s) at which a brand's curve is published: 1 min to 7 days, roughly log-spaced.
pub const CURVE_TIMES: [i64; 22] = [
    60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 10_800, 14_400, 21_600, 28_800,
    43_200, 64_800, 86_400, 129_600, 172_800, 345_600, 604_800,
];

/// Upper bounds (s) of the reply-time bins of the distribution chart; the last bin is open.
pub const REPLY_BINS: [i64; 6] = [300, 900, 3600, 3 * 3600, 86_400, i64::MAX];

/// What a brand page draws besides the figures: the Kaplan–Meier curve and the distribution of
/// reply times. Published in the brand's JSON download, not in leaderboard.json.
#[derive(Clone, Debug, Serialize)]
pub struct BrandDetail {
    /// (t seconds, share still waiting) at [`CURVE_TIMES`], while defined.
    pub still_waiting: Vec<(i64, f64)>,
    /// Answered complaints per bin of [`REPLY_BINS`], then those still waiting at as-of.
    pub reply_times: Vec<usize>,
    /// The Kaplan–Meier step function with its 95% band ([`KaplanMeier::steps`]), for the chart.
    #[serde(skip)]
    pub steps: Vec<(i64, f64, Option<[f64; 2]>)>,
    /// Complaints in the window per UTC day (day number since 1970), for the site's time chart.
    #[serde(skip)]
    pub days: BTreeMap<i64, usize>,
}

impl BrandDetail {
    fn of(obs: &[Obs], days: &BTreeMap<i64, usize>) -> BrandDetail {
        let km = KaplanMeier::fit(obs);
        let mut reply_times = vec![0; REPLY_BINS.len() + 1];
        for o in obs {
            let bin = if o.answered {
                REPLY_BINS
                    .iter()
                    .position(|&b| o.t < b)
                    .unwrap_or(REPLY_BINS.len() - 1)
            } else {
                REPLY_BINS.len()
            };
            reply_times[bin] += 1;
        }
        BrandDetail {
            still_waiting: km
                .curve(&CURVE_TIMES)
                .into_iter()
                .map(|(t, s)| (t, round(s, 4)))
                .collect(),
            reply_times,
            steps: km.steps(),
            days: days.clone(),
        }
    }
}

/// The scored leaderboard: every figure the site, the downloads and the terminal show, typed
/// (instants in seconds, shares in [0, 1], times in seconds). Formatting is the view's job.
/// Written and read as `leaderboard.json` by [`Leaderboard::to_json`] and [`Leaderboard::read`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Leaderboard {
    pub schema: String,
    #[serde(with = "crate::time::rfc3339")]
    pub as_of: i64,
    pub window: Window,
    pub method: Method,
    pub sources: Vec<SourceSummary>,
    pub brands: Vec<BrandEntry>,
    pub history: BTreeMap<String, Vec<MonthEntry>>,
    pub data_quality: DataQuality,
    /// Per brand id: the curve and distribution behind its charts.
    #[serde(skip)]
    pub details: BTreeMap<String, BrandDetail>,
}

impl Leaderboard {
    /// `leaderboard.json`, as published (pretty-printed, ending with a newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("a leaderboard serialises");
        json.push(b'\n');
        json
    }

    /// Reads a published `leaderboard.json` (an earlier snapshot's, for example).
    pub fn read(path: &std::path::Path) -> anyhow::Result<Leaderboard> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a replyrank leaderboard ({SCHEMA})",
                path.display()
            )
        })
    }

    /// The brands ranked, in rank order.
    pub fn ranked(&self) -> impl Iterator<Item = &BrandEntry> {
        self.brands.iter().filter(|b| b.eligible)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "crate::time::rfc3339")]
    pub from: i64,
    #[serde(with = "crate::time::rfc3339")]
    pub to: i64,
    pub days: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SourceSummary {
    pub name: String,
    pub coverage: String,
    /// Complaints from this source in the window.
    pub complaints: usize,
    /// Periods inside the window the source could not be read for: complaints made then are
    /// missing from the figures, not unanswered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<crate::source::Gap>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BrandEntry {
    pub id: String,
    pub name: String,
    pub category: String,
    pub country: String,
    /// Complaints made in the window.
    pub complaints: usize,
    /// Of those, answered by as-of.
    pub answered: usize,
    /// Version 2: opening posts in the window that need no reply (praise, other): not scored.
    #[serde(default)]
    pub not_needing_reply: usize,
    /// Version 2: complaints in the window left out because a reply listed in the data is
    /// missing from it (their reply time is unknown).
    #[serde(default)]
    pub cut_off: usize,
    pub answered_1h: Option<f64>,
    pub answered_24h: Option<f64>,
    pub answered_24h_ci: Option<[f64; 2]>,
    pub median_reply_s: Option<i64>,
    pub p90_reply_s: Option<i64>,
    /// Version 2: answered in public (the first reply that does not send the customer
    /// elsewhere) within 1 h and 24 h, its 95% interval, and the median time to it.
    #[serde(default)]
    pub public_1h: Option<f64>,
    #[serde(default)]
    pub public_24h: Option<f64>,
    #[serde(default)]
    pub public_24h_ci: Option<[f64; 2]>,
    #[serde(default)]
    pub public_median_s: Option<i64>,
    /// Version 2: share of first replies that send the customer elsewhere, and its Wilson 95%
    /// interval.
    #[serde(default)]
    pub sent_elsewhere: Option<f64>,
    #[serde(default)]
    pub sent_elsewhere_ci: Option<[f64; 2]>,
    pub score: Option<f64>,
    pub score_ci: Option<[f64; 2]>,
    pub rank: Option<usize>,
    pub rank_interval: Option<[usize; 2]>,
    /// Rank among the ranked brands of its category.
    #[serde(default)]
    pub category_rank: Option<usize>,
    /// Rank among the ranked brands of its country.
    #[serde(default)]
    pub country_rank: Option<usize>,
    pub eligible: bool,
    /// Why an ineligible brand is not ranked.
    pub unranked_reason: Option<Unranked>,
    pub sources: Vec<String>,
    pub coverage: Vec<String>,
    /// Version 2: share of first replies that are templates (canned), and its Wilson 95%
    /// interval; `None` when no first reply's text was read.
    #[serde(default)]
    pub canned_share: Option<f64>,
    #[serde(default)]
    pub canned_share_ci: Option<[f64; 2]>,
    /// Version 2: replied within 1 h in office hours minus out of them (a share), and its 95%
    /// interval.
    #[serde(default)]
    pub off_hours_gap: Option<f64>,
    #[serde(default)]
    pub off_hours_gap_ci: Option<[f64; 2]>,
    /// Version 2: replied within 24 h for the top tenth of complainants by followers minus the
    /// rest, and its 95% interval; `None` when no follower count is known (not available).
    #[serde(default)]
    pub influence_gap: Option<f64>,
    #[serde(default)]
    pub influence_gap_ci: Option<[f64; 2]>,
    /// Version 2: what those three rest on: templates, the two groups and the weekday × hour
    /// grid, the two follower groups (`None`: not available). See [`crate::grievance`].
    #[serde(default)]
    pub canned: Option<grievance::Canned>,
    #[serde(default)]
    pub hours: Option<grievance::Hours>,
    #[serde(default)]
    pub influence: Option<grievance::Influence>,
}

/// One brand's [`crate::grievance`] figures.
#[derive(Default)]
struct Grievances {
    canned: Option<grievance::Canned>,
    hours: Option<grievance::Hours>,
    influence: Option<grievance::Influence>,
}

/// Why a brand is not ranked: a code, worded by the i18n files (`unranked_<code>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unranked {
    /// Fewer complaints in the window than `min_complaints`.
    TooFewComplaints,
    /// No complaint in the window has been followed for 24 hours yet.
    NoComplaintFollowed24h,
    /// More than a fifth of its complaints have a reply the data lacks (version 2).
    ThreadsCutOff,
    /// A reason this version does not know (a later version's leaderboard).
    #[serde(other)]
    Other,
}

impl Unranked {
    /// The code, as in `leaderboard.json` and the CSV.
    pub fn code(self) -> &'static str {
        match self {
            Unranked::TooFewComplaints => "too_few_complaints",
            Unranked::NoComplaintFollowed24h => "no_complaint_followed_24h",
            Unranked::ThreadsCutOff => "threads_cut_off",
            Unranked::Other => "other",
        }
    }
}

/// What loading and pairing noticed about the data: counts only. Accounts are never named here
/// (an account the registry does not know may be a person's); `replyrank score` lists them in
/// the terminal.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DataQuality {
    /// Posts loaded from the store.
    pub posts: usize,
    /// Complaints paired (all time, up to as-of).
    pub complaints: usize,
    pub duplicate_ids: usize,
    pub invalid_lines: usize,
    /// What pairing noticed.
    #[serde(flatten)]
    pub pairing: crate::pair::PairQuality,
    /// Distinct company accounts and brand ids named by the data that the registry lacks.
    #[serde(deserialize_with = "count")]
    pub unregistered_accounts: usize,
    /// Problems found loading the store (torn lines, invalid lines): reported in the terminal.
    #[serde(deserialize_with = "count")]
    pub store_notices: usize,
}

/// A count, or (leaderboards of schema `replyrank.leaderboard/1`, which listed them) the length
/// of the list or map it counts: earlier snapshots stay readable.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    use serde_json::Value;
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| serde::de::Error::custom("a count is a whole number")),
        Value::Array(a) => Ok(a.len()),
        Value::Object(o) => Ok(o.len()),
        other => Err(serde::de::Error::custom(format!("{other} is not a count"))),
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MonthEntry {
    pub month: String,
    pub complaints: usize,
    pub answered_1h: Option<f64>,
    pub answered_24h: Option<f64>,
    pub median_reply_s: Option<i64>,
    pub score: Option<f64>,
    /// Method 2: the score's exact 95% interval, as for the window.
    #[serde(default)]
    pub score_ci: Option<[f64; 2]>,
}

/// A month with fewer complaints is listed with its figures, but its score is not drawn as a
/// point of a trend: one or two complaints say nothing about a month.
pub const MIN_MONTH: usize = 10;

impl MonthEntry {
    /// The score to draw for this month: `None` below [`MIN_MONTH`] complaints.
    pub fn drawn(&self) -> Option<f64> {
        self.score.filter(|_| self.complaints >= MIN_MONTH)
    }
}

fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}
fn share(x: Option<f64>) -> Option<f64> {
    x.map(|v| round(v, 4))
}

/// FNV-1a, to derive each brand's bootstrap stream from the seed and its id (stable when brands
/// are added or reordered).
fn stream_seed(seed: u64, id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325u64 ^ seed, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Bootstrap scores of one brand: `resamples` resamples of its complaints with replacement,
/// each scored with the same estimator. `None` where a resample's score is undefined.
pub fn bootstrap_scores(obs: &[Obs], resamples: usize, seed: u64) -> Vec<Option<f64>> {
    let mut sorted = obs.to_vec();
    km::sort(&mut sorted);
    let points = TwoPoints::new(&sorted, HOUR, DAY);
    let counts = points.counts();
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut weights = Vec::with_capacity(counts.len());
    (0..resamples)
        .map(|_| {
            points.resample(&counts, &mut rng, &mut weights);
            let (a1, a24) = points.answered_within(&weights);
            score_from(a1, a24)
        })
        .collect()
}

/// Everything `score` needs besides the complaints.
pub struct Inputs<'a> {
    pub registry: &'a Registry,
    /// Source names indexed by `Complaint::source`, with their coverage.
    pub sources: &'a [SourceInfo],
    pub method: &'a Method,
    pub data_quality: DataQuality,
    /// Template signatures of brand replies (`Corpus::templates`), for canned replies.
    pub templates: &'a [crate::classify::template::Signature],
    /// The complaints of threads sealed away (`crate::corpus::Seal`): all made before the
    /// window, so only in the monthly history.
    pub sealed: &'a [SealedComplaint],
}

/// Scores the complaints of a single brand (registry index 0), as the methodology's worked
/// example and the estimator tests do.
pub fn one_brand(complaints: &[Complaint], method: &Method) -> BrandEntry {
    let registry = Registry::parse(
        "[[brand]]\nid = \"example\"\nname = \"Example\"\ncategory = \"example\"\n\
         country = \"US\"\ntimezone = \"UTC\"\n",
        "example",
    )
    .expect("a valid registry");
    let sources = [SourceInfo {
        name: "example".into(),
        coverage: String::new(),
        gaps: Vec::new(),
    }];
    let mut lb = score(
        complaints,
        &Inputs {
            registry: &registry,
            sources: &sources,
            method,
            data_quality: DataQuality::default(),
            templates: &[],
            sealed: &[],
        },
    );
    lb.brands.remove(0)
}

/// Observations of every brand, indexed by registry position.
struct Observed<'c> {
    /// Complaints made in the window, observed at as-of: their first reply.
    window: Vec<Vec<Obs>>,
    /// Those complaints themselves (`window[b][i]` observes `complaints[b][i]`).
    complaints: Vec<Vec<&'c Complaint>>,
    /// The same complaints' public answer (version 2).
    public: Vec<Vec<Obs>>,
    /// Complaints in the window whose first reply sends the customer elsewhere.
    deflected: Vec<usize>,
    /// Version 2: opening posts in the window that need no reply (praise, other), and
    /// complaints whose listed reply the data lacks; neither is in the figures.
    not_needing_reply: Vec<usize>,
    cut_off: Vec<usize>,
    /// Complaints per source index in the window.
    window_sources: Vec<BTreeMap<u16, usize>>,
    /// Complaints in the window per UTC day number.
    window_days: Vec<BTreeMap<i64, usize>>,
    /// Every complaint up to as-of, by calendar month.
    months: Vec<BTreeMap<(i64, i64), Vec<Obs>>>,
    /// Complaints in the window answered by as-of.
    answered: Vec<usize>,
}

impl<'c> Observed<'c> {
    fn of(
        m: &Method,
        complaints: &'c [Complaint],
        sealed: &[SealedComplaint],
        brands: usize,
        from: i64,
    ) -> Observed<'c> {
        let as_of = m.as_of;
        let mut o = Observed {
            window: vec![Vec::new(); brands],
            complaints: vec![Vec::new(); brands],
            public: vec![Vec::new(); brands],
            deflected: vec![0; brands],
            not_needing_reply: vec![0; brands],
            cut_off: vec![0; brands],
            window_sources: vec![BTreeMap::new(); brands],
            window_days: vec![BTreeMap::new(); brands],
            months: vec![BTreeMap::new(); brands],
            answered: vec![0; brands],
        };
        for c in complaints.iter().filter(|c| c.at <= as_of) {
            let b = c.brand as usize;
            if left_out(m.version, c.cut_off, c.needs_reply) {
                if c.at >= from {
                    if c.needs_reply {
                        o.cut_off[b] += 1;
                    } else {
                        o.not_needing_reply[b] += 1;
                    }
                }
                continue;
            }
            let obs = observe(c, c.reply_s, as_of);
            if c.at >= from {
                o.window[b].push(obs);
                o.complaints[b].push(c);
                o.public[b].push(observe(c, c.public_s, as_of));
                o.deflected[b] += usize::from(c.deflected);
                *o.window_sources[b].entry(c.source).or_default() += 1;
                *o.window_days[b].entry(c.at.div_euclid(86_400)).or_default() += 1;
                o.answered[b] += usize::from(obs.answered);
            }
            o.months[b]
                .entry(crate::time::year_month(c.at))
                .or_default()
                .push(obs);
        }
        // Sealed complaints come sorted by brand and time: a brand's month at a time.
        let month = |c: &SealedComplaint| (c.brand, crate::time::year_month(c.at));
        for run in sealed.chunk_by(|a, b| month(a) == month(b)) {
            let (b, ym) = month(&run[0]);
            let obs: Vec<Obs> = run
                .iter()
                .filter(|c| c.at <= as_of && !left_out(m.version, c.cut_off, c.needs_reply))
                .map(|c| {
                    debug_assert!(c.at < from, "a sealed complaint in the window");
                    observe_at(c.at, c.reply_s, as_of)
                })
                .collect();
            if !obs.is_empty() {
                o.months[b as usize].entry(ym).or_default().extend(obs);
            }
        }
        o
    }
}

/// Ranks of the eligible brands among themselves (`None` for the others), and each one's 95%
/// rank interval from the same bootstrap resamples.
fn ranks(
    score: &[Option<f64>],
    eligible: &[bool],
    boot: &[Vec<Option<f64>>],
    resamples: usize,
) -> (Vec<Option<usize>>, Vec<Option<[usize; 2]>>) {
    let nb = score.len();
    let ranked: Vec<usize> = (0..nb).filter(|&b| eligible[b]).collect();
    let point = competition_ranks(&ranked.iter().map(|&b| score[b]).collect::<Vec<_>>());
    let mut rank = vec![None; nb];
    for (k, &b) in ranked.iter().enumerate() {
        rank[b] = Some(point[k]);
    }
    let mut resample_ranks: Vec<Vec<usize>> = vec![Vec::with_capacity(resamples); nb];
    #[allow(clippy::needless_range_loop)] // r indexes every ranked brand's resamples
    for r in 0..resamples {
        let scores: Vec<Option<f64>> = ranked.iter().map(|&b| boot[b][r]).collect();
        for (k, rank) in competition_ranks(&scores).into_iter().enumerate() {
            resample_ranks[ranked[k]].push(rank);
        }
    }
    let interval = resample_ranks
        .into_iter()
        .enumerate()
        .map(|(b, mut r)| {
            eligible[b].then(|| {
                r.sort_unstable();
                [
                    km::percentile(&r, 0.025).unwrap_or(0),
                    km::percentile(&r, 0.975).unwrap_or(0),
                ]
            })
        })
        .collect();
    (rank, interval)
}

/// Competition ranks of the ranked brands within each group (category, country): `None` for
/// brands not ranked.
fn group_ranks(brands: &[BrandEntry], group: impl Fn(&BrandEntry) -> &str) -> Vec<Option<usize>> {
    let mut out = vec![None; brands.len()];
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, b) in brands.iter().enumerate().filter(|(_, b)| b.eligible) {
        groups.entry(group(b)).or_default().push(i);
    }
    for members in groups.values() {
        let scores: Vec<Option<f64>> = members.iter().map(|&i| brands[i].score).collect();
        for (&i, r) in members.iter().zip(competition_ranks(&scores)) {
            out[i] = Some(r);
        }
    }
    out
}

/// The 95% percentile interval of a brand's bootstrap scores, where its score is defined.
fn score_interval(score: Option<f64>, boot: &[Option<f64>]) -> Option<[f64; 2]> {
    let mut scores: Vec<f64> = boot.iter().flatten().copied().collect();
    scores.sort_by(f64::total_cmp);
    (score.is_some() && !scores.is_empty()).then(|| {
        [
            round(km::percentile(&scores, 0.025).expect("non-empty"), 2),
            round(km::percentile(&scores, 0.975).expect("non-empty"), 2),
        ]
    })
}

fn month_entries(months: &BTreeMap<(i64, i64), Vec<Obs>>, version: Version) -> Vec<MonthEntry> {
    months
        .iter()
        .map(|(&month, obs)| {
            let f = Figures::of(obs);
            let score_ci = (version == Version::V2)
                .then(|| ScoreBase::of(f.score, obs).and_then(|s| s.interval()))
                .flatten();
            MonthEntry {
                score_ci,
                month: crate::time::month_label(month),
                complaints: f.complaints,
                answered_1h: share(f.answered_1h),
                answered_24h: share(f.answered_24h),
                median_reply_s: f.median_reply_s,
                score: f.score.map(|s| round(s, 2)),
            }
        })
        .collect()
}

/// Scores every registry brand: its window's figures, intervals and ranks (overall, in its
/// category and in its country), its monthly history and the detail behind its charts.
pub fn score(complaints: &[Complaint], inp: &Inputs) -> Leaderboard {
    let m = inp.method;
    let as_of = m.as_of;
    let from = as_of - i64::from(m.window_days) * DAY;
    let registry = &inp.registry.brands;
    let nb = registry.len();
    let obs = Observed::of(m, complaints, inp.sealed, nb, from);

    let v2 = m.version == Version::V2;
    let figures: Vec<Figures> = obs.window.par_iter().map(|o| Figures::of(o)).collect();
    let public: Vec<Option<Figures>> = obs
        .public
        .par_iter()
        .map(|o| v2.then(|| Figures::of(o)))
        .collect();
    // The score, by the configured basis (version 1 always scores replies), and the
    // observations it rests on.
    let answers = v2 && m.score == ScoreBasis::Answer;
    let score: Vec<Option<f64>> = (0..nb)
        .map(|b| match &public[b] {
            Some(p) if answers => p.score,
            _ => figures[b].score,
        })
        .collect();
    let basis = |b: usize| {
        if answers {
            &obs.public[b]
        } else {
            &obs.window[b]
        }
    };
    // More than a fifth of a brand's complaints with a reply the data lacks: its figures
    // would rest on the threads the data kept.
    let cut_off = |b: usize| obs.cut_off[b] * 5 > obs.cut_off[b] + figures[b].complaints;
    let eligible: Vec<bool> = (0..nb)
        .map(|b| figures[b].complaints >= m.min_complaints && score[b].is_some() && !cut_off(b))
        .collect();
    // Resampled scores for the rank intervals (and version 1's score interval): version 1
    // bootstraps the complaints; version 2 draws from each score's exact confidence
    // distribution, which moves at 0% and 100% too.
    let resampled: Vec<Vec<Option<f64>>> = (0..nb)
        .into_par_iter()
        .map(|b| {
            let seed = stream_seed(m.seed, &registry[b].id);
            if obs.window[b].is_empty() {
                Vec::new()
            } else if v2 {
                ScoreBase::of(score[b], basis(b))
                    .map_or_else(Vec::new, |s| s.draws(m.bootstrap, seed))
            } else {
                bootstrap_scores(&obs.window[b], m.bootstrap, seed)
            }
        })
        .collect();
    let (rank, rank_interval) = ranks(&score, &eligible, &resampled, m.bootstrap);
    let grievances: Vec<Grievances> = (0..nb)
        .into_par_iter()
        .map(|b| {
            if !v2 {
                return Grievances::default();
            }
            let brand = &registry[b];
            let cs = &obs.complaints[b];
            let tz = jiff::tz::TimeZone::get(&brand.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            Grievances {
                canned: grievance::Canned::of(cs, inp.templates),
                hours: grievance::Hours::of(
                    cs,
                    &obs.window[b],
                    (&brand.timezone, &tz),
                    &brand.office_hours,
                ),
                influence: grievance::Influence::of(cs, &obs.window[b]),
            }
        })
        .collect();

    let mut brands: Vec<BrandEntry> = (0..nb)
        .map(|b| {
            let brand = &registry[b];
            let f = &figures[b];
            let p = public[b].as_ref();
            let g = &grievances[b];
            let replied = obs.window[b].iter().filter(|o| o.answered).count();
            let sent_elsewhere_ci = v2
                .then(|| crate::interval::wilson(obs.deflected[b] as f64, replied as f64))
                .flatten();
            let score_ci = if v2 {
                ScoreBase::of(score[b], basis(b)).and_then(|s| s.interval())
            } else {
                score_interval(score[b], &resampled[b])
            };
            let unranked_reason = if eligible[b] {
                None
            } else if f.complaints < m.min_complaints {
                Some(Unranked::TooFewComplaints)
            } else if cut_off(b) {
                Some(Unranked::ThreadsCutOff)
            } else {
                Some(Unranked::NoComplaintFollowed24h)
            };
            let sources: Vec<&SourceInfo> = obs.window_sources[b]
                .keys()
                .map(|&s| &inp.sources[s as usize])
                .collect();
            BrandEntry {
                id: brand.id.clone(),
                name: brand.name.clone(),
                category: brand.category.clone(),
                country: brand.country.clone(),
                complaints: f.complaints,
                answered: obs.answered[b],
                not_needing_reply: obs.not_needing_reply[b],
                cut_off: obs.cut_off[b],
                answered_1h: share(f.answered_1h),
                answered_24h: share(f.answered_24h),
                answered_24h_ci: f
                    .answered_24h_ci
                    .map(|(lo, hi)| [round(lo, 4), round(hi, 4)]),
                median_reply_s: f.median_reply_s,
                p90_reply_s: f.p90_reply_s,
                public_1h: share(p.and_then(|p| p.answered_1h)),
                public_24h: share(p.and_then(|p| p.answered_24h)),
                public_24h_ci: p
                    .and_then(|p| p.answered_24h_ci)
                    .map(|(lo, hi)| [round(lo, 4), round(hi, 4)]),
                public_median_s: p.and_then(|p| p.median_reply_s),
                sent_elsewhere: (v2 && replied > 0)
                    .then(|| round(obs.deflected[b] as f64 / replied as f64, 4)),
                sent_elsewhere_ci: sent_elsewhere_ci.map(|[lo, hi]| [round(lo, 4), round(hi, 4)]),
                score: score[b].map(|s| round(s, 2)),
                score_ci,
                rank: rank[b],
                rank_interval: rank_interval[b],
                category_rank: None,
                country_rank: None,
                eligible: eligible[b],
                unranked_reason,
                sources: sources.iter().map(|s| s.name.clone()).collect(),
                coverage: sources.iter().map(|s| s.coverage.clone()).collect(),
                canned_share: g.canned.as_ref().map(|c| c.share().0),
                canned_share_ci: g.canned.as_ref().map(|c| c.share().1),
                off_hours_gap: g.hours.as_ref().and_then(|h| h.gap().0),
                off_hours_gap_ci: g.hours.as_ref().and_then(|h| h.gap().1),
                influence_gap: g.influence.as_ref().and_then(|i| i.gap().0),
                influence_gap_ci: g.influence.as_ref().and_then(|i| i.gap().1),
                canned: g.canned.clone(),
                hours: g.hours.clone(),
                influence: g.influence.clone(),
            }
        })
        .collect();
    brands.sort_by(|a, b| {
        (
            a.rank.is_none(),
            a.rank,
            std::cmp::Reverse(a.complaints),
            &a.id,
        )
            .cmp(&(
                b.rank.is_none(),
                b.rank,
                std::cmp::Reverse(b.complaints),
                &b.id,
            ))
    });
    let by_category = group_ranks(&brands, |b| &b.category);
    let by_country = group_ranks(&brands, |b| &b.country);
    for ((b, c), k) in brands.iter_mut().zip(by_category).zip(by_country) {
        b.category_rank = c;
        b.country_rank = k;
    }

    let history = (0..nb)
        .into_par_iter()
        .filter(|&b| !obs.months[b].is_empty())
        .map(|b| {
            let entries = month_entries(&obs.months[b], m.version);
            (registry[b].id.clone(), entries)
        })
        .collect();
    let details = (0..nb)
        .filter(|&b| !obs.window[b].is_empty())
        .map(|b| {
            (
                registry[b].id.clone(),
                BrandDetail::of(&obs.window[b], &obs.window_days[b]),
            )
        })
        .collect();
    let mut per_source = vec![0usize; inp.sources.len()];
    for ws in &obs.window_sources {
        for (&s, &n) in ws {
            per_source[s as usize] += n;
        }
    }
    Leaderboard {
        schema: SCHEMA.to_string(),
        as_of,
        window: Window {
            from,
            to: as_of,
            days: m.window_days,
        },
        method: m.clone(),
        sources: inp
            .sources
            .iter()
            .zip(per_source)
            .map(|(s, complaints)| SourceSummary {
                name: s.name.clone(),
                coverage: s.coverage.clone(),
                complaints,
                gaps: s
                    .gaps
                    .iter()
                    .filter(|g| g.to > from && g.from < as_of)
                    .copied()
                    .collect(),
            })
            .collect(),
        brands,
        history,
        data_quality: inp.data_quality.clone(),
        details,
    }
}
