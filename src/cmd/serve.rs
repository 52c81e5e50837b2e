//! `replyrank serve`: builds, serves the output on 127.0.0.1, and rebuilds when the inputs
//! change (polling their modification times; no watcher dependency).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use replyrank::root::SiteRoot;

pub fn run(root: &SiteRoot, port: u16) -> Result<()> {
    let output = root.output().to_path_buf();
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let base_url = format!("http://127.0.0.1:{port}/");
    super::build::build(root, Some(&base_url), None, false)?;
    println!(
        "serving {} at http://127.0.0.1:{port}/ (Ctrl-C to stop)",
        output.display()
    );
    let watched_root = root.clone();
    std::thread::spawn(move || {
        let mut last = newest_input(&watched_root);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let now = newest_input(&watched_root);
            if now > last {
                last = now;
                match super::build::build(&watched_root, Some(&base_url), None, false) {
                    Ok(r) => println!("rebuilt: {} pages", r.pages),
                    Err(e) => eprintln!("error: {e:#}"),
                }
            }
        }
    });
    for stream in listener.incoming().flatten() {
        let output = output.clone();
        std::thread::spawn(move || {
            let _ = respond(stream, &output);
        });
    }
    Ok(())
}

/// The newest modification time among the inputs of a build.
fn newest_input(root: &SiteRoot) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack: Vec<PathBuf> = root.inputs();
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
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

fn respond(mut stream: TcpStream, root: &Path) -> Result<()> {
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let mut file = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "..") {
        file.push(part);
    }
    if file.is_dir() {
        file.push("index.html");
    }
    let (status, body, file) = match std::fs::read(&file) {
        Ok(b) => ("200 OK", b, file),
        Err(_) => (
            "404 Not Found",
            std::fs::read(root.join("404.html")).unwrap_or_default(),
            root.join("404.html"),
        ),
    };
    let kind = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        _ => "text/plain; charset=utf-8",
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    Ok(())
}
