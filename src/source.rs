//! Sources: where posts come from, which network's accounts they speak of, and what each one
//! can and cannot see (its coverage statement, carried into every figure built from it).
//!
//! [`BUILTIN`] is the one table of the sources replyrank knows: per source its network, its
//! collector, its default pace, the credentials it reads and its coverage wording. Adding a
//! source is a row here and, for a collected one, a collector module in `src/collect/`.

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::root::SiteRoot;

/// The social network whose account handles a source's authors and mentions belong to.
/// Brand accounts in the registry are listed per network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Twitter,
    Bluesky,
    Mastodon,
    /// Data that names brands by registry id rather than by account (`pairs` imports).
    None,
}

/// Which collector of `collect` fetches a source (one module of `src/collect/` each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Collector {
    Bluesky,
    /// Bluesky's public event stream: one job for the whole network, all brands at once.
    Jetstream,
    Mastodon,
    X,
}

/// An environment variable a collector reads a credential from.
pub struct Var {
    pub name: &'static str,
    /// Blanked wherever text is shown (tokens, passwords); a handle is not.
    pub secret: bool,
}

/// The credentials a collector reads from the environment.
pub struct Credentials {
    pub vars: &'static [Var],
    /// Without them the source is skipped; otherwise it is collected with less coverage.
    pub required: bool,
    /// The line shown when they are missing, after `NAME: `.
    pub missing: &'static str,
    /// The coverage wording a collection records when it ran with them (it saw more), if it
    /// differs from the source's own.
    pub coverage: Option<&'static str>,
}

/// How `collect` fetches a source.
pub struct Collection {
    pub collector: Collector,
    /// Requests per second per host when `[sources.NAME] requests_per_second` is not set.
    pub requests_per_second: f64,
    pub credentials: Option<Credentials>,
}

/// A built-in source: everything replyrank knows about it, in one row.
pub struct Source {
    /// Its store directory and `[sources.NAME]` name.
    pub name: &'static str,
    pub network: Network,
    /// The key of its coverage wording ([`WORDINGS`]; translations: `templates/i18n/`).
    pub coverage: &'static str,
    /// How `collect` fetches it; `None`: imported only.
    pub collect: Option<Collection>,
}

/// X's bearer token.
pub const X_BEARER_TOKEN: &str = "REPLYRANK_X_BEARER_TOKEN";
/// The Bluesky account that logs in to search (a handle: not a secret).
pub const BLUESKY_HANDLE: &str = "REPLYRANK_BLUESKY_HANDLE";
/// That account's app password.
pub const BLUESKY_APP_PASSWORD: &str = "REPLYRANK_BLUESKY_APP_PASSWORD";

pub const BUILTIN: &[Source] = &[
    Source {
        name: "twcs",
        network: Network::Twitter,
        coverage: "coverage_twcs",
        collect: None,
    },
    Source {
        name: "x",
        network: Network::Twitter,
        coverage: "coverage_x",
        collect: Some(Collection {
            collector: Collector::X,
            requests_per_second: 1.0,
            credentials: Some(Credentials {
                vars: &[Var {
                    name: X_BEARER_TOKEN,
                    secret: true,
                }],
                required: true,
                missing: "skipped: set REPLYRANK_X_BEARER_TOKEN to collect from X (pay-per-use; \
                          see [sources.x] max_posts_per_run)",
                coverage: None,
            }),
        }),
    },
    Source {
        name: "bluesky",
        network: Network::Bluesky,
        coverage: "coverage_bluesky",
        collect: Some(Collection {
            collector: Collector::Bluesky,
            requests_per_second: 5.0,
            credentials: Some(Credentials {
                vars: &[
                    Var {
                        name: BLUESKY_HANDLE,
                        secret: false,
                    },
                    Var {
                        name: BLUESKY_APP_PASSWORD,
                        secret: true,
                    },
                ],
                required: false,
                missing: "no REPLYRANK_BLUESKY_HANDLE / REPLYRANK_BLUESKY_APP_PASSWORD: \
                          collecting thread-scoped (replies under brand posts and posts the \
                          brand answered; unanswered standalone mentions need search, which \
                          needs a login)",
                coverage: Some("coverage_bluesky_search"),
            }),
        }),
    },
    Source {
        name: "mastodon",
        network: Network::Mastodon,
        coverage: "coverage_mastodon",
        collect: Some(Collection {
            collector: Collector::Mastodon,
            requests_per_second: 1.0,
            credentials: None,
        }),
    },
];

/// A coverage statement in English: what a source can and cannot see. Its key names its
/// translations in `templates/i18n/<lang>.toml` (a test keeps the English file equal to these).
pub struct Wording {
    pub key: &'static str,
    pub english: &'static str,
}

const THREAD_SCOPED: &str = "Thread-scoped: replies under the brand's posts and posts the brand \
                             answered; standalone mentions the brand never answered are not seen.";

pub const WORDINGS: &[Wording] = &[
    Wording {
        key: "coverage_twcs",
        english: "Archive of conversations a brand joined (Customer Support on Twitter, 2017): \
                  complaints no brand answered are mostly missing, so answered ratios are \
                  biased upward; the excerpt cuts some threads (method 2 leaves out complaints \
                  whose listed reply is missing; method 1 counts them as unanswered).",
    },
    Wording {
        key: "coverage_x",
        english: "Mentions of the brand's accounts and the brand's replies, through the X API.",
    },
    Wording {
        key: "coverage_bluesky",
        english: THREAD_SCOPED,
    },
    Wording {
        key: "coverage_bluesky_search",
        english: "Mentions of the brand's accounts (Bluesky search), replies under the brand's \
                  posts and posts the brand answered; posts deleted before the run are not seen.",
    },
    Wording {
        key: "coverage_bluesky_jetstream",
        english: "All public mentions of the brand's accounts, replies to the brand's posts and \
                  the brand's own posts, read from Bluesky's public event stream (Jetstream); \
                  posts deleted since are removed; periods the stream no longer held when \
                  collected are listed as gaps.",
    },
    Wording {
        key: "coverage_mastodon",
        english: THREAD_SCOPED,
    },
];

/// The coverage wording a Bluesky collection through Jetstream records.
pub const JETSTREAM_COVERAGE: &str = "coverage_bluesky_jetstream";

/// Coverage of a source that is not built in (for example a `pairs` import named by the user)
/// and has no `[sources.NAME] coverage` in the config.
pub const DEFAULT_COVERAGE: &str = "As supplied: complaints and first-reply times come from the \
     imported file; what it omits is not seen. Without post texts nothing is classified: every \
     row counts as a complaint and every reply as an answer in public.";

/// The built-in source of this name.
pub fn builtin(name: &str) -> Option<&'static Source> {
    BUILTIN.iter().find(|b| b.name == name)
}

impl Source {
    /// The credentials `collect` reads for this source, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.collect.as_ref().and_then(|c| c.credentials.as_ref())
    }

    /// The coverage wording a collection with credentials records, if it differs.
    pub fn coverage_with_credentials(&self) -> Option<&'static str> {
        self.credentials().and_then(|c| c.coverage)
    }
}

/// The network of a source name; sources that are not built in name brands by registry id.
pub fn network(source: &str) -> Network {
    builtin(source).map_or(Network::None, |b| b.network)
}

/// The English text of a wording key.
pub fn wording(key: &str) -> Option<&'static str> {
    WORDINGS.iter().find(|w| w.key == key).map(|w| w.english)
}

/// The coverage statement of a source, resolved in this one place: the config's
/// `[sources.NAME] coverage`, else what the last collection recorded, else the built-in
/// wording, else [`DEFAULT_COVERAGE`].
pub fn coverage(name: &str, config: &Config, collected: &CollectionState) -> String {
    config
        .sources
        .get(name)
        .and_then(|s| s.coverage.clone())
        .or_else(|| collected.coverage.get(name).cloned())
        .or_else(|| {
            builtin(name)
                .and_then(|b| wording(b.coverage))
                .map(str::to_string)
        })
        .unwrap_or_else(|| DEFAULT_COVERAGE.to_string())
}

/// The wording key of a resolved coverage statement when it is one of the built-in wordings of
/// `source` (so a page may show its translation), else `None` (shown as written).
pub fn wording_key(source: &str, text: &str) -> Option<&'static str> {
    let b = builtin(source)?;
    let stream = (b.name == "bluesky").then_some(JETSTREAM_COVERAGE);
    [Some(b.coverage), b.coverage_with_credentials(), stream]
        .into_iter()
        .flatten()
        .find(|k| wording(k) == Some(text))
}

/// What the last collection could see, per source (`data/state/coverage.json`): the coverage
/// statement of each collected source (`coverage`: source name → statement) and the periods a
/// source could not be read for (`gaps`: source name → `[{"from", "to"}]`, RFC 3339). Written by
/// `collect`, read by `collect` and the scoring pipeline; a source absent from it has its
/// built-in coverage and no gaps. The file of earlier versions (a bare object of source name →
/// statement) still reads.
#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionState {
    pub coverage: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gaps: BTreeMap<String, Vec<Gap>>,
}

/// A period a source was not read for: posts made between `from` and `to` are not in the
/// store (Jetstream no longer held them when collection resumed). Unix seconds, UTC.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct Gap {
    #[serde(with = "crate::time::rfc3339")]
    pub from: i64,
    #[serde(with = "crate::time::rfc3339")]
    pub to: i64,
}

/// The file as written, or as earlier versions wrote it.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StateFile {
    Current(CollectionState),
    Statements(BTreeMap<String, String>),
}

impl CollectionState {
    /// Reads the collection state of `root`; none yet (never collected) means empty.
    pub fn load(root: &SiteRoot) -> Result<CollectionState> {
        let path = root.collected_coverage();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CollectionState::default());
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let file: StateFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a JSON object with \"coverage\" (source name to coverage statement) \
                 and \"gaps\"; delete it (the built-in statements apply until the next \
                 `replyrank collect` records what it sees)",
                path.display()
            )
        })?;
        Ok(match file {
            StateFile::Current(s) => s,
            StateFile::Statements(coverage) => CollectionState {
                coverage,
                gaps: BTreeMap::new(),
            },
        })
    }

    /// Records that `source` was collected with the coverage of wording `key`.
    pub fn record(&mut self, source: &str, key: &str) {
        if let Some(text) = wording(key) {
            self.coverage.insert(source.to_string(), text.to_string());
        }
    }

    /// The gaps of `source`, oldest first.
    pub fn gaps(&self, source: &str) -> &[Gap] {
        self.gaps.get(source).map_or(&[], Vec::as_slice)
    }

    /// Replaces the file atomically.
    pub fn save(&self, root: &SiteRoot) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(self)?;
        json.push(b'\n');
        crate::collect::cursor::write_atomically(&root.collected_coverage(), &json)
    }
}

/// Source names are store directory names: lowercase letters, digits and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        Config::parse(toml, std::path::Path::new("replyrank.toml")).unwrap()
    }

    #[test]
    fn coverage_precedence_is_config_then_collection_then_builtin_then_default() {
        let mut collected = CollectionState::default();
        let none = config("");
        assert!(coverage("twcs", &none, &collected).contains("biased upward"));
        assert_eq!(coverage("appstore", &none, &collected), DEFAULT_COVERAGE);
        assert!(coverage("bluesky", &none, &collected).starts_with("Thread-scoped"));
        collected.record("bluesky", "coverage_bluesky_search");
        assert!(coverage("bluesky", &none, &collected).contains("(Bluesky search)"));
        let set = config(
            "[sources.bluesky]\ncoverage = \"Ours\"\n[sources.appstore]\ncoverage = \"Reviews only\"\n",
        );
        assert_eq!(coverage("bluesky", &set, &collected), "Ours");
        assert_eq!(coverage("appstore", &set, &collected), "Reviews only");
    }

    #[test]
    fn every_coverage_key_has_an_english_wording() {
        for b in BUILTIN {
            assert!(wording(b.coverage).is_some(), "{}", b.name);
            if let Some(k) = b.coverage_with_credentials() {
                assert!(wording(k).is_some(), "{k}");
            }
        }
        assert_eq!(
            wording_key("mastodon", wording("coverage_mastodon").unwrap()),
            Some("coverage_mastodon")
        );
        assert_eq!(wording_key("mastodon", "Ours"), None);
        assert_eq!(wording_key("appstore", DEFAULT_COVERAGE), None);
    }

    #[test]
    fn a_corrupt_coverage_state_is_an_error_naming_the_file_not_silently_empty() {
        let dir = tempfile::tempdir().unwrap();
        let root = SiteRoot::at(dir.path());
        assert!(CollectionState::load(&root).unwrap().coverage.is_empty());
        std::fs::create_dir_all(root.state()).unwrap();
        std::fs::write(root.collected_coverage(), "{\"bluesky\": ").unwrap();
        let err = format!("{:#}", CollectionState::load(&root).unwrap_err());
        assert!(err.contains("data/state/coverage.json"), "{err}");
        assert!(err.contains("delete it"), "{err}");
        let mut state = CollectionState::default();
        state.record("bluesky", "coverage_bluesky");
        state.save(&root).unwrap();
        let back = CollectionState::load(&root).unwrap();
        assert_eq!(
            back.coverage["bluesky"],
            wording("coverage_bluesky").unwrap()
        );
    }

    #[test]
    fn gaps_round_trip_and_the_old_statement_only_file_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let root = SiteRoot::at(dir.path());
        std::fs::create_dir_all(root.state()).unwrap();
        std::fs::write(root.collected_coverage(), "{\"bluesky\": \"Ours\"}").unwrap();
        let old = CollectionState::load(&root).unwrap();
        assert_eq!(old.coverage["bluesky"], "Ours");
        assert!(old.gaps("bluesky").is_empty());
        let mut state = CollectionState::default();
        state.record("bluesky", JETSTREAM_COVERAGE);
        let gap = Gap {
            from: 1_783_000_000,
            to: 1_783_100_000,
        };
        state.gaps.insert("bluesky".into(), vec![gap]);
        state.save(&root).unwrap();
        let text = std::fs::read_to_string(root.collected_coverage()).unwrap();
        assert!(text.contains("\"from\": \"2026-07-02T"), "{text}");
        let back = CollectionState::load(&root).unwrap();
        assert_eq!(back, state);
        assert_eq!(back.gaps("bluesky"), &[gap]);
    }
}
