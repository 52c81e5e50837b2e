//! Each pairing and scoring rule of method v1 (content/methodology.md), pinned with a small
//! hand-built thread. Times are minutes after 2017-10-31 12:00 UTC.

use replyrank::config::ScoreBasis;
use replyrank::corpus::Corpus;
use replyrank::method::Version;
use replyrank::pair::{Pairing, pair};
use replyrank::post::{Post, text_mentions};
use replyrank::registry::Registry;
use replyrank::score::{Inputs, Method, SourceInfo, competition_ranks, score};

const T0: i64 = 1_509_451_200;

fn registry() -> Registry {
    Registry::parse(
        r#"
[[brand]]
id = "air"
name = "Air Co"
category = "airline"
country = "US"
timezone = "UTC"
[brand.accounts]
twitter = ["AirCo"]

[[brand]]
id = "tel"
name = "Tel Co"
category = "telecom"
country = "GB"
timezone = "Europe/London"
[brand.accounts]
twitter = ["TelCo", "TelCoHelp"]
"#,
        "test",
    )
    .unwrap()
}

/// A post `minutes` after T0.
fn p(id: &str, author: &str, minutes: i64, reply_to: Option<&str>, text: &str) -> Post<'static> {
    Post {
        source: "twcs".into(),
        id: id.to_string().into(),
        author: author.to_string().into(),
        created_at: T0 + minutes * 60,
        reply_to: reply_to.map(|r| r.to_string().into()),
        text: Some(text.to_string().into()),
        mentions: text_mentions(text)
            .into_iter()
            .map(|m| m.into_owned().into())
            .collect(),
        ..Default::default()
    }
}

struct Paired {
    corpus: Corpus,
    pairing: Pairing,
}

fn run(posts: &[Post], as_of_minutes: i64) -> Paired {
    let corpus = Corpus::from_posts(&registry(), posts);
    let pairing = pair(&corpus, T0 + as_of_minutes * 60, Version::V1);
    Paired { corpus, pairing }
}

impl Paired {
    /// (complaint id, brand index, first reply id, reply seconds), in post order.
    fn complaints(&self) -> Vec<(String, u32, Option<String>, Option<i64>)> {
        self.pairing
            .complaints
            .iter()
            .map(|c| {
                (
                    self.corpus.id(c.post).1.to_string(),
                    c.brand,
                    c.first_reply.map(|r| self.corpus.id(r).1.to_string()),
                    c.reply_s,
                )
            })
            .collect()
    }
}

const AIR: u32 = 0;
const TEL: u32 = 1;

fn c(
    id: &str,
    brand: u32,
    reply: Option<&str>,
    secs: Option<i64>,
) -> (String, u32, Option<String>, Option<i64>) {
    (id.into(), brand, reply.map(Into::into), secs)
}

#[test]
fn follow_up_belongs_to_the_first_complaint() {
    let r = run(
        &[
            p("1", "100", 0, None, "@AirCo my bag is lost"),
            p(
                "2",
                "100",
                2,
                Some("1"),
                "@AirCo still waiting, flight AB123",
            ),
            p("3", "AirCo", 10, Some("2"), "@100 sorry, DM us"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, Some("3"), Some(600))]);
    assert_eq!(r.pairing.quality.follow_ups, 1);
}

#[test]
fn answer_to_the_latest_follow_up_answers_the_complaint() {
    let r = run(
        &[
            p("1", "100", 0, None, "@AirCo refund please"),
            p("2", "100", 3, Some("1"), "hello?"),
            p("3", "100", 4, Some("2"), "anyone?"),
            p("4", "AirCo", 30, Some("3"), "@100 on it"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, Some("4"), Some(1800))]);
}

#[test]
fn same_here_under_a_brand_post_is_a_complaint_of_its_own() {
    let r = run(
        &[
            p("1", "100", 0, None, "@AirCo wifi is down"),
            p("2", "AirCo", 5, Some("1"), "@100 we're on it"),
            p("3", "200", 6, Some("2"), "same here"),
            p("4", "AirCo", 20, Some("3"), "@200 sorry"),
            p("5", "100", 21, Some("4"), "me too still"),
        ],
        60,
    );
    // Post 5 by 100 sits under 200's complaint: 100 wrote an ancestor (1), so it is a follow-up.
    assert_eq!(
        r.complaints(),
        [
            c("1", AIR, Some("2"), Some(300)),
            c("3", AIR, Some("4"), Some(840))
        ]
    );
    assert_eq!(r.pairing.quality.follow_ups, 1);
}

#[test]
fn a_reply_under_another_customers_post_does_not_answer() {
    let r = run(
        &[
            p("1", "100", 0, None, "@AirCo help"),
            p("2", "200", 1, Some("1"), "@AirCo me too"),
            p("3", "AirCo", 2, Some("2"), "@200 DM us"),
        ],
        120,
    );
    // 1 is still waiting at as-of: censored, not answered by the reply to 200.
    assert_eq!(
        r.complaints(),
        [c("1", AIR, None, None), c("2", AIR, Some("3"), Some(60))]
    );
}

#[test]
fn negative_reply_time_counts_as_zero_and_is_reported() {
    let r = run(
        &[
            p("1", "100", 10, None, "@AirCo hi"),
            p("2", "AirCo", 5, Some("1"), "@100 hello"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, Some("2"), Some(0))]);
    assert_eq!(r.pairing.quality.negative_reply_times, 1);
}

#[test]
fn unanswered_complaint_is_censored_not_zero_and_not_dropped() {
    let posts = [
        p("1", "100", 0, None, "@AirCo a"),
        p("2", "AirCo", 10, Some("1"), "@100 b"),
        p("3", "101", 0, None, "@AirCo c"),
    ];
    let r = run(&posts, 120);
    assert_eq!(
        r.complaints(),
        [c("1", AIR, Some("2"), Some(600)), c("3", AIR, None, None)]
    );
    // In the scores: one answered at 10 min, one followed 2 h then censored.
    let lb = scored(&r, 120, 1);
    let air = lb.brands.iter().find(|b| b.id == "air").unwrap();
    assert_eq!(air.complaints, 2);
    assert_eq!(air.answered, 1);
    assert_eq!(air.answered_1h, Some(0.5));
    assert_eq!(
        air.answered_24h, None,
        "nobody was followed for 24 h and S > 0"
    );
    assert_eq!(air.score, None);
    assert_eq!(air.median_reply_s, Some(600));
}

#[test]
fn reply_after_as_of_is_not_seen() {
    let r = run(
        &[
            p("1", "100", 0, None, "@AirCo a"),
            p("2", "AirCo", 90, Some("1"), "@100 b"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, None, None)]);
    assert_eq!(r.pairing.quality.posts_after_as_of, 1);
}

#[test]
fn two_brands_in_one_thread() {
    let r = run(
        &[
            // First mentioned brand is the one complained to; the other brand's reply does not answer.
            p("1", "100", 0, None, "@AirCo @TelCo no signal on board"),
            p("2", "TelCo", 2, Some("1"), "@100 not us"),
            p("3", "AirCo", 9, Some("1"), "@100 sorry"),
            // A customer replying under Air's post while tagging Tel complains to Air (nearest brand).
            p("4", "200", 12, Some("3"), "@TelCo you should fix this too"),
            p("5", "TelCo", 13, Some("4"), "@200 hello"),
            p("6", "AirCo", 40, Some("4"), "@200 noted"),
            // The first customer turning to Tel in a follow-up stays in the Air complaint.
            p(
                "7",
                "100",
                20,
                Some("3"),
                "@TelCoHelp can you help instead?",
            ),
            p("8", "TelCoHelp", 25, Some("7"), "@100 sure"),
        ],
        120,
    );
    assert_eq!(
        r.complaints(),
        [
            c("1", AIR, Some("3"), Some(540)),
            c("4", AIR, Some("6"), Some(1680))
        ]
    );
}

#[test]
fn archive_without_mentions_uses_the_brand_that_answered() {
    // TWCS replaces some brand mentions by anonymised ids.
    let r = run(
        &[
            p("1", "100", 0, None, "@115714 y'all lie"),
            p("2", "TelCo", 3, Some("1"), "@100 sorry"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", TEL, Some("2"), Some(180))]);
}

#[test]
fn post_addressed_to_no_brand_is_not_a_complaint() {
    let r = run(
        &[
            p("1", "100", 0, None, "nice day"),
            p("2", "101", 1, Some("1"), "@100 indeed"),
        ],
        60,
    );
    assert!(r.complaints().is_empty());
    assert_eq!(r.pairing.quality.not_addressed, 2);
}

#[test]
fn handles_match_without_case_and_ties_go_to_the_smaller_id() {
    let r = run(
        &[
            p("1", "100", 0, None, "@airco hi"),
            p("12", "airco", 5, Some("1"), "@100 a"),
            p("11", "AIRCO", 5, Some("1"), "@100 b"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, Some("11"), Some(300))]);
}

#[test]
fn cut_threads_and_cycles_are_reported() {
    let r = run(
        &[
            p("1", "100", 0, Some("999"), "@AirCo parent missing"),
            p("2", "AirCo", 1, Some("1"), "@100 ok"),
            p("3", "300", 0, Some("4"), "@AirCo loop"),
            p("4", "301", 0, Some("3"), "@AirCo loop"),
        ],
        60,
    );
    assert_eq!(r.complaints(), [c("1", AIR, Some("2"), Some(60))]);
    assert_eq!(r.pairing.quality.missing_parents, 1);
    assert_eq!(r.pairing.quality.reply_cycles, 2);
}

#[test]
fn paired_rows_name_brands_by_id() {
    let mut complaint = p("r1", "", 0, None, "");
    complaint.source = "appstore".into();
    complaint.to_brand = Some("tel".into());
    let mut reply = p("r1/reply", "", 45, Some("r1"), "");
    reply.source = "appstore".into();
    reply.brand = Some("tel".into());
    let mut other = p("r2", "", 1, None, "");
    other.source = "appstore".into();
    other.to_brand = Some("tel".into());
    let r = run(&[complaint, reply, other], 100);
    // Empty authors are distinct customers: r2 is not a follow-up of anything.
    assert_eq!(
        r.complaints(),
        [
            c("r1", TEL, Some("r1/reply"), Some(2700)),
            c("r2", TEL, None, None)
        ]
    );
}

fn method(as_of: i64, min: usize) -> Method {
    Method {
        as_of,
        version: Version::V1,
        score: ScoreBasis::Reply,
        window_days: 90,
        min_complaints: min,
        bootstrap: 1000,
        seed: 7,
    }
}

fn scored(r: &Paired, as_of_minutes: i64, min: usize) -> replyrank::score::Leaderboard {
    let sources: Vec<SourceInfo> = r
        .corpus
        .sources
        .iter()
        .map(|s| SourceInfo {
            name: s.clone(),
            coverage: format!("{s} coverage"),
            gaps: Vec::new(),
        })
        .collect();
    let reg = registry();
    let m = method(T0 + as_of_minutes * 60, min);
    score(
        &r.pairing.complaints,
        &Inputs {
            registry: &reg,
            sources: &sources,
            method: &m,
            data_quality: Default::default(),
            templates: &r.corpus.templates,
            sealed: &[],
        },
    )
}

/// `n` complaints to `brand`, answered after the given minutes (`None`: never).
fn threads(brand: &str, start_id: usize, minutes_to_reply: &[Option<i64>]) -> Vec<Post<'static>> {
    let mut out = Vec::new();
    for (k, reply) in minutes_to_reply.iter().enumerate() {
        let id = start_id + 2 * k;
        let customer = format!("{}", 5000 + id);
        out.push(p(
            &id.to_string(),
            &customer,
            0,
            None,
            &format!("@{brand} problem"),
        ));
        if let Some(m) = reply {
            out.push(p(
                &(id + 1).to_string(),
                brand,
                *m,
                Some(&id.to_string()),
                "@x reply",
            ));
        }
    }
    out
}

#[test]
fn score_window_eligibility_and_history() {
    // Air: 4 complaints now (1 within the hour, 2 within the day, 1 never), followed 2 days;
    // plus 1 complaint 100 days earlier (outside the 90-day window, in the history).
    let mut posts = threads("AirCo", 1000, &[Some(30), Some(120), Some(600), None]);
    let mut old = p("1", "9", -100 * 24 * 60, None, "@AirCo old one");
    old.created_at = T0 - 100 * 86_400;
    posts.push(old);
    // Tel: 3 complaints, all answered within 5 minutes.
    posts.extend(threads("TelCo", 2000, &[Some(1), Some(2), Some(5)]));
    let r = run(&posts, 2 * 24 * 60);
    let lb = scored(&r, 2 * 24 * 60, 4);
    let air = lb.brands.iter().find(|b| b.id == "air").unwrap();
    assert_eq!((air.complaints, air.answered), (4, 3));
    assert_eq!(air.answered_1h, Some(0.25));
    assert_eq!(air.answered_24h, Some(0.75));
    assert_eq!(air.score, Some(50.0), "100 × (0.25 + 0.75) / 2");
    assert_eq!(air.median_reply_s, Some(7200));
    assert_eq!(air.p90_reply_s, None);
    assert!(air.eligible);
    assert_eq!(air.rank, Some(1));
    let [lo, hi] = air.score_ci.unwrap();
    assert!(
        (0.0..=50.0).contains(&lo) && (50.0..=100.0).contains(&hi),
        "{lo} {hi}"
    );
    let tel = lb.brands.iter().find(|b| b.id == "tel").unwrap();
    assert_eq!(
        (tel.complaints, tel.score, tel.eligible, tel.rank),
        (3, Some(100.0), false, None)
    );
    assert_eq!(
        tel.unranked_reason,
        Some(replyrank::score::Unranked::TooFewComplaints)
    );
    assert_eq!(lb.brands[0].id, "air", "ranked brands first");
    let months: Vec<(&str, usize)> = lb.history["air"]
        .iter()
        .map(|m| (m.month.as_str(), m.complaints))
        .collect();
    assert_eq!(months, [("2017-07", 1), ("2017-10", 4)]);
    assert_eq!(
        lb.history["air"][0].score,
        Some(0.0),
        "followed 100 days, never answered"
    );
}

#[test]
fn equal_scores_to_one_decimal_share_a_rank() {
    assert_eq!(
        competition_ranks(&[
            Some(90.04),
            Some(80.0),
            Some(89.96),
            Some(90.0),
            None,
            Some(70.0)
        ]),
        [1, 4, 1, 1, 6, 5]
    );
}

#[test]
fn same_inputs_same_output() {
    let posts = threads(
        "AirCo",
        1000,
        &[Some(30), Some(120), Some(600), None, Some(3), Some(4000)],
    );
    let r = run(&posts, 2 * 24 * 60);
    let a = serde_json::to_string(&scored(&r, 2 * 24 * 60, 1)).unwrap();
    let b = serde_json::to_string(&scored(&r, 2 * 24 * 60, 1)).unwrap();
    assert_eq!(a, b);
}

fn run_v2(posts: &[Post], as_of_minutes: i64) -> Paired {
    let corpus = Corpus::from_posts(&registry(), posts);
    let pairing = pair(&corpus, T0 + as_of_minutes * 60, Version::V2);
    Paired { corpus, pairing }
}

#[test]
fn v2_a_reply_to_the_complainants_follow_up_answers_even_after_another_customer() {
    // Was (v1, shipped data: Tesco 1819 and 2531, Delta 3210, Xbox 3516…): another customer's
    // post between the complaint and the complainant's follow-up hid the brand's reply.
    let posts = [
        p("1", "100", 0, None, "@AirCo my bag is lost"),
        p("2", "200", 5, Some("1"), "@100 same here"),
        p("3", "100", 8, Some("2"), "@200 @AirCo still nothing"),
        p(
            "4",
            "AirCo",
            30,
            Some("3"),
            "@100 we found it, it arrives tonight",
        ),
    ];
    assert_eq!(run(&posts, 120).complaints()[0], c("1", AIR, None, None));
    assert_eq!(
        run_v2(&posts, 120).complaints()[0],
        c("1", AIR, Some("4"), Some(1800))
    );
}

#[test]
fn v2_a_brand_reply_to_another_customer_does_not_answer_the_complaint() {
    let posts = [
        p("1", "100", 0, None, "@AirCo my bag is lost"),
        p("2", "200", 5, Some("1"), "@100 @AirCo mine too"),
        p("3", "AirCo", 30, Some("2"), "@200 sorry, looking into it"),
    ];
    let r = run_v2(&posts, 120);
    assert_eq!(r.complaints()[0], c("1", AIR, None, None));
}

#[test]
fn v2_the_public_answer_is_the_first_reply_that_does_not_deflect() {
    let posts = [
        p("1", "100", 0, None, "@AirCo my bag is lost"),
        p("2", "AirCo", 10, Some("1"), "@100 please DM us"),
        p("3", "100", 20, Some("2"), "@AirCo why not here?"),
        p(
            "4",
            "AirCo",
            50,
            Some("3"),
            "@100 it lands at 18:00, gate 4",
        ),
    ];
    let mut corpus = Corpus::from_posts(&registry(), &posts);
    // What the deflection classifier says of post 2.
    corpus.posts[1].deflect = true;
    let pairing = pair(&corpus, T0 + 120 * 60, Version::V2);
    let c1 = &pairing.complaints[0];
    assert_eq!(
        (c1.reply_s, c1.deflected, c1.public_s),
        (Some(600), true, Some(3000))
    );
    // Version 1 knows no public answer.
    let v1 = pair(&corpus, T0 + 120 * 60, Version::V1);
    assert_eq!(
        (v1.complaints[0].reply_s, v1.complaints[0].public_s),
        (Some(600), None)
    );
}
