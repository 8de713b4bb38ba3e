//! The SMS provider account, edited in Administration. Its secrets are
//! sealed with the network's secret key; the form never shows them back.

use amicale_sms::provider::{Generic, Ovh, Provider, Twilio};
use chrono::Utc;
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};
use serde::{Deserialize, Serialize};

use crate::state::Engine;
use amicale_store::entities::sms_accounts;
use amicale_store::error::AppResult;

const SEAL: &str = "sms-account";

amicale_kernel::codes!(
    /// Who delivers the SMS.
    ProviderKind { Catcher = "catcher", Generic = "generic", Twilio = "twilio", Ovh = "ovh" }
);

/// Settings shown in the form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub url: String,
    pub body_template: String,
    pub id_field: String,
    pub base_url: String,
    pub account_sid: String,
    pub endpoint: String,
    pub service_name: String,
    pub application_key: String,
}

/// Settings never shown back: kept when the form leaves them blank.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Secrets {
    pub authorization: String,
    pub auth_token: String,
    pub application_secret: String,
    pub consumer_key: String,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub kind: ProviderKind,
    pub label: String,
    /// Alphanumeric sender (11 characters at most) or a number.
    pub sender: String,
    pub settings: Settings,
    pub secrets: Secrets,
    /// Replace characters outside GSM-7 by close ones before sending.
    pub transliterate: bool,
    /// The sealed secrets could not be opened (the secret key changed).
    pub secrets_lost: bool,
}

impl Account {
    /// The provider to call; `None` for the catcher, which calls nobody.
    pub fn provider(&self) -> Option<Provider> {
        let s = &self.settings;
        let k = &self.secrets;
        match self.kind {
            ProviderKind::Catcher => None,
            ProviderKind::Generic => Some(Provider::Generic(Generic {
                url: s.url.clone(),
                body_template: s.body_template.clone(),
                authorization: Some(k.authorization.clone()).filter(|a| !a.is_empty()),
                id_field: s.id_field.clone(),
            })),
            ProviderKind::Twilio => Some(Provider::Twilio(Twilio {
                base_url: s.base_url.clone(),
                account_sid: s.account_sid.clone(),
                auth_token: k.auth_token.clone(),
            })),
            ProviderKind::Ovh => Some(Provider::Ovh(Ovh {
                endpoint: s.endpoint.clone(),
                service_name: s.service_name.clone(),
                application_key: s.application_key.clone(),
                application_secret: k.application_secret.clone(),
                consumer_key: k.consumer_key.clone(),
            })),
        }
    }

    /// The text as it goes out.
    pub fn prepare(&self, text: &str) -> String {
        if self.transliterate {
            amicale_sms::transliterate(text)
        } else {
            text.to_owned()
        }
    }
}

/// The configured account; `None` when SMS is not set up on this platform.
pub async fn load(state: &Engine) -> AppResult<Option<Account>> {
    let Some(row) = sms_accounts::Entity::find()
        .order_by_asc(sms_accounts::Column::Id)
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let opened = if row.secrets.is_empty() {
        Some(Secrets::default())
    } else {
        state
            .secret
            .open(SEAL, &row.secrets)
            .and_then(|s| serde_json::from_str(&s).ok())
    };
    Ok(Some(Account {
        kind: ProviderKind::parse(&row.provider).unwrap_or(ProviderKind::Catcher),
        label: row.label,
        sender: row.sender,
        settings: serde_json::from_str(&row.settings).unwrap_or_default(),
        secrets_lost: opened.is_none(),
        secrets: opened.unwrap_or_default(),
        transliterate: row.transliterate,
    }))
}

/// Stores the account (there is one), secrets sealed.
pub async fn save(state: &Engine, a: &Account) -> AppResult<()> {
    let secrets = serde_json::to_string(&a.secrets)
        .map_err(|e| amicale_store::error::AppError::Internal(e.to_string()))?;
    let existing = sms_accounts::Entity::find()
        .order_by_asc(sms_accounts::Column::Id)
        .one(&state.db)
        .await?;
    let row = sms_accounts::ActiveModel {
        provider: Set(a.kind.as_str().into()),
        label: Set(a.label.clone()),
        sender: Set(a.sender.clone()),
        settings: Set(serde_json::to_string(&a.settings)
            .map_err(|e| amicale_store::error::AppError::Internal(e.to_string()))?),
        secrets: Set(state.secret.seal(SEAL, &secrets)),
        transliterate: Set(a.transliterate),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    match existing {
        Some(e) => {
            let mut row = row;
            row.id = Set(e.id);
            sms_accounts::Entity::update(row).exec(&state.db).await?;
        }
        None => {
            sms_accounts::Entity::insert(row).exec(&state.db).await?;
        }
    }
    Ok(())
}

/// Whether an SMS account exists (the catcher counts: it is a choice).
pub async fn configured(db: &sea_orm::DatabaseConnection) -> AppResult<bool> {
    use sea_orm::PaginatorTrait;
    Ok(sms_accounts::Entity::find().count(db).await? > 0)
}
