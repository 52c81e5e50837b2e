//! The one redactor of a run: every secret (bearer tokens, app passwords, Bluesky session JWTs as
//! they are obtained or refreshed) is registered here, and every text that leaves the collector
//! (error messages, log lines, the report) goes through [`Redactor::redact`] whole, before any
//! truncation, so no part of a secret can survive a cut.

use std::sync::{Arc, RwLock};

use super::Secret;

/// What a secret is replaced with.
pub const BLANK: &str = "[secret]";

/// The secrets of a run. Cheap to clone; clones share the same list.
#[derive(Clone, Default)]
pub struct Redactor(Arc<RwLock<Vec<String>>>);

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Redactor({} secrets)",
            self.0.read().map_or(0, |v| v.len())
        )
    }
}

impl Redactor {
    /// Registers `value` as a secret (empty values are ignored).
    pub fn add(&self, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut list = self.0.write().expect("not poisoned");
        if !list.iter().any(|s| s == value) {
            list.push(value.to_string());
            // Longest first, so a secret containing another is blanked whole.
            list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Registers `value` and wraps it, for a secret obtained during the run (a session token).
    pub fn secret(&self, value: String) -> Secret {
        self.add(&value);
        Secret::new(value)
    }

    /// `text` with every registered secret replaced by [`BLANK`].
    pub fn redact(&self, text: &str) -> String {
        let list = self.0.read().expect("not poisoned");
        let mut out = text.to_string();
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), BLANK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_every_secret_and_the_longest_first() {
        let r = Redactor::default();
        r.add("abc");
        let s = r.secret("abcdef-token".into());
        assert_eq!(s.expose(), "abcdef-token");
        assert_eq!(
            r.redact("Bearer abcdef-token and abc"),
            "Bearer [secret] and [secret]"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
