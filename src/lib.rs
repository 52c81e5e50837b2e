//! replyrank: when you complain to a brand in public, does it answer, and how fast?
//!
//! The data flows one way, and each stage has one home:
//!
//! ```text
//! collect (network) ─┐   classify (as posts are stored)
//! import (files) ────┴→ store (data/store) → corpus → pair → score → site::render → public/
//!                                                           └→ leaderboard.json, terminal table
//! ```
//!
//! - [`root`]: the site root, the one value that owns every path (config, registry, store,
//!   state, content, templates, output).
//! - [`config`] (`replyrank.toml`), [`registry`] (`data/brands.toml`), [`source`] (the table of
//!   sources: network, collector, credentials, coverage).
//! - [`collect`]: the only code that talks to the network (Bluesky, Mastodon, X), into the store.
//! - [`import`]: files into the store (TWCS CSV, paired complaints, the store's own JSON Lines).
//! - [`classify`]: the opening-post and reply classifiers, run as posts enter the store; their
//!   verdicts are stored with their version (`replyrank reclassify` re-runs them).
//! - [`store`] and [`post`]: the append-only, locked JSON Lines store and its schema;
//!   [`stores`]: the published store (`data/store`, committed) and the private working store
//!   (`data/private`, never committed) written together; [`publish`]: what the published store
//!   may hold (keyed pseudonyms, no text); [`forget`]: removing a post or an author from both;
//!   [`audit`]: the check that what is about to be published names no customer.
//! - [`corpus`] (posts → interned threads), [`pair`] (complaints, first replies and public
//!   answers), [`km`] (Kaplan–Meier and its intervals), [`interval`] (exact binomial intervals),
//!   [`score`] (per-brand figures, intervals and ranks, typed: the [`score::Leaderboard`]),
//!   [`method`] (the method's versions), [`pipeline`] (store → leaderboard → site, as the
//!   commands run it).
//! - [`columns`]: the one list of a brand's figures that the table, cards, CSV, data dictionary,
//!   embeds and terminal table are driven from.
//! - [`site`]: renders a leaderboard into pages, charts and downloads and swaps them into the
//!   output; it never reads the store. [`serve`] serves the output while it is rebuilt.
//! - [`time`]: instants, months and the formats sources write them in.
//!
//! `pair` and `score` are pure functions: no clock (as-of is a parameter), no I/O, and a fixed
//! seed for every random draw.

pub mod audit;
pub mod classify;
pub mod collect;
pub mod columns;
pub mod config;
pub mod corpus;
pub mod forget;
pub mod grievance;
pub mod import;
pub mod interval;
pub mod km;
pub mod method;
pub mod pair;
pub mod pipeline;
pub mod post;
pub mod publish;
pub mod registry;
pub mod root;
pub mod score;
pub mod serve;
pub mod site;
pub mod source;
pub mod store;
pub mod stores;
pub mod time;
