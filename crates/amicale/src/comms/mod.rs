//! The communication hub: templates now; audiences, mailings, campaigns,
//! rules, history and tracking as the sending issues add them.

pub mod campaign_filters;
pub mod campaign_pages;
pub mod campaign_service;
pub mod campaigns;
pub mod context;
pub mod direct;
pub mod eligibility;
pub mod report_store;
pub mod reports;
pub mod templates;
pub mod unsubscribe;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    use axum::routing::get;
    templates::router()
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::form).post(unsubscribe::confirm),
        )
        .route("/admin/reports", get(reports::page))
        .route(
            "/admin/tracking",
            axum::routing::post(reports::set_tracking),
        )
        .route("/admin/campaigns", get(campaign_pages::list))
        .route(
            "/admin/campaigns/new",
            get(campaign_pages::new_form).post(campaign_pages::create),
        )
        .route("/admin/campaigns/{id}", get(campaign_pages::show))
        .route(
            "/admin/campaigns/{id}/filters",
            axum::routing::post(campaign_pages::filters),
        )
        .route(
            "/admin/campaigns/{id}/select",
            axum::routing::post(campaign_pages::select),
        )
        .route(
            "/admin/campaigns/{id}/schedule",
            axum::routing::post(campaign_pages::schedule),
        )
        .route(
            "/admin/people/{id}/messages",
            get(direct::person_page).post(direct::person_send),
        )
}
