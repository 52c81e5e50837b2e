//! Two small, explainable text classifiers for method version 2, English and French:
//!
//! - [`deflect`]: does a brand's reply move the customer (or ask them to move) to a private or
//!   other channel — a DM, e-mail, phone, chat, a form or contact page, another account or team,
//!   staff in person — instead of answering in public?
//! - [`kind`]: is a customer's opening post a `complaint`, a `request`, `praise` or `other`?
//!   "Needs a reply" is complaint or request ([`Kind::needs_reply`]).
//!
//! Both are hand-written rules ([`rules`]) over a normalised text ([`normalise`]): lowercase,
//! accents folded, `@handle`s and URLs replaced by placeholders. Each rule has a stable id, and
//! every verdict carries the id of the rule that decided it and the classifier's version
//! ([`DEFLECT_VERSION`], [`KIND_VERSION`]), so a reader can see why. Changing what any rule
//! matches means a new version. The rules are compiled once into one `RegexSet` per classifier;
//! a verdict costs one pass of that set over the text. No model, no I/O, no randomness.
//!
//! [`eval`] measures a classifier against hand-labelled posts (`replyrank eval`).

pub mod eval;
pub mod rules;
pub mod template;

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::Serialize;

pub use rules::{DEFLECT_VERSION, KIND_VERSION};

/// Which languages a rule is written for. With no language given, every rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    /// Any language (a channel named the same way in both, a URL form).
    Any,
}

/// One rule: a stable id, its language and a regular expression over [`normalise`]d text.
/// Within a classifier, rules are tried in order and the first that matches decides.
#[derive(Clone, Copy, Debug)]
pub struct Rule<T: 'static> {
    pub id: &'static str,
    pub lang: Lang,
    pub pattern: &'static str,
    /// What the rule decides.
    pub then: T,
}

/// A brand reply's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The reply moves the conversation to a private or other channel.
    pub deflect: bool,
    /// The id of the rule that matched; `None` when none did (the verdict is then `false`).
    pub rule: Option<&'static str>,
    /// [`DEFLECT_VERSION`].
    pub version: &'static str,
}

/// What an opening post is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Complaint,
    Request,
    Praise,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Complaint, Kind::Request, Kind::Praise, Kind::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Complaint => "complaint",
            Kind::Request => "request",
            Kind::Praise => "praise",
            Kind::Other => "other",
        }
    }

    /// `complaint`, `request`, `praise` or `other`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Complaints and requests need a reply; praise and other posts do not.
    pub fn needs_reply(self) -> bool {
        matches!(self, Kind::Complaint | Kind::Request)
    }
}

/// An opening post's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct KindVerdict {
    pub kind: Kind,
    /// The id of the rule that decided (a `*.default` id when no specific rule matched).
    pub rule: &'static str,
    /// [`KIND_VERSION`].
    pub version: &'static str,
}

/// Classifies posts as they enter the store (import, collect), in parallel; posts already
/// classified are left as they are. See [`classify_post`].
pub fn annotate(registry: &crate::registry::Registry, posts: &mut [crate::post::Post<'_>]) {
    use rayon::prelude::*;
    posts.par_iter_mut().for_each(|p| {
        if p.classified.is_none() {
            p.classified = classify_post(registry, p);
        }
    });
}

/// What the current classifiers say of a post: a brand's reply by [`deflect`], a customer's
/// post by [`kind`] (only opening posts are read as complaints, but which posts open a thread
/// is known only once the whole thread is stored). `None` for a post without text and for a
/// brand post that answers nothing.
pub fn classify_post(
    registry: &crate::registry::Registry,
    p: &crate::post::Post<'_>,
) -> Option<crate::post::Classified<'static>> {
    let text = p.text.as_deref()?;
    let lang = p.lang.as_deref();
    if registry.wrote(p) {
        p.reply_to.as_ref()?;
        let v = deflect(text, lang);
        Some(crate::post::Classified {
            by: v.version.into(),
            verdict: if v.deflect { "deflect" } else { "answer" }.into(),
            rule: v.rule.unwrap_or("none").into(),
            template: template::Signature::of(text).map(|s| s.encode().into()),
        })
    } else {
        let v = kind(text, lang);
        Some(crate::post::Classified {
            by: v.version.into(),
            verdict: v.kind.as_str().into(),
            rule: v.rule.into(),
            template: None,
        })
    }
}

/// Rules compiled into one set. Bounded repetitions (`x{0,40}`) make a set's automaton large
/// and slow, so the set holds each pattern with them loosened to `x*` (a pattern that matches
/// more texts, never fewer), and a set match of a loosened rule is confirmed by its exact pattern.
struct Compiled<T: 'static> {
    set: RegexSet,
    /// The exact pattern of each loosened rule.
    exact: Vec<Option<Regex>>,
    rules: &'static [Rule<T>],
}

impl<T: Copy> Compiled<T> {
    fn new(rules: &'static [Rule<T>]) -> Compiled<T> {
        // Byte patterns without Unicode classes: the normalised text is ASCII where the rules
        // look (`\b`, `\w` and `.` are ASCII or byte-wise), which keeps the DFA small and fast.
        // A large lazy-DFA cache: with a small one the engine gives up on the DFA for these
        // alternations and falls back to a far slower one.
        let bounded = Regex::new(r"\{0,[0-9]+\}").expect("a valid pattern");
        let loose: Vec<String> = rules
            .iter()
            .map(|r| {
                String::from_utf8(
                    bounded
                        .replace_all(r.pattern.as_bytes(), &b"*"[..])
                        .into_owned(),
                )
                .expect("UTF-8 in, UTF-8 out")
            })
            .collect();
        let set = RegexSetBuilder::new(&loose)
            .unicode(false)
            .size_limit(64 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .expect("the built-in rules compile (a unit test checks)");
        let exact = rules
            .iter()
            .zip(&loose)
            .map(|(r, l)| {
                (r.pattern != l).then(|| {
                    RegexBuilder::new(r.pattern)
                        .unicode(false)
                        .build()
                        .expect("the built-in rules compile (a unit test checks)")
                })
            })
            .collect();
        Compiled { set, exact, rules }
    }

    /// The first rule, in order, that matches and applies to `lang`.
    fn first(&self, text: &str, lang: Option<Lang>) -> Option<&'static Rule<T>> {
        let text = text.as_bytes();
        self.set
            .matches(text)
            .into_iter()
            .find(|&i| {
                applies(self.rules[i].lang, lang)
                    && self.exact[i].as_ref().is_none_or(|re| re.is_match(text))
            })
            .map(|i| &self.rules[i])
    }
}

fn applies(rule: Lang, text: Option<Lang>) -> bool {
    match (rule, text) {
        (Lang::Any, _) | (_, None) => true,
        (r, Some(t)) => r == t,
    }
}

/// The language a rule set is chosen by: `en…` and `fr…` codes select that language's rules;
/// any other code, or none, applies every rule.
fn lang_of(code: Option<&str>) -> Option<Lang> {
    let code = code?.trim();
    let primary = code.split(['-', '_']).next().unwrap_or("");
    if primary.eq_ignore_ascii_case("en") {
        Some(Lang::En)
    } else if primary.eq_ignore_ascii_case("fr") {
        Some(Lang::Fr)
    } else {
        None
    }
}

static DEFLECT: LazyLock<Compiled<bool>> = LazyLock::new(|| Compiled::new(rules::DEFLECT));
static KIND: LazyLock<Compiled<Kind>> = LazyLock::new(|| Compiled::new(rules::KIND));

/// Does this brand reply move the conversation to a private or other channel? `lang` is the
/// text's language code (`en`, `fr`, …) when known.
pub fn deflect(text: &str, lang: Option<&str>) -> Verdict {
    deflect_normalised(&normalise(text), lang)
}

/// [`deflect`] on a text already [`normalise`]d.
pub fn deflect_normalised(text: &str, lang: Option<&str>) -> Verdict {
    let rule = DEFLECT.first(text, lang_of(lang));
    Verdict {
        deflect: rule.is_some_and(|r| r.then),
        rule: rule.map(|r| r.id),
        version: DEFLECT_VERSION,
    }
}

/// What kind of opening post this is. `lang` is the text's language code when known.
pub fn kind(text: &str, lang: Option<&str>) -> KindVerdict {
    let norm = normalise(text);
    let (kind, rule) = match KIND.first(&norm, lang_of(lang)) {
        Some(r) => (r.then, r.id),
        // Nothing matched: every opening post is addressed to a brand, and throwing a real
        // complaint out is the costly error, so it counts as one (opening with a mention or not).
        None if addressed(&norm) => (Kind::Complaint, rules::KIND_DEFAULT_ADDRESSED),
        None => (Kind::Complaint, rules::KIND_DEFAULT),
    };
    KindVerdict {
        kind,
        rule,
        version: KIND_VERSION,
    }
}

/// The post opens with a mention (`@brand …`, `hey @brand`, `.@brand`).
fn addressed(norm: &str) -> bool {
    let t = norm.trim_start_matches(['.', ' ']);
    t.starts_with(HANDLE)
        || ["hey ", "hi ", "hello ", "dear ", "yo "]
            .iter()
            .any(|g| t.strip_prefix(g).is_some_and(|r| r.starts_with(HANDLE)))
}

/// What [`normalise`] writes for an `@handle`.
pub const HANDLE: &str = "@h";
/// What [`normalise`] writes for a URL.
pub const URL: &str = "<url>";
/// What [`normalise`] writes for a URL that opens a private conversation (an X DM composer,
/// `m.me/…`, `wa.me/…`).
pub const DM_URL: &str = "<dm-url>";

/// The text the rules read: lowercase; accents folded (`é` → `e`, `œ` → `oe`); typographic
/// quotes and dashes made ASCII; `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;` decoded; `@handle`s
/// written [`HANDLE`]; URLs written [`URL`] or [`DM_URL`]; runs of white space made one space.
pub fn normalise(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(text.len() + 8);
    let is_handle = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // Whether the output ends with a space (or is empty): white space is collapsed.
    let mut space = true;
    let token = |out: &mut Vec<u8>, token: &str, space: &mut bool| {
        if !*space {
            out.push(b' ');
        }
        out.extend_from_slice(token.as_bytes());
        out.push(b' ');
        *space = true;
    };
    let mut i = 0;
    while i < bytes.len() {
        // A run of bytes that need no more than lowercasing (single spaces, and `h`/`w` that
        // cannot start a URL, included), copied in one go.
        let mut j = i;
        let mut run_space = space;
        while j < bytes.len() {
            let c = bytes[j];
            if c == b' ' {
                if run_space {
                    break;
                }
                run_space = true;
            } else {
                let plain_letter =
                    matches!(c, b'h' | b'H' | b'w' | b'W') && !may_start_url(&bytes[j..]);
                if SPECIAL[c as usize] && !plain_letter {
                    break;
                }
                run_space = false;
            }
            j += 1;
        }
        if j > i {
            out.extend(bytes[i..j].iter().map(u8::to_ascii_lowercase));
            space = run_space;
            i = j;
            continue;
        }
        let b = bytes[i];
        if b.is_ascii() {
            match b {
                b'@' => {
                    let end = i + 1 + bytes[i + 1..].iter().take_while(|&&c| is_handle(c)).count();
                    if end > i + 1 && !(i > 0 && is_handle(bytes[i - 1])) {
                        token(&mut out, HANDLE, &mut space);
                        i = end;
                        continue;
                    }
                }
                b'h' | b'H' | b'w' | b'W' if starts_url(&bytes[i..]) => {
                    let len = text[i..]
                        .find(char::is_whitespace)
                        .unwrap_or(text.len() - i);
                    let url = if is_dm_url(&text[i..i + len]) {
                        DM_URL
                    } else {
                        URL
                    };
                    token(&mut out, url, &mut space);
                    i += len;
                    continue;
                }
                b'&' => {
                    if let Some((decoded, len)) = entity(&bytes[i..]) {
                        out.push(decoded);
                        space = false;
                        i += len;
                        continue;
                    }
                }
                _ if b.is_ascii_whitespace() => {
                    if !space {
                        out.push(b' ');
                        space = true;
                    }
                    i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(b.to_ascii_lowercase());
            space = false;
            i += 1;
            continue;
        }
        let c = text[i..].chars().next().expect("i is on a char boundary");
        i += c.len_utf8();
        if c.is_whitespace() {
            if !space {
                out.push(b' ');
                space = true;
            }
            continue;
        }
        space = false;
        if let Some(f) = fold(c) {
            out.extend_from_slice(f.as_bytes());
        } else {
            let mut buf = [0u8; 4];
            for l in c.to_lowercase() {
                out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if out.last() == Some(&b' ') {
        out.pop();
    }
    String::from_utf8(out).expect("only whole UTF-8 characters are written")
}

/// The bytes [`normalise`] looks at more closely: those that may start a handle, a URL or an
/// entity, white space, and non-ASCII.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = !c.is_ascii()
            || c.is_ascii_whitespace()
            || matches!(c, b'@' | b'&' | b'h' | b'H' | b'w' | b'W');
        b += 1;
    }
    t
};

/// A cheap first look for [`starts_url`]: `ht…` or `ww…`.
fn may_start_url(s: &[u8]) -> bool {
    match s {
        [a, b, ..] => matches!((a | 0x20, b | 0x20), (b'h', b't') | (b'w', b'w')),
        _ => false,
    }
}

fn starts_url(s: &[u8]) -> bool {
    ["http://", "https://", "www."]
        .iter()
        .any(|p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p.as_bytes()))
}

fn is_dm_url(url: &str) -> bool {
    let u = url.to_ascii_lowercase();
    [
        "messages/compose",
        "direct_messages",
        "//m.me/",
        "//wa.me/",
        "api.whatsapp.com/send",
    ]
    .iter()
    .any(|p| u.contains(p))
}

fn entity(s: &[u8]) -> Option<(u8, usize)> {
    [
        ("&amp;", b'&'),
        ("&lt;", b'<'),
        ("&gt;", b'>'),
        ("&quot;", b'"'),
        ("&#39;", b'\''),
    ]
    .into_iter()
    .find(|(e, _)| s.starts_with(e.as_bytes()))
    .map(|(e, c)| (c, e.len()))
}

/// Accents and typographic marks folded to ASCII, lowercase.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'œ' | 'Œ' => "oe",
        'æ' | 'Æ' => "ae",
        '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{2032}' | '`' => "'",
        '\u{201C}' | '\u{201D}' | '\u{00AB}' | '\u{00BB}' => "\"",
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' => "-",
        '\u{2026}' => "...",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
