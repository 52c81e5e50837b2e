//! One file per subcommand.

pub mod collect;
pub mod import;
pub mod score;
