//! What an SMS send will cost before it is queued: each recipient's text is
//! rendered as it will go out and its segments counted, so the queue can
//! reserve them and a send the credit cannot cover is refused whole.

use serde_json::Value;

use crate::sms::account::{self, Account};
use crate::state::Engine;
use crate::templates::render;
use crate::worker::VersionCache;
use amicale_kernel::Locale;
use amicale_store::error::AppResult;

pub struct Pricer {
    account: Account,
    versions: VersionCache,
}

impl Pricer {
    /// `None` when no SMS account is configured: nothing can be sent.
    pub async fn new(state: &Engine) -> AppResult<Option<Pricer>> {
        Ok(account::load(state).await?.map(|account| Pricer {
            account,
            versions: VersionCache::default(),
        }))
    }

    /// Segments of the message rendered from `version` for `data`. A text
    /// that does not render counts one: the worker will fail it, not bill it.
    pub async fn segments(
        &mut self,
        state: &Engine,
        version: i64,
        data: &Value,
        l: Locale,
    ) -> AppResult<i32> {
        let Some((kind, v)) = self.versions.version(state, version).await? else {
            return Ok(1);
        };
        Ok(
            match render::render(state, kind, &render::variant_for(&v, l), data, l) {
                Ok(r) => amicale_sms::analyse(&self.account.prepare(&r.text))
                    .segments
                    .max(1) as i32,
                Err(_) => 1,
            },
        )
    }
}
