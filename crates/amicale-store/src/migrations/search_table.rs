//! On PostgreSQL, the directory's full-text index moves from `persons` to a
//! narrow table of its own, hash-partitioned by person.
//!
//! - Narrow: a search reads a row for each match it keeps (its name, to
//!   sort), and a `persons` row is ~1.8 KB, the search text and its vector
//!   most of it; a `person_search` row is the id, whether the person is
//!   active, the sort key and the vector without positions (no search uses
//!   them).
//! - Partitioned: GIN gathers every entry of every word a term matches
//!   before it returns a single row, so a search matching 50,000 persons
//!   paid for 50,000 entries to keep 1,001. Each of the 16 partitions has
//!   its own index and `LIMIT` stops scanning partitions once it has its
//!   rows: a common search reads one or two partitions' entries.
//!
//! The trigram index of `persons.search_text` goes: nothing searched it.
//!
//! Kept in step by statement triggers on `persons`: any write path, SQL
//! included, and a bulk insert pays once per statement. No foreign key: its
//! check would cost a lookup and a lock in `persons` per row inserted (an
//! import of 100,000 persons is 1.5 s faster without), and the delete
//! trigger does what its cascade would. SQLite keeps its FTS5 table.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct SearchTable;

impl MigrationName for SearchTable {
    fn name(&self) -> &str {
        "m0017_person_search"
    }
}

/// Partitions of `person_search`: at a million persons, ~62,500 each, so a
/// search matching one person in sixty fills the cap from the first.
pub const PARTITIONS: u32 = 16;

#[async_trait::async_trait]
impl MigrationTrait for SearchTable {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let mut sql = vec![
            "CREATE TABLE person_search (\
               id bigint PRIMARY KEY, \
               active boolean NOT NULL, \
               sort_key text NOT NULL, \
               vec tsvector NOT NULL) PARTITION BY HASH (id)"
                .to_owned(),
        ];
        for r in 0..PARTITIONS {
            sql.push(format!(
                "CREATE TABLE person_search_{r} PARTITION OF person_search \
                 FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {r})"
            ));
        }
        sql.extend(
            [
                "INSERT INTO person_search (id, active, sort_key, vec) \
                 SELECT id, status = 'active', sort_key, strip(to_tsvector('simple', search_text)) \
                 FROM persons",
                "CREATE INDEX person_search_vec ON person_search USING gin (vec)",
                "ALTER TABLE persons DROP COLUMN search_vec",
                // No query ever used it (every search goes through the
                // vector), and its ~400 trigrams a person made it the
                // costliest write of an import: 100,000 persons at a
                // million, 33.6 s with it, 19.6 s without.
                "DROP INDEX persons_search_trgm",
                "CREATE FUNCTION person_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   INSERT INTO person_search (id, active, sort_key, vec) \
                   SELECT id, status = 'active', sort_key, strip(to_tsvector('simple', search_text)) \
                   FROM new_rows; \
                   RETURN NULL; \
                 END $$",
                // Only rows whose searched columns changed: a login or a
                // photo rewrites nothing here.
                "CREATE FUNCTION person_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   UPDATE person_search s \
                   SET active = n.status = 'active', sort_key = n.sort_key, \
                       vec = strip(to_tsvector('simple', n.search_text)) \
                   FROM new_rows n JOIN old_rows o ON o.id = n.id \
                   WHERE s.id = n.id AND (n.search_text IS DISTINCT FROM o.search_text \
                     OR n.sort_key IS DISTINCT FROM o.sort_key \
                     OR n.status IS DISTINCT FROM o.status); \
                   RETURN NULL; \
                 END $$",
                "CREATE FUNCTION person_search_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN \
                   DELETE FROM person_search WHERE id IN (SELECT id FROM old_rows); \
                   RETURN NULL; \
                 END $$",
                "CREATE TRIGGER persons_search_inserted AFTER INSERT ON persons \
                 REFERENCING NEW TABLE AS new_rows \
                 FOR EACH STATEMENT EXECUTE FUNCTION person_search_inserted()",
                "CREATE TRIGGER persons_search_updated AFTER UPDATE ON persons \
                 REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
                 FOR EACH STATEMENT EXECUTE FUNCTION person_search_updated()",
                "CREATE TRIGGER persons_search_deleted AFTER DELETE ON persons \
                 REFERENCING OLD TABLE AS old_rows \
                 FOR EACH STATEMENT EXECUTE FUNCTION person_search_deleted()",
            ]
            .map(str::to_owned),
        );
        for s in sql {
            db.execute_unprepared(&s).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for s in [
            "DROP TRIGGER persons_search_deleted ON persons",
            "DROP TRIGGER persons_search_updated ON persons",
            "DROP TRIGGER persons_search_inserted ON persons",
            "DROP FUNCTION person_search_deleted()",
            "DROP FUNCTION person_search_updated()",
            "DROP FUNCTION person_search_inserted()",
            "DROP TABLE person_search",
            "ALTER TABLE persons ADD COLUMN search_vec tsvector \
             GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED",
            "CREATE INDEX persons_search_vec ON persons USING gin (search_vec)",
            "CREATE INDEX persons_search_trgm ON persons USING gin (search_text gin_trgm_ops)",
        ] {
            db.execute_unprepared(s).await?;
        }
        Ok(())
    }
}
