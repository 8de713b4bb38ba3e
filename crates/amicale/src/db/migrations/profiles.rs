//! Permission profiles, the four shipped ones, and what a staff user
//! needs for scopes: a profile, a site and a team.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::id;

pub struct Profiles;

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
        for (name, matrix) in crate::web::permissions::shipped() {
            let json = serde_json::to_string(&matrix)
                .map_err(|e| DbErr::Custom(format!("profile {name}: {e}")))?;
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
