//! One file per subcommand.

pub mod import;
pub mod score;
