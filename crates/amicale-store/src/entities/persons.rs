use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "persons")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub civility: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub city: String,
    pub country: String,
    pub promo_year: Option<i32>,
    pub programme_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub job_title: Option<String>,
    pub created_at: DateTimeUtc,
    pub status: String,
    pub birth_date: Option<Date>,
    pub nationality: Option<String>,
    pub site: Option<String>,
    pub external_ref: Option<String>,
    pub preferred_channel: Option<String>,
    pub gdpr_consent: bool,
    pub sms_consent: bool,
    pub notes: Option<String>,
    pub referent_user_id: Option<i64>,
    pub user_id: Option<i64>,
    pub search_text: String,
    pub name_key: String,
    pub sort_key: String,
    pub updated_at: Option<DateTimeUtc>,
    pub invitations_stop: bool,
    /// member, beneficiary, partner_contact or individual_contact
    pub recipient_type: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
