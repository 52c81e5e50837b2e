//! Sources: where posts come from, which network's accounts they speak of, and what each one
//! can and cannot see (its coverage statement, carried into every figure built from it).

/// The social network whose account handles a source's authors and mentions belong to.
/// Brand accounts in the registry are listed per network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Twitter,
    Bluesky,
    Mastodon,
    /// Data that names brands by registry id rather than by account (`pairs` imports).
    None,
}

/// A built-in source: its store name, network and default coverage statement.
pub struct Builtin {
    pub name: &'static str,
    pub network: Network,
    pub coverage: &'static str,
}

pub const BUILTIN: &[Builtin] = &[
    Builtin {
        name: "twcs",
        network: Network::Twitter,
        coverage: "Archive of conversations a brand joined (Customer Support on Twitter, 2017): \
                   complaints no brand answered are mostly missing, so answered ratios are \
                   biased upward; replies cut off by the excerpt count as unanswered.",
    },
    Builtin {
        name: "x",
        network: Network::Twitter,
        coverage: "Mentions of the brand's accounts and the brand's replies, through the X API.",
    },
    Builtin {
        name: "bluesky",
        network: Network::Bluesky,
        coverage: "Thread-scoped: replies under the brand's posts and posts the brand answered; \
                   standalone mentions the brand never answered are not seen.",
    },
    Builtin {
        name: "mastodon",
        network: Network::Mastodon,
        coverage: "Thread-scoped: replies under the brand's posts and posts the brand answered; \
                   standalone mentions the brand never answered are not seen.",
    },
];

/// Coverage of a source that is not built in (for example a `pairs` import named by the user)
/// and has no `[sources.NAME] coverage` in the config.
pub const DEFAULT_COVERAGE: &str = "As supplied: complaints and first-reply times come from the imported file; what it omits is not seen.";

/// The network of a source name; sources that are not built in name brands by registry id.
pub fn network(source: &str) -> Network {
    BUILTIN
        .iter()
        .find(|b| b.name == source)
        .map_or(Network::None, |b| b.network)
}

/// The built-in coverage statement of a source, if it has one.
pub fn builtin_coverage(source: &str) -> Option<&'static str> {
    BUILTIN
        .iter()
        .find(|b| b.name == source)
        .map(|b| b.coverage)
}

/// Source names are store directory names: lowercase letters, digits and `-`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}
