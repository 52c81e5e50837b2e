//! Canned replies: what a brand reply says once the parts that change from customer to customer
//! are taken out, and a short signature of it, so replies that say the same thing can be grouped
//! without keeping their text (the published store keeps only the signature).
//!
//! - [`display`]: the reply without its leading `@handle`s, links (written `[link]`), the name after a greeting
//!   ("Hi Tim," → "Hi,") and an agent's signature at the end (`^JD`, `-Kim`, `*AB`, `~Sam`).
//! - [`normalise`]: that, lowercased, accents folded, numbers as `#`, emoji and punctuation
//!   dropped, spaces collapsed.
//! - [`Signature`]: [`HASHES`] MinHash values (16 bits each) of the normalised text's word
//!   pairs (single words for a one-word reply). Two replies are **near duplicates** when at
//!   least [`AGREE`] of the 16 values are equal: an estimate of a Jaccard similarity of their
//!   word pairs of 0.8 or more ([`near_duplicate`]). [`groups`] joins near duplicates.
//!
//! The hash is FNV-1a then SplitMix64, fixed here: signatures are stored, so it never changes
//! within a [`TEMPLATE_VERSION`].

use std::sync::LazyLock;

use regex::Regex;

/// The version of the normalisation and signature; stored with each signature.
pub const TEMPLATE_VERSION: &str = "t1";

/// MinHash values per signature.
pub const HASHES: usize = 16;

/// Equal values, of [`HASHES`], for two replies to be near duplicates (13/16 ≥ 0.8).
pub const AGREE: usize = 13;

static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:https?://|www\.)\S+").expect("valid"));
static HANDLES_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:\s*[@.]@?\w+)+[\s,:]*").expect("valid"));
static HANDLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"@\w+").expect("valid"));
static GREETING_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?i:(hi|hello|hey|dear|thanks|thank you|bonjour|salut|merci|bonsoir))\s+\p{Lu}[\p{L}'’-]*(?:\s+\p{Lu}[\p{L}'’-]*)?\s*([,!.:]?)",
    )
    .expect("valid")
});
static SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\s*[\^*~/]\s?\p{L}{1,4}\d?|\s+[-–—]\s?\p{Lu}[\p{L}]{0,15}(?:\s\p{Lu}\.?)?)\s*$")
        .expect("valid")
});
static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+(?:[.,:]\d+)*").expect("valid"));

/// The reply as a template shows it: no leading handles, links, greeted name or agent
/// signature; spaces collapsed.
pub fn display(text: &str) -> String {
    use std::borrow::Cow;
    // Each pattern runs only on texts that can hold it (most replies have no link, no
    // signature…): the same result, a fraction of the time.
    let t: Cow<str> = if text.contains("http") || text.contains("www.") {
        LINK.replace_all(text, "[link]")
    } else {
        Cow::Borrowed(text)
    };
    let t = if t.trim_start().starts_with(['@', '.']) {
        Cow::Owned(HANDLES_AT_START.replace(&t, "").into_owned())
    } else {
        t
    };
    let t = GREETING_NAME.replace(t.trim_start(), "$1$2");
    let mut t = t.into_owned();
    let signed = |t: &str| {
        t.trim_end()
            .chars()
            .rev()
            .take(24)
            .any(|c| matches!(c, '^' | '*' | '~' | '/' | '-' | '–' | '—'))
    };
    while signed(&t) {
        let Some(m) = SIGNATURE.find(&t) else { break };
        t.truncate(m.start());
    }
    let t = if t.contains('@') {
        HANDLE.replace_all(&t, "@…")
    } else {
        Cow::Borrowed(t.as_str())
    };
    let mut out = String::with_capacity(t.len());
    for w in t.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The text signatures are made of (see the module documentation).
pub fn normalise(text: &str) -> String {
    let d = display(text);
    let d = if d.bytes().any(|b| b.is_ascii_digit()) {
        NUMBER.replace_all(&d, "#")
    } else {
        std::borrow::Cow::Borrowed(d.as_str())
    };
    // One pass: letters and digits (accents folded, lowercase) and `#` kept, anything else
    // (folded quotes and dashes included) a single space between words.
    let mut out = String::with_capacity(d.len());
    let mut space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_alphanumeric() || c == '#' {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else {
            space = true;
        }
    };
    for c in d.chars() {
        match super::fold(c) {
            Some(f) => f.chars().for_each(|c| push(c, &mut out)),
            None => push(c, &mut out),
        }
    }
    out
}

/// A reply's MinHash signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature(pub [u16; HASHES]);

fn fnv(bytes: &[u8]) -> u64 {
    fnv_from(0xcbf2_9ce4_8422_2325, bytes)
}

/// FNV-1a carried on from `h` over more bytes.
fn fnv_from(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Signature {
    /// The signature of a reply's text; `None` when nothing is left once normalised.
    pub fn of(text: &str) -> Option<Signature> {
        let norm = normalise(text);
        let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
        let shingles: Vec<u64> = match words.len() {
            0 => return None,
            1 => vec![fnv(words[0].as_bytes())],
            // FNV of "first second", without building the string.
            _ => words
                .windows(2)
                .map(|w| fnv_from(fnv_from(fnv(w[0].as_bytes()), b" "), w[1].as_bytes()))
                .collect(),
        };
        let mut sig = [u16::MAX; HASHES];
        let mut mins = [u64::MAX; HASHES];
        for s in shingles {
            for (i, m) in mins.iter_mut().enumerate() {
                *m = (*m).min(splitmix(s ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            }
        }
        for (s, m) in sig.iter_mut().zip(mins) {
            *s = (m >> 48) as u16;
        }
        Some(Signature(sig))
    }

    /// How many of the values are equal.
    pub fn agree(&self, other: &Signature) -> usize {
        self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count()
    }

    /// As stored: `t1:` and 64 hex digits.
    pub fn encode(&self) -> String {
        let mut s = String::with_capacity(3 + 4 * HASHES);
        s.push_str(TEMPLATE_VERSION);
        s.push(':');
        for v in self.0 {
            use std::fmt::Write;
            let _ = write!(s, "{v:04x}");
        }
        s
    }

    /// A stored signature of the current version; `None` for another version or a bad one.
    pub fn decode(s: &str) -> Option<Signature> {
        let hex = s.strip_prefix(TEMPLATE_VERSION)?.strip_prefix(':')?;
        if hex.len() != 4 * HASHES || !hex.is_ascii() {
            return None;
        }
        let mut sig = [0u16; HASHES];
        for (i, v) in sig.iter_mut().enumerate() {
            *v = u16::from_str_radix(&hex[4 * i..4 * i + 4], 16).ok()?;
        }
        Some(Signature(sig))
    }
}

/// Whether two replies are near duplicates (see the module documentation).
pub fn near_duplicate(a: &Signature, b: &Signature) -> bool {
    a.agree(b) >= AGREE
}

/// Groups signatures: each item's group is the index of the first item of its group. Items
/// sharing a band of 4 values with an earlier group's first item are compared with it, and
/// joined when near duplicates (so a group is the items near-duplicate to its first item, or
/// to an item joined before them).
pub fn groups(sigs: &[Signature]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..sigs.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // One table per band, keyed by the band's four values packed in a u64.
    let mut buckets: Vec<rustc_hash::FxHashMap<u64, u32>> = (0..HASHES / 4)
        .map(|_| rustc_hash::FxHashMap::with_capacity_and_hasher(sigs.len(), Default::default()))
        .collect();
    for (i, s) in sigs.iter().enumerate() {
        for (band, table) in buckets.iter_mut().enumerate() {
            let key = s.0[4 * band..4 * band + 4]
                .iter()
                .fold(0u64, |k, &v| k << 16 | u64::from(v));
            match table.get(&key) {
                Some(&j) if near_duplicate(s, &sigs[j as usize]) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j as usize));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                Some(_) => {}
                None => {
                    table.insert(key, i as u32);
                }
            }
        }
    }
    (0..sigs.len()).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_strips_what_changes_between_customers() {
        assert_eq!(
            display(
                "@tim_88 Hi Tim, sorry to hear that! Please DM us your booking ref https://t.co/x ^JD"
            ),
            "Hi, sorry to hear that! Please DM us your booking ref [link]"
        );
        assert_eq!(
            display("@a @b Hello Ann Marie! We're on it -Kim"),
            "Hello! We're on it"
        );
        assert_eq!(
            display("Bonjour Paul, merci de nous écrire en MP *AB"),
            "Bonjour, merci de nous écrire en MP"
        );
        assert_eq!(
            normalise("Order 12345 ships on 3.10 🚚!!"),
            "order # ships on #"
        );
    }

    #[test]
    fn the_same_reply_to_different_customers_has_one_signature() {
        let a =
            Signature::of("@tim Hi Tim, please DM us your order number and we'll look into it ^JD");
        let b = Signature::of(
            "@ann_k Hi Ann, please DM us your order number and we'll look into it -Kim",
        );
        assert_eq!(a, b);
        let c = Signature::of("@bob our engineers restored the service in your area at 14:00");
        assert!(a.unwrap().agree(&c.unwrap()) < AGREE);
        let s = a.unwrap();
        assert_eq!(Signature::decode(&s.encode()), Some(s));
        assert_eq!(Signature::decode("t0:0000"), None);
        assert_eq!(Signature::of("@tim 🙂"), None);
    }

    #[test]
    fn one_changed_word_in_a_long_reply_is_a_near_duplicate() {
        let base = "we are sorry for the delay our team is working hard to get every parcel \
                    delivered as soon as possible please keep an eye on the tracking page for \
                    updates and thank you for your patience";
        let changed = base.replace("parcel", "package");
        let a = Signature::of(base).unwrap();
        let b = Signature::of(&changed).unwrap();
        assert!(near_duplicate(&a, &b), "{} of 16", a.agree(&b));
        let g = groups(&[
            a,
            b,
            Signature::of("completely different words here today").unwrap(),
        ]);
        assert_eq!(g, [0, 0, 2]);
    }
}
