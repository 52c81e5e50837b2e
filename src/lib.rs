//! replyrank: when you complain to a brand in public, does it answer, and how fast?
//!
//! The data flows one way, and each stage has one home:
//!
//! ```text
//! import (files) → store (data/store) → corpus → pair (complaints + first replies)
//!       → score (figures, intervals, ranks) → leaderboard.json
//! ```
//!
//! `pair` and `score` are pure functions: no clock (as-of is a parameter), no I/O, and a fixed
//! seed for the bootstrap.

pub mod collect;
pub mod config;
pub mod corpus;
pub mod import;
pub mod km;
pub mod pair;
pub mod pipeline;
pub mod post;
pub mod registry;
pub mod root;
pub mod score;
pub mod serve;
pub mod site;
pub mod source;
pub mod store;
pub mod time;
