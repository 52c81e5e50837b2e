//! `replyrank eval`: measures a classifier against a hand-labelled file, reading each post's
//! text from the store.

use std::path::Path;

use anyhow::{Result, bail};
use rustc_hash::FxHashMap;

use replyrank::classify::eval::{ClassScore, Confusion, Labels, Task, evaluate};
use replyrank::classify::{DEFLECT_VERSION, KIND_VERSION};
use replyrank::post::Post;
use replyrank::root::SiteRoot;
use replyrank::store::{Store, line_blocks, lines_of};

pub fn run(root: &SiteRoot, path: &Path, source: &str, json: bool, errors: bool) -> Result<()> {
    let labels = Labels::read(path)?;
    let texts = texts(root, source, &labels)?;
    let (report, confusion, binary, outcomes) =
        evaluate(&labels, |id| texts.get(id).cloned().flatten());
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let version = match labels.task {
            Task::Deflect => DEFLECT_VERSION,
            Task::Kind => KIND_VERSION,
        };
        let not_in_store = labels
            .labels
            .iter()
            .filter(|l| !texts.contains_key(&l.id))
            .count();
        println!(
            "{version}: {} labelled posts, {} classified, {} missing ({not_in_store} not in store `{source}`, {} without text)",
            labels.labels.len(),
            report.n,
            report.missing,
            report.missing - not_in_store,
        );
        print_confusion(&confusion);
        print_scores(&report.classes, &confusion, report.accuracy);
        if let (Some(b), Some(nr)) = (&binary, &report.needs_reply) {
            println!("\nneeds a reply (yes = complaint or request, no = praise or other)");
            print_confusion(b);
            print_scores(&nr.classes, b, nr.accuracy);
        }
    }
    if errors {
        // Lines of the label file, not ids: no post's network id is printed.
        eprintln!("misclassified (label-file line, label, predicted, rule):");
        for o in outcomes.iter().filter(|o| o.predicted != o.label.label) {
            eprintln!(
                "{}:{} {} {} {}",
                path.display(),
                o.label.line,
                o.label.label,
                o.predicted,
                o.rule.unwrap_or("-")
            );
        }
    }
    Ok(())
}

/// The text of each labelled id found in the source's partitions (`None`: stored without text).
fn texts(
    root: &SiteRoot,
    source: &str,
    labels: &Labels,
) -> Result<FxHashMap<String, Option<String>>> {
    let store = Store::open(root)?;
    for n in &store.notices {
        eprintln!("warning: {n}");
    }
    let files = store.partitions(Some(source))?;
    if files.is_empty() {
        bail!(
            "the store {} holds no posts of source `{source}` (it has: {}); import them or pass --source",
            store.dir().display(),
            store.sources()?.join(", ")
        );
    }
    let wanted: FxHashMap<&str, ()> = labels.labels.iter().map(|l| (l.id.as_str(), ())).collect();
    let mut found = FxHashMap::default();
    let mut bad = 0usize;
    for file in &files {
        line_blocks(file, |chunks, _unfinished| {
            for &(first, chunk) in chunks {
                for (_, line) in lines_of(first, chunk) {
                    match serde_json::from_slice::<Post>(line) {
                        Ok(p) if wanted.contains_key(p.id.as_ref()) => {
                            found.insert(p.id.into_owned(), p.text.map(|t| t.into_owned()));
                        }
                        Ok(_) => {}
                        Err(_) => bad += 1,
                    }
                }
            }
        })?;
    }
    if bad > 0 {
        eprintln!(
            "warning: skipped {bad} store lines that are not valid posts (replyrank score names them)"
        );
    }
    Ok(found)
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.3}"))
}

fn print_confusion(c: &Confusion) {
    let w = c.classes.iter().map(|k| k.len()).max().unwrap_or(1).max(9);
    print!("\n{:17}", "label \\ predicted");
    for k in &c.classes {
        print!(" {k:>w$}");
    }
    println!();
    for (k, row) in c.classes.iter().zip(&c.counts) {
        print!("{k:17}");
        for n in row {
            print!(" {n:>w$}");
        }
        println!();
    }
}

fn print_scores(
    scores: &std::collections::BTreeMap<&'static str, ClassScore>,
    c: &Confusion,
    accuracy: Option<f64>,
) {
    println!(
        "\n{:12} {:>9} {:>9} {:>9}",
        "class", "precision", "recall", "support"
    );
    for k in &c.classes {
        let s = scores[k];
        println!(
            "{k:12} {:>9} {:>9} {:>9}",
            fmt(s.precision),
            fmt(s.recall),
            s.support
        );
    }
    println!("accuracy {} (n = {})", fmt(accuracy), c.n());
}
