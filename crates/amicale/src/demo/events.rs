//! Demo events: six weeks of workshops, appointments and
//! afterworks around today with participants (attendance taken for the
//! past ones), a few automatic rules, and a campaign that the running
//! server launches at its next minute.

use chrono::{Duration, NaiveTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::comms::campaigns::{self, Filters, Selection};
use crate::error::AppResult;
use crate::events::model::{Mode, Nature, Offset, Presence};
use crate::events::rules::{self, RuleInput};
use crate::events::store::{self, EventInput};
use amicale_delivery::templates::model::RecipientType;
use amicale_kernel::SendChannel;
use amicale_kernel::time::local_to_utc;
use amicale_store::entities::{events, participations, persons, programmes, templates};

/// (title, type, nature, step)
const KINDS: [(&str, &str, Nature, &str); 6] = [
    (
        "Atelier « Cartes en main »",
        "Atelier",
        Nature::Collective,
        "Émergence",
    ),
    (
        "Atelier CV et LinkedIn",
        "Atelier",
        Nature::Collective,
        "Insertion",
    ),
    (
        "Diagnostic de projet",
        "Diagnostic",
        Nature::Individual,
        "Accueil",
    ),
    (
        "Réunion d'information",
        "Réunion d'information",
        Nature::Collective,
        "Accueil",
    ),
    (
        "Afterwork des diplômés",
        "Afterwork",
        Nature::Collective,
        "Réseau",
    ),
    (
        "Entretien de suivi",
        "Entretien",
        Nature::Individual,
        "Suivi",
    ),
];

pub async fn load(db: &DatabaseConnection, admin: i64) -> AppResult<()> {
    if events::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let tz = chrono_tz::Europe::Paris;
    let mut rng = StdRng::seed_from_u64(2027);
    let people: Vec<i64> = persons::Entity::find()
        .select_only()
        .column(persons::Column::Id)
        .filter(persons::Column::Status.eq("active"))
        .order_by_asc(persons::Column::Id)
        .limit(400)
        .into_tuple()
        .all(db)
        .await?;
    let programme = programmes::Entity::find().one(db).await?.map(|p| p.id);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let now = Utc::now();
    for i in 0..48i64 {
        let day = today + Duration::days(i - 21);
        let (title, kind, nature, step) = KINDS[(i as usize) % KINDS.len()];
        let start = NaiveTime::from_hms_opt(9 + (i % 8) as u32, 30, 0).unwrap_or_default();
        let Some(starts_at) = local_to_utc(tz, day, start) else {
            continue;
        };
        let collective = nature == Nature::Collective;
        let id = store::create(
            db,
            &EventInput {
                title: title.into(),
                nature,
                event_type: kind.into(),
                programme_id: programme.filter(|_| i % 2 == 0),
                step: step.into(),
                phase: String::new(),
                mode: if i % 5 == 0 {
                    Mode::Remote
                } else {
                    Mode::Onsite
                },
                video_link: if i % 5 == 0 {
                    "https://visio.example.org/atelier".into()
                } else {
                    String::new()
                },
                site: "Maison des entreprises".into(),
                address: "12 rue de la République".into(),
                postal_code: "69002".into(),
                city: "Lyon".into(),
                starts_at,
                ends_at: starts_at + Duration::minutes(if collective { 120 } else { 60 }),
                local_date: day,
                capacity: Some(if collective { 12 } else { 1 }),
                resource: String::new(),
                open_registration: collective && kind != "Réunion d'information",
                facilitators: vec![admin],
            },
            Some(admin),
        )
        .await?;
        if people.is_empty() {
            continue;
        }
        let n = if collective { rng.gen_range(3..=12) } else { 1 };
        let mut chosen = std::collections::HashSet::new();
        while chosen.len() < n.min(people.len()) {
            chosen.insert(people[rng.gen_range(0..people.len())]);
        }
        let past = starts_at < now;
        let rows = chosen.into_iter().map(|p| participations::ActiveModel {
            id: NotSet,
            event_id: Set(id),
            person_id: Set(p),
            waiting: Set(false),
            confirmed: Set(rng.gen_bool(0.7)),
            presence: Set(if past {
                [
                    Presence::Present,
                    Presence::Present,
                    Presence::Absent,
                    Presence::Excused,
                ][rng.gen_range(0..4)]
                .as_str()
                .into()
            } else {
                String::new()
            }),
            registered_at: Set(now),
            registered_by: Set(Some(admin)),
        });
        participations::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    let by_name = |name: &'static str| async move {
        templates::Entity::find()
            .filter(templates::Column::Name.eq(name))
            .one(db)
            .await
    };
    if let Some(t) = by_name("Convocation à un atelier").await? {
        for (name, offset, kind, confirmed) in [
            ("Convocation J-7 aux ateliers", -7, "Atelier", None),
            (
                "Rappel J-2 aux ateliers (confirmés)",
                -2,
                "Atelier",
                Some(true),
            ),
        ] {
            rules::create(
                db,
                &RuleInput {
                    name: name.into(),
                    nature: Some(Nature::Collective),
                    event_type: kind.into(),
                    programme_id: None,
                    step: String::new(),
                    mode: None,
                    presence: None,
                    confirmed,
                    channel: SendChannel::Email,
                    template_id: t.id,
                    offset: Offset::new(offset).unwrap_or(Offset::new(-2).expect("in range")),
                    active: true,
                },
                Some(admin),
            )
            .await?;
        }
    }
    if let Some(t) = by_name("Lettre d'information des diplômés").await? {
        let id = campaigns::create(
            db,
            "Les nouvelles de novembre (Lyon)",
            RecipientType::Member,
            SendChannel::Newsletter,
            t.id,
            admin,
            None,
        )
        .await?;
        let filters = Filters {
            city: "Lyon".into(),
            ..Default::default()
        };
        campaigns::save(db, id, &filters, &Selection::All).await?;
        // The running server's campaign task launches it within a minute.
        campaigns::schedule(db, id, now).await?;
    }
    Ok(())
}
