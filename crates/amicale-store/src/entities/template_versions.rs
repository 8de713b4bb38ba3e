use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "template_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub template_id: i64,
    pub number: i32,
    pub subject_fr: String,
    pub body_fr: String,
    pub text_fr: String,
    pub subject_en: Option<String>,
    pub body_en: Option<String>,
    pub text_en: Option<String>,
    /// The plain-text part was written by hand, not derived from the HTML.
    pub text_edited: bool,
    /// Used by a send: never changed again, an edit makes a new version.
    pub frozen: bool,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
