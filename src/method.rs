//! The scoring method's version (`[ranking] method` in `replyrank.toml`), and what changed
//! between versions. Every figure is computed under one version, named in every download and
//! citation; `content/methodology.md` keeps the changelog.
//!
//! - **Version 1**: every customer post addressed to a brand that is not a follow-up is a
//!   complaint; its first reply is the brand's earliest post down the complainant's own chain of
//!   posts; the score interval is a block bootstrap.
//! - **Version 2** (default): only opening posts that need a reply (complaints and requests) are
//!   complaints; a brand reply to the complainant's own later post answers the complaint even
//!   when others posted in between; a complaint whose listed reply is missing from the data is
//!   left out (its reply time is unknown); the first reply that does not send the customer
//!   elsewhere is the public answer; intervals are exact (Clopper–Pearson) and never zero-width.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    V1,
    #[default]
    V2,
}

impl Version {
    pub fn number(self) -> u8 {
        match self {
            Version::V1 => 1,
            Version::V2 => 2,
        }
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        match u8::deserialize(d)? {
            1 => Ok(Version::V1),
            2 => Ok(Version::V2),
            n => Err(serde::de::Error::custom(format!(
                "method {n} does not exist: use 1 or 2"
            ))),
        }
    }
}
