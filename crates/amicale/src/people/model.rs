//! Values of the person record that are not plain text.

/// Where a person's account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Invited, has not finished their account yet.
    Invited,
    /// Registered themselves, waiting for moderation.
    Pending,
    Active,
    /// Deactivated themselves or by an administrator.
    Deactivated,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Invited,
        Status::Pending,
        Status::Active,
        Status::Deactivated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Invited => "invited",
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Deactivated => "deactivated",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The kinds of tag a person carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Skill,
    Interest,
    Sport,
    Language,
}

impl TagKind {
    pub const ALL: [TagKind; 4] = [
        TagKind::Skill,
        TagKind::Interest,
        TagKind::Sport,
        TagKind::Language,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Skill => "skill",
            TagKind::Interest => "interest",
            TagKind::Sport => "sport",
            TagKind::Language => "language",
        }
    }
}

/// The kind of a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    Home,
    Work,
}

impl PhoneKind {
    pub const ALL: [PhoneKind; 3] = [PhoneKind::Mobile, PhoneKind::Home, PhoneKind::Work];

    pub fn as_str(self) -> &'static str {
        match self {
            PhoneKind::Mobile => "mobile",
            PhoneKind::Home => "home",
            PhoneKind::Work => "work",
        }
    }

    pub fn parse(s: &str) -> Option<PhoneKind> {
        PhoneKind::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The contact channel a person prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|x| x.as_str() == s)
    }
}
