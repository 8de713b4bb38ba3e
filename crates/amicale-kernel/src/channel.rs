//! Closed sets of stored codes, and the channels a message travels by.

/// Declares a closed set of stable codes (stored in the database, posted
/// by forms, used as locale key suffixes).
#[macro_export]
macro_rules! codes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }

        $crate::codes_impl!($name { $($v = $s),+ });
    };
}

/// The list, text and parsing of a set of codes declared elsewhere (by
/// [`codes!`], or by the store's stored codes).
#[macro_export]
macro_rules! codes_impl {
    ($name:ident { $($v:ident = $s:literal),+ }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}

codes!(
    /// The channel of a rule, a campaign or a direct send.
    SendChannel { Email = "email", Newsletter = "newsletter", Sms = "sms" }
);

impl SendChannel {
    pub fn is_email(self) -> bool {
        !matches!(self, SendChannel::Sms)
    }

    /// The outbox channel that delivers it.
    pub fn outbox(self) -> Channel {
        if self.is_email() {
            Channel::Email
        } else {
            Channel::Sms
        }
    }
}

/// How the outbox delivers a message. With the `sea-orm` feature (the
/// store's) it is also the type of the stored column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "sea-orm",
    derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum),
    sea_orm(rs_type = "String", db_type = "Text")
)]
pub enum Channel {
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "email"))]
    Email,
    #[cfg_attr(feature = "sea-orm", sea_orm(string_value = "sms"))]
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}
