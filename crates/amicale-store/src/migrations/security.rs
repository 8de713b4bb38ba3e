//! Security review (issue 20): registrations wait for their address to be
//! proven in a table of their own, mails to third parties are counted per
//! address and per client, and identity codes count wrong attempts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Security;

impl MigrationName for Security {
    fn name(&self) -> &str {
        "m0018_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Security {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A registration before its address is proven: nothing in `persons`
        // or `users` changes until the link mailed to it is followed.
        m.create_table(
            Table::create()
                .table("registration_requests")
                .col(string("token_hash").primary_key())
                .col(string("email"))
                .col(text("data"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("mail_throttle")
                .col(string("key").primary_key())
                .col(integer("count"))
                .col(timestamp_with_time_zone("window_start"))
                .take(),
        )
        .await?;
        // The address a registration proved: its login, whatever becomes of
        // the record's main address before a moderator decides.
        let mut proven = string_null("email").take();
        m.alter_table(
            Table::alter()
                .table("registrations")
                .add_column(&mut proven)
                .take(),
        )
        .await?;
        let mut col = integer("code_attempts").default(0).take();
        m.alter_table(
            Table::alter()
                .table("identities")
                .add_column(&mut col)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("identities")
                .drop_column("code_attempts")
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("registrations")
                .drop_column("email")
                .take(),
        )
        .await?;
        for t in ["mail_throttle", "registration_requests"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
