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
        .route("/directory", get(directory::pages::directory))
        .route("/directory/{id}", get(directory::pages::profile))
        .route("/admin/people", get(crm::pages::list))
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
            get(lists::pages::groups_list).post(lists::pages::group_create),
        )
        .route(
            "/admin/groups/{id}/delete",
            post(lists::pages::group_delete),
        )
        .route(
            "/lists",
            get(lists::pages::lists).post(lists::pages::list_create),
        )
        .route("/lists/{id}", get(lists::pages::list_show))
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
        .route("/admin/people/columns", post(crm::pages::save_columns))
        .route("/admin/people/bulk", post(crm::pages::bulk))
        .route("/admin/people/export", get(crm::pages::export))
        .route("/admin/jobs/{id}", get(crm::pages::job))
        .route(
            "/invitation/{token}",
            get(accounts::pages::invitation_form).post(accounts::pages::finish),
        )
        .route(
            "/invitation/{token}/stop",
            get(accounts::pages::stop_form).post(accounts::pages::stop),
        )
        .route(
            "/register",
            get(registration::pages::form).post(registration::pages::submit),
        )
        .route(
            "/register/confirm/{token}",
            get(registration::pages::confirm_form).post(registration::pages::confirm),
        )
        .route("/admin/registrations", get(registration::pages::queue))
        .route(
            "/admin/registrations/{id}",
            post(registration::pages::decide),
        )
        .route(
            "/account/email",
            get(accounts::pages::email_form).post(accounts::pages::email_request),
        )
        .route(
            "/account/email/{token}",
            get(accounts::pages::email_confirm),
        )
        .route(
            "/account/deactivate",
            get(accounts::pages::deactivate_form).post(accounts::pages::deactivate),
        )
}
