//! Benchmark of the Jetstream reader ([`replyrank::collect::jetstream::Reader`]): how many post
//! events a second it filters on one core, the way `collect` reads them (decompress, parse,
//! keep what concerns a brand), over a synthetic stream built from the real capture in
//! `tests/fixtures/jetstream/`: its post events (creates and the delete), repeated with fresh
//! seqs, as plain JSON frames and as dict-zstd frames (the real dictionary, zstd level 3).
//!
//! ```text
//! cargo bench --bench jetstream -- [--events 300000] [--brands 150]
//! ```
//!
//! The capture's posts are re-wired so that 12 of its 18 post events concern the test brand:
//! far more than on the network (where almost no post mentions one of a few hundred brands), so
//! the figure is a floor: most real events are dropped before their record is parsed.

use std::hint::black_box;
use std::time::Instant;

use replyrank::collect::jetstream::{Brands, Frame, Reader, What};

mod common;
use common::thread_cpu_ns;

fn main() {
    let mut events = 300_000usize;
    let mut brands = 150usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = || {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--events" => events = number(),
            "--brands" => brands = number(),
            "--bench" => {}
            _ => usage(),
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jetstream");
    let capture = std::fs::read_to_string(dir.join("capture_2026-07-04.rewired.jsonl")).unwrap();
    let dictionary = std::fs::read(dir.join("subscribe_events_20260811.zdict")).unwrap();
    // The post events, each split around its seq so that copies get fresh ones.
    let posts: Vec<(&str, &str)> = capture
        .lines()
        .filter(|l| l.contains(r#""collection":"app.bsky.feed.post""#))
        .map(|l| {
            let at = l.find(r#""seq":"#).unwrap() + 6;
            let end = at + l[at..].find(',').unwrap();
            (&l[..at], &l[end..])
        })
        .collect();
    let frames: Vec<String> = (0..events)
        .map(|i| {
            let (head, tail) = posts[i % posts.len()];
            format!("{head}{}{tail}", 10_000 + i)
        })
        .collect();
    let mut zstd = zstd::bulk::Compressor::with_dictionary(3, &dictionary).unwrap();
    let compressed: Vec<Vec<u8>> = frames
        .iter()
        .map(|f| zstd.compress(f.as_bytes()).unwrap())
        .collect();
    let accounts = |n: usize| {
        let brand = std::iter::once((
            "did:plc:acmesupportbrandtestaaaa".to_string(),
            "acme".to_string(),
            "acme-support.bsky.social".to_string(),
        ));
        let others = (1..n).map(|i| {
            (
                format!("did:plc:benchbrand{i:013}"),
                format!("brand-{i}"),
                format!("brand-{i}.bsky.social"),
            )
        });
        Brands::new(brand.chain(others))
    };
    let mean = |n: usize| n / events.max(1);
    println!(
        "{events} post events from {} real ones (mean {} bytes as JSON, {} compressed), {brands} \
         brand DIDs, one thread",
        posts.len(),
        mean(frames.iter().map(String::len).sum()),
        mean(compressed.iter().map(Vec::len).sum()),
    );

    let run = |name: &str, reader: &mut Reader, input: &[&[u8]], compressed: bool| {
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        let mut kept = 0usize;
        for f in input {
            match reader.read(black_box(f), compressed).unwrap() {
                Frame::Event {
                    what: What::Keep(p),
                    ..
                } => {
                    kept += 1;
                    black_box(p);
                }
                other => {
                    black_box(other);
                }
            }
        }
        let cpu = (thread_cpu_ns() - cpu) as f64 / 1e9;
        let wall = start.elapsed().as_secs_f64();
        let n = input.len() as f64;
        println!(
            "{name:13} {:>9.0} events/s CPU ({:.0} wall), {:.0} ns/event; kept {kept}",
            n / cpu,
            n / wall,
            cpu * 1e9 / n
        );
    };
    let plain: Vec<&[u8]> = frames.iter().map(|f| f.as_bytes()).collect();
    let packed: Vec<&[u8]> = compressed.iter().map(Vec::as_slice).collect();
    let max = 32 << 20;
    run(
        "json",
        &mut Reader::new(accounts(brands), None, max).unwrap(),
        &plain,
        false,
    );
    run(
        "zstd + dict",
        &mut Reader::new(accounts(brands), Some(&dictionary), max).unwrap(),
        &packed,
        true,
    );
}

fn usage() -> ! {
    eprintln!("usage: cargo bench --bench jetstream -- [--events 300000] [--brands 150]");
    std::process::exit(2);
}
