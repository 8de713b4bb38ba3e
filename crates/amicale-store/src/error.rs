//! The one error type of the application.

#[cfg(feature = "http")]
use axum_core::response::{IntoResponse, Response};
#[cfg(feature = "http")]
use http::StatusCode;

/// What went wrong. Internal details are logged, never shown: the response only
/// carries an [`ErrorPage`] marker that the error-page layer renders in the
/// user's language.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("request refused by CSRF protection: {0}")]
    Csrf(&'static str),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// A page template that failed to render.
    #[error("template: {0}")]
    Render(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("mail: {0}")]
    Mail(String),
    /// Input refused as a whole (an import in all-or-nothing mode); the
    /// details were already reported to the user.
    #[error("{0}")]
    Rejected(String),
    /// An SMS send needs more segments than the packages have left.
    #[error("SMS credit: {needed} segments needed, {remaining} left")]
    SmsCredit { needed: i64, remaining: i64 },
    #[error("{0}")]
    Internal(String),
    /// A request body that could not be read: cut short or malformed
    /// (`too_large: false`, 400) or beyond the route's limit (413).
    #[error("unreadable request body: {why}")]
    BadBody { too_large: bool, why: String },
    /// A field that only our own pages fill (a choice among options, a
    /// link's parameter) holding something else: refused (400), never
    /// replaced by a default.
    #[error("unreadable field {0}")]
    BadInput(&'static str),
}

/// Marker placed in a response's extensions; `web::error_pages` turns it into
/// a localized page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    NotFound,
    Forbidden,
    Csrf,
    BadRequest,
    TooLarge,
    /// A unique value taken by a concurrent request (an account, a name).
    Conflict,
    Internal,
}

#[cfg(feature = "http")]
impl ErrorPage {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorPage::NotFound => StatusCode::NOT_FOUND,
            ErrorPage::Forbidden | ErrorPage::Csrf => StatusCode::FORBIDDEN,
            ErrorPage::BadRequest => StatusCode::BAD_REQUEST,
            ErrorPage::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorPage::Conflict => StatusCode::CONFLICT,
            ErrorPage::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(feature = "http")]
impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        res.extensions_mut().insert(self);
        res
    }
}

#[cfg(feature = "http")]
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let page = match &self {
            AppError::NotFound => ErrorPage::NotFound,
            AppError::Forbidden => ErrorPage::Forbidden,
            AppError::Csrf(why) => {
                tracing::warn!(reason = why, "CSRF refusal");
                ErrorPage::Csrf
            }
            AppError::BadBody { too_large, why } => {
                tracing::info!(reason = %why, "request body refused");
                if *too_large {
                    ErrorPage::TooLarge
                } else {
                    ErrorPage::BadRequest
                }
            }
            AppError::BadInput(field) => {
                tracing::info!(field, "request field refused");
                ErrorPage::BadRequest
            }
            // Two requests that create the same unique thing at once: the
            // database keeps one, the other is told, never a 500.
            AppError::Db(e) if is_unique_violation(e) => {
                tracing::info!(error = %e, "unique value taken meanwhile");
                ErrorPage::Conflict
            }
            other => {
                tracing::error!(error = %other, "request failed");
                ErrorPage::Internal
            }
        };
        page.into_response()
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// Whether a database error is a unique constraint refusing a duplicate.
pub fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Not found unless `found`: what lies outside a user's scope does not
/// exist for them.
pub fn found(found: bool) -> AppResult<()> {
    if found {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}
