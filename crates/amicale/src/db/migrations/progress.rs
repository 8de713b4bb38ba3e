//! A send's rate (its progress page, once a second per viewer) counts the
//! messages delivered in the last seconds. Without this index that count
//! read every row of the send, merge data included.

use sea_orm_migration::prelude::*;

pub struct Progress;

impl MigrationName for Progress {
    fn name(&self) -> &str {
        "m0016_send_progress"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Progress {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Partial: queued messages (most of a large send) stay out of it.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX outbox_send_sent ON outbox (send_id, sent_at) \
                 WHERE sent_at IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("outbox_send_sent")
                .table("outbox")
                .to_owned(),
        )
        .await
    }
}
