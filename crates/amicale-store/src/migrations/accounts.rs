//! Account lifecycle: invitations with their reminders and
//! self-registrations waiting for moderation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, id, index, ts, ts_null};

pub struct Accounts;

impl MigrationName for Accounts {
    fn name(&self) -> &str {
        "m0005_accounts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Accounts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One open invitation per person at most; the token is stored as its
        // hash, and `reminders` is the stage reached (0, then D+4, D+10, D+60),
        // advanced by compare-and-set so a reminder goes out once.
        m.create_table(
            Table::create()
                .table("invitations")
                .col(id())
                .col(big_integer("person_id"))
                .col(string_uniq("token_hash"))
                .col(integer("reminders"))
                .col(ts("created_at"))
                .col(ts("last_sent_at"))
                .col(ts_null("used_at"))
                .col(big_integer_null("created_by"))
                .foreign_key(&mut fk("invitations", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "invitations",
            "invitations_open",
            &["used_at", "created_at"],
        ))
        .await?;
        m.create_index(index("invitations", "invitations_person", &["person_id"]))
            .await?;
        let mut col = boolean("invitations_stop").default(false).take();
        m.alter_table(Table::alter().table("persons").add_column(&mut col).take())
            .await?;
        m.create_table(
            Table::create()
                .table("registrations")
                .col(big_integer("person_id").primary_key())
                .col(string("password_hash"))
                .col(string_len("locale", 8))
                .col(ts("created_at"))
                .foreign_key(&mut fk("registrations", "person_id", "persons"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("registrations").take())
            .await?;
        m.drop_table(Table::drop().table("invitations").take())
            .await?;
        m.alter_table(
            Table::alter()
                .table("persons")
                .drop_column("invitations_stop")
                .take(),
        )
        .await?;
        Ok(())
    }
}
