//! The store: the database connection on SQLite or PostgreSQL (chosen by
//! URL), its migrations and entities, network settings, and the one error
//! type every layer above returns.

/// Declares a closed set of codes stored as text: the column reads and
/// writes the enum, so an unknown value is an error where it is read, not a
/// string compared by hand in every query.
#[macro_export]
macro_rules! stored_codes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Text")]
        pub enum $name { $($(#[$vm])* #[sea_orm(string_value = $s)] $v),+ }

        amicale_kernel::codes_impl!($name { $($v = $s),+ });
    };
}

pub mod entities;
pub mod error;
pub mod migrations;
pub mod setting;

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};
use sea_orm_migration::MigratorTrait;

use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> AppResult<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(AppError::Config(
                "database_url must start with sqlite: or postgres://".into(),
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub fn of<C: ConnectionTrait>(db: &C) -> Self {
        match db.get_database_backend() {
            DbBackend::Postgres => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }
}

/// Opens a pool. SQLite gets WAL, a busy timeout and foreign keys on every
/// connection of the pool, not just the first one.
pub async fn connect(url: &str) -> AppResult<DatabaseConnection> {
    connect_pool(url, 8, false).await
}

/// The connection the delivery engine claims and records through. On
/// SQLite it is one connection of its own: a write from another connection
/// empties a connection's page cache, so a worker sharing the pool reread
/// the outbox's pages at every batch (a seventh of its throughput). On
/// PostgreSQL the shared pool serves.
pub async fn connect_outbox(
    url: &str,
    shared: &DatabaseConnection,
) -> AppResult<DatabaseConnection> {
    match Backend::from_url(url)? {
        Backend::Sqlite => connect_pool(url, 1, true).await,
        Backend::Postgres => Ok(shared.clone()),
    }
}

/// Rows a SQLite connection's thread may hand over ahead of the reader.
const ROW_BUFFER: usize = 1024;

/// `outbox`: the delivery engine's own SQLite connection, whose temporary
/// storage is memory (below).
async fn connect_pool(
    url: &str,
    sqlite_connections: u32,
    outbox: bool,
) -> AppResult<DatabaseConnection> {
    let backend = Backend::from_url(url)?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10));
    match backend {
        Backend::Sqlite => {
            opts.max_connections(sqlite_connections)
                .map_sqlx_sqlite_opts(move |o| {
                    let o = o
                        .create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                        // Rows cross from the connection's thread to the
                        // task through a bounded channel; once full, each
                        // row taken wakes the thread for one more. A whole
                        // claim (up to AMICALE_OUTBOX_BATCH rows) now fits.
                        .row_buffer_size(ROW_BUFFER);
                    // Recording a batch of outcomes changes hundreds of rows
                    // in one statement inside a transaction; past 64 KiB its
                    // undo journal spilled to a temporary file, created and
                    // deleted for every batch. The outbox's statements are
                    // bounded by the claim size; the shared pool keeps
                    // spilling large sorts to disk rather than to memory.
                    if outbox {
                        o.pragma("temp_store", "memory")
                    } else {
                        o
                    }
                });
        }
        Backend::Postgres => {
            // JIT compiling costs ~50 ms per plan the planner finds
            // expensive, such as a directory search it expects to read many
            // rows for: more than the query itself.
            opts.max_connections(16)
                .map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
        }
    }
    Ok(Database::connect(opts).await?)
}

pub async fn migrate(db: &DatabaseConnection) -> AppResult<()> {
    migrations::Migrator::up(db, None).await?;
    refresh_statistics(db).await
}

/// Gives SQLite's query planner the persons table's statistics, which
/// PostgreSQL's autovacuum keeps by itself. Without them SQLite takes
/// "status = 'active'" for a rare value and answers a directory search by
/// walking the status index over every person, checking each against the
/// full-text matches (85 ms at a million persons instead of 9). Sampled
/// (`analysis_limit`): 0.1 s at a million persons; run at start and hourly.
pub async fn refresh_statistics(db: &DatabaseConnection) -> AppResult<()> {
    if Backend::of(db) == Backend::Sqlite {
        db.execute_unprepared("PRAGMA analysis_limit = 1000; ANALYZE persons")
            .await?;
    }
    Ok(())
}

pub async fn ping(db: &DatabaseConnection) -> AppResult<()> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(())
}
