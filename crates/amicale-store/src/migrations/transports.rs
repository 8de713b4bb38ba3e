//! Transports and deliverability edited in Administration: SMTP
//! profiles and DKIM keys, their secrets sealed with the network's key.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{id, ts};

pub struct Transports;

impl MigrationName for Transports {
    fn name(&self) -> &str {
        "m0013_transports"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Transports {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("smtp_profiles")
                .col(id())
                .col(string("label"))
                .col(string("host"))
                .col(integer("port"))
                .col(string_len("tls", 16))
                .col(string("username"))
                .col(text("password"))
                .col(integer("timeout_secs"))
                .col(double("rate_per_sec"))
                .col(boolean("is_default"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("dkim_keys")
                .col(id())
                .col(string("domain"))
                .col(string("selector"))
                .col(string_len("algorithm", 16))
                .col(text("private_key"))
                .col(text("dns_record"))
                .col(boolean("active"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["dkim_keys", "smtp_profiles"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
