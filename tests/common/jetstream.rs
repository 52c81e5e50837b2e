//! A local Jetstream: replays recorded `subscribeEvents` frames over a real WebSocket, with the
//! server's cursor rules (seq cursors inclusive, `CursorTooOld` below the floor, time cursors
//! clamped with an `#info OutdatedCursor` frame), its filters (`kinds`, `collections`), its
//! dict-zstd compression and `getZstdDictionary`; and faults: a connection cut mid-stream, a
//! pause before an event.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{self, Message};

/// What the server replays, followed on each connection by a live event stamped now.
#[derive(Clone, Default)]
pub struct Replay {
    /// `message` frames, in seq order (JSON text).
    pub frames: Vec<String>,
    /// The oldest seq the server keeps: a seq cursor below it is refused (`CursorTooOld`).
    pub floor: u64,
    /// Served by `getZstdDictionary`; its id is the one `zstdDictionary` must name.
    pub dictionary: Option<Vec<u8>>,
    /// The first connection is cut (no close frame) after this many frames.
    pub cut_after: Option<usize>,
    /// Wait this long before sending the event with this seq (on every connection).
    pub pause: Option<(u64, Duration)>,
}

pub struct Jetstream {
    /// `ws://127.0.0.1:PORT`
    pub url: String,
    /// The path and query of every WebSocket connection, in order.
    pub connections: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Jetstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The seq and time (Unix microseconds) of a frame.
pub fn position(frame: &str) -> (u64, i64) {
    let v: Value = serde_json::from_str(frame).unwrap();
    let p = &v["payload"];
    let t: jiff::Timestamp = p["time"].as_str().unwrap().parse().unwrap();
    (p["seq"].as_u64().unwrap(), t.as_microsecond())
}

/// The seq of the live-tip event sent after the replay on the first connection (then one more
/// per connection).
pub const LIVE_SEQ: u64 = 2000;

/// A post event stamped now, by nobody the tests know: what the live tip sends after the
/// replay, so a client catching up knows it has.
pub fn live_frame(seq: u64) -> String {
    let now = jiff::Timestamp::now();
    serde_json::json!({"$type": "message", "payload": {
        "$type": "network.bsky.jetstream.subscribeEvents#commit", "seq": seq,
        "did": "did:plc:livetipaaaaaaaaaaaaaaaaa", "time": format!("{}", now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")),
        "rev": "3mptbzzzzzz2a", "operation": "create", "collection": "app.bsky.feed.post",
        "rkey": "3mptbzzzzzz2a", "cid": "bafyreilive",
        "record": {"$type": "app.bsky.feed.post", "createdAt": format!("{now}"), "text": "live"}}})
    .to_string()
}

impl Jetstream {
    pub fn start(replay: Replay) -> Jetstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("ws://{}", listener.local_addr().unwrap());
        let connections = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (conns, halt) = (connections.clone(), stop.clone());
        let replay = Arc::new(replay);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while !halt.load(Ordering::SeqCst) {
                    let Ok(Ok((tcp, _))) =
                        tokio::time::timeout(Duration::from_millis(200), listener.accept()).await
                    else {
                        continue;
                    };
                    let (replay, conns) = (replay.clone(), conns.clone());
                    let index = conns
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|c: &&String| c.contains("subscribeEvents"))
                        .count();
                    tokio::spawn(async move {
                        let _ = serve(tcp, &replay, &conns, index).await;
                    });
                }
            });
        });
        Jetstream {
            url,
            connections,
            stop,
        }
    }
}

fn dictionary_id(d: &[u8]) -> u32 {
    u32::from_le_bytes(d[4..8].try_into().unwrap())
}

fn xrpc_error(name: &str, message: &str) -> String {
    serde_json::json!({"error": name, "message": message}).to_string()
}

// The handshake callback's error type (a whole HTTP response) is tungstenite's.
#[allow(clippy::result_large_err)]
async fn serve(
    mut tcp: tokio::net::TcpStream,
    replay: &Replay,
    conns: &Mutex<Vec<String>>,
    index: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    // A plain GET of the dictionary, or a WebSocket upgrade.
    let mut head = [0u8; 512];
    let n = tcp.peek(&mut head).await?;
    let line = String::from_utf8_lossy(&head[..n]).into_owned();
    if line.starts_with("GET /xrpc/network.bsky.jetstream.getZstdDictionary") {
        let mut sink = [0u8; 4096];
        let _ = tcp.read(&mut sink).await?;
        let (status, body) = match &replay.dictionary {
            Some(d) => ("200 OK", d.clone()),
            None => (
                "404 Not Found",
                xrpc_error("DictionaryNotFound", "none").into_bytes(),
            ),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(&body).await?;
        return Ok(());
    }
    let mut target = String::new();
    let mut plan = Err((400u16, String::new()));
    let ws = tokio_tungstenite::accept_hdr_async(
        tcp,
        |req: &tungstenite::handshake::server::Request,
         resp: tungstenite::handshake::server::Response| {
            target = req.uri().to_string();
            plan = subscribe(replay, &target);
            match &plan {
                Ok(_) => Ok(resp),
                Err((status, body)) => Err(tungstenite::http::Response::builder()
                    .status(*status)
                    .header("content-type", "application/json")
                    .body(Some(body.clone()))
                    .unwrap()),
            }
        },
    )
    .await;
    conns.lock().unwrap().push(target.clone());
    let mut ws = ws?;
    let Ok((start, info)) = plan else {
        return Ok(());
    };
    let url = url::Url::parse(&format!("ws://x{target}")).unwrap();
    let params = |k: &str| -> Vec<String> {
        url.query_pairs()
            .filter(|(a, _)| a == k)
            .map(|(_, v)| v.into_owned())
            .collect()
    };
    let (kinds, collections) = (params("kinds"), params("collections"));
    let dict = (!params("zstdDictionary").is_empty())
        .then(|| replay.dictionary.clone())
        .flatten();
    if let Some(info) = info {
        ws.send(Message::text(info)).await?;
    }
    let mut compressor = match &dict {
        Some(d) => Some(zstd::bulk::Compressor::with_dictionary(3, d)?),
        None => None,
    };
    let frames = replay.frames[start..]
        .iter()
        .filter(|f| wanted(f, &kinds, &collections));
    for (i, f) in frames.enumerate() {
        if index == 0 && replay.cut_after == Some(i) {
            // Cut: the TCP connection drops without a close frame.
            drop(ws);
            return Ok(());
        }
        if let Some((seq, wait)) = replay.pause
            && position(f).0 == seq
        {
            tokio::time::sleep(wait).await;
        }
        match compressor.as_mut() {
            Some(c) => ws.send(Message::binary(c.compress(f.as_bytes())?)).await?,
            None => ws.send(Message::text(f.clone())).await?,
        }
    }
    // The live tip: an event stamped now, then the connection stays open until the client
    // leaves.
    let live = live_frame(LIVE_SEQ + index as u64);
    match compressor.as_mut() {
        Some(c) => {
            ws.send(Message::binary(c.compress(live.as_bytes())?))
                .await?
        }
        None => ws.send(Message::text(live)).await?,
    }
    while let Some(Ok(_)) = ws.next().await {}
    Ok(())
}

/// Where a subscription starts (index of the first frame) and the info frame to send first, or
/// the pre-upgrade refusal.
fn subscribe(replay: &Replay, target: &str) -> Result<(usize, Option<String>), (u16, String)> {
    let url = url::Url::parse(&format!("ws://x{target}")).unwrap();
    let q: Vec<(String, String)> = url
        .query_pairs()
        .map(|(a, b)| (a.into(), b.into()))
        .collect();
    let param = |k: &str| q.iter().find(|(a, _)| a == k).map(|(_, v)| v.clone());
    if url.path() != "/xrpc/network.bsky.jetstream.subscribeEvents" {
        return Err((404, xrpc_error("MethodNotImplemented", url.path())));
    }
    for legacy in ["wantedCollections", "wantedDids"] {
        if param(legacy).is_some() {
            return Err((
                400,
                xrpc_error("InvalidRequest", &format!("{legacy} is a v1 name")),
            ));
        }
    }
    if let Some(id) = param("zstdDictionary") {
        let current = replay.dictionary.as_deref().map(dictionary_id);
        if current.map(|c| c.to_string()) != Some(id) {
            return Err((
                400,
                xrpc_error("UnknownZstdDictionary", &format!("current: {current:?}")),
            ));
        }
    }
    let positions: Vec<(u64, i64)> = replay.frames.iter().map(|f| position(f)).collect();
    let floor = positions
        .iter()
        .position(|(s, _)| *s >= replay.floor)
        .unwrap_or(positions.len());
    let Some(cursor) = param("cursor") else {
        return Ok((positions.len().saturating_sub(1), None));
    };
    let cursor: i64 = cursor.parse().unwrap();
    if cursor < 1_000_000_000_000_000 {
        if (cursor as u64) < replay.floor {
            return Err((
                400,
                xrpc_error(
                    "CursorTooOld",
                    &format!(
                        "cursor {cursor} is below the retention floor {}",
                        replay.floor
                    ),
                ),
            ));
        }
        let at = positions
            .iter()
            .position(|(s, _)| *s >= cursor as u64)
            .unwrap_or(positions.len());
        return Ok((at, None));
    }
    let at = positions
        .iter()
        .position(|(_, t)| *t >= cursor)
        .unwrap_or(positions.len());
    if at < floor {
        let info = serde_json::json!({"$type": "message", "payload": {
            "$type": "network.bsky.jetstream.subscribeEvents#info", "name": "OutdatedCursor",
            "message": format!("cursor clamped; resuming from seq {}", replay.floor)}});
        return Ok((floor, Some(info.to_string())));
    }
    Ok((at, None))
}

/// Whether a frame passes the `kinds` and `collections` filters (each match-all when empty;
/// `collections` constrains commits only).
fn wanted(frame: &str, kinds: &[String], collections: &[String]) -> bool {
    let v: Value = serde_json::from_str(frame).unwrap();
    let p = &v["payload"];
    let kind = p["$type"].as_str().unwrap().rsplit('#').next().unwrap();
    (kinds.is_empty() || kinds.iter().any(|k| k == kind))
        && (kind != "commit"
            || collections.is_empty()
            || collections.iter().any(|c| p["collection"] == c.as_str()))
}
