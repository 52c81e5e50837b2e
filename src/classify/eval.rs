//! Measuring a classifier against hand-labelled posts: the label files `replyrank eval` reads,
//! and the confusion matrix, precision, recall and support it reports.
//!
//! A label file is a CSV with a header of either `tweet_id,deflect` (`deflect` 0 or 1: a brand
//! reply) or `tweet_id,kind[,lang]` (`kind` one of complaint, request, praise, other: an opening
//! post; `lang` an ISO 639-1 code, `und` or empty when unknown).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::Kind;

/// What a label file labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Deflect,
    Kind,
}

impl Task {
    /// The class labels, in the order reports list them.
    pub fn classes(self) -> &'static [&'static str] {
        match self {
            Task::Deflect => &["1", "0"],
            Task::Kind => &["complaint", "request", "praise", "other"],
        }
    }
}

/// One labelled post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub id: String,
    /// `1`/`0` for deflect; the kind's name for kind.
    pub label: &'static str,
    /// The text's language, when the file gives one (not `und`).
    pub lang: Option<String>,
    /// Line in the file, for messages.
    pub line: usize,
}

/// A parsed label file.
#[derive(Clone, Debug)]
pub struct Labels {
    pub task: Task,
    pub labels: Vec<Label>,
}

impl Labels {
    /// Reads a label file; any bad header or row is an error naming `file:line`.
    pub fn read(path: &Path) -> Result<Labels> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read label file {}", path.display()))?;
        Labels::parse(&text, &path.display().to_string())
    }

    /// Parses label-file text; `name` is used in messages.
    pub fn parse(text: &str, name: &str) -> Result<Labels> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // Label files hold ids, class names and language codes: no field needs quoting, so
        // lines are split by hand, which keeps every message's line number exact.
        let fields = |line: &str| -> Vec<String> {
            line.trim_end_matches('\r')
                .split(',')
                .map(|f| f.trim().trim_matches('"').trim().to_string())
                .collect()
        };
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
        let cols = match lines.next() {
            Some((_, h)) if !h.trim().is_empty() => fields(h),
            _ => bail!(
                "{name}: empty label file; expected a header `tweet_id,deflect` or `tweet_id,kind[,lang]`"
            ),
        };
        let task = match cols
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["tweet_id", "deflect"] => Task::Deflect,
            ["tweet_id", "kind"] | ["tweet_id", "kind", "lang"] => Task::Kind,
            _ => bail!(
                "{name}:1: header is `{}`; expected `tweet_id,deflect` or `tweet_id,kind` or `tweet_id,kind,lang`",
                cols.join(",")
            ),
        };
        let mut labels = Vec::new();
        let mut first_line: FxHashMap<String, usize> = FxHashMap::default();
        for (line, text) in lines {
            if text.trim().is_empty() {
                continue;
            }
            let row = fields(text);
            if row.len() != cols.len() {
                bail!(
                    "{name}:{line}: {} fields, but the header has {}",
                    row.len(),
                    cols.len()
                );
            }
            let id = row[0].as_str();
            if id.is_empty() {
                bail!("{name}:{line}: empty tweet_id");
            }
            let value = row[1].as_str();
            let label = match task {
                Task::Deflect => match value {
                    "1" => "1",
                    "0" => "0",
                    _ => bail!("{name}:{line}: deflect is {value:?}; expected 0 or 1"),
                },
                Task::Kind => match Kind::parse(value) {
                    Some(k) => k.as_str(),
                    None => bail!(
                        "{name}:{line}: kind is {value:?}; expected complaint, request, praise or other"
                    ),
                },
            };
            let lang = row.get(2).filter(|l| !l.is_empty() && *l != "und").cloned();
            if let Some(prev) = first_line.insert(id.to_string(), line) {
                bail!("{name}:{line}: tweet_id {id} is labelled twice (first at line {prev})");
            }
            labels.push(Label {
                id: id.to_string(),
                label,
                lang,
                line,
            });
        }
        if labels.is_empty() {
            bail!("{name}: no labelled rows after the header");
        }
        Ok(Labels { task, labels })
    }
}

/// Precision, recall and support of one class. Precision is `None` when nothing was predicted
/// as the class, recall when no post has it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClassScore {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub support: usize,
}

/// Predictions against labels over a fixed list of classes.
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    pub classes: Vec<&'static str>,
    /// `counts[label][predicted]`, indexed like `classes`.
    pub counts: Vec<Vec<usize>>,
}

impl Confusion {
    pub fn new(classes: &[&'static str]) -> Confusion {
        Confusion {
            classes: classes.to_vec(),
            counts: vec![vec![0; classes.len()]; classes.len()],
        }
    }

    /// Counts one post. Both must be among the classes.
    pub fn add(&mut self, label: &str, predicted: &str) {
        let at = |c: &str| {
            self.classes
                .iter()
                .position(|k| *k == c)
                .expect("labels and predictions are among the classes")
        };
        let (l, p) = (at(label), at(predicted));
        self.counts[l][p] += 1;
    }

    pub fn n(&self) -> usize {
        self.counts.iter().flatten().sum()
    }

    /// Share of posts predicted as labelled; `None` for no posts.
    pub fn accuracy(&self) -> Option<f64> {
        let right: usize = (0..self.classes.len()).map(|i| self.counts[i][i]).sum();
        ratio(right, self.n())
    }

    pub fn score(&self, class: usize) -> ClassScore {
        let right = self.counts[class][class];
        let predicted: usize = self.counts.iter().map(|row| row[class]).sum();
        let support: usize = self.counts[class].iter().sum();
        ClassScore {
            precision: ratio(right, predicted),
            recall: ratio(right, support),
            support,
        }
    }

    pub fn scores(&self) -> BTreeMap<&'static str, ClassScore> {
        (0..self.classes.len())
            .map(|i| (self.classes[i], self.score(i)))
            .collect()
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// The figures of one evaluation, in the shape `replyrank eval --json` prints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub task: Task,
    /// Posts found with a text and classified.
    pub n: usize,
    /// Labelled ids not found in the store, or found without a text.
    pub missing: usize,
    pub accuracy: Option<f64>,
    pub classes: BTreeMap<&'static str, ClassScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_reply: Option<Binary>,
}

/// The binary "needs a reply" view of a kind evaluation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Binary {
    pub accuracy: Option<f64>,
    pub classes: BTreeMap<&'static str, ClassScore>,
}

/// "yes" when a kind needs a reply, else "no".
pub fn needs_reply_label(kind: &str) -> &'static str {
    match Kind::parse(kind).is_some_and(Kind::needs_reply) {
        true => "yes",
        false => "no",
    }
}

/// What a labelled post was predicted, and by which rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome<'l> {
    pub label: &'l Label,
    pub predicted: &'static str,
    pub rule: Option<&'static str>,
}

/// Classifies a text for a task: the predicted label and the rule that decided.
pub fn predict(task: Task, text: &str, lang: Option<&str>) -> (&'static str, Option<&'static str>) {
    match task {
        Task::Deflect => {
            let v = super::deflect(text, lang);
            (if v.deflect { "1" } else { "0" }, v.rule)
        }
        Task::Kind => {
            let v = super::kind(text, lang);
            (v.kind.as_str(), Some(v.rule))
        }
    }
}

/// Evaluates labelled posts: `text_of` gives a post's text by id (`None` when the store has no
/// such post, or no text for it). Returns the report, the confusion matrix (and the
/// needs-a-reply one for kinds), and each classified post's outcome in file order.
pub fn evaluate<'l>(
    labels: &'l Labels,
    mut text_of: impl FnMut(&str) -> Option<String>,
) -> (Report, Confusion, Option<Confusion>, Vec<Outcome<'l>>) {
    let mut confusion = Confusion::new(labels.task.classes());
    let mut binary = Confusion::new(&["yes", "no"]);
    let mut outcomes = Vec::new();
    let mut missing = 0;
    for label in &labels.labels {
        let Some(text) = text_of(&label.id) else {
            missing += 1;
            continue;
        };
        let (predicted, rule) = predict(labels.task, &text, label.lang.as_deref());
        confusion.add(label.label, predicted);
        if labels.task == Task::Kind {
            binary.add(needs_reply_label(label.label), needs_reply_label(predicted));
        }
        outcomes.push(Outcome {
            label,
            predicted,
            rule,
        });
    }
    let binary = (labels.task == Task::Kind).then_some(binary);
    let report = Report {
        task: labels.task,
        n: confusion.n(),
        missing,
        accuracy: confusion.accuracy(),
        classes: confusion.scores(),
        needs_reply: binary.as_ref().map(|b| Binary {
            accuracy: b.accuracy(),
            classes: b.scores(),
        }),
    };
    (report, confusion, binary, outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_file_errors_name_file_and_line() {
        let err = |text: &str| Labels::parse(text, "l.csv").unwrap_err().to_string();
        assert_eq!(
            err("id,deflect\n1,0\n"),
            "l.csv:1: header is `id,deflect`; expected `tweet_id,deflect` or `tweet_id,kind` or `tweet_id,kind,lang`"
        );
        assert_eq!(
            err("tweet_id,deflect\n1,0\n2,yes\n"),
            "l.csv:3: deflect is \"yes\"; expected 0 or 1"
        );
        assert_eq!(
            err("tweet_id,kind,lang\n1,complaint,en\n2,rant,en\n"),
            "l.csv:3: kind is \"rant\"; expected complaint, request, praise or other"
        );
        assert_eq!(
            err("tweet_id,deflect\n1,0\n\n1,1\n"),
            "l.csv:4: tweet_id 1 is labelled twice (first at line 2)"
        );
        assert_eq!(
            err("tweet_id,kind\n1,complaint,en\n"),
            "l.csv:2: 3 fields, but the header has 2"
        );
        assert_eq!(
            err("tweet_id,kind\n"),
            "l.csv: no labelled rows after the header"
        );
    }

    #[test]
    fn undefined_precision_is_none_not_zero() {
        let mut c = Confusion::new(&["1", "0"]);
        c.add("1", "0");
        c.add("0", "0");
        let s = c.scores();
        assert_eq!(s["1"].precision, None);
        assert_eq!(s["1"].recall, Some(0.0));
        assert_eq!(s["0"].precision, Some(0.5));
        assert_eq!(c.accuracy(), Some(0.5));
    }
}
