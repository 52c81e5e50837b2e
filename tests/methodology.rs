//! The worked example of content/methodology.md, recomputed: the page and the code agree.

use replyrank::km::Obs;
use replyrank::score::Figures;

fn minutes(amount: &str, unit: &str) -> i64 {
    let n: i64 = amount.parse().unwrap();
    match unit {
        "min" => n * 60,
        "h" => n * 3600,
        other => panic!("unit {other}"),
    }
}

#[test]
fn worked_example_matches_the_code() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/content/methodology.md"
    ))
    .unwrap();
    let block = page
        .split("```worked-example\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let mut obs = Vec::new();
    let mut expect = Vec::new();
    for line in block.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            [_, "answered", "after", n, unit] => obs.push(Obs {
                t: minutes(n, unit),
                answered: true,
            }),
            [_, "waiting,", "followed", n, unit] => obs.push(Obs {
                t: minutes(n, unit),
                answered: false,
            }),
            ["expect", key, values @ ..] => expect.push((key.to_string(), values.join(" "))),
            _ => panic!("unreadable line in the worked example: {line:?}"),
        }
    }
    let f = Figures::of(&obs);
    let opt = |x: Option<f64>, d: usize| x.map_or("none".into(), |v| format!("{:.*}", d, v));
    let opt_i = |x: Option<i64>| x.map_or("none".into(), |v| v.to_string());
    assert_eq!(expect.len(), 6);
    for (key, want) in expect {
        let got = match key.as_str() {
            "answered_1h" => opt(f.answered_1h, 1),
            "answered_24h" => opt(f.answered_24h, 1),
            "answered_24h_ci" => f
                .answered_24h_ci
                .map_or("none".into(), |(a, b)| format!("{a:.4} {b:.4}")),
            "median_reply_s" => opt_i(f.median_reply_s),
            "p90_reply_s" => opt_i(f.p90_reply_s),
            "score" => opt(f.score, 0),
            other => panic!("unknown key {other}"),
        };
        assert_eq!(got, want, "{key}");
    }
}
