//! What every page needs: language, signed-in user, CSRF token, current path.

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::web::assets;
use crate::web::cookies;
use crate::web::csrf::CsrfToken;
use crate::web::nav;
use crate::web::session::SessionUser;
use amicale_kernel::Locale;
use amicale_store::entities::users;

pub const LANG_COOKIE: &str = "amicale_lang";

/// Chooses the language of a request: the user's own, else the visitor's
/// cookie, else the browser's, else the network default.
pub async fn resolve_locale(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let locale = req
        .extensions()
        .get::<SessionUser>()
        .and_then(|s| Locale::parse(&s.user.locale))
        .or_else(|| cookies::read(req.headers(), LANG_COOKIE).and_then(|c| Locale::parse(&c)))
        .or_else(|| {
            req.headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(state.default_locale);
    req.extensions_mut().insert(locale);
    next.run(req).await
}

pub struct NavItem {
    pub href: &'static str,
    pub label: String,
    pub active: bool,
}

/// A heading of the staff sidebar and its entries.
pub struct NavSection {
    pub label: String,
    pub items: Vec<NavItem>,
}

pub struct Page {
    pub locale: Locale,
    pub user: Option<users::Model>,
    pub csrf: String,
    pub path: String,
    pub demo: bool,
    /// May use the directory (see [`crate::web::extract::Member`]).
    pub member: bool,
    /// May consult the CRM (a staff profile or an administrator).
    pub staff: bool,
    /// The signed-in user with their rights, for the menus.
    pub session: Option<SessionUser>,
}

impl Page {
    pub fn t(&self, key: &str) -> String {
        self.locale.t(key)
    }

    pub fn t1(&self, key: &str, name: &'static str, value: impl std::fmt::Display) -> String {
        self.locale.t1(key, name, value)
    }

    pub fn t2(
        &self,
        key: &str,
        a: &'static str,
        va: impl std::fmt::Display,
        b: &'static str,
        vb: impl std::fmt::Display,
    ) -> String {
        self.locale
            .t_args(key, &[(a, va.to_string()), (b, vb.to_string())])
    }

    /// "N characters, M SMS (GSM7)".
    pub fn sms_count(&self, a: &amicale_sms::Analysis) -> String {
        self.locale.t_args(
            "sms-count",
            &[
                ("characters", a.characters.to_string()),
                ("segments", a.segments.to_string()),
                ("encoding", a.encoding.as_str().to_uppercase()),
            ],
        )
    }

    /// The label of an outbox state.
    pub fn state_label(&self, state: &str) -> String {
        self.t(&format!("state-{state}"))
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// A count in the page's language ("5 000" / "5,000").
    pub fn number(&self, n: impl Count) -> String {
        self.locale.number(n.count())
    }

    /// A percentage in the page's typography ("42 %" / "42%").
    pub fn percent(&self, n: impl Count) -> String {
        self.locale.percent(n.count())
    }

    /// The colon after a label, in the page's typography ("État : " /
    /// "State: ").
    pub fn colon(&self) -> &'static str {
        self.locale.colon()
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin)
    }

    /// True when the current page belongs to the navigation entry at `prefix`.
    pub fn active(&self, prefix: &str) -> bool {
        if prefix == "/" {
            self.path == "/"
        } else {
            self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
        }
    }

    pub fn css(&self) -> String {
        assets::url("app.css")
    }

    pub fn js(&self) -> String {
        assets::url("app.js")
    }

    pub fn favicon(&self) -> String {
        assets::url("favicon.svg")
    }

    /// The entry the current page belongs to: the longest address of any
    /// menu that the path is or lies under, so "/admin/people/duplicates"
    /// lights Duplicates, not also People or the overview.
    fn current_entry(&self) -> Option<&'static str> {
        nav::all_links()
            .map(|l| l.href)
            .filter(|h| self.active(h))
            .max_by_key(|h| h.len())
    }

    fn item(&self, link: &nav::Link, current: Option<&str>) -> NavItem {
        NavItem {
            href: link.href,
            label: self.t(link.key),
            active: current == Some(link.href),
        }
    }

    /// The top bar: what a member uses.
    pub fn nav(&self) -> Vec<NavItem> {
        let Some(s) = &self.session else {
            return Vec::new();
        };
        let current = self.current_entry();
        nav::TOP
            .iter()
            .filter(|l| (l.allowed)(s))
            .map(|l| self.item(l, current))
            .collect()
    }

    /// The staff sidebar: the sections holding at least one entry this
    /// user's rights open; empty for members.
    pub fn sidebar(&self) -> Vec<NavSection> {
        let Some(s) = &self.session else {
            return Vec::new();
        };
        let current = self.current_entry();
        nav::STAFF
            .iter()
            .map(|sec| NavSection {
                label: self.t(sec.key),
                items: sec
                    .links
                    .iter()
                    .filter(|l| (l.allowed)(s))
                    .map(|l| self.item(l, current))
                    .collect(),
            })
            .filter(|sec| !sec.items.is_empty())
            .collect()
    }

    pub fn user_name(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.display_name.as_str())
            .unwrap_or("")
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Page {
            locale: parts
                .extensions
                .get::<Locale>()
                .copied()
                .unwrap_or_default(),
            user: parts
                .extensions
                .get::<SessionUser>()
                .map(|s| s.user.clone()),
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            path: parts.uri.path().to_owned(),
            demo: state.demo,
            member: parts.extensions.get::<SessionUser>().is_some_and(|s| {
                <crate::web::extract::Member as crate::web::extract::Permission>::allows(s)
            }),
            // The People entry shows when the profile grants it and keeps it
            // visible in the menu.
            staff: parts.extensions.get::<SessionUser>().is_some_and(|s| {
                <crate::web::extract::ViewPeople as crate::web::extract::Permission>::allows(s)
                    && (s.user.is_admin
                        || s.profile.as_ref().is_some_and(|m| {
                            m.get(amicale_kernel::permissions::Module::People).visible
                        }))
            }),
            session: parts.extensions.get::<SessionUser>().cloned(),
        })
    }
}

/// Renders a template to an HTML response.
pub fn render<T: Template>(tpl: &T) -> AppResult<Response> {
    Ok(Html(tpl.render().map_err(crate::error::render_failed)?).into_response())
}

/// Renders a template with another status than 200 (a refused form, a gone link).
pub fn render_status<T: Template>(status: axum::http::StatusCode, tpl: &T) -> AppResult<Response> {
    let mut res = render(tpl)?;
    *res.status_mut() = status;
    Ok(res)
}

/// Only local paths are accepted as a place to go back to, so a crafted link
/// cannot send a user to another site after login.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_site() {
        assert_eq!(safe_next(Some("/events")), "/events");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}

/// A count as templates hand it over (by value or by reference, of
/// whichever integer type the query gave).
pub trait Count {
    fn count(&self) -> i64;
}

macro_rules! count {
    ($($t:ty),*) => {$(
        impl Count for $t {
            fn count(&self) -> i64 {
                // Counts of rows and sums of segments: never beyond i64.
                i64::try_from(*self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
count!(i32, i64, u32, u64, usize);

impl<T: Count> Count for &T {
    fn count(&self) -> i64 {
        (**self).count()
    }
}
