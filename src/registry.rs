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
    name: Spanned<String>,
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
            if !is_slug(id) || is_device_name(id) {
                bail!(
                    "{}: brand id {:?} must be a slug of at most {MAX_SLUG} characters: lowercase \
                     letters, digits and single '-', and not a device name such as con or nul \
                     (it names files and folders of the site)",
                    at(b.id.span()),
                    shorten(id)
                );
            }
            if registry.by_id.contains_key(id) {
                bail!("{}: brand id {id:?} is used twice", at(b.id.span()));
            }
            let name = b.name.get_ref();
            if let Err(e) = check_text(name) {
                bail!("{}: name of {id:?} {e}", at(b.name.span()));
            }
            let cat = b.category.get_ref();
            if !is_slug(cat) || is_device_name(cat) {
                bail!(
                    "{}: category {:?} of {id:?} must be a lowercase slug of at most {MAX_SLUG} \
                     characters such as \"airline\"",
                    at(b.category.span()),
                    shorten(cat)
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
                    if h.is_empty()
                        || h.len() > 256
                        || h.contains(char::is_whitespace)
                        || check_text(h).is_err()
                    {
                        bail!(
                            "{}: account {:?} of {id:?} is not a handle",
                            at(accounts_span.clone()),
                            shorten(handle)
                        );
                    }
                    let map = &mut registry.by_account[slot(net).expect("a network")];
                    if let Some(&other) = map.get(&h.to_ascii_lowercase()) {
                        if other == idx {
                            bail!(
                                "{}: account {handle:?} of {id:?} is listed twice (handles are \
                                 matched without case and without '@'); keep one",
                                at(accounts_span.clone())
                            );
                        }
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
                name: b.name.into_inner(),
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
    /// Accounts and brand ids the data names that the registry lacks (`name` → posts), as one
    /// line for the terminal: `not in data/brands.toml, so not scored as brands: a (2), b (1)`.
    pub fn describe_unregistered(
        names: &std::collections::BTreeMap<String, usize>,
    ) -> Option<String> {
        (!names.is_empty()).then(|| {
            let list: Vec<String> = names.iter().map(|(a, n)| format!("{a} ({n})")).collect();
            format!(
                "{} account(s) not in {}, so not scored as brands: {}",
                list.len(),
                crate::root::REGISTRY,
                list.join(", ")
            )
        })
    }

    /// Whether a post was written by a brand: the source says so (`brand`, or `inbound`
    /// false), or its author is a registered account.
    pub fn wrote(&self, p: &crate::post::Post) -> bool {
        p.brand.is_some()
            || p.inbound == Some(false)
            || self
                .by_account(crate::source::network(&p.source), &p.author)
                .is_some()
    }

    pub fn by_account(&self, network: Network, handle: &str) -> Option<usize> {
        let map = &self.by_account[slot(network)?];
        get_ignore_case(map, handle.trim_start_matches('@')).copied()
    }
}

/// The longest brand id or category: they name files and folders of the site.
pub const MAX_SLUG: usize = 64;

/// The longest brand name, in characters.
const MAX_NAME: usize = 200;

/// Names Windows reserves for devices, in any folder: never used as a file or folder name.
fn is_device_name(s: &str) -> bool {
    matches!(s, "con" | "prn" | "aux" | "nul")
        || ((s.starts_with("com") || s.starts_with("lpt"))
            && s.len() == 4
            && s.as_bytes()[3].is_ascii_digit())
}

/// A text shown on the site (a brand's name): not empty, not too long, and free of control
/// characters and of the bidirectional overrides that can make a page read otherwise.
fn check_text(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("is empty".into());
    }
    if s.chars().count() > MAX_NAME {
        return Err(format!("is longer than {MAX_NAME} characters"));
    }
    if let Some(c) = s.chars().find(|&c| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Err(format!(
            "holds the invisible character U+{:04X} (a control or text-direction character); \
             remove it",
            c as u32
        ));
    }
    Ok(())
}

/// A possibly huge value cut for an error message.
fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(80).collect::<String>())
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG
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

    fn error(text: &str) -> String {
        Registry::parse(text, "brands.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn same_handle_twice_in_one_brand_is_an_error_not_a_panic() {
        let e = error(&ONE.replace("[\"AmericanAir\"]", "[\"AmericanAir\", \"@americanair\"]"));
        assert!(
            e.starts_with("brands.toml:8:") && e.contains("listed twice"),
            "{e}"
        );
    }

    #[test]
    fn brand_ids_are_bounded_slugs_and_not_device_names() {
        let long = "a".repeat(10_000);
        let e = error(&ONE.replace("american-airlines", &long));
        assert!(
            e.starts_with("brands.toml:3:") && e.contains("at most 64"),
            "{e}"
        );
        assert!(e.len() < 400, "the id is cut in the message: {e}");
        assert!(Registry::parse(&ONE.replace("american-airlines", &"a".repeat(64)), "b").is_ok());
        for device in ["con", "nul", "aux", "prn", "com1", "lpt9"] {
            let e = error(&ONE.replace("american-airlines", device));
            assert!(e.contains("device name"), "{device}: {e}");
        }
        assert!(Registry::parse(&ONE.replace("american-airlines", "console"), "b").is_ok());
    }

    #[test]
    fn names_with_control_or_bidi_override_characters_are_rejected() {
        for bad in [
            "American\\u202EAirlines",
            "American\\u0007",
            "A\\u2066B",
            " ",
        ] {
            let e = error(&ONE.replace("American Airlines", bad));
            assert!(
                e.starts_with("brands.toml:4:") && e.contains("name of"),
                "{bad}: {e}"
            );
        }
        let e = error(&ONE.replace("\"AmericanAir\"", "\"American\\u202EAir\""));
        assert!(
            e.starts_with("brands.toml:8:") && e.contains("not a handle"),
            "{e}"
        );
        assert!(
            Registry::parse(&ONE.replace("American Airlines", "Café Zürich — ĀĒ"), "b").is_ok()
        );
    }
}
