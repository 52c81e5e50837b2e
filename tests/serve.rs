//! `replyrank serve` over real loopback connections: idle and slow clients, huge requests,
//! path traversal, rebuilds under load, and live reload.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::shipped_site;

/// `replyrank serve` on a free port of a site root, killed when dropped.
struct Serving {
    child: Child,
    addr: String,
    lines: Receiver<String>,
}

impl Serving {
    fn start(root: &Path) -> Serving {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(common::bin())
            .arg("--root")
            .arg(root)
            .args(["serve", "--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let serving = Serving {
            child,
            addr: format!("127.0.0.1:{port}"),
            lines,
        };
        let line = serving.wait_for("serving ", Duration::from_secs(120));
        assert!(
            line.contains(&format!(" at http://{}/", serving.addr)),
            "{line}"
        );
        serving
    }

    /// The next line of standard output that starts with `prefix`.
    fn wait_for(&self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line starting with {prefix:?} within {limit:?}: {e}"),
            }
        }
    }

    /// A line of `/proc/<pid>/status` (e.g. `Threads`, `VmHWM`) as a number.
    fn status(&self, key: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}:")))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc status"))
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, k: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request on a fresh connection (`Connection: close`), the raw path as given.
fn request(addr: &str, method: &str, path: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    }
}

fn get(addr: &str, path: &str) -> Reply {
    request(addr, "GET", path)
}

#[test]
fn idle_connections_time_out_and_hold_no_threads() {
    let root = shipped_site();
    let serve = Serving::start(root.path());
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&serve.addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let threads = serve.status("Threads");
    assert!(threads < 50, "{threads} threads for 200 idle connections");
    // A real client is still served while they wait.
    let started = Instant::now();
    assert_eq!(get(&serve.addr, "/").status, 200);
    assert!(started.elapsed() < Duration::from_secs(3));
    // Every idle connection is closed by the server within its head timeout (5 s).
    let deadline = Instant::now() + Duration::from_secs(15);
    for mut s in idle {
        let left = deadline.saturating_duration_since(Instant::now());
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        // Closed: end of file (or a reset); still open: the read times out.
        if let Err(e) = s.read_to_end(&mut Vec::new()) {
            assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "an idle connection is still open after 15 s"
            );
        }
    }
    // And an idle keep-alive connection after a request, too.
    let mut s = TcpStream::connect(&serve.addr).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut raw = Vec::new();
    let closed = s.read_to_end(&mut raw).is_ok();
    assert!(closed, "a keep-alive connection stayed open 15 s");
    assert_eq!(parse(&raw).status, 200);
}

#[test]
fn a_huge_request_line_gets_431_with_bounded_memory() {
    let root = shipped_site();
    let serve = Serving::start(root.path());
    let before = serve.status("VmHWM");
    let mut s = TcpStream::connect(&serve.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut sent = 0usize;
    while sent < 300 << 20 {
        if s.write_all(&chunk).is_err() {
            break;
        }
        sent += chunk.len();
    }
    assert!(
        sent < 64 << 20,
        "the server read {} MB of one request line",
        sent >> 20
    );
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    if !raw.is_empty() {
        let status = parse(&raw).status;
        assert!([400, 414, 431].contains(&status), "{status}");
    }
    let grown = serve.status("VmHWM").saturating_sub(before) / 1024;
    assert!(grown < 32, "the server grew by {grown} MB");
    assert_eq!(get(&serve.addr, "/").status, 200, "still serving");
}

#[test]
fn hammering_during_rebuilds_never_gets_an_empty_200() {
    let root = shipped_site();
    let serve = Serving::start(root.path());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let paths = [
        "/",
        "/index.html",
        "/data/leaderboard.json",
        "/data/leaderboard.csv",
        "/ranking/",
        "/methodology/",
        "/atom.xml",
        "/sitemap.xml",
    ];
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (addr, stop) = (serve.addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut bad = Vec::new();
                let mut n = 0;
                let started = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Relaxed)
                    && started.elapsed() < Duration::from_secs(300)
                {
                    let path = paths[n % paths.len()];
                    let r = get(&addr, path);
                    let length: Option<usize> =
                        r.header("content-length").and_then(|v| v.parse().ok());
                    if r.status != 200 || r.body.is_empty() || length != Some(r.body.len()) {
                        bad.push(format!("{path}: {} with {} bytes", r.status, r.body.len()));
                    }
                    n += 1;
                }
                (n, bad)
            })
        })
        .collect();
    for i in 0..4 {
        std::thread::sleep(Duration::from_millis(700));
        std::fs::write(
            root.path().join("replyrank.toml"),
            format!("title = \"replyrank {i}\"\n"),
        )
        .unwrap();
        serve.wait_for("rebuilt", Duration::from_secs(120));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let (n, bad) = c.join().unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        total += n;
    }
    assert!(total > 100, "only {total} requests");
    assert!(get(&serve.addr, "/").text().contains("replyrank 3"));
}

#[test]
fn traversal_and_symlinks_out_of_the_output_are_blocked() {
    let root = shipped_site();
    std::fs::write(root.path().join("secret.txt"), "SECRET-1").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("secret.txt"), "SECRET-2").unwrap();
    common::ok(common::rr(root.path(), &["build"]));
    std::os::unix::fs::symlink(elsewhere.path(), root.path().join("public/extlink")).unwrap();
    std::os::unix::fs::symlink(
        elsewhere.path().join("secret.txt"),
        root.path().join("public/secret.txt"),
    )
    .unwrap();
    let serve = Serving::start(root.path());
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret.txt",
        "/data/../../secret.txt",
        "/data/%2E%2E/%2E%2E/secret.txt",
        "/extlink/secret.txt",
        "/secret.txt",
        "/.replyrank-manifest",
        "/..\\secret.txt",
    ] {
        let r = get(&serve.addr, path);
        assert_ne!(r.status, 200, "{path}");
        assert!(!r.text().contains("SECRET"), "{path}: {}", r.text());
    }
    let r = get(&serve.addr, "/no/such/page");
    assert_eq!(r.status, 404);
    let page404 = std::fs::read_to_string(root.path().join("public/404.html")).unwrap();
    let title = page404
        .split("<title>")
        .nth(1)
        .unwrap()
        .split("</title>")
        .next()
        .unwrap();
    assert!(r.text().contains(title), "the site's 404 page");
}

#[test]
fn serves_get_and_head_only_with_content_types() {
    let root = shipped_site();
    let serve = Serving::start(root.path());
    assert_eq!(request(&serve.addr, "POST", "/").status, 405);
    assert_eq!(request(&serve.addr, "DELETE", "/index.html").status, 405);
    let head = request(&serve.addr, "HEAD", "/data/leaderboard.json");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let get = get(&serve.addr, "/data/leaderboard.json");
    assert_eq!(head.header("content-length"), get.header("content-length"));
    for (path, kind) in [
        ("/data/leaderboard.json", "application/json"),
        ("/data/leaderboard.csv", "text/csv; charset=utf-8"),
        ("/", "text/html; charset=utf-8"),
        ("/atom.xml", "application/atom+xml"),
        ("/robots.txt", "text/plain; charset=utf-8"),
    ] {
        let r = request(&serve.addr, "GET", path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(kind), "{path}");
    }
    let r = request(&serve.addr, "GET", "/ranking");
    assert_eq!(r.status, 308);
    assert_eq!(r.header("location"), Some("/ranking/"));
}

#[test]
fn reload_endpoint_fires_after_a_rebuild() {
    let root = shipped_site();
    let serve = Serving::start(root.path());
    let page = get(&serve.addr, "/index.html").text();
    assert!(
        page.contains("<script src=\"/__replyrank/reload.js\""),
        "the script is served"
    );
    let script = get(&serve.addr, "/__replyrank/reload.js");
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.text().contains("/__replyrank/reload"));
    let built = std::fs::read_to_string(root.path().join("public/index.html")).unwrap();
    assert!(
        !built.contains("__replyrank"),
        "the script is not in the built file"
    );
    let now = get(&serve.addr, "/__replyrank/reload");
    assert_eq!((now.status, now.text()), (200, "0".to_string()));
    let addr = serve.addr.clone();
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        (get(&addr, "/__replyrank/reload?since=0"), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(800));
    assert!(!waiting.is_finished(), "answered before any rebuild");
    std::fs::write(root.path().join("replyrank.toml"), "title = \"changed\"\n").unwrap();
    serve.wait_for("rebuilt", Duration::from_secs(120));
    let (reply, waited) = waiting.join().unwrap();
    assert_eq!((reply.status, reply.text()), (200, "1".to_string()));
    assert!(waited < Duration::from_secs(25), "{waited:?}");
    assert!(get(&serve.addr, "/").text().contains("changed"));
}
