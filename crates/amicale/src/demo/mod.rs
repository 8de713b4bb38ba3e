//! The demo network: an administrator and a realistic French alumni network.
//! Deterministic (seeded), idempotent, and fast enough to run at every start.

mod data;
mod templates;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait,
};

use crate::auth::model::{Email, NewPassword};
use crate::auth::{password, store};
use crate::crypto::random_token;
use crate::db::entities::{organisations, persons, programmes};
use crate::error::{AppError, AppResult};

pub const ADMIN_EMAIL: &str = "admin@demo.amicale.fr";
/// Members of the demo network.
pub const MEMBERS: usize = 3000;

pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

/// Fills the database once, and (re)sets the demo administrator's password
/// each time so the printed login always works.
pub async fn load(db: &DatabaseConnection) -> AppResult<DemoLogin> {
    let password = random_token(12);
    let email = Email::parse(ADMIN_EMAIL).map_err(|e| AppError::Internal(e.into()))?;
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
    templates::load(db, admin).await?;
    Ok(DemoLogin {
        email: ADMIN_EMAIL.into(),
        password,
    })
}

async fn fill(db: &DatabaseConnection) -> AppResult<()> {
    let mut rng = StdRng::seed_from_u64(2026);
    let txn = db.begin().await?;
    let mut programme_ids = Vec::new();
    for (code, name, level) in data::PROGRAMMES {
        let r = programmes::Entity::insert(programmes::ActiveModel {
            code: Set((*code).into()),
            name: Set((*name).into()),
            level: Set((*level).into()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        programme_ids.push(r.last_insert_id);
    }
    let mut org_ids = Vec::new();
    for (name, sector, city) in data::COMPANIES {
        let r = organisations::Entity::insert(organisations::ActiveModel {
            name: Set((*name).into()),
            sector: Set((*sector).into()),
            city: Set((*city).into()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        org_ids.push(r.last_insert_id);
    }
    let now = Utc::now();
    let mut batch = Vec::with_capacity(500);
    let mut seen = std::collections::HashSet::new();
    for i in 0..MEMBERS {
        let female = rng.gen_bool(0.52);
        let first = if female {
            data::FIRST_F.choose(&mut rng)
        } else {
            data::FIRST_M.choose(&mut rng)
        }
        .copied()
        .unwrap_or("Camille");
        let last = data::LAST.choose(&mut rng).copied().unwrap_or("Martin");
        let promo: i32 = rng.gen_range(1995..=2026);
        let student = promo >= 2026;
        let email = {
            let base = format!("{}.{}", ascii_slug(first), ascii_slug(last));
            let mut candidate = format!("{base}@exemple.fr");
            let mut k = 1;
            while !seen.insert(candidate.clone()) {
                k += 1;
                candidate = format!("{base}{k}@exemple.fr");
            }
            candidate
        };
        let (city, country) = data::CITIES
            .choose(&mut rng)
            .copied()
            .unwrap_or(("Paris", "France"));
        let employed = !student && rng.gen_bool(0.85);
        batch.push(persons::ActiveModel {
            civility: Set(if female { "Mme" } else { "M." }.into()),
            first_name: Set(first.into()),
            last_name: Set(last.into()),
            email: Set(Some(email)),
            city: Set(city.into()),
            country: Set(country.into()),
            promo_year: Set(Some(promo)),
            programme_id: Set(programme_ids.choose(&mut rng).copied()),
            organisation_id: Set(if employed {
                org_ids.choose(&mut rng).copied()
            } else {
                None
            }),
            job_title: Set(employed.then(|| {
                data::JOBS
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or("Chargé de mission")
                    .to_owned()
            })),
            community_role: Set(if student { "student" } else { "alumni" }.into()),
            created_at: Set(now),
            ..Default::default()
        });
        if batch.len() == 500 || i + 1 == MEMBERS {
            persons::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

fn ascii_slug(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let base = match c {
                'à' | 'â' | 'ä' => 'a',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'î' | 'ï' => 'i',
                'ô' | 'ö' => 'o',
                'ù' | 'û' | 'ü' => 'u',
                'ç' => 'c',
                'É' => 'e',
                ' ' | '\'' => '-',
                c if c.is_ascii_alphanumeric() || c == '-' => c.to_ascii_lowercase(),
                _ => return None,
            };
            Some(base)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_ascii() {
        assert_eq!(super::ascii_slug("Hélène"), "helene");
        assert_eq!(super::ascii_slug("Le Goff"), "le-goff");
        assert_eq!(super::ascii_slug("N'Diaye"), "n-diaye");
    }
}
