//! Sender identities: personal identities of staff users and shared
//! institutional mailboxes, verified by a code sent to them, assigned to
//! users. Messages remember the identity they were sent as, for the From
//! at delivery and for each user's sent archive.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{id, index, ts, ts_null};

pub struct Identities;

impl MigrationName for Identities {
    fn name(&self) -> &str {
        "m0012_identities"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Identities {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("identities")
                .col(id())
                .col(string_len("kind", 16))
                .col(string("label"))
                .col(string("address"))
                .col(string_null("reply_to"))
                .col(big_integer_null("owner_user_id"))
                .col(boolean("verified"))
                .col(string_null("code_hash"))
                .col(ts_null("code_sent_at"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(
            index(
                "identities",
                "identities_owner",
                &["owner_user_id", "address"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("identity_users")
                .col(big_integer("identity_id"))
                .col(big_integer("user_id"))
                .primary_key(Index::create().col("identity_id").col("user_id"))
                .take(),
        )
        .await?;
        m.create_index(index("identity_users", "identity_users_user", &["user_id"]))
            .await?;
        for t in ["outbox", "campaigns"] {
            let mut c = big_integer_null("identity_id");
            m.alter_table(Table::alter().table(t).add_column(&mut c).take())
                .await?;
        }
        // Partial: automatic and system messages have no identity.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX outbox_identity ON outbox (identity_id, created_at) \
                 WHERE identity_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("outbox_identity")
                .table("outbox")
                .to_owned(),
        )
        .await?;
        for t in ["outbox", "campaigns"] {
            m.alter_table(Table::alter().table(t).drop_column("identity_id").take())
                .await?;
        }
        for t in ["identity_users", "identities"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
