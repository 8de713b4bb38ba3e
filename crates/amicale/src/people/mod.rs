//! People, directory and CRM: the person record, the members'
//! directory, the staff's CRM list, imports and exports.

pub mod accounts;
pub mod bulk;
pub mod crm;
pub mod directory;
pub mod duplicates;
pub mod export;
pub mod followup;
pub mod import;
pub mod import_pages;
pub mod lists;
pub mod model;
pub mod person;
pub mod pg_plan;
pub mod photos;
pub mod registration;
pub mod scope;
pub mod search;
pub mod search_document;
pub mod store;
pub mod xlsx;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    followup::router()
        .route("/directory", get(directory::directory))
        .route("/directory/{id}", get(directory::profile))
        .route("/admin/people", get(crm::list))
        .route(
            "/admin/people/new",
            get(person::new_form).post(person::create),
        )
        .route(
            "/admin/people/{id}",
            get(person::edit_form).post(person::update),
        )
        .route(
            "/admin/people/import",
            get(import_pages::form)
                .post(import_pages::preview)
                .layer(DefaultBodyLimit::max(import_pages::MAX_FILE + 64 * 1024)),
        )
        .route("/admin/people/import/{id}", post(import_pages::confirm))
        .route(
            "/admin/groups",
            get(lists::groups_list).post(lists::group_create),
        )
        .route("/admin/groups/{id}/delete", post(lists::group_delete))
        .route("/lists", get(lists::lists).post(lists::list_create))
        .route("/lists/{id}", get(lists::list_show))
        .route("/admin/people/duplicates", get(duplicates::list))
        .route(
            "/admin/people/duplicates/merge",
            post(duplicates::merge_page),
        )
        .route(
            "/admin/people/{id}/photo",
            post(photos::upload).layer(DefaultBodyLimit::max(photos::MAX_PHOTO + 64 * 1024)),
        )
        .route("/admin/people/{id}/photo/delete", post(photos::remove))
        .route("/people/{id}/photo", get(photos::show))
        .route("/admin/people/columns", post(crm::save_columns))
        .route("/admin/people/bulk", post(crm::bulk))
        .route("/admin/people/export", get(crm::export))
        .route("/admin/jobs/{id}", get(crm::job))
        .route(
            "/invitation/{token}",
            get(accounts::invitation_form).post(accounts::finish),
        )
        .route(
            "/invitation/{token}/stop",
            get(accounts::stop_form).post(accounts::stop),
        )
        .route(
            "/register",
            get(registration::form).post(registration::submit),
        )
        .route(
            "/register/confirm/{token}",
            get(registration::confirm_form).post(registration::confirm),
        )
        .route("/admin/registrations", get(registration::queue))
        .route("/admin/registrations/{id}", post(registration::decide))
        .route(
            "/account/email",
            get(accounts::email_form).post(accounts::email_request),
        )
        .route("/account/email/{token}", get(accounts::email_confirm))
        .route(
            "/account/deactivate",
            get(accounts::deactivate_form).post(accounts::deactivate),
        )
}
