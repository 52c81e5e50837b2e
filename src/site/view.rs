//! What every page is rendered with: the built-in templates and assets (each overridable from
//! the site root's `templates/`, as in Zola), the common context of `base.html` (navigation,
//! alternates, citation), URL helpers, and figures written per language.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use serde::Serialize;
use tera::Tera;

use super::charts::escape;
use super::lang::Lang;
use super::methodology::Methodology;
use crate::columns::{Column, Unit};
use crate::config::Config;
use crate::root::SiteRoot;
use crate::score::{BrandEntry, Leaderboard};

/// The built-in templates: pages, then the feeds and text files a site can override too.
const TEMPLATES: [(&str, &str); 16] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("table.html", include_str!("../../templates/table.html")),
    ("brand.html", include_str!("../../templates/brand.html")),
    ("list.html", include_str!("../../templates/list.html")),
    ("page.html", include_str!("../../templates/page.html")),
    ("data.html", include_str!("../../templates/data.html")),
    ("archive.html", include_str!("../../templates/archive.html")),
    ("thinned.html", include_str!("../../templates/thinned.html")),
    (
        "archive_redirect.html",
        include_str!("../../templates/archive_redirect.html"),
    ),
    ("embed.html", include_str!("../../templates/embed.html")),
    ("404.html", include_str!("../../templates/404.html")),
    ("atom.xml", include_str!("../../templates/atom.xml")),
    ("sitemap.xml", include_str!("../../templates/sitemap.xml")),
    ("robots.txt", include_str!("../../templates/robots.txt")),
    (
        "data_readme.txt",
        include_str!("../../templates/data_readme.txt"),
    ),
];

const ASSETS: [(&str, &str); 3] = [
    (
        "assets/favicon.svg",
        include_str!("../../templates/assets/favicon.svg"),
    ),
    (
        "assets/site.css",
        include_str!("../../templates/assets/site.css"),
    ),
    (
        "assets/site.js",
        include_str!("../../templates/assets/site.js"),
    ),
];

/// The site root's own copy of a built-in file (`templates/<name>`), if it has one. A file that
/// exists but cannot be read is an error, never a silent fall back to the built-in one.
fn own_file(root: &SiteRoot, name: &str) -> Result<Option<Vec<u8>>> {
    let path = root.templates().join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| {
            format!(
                "cannot read {} (it overrides the built-in {name}: fix its permissions or remove it)",
                path.display()
            )
        }),
    }
}

/// The built-in templates, each replaced by the site root's `templates/<name>` when present.
pub fn templates(root: &SiteRoot) -> Result<Tera> {
    let mut tera = Tera::default();
    let mut sources = Vec::new();
    for (name, builtin) in TEMPLATES {
        let text = match own_file(root, name)? {
            Some(bytes) => String::from_utf8(bytes).map_err(|_| {
                anyhow!(
                    "{} is not UTF-8 text",
                    root.templates().join(name).display()
                )
            })?,
            None => builtin.to_string(),
        };
        sources.push((name, text));
    }
    tera.add_raw_templates(sources)
        .map_err(|e| anyhow!("templates: {}", tera_error(&e)))?;
    tera.set_escape_fn(escape);
    Ok(tera)
}

/// The assets (CSS, JavaScript, favicon), each replaced by the site root's `templates/<name>`
/// when present, like the templates.
pub fn assets(root: &SiteRoot) -> Result<Vec<(&'static str, Vec<u8>)>> {
    ASSETS
        .iter()
        .map(|&(name, builtin)| {
            let bytes = own_file(root, name)?.unwrap_or_else(|| builtin.as_bytes().to_vec());
            Ok((name, bytes))
        })
        .collect()
}

fn tera_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

/// Everything pages are made from.
pub struct View<'a> {
    pub config: &'a Config,
    pub lb: &'a Leaderboard,
    pub langs: &'a [Lang],
    pub templates: &'a Tera,
    /// The as-of date (`YYYY-MM-DD`): the snapshot's name under `archive/`.
    pub snapshot: &'a str,
    pub methodology: &'a Methodology,
    /// Each brand's still-waiting curve, drawn once for every language.
    pub curves: &'a std::collections::HashMap<String, super::charts::Curve>,
}

/// `../` once per directory level of a page path.
pub fn rel_root(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// The public URL of a page path (`brand/x/index.html` → `<base>brand/x/`).
pub fn pretty(base: &str, path: &str) -> String {
    format!("{base}{}", path.strip_suffix("index.html").unwrap_or(path))
}

/// Who to credit under a figure for a source's data, with its licence: (credit, link, licence,
/// licence link). Sources not listed are credited by name.
const CREDITS: [(&str, &str, &str, &str, &str); 1] = [(
    "twcs",
    "ThoughtVector, “Customer Support on Twitter” (Kaggle, 2017)",
    "https://www.kaggle.com/datasets/thoughtvector/customer-support-on-twitter",
    "CC BY-NC-SA 4.0",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/",
)];

#[derive(Serialize)]
struct Alternate {
    lang: String,
    name: String,
    href: String,
    url: String,
    /// From the site's root (`/fr/…`).
    path: String,
}

#[derive(Serialize)]
struct NavLinks {
    methodology: String,
    data: String,
    archive: String,
}

/// What `base.html` needs, for one page in one language.
#[derive(Serialize)]
pub struct Base<'a> {
    lang: &'a str,
    locale: &'a str,
    t: &'a BTreeMap<String, String>,
    site_title: &'a str,
    /// The site's public address, or `/` when `base_url` is not set.
    base_url: &'a str,
    /// Whether `base_url` is set: without it there is no canonical address, and the page says
    /// that its citation and snippets hold paths, not full addresses.
    has_address: bool,
    /// The source line under every chart and figure block (HTML).
    pub source_line: String,
    /// The as-of date in words, for the banner an archived copy shows.
    snapshot_text: String,
    /// The page's share image (`og:image`): its brand's, else the site's.
    og_image: String,
    title: String,
    description: String,
    url: String,
    root: String,
    home: String,
    links: NavLinks,
    alternates: Vec<Alternate>,
    as_of_text: String,
    /// Whether the page carries a "Cite this" block (not the 404 page).
    pub cite: bool,
    cite_text: String,
    bibtex: String,
}

impl Base<'_> {
    /// Links from the site's root (`base_path` is the path of the site's address, `/` when it
    /// is not set), for a page served at any depth (404).
    pub fn absolute(&mut self, base_url: &str, prefix: &str) {
        self.root = base_url.to_string();
        self.home = format!("{base_url}{prefix}");
        self.links = NavLinks {
            methodology: format!("{base_url}{prefix}methodology/"),
            data: format!("{base_url}{prefix}data/"),
            archive: format!("{base_url}{prefix}archive/"),
        };
        for a in &mut self.alternates {
            a.href = a.path.clone();
        }
    }
}

impl<'a> View<'a> {
    /// The context of a page the build writes into the earlier snapshot `date`, at
    /// `archive/<date>/<lang>/index.html` (a thinned date's page): its links from that depth,
    /// its other languages' versions, and `date` in its header and banner; no citation.
    pub fn snapshot_base(&self, lang: &'a Lang, date: &str, title: String) -> Base<'a> {
        let mut base = self.base(lang, "index.html", title.clone(), title);
        let at = |prefix: &str| format!("archive/{date}/{prefix}index.html");
        let path = at(&lang.prefix);
        let root = rel_root(&path);
        let words =
            crate::time::parse_as_of(date).map_or_else(|_| date.to_string(), |t| lang.date(t));
        base.snapshot_text = lang.t("snapshot_banner", &[("date", &words)]);
        base.as_of_text = lang.t("as_of", &[("date", &words)]);
        base.url = pretty(self.address(), &path);
        base.home = format!("{root}{}index.html", lang.prefix);
        base.links = NavLinks {
            methodology: format!("{root}{}methodology/index.html", lang.prefix),
            data: format!("{root}{}data/index.html", lang.prefix),
            archive: format!("{root}{}archive/index.html", lang.prefix),
        };
        for (a, l) in base.alternates.iter_mut().zip(self.langs) {
            a.href = format!("{root}{}", at(&l.prefix));
            a.url = pretty(self.address(), &at(&l.prefix));
            a.path = pretty(&self.base_path(), &at(&l.prefix));
        }
        base.root = root;
        base.cite = false;
        base
    }
}

impl<'a> View<'a> {
    /// The site's public address (`base_url`), or `/` when it is not set: addresses are then
    /// paths from the site's root.
    pub fn address(&self) -> &'a str {
        if self.config.base_url.is_empty() {
            "/"
        } else {
            self.config.base_url.as_str()
        }
    }

    /// Whether a brand has a share image of its own: the ranked brands the front page shows.
    pub fn has_card(&self, b: &BrandEntry) -> bool {
        b.eligible && b.rank.is_some_and(|r| r <= self.config.leaderboard_rows)
    }

    /// The path of the site's address (`/replyrank/`), `/` when it is not set.
    pub fn base_path(&self) -> String {
        url::Url::parse(&self.config.base_url)
            .map(|u| u.path().to_string())
            .unwrap_or_else(|_| "/".into())
    }

    /// The data's credit in plain text, for the share images.
    pub fn credit_text(&self, lang: &Lang) -> String {
        let credits: Vec<String> = self
            .lb
            .sources
            .iter()
            .map(|s| match CREDITS.iter().find(|c| c.0 == s.name) {
                Some((_, credit, _, licence, _)) => format!("{credit}, {licence}"),
                None => s.name.clone(),
            })
            .collect();
        format!("{} {}", lang.t("source_label", &[]), credits.join("; "))
    }

    /// The source line under a chart: the data's credit and licence, with links, and the as-of
    /// date (HTML).
    pub fn source_line(&self, lang: &Lang) -> String {
        let credits: Vec<String> = self
            .lb
            .sources
            .iter()
            .map(|s| match CREDITS.iter().find(|c| c.0 == s.name) {
                Some((_, credit, href, licence, licence_href)) => format!(
                    "<a href=\"{href}\">{}</a> (<a href=\"{licence_href}\">{licence}</a>)",
                    escape(credit)
                ),
                None => escape(&s.name),
            })
            .collect();
        format!(
            "<p class=\"source\">{} {}. {}</p>",
            escape(&lang.t("source_label", &[])),
            credits.join(", "),
            escape(&lang.t(
                "source_by",
                &[
                    ("publisher", &self.config.publisher),
                    ("date", &lang.date(self.lb.as_of)),
                ]
            ))
        )
    }

    /// `page` is the path within a language (`brand/x/index.html`).
    pub fn base(&self, lang: &'a Lang, page: &str, title: String, description: String) -> Base<'a> {
        let path = format!("{}{page}", lang.prefix);
        let root = rel_root(&path);
        let home = format!("{root}{}index.html", lang.prefix);
        let base_url = self.address();
        let dated = pretty(&format!("{base_url}archive/{}/", self.snapshot), &path);
        let date = lang.date(self.lb.as_of);
        let version = self.lb.method.version.number().to_string();
        let sources = self
            .lb
            .sources
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let cite_text = lang.t(
            "cite_text",
            &[
                ("publisher", &self.config.publisher),
                ("title", &title),
                ("date", &date),
                ("url", &dated),
                ("sources", &sources),
                ("version", &version),
            ],
        );
        let key: String = format!(
            "{}-{}-{}",
            self.config.publisher,
            page.trim_end_matches("index.html"),
            self.snapshot
        )
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
        let bibtex = format!(
            "@misc{{{key},\n  author = {{{{{}}}}},\n  title = {{{{{title}}}}},\n  year = {{{}}},\n  note = {{As of {}; method version {version}}},\n  url = {{{dated}}}\n}}",
            self.config.publisher,
            &self.snapshot[..4],
            self.snapshot
        );
        Base {
            lang: &lang.code,
            locale: if lang.code == "fr" { "fr_FR" } else { "en_GB" },
            t: &lang.strings,
            site_title: &self.config.title,
            base_url,
            has_address: !self.config.base_url.is_empty(),
            source_line: self.source_line(lang),
            snapshot_text: lang.t("snapshot_banner", &[("date", &date)]),
            og_image: format!(
                "{base_url}{}og/{}.png",
                lang.prefix,
                page.strip_prefix("brand/")
                    .and_then(|p| p.strip_suffix("/index.html"))
                    .filter(|id| self
                        .lb
                        .brands
                        .iter()
                        .any(|b| b.id == *id && self.has_card(b)))
                    .unwrap_or("site")
            ),
            description,
            url: pretty(base_url, &path),
            links: NavLinks {
                methodology: format!("{root}{}methodology/index.html", lang.prefix),
                data: format!("{root}{}data/index.html", lang.prefix),
                archive: format!("{root}{}archive/index.html", lang.prefix),
            },
            alternates: self
                .langs
                .iter()
                .map(|l| Alternate {
                    lang: l.code.clone(),
                    name: l.t("language_name", &[]),
                    href: format!("{root}{}{page}", l.prefix),
                    url: pretty(base_url, &format!("{}{page}", l.prefix)),
                    path: pretty(&self.base_path(), &format!("{}{page}", l.prefix)),
                })
                .collect(),
            root,
            home,
            as_of_text: lang.t("as_of", &[("date", &date)]),
            cite: true,
            cite_text,
            bibtex,
            title,
        }
    }

    /// A page: `base.html`'s context plus the page's own.
    pub fn render<T: Serialize>(&self, template: &str, base: &Base, page: &T) -> Result<Vec<u8>> {
        let mut context =
            tera::Context::from_serialize(base).map_err(|e| anyhow!(tera_error(&e)))?;
        context.extend(tera::Context::from_serialize(page).map_err(|e| anyhow!(tera_error(&e)))?);
        self.file(template, &context)
    }

    /// A file from a template and its context (feeds, sitemap, text files).
    pub fn file(&self, template: &str, context: &tera::Context) -> Result<Vec<u8>> {
        self.templates
            .render(template, context)
            .map(String::into_bytes)
            .map_err(|e| anyhow!("rendering {template}: {}", tera_error(&e)))
    }

    /// From a page at `page` (within a language) to that language's root.
    pub fn lang_root(lang: &Lang, page: &str) -> String {
        format!(
            "{}{}",
            rel_root(&format!("{}{page}", lang.prefix)),
            lang.prefix
        )
    }

    /// Coverage statements of the sources behind `brands`, in `lang`: the statement the
    /// pipeline resolved (`source::coverage`), translated when it is one of the built-in
    /// wordings, else shown as written.
    pub fn coverage(&self, lang: &Lang, brands: &[&BrandEntry]) -> Vec<String> {
        let used: std::collections::BTreeSet<&str> = brands
            .iter()
            .flat_map(|b| b.sources.iter().map(String::as_str))
            .collect();
        let mut out: Vec<String> = self
            .lb
            .sources
            .iter()
            .filter(|s| used.contains(s.name.as_str()))
            .map(|s| {
                crate::source::wording_key(&s.name, &s.coverage)
                    .and_then(|k| lang.strings.get(k))
                    .unwrap_or(&s.coverage)
                    .clone()
            })
            .collect();
        // Periods a source could not be read for: said, never counted as unanswered.
        for s in self
            .lb
            .sources
            .iter()
            .filter(|s| used.contains(s.name.as_str()))
        {
            for g in &s.gaps {
                let at = |t: i64| {
                    format!(
                        "{} {}",
                        lang.date(t),
                        crate::time::format_rfc3339(t).get(11..16).unwrap_or("")
                    )
                };
                out.push(lang.t(
                    "coverage_gap",
                    &[
                        ("source", &s.name),
                        ("from", &at(g.from)),
                        ("to", &at(g.to)),
                    ],
                ));
            }
        }
        out
    }
}

/// A figure of a brand written in a language.
pub fn figure(lang: &Lang, column: &Column, b: &BrandEntry) -> String {
    written(lang, column.unit, (column.value)(b))
}

/// A number of a unit written in a language.
pub fn written(lang: &Lang, unit: Unit, value: Option<f64>) -> String {
    match (unit, value) {
        (Unit::Score, None) => lang.t("not_available", &[]),
        (Unit::Score, Some(v)) => lang.decimal(v),
        (Unit::Share, v) => lang.pct(v),
        (Unit::Seconds, v) => lang.duration(v.map(|s| s as i64)),
        (Unit::Count, v) => lang.int(v.unwrap_or(0.0) as usize),
        (Unit::Points, None) => lang.t("not_available", &[]),
        (Unit::Points, Some(v)) => {
            let n = (v * 100.0).round();
            let n = if n > 0.0 {
                format!("+{n}")
            } else if n < 0.0 {
                format!("\u{2212}{}", -n)
            } else {
                "0".to_string()
            };
            lang.t("unit_points", &[("n", &n)])
        }
    }
}

/// A column's 95% interval written in a language (`95% interval: 95.7–99.7`), where it has one.
pub fn interval(lang: &Lang, column: &Column, b: &BrandEntry) -> Option<String> {
    let [lo, hi] = (column.interval.as_ref()?.get)(b)?;
    let w = |x: f64| written(lang, column.unit, Some(x));
    Some(lang.t("score_interval", &[("lo", &w(lo)), ("hi", &w(hi))]))
}
