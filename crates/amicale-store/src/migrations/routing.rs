//! Connection pools and routing: how many connections an SMTP profile
//! may hold and how many of them may talk to one destination domain at once,
//! the profile a sender identity goes through, and the copies (CC/BCC) of a
//! manual mail.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Routing;

impl MigrationName for Routing {
    fn name(&self) -> &str {
        "m0014_routing"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Routing {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in ["max_connections", "per_domain"] {
            let mut c = integer(name);
            c.default(0);
            m.alter_table(
                Table::alter()
                    .table("smtp_profiles")
                    .add_column(&mut c)
                    .take(),
            )
            .await?;
        }
        let mut c = big_integer_null("smtp_profile_id");
        m.alter_table(Table::alter().table("identities").add_column(&mut c).take())
            .await?;
        let mut c = text_null("copies");
        m.alter_table(Table::alter().table("outbox").add_column(&mut c).take())
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (t, c) in [
            ("outbox", "copies"),
            ("identities", "smtp_profile_id"),
            ("smtp_profiles", "per_domain"),
            ("smtp_profiles", "max_connections"),
        ] {
            m.alter_table(Table::alter().table(t).drop_column(c).take())
                .await?;
        }
        Ok(())
    }
}
