//! SMS: the provider account, the packages of credit bought, and what
//! the outbox needs to bill and follow an SMS (segments, the provider's id,
//! its delivery receipt).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{id, index, ts, ts_null};

pub struct Sms;

impl MigrationName for Sms {
    fn name(&self) -> &str {
        "m0010_sms"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Sms {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Secrets (tokens, keys) are sealed with the network's secret key;
        // the other settings are plain JSON.
        m.create_table(
            Table::create()
                .table("sms_accounts")
                .col(id())
                .col(string_len("provider", 16))
                .col(string("label"))
                .col(string("sender"))
                .col(text("settings"))
                .col(text("secrets"))
                .col(boolean("transliterate"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("sms_packages")
                .col(id())
                .col(string_len("purchased_on", 10))
                .col(big_integer("quantity"))
                .col(string("note"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        let mut c = integer_null("segments");
        m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
            .await?;
        let mut c = string_null("provider_id");
        m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
            .await?;
        let mut c = string_len_null("receipt", 16);
        m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
            .await?;
        let mut c = ts_null("receipt_at");
        m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
            .await?;
        // Partial: only SMS handed to a provider have an id, and e-mail rows
        // (nearly all) then cost nothing to insert.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX outbox_provider_id ON outbox (provider_id) \
                 WHERE provider_id IS NOT NULL",
            )
            .await?;
        // E-mail and SMS workers each claim their own channel's due rows.
        m.create_index(index(
            "outbox",
            "outbox_channel_due",
            &["channel", "state", "next_attempt_at"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for i in ["outbox_channel_due", "outbox_provider_id"] {
            m.drop_index(Index::drop().name(i).table("outbox").to_owned())
                .await?;
        }
        for c in ["receipt_at", "receipt", "provider_id", "segments"] {
            m.alter_table(Table::alter().table("outbox").drop_column(c).take())
                .await?;
        }
        for t in ["sms_packages", "sms_accounts"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
