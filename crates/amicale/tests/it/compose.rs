//! A new kind of send is a new audience and nothing else: one defined
//! outside the application (a weekly digest, say) goes through the same
//! eligibility, merge data, signed unsubscribe link, exclusions and outbox
//! as campaigns, rules and page sends.

use amicale::app::AppState;
use amicale::comms::eligibility::Category;
use amicale::comms::templates::store as tstore;
use amicale::compose::{self, Audience, People, Recipient, Wants};
use amicale::error::AppResult;
use amicale_delivery::outbox::Origin;
use amicale_kernel::SendChannel;
use amicale_store::entities::{send_exclusions, sends, unsubscriptions};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::support::{admin_app, beneficiary, campaign_template, on_each_backend};

/// Persons chosen by id, each queued in its own transaction.
struct Digest {
    ids: Vec<i64>,
    people: People,
}

impl Audience for Digest {
    type Member = i64;
    const SLICE: usize = 1;

    fn category(&self) -> Category {
        Category::Mailings
    }

    async fn members(&mut self, _: &AppState) -> AppResult<Vec<i64>> {
        Ok(self.ids.clone())
    }

    async fn prepare(&mut self, state: &AppState, slice: &[i64], _: Wants<'_>) -> AppResult<()> {
        self.people.load(&state.db, slice).await
    }

    fn recipient(&self, id: &i64) -> Option<Recipient<'_>> {
        let (data, facts) = self.people.get(*id)?;
        Some(Recipient::person(*id, data, facts))
    }
}

#[tokio::test]
async fn a_new_kind_of_send_is_only_an_audience() {
    on_each_backend(|b| async move {
        let (app, sink, _db) = admin_app(b).await;
        let t = campaign_template(&app, "Lettre hebdomadaire").await;
        let ann = beneficiary(&app, "Ann", "Martin", "ann@example.org").await;
        let bob = beneficiary(&app, "Bob", "Martin", "bob@example.org").await;
        // Bob left the mailings: the digest skips him, with the reason.
        unsubscriptions::ActiveModel {
            address: Set("bob@example.org".into()),
            category: Set(Category::Mailings.as_str().into()),
            created_at: Set(Utc::now()),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
        let (template, version) = tstore::get(&app.state.db, t).await.unwrap();
        let letter = compose::Letter::new(
            "Digest".into(),
            Origin::Batch,
            None,
            SendChannel::Email,
            &template,
            &version,
        );
        let mut digest = Digest {
            ids: vec![ann, bob],
            people: People::default(),
        };
        let done = compose::send(&app.state, &mut digest, &letter)
            .await
            .unwrap();
        assert_eq!((done.queued, done.excluded), (1, 1), "{done:?}");
        let send = done.send.expect("a send");
        let row = sends::Entity::find_by_id(send)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.label.as_str(), row.total), ("Digest", 1));
        let excluded: Vec<(i64, String)> = send_exclusions::Entity::find()
            .filter(send_exclusions::Column::SendId.eq(send))
            .all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.person_id, e.reason))
            .collect();
        assert_eq!(excluded, vec![(bob, "unsubscribed".to_owned())]);

        let got = sink.wait_for(1, 20).await;
        assert_eq!(got[0].to, vec!["ann@example.org".to_owned()]);
        assert!(got[0].text().contains("Bonjour Ann"), "{}", got[0].text());
        // Her own link, for the category of this kind of send (a footer:
        // the template has none).
        let link = compose_link(&app.state, "ann@example.org");
        assert!(got[0].text().contains(&link), "{link} in {}", got[0].text());
        app.stop().await;
    })
    .await;
}

fn compose_link(state: &AppState, address: &str) -> String {
    amicale::comms::context::unsubscribe_url(state, address, Category::Mailings)
}
