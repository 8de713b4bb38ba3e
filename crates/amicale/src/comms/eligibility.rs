//! Consent and eligibility: one function decides, for a recipient and a
//! channel, whether a message may go and, if not, why. [`crate::compose`]
//! asks it for every send and every preview (campaign, person page, event
//! page, automatic rule, file), so the "N of M will receive it" of each
//! screen and what the workers are given always agree.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::comms::context::PersonData;
use crate::error::AppResult;
use amicale_delivery::suppressions::normalise;
use amicale_kernel::SendChannel;
use amicale_store::entities::{suppressions, unsubscriptions};

/// Why a recipient does not receive a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exclusion {
    Deactivated,
    NoEmail,
    EmailNotAccepted,
    NoPhone,
    SmsNotAccepted,
    Unsubscribed,
    HardBounced,
    NotReferent,
}

impl Exclusion {
    pub const ALL: [Exclusion; 8] = [
        Exclusion::Deactivated,
        Exclusion::NoEmail,
        Exclusion::EmailNotAccepted,
        Exclusion::NoPhone,
        Exclusion::SmsNotAccepted,
        Exclusion::Unsubscribed,
        Exclusion::HardBounced,
        Exclusion::NotReferent,
    ];

    /// Stable code: stored on sends and rule deliveries, suffix of the
    /// locale key `exclusion-…`, printed by `amicale rules dry-run`.
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::Deactivated => "deactivated",
            Exclusion::NoEmail => "no_email",
            Exclusion::EmailNotAccepted => "email_not_accepted",
            Exclusion::NoPhone => "no_phone",
            Exclusion::SmsNotAccepted => "sms_not_accepted",
            Exclusion::Unsubscribed => "unsubscribed",
            Exclusion::HardBounced => "hard_bounced",
            Exclusion::NotReferent => "not_referent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// The unsubscribe categories: a person may stop one kind of message and
/// keep the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Reminders and messages about events (automatic rules, event page).
    Events,
    /// Campaigns.
    Campaigns,
    /// Partner mailings.
    Mailings,
    /// Messages from a staff member about one's own follow-up.
    FollowUp,
}

impl Category {
    pub const ALL: [Category; 4] = [
        Category::Events,
        Category::Campaigns,
        Category::Mailings,
        Category::FollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Events => "events",
            Category::Campaigns => "campaigns",
            Category::Mailings => "mailings",
            Category::FollowUp => "follow_up",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What the decision needs to know about one person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub deactivated: bool,
    /// The reference e-mail and whether it accepts e-mails.
    pub email: Option<(String, bool)>,
    /// The principal phone and whether it accepts contact.
    pub phone: Option<(String, bool)>,
    /// The person's SMS consent (JG: "accepts to be contacted by SMS").
    pub sms_consent: bool,
    /// A contact of an organisation that has another referent.
    pub not_referent: bool,
    /// Categories the address unsubscribed from.
    pub unsubscribed: HashSet<String>,
    pub hard_bounced: bool,
}

/// The decision: the address (e-mail or E.164 number) to send to, or why not.
pub fn decide(f: &Facts, channel: SendChannel, category: Category) -> Result<String, Exclusion> {
    if f.deactivated {
        return Err(Exclusion::Deactivated);
    }
    if f.not_referent {
        return Err(Exclusion::NotReferent);
    }
    let address = if channel.is_email() {
        let Some((address, accepts)) = &f.email else {
            return Err(Exclusion::NoEmail);
        };
        if !accepts {
            return Err(Exclusion::EmailNotAccepted);
        }
        address.clone()
    } else {
        let Some((number, accepts)) = &f.phone else {
            return Err(Exclusion::NoPhone);
        };
        if !accepts || !f.sms_consent {
            return Err(Exclusion::SmsNotAccepted);
        }
        number.clone()
    };
    if f.unsubscribed.contains(category.as_str()) {
        return Err(Exclusion::Unsubscribed);
    }
    if f.hard_bounced {
        return Err(Exclusion::HardBounced);
    }
    Ok(address)
}

/// The facts of persons whose record the sender already loaded for the
/// merge data: only suppressions and unsubscriptions are read here.
pub async fn facts_of<C: ConnectionTrait>(
    db: &C,
    data: &HashMap<i64, PersonData>,
) -> AppResult<HashMap<i64, Facts>> {
    let mut out: HashMap<i64, Facts> = HashMap::with_capacity(data.len());
    for (id, d) in data {
        let Some(p) = &d.person else { continue };
        // An organisation with a referent is written to through them only;
        // without one, each of its contacts may be.
        let not_referent =
            p.recipient_type == "partner_contact" && d.org_referent.is_some_and(|r| r != p.id);
        out.insert(
            *id,
            Facts {
                deactivated: p.status == "deactivated",
                email: (!d.email.is_empty()).then(|| (d.email.clone(), d.email_accepts)),
                phone: d.principal.clone(),
                sms_consent: p.sms_consent,
                not_referent,
                ..Default::default()
            },
        );
    }
    let addresses: Vec<String> = out
        .values()
        .filter_map(|f| f.email.as_ref().map(|(a, _)| normalise(a)))
        .collect();
    let (bounced, mut unsub) = address_facts(db, &addresses).await?;
    for f in out.values_mut() {
        if let Some((a, _)) = &f.email {
            let key = normalise(a);
            f.hard_bounced = bounced.contains(&key);
            if let Some(cats) = unsub.remove(&key) {
                f.unsubscribed = cats;
            }
        }
    }
    Ok(out)
}

/// Which of `addresses` (normalised) are suppressed (hard bounce,
/// complaint), and the categories each unsubscribed from.
async fn address_facts<C: ConnectionTrait>(
    db: &C,
    addresses: &[String],
) -> AppResult<(HashSet<String>, HashMap<String, HashSet<String>>)> {
    let mut bounced: HashSet<String> = HashSet::new();
    let mut unsub: HashMap<String, HashSet<String>> = HashMap::new();
    for chunk in addresses.chunks(500) {
        bounced.extend(
            suppressions::Entity::find()
                .filter(suppressions::Column::Address.is_in(chunk.to_vec()))
                .all(db)
                .await?
                .into_iter()
                .map(|s| s.address),
        );
        for u in unsubscriptions::Entity::find()
            .filter(unsubscriptions::Column::Address.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            unsub.entry(u.address).or_default().insert(u.category);
        }
    }
    Ok((bounced, unsub))
}

/// The facts of recipients known only by their e-mail address (a CSV file,
/// a partner's list), by address: whether they unsubscribed and whether the
/// address is suppressed; nothing else is known, so nothing else decides.
pub async fn facts_of_addresses<C: ConnectionTrait>(
    db: &C,
    addresses: &[String],
) -> AppResult<HashMap<String, Facts>> {
    let keys: Vec<String> = addresses.iter().map(|a| normalise(a)).collect();
    let (bounced, unsub) = address_facts(db, &keys).await?;
    Ok(addresses
        .iter()
        .zip(&keys)
        .map(|(address, key)| {
            let facts = Facts {
                email: Some((address.clone(), true)),
                unsubscribed: unsub.get(key).cloned().unwrap_or_default(),
                hard_bounced: bounced.contains(key),
                ..Default::default()
            };
            (address.clone(), facts)
        })
        .collect())
}

/// "N of M will receive it", and the excluded counted by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub targeted: usize,
    pub eligible: usize,
    pub excluded: Vec<(Exclusion, usize)>,
}

pub fn summarise<'a>(
    decisions: impl IntoIterator<Item = &'a Result<String, Exclusion>>,
) -> Summary {
    let mut s = Summary::default();
    let mut by: HashMap<Exclusion, usize> = HashMap::new();
    for d in decisions {
        s.targeted += 1;
        match d {
            Ok(_) => s.eligible += 1,
            Err(e) => *by.entry(*e).or_default() += 1,
        }
    }
    s.excluded = by.into_iter().collect();
    s.excluded.sort();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> Facts {
        Facts {
            email: Some(("a@example.org".into(), true)),
            phone: Some(("+33612345678".into(), true)),
            sms_consent: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_consenting_person_receives_both_channels() {
        assert_eq!(
            decide(&ok(), SendChannel::Email, Category::Events),
            Ok("a@example.org".into())
        );
        assert_eq!(
            decide(&ok(), SendChannel::Sms, Category::Events),
            Ok("+33612345678".into())
        );
    }

    #[test]
    fn each_reason_is_told() {
        let cases: Vec<(Facts, SendChannel, Exclusion)> = vec![
            (
                Facts {
                    deactivated: true,
                    ..ok()
                },
                SendChannel::Email,
                Exclusion::Deactivated,
            ),
            (
                Facts {
                    email: None,
                    ..ok()
                },
                SendChannel::Email,
                Exclusion::NoEmail,
            ),
            (
                Facts {
                    email: Some(("a@example.org".into(), false)),
                    ..ok()
                },
                SendChannel::Newsletter,
                Exclusion::EmailNotAccepted,
            ),
            (
                Facts {
                    phone: None,
                    ..ok()
                },
                SendChannel::Sms,
                Exclusion::NoPhone,
            ),
            (
                Facts {
                    sms_consent: false,
                    ..ok()
                },
                SendChannel::Sms,
                Exclusion::SmsNotAccepted,
            ),
            (
                Facts {
                    phone: Some(("+33612345678".into(), false)),
                    ..ok()
                },
                SendChannel::Sms,
                Exclusion::SmsNotAccepted,
            ),
            (
                Facts {
                    unsubscribed: ["events".to_string()].into(),
                    ..ok()
                },
                SendChannel::Email,
                Exclusion::Unsubscribed,
            ),
            (
                Facts {
                    hard_bounced: true,
                    ..ok()
                },
                SendChannel::Email,
                Exclusion::HardBounced,
            ),
            (
                Facts {
                    not_referent: true,
                    ..ok()
                },
                SendChannel::Email,
                Exclusion::NotReferent,
            ),
        ];
        for (f, ch, want) in cases {
            assert_eq!(decide(&f, ch, Category::Events), Err(want), "{f:?}");
        }
    }

    #[test]
    fn unsubscribing_is_per_category() {
        let f = Facts {
            unsubscribed: ["campaigns".to_string()].into(),
            ..ok()
        };
        assert!(decide(&f, SendChannel::Email, Category::Events).is_ok());
        assert_eq!(
            decide(&f, SendChannel::Email, Category::Campaigns),
            Err(Exclusion::Unsubscribed)
        );
    }

    #[test]
    fn summaries_count_by_reason() {
        let d = [
            Ok("a".to_string()),
            Err(Exclusion::NoEmail),
            Err(Exclusion::NoEmail),
            Err(Exclusion::HardBounced),
        ];
        let s = summarise(&d);
        assert_eq!((s.targeted, s.eligible), (4, 1));
        assert_eq!(
            s.excluded,
            vec![(Exclusion::NoEmail, 2), (Exclusion::HardBounced, 1)]
        );
    }

    #[test]
    fn codes_round_trip() {
        for e in Exclusion::ALL {
            assert_eq!(Exclusion::parse(e.as_str()), Some(e));
        }
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
    }
}
