//! Reading and writing the person record with its child rows. Every write
//! recomputes the searchable text in the same transaction, so the index of
//! either backend never lags behind the record.

use std::collections::HashMap;

use amicale_people::{CommunityRole, Email, Phone, PromoYear, Text, check_line, fold, name_key};
use chrono::{NaiveDate, Utc};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::{AppError, AppResult};
use crate::people::model::{Channel, PhoneKind, Status, TagKind};
use crate::people::search_document::{Doc, sort_key};
use amicale_delivery::templates::model::RecipientType;
use amicale_store::entities::{
    group_members, organisations, person_addresses, person_education, person_emails,
    person_experiences, person_phones, person_roles, person_tags, persons, programmes,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailEntry {
    pub email: Email,
    pub accepts: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneEntry {
    pub phone: Phone,
    pub kind: PhoneKind,
    pub principal: bool,
    pub accepts_contact: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressEntry {
    pub line1: String,
    pub line2: Option<String>,
    pub postcode: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Education {
    pub establishment: String,
    pub programme_id: Option<i64>,
    pub cursus: String,
    pub campus: String,
    pub promo_year: Option<PromoYear>,
    pub diploma: String,
    pub discipline: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Experience {
    pub company: String,
    pub organisation_id: Option<i64>,
    pub title: String,
    pub sector: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

/// A person as entered, every value already parsed. The first e-mail, the
/// first address are the reference ones; the principal phone is marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonInput {
    pub civility: String,
    pub first_name: String,
    pub last_name: String,
    pub emails: Vec<EmailEntry>,
    pub phones: Vec<PhoneEntry>,
    pub addresses: Vec<AddressEntry>,
    pub birth_date: Option<NaiveDate>,
    pub nationality: Option<String>,
    pub city: String,
    pub country: String,
    pub promo_year: Option<PromoYear>,
    pub programme_id: Option<i64>,
    pub organisation_id: Option<i64>,
    pub job_title: Option<String>,
    pub roles: Vec<(CommunityRole, Option<i64>)>,
    pub education: Vec<Education>,
    pub experiences: Vec<Experience>,
    pub tags: Vec<(TagKind, String)>,
    pub external_ref: Option<String>,
    pub site: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub gdpr_consent: bool,
    pub sms_consent: bool,
    pub notes: Option<String>,
    pub referent_user_id: Option<i64>,
    pub status: Status,
    /// Who the person is to the sending modes: member, beneficiary…
    pub recipient_type: RecipientType,
}

impl PersonInput {
    pub fn new(first_name: &str, last_name: &str) -> Self {
        PersonInput {
            civility: String::new(),
            first_name: first_name.trim().to_owned(),
            last_name: last_name.trim().to_owned(),
            emails: Vec::new(),
            phones: Vec::new(),
            addresses: Vec::new(),
            birth_date: None,
            nationality: None,
            city: String::new(),
            country: String::new(),
            promo_year: None,
            programme_id: None,
            organisation_id: None,
            job_title: None,
            roles: Vec::new(),
            education: Vec::new(),
            experiences: Vec::new(),
            tags: Vec::new(),
            external_ref: None,
            site: None,
            preferred_channel: None,
            gdpr_consent: false,
            sms_consent: false,
            notes: None,
            referent_user_id: None,
            status: Status::Active,
            recipient_type: RecipientType::Member,
        }
    }
}

impl PersonInput {
    /// The first text field that holds a control character, by form field
    /// name. Every way into the store (CRM form, import, registration,
    /// merges) passes here, so a name with a CR cannot reach a message
    /// header, a merge field or an export whatever path it took; the forms
    /// check the same thing first to show the field's error.
    pub fn control_char_field(&self) -> Option<&'static str> {
        fn opt(v: &Option<String>) -> &str {
            v.as_deref().unwrap_or("")
        }
        let mut lines: Vec<(&'static str, &str)> = vec![
            ("civility", &self.civility),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("city", &self.city),
            ("country", &self.country),
            ("nationality", opt(&self.nationality)),
            ("job_title", opt(&self.job_title)),
            ("external_ref", opt(&self.external_ref)),
            ("site", opt(&self.site)),
        ];
        for a in &self.addresses {
            lines.extend([
                ("line1", a.line1.as_str()),
                ("line2", opt(&a.line2)),
                ("postcode", &a.postcode),
                ("city", &a.city),
                ("country", &a.country),
            ]);
        }
        for e in &self.education {
            lines.extend([
                ("establishment", e.establishment.as_str()),
                ("cursus", &e.cursus),
                ("campus", &e.campus),
                ("diploma", &e.diploma),
                ("discipline", &e.discipline),
            ]);
        }
        for x in &self.experiences {
            lines.extend([
                ("company", x.company.as_str()),
                ("job_title", &x.title),
                ("sector", &x.sector),
            ]);
        }
        for (kind, value) in &self.tags {
            lines.push((kind.as_str(), value));
        }
        if let Some((field, _)) = lines.iter().find(|(_, v)| check_line(v).is_err()) {
            return Some(field);
        }
        // Notes may span lines; CRLF as a browser sends it is a line end.
        self.notes
            .as_deref()
            .is_some_and(|n| Text::parse(n).is_err())
            .then_some("notes")
    }

    fn check(&self) -> AppResult<()> {
        match self.control_char_field() {
            Some(field) => Err(AppError::Rejected(format!(
                "control character in person field {field}"
            ))),
            None => Ok(()),
        }
    }
}

/// The whole record of one person.
#[derive(Debug, Clone)]
pub struct Record {
    pub person: persons::Model,
    pub emails: Vec<person_emails::Model>,
    pub phones: Vec<person_phones::Model>,
    pub addresses: Vec<person_addresses::Model>,
    pub education: Vec<person_education::Model>,
    pub experiences: Vec<person_experiences::Model>,
    pub tags: Vec<person_tags::Model>,
    pub roles: Vec<person_roles::Model>,
}

impl Record {
    pub fn tags_of(&self, kind: TagKind) -> Vec<&str> {
        self.tags
            .iter()
            .filter(|t| t.kind == kind.as_str())
            .map(|t| t.value.as_str())
            .collect()
    }
}

/// Names of programmes and organisations, which the searchable text holds.
#[derive(Debug, Default)]
pub struct Names {
    pub programmes: HashMap<i64, String>,
    pub organisations: HashMap<i64, String>,
}

impl Names {
    pub async fn load<C: ConnectionTrait>(db: &C) -> AppResult<Names> {
        Ok(Names {
            programmes: programmes::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            organisations: organisations::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect(),
        })
    }
}

fn document(p: &PersonInput, names: &Names) -> String {
    let mut doc = Doc {
        first_name: &p.first_name,
        last_name: &p.last_name,
        emails: p.emails.iter().map(|e| e.email.as_str()).collect(),
        city: &p.city,
        country: &p.country,
        nationality: p.nationality.as_deref().unwrap_or(""),
        job_title: p.job_title.as_deref().unwrap_or(""),
        site: p.site.as_deref().unwrap_or(""),
        external_ref: p.external_ref.as_deref().unwrap_or(""),
        ..Default::default()
    };
    doc.promo_years.extend(p.promo_year.map(|y| y.get()));
    let programme_name = |id: &i64| names.programmes.get(id).map(String::as_str);
    doc.programmes
        .extend(p.programme_id.as_ref().and_then(programme_name));
    for (_, prog) in &p.roles {
        doc.programmes
            .extend(prog.as_ref().and_then(programme_name));
    }
    for e in &p.education {
        doc.establishments.push(&e.establishment);
        doc.disciplines.push(&e.discipline);
        doc.programmes.push(&e.cursus);
        doc.programmes
            .extend(e.programme_id.as_ref().and_then(programme_name));
        doc.promo_years.extend(e.promo_year.map(|y| y.get()));
    }
    if let Some(org) = p.organisation_id {
        doc.partner_ids.push(org);
        doc.companies
            .extend(names.organisations.get(&org).map(String::as_str));
    }
    for x in &p.experiences {
        doc.companies.push(&x.company);
        doc.sectors.push(&x.sector);
        if let Some(org) = x.organisation_id {
            doc.partner_ids.push(org);
            doc.companies
                .extend(names.organisations.get(&org).map(String::as_str));
        }
    }
    for (kind, v) in &p.tags {
        match kind {
            TagKind::Skill => doc.skills.push(v),
            TagKind::Interest => doc.interests.push(v),
            TagKind::Sport => doc.sports.push(v),
            TagKind::Language => doc.languages.push(v),
        }
    }
    doc.promo_years.sort_unstable();
    doc.promo_years.dedup();
    doc.partner_ids.sort_unstable();
    doc.partner_ids.dedup();
    doc.search_text()
}

fn person_row(p: &PersonInput, names: &Names) -> persons::ActiveModel {
    let now = Utc::now();
    persons::ActiveModel {
        id: NotSet,
        civility: Set(p.civility.clone()),
        first_name: Set(p.first_name.clone()),
        last_name: Set(p.last_name.clone()),
        email: Set(p.emails.first().map(|e| e.email.as_str().to_owned())),
        city: Set(p.city.clone()),
        country: Set(p.country.clone()),
        promo_year: Set(p.promo_year.map(|y| y.get())),
        programme_id: Set(p.programme_id),
        organisation_id: Set(p.organisation_id),
        job_title: Set(p.job_title.clone()),
        created_at: Set(now),
        status: Set(p.status.as_str().to_owned()),
        birth_date: Set(p.birth_date),
        nationality: Set(p.nationality.clone()),
        site: Set(p.site.clone()),
        external_ref: Set(p.external_ref.clone()),
        preferred_channel: Set(p.preferred_channel.map(|c| c.as_str().to_owned())),
        gdpr_consent: Set(p.gdpr_consent),
        sms_consent: Set(p.sms_consent),
        notes: Set(p.notes.clone()),
        referent_user_id: Set(p.referent_user_id),
        user_id: NotSet,
        invitations_stop: NotSet,
        search_text: Set(document(p, names)),
        name_key: Set(name_key(&p.first_name, &p.last_name)),
        sort_key: Set(sort_key(&p.first_name, &p.last_name)),
        updated_at: Set(Some(now)),
        recipient_type: Set(p.recipient_type.as_str().to_owned()),
    }
}

#[derive(Default)]
struct Children {
    emails: Vec<person_emails::ActiveModel>,
    phones: Vec<person_phones::ActiveModel>,
    addresses: Vec<person_addresses::ActiveModel>,
    education: Vec<person_education::ActiveModel>,
    experiences: Vec<person_experiences::ActiveModel>,
    tags: Vec<person_tags::ActiveModel>,
    roles: Vec<person_roles::ActiveModel>,
}

impl Children {
    fn add(&mut self, id: i64, p: &PersonInput) {
        for (i, e) in p.emails.iter().enumerate() {
            self.emails.push(person_emails::ActiveModel {
                id: NotSet,
                person_id: Set(id),
                address: Set(e.email.as_str().to_owned()),
                address_key: Set(e.email.key()),
                is_reference: Set(i == 0),
                accepts_email: Set(e.accepts),
            });
        }
        for ph in &p.phones {
            self.phones.push(person_phones::ActiveModel {
                id: NotSet,
                person_id: Set(id),
                number: Set(ph.phone.e164().to_owned()),
                kind: Set(ph.kind.as_str().to_owned()),
                is_principal: Set(ph.principal),
                accepts_contact: Set(ph.accepts_contact),
            });
        }
        for (i, a) in p.addresses.iter().enumerate() {
            self.addresses.push(person_addresses::ActiveModel {
                id: NotSet,
                person_id: Set(id),
                line1: Set(a.line1.clone()),
                line2: Set(a.line2.clone()),
                postcode: Set(a.postcode.clone()),
                city: Set(a.city.clone()),
                country: Set(a.country.clone()),
                is_reference: Set(i == 0),
            });
        }
        for e in &p.education {
            self.education.push(person_education::ActiveModel {
                id: NotSet,
                person_id: Set(id),
                establishment: Set(e.establishment.clone()),
                programme_id: Set(e.programme_id),
                cursus: Set(e.cursus.clone()),
                campus: Set(e.campus.clone()),
                promo_year: Set(e.promo_year.map(|y| y.get())),
                diploma: Set(e.diploma.clone()),
                discipline: Set(e.discipline.clone()),
            });
        }
        for x in &p.experiences {
            self.experiences.push(person_experiences::ActiveModel {
                id: NotSet,
                person_id: Set(id),
                company: Set(x.company.clone()),
                organisation_id: Set(x.organisation_id),
                title: Set(x.title.clone()),
                sector: Set(x.sector.clone()),
                start_date: Set(x.start),
                end_date: Set(x.end),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (kind, v) in &p.tags {
            let key = fold(v);
            if key.is_empty() || !seen.insert((kind.as_str(), key.clone())) {
                continue;
            }
            self.tags.push(person_tags::ActiveModel {
                person_id: Set(id),
                kind: Set(kind.as_str().to_owned()),
                value: Set(v.trim().to_owned()),
                value_key: Set(key),
            });
        }
        let mut seen = std::collections::HashSet::new();
        for (role, prog) in &p.roles {
            if !seen.insert((role.as_str(), prog.unwrap_or(0))) {
                continue;
            }
            self.roles.push(person_roles::ActiveModel {
                person_id: Set(id),
                role: Set(role.as_str().to_owned()),
                programme_id: Set(prog.unwrap_or(0)),
            });
        }
    }

    async fn insert<C: ConnectionTrait>(self, db: &C) -> AppResult<()> {
        // SQLite caps bound parameters per statement; 200 rows of at most
        // nine columns stay well below it.
        macro_rules! put {
            ($rows:expr, $entity:ty) => {
                let mut rows = $rows;
                while !rows.is_empty() {
                    let rest = rows.split_off(rows.len().min(200));
                    <$entity>::insert_many(rows)
                        .exec_without_returning(db)
                        .await?;
                    rows = rest;
                }
            };
        }
        put!(self.emails, person_emails::Entity);
        put!(self.phones, person_phones::Entity);
        put!(self.addresses, person_addresses::Entity);
        put!(self.education, person_education::Entity);
        put!(self.experiences, person_experiences::Entity);
        put!(self.tags, person_tags::Entity);
        put!(self.roles, person_roles::Entity);
        Ok(())
    }
}

/// Inserts persons with their child rows; returns their ids in order. Run
/// it in a transaction: a unique e-mail or reference already taken fails
/// the whole batch.
pub async fn create_many<C: ConnectionTrait>(
    db: &C,
    inputs: &[PersonInput],
    names: &Names,
) -> AppResult<Vec<i64>> {
    for p in inputs {
        p.check()?;
    }
    let mut ids = Vec::with_capacity(inputs.len());
    for chunk in inputs.chunks(200) {
        let rows: Vec<_> = chunk.iter().map(|p| person_row(p, names)).collect();
        let inserted = persons::Entity::insert_many(rows)
            .exec_with_returning_keys(db)
            .await?;
        ids.extend(inserted);
    }
    let mut children = Children::default();
    for (id, p) in ids.iter().zip(inputs) {
        children.add(*id, p);
    }
    children.insert(db).await?;
    Ok(ids)
}

pub async fn create<C: ConnectionTrait>(
    db: &C,
    input: &PersonInput,
    names: &Names,
) -> AppResult<i64> {
    create_many(db, std::slice::from_ref(input), names)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("insert returned no id".into()))
}

/// Replaces a person's record; the account link, creation date and groups
/// are kept.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    id: i64,
    input: &PersonInput,
    names: &Names,
) -> AppResult<()> {
    input.check()?;
    let mut row = person_row(input, names);
    row.id = Set(id);
    row.created_at = NotSet;
    persons::Entity::update(row).exec(db).await?;
    delete_children(db, &[id]).await?;
    let mut children = Children::default();
    children.add(id, input);
    children.insert(db).await
}

async fn delete_children<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<()> {
    let ids = ids.to_vec();
    person_emails::Entity::delete_many()
        .filter(person_emails::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_phones::Entity::delete_many()
        .filter(person_phones::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_addresses::Entity::delete_many()
        .filter(person_addresses::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_education::Entity::delete_many()
        .filter(person_education::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_experiences::Entity::delete_many()
        .filter(person_experiences::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_tags::Entity::delete_many()
        .filter(person_tags::Column::PersonId.is_in(ids.clone()))
        .exec(db)
        .await?;
    person_roles::Entity::delete_many()
        .filter(person_roles::Column::PersonId.is_in(ids))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes persons and everything that hangs on them.
pub async fn delete_many<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<u64> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        delete_children(db, chunk).await?;
        group_members::Entity::delete_many()
            .filter(group_members::Column::PersonId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        amicale_store::entities::person_photos::Entity::delete_many()
            .filter(amicale_store::entities::person_photos::Column::PersonId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        n += persons::Entity::delete_many()
            .filter(persons::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(n)
}

/// Loads whole records, keyed and ordered by the ids given.
pub async fn load_many<C: ConnectionTrait>(db: &C, ids: &[i64]) -> AppResult<Vec<Record>> {
    load_many_with(db, ids, true).await
}

/// As [`load_many`]; without `contact`, e-mails and addresses are left
/// empty (an export reads the reference e-mail from the person row).
pub async fn load_many_with<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    contact: bool,
) -> AppResult<Vec<Record>> {
    let v = ids.to_vec();
    // The person rows and their child tables are read at once: on
    // PostgreSQL each query runs on its own connection, so a page costs the
    // slowest query, not the sum.
    macro_rules! children {
        ($entity:ident) => {
            async {
                if v.is_empty() {
                    return Ok(Vec::new());
                }
                $entity::Entity::find()
                    .filter($entity::Column::PersonId.is_in(v.clone()))
                    .order_by_asc($entity::Column::PersonId)
                    .all(db)
                    .await
            }
        };
    }
    let (persons, emails, addresses, phones, education, experiences, tags, roles) = tokio::try_join!(
        persons::Entity::find()
            .filter(persons::Column::Id.is_in(v.clone()))
            .all(db),
        async {
            if contact {
                children!(person_emails).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if contact {
                children!(person_addresses).await
            } else {
                Ok(Vec::new())
            }
        },
        children!(person_phones),
        children!(person_education),
        children!(person_experiences),
        children!(person_tags),
        children!(person_roles),
    )?;
    let mut by_id: HashMap<i64, Record> = persons
        .into_iter()
        .map(|p| {
            (
                p.id,
                Record {
                    person: p,
                    emails: vec![],
                    phones: vec![],
                    addresses: vec![],
                    education: vec![],
                    experiences: vec![],
                    tags: vec![],
                    roles: vec![],
                },
            )
        })
        .collect();
    macro_rules! attach {
        ($rows:ident) => {
            for row in $rows {
                if let Some(r) = by_id.get_mut(&row.person_id) {
                    r.$rows.push(row);
                }
            }
        };
    }
    attach!(emails);
    attach!(addresses);
    attach!(phones);
    attach!(education);
    attach!(experiences);
    attach!(tags);
    attach!(roles);
    for r in by_id.values_mut() {
        r.emails.sort_by_key(|e| (!e.is_reference, e.id));
        r.addresses.sort_by_key(|a| (!a.is_reference, a.id));
        r.phones.sort_by_key(|p| (!p.is_principal, p.id));
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

pub async fn load<C: ConnectionTrait>(db: &C, id: i64) -> AppResult<Record> {
    load_many(db, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)
}

/// The input that would store this record unchanged: the starting point of
/// an edit or an import's update.
pub fn input_of(r: &Record) -> AppResult<PersonInput> {
    let p = &r.person;
    let bad =
        |what: &str| AppError::Internal(format!("stored {what} of person {} is invalid", p.id));
    Ok(PersonInput {
        civility: p.civility.clone(),
        first_name: p.first_name.clone(),
        last_name: p.last_name.clone(),
        emails: r
            .emails
            .iter()
            .map(|e| {
                Ok(EmailEntry {
                    email: Email::parse(&e.address).map_err(|_| bad("e-mail"))?,
                    accepts: e.accepts_email,
                })
            })
            .collect::<AppResult<_>>()?,
        phones: r
            .phones
            .iter()
            .map(|ph| {
                Ok(PhoneEntry {
                    phone: Phone::parse(&ph.number, amicale_people::Country::France)
                        .map_err(|_| bad("phone"))?,
                    kind: PhoneKind::parse(&ph.kind).unwrap_or(PhoneKind::Mobile),
                    principal: ph.is_principal,
                    accepts_contact: ph.accepts_contact,
                })
            })
            .collect::<AppResult<_>>()?,
        addresses: r
            .addresses
            .iter()
            .map(|a| AddressEntry {
                line1: a.line1.clone(),
                line2: a.line2.clone(),
                postcode: a.postcode.clone(),
                city: a.city.clone(),
                country: a.country.clone(),
            })
            .collect(),
        birth_date: p.birth_date,
        nationality: p.nationality.clone(),
        city: p.city.clone(),
        country: p.country.clone(),
        promo_year: p
            .promo_year
            .map(|y| PromoYear::new(y).map_err(|_| bad("promo")))
            .transpose()?,
        programme_id: p.programme_id,
        organisation_id: p.organisation_id,
        job_title: p.job_title.clone(),
        roles: r
            .roles
            .iter()
            .filter_map(|x| {
                CommunityRole::parse(&x.role)
                    .ok()
                    .map(|role| (role, (x.programme_id != 0).then_some(x.programme_id)))
            })
            .collect(),
        education: r
            .education
            .iter()
            .map(|e| Education {
                establishment: e.establishment.clone(),
                programme_id: e.programme_id,
                cursus: e.cursus.clone(),
                campus: e.campus.clone(),
                promo_year: e.promo_year.and_then(|y| PromoYear::new(y).ok()),
                diploma: e.diploma.clone(),
                discipline: e.discipline.clone(),
            })
            .collect(),
        experiences: r
            .experiences
            .iter()
            .map(|x| Experience {
                company: x.company.clone(),
                organisation_id: x.organisation_id,
                title: x.title.clone(),
                sector: x.sector.clone(),
                start: x.start_date,
                end: x.end_date,
            })
            .collect(),
        tags: TagKind::ALL
            .into_iter()
            .flat_map(|k| r.tags_of(k).into_iter().map(move |v| (k, v.to_owned())))
            .collect(),
        external_ref: p.external_ref.clone(),
        site: p.site.clone(),
        preferred_channel: p.preferred_channel.as_deref().and_then(Channel::parse),
        gdpr_consent: p.gdpr_consent,
        sms_consent: p.sms_consent,
        notes: p.notes.clone(),
        referent_user_id: p.referent_user_id,
        status: Status::parse(&p.status).unwrap_or(Status::Active),
        recipient_type: RecipientType::parse(&p.recipient_type).unwrap_or(RecipientType::Member),
    })
}

/// Persons already holding one of these e-mail keys: key → person id.
pub async fn ids_by_email<C: ConnectionTrait>(
    db: &C,
    keys: Vec<String>,
) -> AppResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<(String, i64)> = person_emails::Entity::find()
            .select_only()
            .column(person_emails::Column::AddressKey)
            .column(person_emails::Column::PersonId)
            .filter(person_emails::Column::AddressKey.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Persons already holding one of these external references.
pub async fn ids_by_external_ref<C: ConnectionTrait>(
    db: &C,
    refs: Vec<String>,
) -> AppResult<HashMap<String, i64>> {
    let mut out = HashMap::new();
    for chunk in refs.chunks(500) {
        let rows: Vec<(Option<String>, i64)> = persons::Entity::find()
            .select_only()
            .column(persons::Column::ExternalRef)
            .column(persons::Column::Id)
            .filter(persons::Column::ExternalRef.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(r, id)| r.map(|r| (r, id))));
    }
    Ok(out)
}
