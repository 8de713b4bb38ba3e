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
    // Doors for machines (webhooks, tracking) answer machines in kind.
    let machine = req.uri().path().starts_with("/hooks/");
    let res = next.run(req).await;
    if let Some(page) = res.extensions().get::<ErrorPage>().copied() {
        return render(page, locale, signed_in, res);
    }
    match bare_rejection(&res).filter(|_| !machine) {
        Some(page) => {
            // The page in the user's language, the framework's status.
            let status = res.status();
            let mut out = render(page, locale, signed_in, res);
            *out.status_mut() = status;
            out
        }
        None => res,
    }
}

/// The framework's own refusals (a path id that is not a number, a query
/// or form that does not deserialize, a method the route lacks) come as
/// short English plain text; they get the same page as ours.
fn bare_rejection(res: &Response) -> Option<ErrorPage> {
    use axum::http::StatusCode;
    let plain = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain {
        return None;
    }
    match res.status() {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Some(ErrorPage::BadRequest),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Some(ErrorPage::NotFound),
        StatusCode::PAYLOAD_TOO_LARGE => Some(ErrorPage::TooLarge),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some(ErrorPage::BadRequest),
        _ => None,
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
