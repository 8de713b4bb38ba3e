//! People, directory and CRM: the full person record, roles,
//! groups and saved lists, background jobs with an audit trail,
//! and the full-text index of each backend.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{date_null, fk, id, index, ts, ts_null};

pub struct People;

impl MigrationName for People {
    fn name(&self) -> &str {
        "m0004_people"
    }
}

async fn add_columns(
    m: &SchemaManager<'_>,
    table: &'static str,
    cols: Vec<ColumnDef>,
) -> Result<(), DbErr> {
    for mut col in cols {
        m.alter_table(Table::alter().table(table).add_column(&mut col).take())
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for People {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The person row keeps a summary of the record (reference e-mail,
        // current promo, programme and position) so that lists, merge data
        // and eligibility read one row; the detail lives in the child tables.
        add_columns(
            m,
            "persons",
            vec![
                string_len("status", 16).default("active").take(),
                date_null("birth_date"),
                string_null("nationality"),
                string_null("site"),
                string_null("external_ref"),
                string_len_null("preferred_channel", 8),
                boolean("gdpr_consent").default(false).take(),
                boolean("sms_consent").default(false).take(),
                text_null("notes"),
                big_integer_null("referent_user_id"),
                big_integer_null("user_id"),
                text("search_text").default("").take(),
                string("name_key").default("").take(),
                string("sort_key").default("").take(),
                ts_null("updated_at"),
            ],
        )
        .await?;
        m.create_index(
            Index::create()
                .name("persons_external_ref")
                .table("persons")
                .col("external_ref")
                .unique()
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("persons_user")
                .table("persons")
                .col("user_id")
                .unique()
                .take(),
        )
        .await?;
        for (name, cols) in [
            ("persons_name_key", &["name_key"][..]),
            ("persons_status", &["status", "sort_key"][..]),
            ("persons_sort", &["sort_key"][..]),
            ("persons_promo", &["promo_year"][..]),
            ("persons_city", &["city"][..]),
            ("persons_country", &["country"][..]),
            ("persons_site", &["site"][..]),
        ] {
            m.create_index(index("persons", name, cols)).await?;
        }

        m.create_table(
            Table::create()
                .table("person_emails")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("address"))
                .col(string_uniq("address_key"))
                .col(boolean("is_reference"))
                .col(boolean("accepts_email"))
                .foreign_key(&mut fk("person_emails", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_emails",
            "person_emails_person",
            &["person_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("person_phones")
                .col(id())
                .col(big_integer("person_id"))
                .col(string_len("number", 20))
                .col(string_len("kind", 16))
                .col(boolean("is_principal"))
                .col(boolean("accepts_contact"))
                .foreign_key(&mut fk("person_phones", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_phones",
            "person_phones_person",
            &["person_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("person_addresses")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("line1"))
                .col(string_null("line2"))
                .col(string_len("postcode", 16))
                .col(string("city"))
                .col(string("country"))
                .col(boolean("is_reference"))
                .foreign_key(&mut fk("person_addresses", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_addresses",
            "person_addresses_person",
            &["person_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("person_education")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("establishment"))
                .col(big_integer_null("programme_id"))
                .col(string("cursus"))
                .col(string("campus"))
                .col(integer_null("promo_year"))
                .col(string("diploma"))
                .col(string("discipline"))
                .foreign_key(&mut fk("person_education", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_education",
            "person_education_person",
            &["person_id"],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("person_experiences")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("company"))
                .col(big_integer_null("organisation_id"))
                .col(string("title"))
                .col(string("sector"))
                .col(date_null("start_date"))
                .col(date_null("end_date"))
                .foreign_key(&mut fk("person_experiences", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_experiences",
            "person_experiences_person",
            &["person_id"],
        ))
        .await?;

        // Skills, interests, sports and languages: one row per value, with
        // the folded value as the key so "Équitation" and "equitation" meet.
        m.create_table(
            Table::create()
                .table("person_tags")
                .col(big_integer("person_id"))
                .col(string_len("kind", 16))
                .col(string("value"))
                .col(string("value_key"))
                .primary_key(
                    Index::create()
                        .col("person_id")
                        .col("kind")
                        .col("value_key"),
                )
                .foreign_key(&mut fk("person_tags", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_tags",
            "person_tags_value",
            &["kind", "value_key"],
        ))
        .await?;

        // Programme 0 stands for "no programme" so the primary key can hold
        // it (NULL would let the same role be granted twice).
        m.create_table(
            Table::create()
                .table("person_roles")
                .col(big_integer("person_id"))
                .col(string_len("role", 16))
                .col(big_integer("programme_id").default(0).take())
                .primary_key(
                    Index::create()
                        .col("person_id")
                        .col("role")
                        .col("programme_id"),
                )
                .foreign_key(&mut fk("person_roles", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "person_roles",
            "person_roles_role",
            &["role", "programme_id"],
        ))
        .await?;
        let db = m.get_connection();
        db.execute_unprepared(
            "INSERT INTO person_roles (person_id, role, programme_id) \
             SELECT id, community_role, 0 FROM persons",
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO person_emails (person_id, address, address_key, is_reference, accepts_email) \
             SELECT id, email, lower(email), true, true FROM persons WHERE email IS NOT NULL",
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("persons")
                .drop_column("community_role")
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("groups")
                .col(id())
                .col(string_uniq("name"))
                .col(string_len("kind", 16))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("group_members")
                .col(big_integer("group_id"))
                .col(big_integer("person_id"))
                .primary_key(Index::create().col("group_id").col("person_id"))
                .foreign_key(&mut fk("group_members", "group_id", "groups"))
                .foreign_key(&mut fk("group_members", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "group_members",
            "group_members_person",
            &["person_id"],
        ))
        .await?;

        // A saved list keeps its criteria (re-evaluated lists) and, when
        // static, the members found when it was saved.
        m.create_table(
            Table::create()
                .table("saved_lists")
                .col(id())
                .col(string("name"))
                .col(big_integer_null("owner_user_id"))
                .col(text("criteria"))
                .col(boolean("dynamic"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("saved_list_members")
                .col(big_integer("list_id"))
                .col(big_integer("person_id"))
                .primary_key(Index::create().col("list_id").col("person_id"))
                .foreign_key(&mut fk("saved_list_members", "list_id", "saved_lists"))
                .foreign_key(&mut fk("saved_list_members", "person_id", "persons"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("jobs")
                .col(id())
                .col(string_len("kind", 32))
                .col(string_len("state", 16))
                .col(big_integer("total"))
                .col(big_integer("done"))
                .col(text("payload"))
                .col(text_null("result"))
                .col(big_integer_null("created_by"))
                .col(string_null("lease_owner"))
                .col(ts_null("lease_until"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .take(),
        )
        .await?;
        m.create_index(index("jobs", "jobs_state", &["state", "id"]))
            .await?;

        m.create_table(
            Table::create()
                .table("audit_log")
                .col(id())
                .col(big_integer_null("user_id"))
                .col(string_len("action", 32))
                .col(text("detail"))
                .col(big_integer("count"))
                .col(ts("created_at"))
                .take(),
        )
        .await?;
        m.create_index(index("audit_log", "audit_log_created", &["created_at"]))
            .await?;

        m.create_table(
            Table::create()
                .table("user_prefs")
                .col(big_integer("user_id"))
                .col(string_len("key", 32))
                .col(text("value"))
                .primary_key(Index::create().col("user_id").col("key"))
                .foreign_key(&mut fk("user_prefs", "user_id", "users"))
                .take(),
        )
        .await?;

        db.execute_unprepared(
            "UPDATE persons SET search_text = lower(first_name || ' ' || last_name || ' ' \
             || city || ' ' || country || ' ' || coalesce(job_title, '')), \
             name_key = lower(first_name || ' ' || last_name), \
             sort_key = lower(last_name || ' ' || first_name)",
        )
        .await?;
        match db.get_database_backend() {
            DbBackend::Postgres => {
                // The text is folded (lower case, no accents) by the
                // application on write, the same function on both backends,
                // so the index needs neither unaccent nor a non-immutable
                // expression. (The trigram index made here served no query: m0017
                // drops it, and moves the vector to `person_search`.)
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "ALTER TABLE persons ADD COLUMN search_vec tsvector \
                     GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX persons_search_vec ON persons USING gin (search_vec)",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE INDEX persons_search_trgm ON persons USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            _ => {
                // External-content FTS5 index kept in step by triggers, so
                // no write path can forget it.
                for sql in [
                    "CREATE VIRTUAL TABLE persons_fts USING fts5(search_text, \
                     content='persons', content_rowid='id', \
                     tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
                    "CREATE TRIGGER persons_fts_ai AFTER INSERT ON persons BEGIN \
                     INSERT INTO persons_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
                    "CREATE TRIGGER persons_fts_ad AFTER DELETE ON persons BEGIN \
                     INSERT INTO persons_fts(persons_fts, rowid, search_text) \
                     VALUES ('delete', old.id, old.search_text); END",
                    "CREATE TRIGGER persons_fts_au AFTER UPDATE OF search_text ON persons BEGIN \
                     INSERT INTO persons_fts(persons_fts, rowid, search_text) \
                     VALUES ('delete', old.id, old.search_text); \
                     INSERT INTO persons_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
                    "INSERT INTO persons_fts(persons_fts) VALUES ('rebuild')",
                ] {
                    db.execute_unprepared(sql).await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() == DbBackend::Sqlite {
            for sql in [
                "DROP TRIGGER persons_fts_ai",
                "DROP TRIGGER persons_fts_ad",
                "DROP TRIGGER persons_fts_au",
                "DROP TABLE persons_fts",
            ] {
                db.execute_unprepared(sql).await?;
            }
        } else {
            db.execute_unprepared("ALTER TABLE persons DROP COLUMN search_vec")
                .await?;
        }
        for t in [
            "user_prefs",
            "audit_log",
            "jobs",
            "saved_list_members",
            "saved_lists",
            "group_members",
            "groups",
            "person_roles",
            "person_tags",
            "person_experiences",
            "person_education",
            "person_addresses",
            "person_phones",
            "person_emails",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
