//! Follow-up of persons accompanied by staff (JUNGO2's "entrepreneurs"):
//! situations over time, projects, programme enrolments, tasks and
//! documents. Campaign filters read the first three.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use super::{date_null, fk, id, index, ts};

pub struct Followup;

impl MigrationName for Followup {
    fn name(&self) -> &str {
        "m0015_followup"
    }
}

fn flag(name: &'static str) -> ColumnDef {
    boolean(name).default(false).take()
}

const TABLES: [&str; 5] = [
    "person_situations",
    "person_projects",
    "person_enrolments",
    "person_tasks",
    "person_documents",
];

#[async_trait::async_trait]
impl MigrationTrait for Followup {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("person_situations")
                .col(id())
                .col(big_integer("person_id"))
                .col(
                    ColumnDef::new(Alias::new("situation_date"))
                        .date()
                        .not_null(),
                )
                .col(string_len_null("employment_status", 32))
                .col(string_len_null("socio_category", 32))
                .col(string_len_null("education_level", 32))
                .col(flag("disability"))
                .col(flag("minimum_income"))
                .col(flag("priority_area"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("person_situations", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("person_projects")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("title"))
                .col(string_len("state", 32))
                .col(string_null("sector"))
                .col(date_null("start_date"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("person_projects", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("person_enrolments")
                .col(id())
                .col(big_integer("person_id"))
                .col(big_integer_null("programme_id"))
                .col(string_null("step"))
                .col(string_null("resource"))
                .col(date_null("start_date"))
                .col(date_null("end_date"))
                .col(string_len_null("prescription_channel", 32))
                .col(ts("created_at"))
                .foreign_key(&mut fk("person_enrolments", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("person_tasks")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("title"))
                .col(date_null("due_date"))
                .col(flag("done"))
                .col(big_integer_null("assignee_user_id"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("person_tasks", "person_id", "persons"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("person_documents")
                .col(id())
                .col(big_integer("person_id"))
                .col(string("name"))
                .col(string("content_type"))
                .col(big_integer("size"))
                .col(blob("data"))
                .col(big_integer_null("uploaded_by"))
                .col(ts("created_at"))
                .foreign_key(&mut fk("person_documents", "person_id", "persons"))
                .take(),
        )
        .await?;
        for (t, name) in [
            ("person_situations", "person_situations_person"),
            ("person_projects", "person_projects_person"),
            ("person_enrolments", "person_enrolments_person"),
            ("person_tasks", "person_tasks_person"),
            ("person_documents", "person_documents_person"),
        ] {
            m.create_index(index(t, name, &["person_id"])).await?;
        }
        m.create_index(index(
            "person_enrolments",
            "person_enrolments_programme",
            &["programme_id"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in TABLES {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
