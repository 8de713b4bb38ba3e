//! Turns error markers into pages in the user's language.

use askama::Template;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::error::ErrorPage;
use crate::web::session::SessionUser;
use amicale_kernel::Locale;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTpl {
    lang: &'static str,
    title: String,
    message: String,
    home: String,
    css: String,
    signed_in: bool,
}

pub async fn pages(req: Request, next: Next) -> Response {
    let locale = req
        .extensions()
        .get::<Locale>()
        .copied()
        .unwrap_or_default();
    let signed_in = req.extensions().get::<SessionUser>().is_some();
    let res = next.run(req).await;
    match res.extensions().get::<ErrorPage>().copied() {
        Some(page) => render(page, locale, signed_in, res),
        None => res,
    }
}

fn render(page: ErrorPage, locale: Locale, signed_in: bool, original: Response) -> Response {
    let key = match page {
        ErrorPage::NotFound => "error-404",
        ErrorPage::Forbidden => "error-403",
        ErrorPage::Csrf => "error-csrf",
        ErrorPage::BadRequest => "error-400",
        ErrorPage::TooLarge => "error-413",
        ErrorPage::Conflict => "error-409",
        ErrorPage::Internal => "error-500",
    };
    let tpl = ErrorTpl {
        lang: locale.code(),
        title: locale.t(&format!("{key}-title")),
        message: locale.t(&format!("{key}-text")),
        home: locale.t("error-home"),
        css: crate::web::assets::url("app.css"),
        signed_in,
    };
    match tpl.render() {
        Ok(body) => {
            let mut res = (page.status(), Html(body)).into_response();
            // Keep headers such as Set-Cookie the handler meant to send.
            for (k, v) in original.headers() {
                if k != axum::http::header::CONTENT_TYPE && k != axum::http::header::CONTENT_LENGTH
                {
                    res.headers_mut().append(k, v.clone());
                }
            }
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            original
        }
    }
}

pub async fn not_found() -> ErrorPage {
    ErrorPage::NotFound
}

/// A panic in a handler becomes the ordinary 500 page, not a dropped connection.
pub fn panic_to_500(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ErrorPage::Internal.into_response()
}
