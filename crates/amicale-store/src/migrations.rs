//! Schema migrations, written once for both backends through SeaQuery.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

mod accounts;
mod events;
mod followup;
mod identities;
mod outbox_indexes;
mod people;
mod photos;
pub mod profiles;
mod registrations;
mod routing;
mod search_table;
mod security;

pub use search_table::PARTITIONS as PG_SEARCH_PARTITIONS;
mod sms;
mod tracking;
mod transports;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(Foundation),
            Box::new(Templates),
            Box::new(Delivery),
            Box::new(people::People),
            Box::new(accounts::Accounts),
            Box::new(registrations::RegistrationOrigin),
            Box::new(profiles::Profiles),
            Box::new(photos::Photos),
            Box::new(events::Events),
            Box::new(sms::Sms),
            Box::new(tracking::Tracking),
            Box::new(identities::Identities),
            Box::new(transports::Transports),
            Box::new(routing::Routing),
            Box::new(followup::Followup),
            Box::new(outbox_indexes::OutboxIndexes),
            Box::new(search_table::SearchTable),
            Box::new(security::Security),
        ]
    }
}

/// Names are explicit: the derive would name every migration of this file
/// after the file, and the names are the keys of `seaql_migrations`.
struct Foundation;

impl MigrationName for Foundation {
    fn name(&self) -> &str {
        "m0001_foundation"
    }
}

fn id() -> ColumnDef {
    big_integer("id").auto_increment().primary_key().take()
}

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn date_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(Alias::new(name)).date().null().take()
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

struct Templates;

impl MigrationName for Templates {
    fn name(&self) -> &str {
        "m0002_templates"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Templates {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("templates")
                .col(id())
                .col(string_len("kind", 16))
                .col(string("name"))
                .col(boolean("active"))
                .col(string("recipient_types"))
                .col(string("sending_modes"))
                .col(big_integer_null("current_version_id"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .col(big_integer_null("updated_by"))
                .col(ts("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("templates", "created_by")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from("templates", "updated_by")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("template_versions")
                .col(id())
                .col(big_integer("template_id"))
                .col(integer("number"))
                .col(text("subject_fr"))
                .col(text("body_fr"))
                .col(text("text_fr"))
                .col(text_null("subject_en"))
                .col(text_null("body_en"))
                .col(text_null("text_en"))
                .col(boolean("text_edited"))
                .col(boolean("frozen"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("template_versions", "template_id", "templates"))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("template_versions_number")
                .table("template_versions")
                .col("template_id")
                .col("number")
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("template_attachments")
                .col(id())
                .col(big_integer("template_id"))
                .col(string("filename"))
                .col(string("content_type"))
                .col(big_integer("size"))
                .col(string("sha256"))
                .col(blob("data"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("template_attachments", "template_id", "templates"))
                .take(),
        )
        .await?;

        // Which template version a message was rendered from: counts per
        // template, frozen versions, "view as received".
        m.alter_table(
            Table::alter()
                .table("outbox")
                .add_column(big_integer_null("template_version_id"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "outbox",
            "outbox_template_version",
            &["template_version_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("outbox_template_version")
                .table("outbox")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("outbox")
                .drop_column("template_version_id")
                .take(),
        )
        .await?;
        for t in ["template_attachments", "template_versions", "templates"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}

struct Delivery;

impl MigrationName for Delivery {
    fn name(&self) -> &str {
        "m0003_delivery"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Delivery {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // A send groups the messages of one mailing, campaign or batch so it
        // can be paused, resumed, stopped and followed.
        m.create_table(
            Table::create()
                .table("sends")
                .col(id())
                .col(string("label"))
                .col(string_len("origin", 16))
                .col(big_integer_null("origin_id"))
                .col(string_len("state", 16))
                .col(big_integer("total"))
                .col(big_integer_null("created_by"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("suppressions")
                .col(string("address").primary_key())
                .col(string_len("reason", 16))
                .col(text_null("detail"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        for col in [
            big_integer_null("send_id"),
            text_null("merge_data"),
            string_len_null("locale", 8),
        ] {
            let mut col = col;
            m.alter_table(Table::alter().table("outbox").add_column(&mut col).take())
                .await?;
        }
        m.create_index(index("outbox", "outbox_send", &["send_id", "state"]))
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("outbox_send").table("outbox").to_owned())
            .await?;
        for c in ["locale", "merge_data", "send_id"] {
            m.alter_table(Table::alter().table("outbox").drop_column(c).take())
                .await?;
        }
        m.drop_table(Table::drop().table("suppressions").take())
            .await?;
        m.drop_table(Table::drop().table("sends").take()).await?;
        Ok(())
    }
}
