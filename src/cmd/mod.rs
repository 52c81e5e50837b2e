//! One file per subcommand.

pub mod build;
pub mod check;
pub mod collect;
pub mod eval;
pub mod forget;
pub mod import;
pub mod reclassify;
pub mod score;
pub mod serve;
