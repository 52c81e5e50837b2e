//! The site's other pages: methodology, data downloads and 404.

use anyhow::Result;
use serde::Serialize;

use super::lang::Lang;
use super::view::{View, rel_root};

#[derive(Serialize)]
struct BodyPage {
    body: String,
    /// The leaderboard's data-quality counts (the JSON's `data_quality`), as a table.
    quality: Vec<(String, String)>,
}

#[derive(Serialize)]
struct DataPage {
    brands: Vec<DataLink>,
    /// The figure columns of the downloads, described in the page's language.
    columns: Vec<(&'static str, String)>,
}

#[derive(Serialize)]
struct DataLink {
    id: String,
    href: String,
}

impl View<'_> {
    pub fn methodology_page(&self, lang: &Lang) -> Result<Vec<u8>> {
        let page = "methodology/index.html";
        let title = self.methodology.title.clone();
        let base = self.base(lang, page, title, lang.t("tagline", &[]));
        let quality = serde_json::to_value(&self.lb.data_quality)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k, lang.int(v.as_u64()? as usize))))
            .collect();
        let body = BodyPage {
            body: self.methodology.html.clone(),
            quality,
        };
        self.render("page.html", &base, &body)
    }

    pub fn data_page(&self, lang: &Lang) -> Result<Vec<u8>> {
        let page = "data/index.html";
        let title = lang.t("data_title", &[]);
        let base = self.base(lang, page, title, lang.t("data_lead", &[]));
        let root = rel_root(&format!("{}{page}", lang.prefix));
        let brands = self
            .lb
            .brands
            .iter()
            .map(|b| DataLink {
                id: b.id.clone(),
                href: format!("{root}data/brands/{}.json", b.id),
            })
            .collect();
        let columns = crate::columns::of(self.lb.method.version)
            .map(|c| (c.key, lang.t(&format!("doc_{}", c.key), &[])))
            .collect();
        self.render("data.html", &base, &DataPage { brands, columns })
    }

    /// The 404 page is served at any depth: its links are absolute. It knows the archive's
    /// thinned dates, and site.js sends their deep links to the nearest snapshot kept whole.
    pub fn not_found_page<T: Serialize>(&self, lang: &Lang, archive: &T) -> Result<Vec<u8>> {
        let title = lang.t("not_found_title", &[]);
        let mut base = self.base(lang, "404.html", title, lang.t("not_found_text", &[]));
        base.absolute(&self.base_path(), &lang.prefix);
        base.cite = false;
        self.render("404.html", &base, archive)
    }
}
