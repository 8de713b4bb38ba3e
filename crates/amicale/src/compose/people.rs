//! The persons of a send: their merge data and the facts eligibility
//! decides on, loaded together in a few queries per slice.

use std::collections::HashMap;

use sea_orm::ConnectionTrait;

use crate::comms::context::{self, PersonData};
use crate::comms::eligibility::{self, Facts};
use crate::error::AppResult;

#[derive(Default)]
pub struct People {
    data: HashMap<i64, PersonData>,
    facts: HashMap<i64, Facts>,
}

impl People {
    /// Loads those of `ids` not loaded yet (a person who no longer exists
    /// stays absent).
    pub async fn load<C: ConnectionTrait>(&mut self, db: &C, ids: &[i64]) -> AppResult<()> {
        let mut need: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.data.contains_key(id))
            .collect();
        need.sort_unstable();
        need.dedup();
        if need.is_empty() {
            return Ok(());
        }
        let data = context::people(db, &need).await?;
        self.facts.extend(eligibility::facts_of(db, &data).await?);
        self.data.extend(data);
        Ok(())
    }

    /// Forgets everyone: a large send keeps one slice in memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.facts.clear();
    }

    pub fn data(&self, id: i64) -> Option<&PersonData> {
        self.data.get(&id)
    }

    /// A loaded person's data with the facts about them.
    pub fn get(&self, id: i64) -> Option<(&PersonData, &Facts)> {
        Some((self.data.get(&id)?, self.facts.get(&id)?))
    }
}
