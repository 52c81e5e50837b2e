//! `replyrank build` on the shipped data, into temporary directories: the files a reader and a
//! journalist rely on are there, every link resolves, downloads parse, snapshots are kept, and
//! no customer data reaches the site.

use std::path::{Path, PathBuf};

mod common;

use common::shipped_site as site_root;
use common::{ok, rr};

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn builds_a_citable_site_whose_links_all_resolve() {
    let root = site_root();
    let out = ok(rr(
        root.path(),
        &[
            "build",
            "--base-url",
            "https://someone.github.io/leaderboard",
        ],
    ));
    assert!(
        out.contains("15 brands ranked, snapshot archive/2017-12-03/"),
        "{out}"
    );
    let public = root.path().join("public");
    for f in [
        "index.html",
        "fr/index.html",
        "brand/american-airlines/index.html",
        "fr/brand/american-airlines/index.html",
        "category/airline/index.html",
        "country/us/index.html",
        "fr/country/gb/index.html",
        "methodology/index.html",
        "data/index.html",
        "data/leaderboard.csv",
        "data/leaderboard.json",
        "data/brands/american-airlines.json",
        "data/README.txt",
        "badge/american-airlines.svg",
        "embed/american-airlines/index.html",
        "atom.xml",
        "sitemap.xml",
        "robots.txt",
        "404.html",
        "fr/404.html",
        "archive/index.html",
        "assets/site.css",
        "assets/site.js",
        "archive/2017-12-03/index.html",
        "archive/2017-12-03/brand/american-airlines/index.html",
        "archive/2017-12-03/data/leaderboard.csv",
    ] {
        assert!(public.join(f).is_file(), "missing {f}");
    }
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("internal links: all resolve"), "{check}");

    // Every page says its language, its date, how to cite it, and links the method.
    for page in files(&public)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
    {
        let html = read(page);
        if html.contains("http-equiv=\"refresh\"") {
            continue; // a snapshot's pointer to the live archive
        }
        assert!(
            html.contains("<html lang=\"en\">") || html.contains("<html lang=\"fr\">"),
            "{}",
            page.display()
        );
        assert!(html.contains("2017"), "date on {}", page.display());
        let path = page.to_string_lossy();
        if !path.contains("/embed/") {
            // Every page but the 404 carries its citation.
            assert_eq!(
                html.contains("@misc{"),
                !path.ends_with("404.html"),
                "BibTeX on {}",
                page.display()
            );
            assert!(
                html.contains("og:title") && html.contains("twitter:card"),
                "meta on {}",
                page.display()
            );
        }
    }

    let board = read(&public.join("index.html"));
    assert!(
        board.contains("Chipotle") && board.contains("biased upward"),
        "coverage next to the figures"
    );
    assert!(board.contains("1–5"), "Chipotle's rank interval");
    let aa = read(&public.join("brand/american-airlines/index.html"));
    // The median is 525 s: "within 9 min" (rounded up after "within"), never "within 8 min".
    assert!(aa.contains("American Airlines replied to 97% of complaints within a day; half of all its complaints had a reply within 9\u{a0}min. 29% of its first replies sent the customer elsewhere"), "finding");
    assert!(
        aa.contains("Rank 3 of 15 overall (95% interval 1\u{2060}–\u{2060}8).")
            && aa.contains(
                "Rank 1 of 4 in Airline (between 1 and 3, given the overall rank intervals)."
            )
    );
    // Four charts, each titled and described, drawn once for a phone and once wide.
    assert_eq!(
        aa.matches("<title id=").count(),
        10,
        "four charts and the weekday × hour grid, each titled, drawn for a phone and wide"
    );
    assert_eq!(aa.matches("<desc id=").count(), 10);
    assert!(
        aa.contains(
            "https://someone.github.io/leaderboard/archive/2017-12-03/brand/american-airlines/"
        ),
        "dated URL"
    );
    assert!(aa.contains("<link rel=\"canonical\" href=\"https://someone.github.io/leaderboard/brand/american-airlines/\">"));
    let fr = read(&public.join("fr/brand/american-airlines/index.html"));
    assert!(
        fr.contains(
            "American Airlines a répondu à 97\u{202f}% des plaintes en moins d&#39;un jour"
        ),
        "French finding"
    );
    assert!(fr.contains("au 3\u{a0}décembre 2017"));
    let badge = read(&public.join("badge/american-airlines.svg"));
    // The headline rank and score with the as-of date, in one neutral colour; unranked brands
    // say so (was: a green "98% in 24 h" for a brand 13th of 15, and for one complaint).
    assert!(
        badge.contains("replyrank, 3\u{a0}December 2017: rank 3 of 15 · score 97.1"),
        "{badge}"
    );
    let yahoo = read(&public.join("badge/yahoo.svg"));
    assert!(
        yahoo.contains("3\u{a0}December 2017: not enough data"),
        "{yahoo}"
    );
    assert!(!yahoo.contains("100%"), "{yahoo}");
    // A month of one complaint is listed, not drawn as a point of the trend (was: scores
    // dropping from 50 to 0 on one complaint); drawn months carry their interval.
    let delta = read(&public.join("brand/delta/index.html"));
    assert!(
        delta.contains("<tr><td>Aug 2016</td><td>1</td><td>100%</td><td>100%</td><td>12\u{a0}min</td><td>not drawn: fewer than 10 complaints</td>"),
        "month of one complaint"
    );
    assert!(delta.contains("<td>22</td>") && delta.contains("(95% interval: "));
    // The monthly history is a download too, and /data/ explains every column.
    let history = read(&public.join("data/history.csv"));
    assert!(history.starts_with("id,month,complaints,"), "{history}");
    assert!(
        history.contains("\ndelta,2016-08,1,"),
        "a month of one complaint is listed"
    );
    let data = read(&public.join("data/index.html"));
    assert!(data.contains("<code>sent_elsewhere</code>") && data.contains("history.csv"));
    // The 404 page is no citable page; the methodology shows no raw test lines.
    assert!(!read(&public.join("404.html")).contains("class=\"cite\""));
    assert!(!read(&public.join("methodology/index.html")).contains("expect score"));
    // Chipotle is the only ranked brand in Food: no "Rank 1 of 1 in Food".
    assert!(!read(&public.join("brand/chipotle/index.html")).contains("of 1 in"));
    // Chipotle's 90th percentile is 793 s: "90% replied to within 14 min", never "13 min".
    let chipotle = read(&public.join("brand/chipotle/index.html"));
    assert!(
        chipotle.contains("90% replied to within</dt><dd>14\u{a0}min"),
        "p90 rounded up"
    );
    let methodology = read(&public.join("methodology/index.html"));
    assert!(methodology.contains("Kaplan–Meier") && methodology.contains("<table>"));
    // The data-quality counts as a table on the site (was: only in the JSON).
    assert!(methodology.contains("<h2 id=\"quality-h\">Data quality of this snapshot</h2>"));
    assert!(methodology.contains("<tr><td><code>follow_ups</code></td><td class=\"num\">"));
}

#[test]
fn downloads_parse_and_agree() {
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    let json: serde_json::Value =
        serde_json::from_str(&read(&public.join("data/leaderboard.json"))).unwrap();
    let brands = json["brands"].as_array().unwrap();
    let mut csv = csv::Reader::from_path(public.join("data/leaderboard.csv")).unwrap();
    let rows: Vec<std::collections::HashMap<String, String>> =
        csv.deserialize().map(Result::unwrap).collect();
    assert_eq!(rows.len(), brands.len());
    let first = &rows[0];
    assert_eq!(first["id"], "chipotle");
    assert_eq!(first["rank"], "1");
    assert_eq!(
        first["score"].parse::<f64>().unwrap(),
        brands[0]["score"].as_f64().unwrap()
    );
    // Every rank a page shows is in the download: Chipotle is first in food and in the US.
    assert_eq!(
        (
            first["category_rank"].as_str(),
            first["country_rank"].as_str()
        ),
        ("1", "1")
    );
    for (row, b) in rows.iter().zip(brands) {
        assert_eq!(row["id"], b["id"].as_str().unwrap());
        assert_eq!(row["complaints"], b["complaints"].to_string());
        assert_eq!(
            row["median_reply_s"],
            b["median_reply_s"]
                .as_i64()
                .map_or(String::new(), |s| s.to_string())
        );
    }
    for b in brands {
        let id = b["id"].as_str().unwrap();
        let file: serde_json::Value =
            serde_json::from_str(&read(&public.join(format!("data/brands/{id}.json")))).unwrap();
        assert_eq!(file["schema"], "replyrank.brand/1");
        assert_eq!(file["brand"], *b);
    }
    let apple: serde_json::Value =
        serde_json::from_str(&read(&public.join("data/brands/apple.json"))).unwrap();
    assert_eq!(apple["still_waiting"][0][0], 60);
    assert_eq!(
        apple["reply_times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        apple["brand"]["complaints"].as_u64().unwrap(),
        "every complaint in one bin"
    );
}

#[test]
fn no_customer_data_reaches_the_site() {
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    // Every customer id and a piece of every customer text of the shipped store.
    let mut customers = std::collections::BTreeSet::new();
    let mut texts = Vec::new();
    for f in files(&root.path().join("data/store"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        for line in read(f).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["inbound"] == true {
                customers.insert(v["author"].as_str().unwrap().to_string());
                let text = v["text"].as_str().unwrap_or_default();
                let words: Vec<&str> = text
                    .split_whitespace()
                    .filter(|w| !w.starts_with('@'))
                    .take(6)
                    .collect();
                if words.len() == 6 {
                    texts.push(words.join(" "));
                }
            }
        }
    }
    assert!(customers.len() > 1000 && texts.len() > 1000);
    // One pass over the output: its tokens, and its text for the phrase checks.
    let mut all = String::new();
    for f in files(&root.path().join("public")) {
        all.push_str(&String::from_utf8_lossy(&std::fs::read(&f).unwrap()));
        all.push('\n');
    }
    let tokens: std::collections::BTreeSet<&str> = all
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| t.len() >= 6)
        .collect();
    for c in &customers {
        assert!(
            !tokens.contains(c.as_str()),
            "customer id {c} is on the site"
        );
    }
    let finder_input = all.as_bytes();
    for t in texts.iter().step_by(10) {
        assert!(
            memchr::memmem::find(finder_input, t.as_bytes()).is_none(),
            "customer text {t:?} is on the site"
        );
    }
}

#[test]
fn snapshots_are_kept_and_the_feed_names_the_moves() {
    let root = site_root();
    ok(rr(root.path(), &["build", "--as-of", "2017-11-20"]));
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    assert!(
        public.join("archive/2017-11-20/index.html").is_file(),
        "earlier snapshot kept"
    );
    // Kept as it was: the later build replaced the live files, not the snapshot's; in the same
    // quarter as the later one, it is thinned to its leaderboard.csv (tests/archive.rs), from
    // which the feed still names the moves.
    let old = read(&public.join("archive/2017-11-20/data/leaderboard.csv"));
    assert!(
        old.lines()
            .nth(1)
            .unwrap()
            .ends_with(",2017-11-20T23:59:59Z"),
        "{old}"
    );
    assert!(read(&public.join("archive/2017-11-20/index.html")).contains("20\u{a0}November 2017"));
    let live: serde_json::Value =
        serde_json::from_str(&read(&public.join("data/leaderboard.json"))).unwrap();
    assert_eq!(live["as_of"], "2017-12-03T18:52:36Z");
    assert!(public.join("archive/2017-12-03/index.html").is_file());
    let feed = read(&public.join("atom.xml"));
    assert_eq!(feed.matches("<entry>").count(), 2);
    assert!(feed.contains("Biggest moves since 2017-11-20:"), "{feed}");
    let archive = read(&public.join("archive/index.html"));
    assert!(
        archive.contains("archive/2017-11-20/index.html")
            && archive.contains("archive/2017-12-03/index.html")
    );
    let check = ok(rr(root.path(), &["check"]));
    assert!(check.contains("all resolve"), "{check}");
}

#[test]
fn same_data_same_site() {
    let root = site_root();
    ok(rr(root.path(), &["build", "--output", "a"]));
    ok(rr(root.path(), &["build", "--output", "b"]));
    let (a, b) = (files(&root.path().join("a")), files(&root.path().join("b")));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).unwrap(),
            std::fs::read(y).unwrap(),
            "{}",
            x.display()
        );
    }
}

#[test]
fn a_root_template_overrides_the_built_in_one() {
    let root = site_root();
    std::fs::create_dir_all(root.path().join("templates")).unwrap();
    std::fs::write(
        root.path().join("templates/404.html"),
        "{% extends \"base.html\" %}{% block main %}<h1>Nothing here, friend</h1>{% endblock main %}",
    )
    .unwrap();
    std::fs::create_dir_all(root.path().join("templates/assets")).unwrap();
    std::fs::write(
        root.path().join("templates/assets/site.css"),
        "body { color: #000; }\n",
    )
    .unwrap();
    ok(rr(root.path(), &["build"]));
    assert!(read(&root.path().join("public/404.html")).contains("Nothing here, friend"));
    assert_eq!(
        read(&root.path().join("public/assets/site.css")),
        "body { color: #000; }\n"
    );
    assert!(
        read(&root.path().join("public/assets/site.js")).contains("sortable"),
        "others built in"
    );
    std::fs::write(root.path().join("templates/404.html"), "{% if %}").unwrap();
    let out = rr(root.path(), &["check"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("404.html"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn robots_and_feed_are_overridable_templates() {
    let root = site_root();
    std::fs::create_dir_all(root.path().join("templates")).unwrap();
    std::fs::write(
        root.path().join("templates/robots.txt"),
        "User-agent: *\nDisallow: /embed/\nSitemap: {{ base_url }}sitemap.xml\n",
    )
    .unwrap();
    ok(rr(
        root.path(),
        &["build", "--base-url", "https://ranks.example.net/"],
    ));
    assert_eq!(
        read(&root.path().join("public/robots.txt")),
        "User-agent: *\nDisallow: /embed/\nSitemap: https://ranks.example.net/sitemap.xml\n"
    );
    assert!(read(&root.path().join("public/atom.xml")).contains("First snapshot."));
}

#[test]
fn an_override_that_cannot_be_read_is_an_error_not_the_built_in_file() {
    // Was: an unreadable templates/base.html silently fell back to the built-in one.
    let root = site_root();
    std::fs::create_dir_all(root.path().join("templates/base.html")).unwrap();
    let out = rr(root.path(), &["build"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("templates/base.html") && err.contains("overrides the built-in base.html"),
        "{err}"
    );
    assert!(!root.path().join("public/index.html").exists());
}

#[test]
fn a_mistyped_translation_key_is_an_error() {
    // Was: unknown keys in a site's own i18n file were ignored, so a typo went unnoticed.
    let root = site_root();
    std::fs::create_dir_all(root.path().join("templates/i18n")).unwrap();
    let fr = include_str!("../templates/i18n/fr.toml").replace("footer = ", "fotter = ");
    std::fs::write(root.path().join("templates/i18n/fr.toml"), fr).unwrap();
    let out = rr(root.path(), &["build"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fr.toml") && err.contains("missing translation keys: footer"),
        "{err}"
    );
    let fr = include_str!("../templates/i18n/fr.toml")
        .replace("footer = ", "category_energy = \"Énergie\"\nfooter = ");
    std::fs::write(
        root.path().join("templates/i18n/fr.toml"),
        fr + "fotter = \"x\"\n",
    )
    .unwrap();
    let err = String::from_utf8_lossy(&rr(root.path(), &["build"]).stderr).into_owned();
    assert!(err.contains("unknown translation keys: fotter"), "{err}");
}

#[test]
fn unranked_reasons_and_the_feed_speak_the_page_language() {
    // Was: English "not enough data: …" on French brand pages.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let yahoo = read(&root.path().join("public/fr/brand/yahoo/index.html"));
    assert!(
        yahoo.contains("Non classée\u{202f}: pas assez de données"),
        "{yahoo}"
    );
    // French typography: a narrow no-break space before ":" and "%", "1 h" never broken, an
    // interval's ends kept together (was "Réponse en 1 / h", "95,7– / 99,7").
    let board = read(&root.path().join("public/fr/index.html"));
    assert!(board.contains("Réponse en 1\u{a0}h"), "header");
    assert!(
        board.contains("Intervalle à 95\u{202f}%\u{202f}: "),
        "interval title"
    );
    assert!(board.contains("\u{2060}–\u{2060}"), "interval ends joined");
    assert!(!board.contains(" :"), "no plain space before a colon");
    assert!(!yahoo.contains("not enough data"));
    let lb: serde_json::Value =
        serde_json::from_str(&read(&root.path().join("public/data/leaderboard.json"))).unwrap();
    let y = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "yahoo")
        .unwrap();
    assert_eq!(y["unranked_reason"], "too_few_complaints");
}

#[test]
fn the_lead_counts_the_complaints_of_the_brands_it_ranks() {
    // Was: "15 brands ranked by … their 1,404 public complaints" while the 15 had 944.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let lb: serde_json::Value =
        serde_json::from_str(&read(&root.path().join("public/data/leaderboard.json"))).unwrap();
    let ranked: Vec<&serde_json::Value> = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["eligible"] == true)
        .collect();
    let n: u64 = ranked
        .iter()
        .map(|b| b["complaints"].as_u64().unwrap())
        .sum();
    let all: u64 = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["complaints"].as_u64().unwrap())
        .sum();
    assert!(n < all);
    let with_commas = |n: u64| {
        let s = n.to_string();
        if s.len() > 3 {
            format!("{},{}", &s[..s.len() - 3], &s[s.len() - 3..])
        } else {
            s
        }
    };
    let board = read(&root.path().join("public/index.html"));
    assert!(
        board.contains(&format!(
            "{} brands ranked by how many of their {} public complaints",
            ranked.len(),
            with_commas(n)
        )),
        "{n} of {all}"
    );
}

#[test]
fn a_snapshot_written_by_version_1_still_reads() {
    // Earlier snapshots under archive/ keep the schema they were written with
    // (replyrank.leaderboard/1: reasons as sentences, data quality as lists): the feed reads them.
    let lb = replyrank::score::Leaderboard::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/leaderboard.v1.json"),
    )
    .unwrap();
    assert_eq!(lb.schema, "replyrank.leaderboard/1");
    assert_eq!(lb.method.version, replyrank::method::Version::V1);
    assert_eq!(lb.brands[0].id, "chipotle");
    assert_eq!(lb.brands[0].score, Some(98.0));
    let yahoo = lb.brands.iter().find(|b| b.id == "yahoo").unwrap();
    assert_eq!(
        yahoo.unranked_reason,
        Some(replyrank::score::Unranked::Other)
    );
    assert_eq!(lb.data_quality.unregistered_accounts, 0);
}

#[test]
fn the_feed_says_when_the_method_changed_instead_of_naming_moves() {
    let root = site_root();
    std::fs::write(
        root.path().join("replyrank.toml"),
        "[ranking]\nmethod = 1\n",
    )
    .unwrap();
    ok(rr(root.path(), &["build", "--as-of", "2017-11-30"]));
    std::fs::remove_file(root.path().join("replyrank.toml")).unwrap();
    ok(rr(root.path(), &["build"]));
    let feed = read(&root.path().join("public/atom.xml"));
    assert!(
        feed.contains("The method changed from version 1 to version 2"),
        "{feed}"
    );
    assert!(!feed.contains("Biggest moves"), "{feed}");
}

#[test]
fn brands_without_complaints_are_named_not_given_pages() {
    // Was: 33 pages per language for brands with no complaint ("received 0 complaints…").
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    let lb: serde_json::Value =
        serde_json::from_str(&read(&public.join("data/leaderboard.json"))).unwrap();
    let silent: Vec<&serde_json::Value> = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["complaints"] == 0)
        .collect();
    assert!(!silent.is_empty());
    let board = read(&public.join("index.html"));
    for b in &silent {
        let id = b["id"].as_str().unwrap();
        assert!(
            !public.join(format!("brand/{id}/index.html")).exists(),
            "{id}"
        );
        assert!(!public.join(format!("badge/{id}.svg")).exists(), "{id}");
        assert!(
            public.join(format!("data/brands/{id}.json")).exists(),
            "{id}: data kept"
        );
        let name = b["name"]
            .as_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('\'', "&#39;");
        assert!(board.contains(&name), "{name} named on the leaderboard");
    }
}

/// Every file of a built site that is text, with its path.
fn texts(public: &Path) -> Vec<(PathBuf, String)> {
    files(public)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

#[test]
fn without_base_url_nothing_points_to_example_org_and_the_404_is_styled() {
    // Was: citations, snippets, canonical and OpenGraph URLs on example.org, and a 404 page
    // loading its stylesheet from there; build and check said nothing.
    let root = site_root();
    let out = rr(root.path(), &["build"]);
    assert!(out.status.success());
    let warned = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(warned.contains("base_url is not set"), "{warned}");
    let public = root.path().join("public");
    for (path, text) in texts(&public) {
        assert!(!text.contains("example.org"), "{}", path.display());
    }
    let not_found = read(&public.join("404.html"));
    assert!(not_found.contains("<link rel=\"stylesheet\" href=\"/assets/site.css\">"));
    let delta = read(&public.join("brand/delta/index.html"));
    assert!(!delta.contains("rel=\"canonical\"") && !delta.contains("og:url"));
    assert!(delta.contains("/archive/2017-12-03/brand/delta/ (method version 2"));
    assert!(delta.contains("&lt;iframe src=&quot;/embed/delta/&quot;"));
    assert!(delta.contains("This site&#39;s public address is not configured (base_url)"));
    assert!(!read(&public.join("robots.txt")).contains("Sitemap:"));
    let check = rr(root.path(), &["check"]);
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stderr).contains("base_url is not set"));
    // Every ranked brand fits on the front page: /ranking/ leads there instead of repeating it.
    let ranking = read(&public.join("ranking/index.html"));
    assert!(ranking.contains("http-equiv=\"refresh\" content=\"0; url=../index.html\""));
    assert!(!read(&public.join("sitemap.xml")).contains("ranking/"));

    // With an address, the 404 page links from the site's path, served at any depth.
    ok(rr(
        root.path(),
        &[
            "build",
            "--base-url",
            "https://someone.github.io/leaderboard",
        ],
    ));
    let not_found = read(&public.join("404.html"));
    assert!(
        not_found.contains("href=\"/leaderboard/assets/site.css\""),
        "{not_found}"
    );
    ok(rr(root.path(), &["check"]));
}

#[test]
fn category_and_country_pages_keep_overall_ranks_and_their_intervals() {
    // Was: each group renumbered from 1 without intervals ("British Airways 1st in GB", its
    // interval overlapping Tesco's).
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let gb = read(&root.path().join("public/country/gb/index.html"));
    assert!(gb.contains("data-rank=\"13\" data-name=\"Tesco\""));
    assert!(gb.contains("data-rank=\"14\" data-name=\"British Airways\""));
    assert!(gb.contains("<td class=\"num\">14<small title=\"95% rank interval: 11\u{2060}–\u{2060}15\">11–15</small>"));
    assert!(gb.contains("Ranks and their 95% intervals are those of the overall ranking"));
    // All three other airlines are surely ahead of British Airways: no range to give.
    let ba = read(&root.path().join("public/brand/british-airways/index.html"));
    assert!(ba.contains(
        "Rank 14 of 15 overall (95% interval 11\u{2060}–\u{2060}15). Rank 4 of 4 in Airline.</p>"
    ));
    let delta = read(&root.path().join("public/brand/delta/index.html"));
    assert!(
        delta.contains(
            "Rank 2 of 4 in Airline (between 1 and 3, given the overall rank intervals)."
        )
    );
}

#[test]
fn the_front_page_shows_when_complaints_were_made_and_warns_of_one_crowded_day() {
    // Was: "4 September – 3 December 2017" while most posts are from 31 October 2017.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let board = read(&root.path().join("public/index.html"));
    assert!(board.contains(
        "Read with care: 71% of the ranked complaints were made on one day, 31\u{a0}October 2017."
    ));
    assert!(board.contains("<h2 id=\"days-h\">When the ranked complaints were made</h2>"));
    // The data behind the chart adds up to the lead's count.
    let table = &board[board.find("<h2 id=\"days-h\">").unwrap()..];
    let total: usize = table
        .split("<tr><td>")
        .skip(1)
        .map(|row| {
            row.split("</td><td>")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .replace(',', "")
                .parse::<usize>()
                .unwrap()
        })
        .sum();
    assert_eq!(total, 867);
    let fr = read(&root.path().join("public/fr/index.html"));
    assert!(fr.contains(
        "À lire avec prudence\u{202f}: 71\u{202f}% des plaintes classées datent d’un seul jour"
    ));
}

/// The `<svg class="wide">` drawing of the chart `id` on a page.
fn wide_svg<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("aria-labelledby=\"{id}-wide-t"))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let end = html[at..].find("</svg>").unwrap();
    &html[at..at + end]
}

#[test]
fn months_are_drawn_on_a_time_axis_and_the_window_is_shaded() {
    // Was: Aug 2016, Aug 2017, Oct and Nov 2017 spaced evenly, and "45 complaints" beside a
    // headline of 43 with nothing relating them.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let delta = read(&root.path().join("public/brand/delta/index.html"));
    let vol = wide_svg(&delta, "vol");
    let xs: Vec<f64> = vol
        .match_indices("<rect x=\"")
        .map(|(i, m)| {
            vol[i + m.len()..]
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let bars: Vec<f64> = xs[1..].to_vec(); // the first rect is the shaded window
    assert_eq!(bars.len(), 4, "{xs:?}");
    let month = bars[3] - bars[2];
    let year = bars[1] - bars[0];
    assert!(
        (year / month - 12.0).abs() < 0.2,
        "Aug 2016 → Aug 2017 is 12 months: {bars:?}"
    );
    assert!(vol.contains(">90-day window</text>"));
    assert!(delta.contains("The figures use the 43 complaints of the 90-day window"));
}

#[test]
fn the_waiting_curve_is_the_kaplan_meier_step_function_with_its_band() {
    // Was: S sampled at 22 fixed times and drawn as steps, so its plateaus were artefacts.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let chipotle = read(&root.path().join("public/brand/chipotle/index.html"));
    let km = wide_svg(&chipotle, "km");
    let curve = km
        .split("<path d=\"")
        .find(|p| p.contains("fill=\"none\" stroke=\"#1f4e79\""))
        .unwrap();
    let steps = curve.split('"').next().unwrap().matches('V').count();
    assert!(
        steps > 40,
        "a step at each reply time, not 22 samples: {steps}"
    );
    assert!(km.contains("fill=\"#7c9fc2\""), "its 95% band");
}

#[test]
fn every_chart_and_figure_block_credits_the_dataset_and_its_licence() {
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let credit = "<a href=\"https://www.kaggle.com/datasets/thoughtvector/customer-support-on-twitter\">ThoughtVector, “Customer Support on Twitter” (Kaggle, 2017)</a> (<a href=\"https://creativecommons.org/licenses/by-nc-sa/4.0/\">CC BY-NC-SA 4.0</a>)";
    let delta = read(&root.path().join("public/brand/delta/index.html"));
    assert_eq!(
        delta.matches(credit).count(),
        6,
        "the figures, four charts and the weekday × hour grid"
    );
    let board = read(&root.path().join("public/index.html"));
    assert_eq!(
        board.matches(credit).count(),
        3,
        "the table, the dots and the days"
    );
}

/// WCAG relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let c = |i: usize| {
        let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
        if v <= 0.03928 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

#[test]
fn the_interval_band_and_the_focus_ring_reach_three_to_one() {
    // Was: the band about 1.9:1 against its background, the focus ring about 2.3:1.
    let root = site_root();
    ok(rr(root.path(), &["build"]));
    let css = read(&root.path().join("public/assets/site.css"));
    let colour = |rule: &str, prop: &str| -> String {
        let at = css.find(rule).unwrap_or_else(|| panic!("{rule}"));
        let body = &css[at..at + css[at..].find('}').unwrap()];
        let v = &body[body.find(prop).unwrap_or_else(|| panic!("{rule} {prop}")) + prop.len()..];
        let v = v.trim_start_matches([':', ' ']);
        let hex = &v[v.find('#').unwrap()..];
        let hex: String = hex
            .chars()
            .take_while(|c| *c == '#' || c.is_ascii_hexdigit())
            .collect();
        if hex.len() == 4 {
            hex.chars()
                .flat_map(|c| if c == '#' { vec![c] } else { vec![c, c] })
                .collect()
        } else {
            hex
        }
    };
    let band = colour(".ci::before {", "background");
    let behind = colour(".ci {", "background");
    assert!(
        contrast(&band, &behind) >= 3.0,
        "{band} on {behind}: {}",
        contrast(&band, &behind)
    );
    let ring = colour("a:focus, button:focus", "outline");
    assert!(
        contrast(&ring, "#ffffff") >= 3.0,
        "{ring}: {}",
        contrast(&ring, "#ffffff")
    );
}

#[test]
fn every_page_has_a_share_image_and_a_dated_social_description() {
    // Was: no og:image, and descriptions without the as-of date.
    let root = site_root();
    ok(rr(
        root.path(),
        &[
            "build",
            "--base-url",
            "https://someone.github.io/leaderboard",
        ],
    ));
    let public = root.path().join("public");
    for (page, image) in [
        ("brand/delta/index.html", "og/delta.png"),
        ("fr/brand/delta/index.html", "fr/og/delta.png"),
        ("index.html", "og/site.png"),
        ("brand/hulu/index.html", "og/site.png"),
        ("methodology/index.html", "og/site.png"),
    ] {
        let html = read(&public.join(page));
        let meta = format!(
            "<meta property=\"og:image\" content=\"https://someone.github.io/leaderboard/{image}\">"
        );
        assert!(html.contains(&meta), "{page}: {meta}");
        let png = std::fs::read(public.join(image)).unwrap();
        assert_eq!(&png[1..4], b"PNG", "{image}");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 600);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 315);
        let date = if page.starts_with("fr/") {
            "(au 3\u{a0}décembre 2017)\">"
        } else {
            "(as of 3\u{a0}December 2017)\">"
        };
        for tag in [
            "name=\"description\"",
            "property=\"og:description\"",
            "name=\"twitter:description\"",
        ] {
            let at = html.find(tag).unwrap_or_else(|| panic!("{page}: {tag}"));
            let end = at + html[at..].find('>').unwrap() + 1;
            assert!(html[..end].ends_with(date), "{page}: {}", &html[at..end]);
        }
    }
    assert!(
        !public.join("og/hulu.png").exists(),
        "unranked brands share the site's image"
    );
}
