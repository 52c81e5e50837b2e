//! The figures of a brand, as one list of columns. The list drives the leaderboard table, the
//! brand page's figure cards, the CSV download, the data dictionary and the terminal table, so
//! a new figure is: its code in `score`, its field in [`BrandEntry`], one entry here, its
//! wording in `templates/i18n/{en,fr}.toml` (`col_<key>`, `fig_<key>`, `abbr_<key>`,
//! `doc_<key>`) and its section of the methodology.

use crate::method::Version;
use crate::score::BrandEntry;

/// What a column's numbers are, which says how each language writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// 0–100, one decimal.
    Score,
    /// A share in [0, 1], written as a percentage.
    Share,
    /// A duration in seconds, written in words.
    Seconds,
    /// A count.
    Count,
    /// A difference of two shares, in [−1, 1], written as signed percentage points.
    Points,
}

/// A column's 95% interval: the CSV names of its bounds, and the bounds.
pub struct Interval {
    pub lo: &'static str,
    pub hi: &'static str,
    pub get: fn(&BrandEntry) -> Option<[f64; 2]>,
}

/// One figure of a brand.
pub struct Column {
    /// The field in `leaderboard.json`, the CSV header, and the suffix of its i18n keys.
    pub key: &'static str,
    pub unit: Unit,
    pub value: fn(&BrandEntry) -> Option<f64>,
    pub interval: Option<Interval>,
    /// Sorting puts the lowest first (reply times), else the highest.
    pub lower_is_better: bool,
    /// A column of the leaderboard table (and the terminal table).
    pub table: bool,
    /// A card of the brand page's figures.
    pub card: bool,
    /// The first method version that computes it.
    pub since: Version,
    /// Its label ends with "within" (a duration): the value is rounded up so the sentence
    /// stays true.
    pub within: bool,
}

fn seconds(s: Option<i64>) -> Option<f64> {
    s.map(|s| s as f64)
}

/// What a column is unless it says otherwise: a brand-page card, not in the table, lower not
/// better, no interval, since method version 1.
const FIGURE: Column = Column {
    key: "",
    unit: Unit::Count,
    value: |_| None,
    interval: None,
    lower_is_better: false,
    table: false,
    card: true,
    since: Version::V1,
    within: false,
};

/// Every figure of a brand, in the order pages, tables and downloads show them.
pub const COLUMNS: &[Column] = &[
    Column {
        key: "score",
        unit: Unit::Score,
        value: |b| b.score,
        interval: Some(Interval {
            lo: "score_lo",
            hi: "score_hi",
            get: |b| b.score_ci,
        }),
        table: true,
        ..FIGURE
    },
    Column {
        key: "answered_1h",
        unit: Unit::Share,
        value: |b| b.answered_1h,
        table: true,
        ..FIGURE
    },
    Column {
        key: "answered_24h",
        unit: Unit::Share,
        value: |b| b.answered_24h,
        interval: Some(Interval {
            lo: "answered_24h_lo",
            hi: "answered_24h_hi",
            get: |b| b.answered_24h_ci,
        }),
        table: true,
        ..FIGURE
    },
    Column {
        key: "median_reply_s",
        unit: Unit::Seconds,
        value: |b| seconds(b.median_reply_s),
        lower_is_better: true,
        table: true,
        ..FIGURE
    },
    Column {
        key: "public_24h",
        unit: Unit::Share,
        value: |b| b.public_24h,
        interval: Some(Interval {
            lo: "public_24h_lo",
            hi: "public_24h_hi",
            get: |b| b.public_24h_ci,
        }),
        table: true,
        ..FIGURE
    },
    Column {
        key: "public_1h",
        unit: Unit::Share,
        value: |b| b.public_1h,
        ..FIGURE
    },
    Column {
        key: "public_median_s",
        unit: Unit::Seconds,
        value: |b| seconds(b.public_median_s),
        lower_is_better: true,
        ..FIGURE
    },
    Column {
        key: "sent_elsewhere",
        unit: Unit::Share,
        value: |b| b.sent_elsewhere,
        interval: Some(Interval {
            lo: "sent_elsewhere_lo",
            hi: "sent_elsewhere_hi",
            get: |b| b.sent_elsewhere_ci,
        }),
        lower_is_better: true,
        table: true,
        ..FIGURE
    },
    Column {
        key: "canned_share",
        unit: Unit::Share,
        value: |b| b.canned_share,
        interval: Some(Interval {
            lo: "canned_share_lo",
            hi: "canned_share_hi",
            get: |b| b.canned_share_ci,
        }),
        lower_is_better: true,
        since: Version::V2,
        ..FIGURE
    },
    Column {
        key: "off_hours_gap",
        unit: Unit::Points,
        value: |b| b.off_hours_gap,
        interval: Some(Interval {
            lo: "off_hours_gap_lo",
            hi: "off_hours_gap_hi",
            get: |b| b.off_hours_gap_ci,
        }),
        lower_is_better: true,
        since: Version::V2,
        ..FIGURE
    },
    Column {
        key: "influence_gap",
        unit: Unit::Points,
        value: |b| b.influence_gap,
        interval: Some(Interval {
            lo: "influence_gap_lo",
            hi: "influence_gap_hi",
            get: |b| b.influence_gap_ci,
        }),
        lower_is_better: true,
        since: Version::V2,
        ..FIGURE
    },
    Column {
        key: "p90_reply_s",
        unit: Unit::Seconds,
        value: |b| seconds(b.p90_reply_s),
        lower_is_better: true,
        within: true,
        ..FIGURE
    },
    Column {
        key: "complaints",
        unit: Unit::Count,
        value: |b| Some(b.complaints as f64),
        table: true,
        ..FIGURE
    },
    Column {
        key: "answered",
        unit: Unit::Count,
        value: |b| Some(b.answered as f64),
        ..FIGURE
    },
    Column {
        key: "not_needing_reply",
        unit: Unit::Count,
        value: |b| Some(b.not_needing_reply as f64),
        ..FIGURE
    },
    Column {
        key: "cut_off",
        unit: Unit::Count,
        value: |b| Some(b.cut_off as f64),
        lower_is_better: true,
        ..FIGURE
    },
];

/// The columns a method version computes, in order.
pub fn of(version: Version) -> impl Iterator<Item = &'static Column> {
    COLUMNS.iter().filter(move |c| c.since <= version)
}

impl Column {
    /// The value as a sort key: numbers a script compares (`""` when undefined).
    pub fn sort_key(&self, b: &BrandEntry) -> String {
        match ((self.value)(b), self.unit) {
            (None, _) => String::new(),
            (Some(v), Unit::Score) => format!("{v:.2}"),
            (Some(v), Unit::Share | Unit::Points) => format!("{v:.4}"),
            (Some(v), Unit::Seconds | Unit::Count) => format!("{}", v as i64),
        }
    }

    /// The value as the CSV and the data downloads write it (`""` when undefined).
    pub fn csv(&self, b: &BrandEntry) -> String {
        match ((self.value)(b), self.unit) {
            (None, _) => String::new(),
            (Some(v), Unit::Seconds | Unit::Count) => format!("{}", v as i64),
            (Some(v), _) => v.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_and_reason_is_worded_in_every_language() {
        let root = crate::root::SiteRoot::at("/nonexistent");
        for code in crate::config::LANGUAGES {
            let lang = crate::site::lang::Lang::load(&root, code, true).unwrap();
            for c in COLUMNS {
                for prefix in ["col", "fig", "abbr", "doc"] {
                    let key = format!("{prefix}_{}", c.key);
                    assert!(lang.strings.contains_key(&key), "{code}: {key}");
                }
            }
            for r in [
                crate::score::Unranked::TooFewComplaints,
                crate::score::Unranked::NoComplaintFollowed24h,
                crate::score::Unranked::ThreadsCutOff,
                crate::score::Unranked::Other,
            ] {
                let key = format!("unranked_{}", r.code());
                assert!(lang.strings.contains_key(&key), "{code}: {key}");
            }
        }
    }

    #[test]
    fn keys_are_unique_and_are_leaderboard_fields() {
        let mut keys: Vec<&str> = COLUMNS.iter().map(|c| c.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), COLUMNS.len());
        let fields = serde_json::to_value(BrandEntry::default()).unwrap();
        for c in COLUMNS {
            assert!(fields.get(c.key).is_some(), "{} is not a field", c.key);
        }
    }
}
