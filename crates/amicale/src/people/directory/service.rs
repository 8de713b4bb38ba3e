//! The directory's operations: a search within what members may see, and
//! a profile as a member reads it.

use std::collections::HashMap;

use super::store::{self, organisation_names};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::model::{Status, TagKind};
use crate::people::search::{self, Criteria, Invalid, Scope};
use crate::people::store::{self as records, Record};
use amicale_store::Backend;
use amicale_store::entities::persons;

pub const PER_PAGE: u64 = 24;
/// Beyond this many matches the page says "more than" and shows this many,
/// in name order; each kept match costs a visit to its row, and a thousand
/// keeps a common name within the time of a keystroke.
pub const COUNT_CAP: u64 = 1_000;

/// One page of a directory search.
pub struct Found {
    pub total: u64,
    pub capped: bool,
    pub rows: Vec<persons::Model>,
    pub organisations: HashMap<i64, String>,
    /// The persons of `rows` who have a photo.
    pub photos: Vec<i64>,
    pub invalid: Vec<Invalid>,
}

/// The largest page a search can show (see `COUNT_CAP`).
pub fn last_page() -> u64 {
    COUNT_CAP.div_ceil(PER_PAGE)
}

/// Page `page` of the persons matching `c` in the directory; nothing for
/// an empty or invalid search.
pub async fn search(state: &AppState, c: &Criteria, page: u64) -> AppResult<Found> {
    let (_, invalid) = c.condition(Backend::of(&state.db), Scope::Directory);
    let (total, capped, rows) = if !c.is_empty() && invalid.is_empty() {
        let found = search::collect(&state.db, c, Scope::Directory, COUNT_CAP).await?;
        let ids = found.page((page - 1) * PER_PAGE, PER_PAGE);
        (
            found.matches.len() as u64,
            found.capped,
            search::rows_of(&state.db, &ids).await?,
        )
    } else {
        (0, false, Vec::new())
    };
    let organisations =
        organisation_names(state, rows.iter().filter_map(|r| r.organisation_id)).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let photos = crate::people::photos::with_photo(state, &ids).await?;
    Ok(Found {
        total,
        capped,
        rows,
        organisations,
        photos,
        invalid,
    })
}

/// A member's profile; a deactivated or not yet active account is hidden
/// from members (`staff` sees it).
pub async fn profile(state: &AppState, id: i64, staff: bool) -> AppResult<ProfileView> {
    let r = records::load(&state.db, id).await?;
    if r.person.status != Status::Active.as_str() && !staff {
        return Err(AppError::NotFound);
    }
    profile_view(state, r).await
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
    let programmes = store::programme_names(state).await?;
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
