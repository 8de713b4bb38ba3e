//! Demo persons: full records (e-mails, phones, address, education,
//! experience, tags, roles), deterministic, written in large transactions so
//! a million persons load in minutes for the benchmarks.

use amicale_people::{CommunityRole, Country, Email, Phone, PromoYear};
use chrono::NaiveDate;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::data;
use crate::error::{AppError, AppResult};
use crate::people::model::{Channel, PhoneKind, Status, TagKind};
use crate::people::store::{
    self, AddressEntry, Education, EmailEntry, Experience, Names, PersonInput, PhoneEntry,
};

/// Persons per transaction: large enough to amortise the commit, small
/// enough to keep memory flat at a million.
const BATCH: usize = 5_000;

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

fn slug(s: &str) -> String {
    amicale_people::fold(s).replace(' ', "-")
}

/// One person; `i` makes the e-mail and the external reference unique.
fn person(
    rng: &mut StdRng,
    i: usize,
    programme_ids: &[i64],
    org_ids: &[(i64, &str)],
) -> AppResult<PersonInput> {
    let female = rng.gen_bool(0.52);
    let first = *pick(rng, if female { data::FIRST_F } else { data::FIRST_M });
    let last = *pick(rng, data::LAST);
    let mut p = PersonInput::new(first, last);
    p.civility = if female { "Mme" } else { "M." }.into();
    let promo: i32 = rng.gen_range(1995..=2027);
    let student = promo >= 2026;
    let bad =
        |e: amicale_people::FieldError| AppError::Internal(format!("demo data: {}", e.code()));
    let email =
        Email::parse(&format!("{}.{}.{i}@exemple.fr", slug(first), slug(last))).map_err(bad)?;
    p.emails.push(EmailEntry {
        email,
        accepts: rng.gen_bool(0.95),
    });
    if rng.gen_bool(0.2) {
        p.emails.push(EmailEntry {
            email: Email::parse(&format!("{}{i}@perso.exemple.org", slug(first))).map_err(bad)?,
            accepts: true,
        });
    }
    let mobile = format!("06{:08}", rng.gen_range(0..100_000_000u32));
    p.phones.push(PhoneEntry {
        phone: Phone::parse(&mobile, Country::France).map_err(bad)?,
        kind: PhoneKind::Mobile,
        principal: true,
        accepts_contact: rng.gen_bool(0.9),
    });
    p.sms_consent = rng.gen_bool(0.6);
    let (city, country) = *pick(rng, data::CITIES);
    p.city = city.into();
    p.country = country.into();
    p.addresses.push(AddressEntry {
        line1: format!("{} {}", rng.gen_range(1..120), pick(rng, data::STREETS)),
        line2: None,
        postcode: format!("{:05}", rng.gen_range(1000..96000)),
        city: city.into(),
        country: country.into(),
    });
    p.nationality = Some((*pick(rng, data::NATIONALITIES)).into());
    p.birth_date = NaiveDate::from_ymd_opt(
        promo - 23 - rng.gen_range(0..3),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28),
    );
    let year = PromoYear::new(promo).map_err(bad)?;
    let programme = *pick(rng, programme_ids);
    p.promo_year = Some(year);
    p.programme_id = Some(programme);
    p.education.push(Education {
        establishment: (*pick(rng, data::ESTABLISHMENTS)).into(),
        programme_id: Some(programme),
        cursus: String::new(),
        campus: (*pick(rng, data::SITES)).into(),
        promo_year: Some(year),
        diploma: "Master".into(),
        discipline: (*pick(rng, data::DISCIPLINES)).into(),
    });
    p.roles.push((
        if student {
            CommunityRole::Student
        } else {
            CommunityRole::Alumni
        },
        Some(programme),
    ));
    if !student && rng.gen_bool(0.85) {
        let (org, sector) = *pick(rng, org_ids);
        let title = *pick(rng, data::JOBS);
        p.organisation_id = Some(org);
        p.job_title = Some(title.into());
        p.experiences.push(Experience {
            company: String::new(),
            organisation_id: Some(org),
            title: title.into(),
            sector: sector.into(),
            start: NaiveDate::from_ymd_opt(promo.min(2025), 9, 1),
            end: None,
        });
    }
    for (kind, list, n) in [
        (TagKind::Skill, data::SKILLS, 3),
        (TagKind::Interest, data::INTERESTS, 2),
        (TagKind::Sport, data::SPORTS, 1),
        (TagKind::Language, data::LANGUAGES, 2),
    ] {
        let k = rng.gen_range(0..=n);
        for v in list.choose_multiple(rng, k) {
            p.tags.push((kind, (*v).into()));
        }
    }
    p.external_ref = Some(format!("EXT-{:07}", i + 1));
    p.site = Some((*pick(rng, data::SITES)).into());
    p.preferred_channel = Some(if rng.gen_bool(0.8) {
        Channel::Email
    } else {
        Channel::Sms
    });
    p.gdpr_consent = true;
    p.status = match rng.gen_range(0..100) {
        0..=89 => Status::Active,
        90..=94 => Status::Invited,
        95..=96 => Status::Pending,
        _ => Status::Deactivated,
    };
    Ok(p)
}

/// Adds `count` persons numbered from `start`.
pub async fn generate(
    db: &DatabaseConnection,
    rng: &mut StdRng,
    start: usize,
    count: usize,
    programme_ids: &[i64],
    org_ids: &[(i64, &str)],
) -> AppResult<()> {
    let names = Names::load(db).await?;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let inputs = (0..n)
            .map(|k| person(rng, start + done + k, programme_ids, org_ids))
            .collect::<AppResult<Vec<_>>>()?;
        let txn = db.begin().await?;
        store::create_many(&txn, &inputs, &names).await?;
        txn.commit().await?;
        done += n;
        if count >= 100_000 && done % 100_000 == 0 {
            tracing::info!(done, count, "demo persons");
        }
    }
    crate::people::search::pg_flush_pending(db).await
}
