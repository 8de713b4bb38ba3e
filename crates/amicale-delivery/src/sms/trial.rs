//! A test SMS sent at once through the saved account, outside the outbox,
//! so that an administrator sees the provider's exact answer. One that goes
//! out is recorded and billed like any SMS.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use amicale_sms::provider::{Answer, Outgoing};

use super::account::Account;
use super::{outbound, receipts, worker};
use crate::outbox::{Channel, Origin, State};
use crate::state::Engine;
use amicale_store::entities::outbox;
use amicale_store::error::AppResult;

/// What became of a test SMS.
pub struct Trial {
    pub ok: bool,
    /// The provider's answer; none when the account is the catcher.
    pub said: Option<String>,
    /// The locale key of what to try next, when it failed.
    pub hint: Option<&'static str>,
    pub provider_id: Option<String>,
    pub state: State,
}

impl Trial {
    fn failed(said: String, hint: &'static str) -> Trial {
        Trial {
            ok: false,
            said: Some(said),
            hint: Some(hint),
            provider_id: None,
            state: State::Failed,
        }
    }
}

/// Sends `text` to `phone` (E.164) now.
pub async fn send(engine: &Engine, acc: &Account, phone: &str, text: &str) -> Trial {
    let Some(provider) = acc.provider() else {
        return Trial {
            ok: true,
            said: None,
            hint: None,
            provider_id: None,
            state: State::Caught,
        };
    };
    let receipt_url = receipts::url(engine);
    let out = Outgoing {
        to: phone,
        text,
        sender: &acc.sender,
        reference: "test",
        receipt_url: Some(&receipt_url),
    };
    match worker::call(engine, &provider, &out).await {
        Err(why) => Trial::failed(why, "sms-hint-unreachable"),
        Ok((status, body)) => {
            let said = format!("HTTP {status}: {}", outbound::echo(&body));
            match provider.read_answer(status, &body) {
                Answer::Accepted { id } => Trial {
                    ok: true,
                    said: Some(said),
                    hint: None,
                    provider_id: id,
                    state: State::Sent,
                },
                Answer::Temporary(_) => Trial::failed(said, "sms-hint-temporary"),
                Answer::Permanent(_) if matches!(status, 401 | 403) => {
                    Trial::failed(said, "sms-hint-auth")
                }
                Answer::Permanent(_) => Trial::failed(said, "sms-hint-permanent"),
            }
        }
    }
}

/// Records a test that went out, `answer` as shown, so that it counts
/// against the credit.
pub async fn record(
    db: &DatabaseConnection,
    trial: Trial,
    phone: String,
    text: String,
    segments: i64,
    answer: String,
) -> AppResult<()> {
    let now = Utc::now();
    outbox::Entity::insert(outbox::ActiveModel {
        channel: Set(Channel::Sms),
        recipient: Set(phone),
        subject: Set(String::new()),
        body_text: Set(text),
        body_html: Set(None),
        origin: Set(Origin::Test),
        state: Set(trial.state),
        attempts: Set(1),
        next_attempt_at: Set(now),
        last_answer: Set(Some(answer)),
        message_id: Set(format!(
            "<sms-test-{}@amicale>",
            amicale_kernel::crypto::random_token(12)
        )),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(Some(now)),
        segments: Set(Some(segments as i32)),
        provider_id: Set(trial.provider_id),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}
