//! The one error type, defined with the store so every layer returns it;
//! the web layer gets its HTTP face through the store's `http` feature.

pub use amicale_store::error::{AppError, AppResult, ErrorPage, found, is_unique_violation};

/// A page template that failed to render, as the error type carries it.
pub fn render_failed(e: askama::Error) -> AppError {
    AppError::Render(e.to_string())
}
