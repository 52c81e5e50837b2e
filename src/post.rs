//! A post as the stores keep it: one JSON object per line, in the published store (schema
//! `replyrank.store/2`) and the private working store (`replyrank.private/1`).
//!
//! This is also the `jsonl` import format, so any source can be converted to it. Fields:
//!
//! | key | type | meaning |
//! |---|---|---|
//! | `source` | string | source name (`twcs`, `x`, `bluesky`, `mastodon`, or a `pairs` source) |
//! | `id` | string | post id, unique within its source |
//! | `author` | string | author handle or the source's anonymised id (may be empty when unknown) |
//! | `created_at` | string | RFC 3339 instant, UTC (`2017-10-31T22:10:47Z`) |
//! | `reply_to` | string? | id of the post this one answers, same source |
//! | `text` | string? | post text (kept for later classification; never published) |
//! | `mentions` | [string]? | account handles mentioned (text `@handle`s or mention facets), in order |
//! | `inbound` | bool? | the source's own flag: `false` when it says the author is a company account |
//! | `brand` | string? | registry id of the brand that wrote the post, when the source says so |
//! | `to_brand` | string? | registry id of the brand the post is addressed to, when the source says so |
//! | `replies` | [string]? | ids of posts the source lists as replies to this one (TWCS `response_tweet_id`), whether or not the data holds them |
//! | `lang` | string? | the post's language as the network states it (ISO 639-1) |
//! | `declared_at` | string? | the time the author's client declared (Bluesky `createdAt`), when `created_at` is the network's receipt time |
//! | `followers` | integer? | the author's follower count at collection time |
//! | `opted_out` | bool? | `true` when the author opted out of indexing: kept without text, never quoted |
//! | `network_id` | string? | published store only: the network's id of a brand's post (kept in clear) |
//! | `classified` | object? | a classifier's output: `by` (classifier and version, `kind-2` or `deflect-2`), `as` (`complaint`, `request`, `praise`, `other`; or `deflect`, `answer`) and the `rule` that decided; for a brand reply, its `template` signature |

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The published store's schema version, written in `data/store/FORMAT` and documented above
/// (version 2: collected posts published as pseudonyms, see `crate::publish`).
pub const STORE_SCHEMA: &str = "replyrank.store/2";

/// The schema of version-1 stores, which kept collected posts raw (`replyrank migrate`).
pub const STORE_SCHEMA_V1: &str = "replyrank.store/1";

/// The private working store's schema version, in `data/private/FORMAT`.
pub const PRIVATE_SCHEMA: &str = "replyrank.private/1";

/// A post. Text fields borrow from the input they were read from where they can (an import
/// batch, a store line), so millions of posts can be read and written without copying.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Post<'a> {
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub author: Cow<'a, str>,
    /// Seconds since the Unix epoch, UTC; written as RFC 3339.
    #[serde(with = "rfc3339")]
    pub created_at: i64,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<bool>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub to_brand: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub classified: Option<Classified<'a>>,
    /// The time the post's author (their client) declared, when the network's own time
    /// (`created_at`: when the network received it) differs from it. Seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339_opt")]
    pub declared_at: Option<i64>,
    /// The author's follower count when the post was collected (exact in the private store,
    /// bucketed in the published one: see `crate::publish`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// The author opted out of indexing (Mastodon `indexable: false` or `noindex: true`,
    /// Bluesky's `!no-unauthenticated` label): the post is kept without its text, never quoted,
    /// and counted only as anonymous structure.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub opted_out: bool,
    /// In the published store, where `id` is a keyed pseudonym: the network's own id of a
    /// brand's post (a company's public statement, kept in clear). Never set on a customer's
    /// post.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<Cow<'a, str>>,
}

/// A classifier's output for a post, kept with the classifier's version so a newer one can
/// re-run (`replyrank reclassify`) and scoring reads what was decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classified<'a> {
    /// The classifier and its version: `kind-2`, `deflect-2`.
    #[serde(borrow)]
    pub by: Cow<'a, str>,
    /// Its verdict: `complaint`, `request`, `praise` or `other` for an opening post; `deflect`
    /// or `answer` for a brand reply.
    #[serde(borrow, rename = "as")]
    pub verdict: Cow<'a, str>,
    /// The rule that decided.
    #[serde(borrow)]
    pub rule: Cow<'a, str>,
    /// A brand reply's template signature (`t1:` and 64 hex digits: see
    /// `crate::classify::template`), grouping replies that say the same thing.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Cow<'a, str>>,
}

impl Classified<'_> {
    /// A brand reply that sends the customer elsewhere.
    pub fn deflects(&self) -> bool {
        self.verdict == "deflect"
    }

    /// An opening post that needs a reply: a complaint or a request, or anything a classifier
    /// of replies says nothing about.
    pub fn needs_reply(&self) -> bool {
        !matches!(self.verdict.as_ref(), "praise" | "other")
    }
}

impl Post<'_> {
    /// Checks what serde cannot: non-empty ids, a valid source name, a time within
    /// [`crate::time::YEARS`].
    pub fn validate(&self) -> Result<(), String> {
        check_fields(
            &self.source,
            &self.id,
            self.reply_to.as_deref(),
            self.created_at,
        )
    }
}

fn check_fields(source: &str, id: &str, reply_to: Option<&str>, at: i64) -> Result<(), String> {
    if !crate::source::is_valid_name(source) {
        return Err(format!(
            "source {source:?} is not a valid source name (lowercase letters, digits, '-')"
        ));
    }
    if id.is_empty() {
        return Err("empty id".into());
    }
    if reply_to == Some("") {
        return Err("empty reply_to (omit the key instead)".into());
    }
    crate::time::check_year(at).map_err(|e| format!("created_at: {e}"))
}

/// A stored line read without copying its text: what the store's readers (the corpus, the
/// de-duplication of appends) need. A line is a valid post exactly when [`StoredLine::parse`]
/// accepts it, which is exactly when it parses as a [`Post`] that passes [`Post::validate`]:
/// only such lines count as stored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredLine<'a> {
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub author: Cow<'a, str>,
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    #[serde(borrow, default)]
    pub reply_to: Option<Cow<'a, str>>,
    #[serde(default, rename = "text")]
    _text: Option<SkippedText>,
    #[serde(borrow, default)]
    pub mentions: Vec<Cow<'a, str>>,
    #[serde(default)]
    pub inbound: Option<bool>,
    #[serde(borrow, default)]
    pub brand: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub to_brand: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub replies: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub lang: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub classified: Option<Classified<'a>>,
    #[serde(borrow, default)]
    pub declared_at: Option<Cow<'a, str>>,
    #[serde(default)]
    pub followers: Option<u64>,
    #[serde(default)]
    pub opted_out: bool,
    #[serde(borrow, default)]
    pub network_id: Option<Cow<'a, str>>,
}

impl<'a> StoredLine<'a> {
    /// Parses and validates one line; returns it with its time.
    pub fn parse(line: &'a [u8]) -> Result<(StoredLine<'a>, i64), String> {
        let l: StoredLine = serde_json::from_slice(line).map_err(|e| without_values(&e))?;
        let at = crate::time::parse_rfc3339(&l.created_at)?;
        check_fields(&l.source, &l.id, l.reply_to.as_deref(), at)?;
        Ok((l, at))
    }

    /// A line of a post held in memory (tests, examples).
    pub fn of(p: &'a Post<'_>) -> StoredLine<'a> {
        StoredLine {
            source: Cow::Borrowed(&p.source),
            id: Cow::Borrowed(&p.id),
            author: Cow::Borrowed(&p.author),
            created_at: Cow::Owned(crate::time::format_rfc3339(p.created_at)),
            reply_to: p.reply_to.as_deref().map(Cow::Borrowed),
            _text: None,
            mentions: p
                .mentions
                .iter()
                .map(|m| Cow::Borrowed(m.as_ref()))
                .collect(),
            inbound: p.inbound,
            brand: p.brand.as_deref().map(Cow::Borrowed),
            to_brand: p.to_brand.as_deref().map(Cow::Borrowed),
            replies: p
                .replies
                .iter()
                .map(|r| Cow::Borrowed(r.as_ref()))
                .collect(),
            lang: p.lang.as_deref().map(Cow::Borrowed),
            classified: p.classified.clone(),
            declared_at: p
                .declared_at
                .map(|t| Cow::Owned(crate::time::format_rfc3339(t))),
            followers: p.followers,
            opted_out: p.opted_out,
            network_id: p.network_id.as_deref().map(Cow::Borrowed),
        }
    }
}

/// A JSON error without the values it quotes (`invalid type: string "…"`): store notices are
/// published with the figures, and a value may be a customer's words. Field names (in
/// backticks) and the line's column stay.
fn without_values(e: &serde_json::Error) -> String {
    let mut out = String::new();
    for (i, part) in e.to_string().split('"').enumerate() {
        match i {
            0 => out.push_str(part),
            _ if i % 2 == 1 => out.push_str("\"…"),
            _ => {
                out.push('"');
                out.push_str(part);
            }
        }
    }
    out
}

/// A string that is checked to be a string and then dropped (a post's text, when only its
/// validity matters).
struct SkippedText;

impl<'de> Deserialize<'de> for SkippedText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SkippedText, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SkippedText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SkippedText, E> {
                Ok(SkippedText)
            }
        }
        d.deserialize_str(V)
    }
}

/// `@handle` mentions in a text: `@` at the start or after a character that cannot be part of a
/// handle, followed by letters, digits or `_`. Handles are returned as written, in order.
pub fn text_mentions(text: &str) -> Vec<Cow<'_, str>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let is_handle = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while let Some(off) = memchr_at(bytes, i) {
        let at = off;
        let preceded_ok = at == 0 || !is_handle(bytes[at - 1]);
        let mut end = at + 1;
        while end < bytes.len() && is_handle(bytes[end]) {
            end += 1;
        }
        if preceded_ok && end > at + 1 {
            out.push(Cow::Borrowed(&text[at + 1..end]));
        }
        i = end.max(at + 1);
    }
    out
}

fn memchr_at(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|&b| b == b'@')
        .map(|p| p + from)
}

mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        match crate::time::write_rfc3339(*t, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&crate::time::format_rfc3339(*t)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        crate::time::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::rfc3339::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        s.map(|s| crate::time::parse_rfc3339(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_follow_handle_rules() {
        assert_eq!(
            text_mentions("@AmericanAir hi @delta, mail me@example.com @ x @_a1"),
            vec!["AmericanAir", "delta", "_a1"]
        );
        assert!(text_mentions("no mentions here").is_empty());
        assert_eq!(text_mentions("é@Tesco"), vec!["Tesco"]);
    }

    #[test]
    fn round_trips_through_json() {
        let p = Post {
            source: "twcs".into(),
            id: "8".into(),
            author: "115712".into(),
            created_at: 1_509_486_310,
            text: Some("@sprintcare is the worst".into()),
            mentions: text_mentions("@sprintcare is the worst"),
            inbound: Some(true),
            ..Default::default()
        };
        let line = serde_json::to_string(&p).unwrap();
        assert_eq!(
            line,
            r#"{"source":"twcs","id":"8","author":"115712","created_at":"2017-10-31T21:45:10Z","text":"@sprintcare is the worst","mentions":["sprintcare"],"inbound":true}"#
        );
        assert_eq!(serde_json::from_str::<Post>(&line).unwrap(), p);
    }

    #[test]
    fn store_line_errors_never_quote_a_value() {
        let line = br#"{"source":"twcs","id":"1","author":"a","created_at":"2017-10-31T22:10:47Z","inbound":"my secret complaint"}"#;
        let e = StoredLine::parse(line).err().unwrap();
        assert!(!e.contains("secret"), "{e}");
        assert!(
            e.starts_with("invalid type: string \"…\", expected a boolean"),
            "{e}"
        );
    }
}
