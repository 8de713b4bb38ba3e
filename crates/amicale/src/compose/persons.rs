//! Persons chosen by id: a campaign's targets, the person a staff member
//! writes to from their page, and any send that knows its persons up front.

use crate::app::AppState;
use crate::comms::eligibility::Category;
use crate::compose::{Audience, People, Recipient, Wants};
use crate::error::AppResult;

pub struct Persons {
    ids: Vec<i64>,
    category: Category,
    people: People,
}

impl Persons {
    pub fn new(ids: Vec<i64>, category: Category) -> Self {
        Persons {
            ids,
            category,
            people: People::default(),
        }
    }
}

impl Audience for Persons {
    type Member = i64;

    fn category(&self) -> Category {
        self.category
    }

    async fn members(&mut self, _: &AppState) -> AppResult<Vec<i64>> {
        Ok(self.ids.clone())
    }

    async fn prepare(&mut self, state: &AppState, slice: &[i64], _: Wants<'_>) -> AppResult<()> {
        self.people.clear();
        self.people.load(&state.db, slice).await
    }

    fn recipient(&self, id: &i64) -> Option<Recipient<'_>> {
        let (data, facts) = self.people.get(*id)?;
        Some(Recipient::person(*id, data, facts))
    }
}
