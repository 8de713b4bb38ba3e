//! The members' directory: quick and advanced search, result cards,
//! profiles. Members and administrators only.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::model::{Status, TagKind};
use crate::people::search::{self, Criteria, Invalid, Scope};
use crate::people::store::{self, Record};
use crate::web::extract::{Member, Require};
use crate::web::page::{Page, render};
use amicale_store::Backend;
use amicale_store::entities::{organisations, programmes};

pub const PER_PAGE: u64 = 24;
/// Beyond this many matches the page says "more than" and shows this many,
/// in name order; each kept match costs a visit to its row, and a thousand
/// keeps a common name within the time of a keystroke.
pub const COUNT_CAP: u64 = 1_000;

pub struct Card {
    pub id: i64,
    pub name: String,
    pub initials: String,
    pub country: String,
    pub city: String,
    pub line: String,
    pub promo: String,
    pub photo: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct DirQuery {
    #[serde(flatten)]
    pub criteria: Criteria,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub done: String,
}

#[derive(Template)]
#[template(path = "people/directory.html")]
struct DirectoryTpl<'a> {
    p: &'a Page,
    c: Criteria,
    searched: bool,
    advanced: bool,
    total: u64,
    capped: bool,
    cards: Vec<Card>,
    page: u64,
    pages: u64,
    invalid: Vec<Invalid>,
    query: String,
    done: String,
}

impl DirectoryTpl<'_> {
    fn is_invalid(&self, field: &str) -> bool {
        self.invalid.iter().any(|i| i.field == field)
    }

    fn page_link(&self, n: &u64) -> String {
        format!("/directory?{}&page={n}", self.query)
    }
}

pub fn initials(first: &str, last: &str) -> String {
    first
        .chars()
        .next()
        .into_iter()
        .chain(last.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

pub async fn organisation_names(
    state: &AppState,
    ids: impl IntoIterator<Item = i64>,
) -> AppResult<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(organisations::Entity::find()
        .filter(organisations::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect())
}

pub async fn directory(
    State(state): State<AppState>,
    _: Require<Member>,
    p: Page,
    Query(q): Query<DirQuery>,
) -> AppResult<Response> {
    let c = q.criteria;
    let searched = !c.is_empty();
    let advanced = Criteria {
        q: String::new(),
        ..c.clone()
    } != Criteria::default();
    let (_, invalid) = c.condition(Backend::of(&state.db), Scope::Directory);
    let page = q.page.parse::<u64>().unwrap_or(1).max(1);
    let page = page.min(COUNT_CAP.div_ceil(PER_PAGE));
    let (total, capped, rows) = if searched && invalid.is_empty() {
        let found = search::collect(&state.db, &c, Scope::Directory, COUNT_CAP).await?;
        let ids = found.page((page - 1) * PER_PAGE, PER_PAGE);
        (
            found.matches.len() as u64,
            found.capped,
            search::rows_of(&state.db, &ids).await?,
        )
    } else {
        (0, false, Vec::new())
    };
    let orgs = organisation_names(&state, rows.iter().filter_map(|r| r.organisation_id)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let photos = crate::people::photos::with_photo(&state, &ids).await?;
    let cards = rows
        .into_iter()
        .map(|r| {
            let company = r.organisation_id.and_then(|id| orgs.get(&id)).cloned();
            let line = match (r.job_title.as_deref(), company) {
                (Some(t), Some(c)) => format!("{t} · {c}"),
                (Some(t), None) => t.to_owned(),
                (None, Some(c)) => c,
                (None, None) => String::new(),
            };
            Card {
                id: r.id,
                initials: initials(&r.first_name, &r.last_name),
                name: format!("{} {}", r.first_name, r.last_name),
                country: r.country,
                city: r.city,
                line,
                promo: r.promo_year.map(|y| y.to_string()).unwrap_or_default(),
                photo: photos.contains(&r.id),
            }
        })
        .collect();
    let query = serde_urlencoded_criteria(&c);
    render(&DirectoryTpl {
        p: &p,
        searched,
        advanced,
        total,
        capped,
        cards,
        page,
        pages: total.div_ceil(PER_PAGE),
        invalid,
        query,
        c,
        done: q.done,
    })
}

/// The criteria as a query string, for the pager's links.
pub fn serde_urlencoded_criteria(c: &Criteria) -> String {
    let json = serde_json::to_value(c).unwrap_or_default();
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let serde_json::Value::Object(map) = json {
        for (k, v) in map {
            if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
                out.append_pair(&k, s);
            }
        }
    }
    out.finish()
}

pub struct ProfileView {
    pub r: Record,
    pub company: String,
    pub programme: String,
    pub skills: Vec<String>,
    pub interests: Vec<String>,
    pub sports: Vec<String>,
    pub languages: Vec<String>,
    pub education: Vec<(String, String)>,
    pub experiences: Vec<(String, String)>,
    pub photo: bool,
}

pub async fn profile_view(state: &AppState, r: Record) -> AppResult<ProfileView> {
    let mut org_ids: Vec<i64> = r
        .experiences
        .iter()
        .filter_map(|x| x.organisation_id)
        .collect();
    org_ids.extend(r.person.organisation_id);
    let orgs = organisation_names(state, org_ids).await?;
    let programmes: HashMap<i64, String> = programmes::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let photo = !crate::people::photos::with_photo(state, &[r.person.id])
        .await?
        .is_empty();
    let tags = |k: TagKind| r.tags_of(k).into_iter().map(str::to_owned).collect();
    Ok(ProfileView {
        company: r
            .person
            .organisation_id
            .and_then(|id| orgs.get(&id).cloned())
            .unwrap_or_default(),
        programme: r
            .person
            .programme_id
            .and_then(|id| programmes.get(&id).cloned())
            .unwrap_or_default(),
        skills: tags(TagKind::Skill),
        interests: tags(TagKind::Interest),
        sports: tags(TagKind::Sport),
        languages: tags(TagKind::Language),
        education: r
            .education
            .iter()
            .map(|e| {
                let prog = e
                    .programme_id
                    .and_then(|id| programmes.get(&id).cloned())
                    .unwrap_or_else(|| e.cursus.clone());
                let mut what = vec![prog, e.diploma.clone(), e.discipline.clone()];
                what.retain(|s| !s.is_empty());
                let mut where_ = vec![e.establishment.clone(), e.campus.clone()];
                where_.extend(e.promo_year.map(|y| y.to_string()));
                where_.retain(|s| !s.is_empty());
                (what.join(" · "), where_.join(" · "))
            })
            .collect(),
        experiences: r
            .experiences
            .iter()
            .map(|x| {
                let company = x
                    .organisation_id
                    .and_then(|id| orgs.get(&id).cloned())
                    .unwrap_or_else(|| x.company.clone());
                let dates = match (x.start_date, x.end_date) {
                    (Some(s), Some(e)) => format!("{} – {}", s.format("%m/%Y"), e.format("%m/%Y")),
                    (Some(s), None) => format!("{} –", s.format("%m/%Y")),
                    _ => String::new(),
                };
                (format!("{} · {company}", x.title), dates)
            })
            .collect(),
        photo,
        r,
    })
}

#[derive(Template)]
#[template(path = "people/profile.html")]
struct ProfileTpl<'a> {
    p: &'a Page,
    v: ProfileView,
    name: String,
    initials: String,
}

pub async fn profile(
    State(state): State<AppState>,
    _: Require<Member>,
    p: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let r = store::load(&state.db, id).await?;
    // A deactivated or not yet active account is hidden from members.
    if r.person.status != Status::Active.as_str() && !p.is_admin() {
        return Err(AppError::NotFound);
    }
    let v = profile_view(&state, r).await?;
    render(&ProfileTpl {
        p: &p,
        name: format!("{} {}", v.r.person.first_name, v.r.person.last_name),
        initials: initials(&v.r.person.first_name, &v.r.person.last_name),
        v,
    })
}
