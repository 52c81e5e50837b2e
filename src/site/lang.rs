//! Interface languages: the translated strings (`templates/i18n/<lang>.toml`, compiled in, a
//! site root's own files override them) and numbers, dates and durations written the way each
//! language writes them.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

use crate::root::SiteRoot;

const BUILTIN: [(&str, &str); 2] = [
    ("en", include_str!("../../templates/i18n/en.toml")),
    ("fr", include_str!("../../templates/i18n/fr.toml")),
];

/// A language: its code, its URL prefix (`""` for the first language, `"fr/"` for the others)
/// and its strings.
#[derive(Clone, Debug)]
pub struct Lang {
    pub code: String,
    pub prefix: String,
    pub strings: BTreeMap<String, String>,
}

impl Lang {
    /// Loads `code`'s strings: the root's `templates/i18n/<code>.toml` if present, else the
    /// built-in file. Every key of the built-in English file must be present, and every other
    /// key must be one the site can use (a category's or a source's name), so a typo is an error.
    pub fn load(root: &SiteRoot, code: &str, first: bool) -> Result<Lang> {
        let path = root.i18n(code);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                match BUILTIN.iter().find(|(c, _)| *c == code) {
                    Some((_, t)) => (*t).to_string(),
                    None => bail!("no translation for language {code:?}"),
                }
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "cannot read {} (it overrides the built-in {code} strings)",
                        path.display()
                    )
                });
            }
        };
        let strings: BTreeMap<String, String> = toml::from_str(&text)
            .map_err(|e| crate::config::toml_error(&path.display().to_string(), &text, &e))?;
        let reference: BTreeMap<String, String> =
            toml::from_str(BUILTIN[0].1).context("built-in en.toml")?;
        let missing: Vec<&str> = reference
            .keys()
            .filter(|k| !strings.contains_key(*k))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            bail!(
                "{}: missing translation keys: {}",
                path.display(),
                missing.join(", ")
            );
        }
        let unknown: Vec<&str> = strings
            .keys()
            .filter(|k| !reference.contains_key(*k))
            .filter(|k| !k.starts_with("category_") && !k.starts_with("coverage_"))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            bail!(
                "{}: unknown translation keys: {} (only the keys of the built-in en.toml, \
                 category_<slug> and coverage_<source> are used)",
                path.display(),
                unknown.join(", ")
            );
        }
        Ok(Lang {
            code: code.to_string(),
            prefix: if first {
                String::new()
            } else {
                format!("{code}/")
            },
            strings,
        })
    }

    /// The string for `key` with `{name}` placeholders filled. Every key the code asks for is
    /// in the built-in English file, and [`Lang::load`] checks every language has them all, so a
    /// missing key is a bug in replyrank (the tests ask for every key of every page).
    pub fn t(&self, key: &str, args: &[(&str, &str)]) -> String {
        let Some(s) = self.strings.get(key) else {
            panic!("no interface string {key:?}: add it to templates/i18n/*.toml");
        };
        let mut s = s.clone();
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    fn french(&self) -> bool {
        self.code == "fr"
    }

    /// A share as a percentage: `98%`, `98 %` in French.
    pub fn pct(&self, x: Option<f64>) -> String {
        match x {
            None => self.t("not_available", &[]),
            Some(v) if self.french() => format!("{}\u{202f}%", (v * 100.0).round()),
            Some(v) => format!("{}%", (v * 100.0).round()),
        }
    }

    /// A number with one decimal: `97.7`, `97,7` in French.
    pub fn decimal(&self, x: f64) -> String {
        let s = format!("{x:.1}");
        if self.french() {
            s.replace('.', ",")
        } else {
            s
        }
    }

    /// A signed change with one decimal: `+1.5`, `−0.3` as `-0.3`; `+1,5` in French.
    pub fn signed(&self, x: f64) -> String {
        let s = format!("{x:+.1}");
        if self.french() {
            s.replace('.', ",")
        } else {
            s
        }
    }

    /// A whole number with thousands separators: `1,234`, `1 234` in French.
    pub fn int(&self, n: usize) -> String {
        let digits = n.to_string();
        let sep = if self.french() { "\u{202f}" } else { "," };
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push_str(sep);
            }
            out.push(c);
        }
        out
    }

    /// A reply time in words, rounded to the nearest unit it is written in (598 s is `10 min`,
    /// never `9 min`): `45 s`, `16 min`, `5 h 48 min`, `14 h`, `2.3 days`.
    pub fn duration(&self, s: Option<i64>) -> String {
        let Some(s) = s else {
            return self.t("not_reached", &[]);
        };
        // Minutes are written below 10 hours: round to the nearest minute there first.
        let s = if (60..10 * 3600).contains(&s) {
            (s + 30) / 60 * 60
        } else {
            s
        };
        match s {
            s if s < 60 => format!("{s}\u{a0}s"),
            s if s < 3600 => format!("{}\u{a0}min", s / 60),
            s if s < 10 * 3600 => {
                let (h, m) = (s / 3600, s % 3600 / 60);
                if m == 0 {
                    format!("{h}\u{a0}h")
                } else {
                    format!("{h}\u{a0}h\u{a0}{m}\u{a0}min")
                }
            }
            s if s < 86_400 => format!("{}\u{a0}h", (s as f64 / 3600.0).round()),
            s if s % 86_400 == 0 => {
                let d = s / 86_400;
                format!(
                    "{d}\u{a0}{}",
                    self.t(if d == 1 { "day" } else { "days" }, &[])
                )
            }
            s => format!(
                "{}\u{a0}{}",
                self.decimal(s as f64 / 86_400.0),
                self.t("days", &[])
            ),
        }
    }

    /// A duration after "within": rounded *up* to the unit it is written in, so the sentence
    /// stays true (a median of 592 s is "within 10 min", never "within 9 min").
    pub fn within(&self, s: i64) -> String {
        let unit = match s {
            s if s < 60 => 1,
            s if s < 10 * 3600 => 60,
            s if s < 86_400 => 3600,
            _ => 8640,
        };
        self.duration(Some((s + unit - 1) / unit * unit))
    }

    /// The name of a registry category, translated when the language knows it.
    pub fn category(&self, slug: &str) -> String {
        match self.strings.get(&format!("category_{slug}")) {
            Some(name) => name.clone(),
            None => {
                let mut s = slug.replace('-', " ");
                if let Some(first) = s.get_mut(0..1) {
                    first.make_ascii_uppercase();
                }
                s
            }
        }
    }

    /// A date in words: `3 December 2017`, `3 décembre 2017`.
    pub fn date(&self, t: i64) -> String {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        const FR: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        let (y, m, d) = crate::time::civil_from_days(t.div_euclid(crate::time::DAY));
        let month = if self.french() {
            FR[m as usize - 1]
        } else {
            EN[m as usize - 1]
        };
        format!("{d}\u{a0}{month} {y}")
    }

    /// A month (`2017-10`) in words: `Oct 2017`, `oct. 2017`.
    pub fn month(&self, ym: &str) -> String {
        const EN: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        const FR: [&str; 12] = [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ];
        let (y, m) = ym.split_once('-').unwrap_or((ym, "1"));
        let m: usize = m.parse().unwrap_or(1).clamp(1, 12);
        let name = if self.french() { FR[m - 1] } else { EN[m - 1] };
        format!("{name} {y}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_coverage_strings_are_the_built_in_statements() {
        let en = Lang::load(&SiteRoot::at("/nonexistent"), "en", true).unwrap();
        for b in crate::source::BUILTIN {
            assert_eq!(
                Some(en.strings[b.coverage].as_str()),
                crate::source::wording(b.coverage),
                "{}",
                b.name
            );
        }
        let fr = Lang::load(&SiteRoot::at("/nonexistent"), "fr", false).unwrap();
        for b in crate::source::BUILTIN {
            assert!(fr.strings.contains_key(b.coverage), "{}", b.name);
        }
    }

    #[test]
    fn formats_per_language() {
        let root = &SiteRoot::at("/nonexistent");
        let en = Lang::load(root, "en", true).unwrap();
        let fr = Lang::load(root, "fr", false).unwrap();
        assert_eq!(en.pct(Some(0.9772)), "98%");
        assert_eq!(fr.pct(Some(0.9772)), "98\u{202f}%");
        assert_eq!(en.decimal(97.73), "97.7");
        assert_eq!(fr.decimal(97.73), "97,7");
        assert_eq!(en.int(1_234_567), "1,234,567");
        assert_eq!(fr.int(1234), "1\u{202f}234");
        assert_eq!(en.duration(Some(960)), "16\u{a0}min");
        // Rounded to the nearest unit written, never cut off.
        assert_eq!(en.duration(Some(598)), "10\u{a0}min");
        assert_eq!(en.duration(Some(89)), "1\u{a0}min");
        assert_eq!(en.duration(Some(3_570)), "1\u{a0}h");
        assert_eq!(en.duration(Some(2 * 3600 + 59 * 60 + 45)), "3\u{a0}h");
        assert_eq!(
            en.duration(Some(5 * 3600 + 48 * 60)),
            "5\u{a0}h\u{a0}48\u{a0}min"
        );
        assert_eq!(fr.duration(Some(2 * 86_400)), "2\u{a0}jours");
        assert_eq!(en.duration(Some(86_400)), "1\u{a0}day");
        assert_eq!(en.duration(Some(200_000)), "2.3\u{a0}days");
        assert_eq!(en.duration(Some(86_400)), "1\u{a0}day");
        assert_eq!(en.duration(Some(200_000)), "2.3\u{a0}days");
        assert_eq!(en.duration(None), "not reached");
        // After "within", rounded up: Chipotle's median of 592 s is within 10 min, not 9.
        assert_eq!(en.within(592), "10\u{a0}min");
        assert_eq!(en.within(600), "10\u{a0}min");
        assert_eq!(en.within(3599), "1\u{a0}h");
        assert_eq!(
            en.within(5 * 3600 + 48 * 60 + 1),
            "5\u{a0}h\u{a0}49\u{a0}min"
        );
        assert_eq!(en.within(104), "2\u{a0}min");
        assert_eq!(fr.duration(None), "non atteint");
        assert_eq!(en.date(1_512_327_156), "3\u{a0}December 2017");
        assert_eq!(fr.date(1_512_327_156), "3\u{a0}décembre 2017");
        assert_eq!(fr.prefix, "fr/");
        assert_eq!(en.t("as_of", &[("date", "x")]), "as of x");
    }
}
