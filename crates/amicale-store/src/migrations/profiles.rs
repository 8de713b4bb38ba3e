//! Permission profiles, the four shipped ones, and what a staff user
//! needs for scopes: a profile, a site and a team.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::id;

pub struct Profiles;

/// The four shipped profiles, as the permission model serialised them when
/// this migration was written. Frozen here as data: a migration that read
/// live code would seed a different database after each change to it.
pub const SHIPPED: [(&str, &str); 4] = [
    (
        "administrator",
        r#"{"directory":{"visible":true,"level":"create","scope":"all"},"people":{"visible":true,"level":"create","scope":"all"},"templates":{"visible":true,"level":"create","scope":"all"},"sends":{"visible":true,"level":"create","scope":"all"},"registrations":{"visible":true,"level":"create","scope":"all"},"administration":{"visible":true,"level":"create","scope":"all"},"events":{"visible":true,"level":"create","scope":"all"}}"#,
    ),
    (
        "communication_manager",
        r#"{"directory":{"visible":true,"level":"consult","scope":"all"},"people":{"visible":true,"level":"consult","scope":"all"},"templates":{"visible":true,"level":"create","scope":"all"},"sends":{"visible":true,"level":"create","scope":"all"},"events":{"visible":true,"level":"consult","scope":"all"}}"#,
    ),
    (
        "advisor",
        r#"{"directory":{"visible":true,"level":"consult","scope":"all"},"people":{"visible":true,"level":"modify","scope":"assigned"},"templates":{"visible":true,"level":"consult","scope":"all"},"sends":{"visible":true,"level":"modify","scope":"assigned"},"events":{"visible":true,"level":"create","scope":"all"}}"#,
    ),
    (
        "partner_manager",
        r#"{"directory":{"visible":true,"level":"consult","scope":"all"},"people":{"visible":true,"level":"consult","scope":"site"}}"#,
    ),
];

impl MigrationName for Profiles {
    fn name(&self) -> &str {
        "m0007_profiles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Profiles {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("permission_profiles")
                .col(id())
                .col(string_uniq("name"))
                .col(boolean("builtin"))
                .col(text("matrix"))
                .take(),
        )
        .await?;
        for col in [
            big_integer_null("profile_id"),
            string_null("site"),
            string_null("team"),
        ] {
            let mut col = col;
            m.alter_table(Table::alter().table("users").add_column(&mut col).take())
                .await?;
        }
        let db = m.get_connection();
        for (name, json) in SHIPPED {
            let sql = match db.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "INSERT INTO permission_profiles (name, builtin, matrix) VALUES ($1, true, $2)"
                }
                _ => "INSERT INTO permission_profiles (name, builtin, matrix) VALUES (?, true, ?)",
            };
            db.execute_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [name.into(), json.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in ["team", "site", "profile_id"] {
            m.alter_table(Table::alter().table("users").drop_column(c).take())
                .await?;
        }
        m.drop_table(Table::drop().table("permission_profiles").take())
            .await
    }
}

#[cfg(test)]
mod tests {
    use amicale_kernel::permissions::{Level, Matrix, Module};

    /// The frozen seeds still read as the live permission model, so the
    /// shipped profiles grant what their names say.
    #[test]
    fn the_frozen_profiles_read_as_matrices() {
        for (name, json) in super::SHIPPED {
            let m: Matrix = serde_json::from_str(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(m.allows(Module::Directory, Level::Consult), "{name}");
        }
        let admin: Matrix = serde_json::from_str(super::SHIPPED[0].1).unwrap();
        for module in Module::ALL {
            assert!(admin.allows(module, Level::Create), "{module:?}");
        }
    }
}
