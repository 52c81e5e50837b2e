//! The rest of the customer's grievance, per brand, from the same complaints as the speed
//! figures (method version 2: those that need a reply, in the window, not cut off):
//!
//! - [`Canned`]: how many first replies are **templates** — a group of near-duplicate replies
//!   (see `crate::classify::template`) the brand sent to at least [`TEMPLATE_CUSTOMERS`]
//!   distinct customers in the window. Share with its Wilson 95% interval, over the first
//!   replies whose text was read (a reply kept without text has no signature and is left out).
//! - [`Hours`]: complaints made in the brand's office hours (Monday to Friday, 09:00 to 18:00
//!   local time in the brand's time zone, 18:00 itself outside) against the others: the share
//!   replied to within an hour in each group (Kaplan–Meier, 95% interval), the gap in points
//!   and its interval (the MOVER method: the two groups' own intervals combined); and the
//!   weekday × local hour grid of the share replied to within an hour, cells of fewer than
//!   [`MIN_CELL`] complaints left blank.
//! - [`Influence`]: complainants in the top tenth by followers (at or above the follower count
//!   of the complaint ranked ⌊0.9 n⌋ + 1 of the n with a known count, from the fewest
//!   followers: the top tenth, more when counts tie) against the others: replied within 24 h
//!   (Kaplan–Meier, 95% interval), median time, and the gap. `None` ("not available") when no
//!   complaint's author has a known follower count: never zero.

use serde::{Deserialize, Serialize};

use crate::corpus::NONE;
use crate::km::{KaplanMeier, Obs};
use crate::pair::Complaint;
use crate::time::{DAY, HOUR};

/// Distinct customers a group of near-duplicate replies must reach to be a template.
pub const TEMPLATE_CUSTOMERS: usize = 5;

/// Templates listed per brand.
pub const TOP_TEMPLATES: usize = 3;

/// Fewer complaints than this in a weekday × hour cell: left blank.
pub const MIN_CELL: usize = 5;

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn round_ci(ci: Option<(f64, f64)>) -> Option<[f64; 2]> {
    ci.map(|(lo, hi)| [round4(lo), round4(hi)])
}

/// One of a brand's templates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// First replies in the window that are this template.
    pub replies: usize,
    /// Distinct customers they were sent to.
    pub customers: usize,
    /// The template as a reply shows it, without what changes from customer to customer
    /// (only for sources whose terms allow quoting the brand's posts, and archives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording: Option<String>,
    /// One of its replies on the network (when its text may not be shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example_url: Option<String>,
    /// The corpus posts of two of its replies to different customers (the first and the
    /// last), to find the text or link: the text is shown only when both read the same once
    /// what changes between customers is taken out.
    #[serde(skip)]
    pub examples: Vec<u32>,
}

/// Canned replies of one brand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Canned {
    /// First replies in the window whose text was read (they have a signature).
    pub replies: usize,
    /// Of those, replies that are templates.
    pub canned: usize,
    /// The most sent templates, most sent first.
    pub templates: Vec<Template>,
}

impl Canned {
    /// `None` when no first reply has a signature.
    pub fn of(
        complaints: &[&Complaint],
        signatures: &[crate::classify::template::Signature],
    ) -> Option<Canned> {
        let replied: Vec<&Complaint> = complaints
            .iter()
            .copied()
            .filter(|c| c.first_reply.is_some() && c.template != NONE)
            .collect();
        if replied.is_empty() {
            return None;
        }
        let sigs: Vec<_> = replied
            .iter()
            .map(|c| signatures[c.template as usize])
            .collect();
        let group = crate::classify::template::groups(&sigs);
        // Per group (the index of its first reply): replies, distinct customers, the first and
        // last reply (with customer).
        let mut replies = vec![0usize; group.len()];
        /// A reply: (customer, post).
        type Reply = (u32, u32);
        let mut ends: Vec<Option<(Reply, Reply)>> = vec![None; group.len()];
        for (c, &g) in replied.iter().zip(&group) {
            let reply = (c.customer, c.first_reply.expect("replied"));
            replies[g] += 1;
            let e = ends[g].get_or_insert((reply, reply));
            e.1 = reply;
        }
        let mut pairs: Vec<(usize, u32)> = group
            .iter()
            .zip(&replied)
            .map(|(&g, c)| (g, c.customer))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut customers = vec![0usize; group.len()];
        for (g, _) in pairs {
            customers[g] += 1;
        }
        let mut templates: Vec<Template> = (0..group.len())
            .filter(|&g| replies[g] > 0 && customers[g] >= TEMPLATE_CUSTOMERS)
            .map(|g| {
                let (first, last) = ends[g].expect("a group with replies");
                Template {
                    replies: replies[g],
                    customers: customers[g],
                    wording: None,
                    example_url: None,
                    examples: if first.0 == last.0 {
                        vec![first.1]
                    } else {
                        vec![first.1, last.1]
                    },
                }
            })
            .collect();
        let canned: usize = templates.iter().map(|t| t.replies).sum();
        templates.sort_by(|a, b| {
            b.replies
                .cmp(&a.replies)
                .then(b.customers.cmp(&a.customers))
        });
        templates.truncate(TOP_TEMPLATES);
        Some(Canned {
            replies: replied.len(),
            canned,
            templates,
        })
    }

    /// The canned share and its Wilson 95% interval.
    pub fn share(&self) -> (f64, [f64; 2]) {
        let n = self.replies as f64;
        let ci = crate::interval::wilson(self.canned as f64, n).unwrap_or([0.0, 1.0]);
        (
            round4(self.canned as f64 / n),
            [round4(ci[0]), round4(ci[1])],
        )
    }
}

/// A group of complaints' share replied to within an hour.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Within1h {
    pub complaints: usize,
    pub answered_1h: Option<f64>,
    pub answered_1h_ci: Option<[f64; 2]>,
}

impl Within1h {
    fn of(obs: &[Obs]) -> Within1h {
        let km = KaplanMeier::fit(obs);
        Within1h {
            complaints: obs.len(),
            answered_1h: km.answered_within(HOUR).map(round4),
            answered_1h_ci: round_ci(km.answered_within_ci(HOUR)),
        }
    }
}

/// Office hours against evenings, nights and weekends, for one brand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hours {
    /// The brand's time zone and office hours the groups were made with.
    pub timezone: String,
    pub office_hours: String,
    pub office: Within1h,
    pub off_hours: Within1h,
    /// Complaints per local weekday (Monday first) and hour.
    pub grid_complaints: Vec<[u32; 24]>,
    /// Share replied to within an hour per cell (complaints answered within an hour, of
    /// those answered within an hour or followed for one); `None` under [`MIN_CELL`].
    pub grid_1h: Vec<[Option<f64>; 24]>,
}

/// When a brand's team works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfficeHours {
    /// First and last working weekday, 0 = Monday.
    pub days: (u8, u8),
    /// Opening and closing time, minutes after local midnight (closing excluded).
    pub minutes: (u16, u16),
}

impl Default for OfficeHours {
    fn default() -> OfficeHours {
        OfficeHours {
            days: (0, 4),
            minutes: (9 * 60, 18 * 60),
        }
    }
}

impl OfficeHours {
    /// Reads `Mon-Fri 09:00-18:00` (English three-letter weekdays, 24-hour times).
    pub fn parse(s: &str) -> Result<OfficeHours, String> {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let bad = || format!("{s:?} is not office hours like \"Mon-Fri 09:00-18:00\"");
        let (days, times) = s.trim().split_once(' ').ok_or_else(bad)?;
        let (d1, d2) = days.split_once('-').ok_or_else(bad)?;
        let day = |d: &str| {
            DAYS.iter()
                .position(|x| x.eq_ignore_ascii_case(d))
                .map(|i| i as u8)
                .ok_or_else(bad)
        };
        let (t1, t2) = times.trim().split_once('-').ok_or_else(bad)?;
        let time = |t: &str| -> Result<u16, String> {
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 24 || m > 59 || (h == 24 && m > 0) {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        let o = OfficeHours {
            days: (day(d1)?, day(d2)?),
            minutes: (time(t1)?, time(t2)?),
        };
        if o.days.0 > o.days.1 || o.minutes.0 >= o.minutes.1 {
            return Err(bad());
        }
        Ok(o)
    }

    /// As written in the registry: `Mon-Fri 09:00-18:00`.
    pub fn describe(&self) -> String {
        const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        format!(
            "{}-{} {}-{}",
            DAYS[self.days.0 as usize],
            DAYS[self.days.1 as usize],
            hm(self.minutes.0),
            hm(self.minutes.1)
        )
    }

    /// Whether local weekday `day` (0 = Monday) at `minute` after midnight is in office hours.
    pub fn contains(&self, day: u8, minute: u16) -> bool {
        (self.days.0..=self.days.1).contains(&day)
            && (self.minutes.0..self.minutes.1).contains(&minute)
    }
}

/// Local weekday (0 = Monday) and minute after midnight of an instant in a time zone.
pub fn local(at: i64, tz: &jiff::tz::TimeZone) -> (u8, u16) {
    let offset = tz.to_offset(jiff::Timestamp::from_second(at).expect("a stored time"));
    let local = at + i64::from(offset.seconds());
    // 1 January 1970 was a Thursday: 3 days after a Monday.
    let day = (local.div_euclid(86_400) + 3).rem_euclid(7);
    (day as u8, (local.rem_euclid(86_400) / 60) as u16)
}

impl Hours {
    /// `obs[i]` observes `complaints[i]`.
    pub fn of(
        complaints: &[&Complaint],
        obs: &[Obs],
        (tz_name, tz): (&str, &jiff::tz::TimeZone),
        hours: &OfficeHours,
    ) -> Option<Hours> {
        if complaints.is_empty() {
            return None;
        }
        let (mut office, mut off) = (Vec::new(), Vec::new());
        let mut n = vec![[0u32; 24]; 7];
        let mut yes = vec![[0u32; 24]; 7];
        let mut known = vec![[0u32; 24]; 7];
        for (c, o) in complaints.iter().zip(obs) {
            let (day, minute) = local(c.at, tz);
            if hours.contains(day, minute) {
                office.push(*o);
            } else {
                off.push(*o);
            }
            let (d, h) = (day as usize, (minute / 60) as usize);
            n[d][h] += 1;
            let within = o.answered && o.t <= HOUR;
            yes[d][h] += u32::from(within);
            known[d][h] += u32::from(within || o.t >= HOUR);
        }
        let grid_1h = (0..7)
            .map(|d| {
                std::array::from_fn(|h| {
                    (n[d][h] as usize >= MIN_CELL && known[d][h] > 0)
                        .then(|| round4(f64::from(yes[d][h]) / f64::from(known[d][h])))
                })
            })
            .collect();
        Some(Hours {
            timezone: tz_name.to_string(),
            office_hours: hours.describe(),
            office: Within1h::of(&office),
            off_hours: Within1h::of(&off),
            grid_complaints: n,
            grid_1h,
        })
    }

    /// Office hours minus off hours, replied within 1 h (a share: 0.59 is 59 points), and its
    /// 95% interval.
    pub fn gap(&self) -> (Option<f64>, Option<[f64; 2]>) {
        difference(
            (self.office.answered_1h, self.office.answered_1h_ci),
            (self.off_hours.answered_1h, self.off_hours.answered_1h_ci),
        )
    }
}

/// The difference of two shares and its 95% interval by the MOVER method (Zou & Donner 2008):
/// each share's own interval, combined; `None` when either share is.
fn difference(
    a: (Option<f64>, Option<[f64; 2]>),
    b: (Option<f64>, Option<[f64; 2]>),
) -> (Option<f64>, Option<[f64; 2]>) {
    let (Some(p1), Some([l1, u1]), Some(p2), Some([l2, u2])) = (a.0, a.1, b.0, b.1) else {
        return (None, None);
    };
    let d = p1 - p2;
    let lo = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let hi = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    (
        Some(round4(d)),
        Some([round4(lo.max(-1.0)), round4(hi.min(1.0))]),
    )
}

/// A group of complaints' share replied to within 24 hours and its median time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Within24h {
    pub complaints: usize,
    pub answered_24h: Option<f64>,
    pub answered_24h_ci: Option<[f64; 2]>,
    pub median_reply_s: Option<i64>,
}

impl Within24h {
    fn of(obs: &[Obs]) -> Within24h {
        let km = KaplanMeier::fit(obs);
        Within24h {
            complaints: obs.len(),
            answered_24h: km.answered_within(DAY).map(round4),
            answered_24h_ci: round_ci(km.answered_within_ci(DAY)),
            median_reply_s: km.quantile(0.5),
        }
    }
}

/// The top tenth of complainants by followers against the rest, for one brand.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Influence {
    /// Follower count from which a complainant is in the top tenth.
    pub threshold: u64,
    pub top: Within24h,
    pub rest: Within24h,
    /// Complaints whose author's follower count is unknown: left out.
    pub unknown: usize,
}

impl Influence {
    /// `None` when no complainant's follower count is known.
    pub fn of(complaints: &[&Complaint], obs: &[Obs]) -> Option<Influence> {
        let mut counts: Vec<u32> = complaints
            .iter()
            .filter(|c| c.followers != NONE)
            .map(|c| c.followers)
            .collect();
        if counts.is_empty() {
            return None;
        }
        counts.sort_unstable();
        // The count of the complaint ranked ⌊0.9 n⌋ + 1 from the bottom: the top tenth (more
        // when counts tie at the threshold).
        let threshold = counts[(counts.len() * 9 / 10).min(counts.len() - 1)];
        let (mut top, mut rest) = (Vec::new(), Vec::new());
        for (c, o) in complaints.iter().zip(obs) {
            if c.followers == NONE {
                continue;
            }
            if c.followers >= threshold {
                top.push(*o);
            } else {
                rest.push(*o);
            }
        }
        Some(Influence {
            threshold: u64::from(threshold),
            top: Within24h::of(&top),
            rest: Within24h::of(&rest),
            unknown: complaints.len() - counts.len(),
        })
    }

    /// Top tenth minus the rest, replied within 24 h, and its 95% interval.
    pub fn gap(&self) -> (Option<f64>, Option<[f64; 2]>) {
        difference(
            (self.top.answered_24h, self.top.answered_24h_ci),
            (self.rest.answered_24h, self.rest.answered_24h_ci),
        )
    }
}

#[cfg(test)]
mod tests {
    /// The local weekday and minute, from the zone's offset, are jiff's civil time's, across
    /// daylight-saving changes and the years the store accepts.
    #[test]
    fn local_weekday_and_minute_are_the_civil_time_of_the_zone() {
        for zone in ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"] {
            let tz = jiff::tz::TimeZone::get(zone).unwrap();
            let mut at = 631_152_000i64; // 1990-01-01
            while at < 4_102_444_800 {
                let dt = tz.to_datetime(jiff::Timestamp::from_second(at).unwrap());
                let civil = (
                    dt.weekday().to_monday_zero_offset() as u8,
                    dt.hour() as u16 * 60 + dt.minute() as u16,
                );
                assert_eq!(super::local(at, &tz), civil, "{zone} at {at}");
                at += 86_400 * 3 + 3_607;
            }
        }
    }
}
