//! The brand registry through the real binary: `replyrank check` rejects handles that are not of
//! their network's syntax, naming file and line, and the shipped build keeps its figures with
//! brands that have no data.

mod common;

use common::{ok, rr, shipped_site, site};

#[test]
fn check_names_file_and_line_of_handles_not_of_their_network() {
    // Was: any non-empty string passed as a handle; a Mastodon account without its instance
    // or a Bluesky name without a domain surfaced only as failed requests during collect.
    let root = site();
    let reg = root.path().join("data/brands.toml");
    let text = std::fs::read_to_string(&reg).unwrap();
    let text = format!(
        "{text}
[[brand]]
id = \"test-brand\"
name = \"Test Brand\"
category = \"telecom\"
country = \"FR\"
timezone = \"Europe/Paris\"
[brand.accounts]
twitter = [{{ handle = \"Test-Brand\", source = \"https://example.org/a\" }}]
bluesky = [
    {{ handle = \"testbrand\", source = \"https://example.org/b\" }},
    {{ handle = \"testbrand.bsky.social\", source = \"https://example.org/b\" }},
]
mastodon = [{{ handle = \"testbrand@localhost\", source = \"https://example.org/c\" }}]
"
    );
    std::fs::write(&reg, &text).unwrap();
    let line = |h: &str| text.lines().position(|l| l.contains(h)).unwrap() + 1;
    let out = rr(root.path(), &["check"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for (h, says) in [
        ("\"Test-Brand\"", "is not an X handle"),
        ("\"testbrand\"", "is not a Bluesky handle"),
        ("\"testbrand@localhost\"", "is not a Mastodon account"),
    ] {
        let at = format!("brands.toml:{}: ", line(h));
        assert!(
            err.lines()
                .any(|l| l.contains(&at) && l.contains(h) && l.contains(says)),
            "{h}: {err}"
        );
    }
    assert!(!err.contains("testbrand.bsky.social"), "{err}");
    assert!(err.contains("3 account(s)"), "{err}");
}

#[test]
fn registry_brands_without_data_change_no_figure_of_the_shipped_build() {
    // The 2026 brands have no post in the shipped TWCS store: they are named among the brands
    // without complaints, get no page, and change no figure.
    let root = shipped_site();
    ok(rr(root.path(), &["build"]));
    let public = root.path().join("public");
    let lb: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(public.join("data/leaderboard.json")).unwrap(),
    )
    .unwrap();
    let brands = lb["brands"].as_array().unwrap();
    let ranked: Vec<&str> = brands
        .iter()
        .filter(|b| b["eligible"] == true)
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ranked.len(), 15);
    assert_eq!(&ranked[..2], ["chipotle", "uber"]);
    let sncf = brands
        .iter()
        .find(|b| b["id"] == "sncf")
        .expect("sncf listed");
    assert_eq!(sncf["complaints"], 0);
    assert!(!public.join("brand/sncf/index.html").exists());
    assert!(!public.join("badge/sncf.svg").exists());
    let board = std::fs::read_to_string(public.join("index.html")).unwrap();
    assert!(board.contains("SNCF"), "SNCF named on the leaderboard");
}

#[test]
fn collect_never_asks_the_network_for_a_historical_account() {
    // Was: every registry handle was collected, so a TWCS handle whose brand ended cost five
    // failed requests on every run.
    let server = common::server::Server::start(|_: &common::server::Request| {
        common::server::Reply::json(&serde_json::json!([]))
    });
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("data")).unwrap();
    std::fs::write(
        root.path().join("data/brands.toml"),
        "[[brand]]\nid = \"acme\"\nname = \"Acme\"\ncategory = \"tech\"\ncountry = \"US\"\n\
         timezone = \"UTC\"\n[brand.accounts]\nmastodon = [\n\
         { handle = \"acmehelp@example.social\", source = \"https://example.org/a\" },\n\
         { handle = \"acmeold@example.social\", source = \"https://example.org/b\", \
         historical = \"https://example.org/closed\" },\n]\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("replyrank.toml"),
        format!(
            "[collect]\ncontact = \"mailto:test@example.org\"\nbackoff_ms = 10\nmax_retries = 0\n\n\
             [sources.mastodon]\nbase_url = \"{}\"\nrequests_per_second = 1000\n",
            server.url
        ),
    )
    .unwrap();
    common::collect(root.path(), &[], &["--source", "mastodon"]);
    let asked: Vec<String> = server
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| format!("{}?{:?}", r.path, r.query))
        .collect();
    assert!(asked.iter().any(|r| r.contains("acmehelp")), "{asked:?}");
    assert!(!asked.iter().any(|r| r.contains("acmeold")), "{asked:?}");
}
