//! The brand registry, `data/brands.toml`: which brands exist and which accounts are theirs.
//!
//! A post is brand-authored when its author is one of these accounts (matched without regard to
//! case); every other author is a customer. Errors name the file, line and key.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{line_of, toml_error};
use crate::root::SiteRoot;
use crate::source::Network;

#[derive(Clone, Debug, Serialize)]
pub struct Brand {
    pub id: String,
    pub name: String,
    pub category: String,
    pub country: String,
    pub timezone: String,
    pub accounts: Accounts,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    #[serde(default)]
    pub twitter: Vec<String>,
    #[serde(default)]
    pub bluesky: Vec<String>,
    #[serde(default)]
    pub mastodon: Vec<String>,
}

impl Accounts {
    pub fn on(&self, network: Network) -> &[String] {
        match network {
            Network::Twitter => &self.twitter,
            Network::Bluesky => &self.bluesky,
            Network::Mastodon => &self.mastodon,
            Network::None => &[],
        }
    }
}

/// The brands, in file order, with lookups by id and by (network, lowercase handle).
#[derive(Debug, Default)]
pub struct Registry {
    pub brands: Vec<Brand>,
    by_id: HashMap<String, usize>,
    /// Lowercase handle → brand, one map per network (Twitter, Bluesky, Mastodon).
    by_account: [FxHashMap<String, usize>; 3],
}

fn slot(network: Network) -> Option<usize> {
    match network {
        Network::Twitter => Some(0),
        Network::Bluesky => Some(1),
        Network::Mastodon => Some(2),
        Network::None => None,
    }
}

/// Looks `s` up in `map` ignoring ASCII case, without allocating for short handles.
fn get_ignore_case<'m, V>(map: &'m FxHashMap<String, V>, s: &str) -> Option<&'m V> {
    if !s.bytes().any(|b| b.is_ascii_uppercase()) {
        return map.get(s);
    }
    let mut buf = [0u8; 64];
    if s.len() <= buf.len() {
        buf[..s.len()].copy_from_slice(s.as_bytes());
        buf[..s.len()].make_ascii_lowercase();
        map.get(std::str::from_utf8(&buf[..s.len()]).expect("ASCII case change keeps UTF-8"))
    } else {
        map.get(&s.to_ascii_lowercase())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    brand: Vec<Spanned<RawBrand>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrand {
    id: Spanned<String>,
    name: String,
    category: Spanned<String>,
    country: Spanned<String>,
    timezone: Spanned<String>,
    accounts: Option<Spanned<Accounts>>,
}

impl Registry {
    pub fn load(root: &SiteRoot) -> Result<Registry> {
        let path = root.registry();
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read the brand registry {} (every site root needs one; see README.md)",
                path.display()
            )
        })?;
        Registry::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, file: &str) -> Result<Registry> {
        let raw: File = toml::from_str(text).map_err(|e| toml_error(file, text, &e))?;
        let mut registry = Registry::default();
        let at = |span: std::ops::Range<usize>| format!("{file}:{}", line_of(text, span.start));
        for b in raw.brand {
            let (span, b) = (b.span(), b.into_inner());
            let id = b.id.get_ref();
            if !is_slug(id) {
                bail!(
                    "{}: brand id {id:?} must be a slug: lowercase letters, digits and single '-'",
                    at(b.id.span())
                );
            }
            if registry.by_id.contains_key(id) {
                bail!("{}: brand id {id:?} is used twice", at(b.id.span()));
            }
            let cat = b.category.get_ref();
            if !is_slug(cat) {
                bail!(
                    "{}: category {cat:?} of {id:?} must be a lowercase slug such as \"airline\"",
                    at(b.category.span())
                );
            }
            let cc = b.country.get_ref();
            if cc.len() != 2 || !cc.bytes().all(|c| c.is_ascii_uppercase()) {
                bail!(
                    "{}: country {cc:?} of {id:?} must be an ISO 3166 two-letter code such as \"US\"",
                    at(b.country.span())
                );
            }
            let tz = b.timezone.get_ref();
            if jiff::tz::TimeZone::get(tz).is_err() {
                bail!(
                    "{}: timezone {tz:?} of {id:?} is not an IANA time zone (e.g. \"America/Chicago\")",
                    at(b.timezone.span())
                );
            }
            let idx = registry.brands.len();
            let (accounts_span, accounts) = match b.accounts {
                Some(a) => (a.span(), a.into_inner()),
                None => (span.clone(), Accounts::default()),
            };
            for net in [Network::Twitter, Network::Bluesky, Network::Mastodon] {
                for handle in accounts.on(net) {
                    let h = handle.trim_start_matches('@');
                    if h.is_empty() || h.contains(char::is_whitespace) {
                        bail!(
                            "{}: account {handle:?} of {id:?} is not a handle",
                            at(accounts_span.clone())
                        );
                    }
                    let map = &mut registry.by_account[slot(net).expect("a network")];
                    if let Some(&other) = map.get(&h.to_ascii_lowercase()) {
                        bail!(
                            "{}: account {handle:?} of {id:?} already belongs to {:?}",
                            at(accounts_span.clone()),
                            registry.brands[other].id
                        );
                    }
                    map.insert(h.to_ascii_lowercase(), idx);
                }
            }
            registry.by_id.insert(id.clone(), idx);
            registry.brands.push(Brand {
                id: b.id.into_inner(),
                name: b.name,
                category: b.category.into_inner(),
                country: b.country.into_inner(),
                timezone: b.timezone.into_inner(),
                accounts,
            });
        }
        Ok(registry)
    }

    pub fn by_id(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Brand-like names a post shows that the registry does not know: its author when the
    /// source flags it as a company account (`inbound = false`) and no brand owns it, and any
    /// brand id the post names (`brand`, `to_brand`) that is not registered. Such names are
    /// reported by name and count, never silently dropped.
    pub fn unknown_names<'p>(
        &self,
        network: Network,
        author: &'p str,
        inbound: Option<bool>,
        brand_ids: [Option<&'p str>; 2],
    ) -> impl Iterator<Item = &'p str> {
        let author = (inbound == Some(false)
            && !author.is_empty()
            && self.by_account(network, author).is_none())
        .then_some(author);
        let ids = brand_ids
            .into_iter()
            .flatten()
            .filter(|id| self.by_id(id).is_none());
        author.into_iter().chain(ids.collect::<Vec<_>>())
    }

    /// The brand owning `handle` on `network`, ignoring ASCII case and a leading `@`.
    pub fn by_account(&self, network: Network, handle: &str) -> Option<usize> {
        let map = &self.by_account[slot(network)?];
        get_ignore_case(map, handle.trim_start_matches('@')).copied()
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[brand]]
id = "american-airlines"
name = "American Airlines"
category = "airline"
country = "US"
timezone = "America/Chicago"
[brand.accounts]
twitter = ["AmericanAir"]
"#;

    #[test]
    fn reads_brand_and_matches_accounts_without_case() {
        let r = Registry::parse(ONE, "brands.toml").unwrap();
        assert_eq!(r.brands.len(), 1);
        assert_eq!(r.by_account(Network::Twitter, "americanair"), Some(0));
        assert_eq!(r.by_account(Network::Twitter, "@AMERICANAIR"), Some(0));
        assert_eq!(r.by_account(Network::Bluesky, "AmericanAir"), None);
        assert_eq!(r.by_id("american-airlines"), Some(0));
    }

    #[test]
    fn errors_name_key_and_line() {
        let bad = ONE.replace("America/Chicago", "America/Chicag");
        let e = Registry::parse(&bad, "brands.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("brands.toml:7:") && e.contains("timezone"),
            "{e}"
        );
        let bad = ONE.replace("country = \"US\"", "country = \"US\"\ncolour = \"red\"");
        let e = Registry::parse(&bad, "brands.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("brands.toml:7:") && e.contains("colour"),
            "{e}"
        );
        let twice = format!("{ONE}{}", ONE.replace("American Airlines", "AA2"));
        let e = Registry::parse(&twice, "brands.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("brands.toml:12:") && e.contains("used twice"),
            "{e}"
        );
        let bad = ONE.replace("american-airlines", "American Airlines");
        let e = Registry::parse(&bad, "brands.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("brands.toml:3:") && e.contains("slug"), "{e}");
    }
}
