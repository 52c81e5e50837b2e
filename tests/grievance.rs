//! The rest of the grievance (method version 2): canned replies, office hours and the influence
//! gap, each rule pinned with hand-built complaints through the real pipeline (corpus, pairing,
//! classifiers, score).

use replyrank::config::ScoreBasis;
use replyrank::corpus::Corpus;
use replyrank::method::Version;
use replyrank::pair::pair;
use replyrank::post::{Post, text_mentions};
use replyrank::registry::Registry;
use replyrank::score::{BrandEntry, Inputs, Method, SourceInfo, score};

/// Monday 30 October 2017, 00:00 UTC: the first Monday after Paris left summer time (on
/// Sunday 29 October, 03:00 CEST → 02:00 CET).
const MONDAY: i64 = 1_509_321_600;
const MIN: i64 = 60;
const HOUR: i64 = 3_600;

fn registry() -> Registry {
    Registry::parse(
        r#"
[[brand]]
id = "rail"
name = "Rail Co"
category = "transport"
country = "FR"
timezone = "Europe/Paris"
[brand.accounts]
twitter = ["RailCo"]
"#,
        "test",
    )
    .unwrap()
}

struct Complaint {
    at: i64,
    customer: String,
    followers: Option<u64>,
    /// Seconds to the brand's reply, and its text.
    reply: Option<(i64, String)>,
}

fn complaint(at: i64, customer: &str, reply: Option<(i64, &str)>) -> Complaint {
    Complaint {
        at,
        customer: customer.into(),
        followers: None,
        reply: reply.map(|(s, t)| (s, t.to_string())),
    }
}

fn post(id: String, author: &str, at: i64, reply_to: Option<String>, text: &str) -> Post<'static> {
    Post {
        source: "twcs".into(),
        id: id.into(),
        author: author.to_string().into(),
        created_at: at,
        reply_to: reply_to.map(Into::into),
        text: Some(text.to_string().into()),
        mentions: text_mentions(text)
            .into_iter()
            .map(|m| m.into_owned().into())
            .collect(),
        ..Default::default()
    }
}

/// Scores the complaints (method version 2, as of two days after the last one).
fn brand(complaints: &[Complaint]) -> BrandEntry {
    let registry = registry();
    let mut posts = Vec::new();
    for (i, c) in complaints.iter().enumerate() {
        let id = format!("{}", 1000 + 2 * i);
        let mut p = post(
            id.clone(),
            &c.customer,
            c.at,
            None,
            "@RailCo my train was cancelled and nobody tells us anything, this is a disgrace",
        );
        p.followers = c.followers;
        posts.push(p);
        if let Some((after, text)) = &c.reply {
            let text = text.replace("NAME", &c.customer);
            posts.push(post(
                format!("{}", 1001 + 2 * i),
                "RailCo",
                c.at + after,
                Some(id),
                &format!("@{} {text}", c.customer),
            ));
        }
    }
    replyrank::classify::annotate(&registry, &mut posts);
    let corpus = Corpus::from_posts(&registry, &posts);
    let as_of = complaints.iter().map(|c| c.at).max().unwrap() + 2 * 86_400;
    let pairing = pair(&corpus, as_of, Version::V2);
    let method = Method {
        as_of,
        version: Version::V2,
        score: ScoreBasis::Reply,
        window_days: 90,
        min_complaints: 1,
        bootstrap: 100,
        seed: 7,
    };
    let lb = score(
        &pairing.complaints,
        &Inputs {
            registry: &registry,
            sources: &[SourceInfo {
                name: "twcs".into(),
                coverage: String::new(),
                gaps: Vec::new(),
            }],
            method: &method,
            data_quality: Default::default(),
            templates: &corpus.templates,
            sealed: &[],
        },
    );
    lb.brands.into_iter().next().unwrap()
}

const TEMPLATE: &str = "Hi NAME, we're sorry for the disruption. Please DM us your booking \
                        reference and we'll look into it ^JD";

/// `n` complaints a day apart at 10:00 UTC, each answered after 10 minutes: the first
/// `templated` (by distinct customers) with the template, the others with their own words.
fn replies(templated: usize, n: usize) -> Vec<Complaint> {
    let own = [
        "the 8:15 is running 20 minutes late because of a signal failure at Lyon",
        "your refund was sent this morning and should arrive within five days",
        "the strike ends tonight so tomorrow's trains run as planned",
        "we found your bag at the lost property office in Bordeaux",
        "the lift at platform 3 is being repaired and will work again on Friday",
        "your seat was moved to coach 12 because coach 4 is out of service",
    ];
    (0..n)
        .map(|i| Complaint {
            at: MONDAY + i as i64 * 86_400 + 10 * HOUR,
            customer: format!("customer{i}"),
            followers: None,
            reply: Some((
                10 * MIN,
                if i < templated {
                    TEMPLATE.to_string()
                } else {
                    own[i - templated].to_string()
                },
            )),
        })
        .collect()
}

#[test]
fn a_reply_sent_to_five_customers_is_a_template_and_to_four_is_not() {
    let four = brand(&replies(4, 9));
    assert_eq!(four.canned_share, Some(0.0));
    let four = four.canned.unwrap();
    assert_eq!((four.replies, four.canned), (9, 0));
    assert!(four.templates.is_empty());
    let b = brand(&replies(5, 10));
    assert_eq!(b.canned_share, Some(0.5));
    // Wilson 95% interval of 5 of 10.
    assert_eq!(b.canned_share_ci, Some([0.2366, 0.7634]));
    let five = b.canned.unwrap();
    assert_eq!((five.replies, five.canned), (10, 5));
    assert_eq!(
        (five.templates[0].replies, five.templates[0].customers),
        (5, 5)
    );

    // Five replies, but to four customers (one complained twice, days apart): no template.
    let mut twice = replies(5, 10);
    twice[4].customer = "customer0".into();
    assert_eq!(brand(&twice).canned.unwrap().canned, 0);
}

#[test]
fn office_hours_end_at_18_local_time_across_a_dst_change() {
    // Paris is UTC+1 on Monday 30 October 2017 (UTC+2 the Friday before).
    let friday = MONDAY - 3 * 86_400;
    let at = |day: i64, h: i64, m: i64| day + h * HOUR + m * MIN;
    let cs = vec![
        // Friday 27, CEST: 17:59 local is 15:59 UTC (office), 18:01 local 16:01 UTC (not).
        complaint(at(friday, 15, 59), "a", Some((5 * MIN, "on it"))),
        complaint(at(friday, 16, 1), "b", Some((5 * HOUR, "on it"))),
        // Monday 30, CET: 17:59 local is 16:59 UTC (office), 18:01 local 17:01 UTC (not).
        complaint(at(MONDAY, 16, 59), "c", Some((5 * MIN, "on it"))),
        complaint(at(MONDAY, 17, 1), "d", Some((5 * HOUR, "on it"))),
        // Monday 08:59 local (07:59 UTC): not yet; Saturday 13:00 local: weekend.
        complaint(at(MONDAY, 7, 59), "e", Some((5 * HOUR, "on it"))),
        complaint(at(friday + 86_400, 11, 0), "f", None),
    ];
    let b = brand(&cs);
    let h = b.hours.unwrap();
    assert_eq!((h.office.complaints, h.off_hours.complaints), (2, 4));
    assert_eq!(h.office.answered_1h, Some(1.0));
    assert_eq!(h.off_hours.answered_1h, Some(0.0));
    assert_eq!(b.off_hours_gap, Some(1.0));
    // MOVER: 1 − √((1 − 0.025^(1/2))² + (1 − 0.025^(1/4))²) = −0.0352: two complaints against
    // four cannot exclude no gap.
    assert_eq!(b.off_hours_gap_ci, Some([-0.0352, 1.0]));
    // The grid is in local time: Monday 17:xx and 18:xx, Friday 17:xx and 18:xx.
    assert_eq!(h.grid_complaints[0][17], 1);
    assert_eq!(h.grid_complaints[0][18], 1);
    assert_eq!(h.grid_complaints[4][17], 1);
    assert_eq!(h.grid_complaints[4][18], 1);
    assert_eq!(
        h.grid_complaints[5][13], 1,
        "Saturday 11:00 UTC is 13:00 CEST"
    );
    // Fewer than five complaints in a cell: left blank.
    assert!(h.grid_1h.iter().flatten().all(Option::is_none));
}

#[test]
fn a_brand_without_follower_data_has_no_influence_figure_and_the_top_tenth_is_compared() {
    let mut cs = replies(0, 6);
    let b = brand(&cs);
    assert_eq!(
        (b.influence, b.influence_gap),
        (None, None),
        "not available, never zero"
    );

    // Twenty complainants with 1…20 followers: the two with 19 and 20 are the top tenth,
    // answered in 5 minutes; the others after two days (past 24 h).
    cs = (0..20)
        .map(|i| Complaint {
            at: MONDAY + i as i64 * HOUR,
            customer: format!("c{i}"),
            followers: Some(i as u64 + 1),
            reply: Some(if i >= 18 {
                (5 * MIN, "on it".into())
            } else {
                (30 * HOUR, "on it".into())
            }),
        })
        .collect();
    let b = brand(&cs);
    let inf = b.influence.unwrap();
    assert_eq!(inf.threshold, 19);
    assert_eq!((inf.top.complaints, inf.rest.complaints), (2, 18));
    assert_eq!(
        (inf.top.answered_24h, inf.rest.answered_24h),
        (Some(1.0), Some(0.0))
    );
    assert_eq!(inf.top.median_reply_s, Some(300));
    assert_eq!(b.influence_gap, Some(1.0));
    assert_eq!(inf.unknown, 0);
}
