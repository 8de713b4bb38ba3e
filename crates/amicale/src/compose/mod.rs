//! The one path every send takes: an [`Audience`] says who may receive it,
//! eligibility decides who does and at which address, the merge data is
//! composed the same way for everyone, and the messages are appended to the
//! outbox. Campaigns, automatic rules, person and event page sends and
//! `amicale send` differ only by their audience; a new kind of send
//! (partner mailings, job alerts, digests, survey reminders) is a new
//! audience and nothing else.
//!
//! No other module appends recipients to a send or writes their rows to the
//! outbox: what a screen announces ("N of M will receive it"), what a dry
//! run shows and what the workers are given are computed here alike.

mod addresses;
mod people;
mod persons;

use std::collections::BTreeSet;
use std::future::Future;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::comms::context::{self, PersonData};
use crate::comms::eligibility::{self, Category, Exclusion, Facts};
use crate::error::{AppError, AppResult};
use amicale_delivery::outbox::{Channel, Origin};
use amicale_delivery::sends;
use amicale_delivery::sms::pricing::Pricer;
use amicale_delivery::templates::model::TemplateKind;
use amicale_kernel::Locale;
use amicale_kernel::SendChannel;
use amicale_store::entities::{template_versions, templates, users};

pub use addresses::Addresses;
pub use people::People;
pub use persons::Persons;

/// Who a send goes to, and what each recipient brings to the merge data
/// beyond the network, the sender and their own person record.
///
/// Compose calls, for each send: [`Audience::members`] once, then per slice
/// of [`Audience::SLICE`] members [`Audience::prepare`], then for each
/// member [`Audience::recipient`] and [`Audience::fill`], and, in the
/// transaction that queues the slice, [`Audience::claim`].
pub trait Audience: Send {
    /// One recipient as the audience knows them: a person's id, a
    /// participation, a line of a file.
    type Member: Send + Sync;

    /// Members queued per transaction: a large send commits as it goes and
    /// never holds all its rows at once. `usize::MAX` queues everything or
    /// nothing.
    const SLICE: usize = 1000;

    /// The unsubscribe category of the messages: what a recipient's
    /// unsubscribing from refuses, and what their signed link stops.
    fn category(&self) -> Category;

    /// Everyone the send would reach, before eligibility, in the order of
    /// the messages. Asked once per send or preview: an audience may hand
    /// its members over rather than copy them.
    fn members(
        &mut self,
        state: &AppState,
    ) -> impl Future<Output = AppResult<Vec<Self::Member>>> + Send;

    /// Loads in bulk what `recipient` and `fill` read for these members;
    /// `wants` tells which namespaces the template reads, so nothing else
    /// needs loading.
    fn prepare(
        &mut self,
        state: &AppState,
        slice: &[Self::Member],
        wants: Wants<'_>,
    ) -> impl Future<Output = AppResult<()>> + Send;

    /// Whose consent decides and whose record fills `person.*`; `None` for
    /// a member that no longer exists (left out, without a reason).
    fn recipient(&self, m: &Self::Member) -> Option<Recipient<'_>>;

    /// Adds the member's own namespaces to `root` (`event.*`,
    /// `participant.*`…), which already holds the network, the sender and
    /// the person.
    fn fill(
        &self,
        _state: &AppState,
        _m: &Self::Member,
        _locale: Locale,
        _root: &mut Map<String, Value>,
        _wants: Wants<'_>,
    ) {
    }

    /// In the transaction that queues a slice, before its messages are
    /// written: one flag per composed member, in order, saying whether it is
    /// queued now. Automatic rules claim each participation here so that no
    /// second run or node sends it again; the default keeps everyone.
    fn claim(
        &mut self,
        _txn: &DatabaseTransaction,
        slice: &[(&Self::Member, Composed)],
    ) -> impl Future<Output = AppResult<Vec<bool>>> + Send {
        let n = slice.len();
        async move { Ok(vec![true; n]) }
    }
}

/// The top-level names of the merge data a template reads; all of them
/// when its text could not be read.
#[derive(Debug, Clone, Copy)]
pub struct Wants<'a>(Option<&'a BTreeSet<String>>);

impl Wants<'_> {
    pub fn get(&self, name: &str) -> bool {
        self.0.is_none_or(|r| r.contains(name))
    }
}

/// One recipient as eligibility sees them.
pub struct Recipient<'a> {
    person: Option<(i64, &'a PersonData)>,
    facts: &'a Facts,
    locale: Option<Locale>,
    event: Option<i64>,
}

impl<'a> Recipient<'a> {
    /// A person of the network: their record, their consent, their language.
    pub fn person(id: i64, data: &'a PersonData, facts: &'a Facts) -> Self {
        Recipient {
            person: Some((id, data)),
            facts,
            locale: data.locale,
            event: None,
        }
    }

    /// An address known only by itself (a line of a file): only what was
    /// recorded against the address (unsubscribing, a hard bounce) decides.
    pub fn address(facts: &'a Facts, locale: Locale) -> Self {
        Recipient {
            person: None,
            facts,
            locale: Some(locale),
            event: None,
        }
    }

    /// The message concerns this event: it shows in the event's history.
    pub fn about(mut self, event: i64) -> Self {
        self.event = Some(event);
        self
    }

    fn name(&self) -> String {
        match self.person.and_then(|(_, d)| d.person.as_ref()) {
            Some(p) => format!("{} {}", p.first_name, p.last_name),
            None => self
                .facts
                .email
                .as_ref()
                .map(|(a, _)| a.clone())
                .unwrap_or_default(),
        }
    }
}

/// One member's message, decided and composed.
#[derive(Debug, Clone)]
pub struct Composed {
    pub person: Option<i64>,
    pub event: Option<i64>,
    /// "First Last", or the address; filled for previews and plans only.
    pub name: String,
    /// The address (e-mail or E.164 number) it goes to, or why it does not.
    pub decision: Result<String, Exclusion>,
    /// `Null` when it was not needed (a preview, an excluded recipient of
    /// a real send).
    pub merge_data: Value,
    pub locale: Locale,
}

/// Where the messages of a send are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRow {
    /// A new send, created with its first messages: a send refused whole
    /// leaves none behind.
    Open,
    /// A send opened earlier ([`open`]), which a campaign resumes.
    Existing(i64),
    /// No send: each message stands on its own (an automatic rule's
    /// messages are followed by their claims, not paused as one send).
    Absent,
}

/// What one send is, whoever receives it.
pub struct Letter<'a> {
    pub label: String,
    pub origin: Origin,
    pub origin_id: Option<i64>,
    pub channel: SendChannel,
    pub kind: TemplateKind,
    /// Frozen when the first messages are queued: what was sent stays
    /// viewable.
    pub version: &'a template_versions::Model,
    /// The sender identity of e-mails; SMS have none.
    pub identity_id: Option<i64>,
    /// Manual mails: CC and BCC, as stored.
    pub copies: Option<String>,
    /// The staff member who signs (`sender.*`); the network itself when
    /// `None` (automatic sends).
    pub sender: Option<&'a users::Model>,
    /// Who owns the send (shown on its report).
    pub created_by: Option<i64>,
    /// Not delivered before this instant (the nightly batch).
    pub due: DateTime<Utc>,
    pub row: SendRow,
}

impl<'a> Letter<'a> {
    /// A new send of `version` of `template`, due now, signed by the
    /// network, with the sender identity and copies left to the defaults.
    pub fn new(
        label: String,
        origin: Origin,
        origin_id: Option<i64>,
        channel: SendChannel,
        template: &templates::Model,
        version: &'a template_versions::Model,
    ) -> Self {
        Letter {
            label,
            origin,
            origin_id,
            channel,
            kind: TemplateKind::of(template),
            version,
            identity_id: None,
            copies: None,
            sender: None,
            created_by: None,
            due: Utc::now(),
            row: SendRow::Open,
        }
    }

    /// Signed by this staff member, who owns the send.
    pub fn signed_by(mut self, user: Option<&'a users::Model>) -> Self {
        self.sender = user;
        self.created_by = user.map(|u| u.id);
        self
    }
}

/// What a send queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub send: Option<i64>,
    pub queued: usize,
    /// Members eligibility left out (recorded with the send's exclusions,
    /// or by the audience's claim).
    pub excluded: usize,
}

/// A send that stopped partway (the SMS credit ran out, the database
/// failed): the slices queued before stay queued.
#[derive(Debug)]
pub struct Halted {
    pub error: AppError,
    pub done: Outcome,
}

impl From<Halted> for AppError {
    fn from(h: Halted) -> AppError {
        h.error
    }
}

/// Opens the send a letter will be queued into, before any message: a
/// campaign records it first, so an interrupted launch resumes into it.
pub async fn open<C: ConnectionTrait>(db: &C, letter: &Letter<'_>) -> AppResult<i64> {
    sends::open(
        db,
        &letter.label,
        letter.origin,
        letter.origin_id,
        letter.created_by,
    )
    .await
}

/// Who would receive a message on `channel` and who would not, and why;
/// no merge data is built. What a send screen shows before sending.
pub async fn preview<A: Audience>(
    state: &AppState,
    audience: &mut A,
    channel: SendChannel,
) -> AppResult<Vec<(A::Member, Composed)>> {
    let build = Build {
        state,
        channel,
        category: audience.category(),
        common: Map::new(),
        // A preview reads no merge data at all.
        roots: Some(BTreeSet::new()),
    };
    every(&build, audience, Merge::Never).await
}

/// Every member's message as it would be queued, excluded ones included,
/// with its merge data; writes nothing. Dry runs and tests of a send.
pub async fn plan<A: Audience>(
    state: &AppState,
    audience: &mut A,
    letter: &Letter<'_>,
) -> AppResult<Vec<(A::Member, Composed)>> {
    let build = Build::new(state, letter, audience.category());
    every(&build, audience, Merge::Always).await
}

async fn every<A: Audience>(
    build: &Build<'_>,
    audience: &mut A,
    merge: Merge,
) -> AppResult<Vec<(A::Member, Composed)>> {
    let members = audience.members(build.state).await?;
    let mut composed = Vec::with_capacity(members.len());
    for slice in members.chunks(A::SLICE) {
        audience.prepare(build.state, slice, build.wants()).await?;
        composed.extend(slice.iter().map(|m| build.compose(audience, m, merge)));
    }
    Ok(members
        .into_iter()
        .zip(composed)
        .filter_map(|(m, c)| c.map(|c| (m, c)))
        .collect())
}

/// Queues a letter to an audience: eligibility, merge data, SMS segments,
/// then, a slice per transaction, the audience's claim and the messages
/// with the exclusions. Workers are woken after each slice.
pub async fn send<A: Audience>(
    state: &AppState,
    audience: &mut A,
    letter: &Letter<'_>,
) -> Result<Outcome, Halted> {
    let mut done = Outcome {
        send: match letter.row {
            SendRow::Existing(id) => Some(id),
            SendRow::Open | SendRow::Absent => None,
        },
        ..Outcome::default()
    };
    match queue(state, audience, letter, &mut done).await {
        Ok(()) => Ok(done),
        Err(error) => Err(Halted { error, done }),
    }
}

async fn queue<A: Audience>(
    state: &AppState,
    audience: &mut A,
    letter: &Letter<'_>,
    done: &mut Outcome,
) -> AppResult<()> {
    let build = Build::new(state, letter, audience.category());
    let members = audience.members(state).await?;
    let mut pricer = match letter.channel.outbox() {
        Channel::Sms => Some(
            Pricer::new(state)
                .await?
                .ok_or_else(|| AppError::Internal("no SMS account is configured".into()))?,
        ),
        Channel::Email => None,
    };
    // A new send is created even when nobody is in it: the page that asked
    // for it then shows its (empty) report.
    let empty: &[A::Member] = &[];
    let slices: Vec<&[A::Member]> = if members.is_empty() && letter.row == SendRow::Open {
        vec![empty]
    } else {
        members.chunks(A::SLICE).collect()
    };
    for slice in slices {
        audience.prepare(state, slice, build.wants()).await?;
        let composed: Vec<(&A::Member, Composed)> = slice
            .iter()
            .filter_map(|m| build.compose(audience, m, Merge::Eligible).map(|c| (m, c)))
            .collect();
        // Segments are counted before the transaction: rendering is CPU work.
        let mut segments = Vec::with_capacity(composed.len());
        for (_, c) in &composed {
            segments.push(match (pricer.as_mut(), &c.decision) {
                (Some(p), Ok(_)) => Some(
                    p.segments(state, letter.version.id, &c.merge_data, c.locale)
                        .await?,
                ),
                _ => None,
            });
        }
        let txn = state.db.begin().await?;
        let keep = audience.claim(&txn, &composed).await?;
        let send = match (done.send, letter.row) {
            (Some(id), _) => Some(id),
            (None, SendRow::Open) => Some(open(&txn, letter).await?),
            (None, _) => None,
        };
        let mut recipients = Vec::with_capacity(composed.len());
        let mut exclusions = Vec::new();
        let mut excluded = 0;
        for (((_, c), segments), keep) in composed.into_iter().zip(segments).zip(keep) {
            if !keep {
                continue;
            }
            match c.decision {
                Ok(address) => recipients.push(sends::Recipient {
                    address,
                    merge_data: c.merge_data,
                    locale: c.locale.code(),
                    person_id: c.person,
                    event_id: c.event,
                    segments,
                }),
                Err(why) => {
                    excluded += 1;
                    if let (Some(person), Some(_)) = (c.person, send) {
                        exclusions.push((person, why.as_str()));
                    }
                }
            }
        }
        let queued = recipients.len();
        // Messages without a send and nothing to queue: no statement at all
        // (a rule whose participations were all served by another node).
        if send.is_some() || queued > 0 {
            let part = sends::Part {
                send,
                origin: letter.origin,
                origin_id: letter.origin_id,
                channel: letter.channel.outbox(),
                template_version_id: letter.version.id,
                identity_id: letter.identity_id.filter(|_| letter.channel.is_email()),
                copies: letter.copies.clone(),
                mail_domain: state.mail_from.email.domain(),
                due: letter.due,
            };
            sends::append(&txn, &part, recipients, &exclusions).await?;
        }
        txn.commit().await?;
        done.send = send;
        done.queued += queued;
        done.excluded += excluded;
        if queued > 0 {
            state.outbox_wakeup.notify_waiters();
        }
    }
    Ok(())
}

/// Which merge data to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// None: a preview.
    Never,
    /// For those who receive the message: a real send.
    Eligible,
    /// For everyone, with their name: a dry run shows what the excluded
    /// would have received too.
    Always,
}

/// What composing every message of one letter shares.
struct Build<'a> {
    state: &'a AppState,
    channel: SendChannel,
    category: Category,
    /// The network and the sender, every field of the catalogue present:
    /// the same for every recipient, built once.
    common: Map<String, Value>,
    /// The names the template reads (`None`: all).
    roots: Option<BTreeSet<String>>,
}

impl<'a> Build<'a> {
    fn new(state: &'a AppState, letter: &Letter<'_>, category: Category) -> Self {
        let roots = context::roots_of(state, letter.kind, letter.version);
        let mut common = context::common(state, letter.sender);
        // Pruned once here, so each recipient's copy holds only what the
        // template reads.
        context::prune(&mut common, roots.as_ref());
        Build {
            state,
            channel: letter.channel,
            category,
            common,
            roots,
        }
    }

    fn wants(&self) -> Wants<'_> {
        Wants(self.roots.as_ref())
    }

    fn compose<A: Audience>(&self, audience: &A, m: &A::Member, merge: Merge) -> Option<Composed> {
        let r = audience.recipient(m)?;
        let decision = eligibility::decide(r.facts, self.channel, self.category);
        let locale = r.locale.unwrap_or(self.state.default_locale);
        let build = match merge {
            Merge::Never => false,
            Merge::Eligible => decision.is_ok(),
            Merge::Always => true,
        };
        let merge_data = if build {
            let mut root = self.common.clone();
            if let Some((_, d)) = r.person
                && let Some(Value::Object(pn)) = root.get_mut("person")
            {
                d.fill(pn);
            }
            audience.fill(self.state, m, locale, &mut root, self.wants());
            // Only a recipient who receives the message gets a link: it is
            // signed for their address.
            if let Ok(address) = &decision {
                root.insert(
                    "unsubscribe_url".into(),
                    Value::from(context::unsubscribe_url(self.state, address, self.category)),
                );
            }
            context::prune(&mut root, self.roots.as_ref());
            Value::Object(root)
        } else {
            Value::Null
        };
        Some(Composed {
            person: r.person.map(|(id, _)| id),
            event: r.event,
            name: if merge == Merge::Eligible {
                String::new()
            } else {
                r.name()
            },
            decision,
            merge_data,
            locale,
        })
    }
}
