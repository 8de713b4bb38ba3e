//! Imports of persons from CSV or XLSX: every row checked first, a
//! report per row, then "all or nothing" or "only the valid rows". Persons
//! are matched by e-mail or external reference, so importing the same file
//! twice changes nothing the second time.

use std::collections::HashMap;
use std::io::Cursor;

use amicale_people::{FieldError, HeaderMap, ImportField, ImportRow, duplicate_keys, fold};
use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use chrono::NaiveDate;
use sea_orm::{Condition, DatabaseConnection, EntityTrait, TransactionTrait};
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::people::model::{Status, TagKind};
use crate::people::search;
use crate::people::store::{
    self, Education, EmailEntry, Experience, Names, PersonInput, PhoneEntry,
};

/// A file's header and rows, as text.
#[derive(Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Gives `role` to every row whose role cell is empty (or to every row
    /// when the file has no role column): a person without a role cannot
    /// use the directory once invited.
    pub fn default_role(&mut self, role: amicale_people::CommunityRole) {
        let col = self
            .headers
            .iter()
            .position(|h| ImportField::from_header(h) == Some(ImportField::Role));
        let col = match col {
            Some(c) => c,
            None => {
                self.headers.push("role".into());
                self.headers.len() - 1
            }
        };
        for row in &mut self.rows {
            if row.len() <= col {
                row.resize(col + 1, String::new());
            }
            if row[col].trim().is_empty() {
                row[col] = role.as_str().to_owned();
            }
        }
    }

    /// Rows that give no role.
    pub fn without_role(&self) -> usize {
        let Some(col) = self
            .headers
            .iter()
            .position(|h| ImportField::from_header(h) == Some(ImportField::Role))
        else {
            return self.rows.len();
        };
        self.rows
            .iter()
            .filter(|r| r.get(col).is_none_or(|c| c.trim().is_empty()))
            .count()
    }
}

/// What one file may make the parser hold or do: a 1.6 KB XLSX naming
/// cells A1 and XFD1048576 would otherwise ask for 17 billion cells. Every
/// bound is checked before anything of that size is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rows, the header included; also the highest row a cell may name.
    pub max_rows: usize,
    /// Columns; also the highest column a cell may name.
    pub max_columns: usize,
    /// Cells the file holds or names.
    pub max_cells: usize,
    /// Bytes of all the parts of an XLSX file once uncompressed.
    pub max_unzipped_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 100_000,
            max_columns: 200,
            max_cells: 2_000_000,
            max_unzipped_bytes: 100 * 1024 * 1024,
        }
    }
}

impl Limits {
    pub fn of(config: &amicale_delivery::config::Config) -> Limits {
        Limits {
            max_rows: config.import_max_rows,
            max_columns: config.import_max_columns,
            max_cells: config.import_max_cells,
            max_unzipped_bytes: config.import_max_unzipped_bytes,
        }
    }
}

/// The file's kind is told by its content: an XLSX is a zip. The default
/// limits apply.
pub fn read(bytes: &[u8]) -> Result<Table, ImportError> {
    read_limited(bytes, &Limits::default())
}

/// Reads a file within `limits`. CPU-bound for large files: callers on the
/// async runtime run it in `spawn_blocking`.
pub fn read_limited(bytes: &[u8], limits: &Limits) -> Result<Table, ImportError> {
    if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes, limits)
    } else {
        read_csv(bytes, limits)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportError {
    /// Neither UTF-8 CSV nor a readable XLSX.
    Unreadable,
    Empty,
    /// More rows than allowed (the limit).
    TooManyRows(usize),
    /// More columns than allowed (the limit).
    TooManyColumns(usize),
    /// More cells than allowed (the limit).
    TooManyCells(usize),
    /// An XLSX whose parts, uncompressed, exceed the limit in bytes.
    TooLarge(u64),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Unreadable => "unreadable",
            ImportError::Empty => "empty",
            ImportError::TooManyRows(_) => "too-many-rows",
            ImportError::TooManyColumns(_) => "too-many-columns",
            ImportError::TooManyCells(_) => "too-many-cells",
            ImportError::TooLarge(_) => "too-large",
        }
    }

    /// The limit a refused file went beyond, for the message.
    pub fn limit(&self) -> Option<u64> {
        match self {
            ImportError::Unreadable | ImportError::Empty => None,
            ImportError::TooManyRows(n)
            | ImportError::TooManyColumns(n)
            | ImportError::TooManyCells(n) => Some(*n as u64),
            ImportError::TooLarge(n) => Some(n / (1024 * 1024)),
        }
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::Unreadable => write!(f, "neither a readable CSV nor XLSX file"),
            ImportError::Empty => write!(f, "the file is empty"),
            ImportError::TooManyRows(n) => {
                write!(f, "the file has more than {n} rows (import_max_rows)")
            }
            ImportError::TooManyColumns(n) => {
                write!(f, "the file has more than {n} columns (import_max_columns)")
            }
            ImportError::TooManyCells(n) => {
                write!(f, "the file has more than {n} cells (import_max_cells)")
            }
            ImportError::TooLarge(n) => write!(
                f,
                "the file uncompresses to more than {} MB (import_max_unzipped_bytes)",
                n / (1024 * 1024)
            ),
        }
    }
}

/// Counts the records and fields of a CSV text without holding them, so a
/// file of 25 MB of separators is refused before the reader builds one
/// record of millions of fields. Quotes are followed as the reader does.
fn check_csv_shape(text: &[u8], delimiter: u8, limits: &Limits) -> Result<(), ImportError> {
    let (mut rows, mut fields, mut cells) = (0usize, 1usize, 0usize);
    let mut in_quotes = false;
    let mut line_has_content = false;
    let end_record = |fields: &mut usize, rows: &mut usize, cells: &mut usize| {
        *rows += 1;
        *cells += *fields;
        if *rows > limits.max_rows {
            return Err(ImportError::TooManyRows(limits.max_rows));
        }
        if *cells > limits.max_cells {
            return Err(ImportError::TooManyCells(limits.max_cells));
        }
        *fields = 1;
        Ok(())
    };
    for &b in text {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                line_has_content = true;
            }
            b'\n' | b'\r' if !in_quotes => {
                if line_has_content {
                    end_record(&mut fields, &mut rows, &mut cells)?;
                }
                line_has_content = false;
            }
            _ if b == delimiter && !in_quotes => {
                fields += 1;
                line_has_content = true;
                if fields > limits.max_columns {
                    return Err(ImportError::TooManyColumns(limits.max_columns));
                }
            }
            _ => line_has_content = true,
        }
    }
    if line_has_content {
        end_record(&mut fields, &mut rows, &mut cells)?;
    }
    Ok(())
}

fn read_csv(bytes: &[u8], limits: &Limits) -> Result<Table, ImportError> {
    let text: String = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        // Spreadsheets on Windows still save CSV in a Latin encoding.
        Err(_) => bytes.iter().map(|b| *b as char).collect(),
    };
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    check_csv_shape(text.as_bytes(), delimiter, limits)?;
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = r.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(str::to_owned).collect(),
        Some(Err(_)) => return Err(ImportError::Unreadable),
        None => return Err(ImportError::Empty),
    };
    let mut rows = Vec::new();
    for rec in records {
        let rec = rec.map_err(|_| ImportError::Unreadable)?;
        // Cells the export neutralised (`'=…`, `'+33…`) read back as they were.
        rows.push(
            rec.iter()
                .map(|c| crate::csv_safe::restore(c).to_owned())
                .collect(),
        );
    }
    Ok(Table { headers, rows })
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "oui" } else { "non" }.to_owned(),
        Data::DateTime(dt) => {
            // Spreadsheet serial days count from 1899-12-30.
            let days = dt.as_f64().floor() as i64;
            NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|base| base.checked_add_signed(chrono::Duration::days(days)))
                .map(|d| d.to_string())
                .unwrap_or_default()
        }
    }
}

/// Parts of an XLSX file a spreadsheet never needs in such numbers.
const MAX_ZIP_ENTRIES: usize = 10_000;

/// Reads every part of the zip once, uncompressing it into nothing, before
/// the spreadsheet reader opens it: the declared sizes of a zip can lie, the
/// bytes cannot. The whole must stay within the byte budget, and no
/// `uniqueCount` (which the reader reserves room for up front) may promise
/// more strings than the cell budget.
fn check_zip(bytes: &[u8], limits: &Limits) -> Result<(), ImportError> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| ImportError::Unreadable)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(ImportError::TooManyCells(limits.max_cells));
    }
    let mut total: u64 = 0;
    let mut chunk = vec![0u8; 64 * 1024];
    // The tail of the previous chunk, so an attribute cut in two is seen.
    let mut window: Vec<u8> = Vec::with_capacity(chunk.len() + KEEP);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|_| ImportError::Unreadable)?;
        window.clear();
        loop {
            let n = entry
                .read(&mut chunk)
                .map_err(|_| ImportError::Unreadable)?;
            total += n as u64;
            if total > limits.max_unzipped_bytes {
                return Err(ImportError::TooLarge(limits.max_unzipped_bytes));
            }
            window.extend_from_slice(&chunk[..n]);
            let last = n == 0;
            let keep_from = check_unique_counts(&window, last, limits)?;
            if last {
                break;
            }
            window.drain(..keep_from);
            if window.len() > 4 * chunk.len() {
                // An attribute padded past any real file's.
                return Err(ImportError::Unreadable);
            }
        }
    }
    Ok(())
}

/// Bytes kept from one chunk to the next: more than `uniqueCount = "…"`
/// with any number the budget allows.
const KEEP: usize = 128;

/// Checks every `uniqueCount="N"` in `window`: N must be within the cell
/// budget. Returns where the next window must start: an attribute whose
/// value runs past the end of this window (padding spaces, leading zeros) is
/// kept whole for the next one.
fn check_unique_counts(window: &[u8], last: bool, limits: &Limits) -> Result<usize, ImportError> {
    const NAME: &[u8] = b"uniqueCount";
    let tail = if last {
        window.len()
    } else {
        window.len().saturating_sub(KEEP)
    };
    let mut from = 0;
    while let Some(at) = find(&window[from..], NAME).map(|p| p + from) {
        if at >= tail {
            return Ok(tail);
        }
        let mut pos = at + NAME.len();
        let skip_ws = |pos: &mut usize| {
            while window.get(*pos).is_some_and(u8::is_ascii_whitespace) {
                *pos += 1;
            }
        };
        skip_ws(&mut pos);
        if window.get(pos) == Some(&b'=') {
            pos += 1;
            skip_ws(&mut pos);
            if matches!(window.get(pos), Some(b'"' | b'\'')) {
                pos += 1;
                let mut n: u64 = 0;
                while let Some(d) = window.get(pos).filter(|d| d.is_ascii_digit()) {
                    n = n.saturating_mul(10).saturating_add(u64::from(d - b'0'));
                    pos += 1;
                }
                if n > limits.max_cells as u64 {
                    return Err(ImportError::TooManyCells(limits.max_cells));
                }
            }
        }
        if pos >= window.len() && !last {
            // Unresolved: look again once more bytes are there.
            return Ok(at);
        }
        from = at + NAME.len();
    }
    Ok(tail)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads the first sheet cell by cell, never as the rectangle its cells
/// span: a sheet naming A1 and XFD1048576 is refused at the second cell.
fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Table, ImportError> {
    check_zip(bytes, limits)?;
    let mut wb: Xlsx<_> =
        open_workbook_from_rs(Cursor::new(bytes)).map_err(|_| ImportError::Unreadable)?;
    let first = wb
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(ImportError::Empty)?;
    let mut cells = wb
        .worksheet_cells_reader(&first)
        .map_err(|_| ImportError::Unreadable)?;
    let within = |(row, col): (u32, u32)| -> Result<(), ImportError> {
        if row as usize >= limits.max_rows {
            return Err(ImportError::TooManyRows(limits.max_rows));
        }
        if col as usize >= limits.max_columns {
            return Err(ImportError::TooManyColumns(limits.max_columns));
        }
        Ok(())
    };
    let declared = cells.dimensions();
    within(declared.start)?;
    within(declared.end)?;
    // The values, by row then column; only cells with a value are kept.
    let mut grid: std::collections::BTreeMap<u32, Vec<(u32, String)>> = Default::default();
    let mut seen = 0usize;
    while let Some(cell) = cells.next_cell().map_err(|_| ImportError::Unreadable)? {
        seen += 1;
        if seen > limits.max_cells {
            return Err(ImportError::TooManyCells(limits.max_cells));
        }
        let pos = cell.get_position();
        within(pos)?;
        let text = cell_text(&Data::from(cell.get_value().clone()));
        if !text.is_empty() {
            grid.entry(pos.0).or_default().push((pos.1, text));
        }
    }
    // As the spreadsheet shows it: from the first column holding a value,
    // each row as long as its last value.
    let first_col = grid
        .values()
        .flatten()
        .map(|(c, _)| *c)
        .min()
        .ok_or(ImportError::Empty)?;
    let mut held = 0usize;
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(grid.len());
    for (_, mut values) in grid {
        values.sort_by_key(|(c, _)| *c);
        let width = values
            .last()
            .map_or(0, |(c, _)| (c - first_col) as usize + 1);
        held += width;
        if held > limits.max_cells {
            return Err(ImportError::TooManyCells(limits.max_cells));
        }
        let mut row = vec![String::new(); width];
        for (c, v) in values {
            row[(c - first_col) as usize] = v;
        }
        if row.iter().any(|c| !c.trim().is_empty()) {
            rows.push(row);
        }
    }
    let mut rows = rows.into_iter();
    let headers = rows.next().ok_or(ImportError::Empty)?;
    Ok(Table {
        headers,
        rows: rows.collect(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Nothing is written when any row is rejected.
    #[default]
    All,
    /// The valid rows are written, the others reported.
    Valid,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "all" => Some(Mode::All),
            "valid" => Some(Mode::Valid),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The column's key (`email`), or `file` for the header row.
    pub field: String,
    /// A stable code: `email-invalid`, `duplicate-in-file`, `conflict`, …
    pub code: String,
    /// The earlier row holding the same e-mail or reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_row: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The line in the file, the header being line 1.
    pub row: usize,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejected>,
    /// Columns that were not recognised and were ignored.
    pub ignored_columns: Vec<String>,
    /// False for a dry run, or when all-or-nothing met a rejected row.
    pub written: bool,
    /// Ids of the persons created, for the optional invitations.
    #[serde(skip)]
    pub created_ids: Vec<i64>,
}

fn err(field: &str, code: &str) -> RowError {
    RowError {
        field: field.to_owned(),
        code: code.to_owned(),
        first_row: None,
    }
}

/// What the import will do with one valid row.
enum Plan {
    Create(Box<PersonInput>),
    Update(i64, Box<PersonInput>),
    Unchanged,
}

struct Lookup {
    programmes: HashMap<String, i64>,
    organisations: HashMap<String, i64>,
}

impl Lookup {
    async fn load(db: &DatabaseConnection, names: &Names) -> AppResult<Lookup> {
        let mut programmes: HashMap<String, i64> = names
            .programmes
            .iter()
            .map(|(id, n)| (fold(n), *id))
            .collect();
        for p in amicale_store::entities::programmes::Entity::find()
            .all(db)
            .await?
        {
            programmes.insert(fold(&p.code), p.id);
        }
        Ok(Lookup {
            programmes,
            organisations: names
                .organisations
                .iter()
                .map(|(id, n)| (fold(n), *id))
                .collect(),
        })
    }
}

/// Lays the row's non-empty values over a person. Lists and roles are
/// added to, never replaced: an import does not remove what staff entered.
fn overlay(p: &mut PersonInput, row: &ImportRow, cols: &HeaderMap, lookup: &Lookup) {
    let has = |f: ImportField| cols.column(f).is_some();
    p.first_name = row.first_name.clone();
    p.last_name = row.last_name.clone();
    if let Some(c) = row.civility {
        p.civility = c.as_str().to_owned();
    }
    if let Some(e) = &row.email
        && !p.emails.iter().any(|x| x.email.key() == e.key())
    {
        p.emails.insert(
            0,
            EmailEntry {
                email: e.clone(),
                accepts: true,
            },
        );
    }
    if let Some(ph) = &row.phone
        && !p.phones.iter().any(|x| x.phone == *ph)
    {
        let principal = p.phones.is_empty();
        p.phones.push(PhoneEntry {
            phone: ph.clone(),
            kind: crate::people::model::PhoneKind::Mobile,
            principal,
            accepts_contact: true,
        });
    }
    for (slot, value) in [
        (&mut p.nationality, &row.nationality),
        (&mut p.job_title, &row.job_title),
        (&mut p.site, &row.site),
        (&mut p.notes, &row.notes),
        (&mut p.external_ref, &row.external_ref),
    ] {
        if let Some(v) = value {
            *slot = Some(v.clone());
        }
    }
    if let Some(v) = &row.city {
        p.city = v.clone();
    }
    if let Some(v) = &row.country {
        p.country = v.clone();
    }
    if let Some(d) = row.birth_date {
        p.birth_date = NaiveDate::from_ymd_opt(d.year(), d.month(), d.day());
    }
    let programme = row
        .cursus
        .as_deref()
        .and_then(|c| lookup.programmes.get(&fold(c)).copied());
    if let Some(y) = row.promo {
        p.promo_year = Some(y);
    }
    if programme.is_some() {
        p.programme_id = programme;
    }
    for role in &row.roles {
        if !p.roles.iter().any(|(r, _)| r == role) {
            p.roles.push((*role, programme));
        }
    }
    let any_education = row.promo.is_some()
        || row.cursus.is_some()
        || row.campus.is_some()
        || row.establishment.is_some()
        || row.discipline.is_some()
        || row.diploma.is_some();
    if any_education {
        if p.education.is_empty() {
            p.education.push(Education::default());
        }
        let e = &mut p.education[0];
        if let Some(y) = row.promo {
            e.promo_year = Some(y);
        }
        if programme.is_some() {
            e.programme_id = programme;
        } else if let Some(c) = &row.cursus {
            e.cursus = c.clone();
        }
        for (slot, value) in [
            (&mut e.campus, &row.campus),
            (&mut e.establishment, &row.establishment),
            (&mut e.discipline, &row.discipline),
            (&mut e.diploma, &row.diploma),
        ] {
            if let Some(v) = value {
                *slot = v.clone();
            }
        }
    }
    if let Some(company) = &row.company {
        match lookup.organisations.get(&fold(company)) {
            Some(org) => {
                p.organisation_id = Some(*org);
                if !p
                    .experiences
                    .iter()
                    .any(|x| x.organisation_id == Some(*org))
                {
                    p.experiences.push(Experience {
                        organisation_id: Some(*org),
                        title: row.job_title.clone().unwrap_or_default(),
                        ..Default::default()
                    });
                }
            }
            None => {
                if !p
                    .experiences
                    .iter()
                    .any(|x| fold(&x.company) == fold(company))
                {
                    p.experiences.push(Experience {
                        company: company.clone(),
                        title: row.job_title.clone().unwrap_or_default(),
                        ..Default::default()
                    });
                }
            }
        }
    }
    for (kind, values) in [
        (TagKind::Skill, &row.skills),
        (TagKind::Interest, &row.interests),
        (TagKind::Sport, &row.sports),
        (TagKind::Language, &row.languages),
    ] {
        for v in values {
            if !p.tags.iter().any(|(k, x)| *k == kind && fold(x) == fold(v)) {
                p.tags.push((kind, v.clone()));
            }
        }
    }
    if has(ImportField::GdprConsent) {
        p.gdpr_consent = row.gdpr_consent;
    }
    if has(ImportField::SmsConsent) {
        p.sms_consent = row.sms_consent;
    }
}

/// Checks every row, then writes unless told not to. Large files are
/// written in one transaction in all-or-nothing mode.
pub async fn run(
    db: &DatabaseConnection,
    table: &Table,
    mode: Mode,
    dry_run: bool,
) -> AppResult<Report> {
    run_within(db, table, mode, dry_run, Condition::all()).await
}

/// [`run`] for a user who may reach only the persons of `reach` (their
/// People scope): a row whose e-mail or reference belongs to a person out of
/// reach is rejected with the same neutral error as any refused value, and
/// that person is left as they are.
pub async fn run_within(
    db: &DatabaseConnection,
    table: &Table,
    mode: Mode,
    dry_run: bool,
    reach: Condition,
) -> AppResult<Report> {
    let mut report = Report::default();
    let cols = match HeaderMap::from_headers(&table.headers) {
        Ok(c) => c,
        Err(e) => {
            let mut errors: Vec<RowError> = e
                .missing
                .iter()
                .map(|f| err(f.key(), "column-missing"))
                .collect();
            if e.missing_email_or_external_ref {
                errors.push(err("email", "column-missing"));
            }
            for (f, _) in &e.duplicates {
                errors.push(err(f.key(), "column-twice"));
            }
            report.rejected.push(Rejected { row: 1, errors });
            report.ignored_columns = e.ignored;
            return Ok(report);
        }
    };
    report.ignored_columns = cols.ignored.clone();

    // 1. Parse each row into typed values, reporting every bad field.
    let mut parsed: Vec<(usize, ImportRow)> = Vec::with_capacity(table.rows.len());
    let mut errors: HashMap<usize, Vec<RowError>> = HashMap::new();
    for (i, cells) in table.rows.iter().enumerate() {
        let line = i + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        match cols.parse_row(cells) {
            Ok(row) => parsed.push((line, row)),
            Err(errs) => {
                errors.insert(
                    line,
                    errs.into_iter()
                        .map(|(f, e): (ImportField, FieldError)| err(f.key(), e.code()))
                        .collect(),
                );
            }
        }
    }
    for d in duplicate_keys(parsed.iter().map(|(l, r)| (*l, r))) {
        errors.entry(d.row).or_default().push(RowError {
            field: d.field.key().to_owned(),
            code: "duplicate-in-file".into(),
            first_row: Some(d.first_row),
        });
    }

    // 2. Match existing persons by e-mail, then by external reference.
    let email_keys: Vec<String> = parsed
        .iter()
        .filter_map(|(_, r)| r.email.as_ref().map(|e| e.key()))
        .collect();
    let refs: Vec<String> = parsed
        .iter()
        .filter_map(|(_, r)| r.external_ref.clone())
        .collect();
    let by_email = store::ids_by_email(db, email_keys).await?;
    let by_ref = store::ids_by_external_ref(db, refs).await?;
    let names = Names::load(db).await?;
    let lookup = Lookup::load(db, &names).await?;

    let visible = crate::people::scope::visible_among(
        db,
        &reach,
        by_email.values().chain(by_ref.values()).copied(),
    )
    .await?;
    let mut matched: Vec<(usize, &ImportRow, Option<i64>)> = Vec::with_capacity(parsed.len());
    for (line, row) in &parsed {
        if errors.contains_key(line) {
            continue;
        }
        let hidden = |id: Option<&i64>| id.is_some_and(|id| !visible.contains(id));
        if hidden(row.email.as_ref().and_then(|e| by_email.get(&e.key())))
            || hidden(row.external_ref.as_ref().and_then(|r| by_ref.get(r)))
        {
            // Nothing in the error tells that the address is known.
            let field = if row.email.is_some() {
                "email"
            } else {
                "external_ref"
            };
            errors
                .entry(*line)
                .or_default()
                .push(err(field, "not-importable"));
            continue;
        }
        let a = row
            .email
            .as_ref()
            .and_then(|e| by_email.get(&e.key()))
            .copied();
        let b = row
            .external_ref
            .as_ref()
            .and_then(|r| by_ref.get(r))
            .copied();
        match (a, b) {
            (Some(x), Some(y)) if x != y => {
                errors
                    .entry(*line)
                    .or_default()
                    .push(err("external_ref", "conflict"));
            }
            _ => matched.push((*line, row, a.or(b))),
        }
    }

    // 3. Decide, row by row, what changes.
    let existing_ids: Vec<i64> = matched.iter().filter_map(|(_, _, id)| *id).collect();
    let mut existing: HashMap<i64, store::Record> = HashMap::new();
    for chunk in existing_ids.chunks(1000) {
        for r in store::load_many(db, chunk).await? {
            existing.insert(r.person.id, r);
        }
    }
    let mut plans = Vec::with_capacity(matched.len());
    for (_, row, id) in &matched {
        let plan = match id.and_then(|id| existing.get(&id)) {
            Some(rec) => {
                let before = store::input_of(rec)?;
                let mut after = before.clone();
                overlay(&mut after, row, &cols, &lookup);
                if after == before {
                    Plan::Unchanged
                } else {
                    Plan::Update(rec.person.id, Box::new(after))
                }
            }
            None => {
                let mut p = PersonInput::new(&row.first_name, &row.last_name);
                p.status = Status::Active;
                overlay(&mut p, row, &cols, &lookup);
                Plan::Create(Box::new(p))
            }
        };
        plans.push(plan);
    }
    let mut lines: Vec<usize> = errors.keys().copied().collect();
    lines.sort_unstable();
    report.rejected = lines
        .into_iter()
        .map(|row| Rejected {
            row,
            errors: errors.remove(&row).unwrap_or_default(),
        })
        .collect();
    for plan in &plans {
        match plan {
            Plan::Create(_) => report.created += 1,
            Plan::Update(..) => report.updated += 1,
            Plan::Unchanged => report.unchanged += 1,
        }
    }
    if dry_run || (mode == Mode::All && !report.rejected.is_empty()) {
        return Ok(report);
    }

    // 4. Write: creations in batches, updates one by one, one transaction.
    let txn = db.begin().await?;
    let mut creates = Vec::new();
    for plan in plans {
        match plan {
            Plan::Create(p) => {
                creates.push(*p);
                if creates.len() == 2000 {
                    report
                        .created_ids
                        .extend(store::create_many(&txn, &creates, &names).await?);
                    creates.clear();
                }
            }
            Plan::Update(id, p) => store::update(&txn, id, &p, &names).await?,
            Plan::Unchanged => {}
        }
    }
    report
        .created_ids
        .extend(store::create_many(&txn, &creates, &names).await?);
    txn.commit()
        .await
        .map_err(|e| AppError::Internal(format!("import commit: {e}")))?;
    report.written = true;
    if report.created + report.updated > 0 {
        search::pg_flush_pending(db).await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_semicolons_and_bom() {
        let t = read("\u{feff}Prénom;Nom;E-mail\nHélène;Dupré;h@example.org\n".as_bytes()).unwrap();
        assert_eq!(t.headers, vec!["Prénom", "Nom", "E-mail"]);
        assert_eq!(t.rows, vec![vec!["Hélène", "Dupré", "h@example.org"]]);
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert_eq!(read(b"").unwrap_err(), ImportError::Empty);
    }

    #[test]
    fn xlsx_written_by_the_export_reads_back() {
        let mut w = crate::people::xlsx::XlsxWriter::new(Cursor::new(Vec::new()), "P").unwrap();
        w.write_row(&["first_name", "last_name", "email"]).unwrap();
        w.write_row(&["Hélène", "Dupré & fils", "h@example.org"])
            .unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let t = read(&bytes).unwrap();
        assert_eq!(t.headers, vec!["first_name", "last_name", "email"]);
        assert_eq!(
            t.rows,
            vec![vec!["Hélène", "Dupré & fils", "h@example.org"]]
        );
    }
}
