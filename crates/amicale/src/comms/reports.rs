//! Reports: the sends of a period, on a page and as CSV (the queries are
//! in `report_store`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

pub use super::report_store::{Line, Period, lines, totals};
use crate::app::AppState;
use crate::error::AppResult;
use crate::web::extract::{Require, ViewSends};
use crate::web::page::{Page, render};

#[derive(Template)]
#[template(path = "comms/reports.html")]
struct Tpl<'a> {
    p: &'a Page,
    from: String,
    to: String,
    lines: Vec<Line>,
    total: Line,
    average: String,
    csv: String,
    tracking: bool,
}

/// The report's cells go through the product's one CSV cell writer.
fn csv_field(s: &str) -> String {
    crate::csv_safe::field(s)
}

/// The report as a CSV download.
fn csv(lines: &[Line], from: &str, to: &str) -> Response {
    let mut out = String::from(
        "origin,name,date,targeted,excluded,excluded_by_reason,sent,waiting,deferred,failed,bounced,delivered_pct,opened,clicked,unsubscribed\n",
    );
    for l in lines {
        let reasons: Vec<String> = l
            .excluded_by
            .iter()
            .map(|(r, n)| format!("{r}:{n}"))
            .collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&l.origin),
            csv_field(&l.name),
            csv_field(&l.date),
            l.targeted,
            l.excluded,
            csv_field(&reasons.join(" ")),
            l.sent,
            l.waiting,
            l.deferred,
            l.failed,
            l.bounced,
            l.delivered_pct()
                .map(|p| format!("{p:.1}"))
                .unwrap_or_default(),
            l.opened,
            l.clicked,
            l.unsubscribed
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"report-{from}-{to}.csv\""),
            ),
        ],
        out,
    )
        .into_response()
}

pub async fn page(
    State(state): State<AppState>,
    _: Require<ViewSends>,
    p: Page,
    Query(q): Query<Period>,
) -> AppResult<Response> {
    let (from, to, _, _) = q.bounds(&state)?;
    let lines = lines(&state, &q).await?;
    let (total, average) = totals(&lines);
    if q.format == "csv" {
        return Ok(csv(&lines, &from.to_string(), &to.to_string()));
    }
    render(&Tpl {
        p: &p,
        csv: format!("/admin/reports?from={from}&to={to}&format=csv"),
        from: from.to_string(),
        to: to.to_string(),
        lines,
        total,
        average,
        tracking: amicale_delivery::tracking::enabled(&state.db).await?,
    })
}

/// Turns the tracking of opens and clicks on or off (administrators).
pub async fn set_tracking(
    State(state): State<AppState>,
    _: Require<crate::web::extract::Admin>,
    f: crate::web::form::FormPairs,
) -> AppResult<Response> {
    let on = f.get("on") == "on";
    amicale_delivery::tracking::set_enabled(&state.db, on).await?;
    tracing::info!(on, "tracking setting changed");
    Ok(axum::response::Redirect::to("/admin/reports").into_response())
}
