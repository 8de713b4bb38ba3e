//! Follow-up rows as typed values: parsed from a form against the kind's
//! description, written and read with one generic statement per action.
//! Every statement names the person too, so a row id taken from another
//! person's page changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QueryResult};

use super::kinds::{Field, Input, Kind};
use crate::error::AppResult;
use crate::web::form::FormPairs;
use amicale_kernel::time::parse_date;
use amicale_store::entities::{persons, programmes, users};

/// Longest free text a follow-up field keeps.
pub const MAX_TEXT: usize = 200;

/// One field's value, of the field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Date(Option<NaiveDate>),
    Text(Option<String>),
    Flag(bool),
    Id(Option<i64>),
}

impl Value {
    fn to_sql(&self) -> sea_orm::Value {
        match self {
            Value::Date(d) => (*d).into(),
            Value::Text(t) => t.clone().into(),
            Value::Flag(b) => (*b).into(),
            Value::Id(i) => (*i).into(),
        }
    }

    /// The value as the form shows it.
    pub fn form_text(&self) -> String {
        match self {
            Value::Date(d) => d.map(|d| d.to_string()).unwrap_or_default(),
            Value::Text(t) => t.clone().unwrap_or_default(),
            Value::Flag(b) => if *b { "1" } else { "" }.into(),
            Value::Id(i) => i.map(|i| i.to_string()).unwrap_or_default(),
        }
    }
}

/// What may be picked for the fields that name another record.
pub struct Allowed<'a> {
    pub programmes: &'a [i64],
    pub staff: &'a [i64],
}

/// Parses the form of one kind; errors are (field, locale key).
pub fn parse(
    kind: &Kind,
    f: &FormPairs,
    allowed: &Allowed,
) -> Result<Vec<Value>, Vec<(String, &'static str)>> {
    let mut values = Vec::with_capacity(kind.fields.len());
    let mut errors = Vec::new();
    for field in kind.fields {
        let raw = f.get(field.name).trim();
        let parsed = parse_one(field, raw, f.has(field.name), allowed);
        match parsed {
            Ok(v) => {
                let empty = matches!(v, Value::Date(None) | Value::Text(None) | Value::Id(None));
                if field.required && empty {
                    errors.push((field.name.to_owned(), "err-required"));
                }
                values.push(v);
            }
            Err(key) => {
                errors.push((field.name.to_owned(), key));
                // Keeps positions aligned with the fields for the checks below.
                values.push(Value::Text(None));
            }
        }
    }
    if let (Some(start), Some(end)) = (
        date_of(kind, &values, "start_date"),
        date_of(kind, &values, "end_date"),
    ) && end < start
    {
        errors.push(("end_date".into(), "event-err-end-before-start"));
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}

fn date_of(kind: &Kind, values: &[Value], name: &str) -> Option<NaiveDate> {
    let i = kind.fields.iter().position(|f| f.name == name)?;
    match values.get(i) {
        Some(Value::Date(d)) => *d,
        _ => None,
    }
}

fn parse_one(
    field: &Field,
    raw: &str,
    present: bool,
    allowed: &Allowed,
) -> Result<Value, &'static str> {
    let id_in = |ids: &[i64]| -> Result<Value, &'static str> {
        if raw.is_empty() {
            return Ok(Value::Id(None));
        }
        match raw.parse::<i64>() {
            Ok(i) if ids.contains(&i) => Ok(Value::Id(Some(i))),
            _ => Err("err-invalid"),
        }
    };
    match field.input {
        Input::Date if raw.is_empty() => Ok(Value::Date(None)),
        Input::Date => parse_date(raw)
            .filter(|d| (1900..=2200).contains(&chrono::Datelike::year(d)))
            .map(|d| Value::Date(Some(d)))
            .ok_or("err-date-invalid"),
        Input::Text if raw.is_empty() => Ok(Value::Text(None)),
        Input::Text if raw.chars().count() > MAX_TEXT || raw.chars().any(char::is_control) => {
            Err("err-too-long")
        }
        Input::Text => Ok(Value::Text(Some(raw.to_owned()))),
        Input::Flag => Ok(Value::Flag(present && !raw.is_empty())),
        Input::Choice(_) if raw.is_empty() => Ok(Value::Text(None)),
        Input::Choice(codes) if codes.contains(&raw) => Ok(Value::Text(Some(raw.to_owned()))),
        Input::Choice(_) => Err("err-invalid"),
        Input::Programme => id_in(allowed.programmes),
        Input::Staff => id_in(allowed.staff),
    }
}

/// A stored row.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub values: Vec<Value>,
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

fn read(kind: &Kind, r: &QueryResult) -> AppResult<Row> {
    let mut values = Vec::with_capacity(kind.fields.len());
    for field in kind.fields {
        let n = field.name;
        values.push(match field.input {
            Input::Date => Value::Date(r.try_get::<Option<NaiveDate>>("", n)?),
            Input::Text | Input::Choice(_) => Value::Text(r.try_get::<Option<String>>("", n)?),
            Input::Flag => Value::Flag(r.try_get::<Option<bool>>("", n)?.unwrap_or(false)),
            Input::Programme | Input::Staff => Value::Id(r.try_get::<Option<i64>>("", n)?),
        });
    }
    Ok(Row {
        id: r.try_get::<i64>("", "id")?,
        values,
    })
}

/// A person's rows of one kind, newest first.
pub async fn list<C: ConnectionTrait>(db: &C, kind: &Kind, person: i64) -> AppResult<Vec<Row>> {
    let mut q = Query::select();
    q.column(col("id"))
        .columns(kind.fields.iter().map(|f| col(f.name)))
        .from(col(kind.table))
        .and_where(Expr::col(col("person_id")).eq(person))
        .order_by(col(kind.order), Order::Desc)
        .order_by(col("id"), Order::Desc);
    db.query_all(&q)
        .await?
        .iter()
        .map(|r| read(kind, r))
        .collect()
}

pub async fn get<C: ConnectionTrait>(
    db: &C,
    kind: &Kind,
    person: i64,
    id: i64,
) -> AppResult<Option<Row>> {
    Ok(list(db, kind, person)
        .await?
        .into_iter()
        .find(|r| r.id == id))
}

pub async fn insert<C: ConnectionTrait>(
    db: &C,
    kind: &Kind,
    person: i64,
    values: &[Value],
) -> AppResult<()> {
    let mut q = Query::insert();
    q.into_table(col(kind.table))
        .columns(
            ["person_id", "created_at"]
                .into_iter()
                .chain(kind.fields.iter().map(|f| f.name))
                .map(col),
        )
        .values_panic(
            [person.into(), Utc::now().into()]
                .into_iter()
                .chain(values.iter().map(Value::to_sql))
                .map(sea_orm::sea_query::SimpleExpr::from),
        );
    db.execute(&q).await?;
    Ok(())
}

/// Whether a row of that person was there to update.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    kind: &Kind,
    person: i64,
    id: i64,
    values: &[Value],
) -> AppResult<bool> {
    let mut q = Query::update();
    q.table(col(kind.table))
        .values(
            kind.fields
                .iter()
                .zip(values)
                .map(|(f, v)| (col(f.name), v.to_sql().into())),
        )
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("person_id")).eq(person));
    Ok(db.execute(&q).await?.rows_affected() == 1)
}

/// Adds a row, or corrects row `row`; false when that row is not the
/// person's.
pub async fn save<C: ConnectionTrait>(
    db: &C,
    kind: &Kind,
    person: i64,
    row: Option<i64>,
    values: &[Value],
) -> AppResult<bool> {
    match row {
        Some(rid) => update(db, kind, person, rid, values).await,
        None => {
            insert(db, kind, person, values).await?;
            Ok(true)
        }
    }
}

/// The first and last name of person `id`, if there is one.
pub async fn person_name<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Option<String>> {
    Ok(persons::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(|person| format!("{} {}", person.first_name, person.last_name)))
}

/// Every programme by name, for the fields that refer to one.
pub async fn programmes<C: ConnectionTrait>(db: &C) -> AppResult<Vec<programmes::Model>> {
    Ok(programmes::Entity::find()
        .order_by_asc(programmes::Column::Name)
        .all(db)
        .await?)
}

pub async fn delete<C: ConnectionTrait>(
    db: &C,
    table: &str,
    person: i64,
    id: i64,
) -> AppResult<bool> {
    let mut q = Query::delete();
    q.from_table(col(table))
        .and_where(Expr::col(col("id")).eq(id))
        .and_where(Expr::col(col("person_id")).eq(person));
    Ok(db.execute(&q).await?.rows_affected() == 1)
}

/// A document of a person's follow-up, without its content.
pub struct DocRow {
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub uploaded_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A person's documents, newest first.
pub async fn documents<C: ConnectionTrait>(db: &C, person: i64) -> AppResult<Vec<DocRow>> {
    let mut q = Query::select();
    q.columns(["id", "name", "size", "uploaded_by", "created_at"].map(col))
        .from(col("person_documents"))
        .and_where(Expr::col(col("person_id")).eq(person))
        .order_by(col("id"), Order::Desc);
    let mut out = Vec::new();
    for r in db.query_all(&q).await? {
        out.push(DocRow {
            id: r.try_get("", "id")?,
            name: r.try_get("", "name")?,
            size: r.try_get("", "size")?,
            uploaded_by: r.try_get("", "uploaded_by")?,
            created_at: r.try_get("", "created_at")?,
        });
    }
    Ok(out)
}

/// The display names of these users.
pub async fn user_names<C: ConnectionTrait>(
    db: &C,
    ids: Vec<i64>,
) -> AppResult<HashMap<i64, String>> {
    Ok(users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

pub async fn insert_document<C: ConnectionTrait>(
    db: &C,
    person: i64,
    name: String,
    mime: &str,
    data: &[u8],
    by: i64,
) -> AppResult<()> {
    let mut q = Query::insert();
    q.into_table(col("person_documents"))
        .columns(
            [
                "person_id",
                "name",
                "content_type",
                "size",
                "data",
                "uploaded_by",
                "created_at",
            ]
            .map(col),
        )
        .values_panic([
            person.into(),
            name.into(),
            mime.into(),
            (data.len() as i64).into(),
            data.to_vec().into(),
            by.into(),
            Utc::now().into(),
        ]);
    db.execute(&q).await?;
    Ok(())
}

/// The name, content type and content of a person's document.
pub async fn document<C: ConnectionTrait>(
    db: &C,
    person: i64,
    doc: i64,
) -> AppResult<Option<(String, String, Vec<u8>)>> {
    let mut q = Query::select();
    q.columns(["name", "content_type", "data"].map(col))
        .from(col("person_documents"))
        .and_where(Expr::col(col("id")).eq(doc))
        .and_where(Expr::col(col("person_id")).eq(person));
    let Some(r) = db.query_one(&q).await? else {
        return Ok(None);
    };
    Ok(Some((
        r.try_get("", "name")?,
        r.try_get("", "content_type")?,
        r.try_get("", "data")?,
    )))
}

/// Every follow-up table, documents included.
pub const TABLES: [&str; 5] = [
    "person_situations",
    "person_projects",
    "person_enrolments",
    "person_tasks",
    "person_documents",
];

/// Moves the follow-up of `from` to `to` (merging duplicates keeps the
/// whole history).
pub async fn move_all<C: ConnectionTrait>(db: &C, from: i64, to: i64) -> AppResult<()> {
    for t in TABLES {
        let mut q = Query::update();
        q.table(col(t))
            .value(col("person_id"), to)
            .and_where(Expr::col(col("person_id")).eq(from));
        db.execute(&q).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::people::followup::kinds::{ENROLMENT, SITUATION, TASK};

    fn form(pairs: &[(&str, &str)]) -> FormPairs {
        FormPairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    const NONE: Allowed = Allowed {
        programmes: &[3],
        staff: &[7],
    };

    #[test]
    fn a_situation_is_typed_or_refused_field_by_field() {
        let ok = parse(
            &SITUATION,
            &form(&[
                ("situation_date", "15/01/2026"),
                ("employment_status", "job_seeker"),
                ("priority_area", "1"),
            ]),
            &NONE,
        )
        .unwrap();
        assert_eq!(ok[0], Value::Date(NaiveDate::from_ymd_opt(2026, 1, 15)));
        assert_eq!(ok[1], Value::Text(Some("job_seeker".into())));
        assert_eq!(ok[4], Value::Flag(false));
        assert_eq!(ok[6], Value::Flag(true));
        let bad = parse(
            &SITUATION,
            &form(&[("situation_date", "31/02/2026"), ("socio_category", "king")]),
            &NONE,
        )
        .unwrap_err();
        assert_eq!(
            bad,
            vec![
                ("situation_date".to_owned(), "err-date-invalid"),
                ("socio_category".to_owned(), "err-invalid")
            ]
        );
        let missing = parse(&SITUATION, &form(&[]), &NONE).unwrap_err();
        assert_eq!(missing, vec![("situation_date".to_owned(), "err-required")]);
    }

    #[test]
    fn references_must_be_offered_and_periods_ordered() {
        let bad = parse(
            &ENROLMENT,
            &form(&[
                ("programme_id", "4"),
                ("start_date", "2026-03-01"),
                ("end_date", "2026-02-01"),
            ]),
            &NONE,
        )
        .unwrap_err();
        assert_eq!(
            bad,
            vec![
                ("programme_id".to_owned(), "err-invalid"),
                ("end_date".to_owned(), "event-err-end-before-start")
            ]
        );
        assert!(
            parse(
                &TASK,
                &form(&[("title", "Call"), ("assignee_user_id", "8")]),
                &NONE
            )
            .is_err()
        );
        let long = "x".repeat(MAX_TEXT + 1);
        assert_eq!(
            parse(&TASK, &form(&[("title", &long)]), &NONE).unwrap_err(),
            vec![("title".to_owned(), "err-too-long")]
        );
        assert!(
            parse(
                &TASK,
                &form(&[("title", "Call"), ("assignee_user_id", "7")]),
                &NONE
            )
            .is_ok()
        );
    }
}
