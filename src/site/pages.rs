//! The site's other pages: methodology, data downloads and 404.

use anyhow::Result;
use serde::Serialize;

use super::lang::Lang;
use super::view::{View, rel_root};

#[derive(Serialize)]
struct BodyPage {
    body: String,
}

#[derive(Serialize)]
struct DataPage {
    brands: Vec<DataLink>,
}

#[derive(Serialize)]
struct DataLink {
    id: String,
    href: String,
}

#[derive(Serialize)]
struct Empty {}

impl View<'_> {
    pub fn methodology_page(&self, lang: &Lang) -> Result<Vec<u8>> {
        let page = "methodology/index.html";
        let title = self.methodology.title.clone();
        let base = self.base(lang, page, title, lang.t("tagline", &[]));
        let body = BodyPage {
            body: self.methodology.html.clone(),
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
        self.render("data.html", &base, &DataPage { brands })
    }

    /// The 404 page is served at any depth: its links are absolute.
    pub fn not_found_page(&self, lang: &Lang) -> Result<Vec<u8>> {
        let title = lang.t("not_found_title", &[]);
        let mut base = self.base(lang, "404.html", title, lang.t("not_found_text", &[]));
        base.absolute(&self.config.base_url, &lang.prefix);
        self.render("404.html", &base, &Empty {})
    }
}
