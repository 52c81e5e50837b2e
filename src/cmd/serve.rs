//! `replyrank serve`: build, serve the output on 127.0.0.1, rebuild on change (see
//! `replyrank::serve`).

use anyhow::Result;

use replyrank::root::SiteRoot;

pub fn run(root: &SiteRoot, port: u16) -> Result<()> {
    replyrank::serve::run(root, port)
}
