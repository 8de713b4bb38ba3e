//! Accompanied persons for the demo: a hundred persons become beneficiaries
//! with a history of situations, a project and a programme enrolment, so
//! that the follow-up pages and the campaign filters have something
//! to show.

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::error::AppResult;
use crate::people::followup::kinds::{
    EDUCATION_LEVEL, EMPLOYMENT_STATUS, ENROLMENT, PRESCRIPTION_CHANNEL, PROJECT, PROJECT_STATE,
    SITUATION, SOCIO_CATEGORY,
};
use crate::people::followup::store::{self, Value};
use amicale_store::entities::{persons, programmes};

const BENEFICIARIES: u64 = 100;
const SECTORS: &[&str] = &[
    "Restauration",
    "Commerce",
    "Bâtiment",
    "Services",
    "Numérique",
];
const STEPS: &[&str] = &[
    "Accueil",
    "Diagnostic",
    "Montage projet",
    "Suivi post-création",
];

pub async fn load(db: &DatabaseConnection, rng: &mut StdRng) -> AppResult<()> {
    if persons::Entity::find()
        .filter(persons::Column::RecipientType.eq("beneficiary"))
        .one(db)
        .await?
        .is_some()
    {
        return Ok(());
    }
    // The newest persons: the event demo invites the oldest ones.
    let ids: Vec<i64> = persons::Entity::find()
        .select_only()
        .column(persons::Column::Id)
        .filter(persons::Column::Status.eq("active"))
        .order_by_desc(persons::Column::Id)
        .limit(BENEFICIARIES)
        .into_tuple()
        .all(db)
        .await?;
    let programmes: Vec<i64> = programmes::Entity::find()
        .select_only()
        .column(programmes::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let today = chrono::Utc::now().date_naive();
    let pick = |rng: &mut StdRng, codes: &[&str]| codes[rng.gen_range(0..codes.len())].to_owned();
    let txn = db.begin().await?;
    persons::Entity::update_many()
        .col_expr(persons::Column::RecipientType, Expr::value("beneficiary"))
        .filter(persons::Column::Id.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    for id in ids {
        let first = today - Duration::days(rng.gen_range(200..900));
        for n in 0..rng.gen_range(1..=3) {
            let date: NaiveDate = first + Duration::days(n * 120);
            store::insert(
                &txn,
                &SITUATION,
                id,
                &[
                    Value::Date(Some(date)),
                    Value::Text(Some(pick(rng, EMPLOYMENT_STATUS))),
                    Value::Text(Some(pick(rng, SOCIO_CATEGORY))),
                    Value::Text(Some(pick(rng, EDUCATION_LEVEL))),
                    Value::Flag(rng.gen_bool(0.08)),
                    Value::Flag(rng.gen_bool(0.2)),
                    Value::Flag(rng.gen_bool(0.15)),
                ],
            )
            .await?;
        }
        store::insert(
            &txn,
            &PROJECT,
            id,
            &[
                Value::Text(Some(format!(
                    "Projet {}",
                    pick(rng, SECTORS).to_lowercase()
                ))),
                Value::Text(Some(pick(rng, PROJECT_STATE))),
                Value::Text(Some(pick(rng, SECTORS))),
                Value::Date(Some(first)),
            ],
        )
        .await?;
        if !programmes.is_empty() {
            let start = first + Duration::days(rng.gen_range(0..60));
            store::insert(
                &txn,
                &ENROLMENT,
                id,
                &[
                    Value::Id(Some(programmes[rng.gen_range(0..programmes.len())])),
                    Value::Text(Some(pick(rng, STEPS))),
                    Value::Text(Some("Activ'Créa 2026".into())),
                    Value::Date(Some(start)),
                    Value::Date(Some(start + Duration::days(rng.gen_range(60..365)))),
                    Value::Text(Some(pick(rng, PRESCRIPTION_CHANNEL))),
                ],
            )
            .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}
