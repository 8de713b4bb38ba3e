//! The operations of the CRM list: a page of persons within the user's
//! scope, the remembered columns, bulk actions on a selection, exports.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, Condition, TransactionTrait};

use super::store::{self, Opt};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::bulk::{self, Action, Outcome};
use crate::people::directory::organisation_names;
use crate::people::export::{self, Format};
use crate::people::search::{self, Criteria, Invalid, Scope, Sort};
use crate::web::session::SessionUser;
use amicale_kernel::Locale;
use amicale_store::Backend;
use amicale_store::entities::{jobs, person_phones, person_roles, persons};

/// A background job as stored.
pub type Job = jobs::Model;

pub const PER_PAGE: u64 = 50;
const PREF_COLUMNS: &str = "crm_columns";

/// Optional columns of the list; the name is always shown.
pub const COLUMNS: &[&str] = &[
    "status",
    "email",
    "phone",
    "roles",
    "promo",
    "programme",
    "company",
    "job_title",
    "city",
    "country",
    "site",
    "external_ref",
    "created",
];
const DEFAULT_COLUMNS: &[&str] = &["status", "email", "roles", "promo", "city", "company"];

async fn chosen_columns(state: &AppState, user_id: i64) -> AppResult<Vec<&'static str>> {
    let pref = store::pref(&state.db, user_id, PREF_COLUMNS).await?;
    Ok(match pref {
        Some(value) => COLUMNS
            .iter()
            .copied()
            .filter(|c| value.split(',').any(|v| v == *c))
            .collect(),
        None => DEFAULT_COLUMNS.to_vec(),
    })
}

/// Saves the visible columns for this user: those of `posted` the list knows.
pub async fn save_columns(state: &AppState, user_id: i64, posted: &[&str]) -> AppResult<()> {
    let chosen: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| posted.contains(c))
        .collect();
    store::save_pref(&state.db, user_id, PREF_COLUMNS, chosen.join(",")).await
}

/// One page of the list and what its cells and forms show.
pub struct Listing {
    pub columns: Vec<&'static str>,
    pub total: u64,
    pub persons: Vec<persons::Model>,
    pub invalid: Vec<Invalid>,
    pub organisations: HashMap<i64, String>,
    pub roles: Vec<person_roles::Model>,
    pub phones: Vec<person_phones::Model>,
    pub programmes: Vec<Opt>,
    pub groups: Vec<Opt>,
    /// The user's static lists, which a selection can be added to.
    pub lists: Vec<Opt>,
}

/// The persons matching `criteria` within the user's scope, one page.
pub async fn list(
    state: &AppState,
    who: &SessionUser,
    criteria: &Criteria,
    sort: Sort,
    desc: bool,
    page: u64,
) -> AppResult<Listing> {
    let columns = chosen_columns(state, who.user.id).await?;
    let backend = Backend::of(&state.db);
    let (cond, invalid) = criteria.condition(backend, Scope::Crm);
    let cond = cond.add(crate::people::scope::condition(who, backend));
    let (total, persons) = if invalid.is_empty() {
        search::page(&state.db, cond, sort, desc, page, PER_PAGE).await?
    } else {
        (0, Vec::new())
    };
    let ids: Vec<i64> = persons.iter().map(|x| x.id).collect();
    let organisations =
        organisation_names(state, persons.iter().filter_map(|x| x.organisation_id)).await?;
    let (programmes, groups) = store::options(state).await?;
    let roles = store::roles_of(&state.db, ids.clone()).await?;
    let phones = store::principal_phones(&state.db, ids).await?;
    Ok(Listing {
        columns,
        total,
        persons,
        invalid,
        organisations,
        roles,
        phones,
        programmes,
        groups,
        lists: crate::people::lists::static_lists(&state.db, who.user.id).await?,
    })
}

/// Which persons a bulk action names.
pub enum Selection {
    /// Every person matching the criteria.
    All,
    /// The ids ticked on the page.
    Posted(Vec<i64>),
}

/// The persons a bulk action acts on: only those within the user's scope,
/// whatever was posted. `None` when the criteria do not parse.
pub async fn targets(
    state: &AppState,
    who: &SessionUser,
    criteria: &Criteria,
    selection: Selection,
) -> AppResult<Option<Vec<i64>>> {
    let backend = Backend::of(&state.db);
    let reach = crate::people::scope::condition(who, backend);
    Ok(Some(match selection {
        Selection::All => {
            let (cond, invalid) = criteria.condition(backend, Scope::Crm);
            if !invalid.is_empty() {
                return Ok(None);
            }
            search::ids(&state.db, cond.add(reach.clone())).await?
        }
        Selection::Posted(posted) => {
            let mut kept = Vec::with_capacity(posted.len());
            for chunk in posted.chunks(500) {
                let cond = reach.clone().add(persons::Column::Id.is_in(chunk.to_vec()));
                kept.extend(search::ids(&state.db, cond).await?);
            }
            kept
        }
    }))
}

/// A group named in the bulk form: a new name, or one chosen.
pub enum GroupChoice {
    Named(String),
    Id(i64),
}

/// A bulk action, as the form asked for it.
pub enum Command {
    /// A plain action, applied now or as a background job.
    Act(Action),
    Invite,
    AddToGroup(GroupChoice),
    /// A new list under `name` (when given and not too long), else the
    /// user's list `chosen`.
    AddToList {
        name: String,
        chosen: String,
    },
    /// The selection becomes the list `list_name`, which a new campaign
    /// then filters on.
    SendMailing {
        list_name: String,
    },
}

/// Where a bulk action leaves the user.
pub enum Done {
    /// Back to the list with this notice.
    Notice(&'static str),
    /// Back to the list, saying how many persons changed.
    Changed(usize),
    /// To the progress of this background job.
    Job(i64),
    /// To a new campaign over this list.
    Campaign {
        list_id: i64,
        recipient_type: String,
    },
}

/// Runs a bulk action of `user_id` on `ids` (already within their scope).
pub async fn apply(
    state: &AppState,
    user_id: i64,
    l: Locale,
    ids: Vec<i64>,
    command: Command,
) -> AppResult<Done> {
    let action = match command {
        Command::Act(action) => action,
        Command::Invite => {
            let txn = state.db.begin().await?;
            let (sent, skipped) =
                crate::people::accounts::invite(state, &txn, &ids, Some(user_id), l).await?;
            bulk::audit(
                &txn,
                Some(user_id),
                "invite",
                &format!("skipped {skipped}"),
                sent,
            )
            .await?;
            txn.commit().await?;
            state.outbox_wakeup.notify_one();
            return Ok(Done::Notice(if sent > 0 {
                "invited"
            } else {
                "none-invited"
            }));
        }
        Command::AddToGroup(GroupChoice::Named(name)) => Action::AddToGroup {
            group_id: bulk::group_id(&state.db, &name).await?,
        },
        Command::AddToGroup(GroupChoice::Id(group_id)) => Action::AddToGroup { group_id },
        Command::AddToList { name, chosen } => {
            let own = crate::people::lists::static_lists(&state.db, user_id).await?;
            let list_id = if !name.is_empty() && name.chars().count() <= 120 {
                crate::people::lists::create_static(&state.db, user_id, &name).await?
            } else if let Some(o) = own.iter().find(|o| o.value == chosen) {
                o.value.parse().unwrap_or_default()
            } else {
                return Ok(Done::Notice("bad-list"));
            };
            Action::AddToList { list_id }
        }
        Command::SendMailing { list_name } => {
            // Its recipients are counted at launch.
            let list_id =
                crate::people::lists::create_static(&state.db, user_id, &list_name).await?;
            let recipient_type = dominant_type(state, &ids).await?;
            bulk::run(state, user_id, Action::AddToList { list_id }, ids).await?;
            return Ok(Done::Campaign {
                list_id,
                recipient_type,
            });
        }
    };
    Ok(match bulk::run(state, user_id, action, ids).await? {
        Outcome::Done(n) => Done::Changed(n),
        Outcome::Queued(job) => Done::Job(job),
    })
}

/// The recipient type most of these persons have (a campaign addresses
/// one type).
async fn dominant_type(state: &AppState, ids: &[i64]) -> AppResult<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for chunk in ids.chunks(500) {
        for t in store::recipient_types(&state.db, chunk.to_vec()).await? {
            *counts.entry(t).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(t, _)| t)
        .unwrap_or_else(|| "member".into()))
}

/// Writes an export of the persons matching `criteria` (and, when given,
/// among `ids`) within the user's scope to a temporary file, audited, and
/// hands back the open file: memory stays flat whatever the size.
pub async fn export_file(
    state: &AppState,
    who: &SessionUser,
    l: Locale,
    sheet: &str,
    format: Format,
    criteria: Criteria,
    ids: Option<Vec<i64>>,
) -> AppResult<tokio::fs::File> {
    let count = ids.as_ref().map_or(0, Vec::len);
    bulk::audit(
        &state.db,
        Some(who.user.id),
        "export",
        format.extension(),
        count,
    )
    .await?;
    let backend = Backend::of(&state.db);
    let reach = crate::people::scope::condition(who, backend);
    let (cond, _) = criteria.condition(backend, Scope::Crm);
    // An unfiltered export can be read in one pass (see export::write).
    let cond: Condition = if reach.is_empty() {
        cond
    } else {
        cond.add(reach)
    };
    let path = std::env::temp_dir().join(format!(
        "amicale-export-{}.{}",
        amicale_kernel::crypto::random_token(12),
        format.extension()
    ));
    let file = std::fs::File::create(&path).map_err(|e| AppError::Internal(e.to_string()))?;
    let header = export::localized_header(l);
    let mut buffered = std::io::BufWriter::new(file);
    match format {
        Format::Csv => {
            // Spreadsheets read UTF-8 only after a byte-order mark, and a
            // French one splits columns on ";", an English one on ",". The
            // import reads either.
            std::io::Write::write_all(&mut buffered, "\u{feff}".as_bytes())
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let delimiter = match l {
                amicale_kernel::Locale::Fr => b';',
                amicale_kernel::Locale::En => b',',
            };
            let mut sink = export::CsvSink(
                csv::WriterBuilder::new()
                    .delimiter(delimiter)
                    .from_writer(buffered),
            );
            export::write(&state.db, cond, ids.as_deref(), &header, &mut sink).await?;
            sink.0
                .flush()
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
        Format::Xlsx => {
            let mut sink = crate::people::xlsx::XlsxWriter::new(buffered, sheet)?;
            export::write(&state.db, cond, ids.as_deref(), &header, &mut sink).await?;
            let mut w = sink.finish()?;
            std::io::Write::flush(&mut w).map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    // The open handle keeps the data readable; the name goes at once.
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// A background job, to its author or an administrator only: its payload
/// and result are nobody else's to read.
pub async fn job(state: &AppState, who: &SessionUser, id: i64) -> AppResult<jobs::Model> {
    store::job(&state.db, id)
        .await?
        .filter(|j| who.user.is_admin || j.created_by == Some(who.user.id))
        .ok_or(AppError::NotFound)
}
