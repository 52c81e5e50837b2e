//! The brand registry, `data/brands.toml`: which brands exist and which accounts are theirs.
//!
//! A post is brand-authored when its author is one of these accounts (matched without regard to
//! case); every other author is a customer. Errors name the file, line and key.
//!
//! An account is written in one of two forms, which may be mixed in one list:
//!
//! ```toml
//! [brand.accounts]
//! twitter = [
//!     "AmericanAir",                                   # the old form: a bare handle
//!     { handle = "AmericanAir", source = "https://…", since = "2026-11-30" },
//!     { handle = "OldHandle", source = "https://…", historical = "https://…" },
//! ]
//! ```
//!
//! A table names where the account was found (`source`, an http(s) URL: required), optionally
//! the day it was listed (`since`, `YYYY-MM-DD`) and, for an account that no longer exists or
//! moved, a URL saying so (`historical`). A historical account still identifies the brand's
//! posts in stored data, but `collect` does not ask the network for it
//! ([`Accounts::collected`]). A bare handle has no source of its own: the file's top-level
//! `bare_handles_source` says where all of them were found (the shipped file: the 2017 TWCS
//! dataset). New accounts are written as tables.
//!
//! Loading checks the form; [`Registry::handle_problems`] (run by `replyrank check`) checks each
//! handle's syntax on its network: X `1–15` of `[A-Za-z0-9_]`; Bluesky a domain handle (atproto
//! handle spec) or a `did:plc:`/`did:web:` DID; Mastodon `user@instance.domain`.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config::{line_of, toml_error};
use crate::root::SiteRoot;
use crate::source::Network;

/// The networks whose accounts a registry lists, in file order of the keys.
pub const NETWORKS: [Network; 3] = [Network::Twitter, Network::Bluesky, Network::Mastodon];

#[derive(Clone, Debug, Serialize)]
pub struct Brand {
    pub id: String,
    pub name: String,
    pub category: String,
    pub country: String,
    pub timezone: String,
    /// When its support team works (default Mon–Fri 09:00–18:00 local time).
    #[serde(skip)]
    pub office_hours: crate::grievance::OfficeHours,
    pub accounts: Accounts,
}

/// A brand's accounts per network, as written (a leading `@` kept), historical ones included:
/// they still identify the brand's posts in stored data. `info` holds what the registry says
/// of each, in the same order (Twitter's, then Bluesky's, then Mastodon's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Accounts {
    pub twitter: Vec<String>,
    pub bluesky: Vec<String>,
    pub mastodon: Vec<String>,
    pub info: Vec<Account>,
}

/// One account of a brand and what the registry says of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Account {
    pub network: Network,
    pub handle: String,
    /// Where the account was found: its own `source`, else the file's `bare_handles_source`.
    pub source: Option<String>,
    /// The day it was listed (`YYYY-MM-DD`), when given.
    pub since: Option<String>,
    /// A URL saying the account no longer exists or moved: not collected.
    pub historical: Option<String>,
    /// Where it is written (1-based line of the registry file).
    pub line: usize,
}

impl Accounts {
    /// Every handle on `network`, historical ones included (for matching authors).
    pub fn on(&self, network: Network) -> &[String] {
        match network {
            Network::Twitter => &self.twitter,
            Network::Bluesky => &self.bluesky,
            Network::Mastodon => &self.mastodon,
            Network::None => &[],
        }
    }

    /// The handles on `network` that `collect` asks the network about: all but historical ones.
    pub fn collected(&self, network: Network) -> impl Iterator<Item = &str> {
        self.info
            .iter()
            .filter(move |a| a.network == network && a.historical.is_none())
            .map(|a| a.handle.as_str())
    }
}

/// The brands, in file order, with lookups by id and by (network, lowercase handle).
#[derive(Debug, Default)]
pub struct Registry {
    pub brands: Vec<Brand>,
    /// The file it was read from, as errors name it.
    pub file: String,
    /// A hash of the file's bytes: the store's index (`crate::corpus`) is of this registry.
    pub fingerprint: u64,
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
    bare_handles_source: Option<Spanned<String>>,
    #[serde(default)]
    brand: Vec<RawBrand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrand {
    id: Spanned<String>,
    name: Spanned<String>,
    category: Spanned<String>,
    country: Spanned<String>,
    timezone: Spanned<String>,
    #[serde(default)]
    office_hours: Option<Spanned<String>>,
    accounts: Option<Spanned<RawAccounts>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccounts {
    #[serde(default)]
    twitter: Vec<Spanned<RawAccount>>,
    #[serde(default)]
    bluesky: Vec<Spanned<RawAccount>>,
    #[serde(default)]
    mastodon: Vec<Spanned<RawAccount>>,
}

/// An account as written: a bare handle (the old form) or a table.
enum RawAccount {
    Bare(String),
    Table(AccountTable),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountTable {
    handle: String,
    source: String,
    since: Option<String>,
    historical: Option<String>,
}

impl<'de> Deserialize<'de> for RawAccount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawAccount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a handle, or a table { handle = \"…\", source = \"https://…\" } \
                     (optional: since = \"YYYY-MM-DD\", historical = \"https://…\")",
                )
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RawAccount, E> {
                Ok(RawAccount::Bare(s.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawAccount, A::Error> {
                AccountTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawAccount::Table)
            }
        }
        d.deserialize_any(Visitor)
    }
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
        let mut registry = Registry {
            file: file.to_string(),
            fingerprint: xxhash_rust::xxh3::xxh3_64(text.as_bytes()),
            ..Registry::default()
        };
        let bare_source = match raw.bare_handles_source {
            Some(url) => {
                if let Err(e) = check_source_url(url.get_ref()) {
                    bail!(
                        "{file}:{}: bare_handles_source {:?} {e}",
                        line_of(text, url.span().start),
                        shorten(url.get_ref())
                    );
                }
                Some(url.into_inner())
            }
            None => None,
        };
        let at = |span: std::ops::Range<usize>| format!("{file}:{}", line_of(text, span.start));
        for b in raw.brand {
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
            let office_hours = match &b.office_hours {
                None => crate::grievance::OfficeHours::default(),
                Some(h) => crate::grievance::OfficeHours::parse(h.get_ref()).map_err(|e| {
                    anyhow::anyhow!("{}: office_hours of {id:?}: {e}", at(h.span()))
                })?,
            };
            let idx = registry.brands.len();
            let raw_accounts = b.accounts.map(Spanned::into_inner).unwrap_or_default();
            let mut accounts = Accounts::default();
            for (net, list) in NETWORKS.into_iter().zip([
                raw_accounts.twitter,
                raw_accounts.bluesky,
                raw_accounts.mastodon,
            ]) {
                for entry in list {
                    let line = line_of(text, entry.span().start);
                    let at = format!("{file}:{line}");
                    let account = match entry.into_inner() {
                        RawAccount::Bare(handle) => Account {
                            network: net,
                            handle,
                            source: bare_source.clone(),
                            since: None,
                            historical: None,
                            line,
                        },
                        RawAccount::Table(t) => {
                            for (key, url) in [
                                ("source", Some(&t.source)),
                                ("historical", t.historical.as_ref()),
                            ] {
                                if let Some(url) = url
                                    && let Err(e) = check_source_url(url)
                                {
                                    bail!("{at}: {key} {:?} of {id:?} {e}", shorten(url));
                                }
                            }
                            if let Some(day) = &t.since
                                && !is_day(day)
                            {
                                bail!(
                                    "{at}: since {:?} of {id:?} must be a day written YYYY-MM-DD \
                                     (the day the account was listed)",
                                    shorten(day)
                                );
                            }
                            Account {
                                network: net,
                                handle: t.handle,
                                source: Some(t.source),
                                since: t.since,
                                historical: t.historical,
                                line,
                            }
                        }
                    };
                    let handle = &account.handle;
                    let h = handle.trim_start_matches('@');
                    if h.is_empty()
                        || h.len() > 256
                        || h.contains(char::is_whitespace)
                        || check_text(h).is_err()
                    {
                        bail!(
                            "{at}: account {:?} of {id:?} is not a handle",
                            shorten(handle)
                        );
                    }
                    let map = &mut registry.by_account[slot(net).expect("a network")];
                    if let Some(&other) = map.get(&h.to_ascii_lowercase()) {
                        if other == idx {
                            bail!(
                                "{at}: account {handle:?} of {id:?} is listed twice (handles are \
                                 matched without case and without '@'); keep one"
                            );
                        }
                        bail!(
                            "{at}: account {handle:?} of {id:?} already belongs to {:?}",
                            registry.brands[other].id
                        );
                    }
                    map.insert(h.to_ascii_lowercase(), idx);
                    match net {
                        Network::Twitter => accounts.twitter.push(handle.clone()),
                        Network::Bluesky => accounts.bluesky.push(handle.clone()),
                        _ => accounts.mastodon.push(handle.clone()),
                    }
                    accounts.info.push(account);
                }
            }
            registry.by_id.insert(id.clone(), idx);
            registry.brands.push(Brand {
                id: b.id.into_inner(),
                name: b.name.into_inner(),
                category: b.category.into_inner(),
                country: b.country.into_inner(),
                timezone: b.timezone.into_inner(),
                office_hours,
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

/// Why `url` cannot be an account's `source` or `historical` URL, if it cannot: an absolute
/// http(s) URL with a host and no spaces or control characters.
fn check_source_url(url: &str) -> std::result::Result<(), String> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("contains a space or control character".into());
    }
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => {
            Err("must be an absolute http:// or https:// URL (where the account was found)".into())
        }
    }
}

/// A calendar day written `YYYY-MM-DD`.
fn is_day(s: &str) -> bool {
    s.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", s).is_ok()
}

impl Registry {
    /// Every account whose handle is not of its network's syntax, as `file:line: …` lines
    /// (what `replyrank check` reports). Loading does not check this, so that a registry
    /// with a handle from another network's habits still builds.
    pub fn handle_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for b in &self.brands {
            for a in &b.accounts.info {
                if let Err(e) = check_handle(a.network, &a.handle) {
                    problems.push(format!(
                        "{}:{}: {} account {:?} of {:?} {e}",
                        self.file,
                        a.line,
                        network_name(a.network),
                        shorten(&a.handle),
                        b.id
                    ));
                }
            }
        }
        problems
    }

    /// How many accounts have no source: bare handles in a file without `bare_handles_source`.
    pub fn unsourced(&self) -> usize {
        self.brands
            .iter()
            .flat_map(|b| &b.accounts.info)
            .filter(|a| a.source.is_none())
            .count()
    }
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::Twitter => "X",
        Network::Bluesky => "Bluesky",
        Network::Mastodon => "Mastodon",
        Network::None => "",
    }
}

/// Whether `handle` (a leading `@` allowed) is of `network`'s syntax; the error says what is
/// expected.
pub fn check_handle(network: Network, handle: &str) -> std::result::Result<(), String> {
    let h = handle.strip_prefix('@').unwrap_or(handle);
    match network {
        Network::Twitter => {
            if (1..=15).contains(&h.len())
                && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                Ok(())
            } else {
                Err(
                    "is not an X handle: 1 to 15 letters A-Z, digits and '_', without the \
                     network's address (e.g. \"AmericanAir\")"
                        .into(),
                )
            }
        }
        Network::Bluesky => {
            if let Some(rest) = h.strip_prefix("did:") {
                return check_did(rest);
            }
            check_domain(h).map_err(|e| {
                format!(
                    "is not a Bluesky handle: {e} (a handle is a domain such as \
                     \"brand.bsky.social\", per https://atproto.com/specs/handle; or write the \
                     account's DID, \"did:plc:…\")"
                )
            })?;
            let lower = h.to_ascii_lowercase();
            if let Some(tld) = DISALLOWED_TLDS.iter().find(|t| lower.ends_with(*t)) {
                return Err(format!(
                    "is not a Bluesky handle: the top-level domain {tld} cannot be registered \
                     on the network"
                ));
            }
            Ok(())
        }
        Network::Mastodon => {
            let expected = "(write it user@instance.domain, e.g. \"support@mastodon.social\")";
            let Some((user, instance)) = h.split_once('@') else {
                return Err(format!(
                    "is not a Mastodon account: it names no instance {expected}"
                ));
            };
            if !is_mastodon_user(user) {
                return Err(format!(
                    "is not a Mastodon account: the user {user:?} must be letters, digits and \
                     '_' (and '.' or '-' inside) {expected}"
                ));
            }
            check_domain(instance).map_err(|e| {
                format!("is not a Mastodon account: the instance {instance:?} {e} {expected}")
            })
        }
        Network::None => Err("names no network".into()),
    }
}

/// Top-level domains atproto does not let a handle be registered under
/// (`DISALLOWED_TLDS` of @bluesky-social/syntax); `.test` is allowed for testing.
const DISALLOWED_TLDS: [&str; 8] = [
    ".local",
    ".arpa",
    ".invalid",
    ".localhost",
    ".internal",
    ".example",
    ".alt",
    ".onion",
];

/// A DNS host name of at least two labels: ASCII letters, digits and '-' (not at a label's
/// ends), 1–63 characters a label, at most 253 in all, the last label not starting with a
/// digit.
fn check_domain(h: &str) -> std::result::Result<(), String> {
    if h.is_empty() || h.len() > 253 {
        return Err("must be 1 to 253 characters".into());
    }
    let labels: Vec<&str> = h.split('.').collect();
    if labels.len() < 2 {
        return Err("must be a domain of at least two parts separated by '.'".into());
    }
    for l in &labels {
        if l.is_empty()
            || l.len() > 63
            || l.starts_with('-')
            || l.ends_with('-')
            || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(format!(
                "has the part {:?}: each part is 1 to 63 letters, digits and '-' (not first or last)",
                shorten(l)
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()))
    {
        return Err("ends in a top-level domain starting with a digit".into());
    }
    Ok(())
}

/// A DID after `did:`: `plc:` and 24 base32 characters, or `web:` and a host name.
fn check_did(rest: &str) -> std::result::Result<(), String> {
    if let Some(id) = rest.strip_prefix("plc:") {
        if id.len() == 24 && id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')) {
            return Ok(());
        }
        return Err("is not a did:plc: 24 characters a-z and 2-7 follow \"did:plc:\"".into());
    }
    if let Some(host) = rest.strip_prefix("web:") {
        return check_domain(host).map_err(|e| format!("is not a did:web: the host {e}"));
    }
    Err("is a DID of a method Bluesky does not use: write did:plc:… or did:web:…".into())
}

/// A Mastodon user name: letters, digits and '_', with '.' or '-' allowed inside
/// (Mastodon's `USERNAME_RE`).
fn is_mastodon_user(u: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let (Some(&first), Some(&last)) = (u.as_bytes().first(), u.as_bytes().last()) else {
        return false;
    };
    word(first) && word(last) && u.bytes().all(|b| word(b) || b == b'.' || b == b'-')
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
            e.starts_with("brands.toml:9:") && e.contains("listed twice"),
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
            e.starts_with("brands.toml:9:") && e.contains("not a handle"),
            "{e}"
        );
        assert!(
            Registry::parse(&ONE.replace("American Airlines", "Café Zürich — ĀĒ"), "b").is_ok()
        );
    }

    const TABLES: &str = r#"
[[brand]]
id = "sncf"
name = "SNCF"
category = "transport"
country = "FR"
timezone = "Europe/Paris"
[brand.accounts]
twitter = [
    "SNCF",
    { handle = "SNCFConnect", source = "https://example.org/contact", since = "2026-11-30" },
    { handle = "OldSNCF", source = "https://example.org/2017", historical = "https://example.org/moved" },
]
bluesky = [{ handle = "sncf.bsky.social", source = "https://example.org/bsky" }]
mastodon = [{ handle = "sncf@mastodon.social", source = "https://example.org/masto" }]
"#;

    #[test]
    fn account_tables_and_bare_handles_mix_and_keep_their_sources_and_lines() {
        let text = format!("bare_handles_source = \"https://example.org/twcs\"\n{TABLES}");
        let r = Registry::parse(&text, "brands.toml").unwrap();
        let info = &r.brands[0].accounts.info;
        assert_eq!(info.len(), 5);
        assert_eq!(info[0].handle, "SNCF");
        assert_eq!(info[0].source.as_deref(), Some("https://example.org/twcs"));
        assert_eq!(info[0].line, 11);
        assert_eq!(
            info[1].source.as_deref(),
            Some("https://example.org/contact")
        );
        assert_eq!(info[1].since.as_deref(), Some("2026-11-30"));
        assert_eq!(info[1].line, 12);
        assert_eq!(info[3].network, Network::Bluesky);
        assert_eq!(info[3].line, 15);
        assert_eq!(
            r.brands[0].accounts.on(Network::Twitter),
            ["SNCF", "SNCFConnect", "OldSNCF"]
        );
        assert_eq!(r.unsourced(), 0);
        assert!(r.handle_problems().is_empty(), "{:?}", r.handle_problems());
        // Without bare_handles_source, the bare handle (the old form) still loads, unsourced.
        let r = Registry::parse(TABLES, "brands.toml").unwrap();
        assert_eq!(r.unsourced(), 1);
    }

    #[test]
    fn historical_accounts_identify_posts_but_are_not_collected() {
        let r = Registry::parse(TABLES, "brands.toml").unwrap();
        assert_eq!(r.by_account(Network::Twitter, "oldsncf"), Some(0));
        let collected: Vec<&str> = r.brands[0].accounts.collected(Network::Twitter).collect();
        assert_eq!(collected, ["SNCF", "SNCFConnect"]);
        let collected: Vec<&str> = r.brands[0].accounts.collected(Network::Mastodon).collect();
        assert_eq!(collected, ["sncf@mastodon.social"]);
    }

    #[test]
    fn a_table_account_without_a_source_is_an_error_naming_its_line() {
        let e = error(&TABLES.replace(", source = \"https://example.org/bsky\"", ""));
        assert!(
            e.starts_with("brands.toml:14:") && e.contains("missing field `source`"),
            "{e}"
        );
        let e = error(&TABLES.replace("https://example.org/contact", "example.org/contact"));
        assert!(
            e.starts_with("brands.toml:11:") && e.contains("source \"example.org/contact\""),
            "{e}"
        );
        let e = error(&TABLES.replace("https://example.org/moved", "moved"));
        assert!(
            e.starts_with("brands.toml:12:") && e.contains("historical"),
            "{e}"
        );
        let e = error(&TABLES.replace("2026-11-30", "30/11/2026"));
        assert!(
            e.starts_with("brands.toml:11:") && e.contains("YYYY-MM-DD"),
            "{e}"
        );
        let e = error(&TABLES.replace("since = ", "seen = "));
        assert!(
            e.starts_with("brands.toml:11:") && e.contains("seen"),
            "{e}"
        );
        let e = error(&format!("bare_handles_source = \"twcs\"\n{TABLES}"));
        assert!(
            e.starts_with("brands.toml:1:") && e.contains("bare_handles_source"),
            "{e}"
        );
        let e = error(&TABLES.replace(
            "\"SNCF\",",
            "\"SNCF\", { handle = \"sncf\", source = \"https://a.b\" },",
        ));
        assert!(
            e.starts_with("brands.toml:10:") && e.contains("listed twice"),
            "{e}"
        );
    }

    #[test]
    fn handles_of_each_network_are_checked_for_their_syntax() {
        let good = [
            (Network::Twitter, "AmericanAir"),
            (Network::Twitter, "@SNCF"),
            (Network::Twitter, "Free_1337"),
            (Network::Twitter, "a"),
            (Network::Twitter, "abcdefghij12345"),
            (Network::Bluesky, "sncf.bsky.social"),
            (Network::Bluesky, "@bsky.app"),
            (Network::Bluesky, "4chan.org"),
            (Network::Bluesky, "brand.test"),
            (Network::Bluesky, "xn--bcher-kva.tld"),
            (Network::Bluesky, "did:plc:z72i7hdynmk6r22z27h6tvur"),
            (Network::Bluesky, "did:web:support.example.com"),
            (Network::Mastodon, "support@mastodon.social"),
            (Network::Mastodon, "@Brand_Help@social.example.fr"),
            (Network::Mastodon, "first.last@mastodon.online"),
        ];
        for (net, h) in good {
            assert_eq!(check_handle(net, h), Ok(()), "{h}");
        }
        let bad = [
            (Network::Twitter, "", "1 to 15"),
            (Network::Twitter, "abcdefghij123456", "1 to 15"),
            (Network::Twitter, "Air-France", "1 to 15"),
            (Network::Twitter, "sncf.bsky.social", "1 to 15"),
            (Network::Twitter, "Société", "1 to 15"),
            (Network::Bluesky, "SNCF", "two parts"),
            (Network::Bluesky, "sncf..bsky.social", "part \"\""),
            (Network::Bluesky, "-sncf.bsky.social", "part \"-sncf\""),
            (Network::Bluesky, "sncf.bsky.social.", "part \"\""),
            (Network::Bluesky, "sncf_fr.bsky.social", "part \"sncf_fr\""),
            (Network::Bluesky, "sncf.123", "digit"),
            (Network::Bluesky, "laptop.local", ".local"),
            (Network::Bluesky, "did:plc:short", "24 characters"),
            (Network::Bluesky, "did:key:z6Mkabc", "method"),
            (
                Network::Bluesky,
                &format!("{}.com", "a".repeat(64)),
                "1 to 63",
            ),
            (Network::Mastodon, "support", "names no instance"),
            (Network::Mastodon, "support@localhost", "two parts"),
            (Network::Mastodon, "sup port@mastodon.social", "user"),
            (Network::Mastodon, "@mastodon.social", "user"),
            (Network::Mastodon, "support@mastodon.social@x", "instance"),
        ];
        for (net, h, says) in bad {
            let e = check_handle(net, h).unwrap_err();
            assert!(e.contains(says), "{h}: {e}");
        }
    }

    #[test]
    fn check_reports_every_bad_handle_with_file_and_line() {
        let text = TABLES
            .replace("\"SNCF\",", "\"SNCF-France\",")
            .replace("sncf@mastodon.social", "sncf.mastodon.social");
        let r = Registry::parse(&text, "data/brands.toml").unwrap();
        let p = r.handle_problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with(
                "data/brands.toml:10: X account \"SNCF-France\" of \"sncf\" is not an X handle"
            ),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("data/brands.toml:15: Mastodon account \"sncf.mastodon.social\""),
            "{p:?}"
        );
    }

    #[test]
    fn the_shipped_registry_sources_every_account_and_its_handles_are_valid() {
        let text = include_str!("../data/brands.toml");
        let r = Registry::parse(text, "data/brands.toml").unwrap();
        assert_eq!(r.unsourced(), 0);
        assert_eq!(r.handle_problems(), Vec::<String>::new());
        // Bare handles are the 108 TWCS 2017 X accounts, no more: every account added since
        // is a table with its own source.
        let bare: Vec<&Account> = r
            .brands
            .iter()
            .flat_map(|b| &b.accounts.info)
            .filter(|a| {
                a.source.as_deref()
                    == Some(
                        "https://www.kaggle.com/datasets/thoughtvector/customer-support-on-twitter",
                    )
            })
            .collect();
        assert_eq!(bare.len(), 108);
        assert!(bare.iter().all(|a| a.network == Network::Twitter));
        for b in &r.brands {
            for a in &b.accounts.info {
                if let Some(since) = &a.since {
                    assert!(since.as_str() <= "2026-12-31", "{}: {since}", a.handle);
                }
            }
        }
    }
}
