//! `replyrank.toml`: the site root's configuration. Every key is optional; unknown keys are an
//! error that names the key and its line, so a typo never turns into a silent default.
//!
//! ```toml
//! base_url = "https://example.org/replyrank/"  # where the site is published (for citations)
//! title = "replyrank"                          # the site's name
//! languages = ["en", "fr"]                     # the first is served at /, the others at /<lang>/
//! publisher = "replyrank"                      # who publishes it, for citations
//! leaderboard_rows = 100                       # ranked brands on the front page (all at /ranking/)
//!
//! [ranking]
//! window_days = 90        # complaints made in the trailing N days up to as-of are ranked
//! min_complaints = 30     # fewer complaints in the window: listed as "not enough data"
//! bootstrap = 1000        # resamples for the score and rank intervals (at least 1000)
//! seed = 20171031         # seed of the bootstrap; same data + seed = same output
//!
//! [sources.app-store]     # any source by name (twcs, x, bluesky, mastodon, or a pairs source)
//! coverage = "Reviews with developer replies; reviews deleted by their author are not seen."
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

pub const FILE_NAME: &str = "replyrank.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub base_url: String,
    pub title: String,
    pub publisher: String,
    pub languages: Vec<String>,
    pub leaderboard_rows: usize,
    pub ranking: Ranking,
    pub sources: BTreeMap<String, SourceConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            base_url: "https://example.org/replyrank/".into(),
            title: "replyrank".into(),
            publisher: "replyrank".into(),
            languages: vec!["en".into(), "fr".into()],
            leaderboard_rows: 100,
            ranking: Ranking::default(),
            sources: BTreeMap::new(),
        }
    }
}

/// Interface languages the built-in templates are translated into.
pub const LANGUAGES: [&str; 2] = ["en", "fr"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ranking {
    pub window_days: u32,
    pub min_complaints: usize,
    pub bootstrap: usize,
    pub seed: u64,
}

impl Default for Ranking {
    fn default() -> Ranking {
        Ranking {
            window_days: 90,
            min_complaints: 30,
            bootstrap: 1000,
            seed: 20_171_031,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// What this source can and cannot see, shown next to every figure built from it.
    pub coverage: Option<String>,
}

impl Config {
    /// Reads `replyrank.toml` in `root`; a missing file means all defaults.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Config::parse(&text, &path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let mut config: Config =
            toml::from_str(text).map_err(|e| toml_error(&path.display().to_string(), text, &e))?;
        if config.ranking.window_days == 0 {
            bail!(
                "{}: [ranking] window_days must be at least 1",
                path.display()
            );
        }
        if config.ranking.bootstrap < 1000 {
            bail!(
                "{}: [ranking] bootstrap = {} is too few for a 95% interval; use at least 1000",
                path.display(),
                config.ranking.bootstrap
            );
        }
        if config.languages.is_empty() {
            bail!(
                "{}: languages must name at least one language",
                path.display()
            );
        }
        for lang in &config.languages {
            if !LANGUAGES.contains(&lang.as_str()) {
                bail!(
                    "{}: language {lang:?} has no translation; available: {}",
                    path.display(),
                    LANGUAGES.join(", ")
                );
            }
        }
        if !config.base_url.ends_with('/') {
            config.base_url.push('/');
        }
        for name in config.sources.keys() {
            if !crate::source::is_valid_name(name) {
                bail!(
                    "{}: [sources.{name}]: a source name is lowercase letters, digits and '-'",
                    path.display()
                );
            }
        }
        Ok(config)
    }

    /// The coverage statement of a source: the config's, else the built-in one, else the default.
    pub fn coverage(&self, source: &str) -> String {
        self.sources
            .get(source)
            .and_then(|s| s.coverage.clone())
            .or_else(|| crate::source::builtin_coverage(source).map(str::to_string))
            .unwrap_or_else(|| crate::source::DEFAULT_COVERAGE.to_string())
    }
}

/// The 1-based line of a byte offset in a text.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A TOML error as `file:line: message`.
pub fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> anyhow::Error {
    match e.span() {
        Some(span) => anyhow::anyhow!(
            "{file}:{}: {}",
            line_of(text, span.start),
            e.message().trim()
        ),
        None => anyhow::anyhow!("{file}: {}", e.message().trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        let c = Config::parse("", Path::new("replyrank.toml")).unwrap();
        assert_eq!(c.ranking.window_days, 90);
        assert_eq!(c.ranking.min_complaints, 30);
        assert_eq!(c.ranking.bootstrap, 1000);
        assert!(c.coverage("twcs").contains("biased upward"));
        assert!(c.coverage("appstore").contains("As supplied"));
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::parse(
            "[ranking]\nwindow_days = 30\nmin_complaint = 5\n",
            Path::new("replyrank.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("replyrank.toml:3:"), "{err}");
        assert!(err.contains("min_complaint"), "{err}");
    }

    #[test]
    fn source_coverage_overrides() {
        let c = Config::parse(
            "[sources.appstore]\ncoverage = \"Reviews only\"\n",
            Path::new("r.toml"),
        )
        .unwrap();
        assert_eq!(c.coverage("appstore"), "Reviews only");
    }
}
