//! Template kinds, audiences and sending modes, and the parsed template form.

use amicale_merge::Trigger;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Email,
    Newsletter,
    Sms,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 3] = [
        TemplateKind::Email,
        TemplateKind::Newsletter,
        TemplateKind::Sms,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Email => "email",
            TemplateKind::Newsletter => "newsletter",
            TemplateKind::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The kind stored on a template row (e-mail if the column holds
    /// something unknown, which the schema never writes).
    pub fn of(t: &amicale_store::entities::templates::Model) -> Self {
        Self::parse(&t.kind).unwrap_or(TemplateKind::Email)
    }

    pub fn is_html(self) -> bool {
        !matches!(self, TemplateKind::Sms)
    }
}

/// Who a template may be sent to (JUNGO2's recipient types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientType {
    Member,
    Beneficiary,
    PartnerContact,
    IndividualContact,
}

impl RecipientType {
    pub const ALL: [RecipientType; 4] = [
        RecipientType::Member,
        RecipientType::Beneficiary,
        RecipientType::PartnerContact,
        RecipientType::IndividualContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecipientType::Member => "member",
            RecipientType::Beneficiary => "beneficiary",
            RecipientType::PartnerContact => "partner_contact",
            RecipientType::IndividualContact => "individual_contact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a template may be sent. Each mode is triggered either by a person or
/// by an event, which decides the merge fields it can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendingMode {
    Campaign,
    PersonPage,
    EventPage,
    Automatic,
    Mailing,
}

impl SendingMode {
    pub const ALL: [SendingMode; 5] = [
        SendingMode::Campaign,
        SendingMode::PersonPage,
        SendingMode::EventPage,
        SendingMode::Automatic,
        SendingMode::Mailing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SendingMode::Campaign => "campaign",
            SendingMode::PersonPage => "person_page",
            SendingMode::EventPage => "event_page",
            SendingMode::Automatic => "automatic",
            SendingMode::Mailing => "mailing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn trigger(self) -> Trigger {
        match self {
            SendingMode::EventPage | SendingMode::Automatic => Trigger::Event,
            SendingMode::Campaign | SendingMode::PersonPage | SendingMode::Mailing => {
                Trigger::Person
            }
        }
    }
}

pub fn join<T: Copy>(items: &[T], f: fn(T) -> &'static str) -> String {
    items.iter().map(|i| f(*i)).collect::<Vec<_>>().join(",")
}

pub fn split<T>(s: &str, parse: fn(&str) -> Option<T>) -> Vec<T> {
    s.split(',').filter_map(|p| parse(p.trim())).collect()
}

/// One language's content of a template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variant {
    pub subject: String,
    /// HTML for e-mail and newsletter, text for SMS.
    pub body: String,
    /// The plain-text part (e-mail and newsletter).
    pub text: String,
}

impl Variant {
    pub fn is_blank(&self) -> bool {
        self.subject.trim().is_empty() && self.body.trim().is_empty()
    }
}

impl From<amicale_kernel::SendChannel> for TemplateKind {
    /// The template kind a channel sends.
    fn from(channel: amicale_kernel::SendChannel) -> Self {
        use amicale_kernel::SendChannel;
        match channel {
            SendChannel::Email => TemplateKind::Email,
            SendChannel::Newsletter => TemplateKind::Newsletter,
            SendChannel::Sms => TemplateKind::Sms,
        }
    }
}
