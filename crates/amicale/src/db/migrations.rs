//! Schema migrations, written once for both backends through SeaQuery.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(Foundation)]
    }
}

#[derive(DeriveMigrationName)]
struct Foundation;

fn id() -> ColumnDef {
    big_integer("id").auto_increment().primary_key().take()
}

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn fk(table: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn index(table: &'static str, name: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    idx.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Foundation {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("settings")
                .col(string("key").primary_key())
                .col(text("value"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(id())
                .col(string_uniq("email"))
                .col(string("password_hash"))
                .col(string("display_name"))
                .col(boolean("is_admin"))
                .col(string_len("locale", 8))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("sessions")
                .col(string("token_hash").primary_key())
                .col(big_integer("user_id"))
                .col(boolean("remember"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .foreign_key(&mut fk("sessions", "user_id", "users"))
                .take(),
        )
        .await?;
        m.create_index(index("sessions", "sessions_user", &["user_id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("login_throttle")
                .col(string("key").primary_key())
                .col(integer("failures"))
                .col(ts("window_start"))
                .col(ts_null("locked_until"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("password_resets")
                .col(string("token_hash").primary_key())
                .col(big_integer("user_id"))
                .col(ts("created_at"))
                .col(ts("expires_at"))
                .col(ts_null("used_at"))
                .foreign_key(&mut fk("password_resets", "user_id", "users"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("outbox")
                .col(id())
                .col(string_len("channel", 16))
                .col(string("recipient"))
                .col(text("subject"))
                .col(text("body_text"))
                .col(text_null("body_html"))
                .col(string_len("origin", 16))
                .col(big_integer_null("origin_id"))
                .col(string_len("state", 16))
                .col(integer("attempts"))
                .col(ts("next_attempt_at"))
                .col(string_null("lease_owner"))
                .col(ts_null("lease_until"))
                .col(text_null("last_answer"))
                .col(string("message_id"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("sent_at"))
                .take(),
        )
        .await?;
        m.create_index(index("outbox", "outbox_due", &["state", "next_attempt_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("schedule_tasks")
                .col(string("name").primary_key())
                .col(ts("registered_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("schedule_slots")
                .col(string("task"))
                .col(ts("slot_at"))
                .col(string("claimed_by"))
                .col(ts("claimed_at"))
                .col(ts_null("finished_at"))
                .col(string_len("outcome", 16))
                .col(text_null("detail"))
                .primary_key(Index::create().col("task").col("slot_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("programmes")
                .col(id())
                .col(string_uniq("code"))
                .col(string("name"))
                .col(string("level"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("organisations")
                .col(id())
                .col(string_uniq("name"))
                .col(string("sector"))
                .col(string("city"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("persons")
                .col(id())
                .col(string_len("civility", 8))
                .col(string("first_name"))
                .col(string("last_name"))
                .col(string_null("email"))
                .col(string("city"))
                .col(string("country"))
                .col(integer_null("promo_year"))
                .col(big_integer_null("programme_id"))
                .col(big_integer_null("organisation_id"))
                .col(string_null("job_title"))
                .col(string_len("community_role", 16))
                .col(ts("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("persons", "programme_id")
                        .to("programmes", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("persons", "organisation_id")
                        .to("organisations", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("persons_email")
                .table("persons")
                .col("email")
                .unique()
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "persons",
            "organisations",
            "programmes",
            "schedule_slots",
            "schedule_tasks",
            "outbox",
            "password_resets",
            "login_throttle",
            "sessions",
            "users",
            "settings",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
