//! The built site in a real browser: Debian's Chromium driven through chromedriver (WebDriver,
//! spoken here directly over HTTP), against `replyrank serve` on localhost.
//!
//! Skipped, saying so, when Chromium or chromedriver is missing, unless
//! `REPLYRANK_REQUIRE_BROWSER` is set (CI sets it after installing them). Screenshots of the
//! leaderboard and a brand page in both languages go to `target/screenshots/`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_replyrank");
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let driver = PathBuf::from("/usr/bin/chromedriver");
    match (chromium, driver.exists()) {
        (Some(c), true) => Some((c, driver)),
        _ if std::env::var_os("REPLYRANK_REQUIRE_BROWSER").is_some() => {
            panic!(
                "REPLYRANK_REQUIRE_BROWSER is set but chromium or chromedriver is missing (apt-get install chromium chromium-driver)"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED: the browser test needs Debian's chromium and chromium-driver (.ci/run installs them)"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A child process killed when dropped.
struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver session.
struct Session {
    port: u16,
    id: String,
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then exactly the body it announces (the driver may keep the connection).
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let payload = if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        let mut body = vec![0u8; len.trim().parse().unwrap()];
        s.read_exact(&mut body).unwrap();
        String::from_utf8_lossy(&body).into_owned()
    } else {
        let mut rest = String::new();
        s.read_to_string(&mut rest).unwrap();
        if head.contains("transfer-encoding: chunked") {
            dechunk(&rest)
        } else {
            rest
        }
    };
    serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{method} {path}: {e}: {payload}"))
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

impl Session {
    fn new(driver_port: u16, chromium: &Path, profile: &Path) -> Session {
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1280,1800", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let v = http(driver_port, "POST", "/session", Some(&caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        Session {
            port: driver_port,
            id,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        );
        assert!(v["value"].get("error").is_none(), "{method} {path}: {v}");
        v["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// Resizes the window so the page's viewport is `w` × `h` CSS pixels.
    fn viewport(&self, w: i64, h: i64) {
        self.call(
            "POST",
            "/window/rect",
            Some(json!({"width": w, "height": h})),
        );
        // Headless Chromium's window is its viewport; correct for any frame all the same.
        let inner = self.js("return [window.innerWidth, window.innerHeight]");
        let (iw, ih) = (inner[0].as_i64().unwrap(), inner[1].as_i64().unwrap());
        if (iw, ih) != (w, h) {
            self.call(
                "POST",
                "/window/rect",
                Some(json!({"width": 2 * w - iw, "height": 2 * h - ih})),
            );
        }
    }

    fn js_async(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn element(&self, css: &str) -> String {
        let el = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        el[ELEMENT].as_str().unwrap().to_string()
    }

    /// Types into a field as a reader would (key events).
    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let el = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        let id = el[ELEMENT].as_str().unwrap().to_string();
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Browser console entries at level SEVERE since the last call.
    fn console_errors(&self) -> Vec<String> {
        let v = self.call("POST", "/se/log", Some(json!({"type": "browser"})));
        v.as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// axe-core's violations on the open page (rule id, impact, nodes), none when clean.
    fn axe(&self, axe: &str) -> Vec<String> {
        self.js(&format!("{axe}\n;return 1;"));
        let v = self.js_async(
            "const done = arguments[arguments.length - 1]; axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))).catch(e => done(['axe failed: ' + e]));",
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect()
    }

    fn screenshot(&self, name: &str) {
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = http(self.port, "DELETE", &format!("/session/{}", self.id), None);
    }
}

/// A site root with the shipped registry, content and store, plus posts with hostile text.
fn hostile_root() -> tempfile::TempDir {
    let root = common::shipped_site();
    let big = "x".repeat(100_000);
    let texts = [
        "@AmericanAir <script>alert(1)</script>".to_string(),
        "@AmericanAir <a href=\"javascript:alert(2)\">click</a> javascript:alert(3)".to_string(),
        "@AmericanAir \u{202e}gnp.exe\u{202c} \u{2066}isolate\u{2069}".to_string(),
        format!("@AmericanAir {big}"),
        "@AmericanAir \"><img src=x onerror=alert(4)>".to_string(),
    ];
    let mut lines = String::new();
    for (i, text) in texts.iter().enumerate() {
        let post = json!({"source": "twcs", "id": format!("9000{i}"), "author": format!("<b>evil{i}</b>"),
            "created_at": "2017-12-01T10:00:00Z", "text": text, "mentions": ["AmericanAir"], "inbound": true});
        lines.push_str(&post.to_string());
        lines.push('\n');
    }
    let file = root.path().join("hostile.jsonl");
    std::fs::write(&file, lines).unwrap();
    let out = Command::new(BIN)
        .arg("--root")
        .arg(root.path())
        .args(["import", file.to_str().unwrap(), "--format", "jsonl"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

/// `replyrank serve` on a site root, chromedriver, and a browser session on them. Fields drop
/// in order: the session before the driver.
struct Browser {
    s: Session,
    base: String,
    _profile: tempfile::TempDir,
    _driver: Running,
    _serve: Running,
}

fn open_browser(root: &Path) -> Option<Browser> {
    let (chromium, driver) = browser()?;
    let site_port = free_port();
    let serve = Running(
        Command::new(BIN)
            .arg("--root")
            .arg(root)
            .args(["serve", "--port", &site_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver_port = free_port();
    let driver = Running(
        Command::new(driver)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(site_port);
    wait_for(driver_port);
    let profile = tempfile::tempdir().unwrap();
    let s = Session::new(driver_port, &chromium, profile.path());
    Some(Browser {
        s,
        base: format!("http://127.0.0.1:{site_port}/"),
        _profile: profile,
        _driver: driver,
        _serve: serve,
    })
}

/// axe-core's script: `REPLYRANK_AXE` (a path to axe.min.js), else `target/axe/` under the
/// crate, installed there with npm when missing (.ci/run installs it). `None`, saying so, when
/// it cannot be had and the browser is not required.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("REPLYRANK_AXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        });
    if !path.exists() {
        let prefix = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe");
        let _ = Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
            ])
            .arg(&prefix)
            .arg("axe-core@4.14.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if std::env::var_os("REPLYRANK_REQUIRE_BROWSER").is_some() => {
            panic!(
                "axe-core is required: {}: {e} (npm install --prefix target/axe axe-core)",
                path.display()
            )
        }
        Err(e) => {
            eprintln!(
                "SKIPPED axe-core checks: {}: {e} (npm install --prefix target/axe axe-core)",
                path.display()
            );
            None
        }
    }
}

#[test]
fn leaderboard_sorts_filters_and_stays_clean_in_a_real_browser() {
    let root = hostile_root();
    let Some(b) = open_browser(root.path()) else {
        return;
    };
    let (s, base) = (&b.s, &b.base);

    s.open(&format!("{base}index.html"));
    assert!(
        s.console_errors().is_empty(),
        "console errors on the leaderboard"
    );
    let column = |key: &str| -> Vec<f64> {
        let v = s.js(&format!(
            "return Array.from(document.querySelectorAll('table.board tbody tr')).filter(r => !r.hidden).map(r => r.getAttribute('data-{key}'))"
        ));
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().parse().unwrap_or(f64::INFINITY))
            .collect()
    };
    let ranks = column("rank");
    let lb = common::leaderboard(root.path());
    let ranked = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["eligible"] == true)
        .count();
    assert!(ranked >= 10, "{ranked}");
    assert_eq!(ranks.len(), ranked, "every ranked brand has its row");
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "rank order first: {ranks:?}"
    );
    s.click("th[data-key='answered_24h'] button");
    let a24 = column("answered_24h");
    assert!(
        a24.windows(2).all(|w| w[0] >= w[1]),
        "answered within 24 h, highest first: {a24:?}"
    );
    assert_eq!(
        s.js("return document.querySelector(\"th[data-key='answered_24h']\").getAttribute('aria-sort')"),
        "descending"
    );
    s.click("th[data-key='answered_24h'] button");
    let a24 = column("answered_24h");
    assert!(
        a24.windows(2).all(|w| w[0] <= w[1]),
        "then lowest first: {a24:?}"
    );
    s.click("th[data-key='median_reply_s'] button");
    let median = column("median_reply_s");
    assert!(
        median.windows(2).all(|w| w[0] <= w[1]),
        "median reply, fastest first: {median:?}"
    );
    // Filter by category, as a reader would with the select.
    s.js("const s = document.querySelector(\"select[data-filter='category']\"); s.value = 'airline'; s.dispatchEvent(new Event('change', {bubbles: true}));");
    let visible = s.js("return Array.from(document.querySelectorAll('table.board tbody tr')).filter(r => !r.hidden).map(r => r.getAttribute('data-category'))");
    let visible: Vec<&str> = visible
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let airlines = lb["brands"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["eligible"] == true && b["category"] == "airline")
        .count();
    assert!(airlines >= 2, "{airlines}");
    assert_eq!(visible.len(), airlines, "{visible:?}");
    assert!(visible.iter().all(|c| *c == "airline"));
    s.screenshot("en-leaderboard");

    for (page, shot) in [
        ("brand/american-airlines/index.html", "en-brand"),
        ("fr/index.html", "fr-leaderboard"),
        ("fr/brand/american-airlines/index.html", "fr-brand"),
        ("methodology/index.html", "en-methodology"),
        ("embed/american-airlines/index.html", "en-embed"),
    ] {
        s.open(&format!("{base}{page}"));
        let errors = s.console_errors();
        assert!(errors.is_empty(), "console errors on {page}: {errors:?}");
        // Nothing from the hostile posts ran or was injected: our one script, no javascript: links.
        assert_eq!(
            s.js("return document.querySelectorAll('script:not([src])').length"),
            0,
            "{page}"
        );
        assert_eq!(s.js("return document.querySelectorAll('[href^=\"javascript:\"], [src^=\"javascript:\"], [onerror], img[src=x]').length"), 0, "{page}");
        let text = s
            .js("return document.body.innerText")
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !text.contains("alert(") && !text.contains("evil") && !text.contains('\u{202e}'),
            "{page}"
        );
        if page.contains("brand/") {
            assert_eq!(
                s.js("return document.querySelectorAll('figure svg.wide > title').length"),
                5, // four charts and the weekday × hour grid
                "{page}"
            );
        }
        s.screenshot(shot);
    }
    let html_lang = s.js("return document.documentElement.lang");
    assert_eq!(html_lang, "en");
}

/// What one script finds wrong on the open page, as a list of strings (empty when right).
fn problems(s: &Session, script: &str) -> Vec<String> {
    s.js(script)
        .as_array()
        .unwrap_or_else(|| panic!("{script}"))
        .iter()
        .map(|v| v.to_string())
        .collect()
}

/// Rows of the leaderboard, the dots chart and the unranked list a reader sees.
fn visible(s: &Session, css: &str) -> Vec<String> {
    problems(
        s,
        &format!(
            "return Array.from(document.querySelectorAll(\"{css}\")).filter(e => !e.hidden && e.getClientRects().length > 0).map(e => e.getAttribute('data-name') || e.querySelector('.name, a').textContent)"
        ),
    )
    .into_iter()
    .map(|n| n.trim_matches('"').to_string())
    .collect()
}

const ROWS: &str = "table.board tbody tr";
const DOTS: &str = "[data-dots] li[data-id]";
const UNRANKED: &str = "[data-unranked] li";

/// Issue 13, read in a real browser: at 390 px the leaderboard shows every brand's rank, name
/// and figures with no sideways scroll (was: a 917 px table showing rank, brand and category),
/// and chart text is 12 px or more (was about 5 px); the embed is whole at the size its snippet
/// suggests (was: cut after the score); search, compare and filters work and live in the URL;
/// axe-core finds no violation on the main pages in both languages (was: 3 on the embed).
#[test]
fn a_phone_shows_every_score_the_embed_fits_search_and_compare_work_and_axe_finds_nothing() {
    let root = common::shipped_site();
    let Some(b) = open_browser(root.path()) else {
        return;
    };
    let (s, base) = (&b.s, &b.base);

    s.viewport(390, 844);
    for page in ["index.html", "fr/index.html"] {
        s.open(&format!("{base}{page}"));
        let overflow = s.js("return document.documentElement.scrollWidth - window.innerWidth");
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{page} scrolls sideways by {overflow} px"
        );
        let off = problems(
            s,
            "const w = window.innerWidth; return Array.from(document.querySelectorAll('table.board tbody tr')).flatMap(r => [r.cells[0], r.querySelector('th'), ...r.querySelectorAll('td.num')]).filter(c => { const b = c.getBoundingClientRect(); return b.left < 0 || b.right > w || b.width === 0; }).map(c => c.closest('tr').dataset.id + ': ' + c.textContent.trim())",
        );
        assert!(
            off.is_empty(),
            "{page}: figures off-screen at 390 px: {off:?}"
        );
        assert_eq!(visible(s, ROWS).len(), 15, "{page}");
        s.screenshot(&format!("phone-{}", page.replace('/', "-")));
    }
    for page in ["brand/delta/index.html", "fr/brand/delta/index.html"] {
        s.open(&format!("{base}{page}"));
        let overflow = s.js("return document.documentElement.scrollWidth - window.innerWidth");
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{page} scrolls sideways by {overflow} px"
        );
        let charts = s.js("return Array.from(document.querySelectorAll('figure svg')).filter(v => v.getBoundingClientRect().width > 0).length");
        // Four charts and the weekday × hour grid.
        assert_eq!(charts, 5, "{page}: one drawing of each chart shows");
        let small = problems(
            s,
            "return Array.from(document.querySelectorAll('figure svg')).filter(v => v.getBoundingClientRect().width > 0).flatMap(v => { const k = v.getBoundingClientRect().width / v.viewBox.baseVal.width; return Array.from(v.querySelectorAll('text')).map(t => [t.textContent, parseFloat(getComputedStyle(t).fontSize) * k]); }).filter(p => p[1] < 12)",
        );
        assert!(
            small.is_empty(),
            "{page}: chart text under 12 px: {small:?}"
        );
        s.screenshot(&format!("phone-{}", page.replace('/', "-")));
    }

    // The embed at the size its own snippet suggests, whole: the caveat and the link inside.
    s.viewport(1366, 900);
    s.open(&format!("{base}brand/delta/index.html"));
    let snippet = s.js("return Array.from(document.querySelectorAll('pre')).map(p => p.textContent).find(t => t.includes('<iframe'))");
    let snippet = snippet.as_str().unwrap();
    let size = |attr: &str| -> i64 {
        let at = snippet.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
        snippet[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (w, h) = (size("width"), size("height"));
    assert!(w <= 480 && h <= 480, "a small card: {w} × {h}");
    s.viewport(w, h);
    for page in [
        "embed/delta/index.html",
        "fr/embed/delta/index.html",
        "embed/british-airways/index.html",
        "fr/embed/british-airways/index.html",
        "embed/t-mobile/index.html",
        "fr/embed/t-mobile/index.html",
        "embed/hulu/index.html",
        "fr/embed/hulu/index.html",
    ] {
        s.open(&format!("{base}{page}"));
        let (sw, sh) = (
            s.js("return document.documentElement.scrollWidth")
                .as_i64()
                .unwrap(),
            s.js("return document.documentElement.scrollHeight")
                .as_i64()
                .unwrap(),
        );
        assert!(
            sw <= w && sh <= h,
            "{page}: {sw} × {sh} in a {w} × {h} frame"
        );
        let link = s.js(
            "return document.querySelector('main a[target=_top]').getBoundingClientRect().bottom",
        );
        assert!(
            link.as_f64().unwrap() <= h as f64,
            "{page}: the link is cut off"
        );
        if page == "embed/delta/index.html" {
            s.screenshot("embed-delta");
        }
    }

    // Search by brand name: the table, the dots and the unranked list follow, and so does the URL.
    s.viewport(1366, 900);
    s.open(&format!("{base}index.html"));
    s.type_into("input[data-filter='q']", "air");
    let rows = visible(s, ROWS);
    assert!(rows.len() >= 3, "{rows:?}");
    for list in [ROWS, DOTS, UNRANKED] {
        let names = visible(s, list);
        assert!(!names.is_empty(), "{list}");
        assert!(
            names.iter().all(|n| n.to_lowercase().contains("air")),
            "{list}: {names:?}"
        );
    }
    assert_eq!(
        visible(s, DOTS),
        rows,
        "the dots chart shows the same brands"
    );
    let url = s.js("return location.search");
    assert_eq!(url, "?q=air");

    // Compare two brands: both alone on the table and the chart, and a sentence saying
    // whether their intervals overlap; the URL carries the pair.
    s.open(&format!("{base}index.html?a=chipotle&b=activision"));
    assert_eq!(visible(s, DOTS), ["Chipotle", "Activision"]);
    assert_eq!(visible(s, ROWS).len(), 2);
    let said = s.js("return document.querySelector('[data-compare-result]').textContent");
    assert_eq!(
        said,
        "Chipotle scores higher than Activision, and their 95% intervals do not overlap."
    );
    s.js("const a = document.querySelector(\"select[data-compare='b']\"); a.value = 'uber'; a.dispatchEvent(new Event('change', {bubbles: true}));");
    let said = s.js("return document.querySelector('[data-compare-result]').textContent");
    assert!(
        said.as_str()
            .unwrap()
            .contains("overlap: this data cannot tell"),
        "{said}"
    );
    assert_eq!(s.js("return location.search"), "?a=chipotle&b=uber");

    // A filtered view is a link: opening it restores the filter, the unranked list included.
    s.open(&format!(
        "{base}fr/index.html?category=airline&sort=answered_24h:desc"
    ));
    assert_eq!(
        s.js("return document.querySelector(\"select[data-filter='category']\").value"),
        "airline"
    );
    let cats = problems(
        s,
        "return Array.from(document.querySelectorAll('table.board tbody tr, [data-unranked] li')).filter(r => !r.hidden).map(r => r.dataset.category)",
    );
    assert!(
        cats.len() > 4 && cats.iter().all(|c| c == "\"airline\""),
        "{cats:?}"
    );
    let a24: Vec<f64> = problems(s, "return Array.from(document.querySelectorAll('table.board tbody tr')).filter(r => !r.hidden).map(r => parseFloat(r.dataset.answered_24h))")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        a24.windows(2).all(|w| w[0] >= w[1]),
        "sorted as the URL says: {a24:?}"
    );

    // An archived page says it is a snapshot and links to the same page on the live site.
    s.open(&format!(
        "{base}archive/2017-12-03/fr/brand/delta/index.html"
    ));
    let banner = s.js("const b = document.querySelector('[data-snapshot]'); return [b.hidden, b.textContent, new URL(b.querySelector('a').href).pathname]");
    assert_eq!(banner[0], false, "{banner}");
    assert_eq!(
        banner[1],
        "Instantané du 3\u{a0}décembre 2017 — voir la dernière version"
    );
    assert_eq!(banner[2], "/fr/brand/delta/index.html");
    s.open(&format!("{base}fr/brand/delta/index.html"));
    assert_eq!(
        s.js("return document.querySelector('[data-snapshot]').hidden"),
        true
    );

    // axe-core on the main pages in both languages, the embed at its size.
    let Some(axe) = axe_source() else {
        return;
    };
    for (page, (vw, vh)) in [
        ("index.html", (1366, 900)),
        ("fr/index.html", (390, 844)),
        ("brand/delta/index.html", (1366, 900)),
        ("fr/brand/delta/index.html", (390, 844)),
        ("methodology/index.html", (1366, 900)),
        ("fr/methodology/index.html", (1366, 900)),
        ("embed/delta/index.html", (w, h)),
        ("fr/embed/delta/index.html", (w, h)),
    ] {
        s.viewport(vw, vh);
        s.open(&format!("{base}{page}"));
        let violations = s.axe(&axe);
        assert!(violations.is_empty(), "axe-core on {page}: {violations:?}");
    }
}

/// Polls `script` in the open page until it returns `want` (at most 20 s); returns what it
/// returned last.
fn wait_js(s: &Session, script: &str, want: &str) -> String {
    let start = Instant::now();
    loop {
        let got = s.js(script).as_str().unwrap_or_default().to_string();
        if got == want || start.elapsed() > Duration::from_secs(20) {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A dated link whose snapshot was thinned still leads somewhere true: the 404 page sends a
/// page to the same page of the nearest snapshot kept whole, which says, in its language, that
/// the cited day's figures are in that day's leaderboard.csv (and that file is there); a file
/// that is not a page gets the same words on the 404 page instead of a silent swap.
#[test]
fn a_deep_link_into_a_thinned_snapshot_lands_on_the_nearest_whole_one_saying_so() {
    let root = common::shipped_site();
    for date in ["2017-09-29", "2017-09-30", "2017-10-01", "2017-10-02"] {
        let out = Command::new(BIN)
            .arg("--root")
            .arg(root.path())
            .args(["build", "--as-of", date])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // `serve` builds as of the data's end (2017-12-03): 2017-09-30 stays whole (the last of its
    // quarter), 2017-09-29, 2017-10-01 and 2017-10-02 are thinned.
    let Some(b) = open_browser(root.path()) else {
        return;
    };
    let (s, base) = (&b.s, &b.base);
    s.viewport(1366, 900);
    s.open(&format!(
        "{base}archive/2017-10-01/fr/methodology/index.html"
    ));
    let landed = wait_js(
        s,
        "return location.pathname + location.search",
        "/archive/2017-09-30/fr/methodology/index.html?thinned=2017-10-01",
    );
    assert_eq!(
        landed,
        "/archive/2017-09-30/fr/methodology/index.html?thinned=2017-10-01"
    );
    let note = s.js("const n = document.querySelector('[data-thinned-note]'); return [n.hidden, n.textContent, n.querySelector('a').getAttribute('href')]");
    assert_eq!(note[0], false, "the note shows");
    let text = note[1].as_str().unwrap();
    assert!(
        text.contains("l'instantané du 2017-10-01, qui n'est plus gardé entier")
            && text.contains("celui du 2017-09-30"),
        "{text}"
    );
    assert_eq!(note[2], "/archive/2017-10-01/data/leaderboard.csv");
    let banner = s.js(
        "const b = document.querySelector('[data-snapshot]'); return [b.hidden, b.textContent]",
    );
    assert_eq!(banner[0], false, "the snapshot banner shows");
    assert!(
        banner[1]
            .as_str()
            .unwrap()
            .contains("30\u{a0}septembre 2017"),
        "{banner}"
    );
    let status = s.js_async("const done = arguments[arguments.length - 1]; fetch('/archive/2017-10-01/data/leaderboard.csv').then(r => r.text().then(t => done([r.status, t.split('\\n')[0].split(',')[0]])));");
    assert_eq!(
        status,
        json!([200, "rank"]),
        "the cited day's figures are there"
    );
    s.screenshot("archive-thinned-redirect-fr");

    // Not a page: no swap for another day's file; the 404 page says where that day's are.
    s.open(&format!("{base}archive/2017-10-02/data/history.csv"));
    let here = s.js("const h = document.querySelector('[data-thinned-here]'); return [location.pathname, h.hidden, h.querySelector('[data-csv]').getAttribute('href'), h.querySelector('[data-kept]').getAttribute('href')]");
    assert_eq!(
        here,
        json!([
            "/archive/2017-10-02/data/history.csv",
            false,
            "/archive/2017-10-02/data/leaderboard.csv",
            "/archive/2017-09-30/data/history.csv"
        ])
    );
    s.screenshot("archive-thinned-404");

    // The thinned date's own page: what is left, where to go, and clean for axe-core.
    s.open(&format!("{base}archive/2017-10-01/index.html"));
    let page = s.js("return [document.querySelector('h1').textContent, document.querySelector('[data-snapshot]').hidden]");
    assert_eq!(
        page,
        json!([
            "Snapshot of 1\u{a0}October 2017: leaderboard download only",
            false
        ])
    );
    s.screenshot("archive-thinned-page");
    if let Some(axe) = axe_source() {
        for page in [
            "archive/2017-10-01/index.html",
            "archive/2017-10-01/fr/index.html",
            "archive/index.html",
        ] {
            s.open(&format!("{base}{page}"));
            let violations = s.axe(&axe);
            assert!(violations.is_empty(), "axe-core on {page}: {violations:?}");
        }
    }
}
