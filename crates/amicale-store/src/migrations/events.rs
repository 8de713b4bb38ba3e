//! Events and their participants, automatic rules, campaigns
//!, and what the four ways to send need: who a message concerns, who
//! was excluded and why, unsubscriptions per category.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, id, index, ts, ts_null};

pub struct Events;

impl MigrationName for Events {
    fn name(&self) -> &str {
        "m0009_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Events {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // `local_date` is the start's calendar day in the network time zone:
        // automatic rules select on it with an index, never on a computed
        // expression.
        m.create_table(
            Table::create()
                .table("events")
                .col(id())
                .col(string("title"))
                .col(string_len("nature", 16))
                .col(string("event_type"))
                .col(big_integer_null("programme_id"))
                .col(string("step"))
                .col(string("phase"))
                .col(string_len("mode", 16))
                .col(string("video_link"))
                .col(string("site"))
                .col(string("address"))
                .col(string("postal_code"))
                .col(string("city"))
                .col(ts("starts_at"))
                .col(ts("ends_at"))
                .col(string_len("local_date", 10))
                .col(integer_null("capacity"))
                .col(string("resource"))
                .col(boolean("open_registration"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;
        m.create_index(index("events", "events_local_date", &["local_date"]))
            .await?;
        m.create_index(index("events", "events_starts_at", &["starts_at"]))
            .await?;
        m.create_table(
            Table::create()
                .table("event_facilitators")
                .col(big_integer("event_id"))
                .col(big_integer("user_id"))
                .primary_key(Index::create().col("event_id").col("user_id"))
                .foreign_key(&mut fk("event_facilitators", "event_id", "events"))
                .foreign_key(&mut fk("event_facilitators", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "event_facilitators",
            "event_facilitators_user",
            &["user_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("participations")
                .col(id())
                .col(big_integer("event_id"))
                .col(big_integer("person_id"))
                .col(boolean("waiting"))
                .col(boolean("confirmed"))
                .col(string_len("presence", 16))
                .col(ts("registered_at"))
                .col(big_integer_null("registered_by"))
                .foreign_key(&mut fk("participations", "event_id", "events"))
                .foreign_key(&mut fk("participations", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "participations",
                "participations_event_person",
                &["event_id", "person_id"],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "participations",
            "participations_person",
            &["person_id"],
        ))
        .await?;
        // Empty text filters mean "any"; `confirmed` is "", "yes" or "no".
        m.create_table(
            Table::create()
                .table("rules")
                .col(id())
                .col(string("name"))
                .col(string_len("nature", 16))
                .col(string("event_type"))
                .col(big_integer_null("programme_id"))
                .col(string("step"))
                .col(string_len("mode", 16))
                .col(string_len("presence", 16))
                .col(string_len("confirmed", 8))
                .col(string_len("channel", 16))
                .col(big_integer("template_id"))
                .col(integer("offset_days"))
                .col(boolean("active"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk("rules", "template_id", "templates"))
                .take(),
        )
        .await?;
        // The exactly-once key of automatic sends: a rule reaches a
        // participation once, whatever runs the rule and however often. The
        // row commits in the same transaction as the message it allows.
        m.create_table(
            Table::create()
                .table("rule_deliveries")
                .col(id())
                .col(big_integer("rule_id"))
                .col(big_integer("participation_id"))
                .col(big_integer("event_id"))
                .col(big_integer("person_id"))
                .col(string_len("day", 10))
                .col(string_len_null("excluded", 32))
                .col(ts("created_at"))
                .foreign_key(&mut fk("rule_deliveries", "rule_id", "rules"))
                .foreign_key(&mut fk(
                    "rule_deliveries",
                    "participation_id",
                    "participations",
                ))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "rule_deliveries",
                "rule_deliveries_once",
                &["rule_id", "participation_id"],
            )
            .unique()
            .take(),
        )
        .await?;
        m.create_index(index(
            "rule_deliveries",
            "rule_deliveries_person",
            &["person_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("campaigns")
                .col(id())
                .col(string("name"))
                .col(string_len("recipient_type", 32))
                .col(string_len("channel", 16))
                .col(big_integer("template_id"))
                .col(text("filters"))
                .col(text("selection"))
                .col(string_len("state", 16))
                .col(ts_null("scheduled_at"))
                .col(big_integer_null("send_id"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk("campaigns", "template_id", "templates"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "campaigns",
            "campaigns_due",
            &["state", "scheduled_at"],
        ))
        .await?;
        // Who was left out of a send and why, shown on its report.
        m.create_table(
            Table::create()
                .table("send_exclusions")
                .col(id())
                .col(big_integer("send_id"))
                .col(big_integer("person_id"))
                .col(string_len("reason", 32))
                .foreign_key(&mut fk("send_exclusions", "send_id", "sends"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "send_exclusions",
            "send_exclusions_send",
            &["send_id"],
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("unsubscriptions")
                .col(string("address"))
                .col(string_len("category", 32))
                .col(ts("created_at"))
                .primary_key(Index::create().col("address").col("category"))
                .take(),
        )
        .await?;
        // Which person a message concerns and which event it is about: the
        // histories of the person page and the event page read these.
        for (col, idx) in [("person_id", "outbox_person"), ("event_id", "outbox_event")] {
            let mut c = big_integer_null(col);
            m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
                .await?;
            m.create_index(index("outbox", idx, &[col])).await?;
        }
        let mut c = string_len("recipient_type", 32).default("member").take();
        m.alter_table(Table::alter().table("persons").add_column(&mut c).take())
            .await?;
        let mut c = big_integer_null("referent_person_id");
        m.alter_table(
            Table::alter()
                .table("organisations")
                .add_column(&mut c)
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "unsubscriptions",
            "send_exclusions",
            "campaigns",
            "rule_deliveries",
            "rules",
            "participations",
            "event_facilitators",
            "events",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
