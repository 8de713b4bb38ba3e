//! Exports of the directory (D4) in CSV or XLSX, filtered or not, streamed:
//! persons are read a page at a time by id, so a million rows never sit in
//! memory. The header row uses the import's column names, so an export can
//! be edited and imported back.

use std::collections::HashMap;
use std::io::{Seek, Write};

use amicale_people::ImportField;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

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

fn cells(r: &Record, names: &Names) -> Vec<String> {
    let p = &r.person;
    let edu = r.education.first();
    let programme = p
        .programme_id
        .and_then(|id| names.programmes.get(&id).cloned())
        .or_else(|| edu.map(|e| e.cursus.clone()))
        .unwrap_or_default();
    let company = p
        .organisation_id
        .and_then(|id| names.organisations.get(&id).cloned())
        .or_else(|| r.experiences.first().map(|x| x.company.clone()))
        .unwrap_or_default();
    let join = |k: TagKind| r.tags_of(k).join(", ");
    COLUMNS
        .iter()
        .map(|f| match f {
            ImportField::ExternalRef => p.external_ref.clone().unwrap_or_default(),
            ImportField::Civility => p.civility.clone(),
            ImportField::FirstName => p.first_name.clone(),
            ImportField::LastName => p.last_name.clone(),
            ImportField::Email => p.email.clone().unwrap_or_default(),
            ImportField::Phone => r
                .phones
                .first()
                .map(|x| x.number.clone())
                .unwrap_or_default(),
            ImportField::Role => r
                .roles
                .iter()
                .map(|x| x.role.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            ImportField::Promo => p.promo_year.map(|y| y.to_string()).unwrap_or_default(),
            ImportField::Cursus => programme.clone(),
            ImportField::Campus => edu.map(|e| e.campus.clone()).unwrap_or_default(),
            ImportField::Establishment => edu.map(|e| e.establishment.clone()).unwrap_or_default(),
            ImportField::Discipline => edu.map(|e| e.discipline.clone()).unwrap_or_default(),
            ImportField::Diploma => edu.map(|e| e.diploma.clone()).unwrap_or_default(),
            ImportField::Company => company.clone(),
            ImportField::JobTitle => p.job_title.clone().unwrap_or_default(),
            ImportField::City => p.city.clone(),
            ImportField::Country => p.country.clone(),
            ImportField::Nationality => p.nationality.clone().unwrap_or_default(),
            ImportField::BirthDate => p.birth_date.map(|d| d.to_string()).unwrap_or_default(),
            ImportField::Site => p.site.clone().unwrap_or_default(),
            ImportField::Skills => join(TagKind::Skill),
            ImportField::Interests => join(TagKind::Interest),
            ImportField::Sports => join(TagKind::Sport),
            ImportField::Languages => join(TagKind::Language),
            ImportField::GdprConsent => yes_no(p.gdpr_consent),
            ImportField::SmsConsent => yes_no(p.sms_consent),
            _ => String::new(),
        })
        .collect()
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
            .select_only()
            .column(persons::Column::Id)
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
        let page: Vec<i64> = q
            .order_by_asc(persons::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = page.last().copied() else {
            break;
        };
        for r in store::load_many_with(db, &page, false).await? {
            sink.row(&cells(&r, &names))?;
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
