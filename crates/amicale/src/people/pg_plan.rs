//! How PostgreSQL answers a directory search, chosen per search from a
//! sample of the table.
//!
//! GIN gathers, for each term it serves, every entry of every word the term
//! matches, so a common term ("de", a prefix such as "da" or "s") costs
//! tens of milliseconds before any row is read; a term left out of the
//! index is checked on each row the index finds instead, and every such
//! row is a random read of a wide row. Which terms are worth giving to the
//! index depends on how common each is, which the planner cannot see in
//! one `@@`. A sample of the first rows says it: the share of rows holding
//! each term, and of rows matching the whole search.

use sea_orm::sea_query::{Alias, Asterisk, Expr, Func, PostgresQueryBuilder, Query, SimpleExpr};
use sea_orm::{Condition, ConnectionTrait, DbBackend, Statement};

use crate::error::AppResult;
use crate::people::search::{PG_TABLE, Term, pg_matches, pg_query};
use amicale_store::migrations::PG_SEARCH_PARTITIONS;

/// Rows the sample reads: ~3 ms at a million persons (5,000: ~7 ms), and
/// enough to tell a term in one row in a hundred from a rarer one.
pub const SAMPLE_ROWS: u64 = 2_000;

/// What the first rows of the table say about a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Rows read (fewer than `SAMPLE_ROWS` when the table is smaller).
    pub rows: u64,
    /// Rows matching the whole search, other criteria included.
    pub matching: u64,
    /// Rows holding each term.
    pub holding: Vec<u64>,
    /// The table's estimated size.
    pub table_rows: f64,
}

/// Reads the sample: one pass over the first `SAMPLE_ROWS` rows of the
/// search table; `within` is the search's other condition on it.
pub async fn sample<C: ConnectionTrait>(
    db: &C,
    terms: &[Term],
    within: &Condition,
) -> AppResult<Sample> {
    let all: Vec<&Term> = terms.iter().collect();
    let count_if = |c: Condition| Func::sum(Expr::case(c, 1).finally(0));
    let first = Query::select()
        .column(Asterisk)
        .from(Alias::new(PG_TABLE))
        .limit(SAMPLE_ROWS)
        .to_owned();
    let mut q = Query::select();
    q.expr_as(Func::count(Expr::cust("*")), Alias::new("n"))
        .expr_as(
            count_if(within.clone().add(pg_matches(&all, &[]))),
            Alias::new("m"),
        )
        .expr_as(
            // A partitioned table's own entry holds no count: its parts
            // do (-1 until first analysed).
            Expr::cust(
                "(SELECT sum(greatest(c.reltuples, 0)) FROM pg_inherits i \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'person_search'::regclass)::float8",
            ),
            Alias::new("table_rows"),
        );
    for (i, t) in terms.iter().enumerate() {
        q.expr_as(
            count_if(Condition::all().add(pg_matches(&[t], &[]))),
            Alias::new(format!("t{i}")),
        );
    }
    let (sql, values) = q
        .from_subquery(first, Alias::new(PG_TABLE))
        .build(PostgresQueryBuilder);
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
    let Some(row) = row else {
        return Ok(Sample {
            rows: 0,
            matching: 0,
            holding: vec![0; terms.len()],
            table_rows: 0.0,
        });
    };
    let count = |name: &str| -> AppResult<u64> {
        let n: Option<i64> = row.try_get("", name)?;
        Ok(n.unwrap_or(0).max(0) as u64)
    };
    Ok(Sample {
        rows: count("n")?,
        matching: count("m")?,
        holding: (0..terms.len())
            .map(|i| count(&format!("t{i}")))
            .collect::<AppResult<_>>()?,
        table_rows: row.try_get::<Option<f64>>("", "table_rows")?.unwrap_or(0.0),
    })
}

/// Microseconds per index entry gathered, and per row read through the
/// index (a random read of a narrow search row), measured at a million
/// persons.
const GIN_ENTRY_US: f64 = 0.3;
const ROW_US: f64 = 10.0;

impl Sample {
    /// Whether reading rows in table order finds `wanted` matches within
    /// `rows_allowed` rows.
    pub fn fills(&self, wanted: u64, rows_allowed: u64) -> bool {
        self.rows > 0 && self.matching * rows_allowed >= wanted * self.rows
    }

    /// Which terms the index serves (by position), the others being
    /// checked on the rows it finds: the split of least estimated cost to
    /// find `wanted` matches.
    pub fn split(&self, wanted: u64) -> Vec<bool> {
        let n = self.holding.len();
        if n == 0 || self.rows == 0 || n > 8 {
            return vec![true; n];
        }
        let total = self.table_rows.max(self.rows as f64);
        // A term absent from the sample is taken for half a row of it.
        let share: Vec<f64> = self
            .holding
            .iter()
            .map(|h| (*h as f64).max(0.5) / self.rows as f64)
            .collect();
        let parts = f64::from(PG_SEARCH_PARTITIONS);
        let cost = |mask: u32| {
            let (mut served, mut kept) = (1.0, 1.0);
            let mut entries = 0.0;
            for (i, s) in share.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    entries += s * total;
                    served *= s;
                } else {
                    kept *= s;
                }
            }
            // Partitions are read one after the other until `wanted`
            // matches are found: a common search pays for a few of them.
            let matches = total * served * kept;
            let read = ((wanted as f64 / matches).min(1.0) * parts).ceil() / parts;
            let rows = (total * served * read).min(wanted as f64 / kept);
            entries * read * GIN_ENTRY_US + rows * ROW_US
        };
        let best = (1..(1u32 << n))
            .min_by(|a, b| cost(*a).total_cmp(&cost(*b)))
            .unwrap_or((1 << n) - 1);
        (0..n).map(|i| best & (1 << i) != 0).collect()
    }
}

/// The condition of a search whose terms are split as `split` says.
pub fn split_matches(terms: &[Term], split: &[bool]) -> SimpleExpr {
    let pick = |served: bool| -> Vec<&Term> {
        terms
            .iter()
            .zip(split)
            .filter(|(_, s)| **s == served)
            .map(|(t, _)| t)
            .collect()
    };
    let (indexed, checked) = (pick(true), pick(false));
    debug_assert!(!indexed.is_empty(), "{}", pg_query(&checked));
    pg_matches(&indexed, &checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(matching: u64, holding: &[u64]) -> Sample {
        Sample {
            rows: 2_000,
            matching,
            holding: holding.to_vec(),
            table_rows: 1_000_000.0,
        }
    }

    #[test]
    fn a_common_search_is_read_in_table_order() {
        // One row in ten matches: 30,000 rows hold a thousand.
        assert!(sample(200, &[800, 400]).fills(1_001, 30_000));
        assert!(!sample(8, &[800, 400]).fills(1_001, 30_000));
    }

    #[test]
    fn common_terms_are_checked_on_the_rows_a_rare_one_finds() {
        // "l oreal": "l" in most rows, "oreal" in 3 %.
        assert_eq!(sample(40, &[1_400, 60]).split(1_001), vec![false, true]);
        // "gestion de projet": "de" in three rows in four, "gestion" in a
        // third, "projet" in a seventh. One partition holds the cap: the
        // index serves "gestion" and "projet" there, "de" is checked.
        assert_eq!(
            sample(200, &[640, 1_520, 280]).split(1_001),
            vec![true, false, true]
        );
    }

    #[test]
    fn two_rare_terms_both_go_to_the_index() {
        // "clem oli": 3 % and 4 %, 0.1 % together.
        assert_eq!(sample(1, &[60, 80]).split(1_001), vec![true, true]);
    }
}
