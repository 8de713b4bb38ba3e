//! Exports of the directory in CSV or XLSX, filtered or not, streamed:
//! persons are read a page at a time by id, so a million rows never sit in
//! memory. The header row uses the import's column names, so an export can
//! be edited and imported back.

use std::collections::HashMap;
use std::io::{Seek, Write};

use amicale_people::ImportField;
use futures_util::StreamExt;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Statement, StreamTrait,
};
use serde::Deserialize;

use crate::error::{AppError, AppResult};
use crate::people::model::TagKind;
use crate::people::store::Names;
use crate::people::xlsx::XlsxWriter;
use amicale_store::entities::persons;

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
        // Cells are neutralised: a name such as `=HYPERLINK(…)` must not run
        // as a formula in the reader's spreadsheet.
        crate::csv_safe::write_record(&mut self.0, cells)
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
/// tables, what the export shows of them. On SQLite, read positionally from
/// the JSON arrays `sqlite_page_sql` builds; on PostgreSQL, from the
/// columns of `pg_sql`, in the same order.
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
    tags: Tags,
}

/// The exported kinds of tags, in column order.
const TAG_KINDS: [TagKind; 4] = [
    TagKind::Skill,
    TagKind::Interest,
    TagKind::Sport,
    TagKind::Language,
];

/// A person's tags of each of `TAG_KINDS`, joined with ", " in the order of
/// their folded values.
#[derive(Debug, Default)]
struct Tags([String; 4]);

impl Tags {
    fn push(&mut self, kind: &str, value: &str) {
        if let Some(i) = TAG_KINDS.iter().position(|k| k.as_str() == kind) {
            let joined = &mut self.0[i];
            if !joined.is_empty() {
                joined.push_str(", ");
            }
            joined.push_str(value);
        }
    }
}

/// SQLite hands tags as (kind, value) pairs ordered by kind then folded value.
impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Tags, D::Error> {
        let pairs = Vec::<(String, String)>::deserialize(d)?;
        let mut tags = Tags::default();
        for (kind, value) in &pairs {
            tags.push(kind, value);
        }
        Ok(tags)
    }
}

impl Row {
    /// A row of `pg_sql`.
    fn from_pg(r: &sea_orm::QueryResult) -> Result<Row, sea_orm::DbErr> {
        let mut i = 0;
        macro_rules! next {
            () => {{
                i += 1;
                r.try_get_by_index(i - 1)?
            }};
        }
        let flag = |b: bool| u8::from(b);
        let mut row = Row {
            id: next!(),
            external_ref: next!(),
            civility: next!(),
            first_name: next!(),
            last_name: next!(),
            email: next!(),
            promo_year: next!(),
            programme_id: next!(),
            organisation_id: next!(),
            job_title: next!(),
            city: next!(),
            country: next!(),
            nationality: next!(),
            birth_date: next!(),
            site: next!(),
            gdpr_consent: flag(next!()),
            sms_consent: flag(next!()),
            phone: next!(),
            roles: next!(),
            education: None,
            company: None,
            tags: Tags::default(),
        };
        let education: [Option<String>; 5] = [next!(), next!(), next!(), next!(), next!()];
        if let [Some(a), Some(b), Some(c), Some(d), Some(e)] = education {
            row.education = Some((a, b, c, d, e));
        }
        row.company = next!();
        for joined in &mut row.tags.0 {
            let tags: Option<String> = next!();
            *joined = tags.unwrap_or_default();
        }
        Ok(row)
    }
}

/// The person's own columns of `Row`, in order, of a page named `p`.
/// SQLite keeps dates as ISO text.
fn person_columns(backend: DbBackend) -> Vec<String> {
    use sea_orm::Iden;
    PERSON_COLUMNS
        .iter()
        .map(|c| match (backend, c) {
            (DbBackend::Postgres, persons::Column::BirthDate) => {
                format!("p.{}::text", c.to_string())
            }
            _ => format!("p.{}", c.to_string()),
        })
        .collect()
}

/// The columns of `persons` a `Row` starts with, in its order.
const PERSON_COLUMNS: [persons::Column; 17] = {
    use persons::Column as P;
    [
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
    ]
};

/// One page of the export on SQLite as a single JSON array of arrays, built
/// by the database with a subquery per child per person, each a short
/// index lookup. SQLite's driver hands every row from its worker thread to
/// ours with a wake-up and copies each value apart: for a million persons
/// with ~15 child rows each that cost more than reading them (34 s for
/// 1,000,000 rows; one document per thousand persons: 15 s).
/// "First" means principal then first inserted, as on the person's page.
fn sqlite_page_sql(persons_page: &str) -> String {
    let first = |table: &str, col: &str, order: &str| {
        format!("(SELECT {col} FROM {table} c WHERE c.person_id = p.id ORDER BY {order} LIMIT 1)")
    };
    let mut cols = person_columns(DbBackend::Sqlite);
    cols.push(first(
        "person_phones",
        "c.number",
        "c.is_principal DESC, c.id",
    ));
    cols.push(
        "(SELECT group_concat(c.role, ', ' ORDER BY c.role, c.programme_id) \
         FROM person_roles c WHERE c.person_id = p.id)"
            .to_owned(),
    );
    // Several values of one child in one subquery (each costs a cursor per
    // person), as JSON that json() keeps nested rather than quoted.
    cols.push(format!(
        "json({})",
        first(
            "person_education",
            "json_array(c.cursus, c.campus, c.establishment, c.discipline, c.diploma)",
            "c.id"
        )
    ));
    cols.push(first("person_experiences", "c.company", "c.id"));
    cols.push(
        "json((SELECT json_group_array(json_array(c.kind, c.value) ORDER BY c.kind, c.value_key) \
         FROM person_tags c WHERE c.person_id = p.id))"
            .to_owned(),
    );
    let cols = cols.join(", ");
    format!("SELECT json_group_array(json_array({cols})) AS page FROM ({persons_page}) AS p")
}

/// The export on PostgreSQL: each child table read once and grouped by
/// person, merged with the persons in id order. Without `page` it covers
/// every person in one pass (merge joins over whole tables: ~10 s for a
/// million, where a subquery per child per person took 52 s and pages of
/// a thousand persons 22 s). With `page` (a query of persons in id order)
/// each child is read for the page's persons only, by its person index
/// (not over the page's id range: a filtered page spans many more ids).
fn pg_sql(page: Option<&str>) -> String {
    let (with, from, bound) = match page {
        Some(page) => (
            format!("WITH p AS MATERIALIZED ({page}) "),
            "p",
            "WHERE c.person_id = ANY(ARRAY(SELECT id FROM p)) ",
        ),
        None => (String::new(), "persons p", ""),
    };
    let first = |table: &str, values: &[&str], order: &str| {
        let values = values.iter().map(|v| format!("c.{v}")).collect::<Vec<_>>();
        format!(
            "(SELECT DISTINCT ON (c.person_id) c.person_id, {} FROM {table} c {bound}\
             ORDER BY c.person_id, {order})",
            values.join(", ")
        )
    };
    let grouped = |table: &str, values: &[String]| {
        format!(
            "(SELECT c.person_id, {} FROM {table} c {bound}GROUP BY c.person_id)",
            values.join(", ")
        )
    };
    let education = ["cursus", "campus", "establishment", "discipline", "diploma"];
    let tags: Vec<String> = TAG_KINDS
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "string_agg(c.value, ', ' ORDER BY c.value_key) FILTER (WHERE c.kind = '{}') AS t{i}",
                k.as_str()
            )
        })
        .collect();
    let children = [
        (
            first("person_phones", &["number"], "c.is_principal DESC, c.id"),
            vec!["number".to_owned()],
        ),
        (
            grouped(
                "person_roles",
                &["string_agg(c.role, ', ' ORDER BY c.role, c.programme_id) AS roles".to_owned()],
            ),
            vec!["roles".to_owned()],
        ),
        (
            first("person_education", &education, "c.id"),
            education.map(String::from).to_vec(),
        ),
        (
            first("person_experiences", &["company"], "c.id"),
            vec!["company".to_owned()],
        ),
        (
            grouped("person_tags", &tags),
            (0..TAG_KINDS.len()).map(|i| format!("t{i}")).collect(),
        ),
    ];
    let mut cols = person_columns(DbBackend::Postgres);
    let mut joins = String::new();
    for (i, (child, values)) in children.iter().enumerate() {
        joins.push_str(&format!(
            " LEFT JOIN {child} AS c{i} ON c{i}.person_id = p.id"
        ));
        cols.extend(values.iter().map(|v| format!("c{i}.{v}")));
    }
    format!(
        "{with}SELECT {} FROM {from}{joins} ORDER BY p.id",
        cols.join(", ")
    )
}

fn cells(r: Row, names: &Names) -> Vec<String> {
    let [skills, interests, sports, languages] = r.tags.0;
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
pub async fn write(
    db: &DatabaseConnection,
    cond: Condition,
    ids: Option<&[i64]>,
    header: &(dyn Fn(ImportField) -> String + Sync),
    sink: &mut dyn Sink,
) -> AppResult<u64> {
    let names = Names::load(db).await?;
    sink.row(&COLUMNS.iter().map(|f| header(*f)).collect::<Vec<_>>())?;
    let unfiltered = ids.is_none() && cond.is_empty();
    let persons_after = |after: i64| {
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
        q.order_by_asc(persons::Column::Id).limit(PAGE)
    };
    let mut n = 0;
    if db.get_database_backend() != DbBackend::Postgres {
        if unfiltered && let Some(n) = sqlite_all(db, sink, &names).await? {
            return Ok(n);
        }
        // The database reads the next page while this one is written.
        let mut page = sqlite_page(db, persons_after(0)).await?;
        while let Some(last) = page.last().map(|r| r.id) {
            let (next, written) = tokio::join!(sqlite_page(db, persons_after(last)), async {
                write_rows(sink, std::mem::take(&mut page), &names)
            });
            n += written?;
            page = next?;
        }
        return Ok(n);
    }
    if unfiltered {
        let mut rows = db
            .stream_raw(Statement::from_string(DbBackend::Postgres, pg_sql(None)))
            .await?;
        while let Some(r) = rows.next().await {
            sink.row(&cells(Row::from_pg(&r?)?, &names))?;
            n += 1;
        }
        return Ok(n);
    }
    // Filtered, on PostgreSQL: three stages overlap, each query on a
    // connection of its own: the ids of the next page (filtering is most of
    // a filtered page's cost), the rows of this one, the writing of the
    // previous one.
    let ids_after = |after: i64| {
        persons_after(after)
            .select_only()
            .column(persons::Column::Id)
            .into_tuple::<i64>()
            .all(db)
    };
    let mut page = ids_after(0).await?;
    let mut rows = Vec::new();
    loop {
        let last = page.last().copied();
        let (next_rows, next_page, written) = tokio::join!(
            pg_page(db, &page),
            async {
                match last {
                    Some(last) => ids_after(last).await,
                    None => Ok(Vec::new()),
                }
            },
            async { write_rows(sink, std::mem::take(&mut rows), &names) }
        );
        n += written?;
        rows = next_rows?;
        if last.is_none() {
            return Ok(n);
        }
        page = next_page?;
    }
}

/// Pages of an unfiltered SQLite export read at once. Each page is one
/// statement on a connection, and so a worker thread, of its own: cut by
/// id range, pages do not wait for the previous one's last id, and both
/// cores work (the database on the next pages, this task on writing).
const SQLITE_READERS: usize = 3;

/// Every person on SQLite, pages of ids read `SQLITE_READERS` at a time
/// and written in order; None (nothing written) when ids are too sparse for
/// ranges to make full pages.
async fn sqlite_all(
    db: &DatabaseConnection,
    sink: &mut dyn Sink,
    names: &Names,
) -> AppResult<Option<u64>> {
    let bounds = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM persons",
        ))
        .await?;
    let Some(b) = bounds else {
        return Ok(Some(0));
    };
    let (lo, hi, count): (Option<i64>, Option<i64>, i64) = (
        b.try_get("", "lo")?,
        b.try_get("", "hi")?,
        b.try_get("", "n")?,
    );
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(Some(0));
    };
    // Mostly empty ranges would cost a statement each for nothing.
    if (hi - lo) / 2 > count {
        return Ok(None);
    }
    let step = PAGE as i64;
    let pages = futures_util::stream::iter((lo..=hi).step_by(PAGE as usize))
        .map(|from| {
            sqlite_page(
                db,
                persons::Entity::find()
                    .filter(persons::Column::Id.gte(from))
                    .filter(persons::Column::Id.lt(from.saturating_add(step)))
                    .order_by_asc(persons::Column::Id),
            )
        })
        .buffered(SQLITE_READERS);
    let mut pages = std::pin::pin!(pages);
    let mut n = 0;
    while let Some(page) = pages.next().await {
        n += write_rows(sink, page?, names)?;
    }
    Ok(Some(n))
}

fn write_rows(sink: &mut dyn Sink, rows: Vec<Row>, names: &Names) -> AppResult<u64> {
    let n = rows.len() as u64;
    for r in rows {
        sink.row(&cells(r, names))?;
    }
    Ok(n)
}

/// A query of persons selecting `PERSON_COLUMNS`.
fn person_select(q: sea_orm::Select<persons::Entity>) -> sea_orm::Select<persons::Entity> {
    q.select_only().columns(PERSON_COLUMNS)
}

/// These persons (a page, in id order) on PostgreSQL, with what the export
/// shows of their child rows.
async fn pg_page(db: &DatabaseConnection, ids: &[i64]) -> AppResult<Vec<Row>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let inner = person_select(persons::Entity::find())
        .filter(persons::Column::Id.is_in(ids.to_vec()))
        .order_by_asc(persons::Column::Id)
        .build(DbBackend::Postgres);
    let stmt = Statement {
        sql: pg_sql(Some(&inner.sql)),
        ..inner
    };
    db.query_all_raw(stmt)
        .await?
        .iter()
        .map(|r| Row::from_pg(r).map_err(AppError::from))
        .collect()
}

/// A page of persons on SQLite, as one JSON document (see
/// `sqlite_page_sql`), in id order.
async fn sqlite_page(
    db: &DatabaseConnection,
    q: sea_orm::Select<persons::Entity>,
) -> AppResult<Vec<Row>> {
    let inner = person_select(q).build(DbBackend::Sqlite);
    let stmt = Statement {
        sql: sqlite_page_sql(&inner.sql),
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
    page.sort_unstable_by_key(|r| r.id);
    Ok(page)
}

/// The English column keys, as the CLI writes them.
pub fn key_header(f: ImportField) -> String {
    f.key().to_owned()
}

/// Localised column names for the web export.
pub fn localized_header(l: amicale_kernel::Locale) -> impl Fn(ImportField) -> String + Sync {
    let labels: HashMap<&'static str, String> = COLUMNS
        .iter()
        .map(|f| (f.key(), l.t(&format!("col-{}", f.key()))))
        .collect();
    move |f| labels.get(f.key()).cloned().unwrap_or_default()
}
