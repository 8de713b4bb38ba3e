//! The directory pages: the search with its result cards, and a profile.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::service::{self, Found, PER_PAGE, ProfileView};
use crate::app::AppState;
use crate::error::AppResult;
use crate::people::search::{Criteria, Invalid};
use crate::web::extract::{Member, Require};
use crate::web::page::{Page, render};

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
    #[serde(deserialize_with = "amicale_kernel::fields::blank_as_none")]
    pub page: Option<u64>,
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

/// The result cards: name, place, job and organisation, promo.
fn cards(found: Found) -> Vec<Card> {
    let Found {
        rows,
        organisations: orgs,
        photos,
        ..
    } = found;
    rows.into_iter()
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
        .collect()
}

pub async fn directory(
    State(state): State<AppState>,
    _: Require<Member>,
    p: Page,
    Query(q): Query<DirQuery>,
) -> AppResult<Response> {
    let c = q.criteria;
    let advanced = Criteria {
        q: String::new(),
        ..c.clone()
    } != Criteria::default();
    let page = q.page.unwrap_or(1).max(1);
    let page = page.min(service::last_page());
    let mut found = service::search(&state, &c, page).await?;
    let (total, capped) = (found.total, found.capped);
    let invalid = std::mem::take(&mut found.invalid);
    render(&DirectoryTpl {
        p: &p,
        searched: !c.is_empty(),
        advanced,
        total,
        capped,
        cards: cards(found),
        page,
        pages: total.div_ceil(PER_PAGE),
        invalid,
        query: serde_urlencoded_criteria(&c),
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
    let v = service::profile(&state, id, p.is_admin()).await?;
    render(&ProfileTpl {
        p: &p,
        name: format!("{} {}", v.r.person.first_name, v.r.person.last_name),
        initials: initials(&v.r.person.first_name, &v.r.person.last_name),
        v,
    })
}
