//! Mastodon (public reads, no key), always on the brand's home instance.
use super::cursor::AccountCursor;
use super::{Ctx, Outcome};
pub async fn collect(_ctx: &Ctx, _brand: usize, _account: &str, _cursor: AccountCursor) -> (usize, Outcome) { (0, Outcome::Done) }
