//! Criteria over persons, shared by the directory, the CRM list, exports and
//! saved lists, and the one place where the two backends' full-text indexes
//! differ.

use amicale_people::{fold, terms};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde::{Deserialize, Serialize};

use crate::error::AppResult;
use crate::people::model::Status;
use crate::people::pg_plan;
use crate::people::search_document::Field;
use amicale_store::Backend;
use amicale_store::entities::persons;

/// A custom SQL condition written with `?` placeholders: SeaQuery binds
/// `?` on SQLite but only numbered `$n` on PostgreSQL.
pub fn cust<V, I>(backend: Backend, sql: &str, values: I) -> SimpleExpr
where
    V: Into<sea_orm::Value>,
    I: IntoIterator<Item = V>,
{
    match backend {
        Backend::Sqlite => Expr::cust_with_values(sql.to_owned(), values),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            Expr::cust_with_values(out, values)
        }
    }
}

/// A word the full-text index must hold: a prefix of a word, or the exact word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub word: String,
    pub prefix: bool,
}

impl Term {
    /// A prefix this short matches too many words for an index to gather
    /// them quickly.
    pub fn is_short(&self) -> bool {
        self.prefix && self.word.chars().count() <= 3
    }
}

/// The full-text index of a backend: turns terms into a condition on persons.
pub trait SearchIndex {
    fn matches(&self, terms: &[Term]) -> SimpleExpr;
}

impl SearchIndex for Backend {
    fn matches(&self, terms: &[Term]) -> SimpleExpr {
        let backend = *self;
        match self {
            Backend::Sqlite => {
                let (query, letters) = sqlite_terms(terms);
                let in_index = cust(
                    backend,
                    "\"persons\".\"id\" IN (SELECT rowid FROM persons_fts WHERE persons_fts MATCH ?)",
                    [query],
                );
                letters.into_iter().fold(in_index, sea_orm::ExprTrait::and)
            }
            Backend::Postgres => {
                // A short prefix ("s", "de") stands for thousands of words,
                // whose entries the index would gather and merge. With a
                // longer word beside it, the index serves the longer word
                // and the short one is checked on the rows found.
                let (short, long): (Vec<&Term>, Vec<&Term>) =
                    terms.iter().partition(|t| t.is_short());
                let cond = if long.is_empty() || short.is_empty() {
                    let all: Vec<&Term> = terms.iter().collect();
                    pg_matches(&all, &[])
                } else {
                    pg_matches(&long, &short)
                };
                pg_persons_in(cond)
            }
        }
    }
}

/// PostgreSQL's search table: a narrow row per person (id, `active`, sort
/// key, `vec`), hash-partitioned, kept by triggers on `persons` (see the
/// `m0017_person_search` migration).
pub const PG_TABLE: &str = "person_search";

/// After a bulk write on PostgreSQL, moves what the search index holds in
/// its pending lists into the index proper. Inserts append to a pending
/// list (4 MB a partition) that every search reads through: after an
/// import of 100,000 persons, ~4,800 unsorted pages for each query. Merging
/// them once costs ~2 s; writing each row straight into the index instead
/// (`fastupdate = off`) made that import twice as slow (38 s vs 20 s).
/// Autovacuum does the same for everyday edits.
pub async fn pg_flush_pending<C: ConnectionTrait>(db: &C) -> AppResult<()> {
    if Backend::of(db) != Backend::Postgres {
        return Ok(());
    }
    db.execute_unprepared(&format!(
        "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i \
         JOIN pg_inherits h ON h.inhrelid = i.indrelid \
         JOIN pg_class c ON c.oid = i.indexrelid \
         JOIN pg_am a ON a.oid = c.relam AND a.amname = 'gin' \
         WHERE h.inhparent = '{PG_TABLE}'::regclass"
    ))
    .await?;
    Ok(())
}

/// A column of [`PG_TABLE`].
pub fn pg_col(name: &str) -> Expr {
    use sea_orm::sea_query::Alias;
    Expr::col((Alias::new(PG_TABLE), Alias::new(name)))
}

/// Persons whose search row meets a condition on [`PG_TABLE`].
pub fn pg_persons_in(cond: SimpleExpr) -> SimpleExpr {
    use sea_orm::ExprTrait;
    use sea_orm::sea_query::{Alias, Query};
    Expr::col((persons::Entity, persons::Column::Id)).in_subquery(
        Query::select()
            .column((Alias::new(PG_TABLE), Alias::new("id")))
            .from(Alias::new(PG_TABLE))
            .and_where(cond)
            .to_owned(),
    )
}

/// On PostgreSQL, search rows holding every term: those of `indexed` found
/// by the full-text index, those of `checked` on the rows it finds (a form
/// the index cannot serve).
pub fn pg_matches(indexed: &[&Term], checked: &[&Term]) -> SimpleExpr {
    let in_index = cust(
        Backend::Postgres,
        "\"person_search\".\"vec\" @@ to_tsquery('simple', ?)",
        [pg_query(indexed)],
    );
    if checked.is_empty() {
        return in_index;
    }
    sea_orm::ExprTrait::and(
        in_index,
        cust(
            Backend::Postgres,
            "coalesce(\"person_search\".\"vec\", ''::tsvector) @@ to_tsquery('simple', ?)",
            [pg_query(checked)],
        ),
    )
}

/// The tsquery of these terms, all required. Terms are folded words
/// (letters and digits only), so none can be read as an operator.
pub fn pg_query(terms: &[&Term]) -> String {
    terms
        .iter()
        .map(|t| format!("{}{}", t.word, if t.prefix { ":*" } else { "" }))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The FTS5 query for these terms, and the checks of the one-letter
/// prefixes on the rows it finds: a word of `search_text` starts with the
/// letter, the folded text separating its words with single spaces. Terms are folded words
/// (letters and digits only), quoted so that no word can be read as an
/// FTS5 operator. The index keeps prefixes of two and three letters; a
/// one-letter prefix ("l oreal", "da s be") would make FTS5 merge the
/// entries of every word starting with that letter, so beside a longer word
/// it is checked on the rows that word finds instead.
fn sqlite_terms(terms: &[Term]) -> (String, Vec<SimpleExpr>) {
    let (letters, words): (Vec<&Term>, Vec<&Term>) = terms
        .iter()
        .partition(|t| t.prefix && t.word.chars().count() == 1);
    let (letters, words) = if words.is_empty() {
        (Vec::new(), letters)
    } else {
        (letters, words)
    };
    let query = words
        .iter()
        .map(|t| format!("\"{}\"{}", t.word, if t.prefix { "*" } else { "" }))
        .collect::<Vec<_>>()
        .join(" ");
    let checks = letters
        .iter()
        .map(|t| {
            Expr::cust_with_values(
                "instr(' ' || \"persons\".\"search_text\", ?) > 0",
                [format!(" {}", t.word)],
            )
        })
        .collect();
    (query, checks)
}

/// Every criterion the directory's advanced search (the 14 of France
/// Alumni §5) and the CRM list accept. Text criteria match from the start of
/// a word, ignoring case and accents. Empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Criteria {
    pub q: String,
    pub last_name: String,
    pub first_name: String,
    pub establishment: String,
    pub promo: String,
    pub discipline: String,
    pub skill: String,
    pub company: String,
    pub sector: String,
    pub partner: String,
    pub country: String,
    pub nationality: String,
    pub city: String,
    pub interest: String,
    pub sport: String,
    // CRM only.
    pub status: String,
    pub inactive: String,
    pub role: String,
    pub programme: String,
    pub site: String,
    pub group: String,
}

/// Which persons a list may show at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Members see active persons only (a deactivated account is hidden).
    Directory,
    /// Staff see everyone.
    Crm,
}

/// A criterion that could not be read, for the form to mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
}

impl Criteria {
    pub fn is_empty(&self) -> bool {
        *self == Criteria::default()
    }

    fn text_fields(&self) -> [(Field, &str); 12] {
        [
            (Field::LastName, &self.last_name),
            (Field::FirstName, &self.first_name),
            (Field::Establishment, &self.establishment),
            (Field::Discipline, &self.discipline),
            (Field::Skill, &self.skill),
            (Field::Company, &self.company),
            (Field::Sector, &self.sector),
            (Field::Country, &self.country),
            (Field::Nationality, &self.nationality),
            (Field::City, &self.city),
            (Field::Interest, &self.interest),
            (Field::Sport, &self.sport),
        ]
    }

    /// The words the full-text index must hold, and the criteria that were
    /// not numbers where numbers were expected.
    pub fn terms(&self) -> (Vec<Term>, Vec<Invalid>) {
        let mut out: Vec<Term> = terms(&self.q)
            .into_iter()
            .map(|word| Term { word, prefix: true })
            .collect();
        let mut invalid = Vec::new();
        for (field, value) in self.text_fields() {
            for w in fold(value).split(' ').filter(|w| !w.is_empty()).take(8) {
                out.push(Term {
                    word: format!("{}0{w}", field.tag()),
                    prefix: true,
                });
            }
        }
        for (field, name, value) in [
            (Field::Promo, "promo", &self.promo),
            (Field::Partner, "partner", &self.partner),
        ] {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            match v.parse::<u32>() {
                Ok(n) => out.push(Term {
                    word: format!("{}0{n}", field.tag()),
                    prefix: false,
                }),
                Err(_) => invalid.push(Invalid { field: name }),
            }
        }
        (out, invalid)
    }

    /// The condition over `persons` for these criteria.
    pub fn condition(&self, backend: Backend, scope: Scope) -> (Condition, Vec<Invalid>) {
        let (terms, mut c, invalid) = self.parts(backend, scope);
        if !terms.is_empty() {
            c = c.add(backend.matches(&terms));
        }
        (c, invalid)
    }

    /// The full-text terms, and the condition of every other criterion.
    fn parts(&self, backend: Backend, scope: Scope) -> (Vec<Term>, Condition, Vec<Invalid>) {
        let (terms, mut invalid) = self.terms();
        let mut c = Condition::all();
        match scope {
            Scope::Directory => {
                c = c.add(persons::Column::Status.eq(Status::Active.as_str()));
            }
            Scope::Crm => {
                if let Some(s) = Status::parse(self.status.trim()) {
                    c = c.add(persons::Column::Status.eq(s.as_str()));
                }
                if self.inactive == "1" {
                    c = c.add(persons::Column::Status.ne(Status::Active.as_str()));
                }
                if !self.site.trim().is_empty() {
                    c = c.add(persons::Column::Site.eq(self.site.trim()));
                }
                if let Ok(role) = amicale_people::CommunityRole::parse(self.role.trim()) {
                    c = c.add(cust(
                        backend,
                        "EXISTS (SELECT 1 FROM person_roles r WHERE r.person_id = \"persons\".\"id\" AND r.role = ?)",
                        [role.as_str()],
                    ));
                }
                let id_of = |name: &'static str, value: &str, invalid: &mut Vec<Invalid>| {
                    let v = value.trim();
                    if v.is_empty() {
                        return None;
                    }
                    let id = v.parse::<i64>().ok();
                    if id.is_none() {
                        invalid.push(Invalid { field: name });
                    }
                    id
                };
                if let Some(id) = id_of("programme", &self.programme, &mut invalid) {
                    c = c.add(cust(
                        backend,
                        "\"persons\".\"id\" IN (SELECT person_id FROM person_roles WHERE programme_id = ? \
                         UNION SELECT person_id FROM person_education WHERE programme_id = ?)",
                        [id, id],
                    ));
                }
                if let Some(id) = id_of("group", &self.group, &mut invalid) {
                    c = c.add(cust(
                        backend,
                        "EXISTS (SELECT 1 FROM group_members g WHERE g.person_id = \"persons\".\"id\" AND g.group_id = ?)",
                        [id],
                    ));
                }
            }
        }
        (terms, c, invalid)
    }
}

/// How a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Promo,
    City,
    Created,
    Status,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Name,
        Sort::Promo,
        Sort::City,
        Sort::Created,
        Sort::Status,
    ];

    pub fn parse(s: &str) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or(Sort::Name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Promo => "promo",
            Sort::City => "city",
            Sort::Created => "created",
            Sort::Status => "status",
        }
    }
}

/// Persons matching a condition, sorted, with the id as the tie-breaker so
/// pages never overlap.
pub fn select(cond: Condition, sort: Sort, desc: bool) -> Select<persons::Entity> {
    let q = persons::Entity::find().filter(cond);
    let order = if desc {
        sea_orm::Order::Desc
    } else {
        sea_orm::Order::Asc
    };
    let q = match sort {
        Sort::Name => q.order_by(persons::Column::SortKey, order.clone()),
        Sort::Promo => q
            .order_by(persons::Column::PromoYear, order.clone())
            .order_by_asc(persons::Column::SortKey),
        Sort::City => q
            .order_by(persons::Column::City, order.clone())
            .order_by_asc(persons::Column::SortKey),
        Sort::Created => q.order_by(persons::Column::CreatedAt, order.clone()),
        Sort::Status => q
            .order_by(persons::Column::Status, order.clone())
            .order_by_asc(persons::Column::SortKey),
    };
    q.order_by(persons::Column::Id, order)
}

/// One page of a search and the total count, counted first (the count
/// is shown before the results).
pub async fn page<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    sort: Sort,
    desc: bool,
    page: u64,
    per_page: u64,
) -> AppResult<(u64, Vec<persons::Model>)> {
    let total = persons::Entity::find()
        .filter(cond.clone())
        .count(db)
        .await?;
    let rows = select(cond, sort, desc)
        .offset(page.saturating_sub(1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((total, rows))
}

/// What a directory search shows: up to `cap` matches, in name order.
pub struct Found {
    /// (sort key, id) of each match found, sorted.
    pub matches: Vec<(String, i64)>,
    /// More than `cap` match: `matches` holds `cap` of them.
    pub capped: bool,
}

impl Found {
    /// The ids of one page, `offset` matches in.
    pub fn page(&self, offset: u64, limit: u64) -> Vec<i64> {
        self.matches
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|(_, id)| *id)
            .collect()
    }
}

/// Up to `cap` matches of a search, sorted by name.
///
/// The matches are collected first, in whatever order the database finds
/// them fastest, then sorted here. Asking the database for "the first 24
/// by name" instead lets PostgreSQL walk the name index until 24 rows
/// match, which is quick when matches are spread over the alphabet and
/// takes seconds when they all sit together: a searched last name puts
/// every "Vincent" near the end of the index. Collecting visits each
/// match's row once, so the number kept is bounded: beyond `cap` the page
/// says "more than" and asks to narrow the search.
pub async fn collect<C: ConnectionTrait>(
    db: &C,
    criteria: &Criteria,
    scope: Scope,
    cap: u64,
) -> AppResult<Found> {
    let backend = Backend::of(db);
    let (terms, rest, _) = criteria.parts(backend, scope);
    let mut matches = match backend {
        Backend::Sqlite if !terms.is_empty() => sqlite_index_first(db, &terms, rest, cap).await?,
        Backend::Postgres if !terms.is_empty() => {
            // The search table knows who is active; anything else the
            // scope asks is read from `persons`.
            use sea_orm::ExprTrait;
            let within = match scope {
                Scope::Directory => Condition::all().add(pg_col("active").eq(true)),
                Scope::Crm => Condition::all().add(
                    pg_col("id").in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column((persons::Entity, persons::Column::Id))
                            .from(persons::Entity)
                            .cond_where(rest)
                            .to_owned(),
                    ),
                ),
            };
            pg_collect(db, &terms, within, cap).await?
        }
        _ => first_matches(db, rest, cap).await?,
    };
    let capped = matches.len() as u64 > cap;
    matches.truncate(cap as usize);
    matches.sort();
    Ok(Found { matches, capped })
}

/// Up to `cap + 1` matches of a condition, in whatever order comes first.
async fn first_matches<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    cap: u64,
) -> AppResult<Vec<(String, i64)>> {
    Ok(persons::Entity::find()
        .select_only()
        .column(persons::Column::SortKey)
        .column(persons::Column::Id)
        .filter(cond)
        .limit(cap + 1)
        .into_tuple()
        .all(db)
        .await?)
}

/// On PostgreSQL, a sample of the first rows decides (see `pg_plan`): a
/// search matching often enough is read in table order (the probe), any
/// other from the index, with the terms too common to be worth its entries
/// checked on the rows it finds. `within` is a condition on [`PG_TABLE`].
async fn pg_collect<C: ConnectionTrait>(
    db: &C,
    terms: &[Term],
    within: Condition,
    cap: u64,
) -> AppResult<Vec<(String, i64)>> {
    // One word of four letters or more: the index alone is the only way,
    // and the sample would cost more than it could save.
    if let [term] = terms
        && !term.is_short()
    {
        return pg_first_matches(db, within.add(pg_matches(&[term], &[])), cap).await;
    }
    let sample = pg_plan::sample(db, terms, &within).await?;
    if sample.fills(cap + 1, PROBE_ROWS) {
        let all: Vec<&Term> = terms.iter().collect();
        if let Some(found) = probe(db, within.clone().add(pg_matches(&all, &[])), cap).await? {
            return Ok(found);
        }
    }
    let split = sample.split(cap + 1);
    pg_first_matches(db, within.add(pg_plan::split_matches(terms, &split)), cap).await
}

/// Up to `cap + 1` search rows meeting a condition, in whatever order comes
/// first: partition after partition, so that a search matching often
/// stops within the first partitions' index entries.
async fn pg_first_matches<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    cap: u64,
) -> AppResult<Vec<(String, i64)>> {
    use sea_orm::sea_query::{Alias, PostgresQueryBuilder, Query};
    let (sql, values) = Query::select()
        .column(Alias::new("sort_key"))
        .column(Alias::new("id"))
        .from(Alias::new(PG_TABLE))
        .cond_where(cond)
        .limit(cap + 1)
        .build(PostgresQueryBuilder);
    sort_keys(db, sea_orm::DbBackend::Postgres, sql, values).await
}

/// On SQLite, the matches read in the full-text index's order, each checked
/// against the other criteria, until `cap + 1` are found. The usual form
/// (`id IN (SELECT rowid … MATCH …)`) first gathers every match: 60 ms for
/// a city or a common prefix ("mar") at a million persons, where the first
/// thousand come in a few milliseconds. CROSS JOIN is how SQLite is told
/// which table to read first.
async fn sqlite_index_first<C: ConnectionTrait>(
    db: &C,
    terms: &[Term],
    rest: Condition,
    cap: u64,
) -> AppResult<Vec<(String, i64)>> {
    use sea_orm::sea_query::{Alias, Query, SqliteQueryBuilder};
    let (query, letters) = sqlite_terms(terms);
    let mut cond = rest
        .add(Expr::cust_with_values("persons_fts MATCH ?", [query]))
        .add(Expr::cust("\"persons\".\"id\" = persons_fts.rowid"));
    for check in letters {
        cond = cond.add(check);
    }
    let (sql, values) = Query::select()
        .column((persons::Entity, persons::Column::SortKey))
        .column((persons::Entity, persons::Column::Id))
        .from(Alias::new("persons_fts"))
        .cross_join(persons::Entity)
        .cond_where(cond)
        .limit(cap + 1)
        .build(SqliteQueryBuilder);
    sort_keys(db, sea_orm::DbBackend::Sqlite, sql, values).await
}

/// The (sort key, id) pairs a raw statement selects.
async fn sort_keys<C: ConnectionTrait>(
    db: &C,
    backend: sea_orm::DbBackend,
    sql: String,
    values: sea_orm::sea_query::Values,
) -> AppResult<Vec<(String, i64)>> {
    Ok(db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "sort_key")?, r.try_get("", "id")?)))
        .collect::<Result<_, sea_orm::DbErr>>()?)
}

/// Rows a probe reads before the full-text index is asked: about 20 ms,
/// enough to fill the cap when one row in thirty matches.
const PROBE_ROWS: u64 = 30_000;

/// On PostgreSQL, the matches among the first rows of the table when they
/// are enough to fill the cap. A search of short prefixes or of several
/// common words ("da s be", "droit des affaires") often matches one row in
/// twenty: reading rows in table order finds a thousand in milliseconds,
/// while the full-text index would first gather every entry of every word
/// starting with "s" (a quarter of a second). `pg_collect` probes only when
/// its sample says the probe will fill the cap.
async fn probe<C: ConnectionTrait>(
    db: &C,
    cond: Condition,
    cap: u64,
) -> AppResult<Option<Vec<(String, i64)>>> {
    use sea_orm::sea_query::{Alias, Asterisk, PostgresQueryBuilder, Query};
    let first = Query::select()
        .column(Asterisk)
        .from(Alias::new(PG_TABLE))
        .limit(PROBE_ROWS)
        .to_owned();
    let (sql, values) = Query::select()
        .column(Alias::new("sort_key"))
        .column(Alias::new("id"))
        .from_subquery(first, Alias::new(PG_TABLE))
        .cond_where(cond)
        .limit(cap + 1)
        .build(PostgresQueryBuilder);
    let rows = sort_keys(db, sea_orm::DbBackend::Postgres, sql, values).await?;
    Ok((rows.len() as u64 > cap).then_some(rows))
}

/// Whole rows of these persons, in the order given.
pub async fn rows_of<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<Vec<persons::Model>> {
    let mut rows = persons::Entity::find()
        .filter(persons::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    rows.sort_by_key(|r| ids.iter().position(|i| *i == r.id));
    Ok(rows)
}

/// The ids matching a condition, for bulk actions on "all matching".
pub async fn ids<C: ConnectionTrait>(db: &C, cond: Condition) -> AppResult<Vec<i64>> {
    Ok(persons::Entity::find()
        .select_only()
        .column(persons::Column::Id)
        .filter(cond)
        .order_by_asc(persons::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_become_tagged_prefix_terms() {
        let c = Criteria {
            q: "Hélène".into(),
            company: "Société Générale".into(),
            promo: "2010".into(),
            ..Default::default()
        };
        let (t, invalid) = c.terms();
        assert!(invalid.is_empty());
        let words: Vec<_> = t.iter().map(|t| (t.word.as_str(), t.prefix)).collect();
        assert_eq!(
            words,
            vec![
                ("helene", true),
                ("co0societe", true),
                ("co0generale", true),
                ("pr02010", false)
            ]
        );
    }

    #[test]
    fn a_non_number_promo_is_reported() {
        let c = Criteria {
            promo: "vingt".into(),
            ..Default::default()
        };
        assert_eq!(c.terms().1, vec![Invalid { field: "promo" }]);
    }
}

#[cfg(test)]
mod sql_tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    #[test]
    fn both_backends_bind_their_placeholders() {
        let c = Criteria {
            q: "helene dupre".into(),
            role: "student".into(),
            programme: "3".into(),
            ..Default::default()
        };
        let (cond, _) = c.condition(Backend::Postgres, Scope::Crm);
        let s = select(cond.clone(), Sort::Name, false)
            .build(DbBackend::Postgres)
            .to_string();
        println!("{s}");
        let (cond, _) = c.condition(Backend::Sqlite, Scope::Crm);
        let s = select(cond, Sort::Name, false)
            .build(DbBackend::Sqlite)
            .to_string();
        println!("{s}");
    }
}
