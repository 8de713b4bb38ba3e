use sea_orm::entity::prelude::*;

pub use amicale_kernel::Channel;

crate::stored_codes!(
    /// Where a message stands in the outbox.
    State {
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Deferred = "deferred",
        Failed = "failed",
        Cancelled = "cancelled",
        Suppressed = "suppressed",
        /// Kept by the mail catcher because no SMTP server is configured.
        Caught = "caught",
    }
);

crate::stored_codes!(
    /// Why a message exists.
    Origin {
        System = "system",
        /// "Send a test to me" from a template: not counted as a send.
        Test = "test",
        /// A list of recipients given to `amicale send`.
        Batch = "batch",
        Mailing = "mailing",
        Campaign = "campaign",
        Rule = "rule",
        PersonPage = "person_page",
        EventPage = "event_page",
    }
);

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub channel: Channel,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub origin: Origin,
    pub origin_id: Option<i64>,
    pub state: State,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub last_answer: Option<String>,
    pub message_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
    pub template_version_id: Option<i64>,
    pub send_id: Option<i64>,
    /// Merge data (JSON) for bodies rendered at delivery from the template version.
    pub merge_data: Option<String>,
    pub locale: Option<String>,
    /// The person the message concerns (histories of the person page).
    pub person_id: Option<i64>,
    /// The event the message is about (history of the event page).
    pub event_id: Option<i64>,
    /// SMS segments billed (set when the SMS is handed to the provider).
    pub segments: Option<i32>,
    /// The SMS provider's id of the message, which its receipts quote.
    pub provider_id: Option<String>,
    /// The last delivery receipt: delivered, failed or pending.
    pub receipt: Option<String>,
    pub receipt_at: Option<DateTimeUtc>,
    /// The sender identity (From), when a user chose one.
    pub identity_id: Option<i64>,
    /// Manual mails: the CC and BCC addresses, as `Copies` (delivery) JSON.
    pub copies: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
