//! Opens and clicks: one row per message, kind and link, first time
//! only. The send and the rule are copied in so reports group without
//! joining the outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{id, index, ts};

pub struct Tracking;

impl MigrationName for Tracking {
    fn name(&self) -> &str {
        "m0011_tracking"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Tracking {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tracking_events")
                .col(id())
                .col(big_integer("outbox_id"))
                .col(big_integer_null("send_id"))
                .col(big_integer_null("rule_id"))
                .col(string_len("kind", 8))
                // Empty for an open: the unique key then dedupes opens too.
                .col(text("url"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "tracking_events",
                "tracking_once",
                &["outbox_id", "kind", "url"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_index(index(
            "tracking_events",
            "tracking_send",
            &["send_id", "kind"],
        ))
        .await?;
        m.create_index(index(
            "tracking_events",
            "tracking_rule",
            &["rule_id", "kind"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("tracking_events").take())
            .await?;
        Ok(())
    }
}
