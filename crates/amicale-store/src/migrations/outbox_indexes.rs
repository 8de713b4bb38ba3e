//! Outbox indexes for delivery at thousands of messages a second:
//! - a send's rate (its progress page, once a second per viewer) counts the
//!   messages delivered in the last seconds; without an index that count
//!   read every row of the send, merge data included;
//! - `outbox_due` (state, next attempt) duplicated `outbox_channel_due`
//!   (channel, state, next attempt), and each message changes state twice:
//!   keeping both cost a third of the outbox's writes.

use sea_orm_migration::prelude::*;

pub struct OutboxIndexes;

impl MigrationName for OutboxIndexes {
    fn name(&self) -> &str {
        "m0016_outbox_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OutboxIndexes {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Partial: queued messages (most of a large send) stay out of it.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX outbox_send_sent ON outbox (send_id, sent_at) \
                 WHERE sent_at IS NOT NULL",
            )
            .await?;
        m.drop_index(Index::drop().name("outbox_due").table("outbox").to_owned())
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("outbox_due")
                .table("outbox")
                .col("state")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("outbox_send_sent")
                .table("outbox")
                .to_owned(),
        )
        .await
    }
}
