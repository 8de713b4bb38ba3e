//! Exports of the directory (D4) in CSV or XLSX, filtered or not, streamed:
//! persons are read a page at a time by id, so a million rows never sit in
//! memory. The header row uses the import's column names, so an export can
//! be edited and imported back.

use std::collections::HashMap;
use std::io::{Seek, Write};

use amicale_people::ImportField;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Statement,
};
use serde::Deserialize;

use crate::db::entities::persons;
use crate::error::{AppError, AppResult};
use crate::people::model::TagKind;
use crate::people::store::{self, Names, Record};
use crate::people::xlsx::XlsxWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// The exported columns, in order; each is also an import column.
pub const COLUMNS: &[ImportField] = &[
    ImportField::ExternalRef,
    ImportField::Civility,
    ImportField::FirstName,
    ImportField::LastName,
    ImportField::Email,
    ImportField::Phone,
    ImportField::Role,
    ImportField::Promo,
    ImportField::Cursus,
    ImportField::Campus,
    ImportField::Establishment,
    ImportField::Discipline,
    ImportField::Diploma,
    ImportField::Company,
    ImportField::JobTitle,
    ImportField::City,
    ImportField::Country,
    ImportField::Nationality,
    ImportField::BirthDate,
    ImportField::Site,
    ImportField::Skills,
    ImportField::Interests,
    ImportField::Sports,
    ImportField::Languages,
    ImportField::GdprConsent,
    ImportField::SmsConsent,
];

/// Where rows go.
pub trait Sink: Send {
    fn row(&mut self, cells: &[String]) -> AppResult<()>;
}

pub struct CsvSink<W: Write>(pub csv::Writer<W>);

impl<W: Write + Send> Sink for CsvSink<W> {
    fn row(&mut self, cells: &[String]) -> AppResult<()> {
        self.0
            .write_record(cells)
            .map_err(|e| AppError::Internal(format!("csv: {e}")))
    }
}

impl<W: Write + Seek + Send> Sink for XlsxWriter<W> {
    fn row(&mut self, cells: &[String]) -> AppResult<()> {
        self.write_row(cells)
    }
}

fn yes_no(b: bool) -> String {
    if b { "oui" } else { "non" }.to_owned()
}

/// One exported person: the person's own columns and, from the child
/// tables, what the export shows of them. Read positionally from the JSON
/// array `page_sql` builds on SQLite, in the order of `columns_sql`; built
/// from a `Record` on PostgreSQL.
#[derive(Debug, Deserialize)]
struct Row {
    id: i64,
    external_ref: Option<String>,
    civility: String,
    first_name: String,
    last_name: String,
    email: Option<String>,
    promo_year: Option<i32>,
    programme_id: Option<i64>,
    organisation_id: Option<i64>,
    job_title: Option<String>,
    city: String,
    country: String,
    nationality: Option<String>,
    birth_date: Option<String>,
    site: Option<String>,
    gdpr_consent: u8,
    sms_consent: u8,
    phone: Option<String>,
    roles: Option<String>,
    /// The first education entry: cursus, campus, establishment,
    /// discipline, diploma.
    education: Option<(String, String, String, String, String)>,
    company: Option<String>,
    /// (kind, value), by kind then folded value.
    tags: Vec<(String, String)>,
}

impl Row {
    fn tags_of(&self, kind: TagKind) -> String {
        self.tags
            .iter()
            .filter(|(k, _)| k == kind.as_str())
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The SQLite SQL of each of `Row`'s fields, in order, over a page of
/// `persons`.
/// "First" means first inserted, as on the person's page.
fn columns_sql() -> Vec<String> {
    let join = |expr: &str, order: &str| format!("group_concat({expr}, ', ' ORDER BY {order})");
    let first = |table: &str, col: &str| {
        format!("(SELECT {col} FROM {table} c WHERE c.person_id = p.id ORDER BY c.id LIMIT 1)")
    };
    let mut cols: Vec<String> = [
        "id",
        "external_ref",
        "civility",
        "first_name",
        "last_name",
        "email",
        "promo_year",
        "programme_id",
        "organisation_id",
        "job_title",
        "city",
        "country",
        "nationality",
        // SQLite keeps dates as ISO text and flags as 0 or 1.
        "birth_date",
        "site",
        "gdpr_consent",
        "sms_consent",
    ]
    .map(String::from)
    .into();
    cols.push(first("person_phones", "c.number"));
    cols.push(format!(
        "(SELECT {} FROM person_roles c WHERE c.person_id = p.id)",
        join("c.role", "c.role, c.programme_id")
    ));
    // Several values of one child in one subquery (each costs a cursor per
    // person), as JSON that json() keeps nested rather than quoted.
    cols.push(format!(
        "json({})",
        first(
            "person_education",
            "json_array(c.cursus, c.campus, c.establishment, c.discipline, c.diploma)"
        )
    ));
    cols.push(first("person_experiences", "c.company"));
    cols.push(
        "json((SELECT json_group_array(json_array(c.kind, c.value) ORDER BY c.kind, c.value_key) \
         FROM person_tags c WHERE c.person_id = p.id))"
            .to_owned(),
    );
    cols
}

/// One page of the export on SQLite as a single JSON array of arrays,
/// built by the database. SQLite's driver hands every row from its worker
/// thread to ours with a wake-up and copies each value apart: for a million
/// persons that cost more than reading them (34 s for 1,000,000 rows; one
/// document per thousand persons: 15 s).
fn page_sql(persons_page: &str) -> String {
    let cols = columns_sql().join(", ");
    format!("SELECT json_group_array(json_array({cols})) AS page FROM ({persons_page}) AS p")
}

fn cells(r: Row, names: &Names) -> Vec<String> {
    let [skills, interests, sports, languages] = [
        TagKind::Skill,
        TagKind::Interest,
        TagKind::Sport,
        TagKind::Language,
    ]
    .map(|k| r.tags_of(k));
    let (cursus, campus, establishment, discipline, diploma) = r.education.unwrap_or_default();
    let programme = r
        .programme_id
        .and_then(|id| names.programmes.get(&id).cloned())
        .unwrap_or(cursus);
    let company = r
        .organisation_id
        .and_then(|id| names.organisations.get(&id).cloned())
        .or(r.company)
        .unwrap_or_default();
    let mut row = Vec::with_capacity(COLUMNS.len());
    let mut put = |f: ImportField, v: String| {
        debug_assert_eq!(COLUMNS[row.len()], f);
        row.push(v);
    };
    put(ImportField::ExternalRef, r.external_ref.unwrap_or_default());
    put(ImportField::Civility, r.civility);
    put(ImportField::FirstName, r.first_name);
    put(ImportField::LastName, r.last_name);
    put(ImportField::Email, r.email.unwrap_or_default());
    put(ImportField::Phone, r.phone.unwrap_or_default());
    put(ImportField::Role, r.roles.unwrap_or_default());
    put(
        ImportField::Promo,
        r.promo_year.map(|y| y.to_string()).unwrap_or_default(),
    );
    put(ImportField::Cursus, programme);
    put(ImportField::Campus, campus);
    put(ImportField::Establishment, establishment);
    put(ImportField::Discipline, discipline);
    put(ImportField::Diploma, diploma);
    put(ImportField::Company, company);
    put(ImportField::JobTitle, r.job_title.unwrap_or_default());
    put(ImportField::City, r.city);
    put(ImportField::Country, r.country);
    put(ImportField::Nationality, r.nationality.unwrap_or_default());
    put(ImportField::BirthDate, r.birth_date.unwrap_or_default());
    put(ImportField::Site, r.site.unwrap_or_default());
    put(ImportField::Skills, skills);
    put(ImportField::Interests, interests);
    put(ImportField::Sports, sports);
    put(ImportField::Languages, languages);
    put(ImportField::GdprConsent, yes_no(r.gdpr_consent == 1));
    put(ImportField::SmsConsent, yes_no(r.sms_consent == 1));
    row
}

/// Persons read per page.
const PAGE: u64 = 1000;

/// Writes the header and every person matching `cond` (all persons when
/// `ids` is None, else only those ids); returns the number of rows.
pub async fn write<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    ids: Option<&[i64]>,
    header: &(dyn Fn(ImportField) -> String + Sync),
    sink: &mut dyn Sink,
) -> AppResult<u64> {
    let names = Names::load(db).await?;
    sink.row(&COLUMNS.iter().map(|f| header(*f)).collect::<Vec<_>>())?;
    let mut n = 0;
    let mut after = 0i64;
    loop {
        let mut q = persons::Entity::find()
            .filter(cond.clone())
            .filter(persons::Column::Id.gt(after));
        if let Some(ids) = ids {
            let chunk: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| *id > after)
                .take(PAGE as usize)
                .collect();
            q = q.filter(persons::Column::Id.is_in(chunk));
        }
        let q = q.order_by_asc(persons::Column::Id).limit(PAGE);
        let mut page = match db.get_database_backend() {
            DbBackend::Sqlite => sqlite_page(db, q).await?,
            // PostgreSQL reads the person rows and each child table at once,
            // on a connection each, faster than its one-query form (52 s
            // instead of 18 for a million persons: a subquery per child per
            // person).
            _ => {
                let ids: Vec<i64> = q
                    .select_only()
                    .column(persons::Column::Id)
                    .into_tuple()
                    .all(db)
                    .await?;
                store::load_many_with(db, &ids, false)
                    .await?
                    .into_iter()
                    .map(Row::from)
                    .collect()
            }
        };
        page.sort_unstable_by_key(|r| r.id);
        let Some(last) = page.last().map(|r| r.id) else {
            break;
        };
        for r in page {
            sink.row(&cells(r, &names))?;
            n += 1;
        }
        after = last;
    }
    Ok(n)
}

/// One page on SQLite, as one JSON document (see `page_sql`).
async fn sqlite_page<C: ConnectionTrait>(
    db: &C,
    q: sea_orm::Select<persons::Entity>,
) -> AppResult<Vec<Row>> {
    use persons::Column as P;
    let inner = q
        .select_only()
        .columns([
            P::Id,
            P::ExternalRef,
            P::Civility,
            P::FirstName,
            P::LastName,
            P::Email,
            P::PromoYear,
            P::ProgrammeId,
            P::OrganisationId,
            P::JobTitle,
            P::City,
            P::Country,
            P::Nationality,
            P::BirthDate,
            P::Site,
            P::GdprConsent,
            P::SmsConsent,
        ])
        .build(DbBackend::Sqlite);
    let stmt = Statement {
        sql: page_sql(&inner.sql),
        ..inner
    };
    let json: Option<String> = match db.query_one_raw(stmt).await? {
        Some(row) => row.try_get("", "page")?,
        None => None,
    };
    match json {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("export page: {e}")))
        }
        None => Ok(Vec::new()),
    }
}

impl From<Record> for Row {
    fn from(r: Record) -> Row {
        let p = r.person;
        Row {
            id: p.id,
            external_ref: p.external_ref,
            civility: p.civility,
            first_name: p.first_name,
            last_name: p.last_name,
            email: p.email,
            promo_year: p.promo_year,
            programme_id: p.programme_id,
            organisation_id: p.organisation_id,
            job_title: p.job_title,
            city: p.city,
            country: p.country,
            nationality: p.nationality,
            birth_date: p.birth_date.map(|d| d.to_string()),
            site: p.site,
            gdpr_consent: p.gdpr_consent.into(),
            sms_consent: p.sms_consent.into(),
            phone: r.phones.into_iter().next().map(|x| x.number),
            roles: Some(
                r.roles
                    .iter()
                    .map(|x| x.role.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            education: r
                .education
                .into_iter()
                .next()
                .map(|e| (e.cursus, e.campus, e.establishment, e.discipline, e.diploma)),
            company: r.experiences.into_iter().next().map(|x| x.company),
            tags: r.tags.into_iter().map(|t| (t.kind, t.value)).collect(),
        }
    }
}

/// The English column keys, as the CLI writes them.
pub fn key_header(f: ImportField) -> String {
    f.key().to_owned()
}

/// Localised column names for the web export.
pub fn localized_header(l: crate::web::i18n::Locale) -> impl Fn(ImportField) -> String + Sync {
    let labels: HashMap<&'static str, String> = COLUMNS
        .iter()
        .map(|f| (f.key(), l.t(&format!("col-{}", f.key()))))
        .collect();
    move |f| labels.get(f.key()).cloned().unwrap_or_default()
}
