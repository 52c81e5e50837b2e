//! replyrank: when you complain to a brand in public, does it answer, and how fast?
//!
//! The data flows one way, and each stage has one home:
//!
//! ```text
//! collect (network) ─┐
//! import (files) ────┴→ store (data/store) → corpus → pair → score → site::render → public/
//!                                                           └→ leaderboard.json, terminal table
//! ```
//!
//! - [`root`]: the site root, the one value that owns every path (config, registry, store,
//!   state, content, templates, output).
//! - [`config`] (`replyrank.toml`), [`registry`] (`data/brands.toml`), [`source`] (the table of
//!   sources: network, collector, coverage).
//! - [`collect`]: the only code that talks to the network (Bluesky, Mastodon, X), into the store.
//! - [`import`]: files into the store (TWCS CSV, paired complaints, the store's own JSON Lines).
//! - [`store`] and [`post`]: the append-only JSON Lines store and its schema.
//! - [`corpus`] (posts → interned threads), [`pair`] (complaints and first replies), [`km`]
//!   (Kaplan–Meier and its intervals), [`score`] (per-brand figures, intervals and ranks, typed:
//!   the [`score::Leaderboard`]), [`pipeline`] (store → leaderboard, as the commands run it).
//! - [`columns`]: the one list of a brand's figures that the table, cards, CSV, data dictionary
//!   and terminal table are driven from.
//! - [`site`]: renders a leaderboard into pages, charts and downloads; it never reads the store.
//! - [`time`]: instants, months and the formats sources write them in.
//!
//! `pair` and `score` are pure functions: no clock (as-of is a parameter), no I/O, and a fixed
//! seed for the bootstrap.

pub mod classify;
pub mod collect;
pub mod columns;
pub mod config;
pub mod corpus;
pub mod import;
pub mod interval;
pub mod km;
pub mod method;
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
