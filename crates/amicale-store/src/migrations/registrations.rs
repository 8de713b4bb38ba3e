//! A registration remembers whether it created its person, so refusing it
//! removes only what it added.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct RegistrationOrigin;

impl MigrationName for RegistrationOrigin {
    fn name(&self) -> &str {
        "m0006_registration_origin"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for RegistrationOrigin {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut col = boolean("new_person").default(true).take();
        m.alter_table(
            Table::alter()
                .table("registrations")
                .add_column(&mut col)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("registrations")
                .drop_column("new_person")
                .take(),
        )
        .await
    }
}
