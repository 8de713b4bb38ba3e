//! Recipients known only by their address, each with the merge data it
//! came with (`amicale send` reads them from a CSV file).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::app::AppState;
use crate::comms::eligibility::{self, Category, Facts};
use crate::compose::{Audience, Recipient, Wants};
use crate::error::AppResult;
use amicale_delivery::sends;
use amicale_kernel::Locale;

pub struct Addresses {
    given: Vec<sends::Recipient>,
    category: Category,
    facts: HashMap<String, Facts>,
}

impl Addresses {
    pub fn new(given: Vec<sends::Recipient>, category: Category) -> Self {
        Addresses {
            given,
            category,
            facts: HashMap::new(),
        }
    }
}

impl Audience for Addresses {
    /// The line's index among those given.
    type Member = usize;

    /// A file is queued whole or not at all.
    const SLICE: usize = usize::MAX;

    fn category(&self) -> Category {
        self.category
    }

    async fn members(&mut self, _: &AppState) -> AppResult<Vec<usize>> {
        Ok((0..self.given.len()).collect())
    }

    async fn prepare(&mut self, state: &AppState, slice: &[usize], _: Wants<'_>) -> AppResult<()> {
        let addresses: Vec<String> = slice
            .iter()
            .filter_map(|i| self.given.get(*i))
            .map(|r| r.address.clone())
            .filter(|a| !self.facts.contains_key(a))
            .collect();
        self.facts
            .extend(eligibility::facts_of_addresses(&state.db, &addresses).await?);
        Ok(())
    }

    fn recipient(&self, i: &usize) -> Option<Recipient<'_>> {
        let r = self.given.get(*i)?;
        let locale = Locale::parse(r.locale).unwrap_or_default();
        Some(Recipient::address(self.facts.get(&r.address)?, locale))
    }

    /// The line's data is the whole merge data: a field the file does not
    /// provide fails the template instead of printing as nothing.
    fn fill(
        &self,
        _: &AppState,
        i: &usize,
        _: Locale,
        root: &mut Map<String, Value>,
        _: Wants<'_>,
    ) {
        if let Some(Value::Object(data)) = self.given.get(*i).map(|r| &r.merge_data) {
            *root = data.clone();
        }
    }
}
