//! A system notice (invitation, moderation answer, address proof): one
//! mail in text and HTML, queued in the outbox of the caller's transaction.

use askama::Template;
use sea_orm::ConnectionTrait;

use crate::app::AppState;
use crate::error::AppResult;
use amicale_delivery::outbox::{self, NewMail, Origin};
use amicale_kernel::Locale;

#[derive(Template)]
#[template(path = "mail/notice.txt")]
pub struct NoticeText<'a> {
    pub greeting: &'a str,
    pub paragraphs: &'a [String],
    pub link: Option<&'a str>,
    pub footer: &'a [String],
    pub network: &'a str,
}

#[derive(Template)]
#[template(path = "mail/notice.html")]
pub struct NoticeHtml<'a> {
    pub lang: &'a str,
    pub subject: &'a str,
    pub greeting: &'a str,
    pub paragraphs: &'a [String],
    pub link: Option<&'a str>,
    pub button: &'a str,
    pub footer: &'a [String],
    pub network: &'a str,
}

/// A system notice (invitation, moderation answer) in the recipient's language.
pub struct Notice<'a> {
    pub l: Locale,
    pub to: &'a str,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    pub link: Option<String>,
    pub button: String,
    pub footer: Vec<String>,
}

impl Notice<'_> {
    pub async fn enqueue<C: ConnectionTrait>(self, state: &AppState, db: &C) -> AppResult<i64> {
        let network = state.config.network_name.clone();
        let text = NoticeText {
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            link: self.link.as_deref(),
            footer: &self.footer,
            network: &network,
        }
        .render()
        .map_err(crate::error::render_failed)?;
        let html = NoticeHtml {
            lang: self.l.code(),
            subject: &self.subject,
            greeting: &self.greeting,
            paragraphs: &self.paragraphs,
            link: self.link.as_deref(),
            button: &self.button,
            footer: &self.footer,
            network: &network,
        }
        .render()
        .map_err(crate::error::render_failed)?;
        outbox::enqueue(
            db,
            NewMail {
                recipient: self.to.to_owned(),
                subject: self.subject,
                text,
                html: Some(html),
                origin: Origin::System,
                origin_id: None,
            },
            state.mail_from.email.domain(),
        )
        .await
    }
}
