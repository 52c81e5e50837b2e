//! The site root: one value that owns every path of a replyrank site, as Zola's `Site` does.
//! Built once from `--root` and `--output`; every loader and command takes it, so no module
//! hard-codes where another's files live.
//!
//! ```text
//! <root>/replyrank.toml           config
//! <root>/data/brands.toml         brand registry
//! <root>/data/store/              the post store (one directory per source)
//! <root>/data/state/              collection state (cursors, coverage)
//! <root>/data/index/              the store's index (derived, never committed)
//! <root>/content/                 methodology.md and other page content
//! <root>/templates/               the site's own templates, assets and i18n overrides
//! <output> (default <root>/public) the built site
//! ```

use std::path::{Path, PathBuf};

/// The configuration file, relative to the root.
pub const CONFIG: &str = "replyrank.toml";
/// The brand registry, relative to the root.
pub const REGISTRY: &str = "data/brands.toml";
/// The post store, relative to the root.
pub const STORE: &str = "data/store";
/// The private working store's folder, relative to the site root (never committed).
pub const PRIVATE_STORE: &str = "data/private";

/// The paths of one site root.
#[derive(Clone, Debug)]
pub struct SiteRoot {
    root: PathBuf,
    output: PathBuf,
}

impl SiteRoot {
    /// A site root at `root`, building into `output` (relative to `root` unless absolute).
    pub fn new(root: impl Into<PathBuf>, output: impl AsRef<Path>) -> SiteRoot {
        let root = root.into();
        let output = output.as_ref();
        let output = if output.is_absolute() {
            output.to_path_buf()
        } else {
            root.join(output)
        };
        SiteRoot { root, output }
    }

    /// A site root building into its default output, `public/`.
    pub fn at(root: impl Into<PathBuf>) -> SiteRoot {
        SiteRoot::new(root, "public")
    }

    /// The root directory itself.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// `replyrank.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    /// `data/brands.toml`, the brand registry.
    pub fn registry(&self) -> PathBuf {
        self.root.join(REGISTRY)
    }

    /// `data/store/`, the post store.
    pub fn store(&self) -> PathBuf {
        self.root.join(STORE)
    }

    /// `data/private/`, the private working store: collected posts as the networks gave them
    /// (text, handles, network ids). Never committed or published (see `crate::publish`).
    pub fn private_store(&self) -> PathBuf {
        self.root.join(PRIVATE_STORE)
    }

    /// `data/store/forgotten.jsonl`: the posts and authors `forget` removed (as pseudonyms),
    /// never stored again.
    pub fn forgotten(&self) -> PathBuf {
        self.store().join("forgotten.jsonl")
    }

    /// `data/index/corpus.bin`: the store's index, derived from `data/store/` so a run reads
    /// only what was appended since the last one (`crate::corpus`); never committed, safe to
    /// delete.
    pub fn index(&self) -> PathBuf {
        self.root.join("data/index/corpus.bin")
    }

    /// `data/state/`, what collection keeps between runs that may be published.
    pub fn state(&self) -> PathBuf {
        self.root.join("data/state")
    }

    /// `data/private/cursors.json`: where each feed's last walk ended (network ids: private).
    pub fn cursors(&self) -> PathBuf {
        self.private_store().join("cursors.json")
    }

    /// `data/state/cursors.json`, where version-1 stores kept the cursors (`migrate` moves it).
    pub fn cursors_v1(&self) -> PathBuf {
        self.state().join("cursors.json")
    }

    /// `data/state/coverage.json`: what the last collection could see, per source.
    pub fn collected_coverage(&self) -> PathBuf {
        self.state().join("coverage.json")
    }

    /// `content/<name>` (e.g. `methodology.md`).
    pub fn content(&self, name: &str) -> PathBuf {
        self.root.join("content").join(name)
    }

    /// `templates/`: the site's own templates and assets, overriding the built-in ones.
    pub fn templates(&self) -> PathBuf {
        self.root.join("templates")
    }

    /// `templates/i18n/<code>.toml`: the site's own translation of the interface, if any.
    pub fn i18n(&self, code: &str) -> PathBuf {
        self.templates().join("i18n").join(format!("{code}.toml"))
    }

    /// Where the site is built.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// The paths whose changes call for a rebuild (`serve` watches them).
    pub fn inputs(&self) -> Vec<PathBuf> {
        vec![
            self.config(),
            self.root.join("content"),
            self.templates(),
            self.root.join("data"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_relative_to_the_root_unless_absolute() {
        assert_eq!(
            SiteRoot::new("site", "public").output(),
            Path::new("site/public")
        );
        assert_eq!(
            SiteRoot::new("site", "/tmp/o").output(),
            Path::new("/tmp/o")
        );
        assert_eq!(SiteRoot::at("r").store(), Path::new("r/data/store"));
    }
}
