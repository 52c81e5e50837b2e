//! Micro-benchmark of the classifiers on the 5,000 shipped posts (`data/store/twcs/`), repeated.
//!
//! ```text
//! cargo bench --bench classify -- [--rounds 40]
//! ```
//!
//! Prints nanoseconds per post (this thread's CPU time, and wall time), on one thread, for a
//! plain ASCII lowercasing (a floor to compare with), the text normalisation alone, `deflect` on
//! every post and `kind` on every post (the pipeline would call each on a subset: deflect on
//! brand replies, kind on opening posts).

use std::hint::black_box;
use std::time::Instant;

use replyrank::classify::{deflect, kind, normalise};

mod common;
use common::thread_cpu_ns;
use replyrank::post::Post;

fn main() {
    let mut rounds = 40usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--bench" => {}
            _ => usage(),
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/store/twcs");
    let mut texts: Vec<String> = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let data = std::fs::read_to_string(&f).unwrap();
        for line in data.lines().filter(|l| !l.is_empty()) {
            let p: Post = serde_json::from_str(line).unwrap();
            texts.extend(p.text.map(|t| t.into_owned()));
        }
    }
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "{} posts with text (mean {} bytes), {rounds} rounds, one thread",
        texts.len(),
        bytes / texts.len().max(1)
    );
    // Compiles the rule sets outside the timing.
    black_box(deflect("warm up", None));
    black_box(kind("warm up", None));

    let time = |name: &str, f: &dyn Fn(&str) -> usize| {
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        let mut sink = 0usize;
        for _ in 0..rounds {
            for t in &texts {
                sink = sink.wrapping_add(f(black_box(t)));
            }
        }
        let n = (rounds * texts.len()) as f64;
        let cpu = (thread_cpu_ns() - cpu) as f64 / n;
        let wall = start.elapsed().as_nanos() as f64 / n;
        black_box(sink);
        println!("{name:10} {cpu:8.0} ns/post CPU ({wall:.0} wall)");
    };
    // A floor for comparison: one allocation and one pass over the bytes.
    time("lowercase", &|t| t.to_ascii_lowercase().len());
    time("normalise", &|t| normalise(t).len());
    time("deflect", &|t| deflect(t, None).deflect as usize);
    time("kind", &|t| kind(t, None).kind as usize);
}

fn usage() -> ! {
    eprintln!("usage: cargo bench --bench classify -- [--rounds 40]");
    std::process::exit(2);
}
