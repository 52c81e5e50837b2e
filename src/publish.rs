//! What the published store may hold: the figures, not the people.
//!
//! Posts of a *collected* source (one with a collector: X, Bluesky, Mastodon) are kept twice:
//! raw in the private working store (`data/private/`, never committed: text, handles, network
//! ids, needed to walk threads and to re-run a newer classifier), and in the published store
//! (`data/store/`, committed and deployed) in the form [`Pseudonymiser::publish`] gives them:
//!
//! - every post id (`id`, `reply_to`, `replies`) is a keyed pseudonym, `~` and 32 hex digits of
//!   HMAC-SHA-256 under the secret `REPLYRANK_PSEUDONYM_KEY`, stable across runs so threads
//!   still join; a brand's post also keeps its network id in clear in `network_id`;
//! - a customer's `author` is a keyed pseudonym; brand accounts stay in clear;
//! - `mentions` keep registry brand accounts only; `text` is dropped; `followers` is bucketed
//!   ([`bucket`]); times, brand, language, opt-out flag and the classifiers' outputs (with
//!   their version) stay.
//!
//! Posts of an *archive* source (`twcs`, a `pairs` import: data already published, and
//! anonymised by its publisher) are stored once, in the published store, as they are.

use std::borrow::Cow;

use anyhow::{Result, bail};
use ring::hmac;

use crate::post::Post;
use crate::registry::Registry;

/// The environment variable holding the pseudonym key.
pub const KEY_VAR: &str = "REPLYRANK_PSEUDONYM_KEY";

/// The shortest key accepted, in bytes.
const MIN_KEY: usize = 32;

/// The first character of every pseudonym: no network id starts with it.
pub const PREFIX: char = '~';

/// Whether a source's posts are pseudonymised when published (a collected source) rather than
/// published as they are (an archive).
pub fn pseudonymised(source: &str) -> bool {
    crate::source::builtin(source).is_some_and(|s| s.collect.is_some())
}

/// Whether a stored id is a pseudonym.
pub fn is_pseudonym(id: &str) -> bool {
    id.starts_with(PREFIX)
}

/// Follower counts as published: the lower bound of their 1-2-5 bucket (0, 1, 2, 5, 10, 20,
/// 50, 100, …), so a count cannot single out an account.
pub fn bucket(followers: u64) -> u64 {
    if followers == 0 {
        return 0;
    }
    let mut decade = 1u64;
    while decade <= followers / 10 {
        decade *= 10;
    }
    let lead = followers / decade;
    decade
        * match lead {
            1 => 1,
            2..=4 => 2,
            _ => 5,
        }
}

/// The error of a run that needs the key to do `doing` and does not have it.
pub fn missing_key(doing: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{doing}: posts of a collected source (X, Bluesky, Mastodon) go to the published store \
         (data/store/) only as keyed pseudonyms, and {KEY_VAR} is not set. Set it to a secret \
         of at least {MIN_KEY} bytes (`openssl rand -hex 32`; in CI, a repository secret) and \
         keep it: pseudonyms must stay the same from run to run. Nothing was written"
    )
}

/// Turns network ids and customer accounts into keyed pseudonyms.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: hmac::Key,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(<key>)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with `key` (at least 32 bytes).
    pub fn new(key: &[u8]) -> Result<Pseudonymiser> {
        if key.len() < MIN_KEY {
            bail!(
                "{KEY_VAR} is {} bytes long; it must be at least {MIN_KEY} (make one with \
                 `openssl rand -hex 32`, keep it secret, and never change it: the published \
                 store's pseudonyms are made with it)",
                key.len()
            );
        }
        Ok(Pseudonymiser {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        })
    }

    /// The key from `REPLYRANK_PSEUDONYM_KEY`, or `None` when it is not set.
    pub fn from_env() -> Result<Option<Pseudonymiser>> {
        match std::env::var_os(KEY_VAR) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => Pseudonymiser::new(v.as_encoded_bytes()).map(Some),
        }
    }

    /// The key from the environment, or an error saying why `doing` needs it.
    pub fn required(doing: &str) -> Result<Pseudonymiser> {
        Pseudonymiser::from_env()?.ok_or_else(|| missing_key(doing))
    }

    fn mac(&self, kind: &str, source: &str, value: &str) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in [kind, source, value] {
            ctx.update(part.as_bytes());
            ctx.update(&[0]);
        }
        let tag = ctx.sign();
        let mut out = String::with_capacity(33);
        out.push(PREFIX);
        for b in &tag.as_ref()[..16] {
            use std::fmt::Write;
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// The pseudonym of post `id` of `source`.
    pub fn post(&self, source: &str, id: &str) -> String {
        self.mac("post", source, id)
    }

    /// The pseudonym of account `author` of `source` (compared without case or a leading `@`:
    /// handles are case-insensitive).
    pub fn author(&self, source: &str, author: &str) -> String {
        self.mac(
            "author",
            source,
            &author.trim_start_matches('@').to_lowercase(),
        )
    }

    /// The published form of a raw post of a collected source (see the module documentation).
    pub fn publish(&self, registry: &Registry, p: &Post<'_>) -> Post<'static> {
        let source = p.source.as_ref();
        let network = crate::source::network(source);
        let by_brand = registry.wrote(p);
        let owned = |s: &str| Cow::Owned(s.to_string());
        Post {
            source: owned(source),
            id: Cow::Owned(self.post(source, &p.id)),
            author: if by_brand || p.author.is_empty() {
                owned(&p.author)
            } else {
                Cow::Owned(self.author(source, &p.author))
            },
            created_at: p.created_at,
            reply_to: p
                .reply_to
                .as_deref()
                .map(|r| Cow::Owned(self.post(source, r))),
            text: None,
            mentions: p
                .mentions
                .iter()
                .filter(|m| registry.by_account(network, m).is_some())
                .map(|m| owned(m))
                .collect(),
            inbound: p.inbound,
            brand: p.brand.as_deref().map(owned),
            to_brand: p.to_brand.as_deref().map(owned),
            replies: p
                .replies
                .iter()
                .map(|r| Cow::Owned(self.post(source, r)))
                .collect(),
            lang: p.lang.as_deref().map(owned),
            classified: p.classified.as_ref().map(|c| crate::post::Classified {
                by: owned(&c.by),
                verdict: owned(&c.verdict),
                rule: owned(&c.rule),
                template: c.template.as_deref().map(owned),
            }),
            declared_at: p.declared_at,
            followers: p.followers.map(bucket),
            opted_out: p.opted_out,
            network_id: by_brand.then(|| owned(&p.id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_buckets_are_1_2_5() {
        let got: Vec<u64> = [
            0,
            1,
            2,
            4,
            5,
            9,
            10,
            19,
            20,
            49,
            50,
            99,
            100,
            123_456,
            u64::MAX,
        ]
        .iter()
        .map(|&n| bucket(n))
        .collect();
        assert_eq!(
            got,
            [
                0,
                1,
                2,
                2,
                5,
                5,
                10,
                10,
                20,
                20,
                50,
                50,
                100,
                100_000,
                10_000_000_000_000_000_000
            ]
        );
    }

    #[test]
    fn pseudonyms_are_keyed_stable_and_separate_posts_from_authors() {
        let a = Pseudonymiser::new(&[7; 32]).unwrap();
        let b = Pseudonymiser::new(&[8; 32]).unwrap();
        assert_eq!(a.post("x", "123"), a.post("x", "123"));
        assert_ne!(a.post("x", "123"), b.post("x", "123"));
        assert_ne!(a.post("x", "123"), a.author("x", "123"));
        assert_ne!(a.post("x", "123"), a.post("bluesky", "123"));
        assert_eq!(a.author("x", "@Tim"), a.author("x", "tim"));
        let p = a.post("x", "123");
        assert!(is_pseudonym(&p) && p.len() == 33, "{p}");
    }

    #[test]
    fn a_short_key_is_refused() {
        let e = Pseudonymiser::new(b"secret").unwrap_err().to_string();
        assert!(
            e.contains("REPLYRANK_PSEUDONYM_KEY") && e.contains("32"),
            "{e}"
        );
    }
}
