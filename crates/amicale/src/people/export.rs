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
use crate::people::store::Names;
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
/// array `page_sql` builds, in the order of `COLUMNS_SQL`.
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
    cursus: Option<String>,
    campus: Option<String>,
    establishment: Option<String>,
    discipline: Option<String>,
    diploma: Option<String>,
    company: Option<String>,
    skills: Option<String>,
    interests: Option<String>,
    sports: Option<String>,
    languages: Option<String>,
}

/// The SQL of each of `Row`'s fields, in order, over a page of `persons`.
/// "First" means first inserted, as on the person's page.
fn columns_sql(backend: DbBackend) -> Vec<String> {
    let join = |expr: &str, order: &str| match backend {
        DbBackend::Postgres => format!("string_agg({expr}, ', ' ORDER BY {order})"),
        _ => format!("group_concat({expr}, ', ' ORDER BY {order})"),
    };
    let first = |table: &str, col: &str| {
        format!("(SELECT c.{col} FROM {table} c WHERE c.person_id = p.id ORDER BY c.id LIMIT 1)")
    };
    let tags = |kind: TagKind| {
        format!(
            "(SELECT {} FROM person_tags c WHERE c.person_id = p.id AND c.kind = '{}')",
            join("c.value", "c.value_key"),
            kind.as_str()
        )
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
        // A date as its ISO text on both backends.
        "CAST(p.birth_date AS TEXT)",
        "site",
        "CASE WHEN gdpr_consent THEN 1 ELSE 0 END",
        "CASE WHEN sms_consent THEN 1 ELSE 0 END",
    ]
    .map(String::from)
    .into();
    cols.push(first("person_phones", "number"));
    cols.push(format!(
        "(SELECT {} FROM person_roles c WHERE c.person_id = p.id)",
        join("c.role", "c.role, c.programme_id")
    ));
    for col in ["cursus", "campus", "establishment", "discipline", "diploma"] {
        cols.push(first("person_education", col));
    }
    cols.push(first("person_experiences", "company"));
    for kind in [
        TagKind::Skill,
        TagKind::Interest,
        TagKind::Sport,
        TagKind::Language,
    ] {
        cols.push(tags(kind));
    }
    cols
}

/// One page of the export as a single JSON array of arrays, built by the
/// database. The SQLite driver hands every row from its worker thread to
/// ours with a wake-up and copies each value apart: for a million persons
/// that cost more than reading them (34 s for 1,000,000 rows; one document
/// per thousand persons: see the note).
fn page_sql(backend: DbBackend, persons_page: &str) -> String {
    let cols = columns_sql(backend).join(", ");
    match backend {
        DbBackend::Postgres => format!(
            "SELECT json_agg(json_build_array({cols}))::text AS page FROM ({persons_page}) AS p"
        ),
        _ => format!(
            "SELECT json_group_array(json_array({cols})) AS page FROM ({persons_page}) AS p"
        ),
    }
}

fn cells(r: Row, names: &Names) -> Vec<String> {
    let programme = r
        .programme_id
        .and_then(|id| names.programmes.get(&id).cloned())
        .or(r.cursus)
        .unwrap_or_default();
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
    put(ImportField::Campus, r.campus.unwrap_or_default());
    put(
        ImportField::Establishment,
        r.establishment.unwrap_or_default(),
    );
    put(ImportField::Discipline, r.discipline.unwrap_or_default());
    put(ImportField::Diploma, r.diploma.unwrap_or_default());
    put(ImportField::Company, company);
    put(ImportField::JobTitle, r.job_title.unwrap_or_default());
    put(ImportField::City, r.city);
    put(ImportField::Country, r.country);
    put(ImportField::Nationality, r.nationality.unwrap_or_default());
    put(ImportField::BirthDate, r.birth_date.unwrap_or_default());
    put(ImportField::Site, r.site.unwrap_or_default());
    put(ImportField::Skills, r.skills.unwrap_or_default());
    put(ImportField::Interests, r.interests.unwrap_or_default());
    put(ImportField::Sports, r.sports.unwrap_or_default());
    put(ImportField::Languages, r.languages.unwrap_or_default());
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
    let backend = db.get_database_backend();
    let names = Names::load(db).await?;
    sink.row(&COLUMNS.iter().map(|f| header(*f)).collect::<Vec<_>>())?;
    let mut n = 0;
    let mut after = 0i64;
    loop {
        use persons::Column as P;
        let mut q = persons::Entity::find()
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
        let inner = q
            .order_by_asc(persons::Column::Id)
            .limit(PAGE)
            .build(backend);
        let stmt = Statement {
            sql: page_sql(backend, &inner.sql),
            ..inner
        };
        let json: Option<String> = match db.query_one_raw(stmt).await? {
            Some(row) => row.try_get("", "page")?,
            None => None,
        };
        let mut page: Vec<Row> = match json {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("export page: {e}")))?,
            None => Vec::new(),
        };
        // An aggregate's order is the database's choice.
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
