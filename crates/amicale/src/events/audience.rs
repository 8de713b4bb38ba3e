//! The participants of events as the audience of a send (the event page,
//! the automatic rules): each message carries `event.*`, the participant's
//! own values with their attendance and, for templates that loop over
//! them, everyone registered.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::comms::context;
use crate::comms::eligibility::Category;
use crate::compose::{Audience, People, Recipient, Wants};
use crate::error::AppResult;
use amicale_kernel::Locale;
use amicale_store::entities::{event_facilitators, events, participations, programmes, users};

/// What the messages of events read, loaded in bulk and kept across the
/// rules of one run (many rules look at the same events and participants).
#[derive(Default)]
pub struct EventCache {
    programmes: Option<HashMap<i64, String>>,
    people: People,
    /// Registered (not waiting) participations of each event.
    everyone: HashMap<i64, Vec<participations::Model>>,
    facilitator: HashMap<i64, Option<users::Model>>,
    event_maps: HashMap<(i64, Locale), Map<String, Value>>,
    lists: HashMap<(i64, Locale), Vec<Value>>,
}

impl EventCache {
    /// Loads what the messages of `parts` need; with `lists`, every
    /// registered participant of these events too (for templates that loop
    /// over `participants`).
    async fn prepare(
        &mut self,
        state: &AppState,
        evs: &[&events::Model],
        parts: &[participations::Model],
        lists: bool,
    ) -> AppResult<()> {
        if self.programmes.is_none() {
            self.programmes = Some(
                programmes::Entity::find()
                    .all(&state.db)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.name))
                    .collect(),
            );
        }
        let ids: Vec<i64> = evs.iter().map(|e| e.id).collect();
        self.load_events(state, &ids).await?;
        let everyone = evs
            .iter()
            .filter(|_| lists)
            .filter_map(|e| self.everyone.get(&e.id))
            .flatten();
        let need: Vec<i64> = everyone.chain(parts.iter()).map(|p| p.person_id).collect();
        self.people.load(&state.db, &need).await
    }

    /// The registered participations of an event loaded by
    /// [`EventCache::load_events`].
    pub fn registered(&self, event: i64) -> &[participations::Model] {
        self.everyone.get(&event).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Loads the registered participations and the facilitator of events
    /// not loaded yet.
    pub async fn load_events(&mut self, state: &AppState, ids: &[i64]) -> AppResult<()> {
        let db = &state.db;
        let fresh: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !self.everyone.contains_key(id))
            .collect();
        for chunk in fresh.chunks(500) {
            for id in chunk {
                self.everyone.insert(*id, Vec::new());
                self.facilitator.insert(*id, None);
            }
            for r in participations::Entity::find()
                .filter(participations::Column::EventId.is_in(chunk.iter().copied()))
                .filter(participations::Column::Waiting.eq(false))
                .order_by_asc(participations::Column::Id)
                .all(db)
                .await?
            {
                if let Some(v) = self.everyone.get_mut(&r.event_id) {
                    v.push(r);
                }
            }
            let links = event_facilitators::Entity::find()
                .filter(event_facilitators::Column::EventId.is_in(chunk.iter().copied()))
                .all(db)
                .await?;
            if !links.is_empty() {
                let ids: Vec<i64> = links.iter().map(|l| l.user_id).collect();
                let mut staff: Vec<users::Model> = users::Entity::find()
                    .filter(users::Column::Id.is_in(ids))
                    .all(db)
                    .await?;
                // The first by name, as the event page lists them.
                staff.sort_by(|a, b| a.display_name.cmp(&b.display_name));
                for u in staff {
                    for l in links.iter().filter(|l| l.user_id == u.id) {
                        let slot = self.facilitator.entry(l.event_id).or_insert(None);
                        if slot.is_none() {
                            *slot = Some(u.clone());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds, once per event and language, the `event.*` values and the
    /// `participants` list the template reads.
    fn shape(&mut self, state: &AppState, e: &events::Model, l: Locale, wants: Wants<'_>) {
        if wants.get("event") && !self.event_maps.contains_key(&(e.id, l)) {
            let programme = e
                .programme_id
                .and_then(|i| self.programmes.as_ref()?.get(&i))
                .map(String::as_str)
                .unwrap_or("");
            let facilitator = self.facilitator.get(&e.id).and_then(Option::as_ref);
            let map = context::event_map(state, e, programme, facilitator, l);
            self.event_maps.insert((e.id, l), map);
        }
        if wants.get("participants") && !self.lists.contains_key(&(e.id, l)) {
            let list = self
                .registered(e.id)
                .iter()
                .filter_map(|x| {
                    self.people
                        .data(x.person_id)
                        .map(|d| Value::Object(context::participant_values(d, x, l)))
                })
                .collect();
            self.lists.insert((e.id, l), list);
        }
    }
}

/// Participants of some events: a send from an event page, or one rule's
/// participants on one day.
pub struct Participants<'c> {
    cache: &'c mut EventCache,
    events: HashMap<i64, events::Model>,
    parts: Vec<participations::Model>,
}

impl<'c> Participants<'c> {
    pub fn new(
        cache: &'c mut EventCache,
        events: Vec<events::Model>,
        parts: Vec<participations::Model>,
    ) -> Self {
        Participants {
            cache,
            events: events.into_iter().map(|e| (e.id, e)).collect(),
            parts,
        }
    }
}

impl Audience for Participants<'_> {
    type Member = participations::Model;

    /// The participants of an event page send are queued all or none.
    const SLICE: usize = usize::MAX;

    fn category(&self) -> Category {
        Category::Events
    }

    async fn members(&mut self, _: &AppState) -> AppResult<Vec<participations::Model>> {
        Ok(std::mem::take(&mut self.parts))
    }

    async fn prepare(
        &mut self,
        state: &AppState,
        slice: &[participations::Model],
        wants: Wants<'_>,
    ) -> AppResult<()> {
        let evs: Vec<&events::Model> = self.events.values().collect();
        self.cache
            .prepare(state, &evs, slice, wants.get("participants"))
            .await?;
        for p in slice {
            let (Some(e), Some(d)) = (
                self.events.get(&p.event_id),
                self.cache.people.data(p.person_id),
            ) else {
                continue;
            };
            let l = d.locale.unwrap_or(state.default_locale);
            self.cache.shape(state, e, l, wants);
        }
        Ok(())
    }

    fn recipient(&self, p: &participations::Model) -> Option<Recipient<'_>> {
        let (data, facts) = self.cache.people.get(p.person_id)?;
        Some(Recipient::person(p.person_id, data, facts).about(p.event_id))
    }

    fn fill(
        &self,
        _: &AppState,
        p: &participations::Model,
        l: Locale,
        root: &mut Map<String, Value>,
        wants: Wants<'_>,
    ) {
        let key = (p.event_id, l);
        if wants.get("event")
            && let Some(m) = self.cache.event_maps.get(&key)
        {
            root.insert("event".into(), Value::Object(m.clone()));
        }
        if wants.get("participants")
            && let Some(list) = self.cache.lists.get(&key)
        {
            root.insert("participants".into(), Value::Array(list.clone()));
        }
        if wants.get("participant")
            && let Some(d) = self.cache.people.data(p.person_id)
        {
            root.insert(
                "participant".into(),
                Value::Object(context::participant_values(d, p, l)),
            );
        }
    }
}
