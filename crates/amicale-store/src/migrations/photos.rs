//! Person photos, at most 1 MB each, checked by content.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{fk, ts};

pub struct Photos;

impl MigrationName for Photos {
    fn name(&self) -> &str {
        "m0008_photos"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Photos {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("person_photos")
                .col(big_integer("person_id").primary_key())
                .col(string("content_type"))
                .col(blob("data"))
                .col(ts("updated_at"))
                .foreign_key(&mut fk("person_photos", "person_id", "persons"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("person_photos").take())
            .await
    }
}
