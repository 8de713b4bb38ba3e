//! People, directory and CRM (D1–D7): the person record, the members'
//! directory, the staff's CRM list, imports and exports.

pub mod bulk;
pub mod crm;
pub mod directory;
pub mod document;
pub mod export;
pub mod import;
pub mod model;
pub mod search;
pub mod store;
pub mod xlsx;

use axum::Router;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/directory", get(directory::directory))
        .route("/directory/{id}", get(directory::profile))
        .route("/admin/people", get(crm::list))
        .route("/admin/people/columns", post(crm::save_columns))
        .route("/admin/people/bulk", post(crm::bulk))
        .route("/admin/people/export", get(crm::export))
        .route("/admin/jobs/{id}", get(crm::job))
}
