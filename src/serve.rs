//! `replyrank serve`: builds the site, serves its output folder on 127.0.0.1 over HTTP/1.1
//! (hyper), rebuilds when an input changes (polling modification times), and reloads the open
//! pages after each rebuild.
//!
//! Each build is swapped in whole (see `site::output`), and every request reads the folder
//! afresh, so a request gets a file of the previous complete build or of the next one. The
//! server reads a request head for at most [`HEAD_TIMEOUT`] (idle keep-alive connections
//! included), takes heads of at most [`MAX_HEAD`] bytes (431 beyond), holds at most
//! [`MAX_CONNECTIONS`] connections (more wait in the listen queue), answers GET and HEAD only,
//! and serves only plain files inside the output folder: no `..`, no hidden files, no symlinks.
//!
//! Live reload: HTML pages are served with a `<script src>` of [`RELOAD_SCRIPT_PATH`] (never
//! written into the built files) that long-polls [`RELOAD_PATH`]`?since=<build>`; the endpoint answers with the number of the
//! current build at once if it differs, else when the next build is swapped in (or after
//! [`RELOAD_WAIT`]), and the page reloads when the number changed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Semaphore, watch};

use crate::root::SiteRoot;

/// How long a client may take to send a request head, and how long an idle keep-alive
/// connection stays open.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest request head (request line and headers), in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// The longest a connection lives (a client that stops reading a response lets go here).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);
/// The live-reload endpoint.
pub const RELOAD_PATH: &str = "/__replyrank/reload";
/// How long the reload endpoint holds a request when no build comes.
pub const RELOAD_WAIT: Duration = Duration::from_secs(25);

/// The live-reload script, served at [`RELOAD_SCRIPT_PATH`].
const RELOAD_SCRIPT: &str = concat!(
    "// replyrank serve: reloads the page after a rebuild\n(function () {\n  var build = null;\n",
    "  function poll() {\n",
    "    fetch(\"/__replyrank/reload\" + (build === null ? \"\" : \"?since=\" + build), { cache: \"no-store\" })\n",
    "      .then(function (r) { if (!r.ok) throw r; return r.text(); })\n",
    "      .then(function (t) { if (build !== null && t !== build) { location.reload(); return; } build = t; poll(); })\n",
    "      .catch(function () { setTimeout(poll, 2000); });\n",
    "  }\n  poll();\n})();\n"
);
/// Where the reload script is served.
pub const RELOAD_SCRIPT_PATH: &str = "/__replyrank/reload.js";
/// Injected before `</body>` of every HTML page served (never into the files): a script file,
/// not inline code, so a page keeps no inline script.
const RELOAD_TAG: &str = "<script src=\"/__replyrank/reload.js\" defer></script>";

/// Builds the site of `root`, then serves it on 127.0.0.1:`port` (0: any free port) until
/// killed, rebuilding when an input changes.
pub fn run(root: &SiteRoot, port: u16) -> Result<()> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}/");
    let build = move |root: &SiteRoot| crate::pipeline::build(root, Some(&base_url), None, false);
    build(root)?;
    let (builds, current) = watch::channel(0u64);
    let watched = root.clone();
    std::thread::spawn(move || {
        let mut last = newest_input(&watched);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = newest_input(&watched);
            if now > last {
                last = now;
                match build(&watched) {
                    Ok(r) => {
                        builds.send_modify(|n| *n += 1);
                        println!("rebuilt: {} pages", r.pages);
                    }
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
        }
    });
    let output = root.output().to_path_buf();
    println!(
        "serving {} at http://{addr}/ (Ctrl-C to stop)",
        output.display()
    );
    listener.set_nonblocking(true)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(accept(listener, Arc::new(State { output, current })))
}

/// What every request handler shares.
struct State {
    output: PathBuf,
    /// The number of the build being served (0 for the first).
    current: watch::Receiver<u64>,
}

async fn accept(listener: std::net::TcpListener, state: Arc<State>) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let permit = permits.clone().acquire_owned().await?;
        let (stream, peer): (_, SocketAddr) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors, or a connection reset while queued: keep serving.
                eprintln!("warning: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = peer;
        let state = state.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(respond(&state, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(2 * MAX_HEAD)
                .max_header_size(MAX_HEAD)
                .max_headers(64)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, conn).await;
        });
    }
}

async fn respond(state: &State, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
        r.headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = req.uri().path();
    if path == RELOAD_PATH {
        return reload(state, req.uri().query()).await;
    }
    if path == RELOAD_SCRIPT_PATH {
        let mut r = plain(StatusCode::OK, RELOAD_SCRIPT);
        r.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        return r;
    }
    let output = state.output.clone();
    let path = path.to_string();
    tokio::task::spawn_blocking(move || serve_file(&output, &path))
        .await
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"))
}

/// The reload endpoint: the current build's number, once it differs from `since`.
async fn reload(state: &State, query: Option<&str>) -> Response<Full<Bytes>> {
    let since = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("since=")))
        .and_then(|v| v.parse::<u64>().ok());
    let mut current = state.current.clone();
    let now = *current.borrow_and_update();
    if since == Some(now) {
        let _ = tokio::time::timeout(RELOAD_WAIT, current.changed()).await;
    }
    let n = *current.borrow();
    let mut r = plain(StatusCode::OK, &n.to_string());
    r.headers_mut().insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    r
}

/// A file of the output folder, `index.html` for a folder, or the site's 404 page.
fn serve_file(output: &Path, path: &str) -> Response<Full<Bytes>> {
    match resolve(output, path) {
        Found::File(file) => match std::fs::read(&file) {
            Ok(bytes) => page(StatusCode::OK, &file, bytes),
            Err(_) => not_found(output),
        },
        Found::Folder => {
            let mut r = plain(StatusCode::PERMANENT_REDIRECT, "");
            // Rebuilt from the path's own parts, so `//host` cannot make it point elsewhere.
            let to = format!("/{}/", path.trim_matches('/'));
            if let Ok(v) = hyper::header::HeaderValue::from_str(&to) {
                r.headers_mut().insert(LOCATION, v);
            }
            r
        }
        Found::Nothing => not_found(output),
    }
}

enum Found {
    File(PathBuf),
    /// A folder asked for without its trailing `/`.
    Folder,
    Nothing,
}

/// Maps a request path to a regular file inside `output`: percent-decoded, every part a plain
/// name (no `.`, `..`, hidden name or backslash), no symlink on the way.
fn resolve(output: &Path, path: &str) -> Found {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return Found::Nothing;
    };
    let parts: Vec<&str> = decoded.split('/').filter(|p| !p.is_empty()).collect();
    if parts
        .iter()
        .any(|p| p.starts_with('.') || p.contains(['\\', '\0']))
    {
        return Found::Nothing;
    }
    let mut file = output.to_path_buf();
    for part in &parts {
        file.push(part);
    }
    let plain_file = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file());
    // Every folder on the way, the output itself included, must be a real folder.
    let mut dir = output.to_path_buf();
    for part in &parts {
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Found::Nothing;
        }
        dir.push(part);
    }
    match std::fs::symlink_metadata(&file) {
        Ok(m) if m.is_file() => Found::File(file),
        Ok(m) if m.is_dir() => {
            if !decoded.ends_with('/') && !parts.is_empty() {
                Found::Folder
            } else if plain_file(&file.join("index.html")) {
                Found::File(file.join("index.html"))
            } else {
                Found::Nothing
            }
        }
        _ => Found::Nothing,
    }
}

fn not_found(output: &Path) -> Response<Full<Bytes>> {
    let page404 = output.join("404.html");
    match std::fs::symlink_metadata(&page404)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .and_then(|_| std::fs::read(&page404).ok())
    {
        Some(bytes) => page(StatusCode::NOT_FOUND, &page404, bytes),
        None => plain(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// A file's response: its content type, and the reload script in an HTML page.
fn page(status: StatusCode, file: &Path, mut bytes: Vec<u8>) -> Response<Full<Bytes>> {
    let kind = content_type(file);
    if kind.starts_with("text/html") {
        bytes = with_reload_script(bytes);
    }
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static(kind));
    r.headers_mut().insert(
        CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The page with the reload script's tag before its last `</body>` (or at its end).
fn with_reload_script(mut html: Vec<u8>) -> Vec<u8> {
    let at = memchr::memmem::rfind(&html, b"</body>").unwrap_or(html.len());
    html.splice(at..at, RELOAD_TAG.bytes());
    html
}

/// The content type of a file of the site, from its extension.
fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("xml") if file.file_name().is_some_and(|n| n == "atom.xml") => "application/atom+xml",
        Some("xml") => "application/xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The newest modification time among the inputs of a build.
fn newest_input(root: &SiteRoot) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = root.inputs();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if let Ok(m) = meta.modified() {
            newest = newest.max(m);
        }
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_script_goes_before_the_last_body_end() {
        let html = with_reload_script(b"<p>a</p></body></html>".to_vec());
        let text = String::from_utf8(html).unwrap();
        assert!(text.starts_with("<p>a</p><script src="), "{text}");
        assert!(text.ends_with("</script></body></html>"), "{text}");
    }
}
