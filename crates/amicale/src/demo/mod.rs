//! The demo network: an administrator and a realistic French alumni network.
//! Deterministic (seeded), idempotent, and fast enough to run at every start.

mod data;
mod events;
mod followup;
mod people;
mod templates;

use rand::SeedableRng;
use rand::rngs::StdRng;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};

use crate::auth::model::NewPassword;
use crate::auth::{password, store};
use crate::error::{AppError, AppResult};
use amicale_kernel::Login;
use amicale_kernel::crypto::random_token;
use amicale_store::entities::{organisations, person_roles, persons, programmes};

pub const ADMIN_EMAIL: &str = "admin@demo.amicale.fr";
/// Persons of the demo network unless told otherwise.
pub const DEFAULT_PEOPLE: usize = 5000;

pub struct DemoLogin {
    pub email: String,
    pub password: String,
    /// A member of the network, to try the member's side with.
    pub member_email: String,
    pub member_password: String,
}

/// Fills the database once, and (re)sets the demo administrator's password
/// each time so the printed login always works.
pub async fn load(db: &DatabaseConnection, people: usize) -> AppResult<DemoLogin> {
    let password = random_token(12);
    let email = Login::parse(ADMIN_EMAIL).map_err(|e| AppError::Internal(e.into()))?;
    let pw = NewPassword::parse(&password, &password).map_err(|e| AppError::Internal(e.into()))?;
    let admin = match store::find_by_email(db, &email).await? {
        Some(u) => {
            let hash = password::hash(password.clone()).await?;
            store::set_password(db, u.id, hash, None).await?;
            u.id
        }
        None => {
            store::create_user(db, &email, &pw, "Claire Administratrice", true, "fr")
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?
                .id
        }
    };
    if programmes::Entity::find().count(db).await? == 0 {
        fill(db).await?;
    }
    // More persons when asked for more than there are: `--people` grows a
    // demo network, it never shrinks one.
    let have = persons::Entity::find().count(db).await? as usize;
    if have < people {
        let programme_ids: Vec<i64> = programmes::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let orgs = organisations::Entity::find().all(db).await?;
        let org_ids: Vec<(i64, &str)> = orgs
            .iter()
            .map(|o| {
                let sector = data::COMPANIES
                    .iter()
                    .find(|c| c.0 == o.name)
                    .map_or("", |c| c.1);
                (o.id, sector)
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(2026 + have as u64);
        people::generate(db, &mut rng, have, people - have, &programme_ids, &org_ids).await?;
    }
    templates::load(db, admin).await?;
    events::load(db, admin).await?;
    followup::load(db, &mut StdRng::seed_from_u64(2028)).await?;
    sms(db, admin).await?;
    let (member_email, member_password) = member(db).await?;
    Ok(DemoLogin {
        email: ADMIN_EMAIL.into(),
        password,
        member_email,
        member_password,
    })
}

/// The first alumna or alumnus of the demo with an address gets a login
/// (or a new password, at each start, like the administrator).
async fn member(db: &DatabaseConnection) -> AppResult<(String, String)> {
    let alumni = sea_orm::sea_query::Query::select()
        .column(person_roles::Column::PersonId)
        .from(person_roles::Entity)
        .and_where(person_roles::Column::Role.eq("alumni"))
        .to_owned();
    let person = persons::Entity::find()
        .filter(persons::Column::Email.is_not_null())
        .filter(persons::Column::Id.in_subquery(alumni))
        .order_by_asc(persons::Column::Id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal("the demo has no alumni".into()))?;
    let email = person.email.clone().unwrap_or_default();
    let password = random_token(12);
    let hash = password::hash(password.clone()).await?;
    match person.user_id {
        Some(user) => store::set_password(db, user, hash, None).await?,
        None => {
            let txn = db.begin().await?;
            crate::people::accounts::service::open_account(&txn, &email, hash, &person, "fr")
                .await?;
            txn.commit().await?;
        }
    }
    Ok((email, password))
}

/// SMS work out of the box: the catcher keeps them in the outbox, and a
/// package of 1,000 segments is on the books.
async fn sms(db: &DatabaseConnection, admin: i64) -> AppResult<()> {
    use amicale_store::entities::sms_accounts;
    if sms_accounts::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    sms_accounts::Entity::insert(sms_accounts::ActiveModel {
        provider: Set("catcher".into()),
        label: Set("Démo (capture)".into()),
        sender: Set("AMICALE".into()),
        settings: Set("{}".into()),
        secrets: Set(String::new()),
        transliterate: Set(true),
        updated_at: Set(chrono::Utc::now()),
        ..Default::default()
    })
    .exec(db)
    .await?;
    amicale_delivery::sms::credit::add_package(
        db,
        chrono::Utc::now().date_naive(),
        1000,
        "Forfait de démonstration",
        Some(admin),
    )
    .await
}

async fn fill(db: &DatabaseConnection) -> AppResult<()> {
    let txn = db.begin().await?;
    for (code, name, level) in data::PROGRAMMES {
        programmes::Entity::insert(programmes::ActiveModel {
            code: Set((*code).into()),
            name: Set((*name).into()),
            level: Set((*level).into()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
    }
    for (name, sector, city) in data::COMPANIES {
        organisations::Entity::insert(organisations::ActiveModel {
            name: Set((*name).into()),
            sector: Set((*sector).into()),
            city: Set((*city).into()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
