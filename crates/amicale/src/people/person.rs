//! The person record in the CRM: create and edit with every value
//! checked, the typed input kept on error, unique e-mails and references
//! reported on their field.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use sea_orm::TransactionTrait;

use amicale_people::{Civility, CommunityRole, Country, Email, Phone, PromoYear, Text};

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::people::crm::Opt;
use crate::people::model::{Channel, PhoneKind, Status, TagKind};
use crate::people::scope::Persons;
use crate::people::store::{self, AddressEntry, EmailEntry, Names, PersonInput, PhoneEntry};
use crate::web::extract::InScope;
use crate::web::extract::{CreatePeople, EditPeople, Require, ViewPeople};
use crate::web::form::FormPairs;
use crate::web::page::{Page, render, render_status};
use amicale_delivery::templates::model::RecipientType;
use amicale_store::entities::{organisations, programmes};

/// Rows of repeated values the form offers.
pub const EMAIL_ROWS: usize = 3;
pub const PHONE_ROWS: usize = 2;

#[derive(Template)]
#[template(path = "people/person_form.html")]
struct FormTpl<'a> {
    p: &'a Page,
    id: Option<i64>,
    f: FormPairs,
    errors: Vec<(String, String)>,
    programmes: Vec<Opt>,
    organisations: Vec<Opt>,
    saved: bool,
    notice: Option<String>,
    has_photo: bool,
}

impl FormTpl<'_> {
    fn v(&self, name: &str) -> String {
        self.f.get(name).to_owned()
    }

    fn checked(&self, name: &str) -> bool {
        self.f.has(name)
    }

    fn has_role(&self, role: &str) -> bool {
        self.f.all("role").contains(&role)
    }

    fn error(&self, name: &str) -> String {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    fn rows(&self, n: usize) -> Vec<usize> {
        (0..n).collect()
    }
}

async fn choices(state: &AppState) -> AppResult<(Vec<Opt>, Vec<Opt>)> {
    use crate::people::crm::choices;
    Ok((
        choices::<programmes::Entity>(state, programmes::Column::Name).await?,
        choices::<organisations::Entity>(state, organisations::Column::Name).await?,
    ))
}

/// The form's fields for a stored person, so the edit page starts from them.
fn pairs_of(input: &PersonInput) -> FormPairs {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, val: String| v.push((k.to_owned(), val));
    put("civility", input.civility.clone());
    put("first_name", input.first_name.clone());
    put("last_name", input.last_name.clone());
    for (i, e) in input.emails.iter().enumerate() {
        put(&format!("email{i}"), e.email.as_str().to_owned());
        if e.accepts {
            put(&format!("email{i}_accepts"), "1".into());
        }
    }
    for (i, ph) in input.phones.iter().enumerate() {
        put(&format!("phone{i}"), ph.phone.display_national());
        put(&format!("phone{i}_kind"), ph.kind.as_str().into());
        if ph.principal {
            put("phone_principal", i.to_string());
        }
        if ph.accepts_contact {
            put(&format!("phone{i}_accepts"), "1".into());
        }
    }
    if let Some(a) = input.addresses.first() {
        put("line1", a.line1.clone());
        put("line2", a.line2.clone().unwrap_or_default());
        put("postcode", a.postcode.clone());
    }
    put("city", input.city.clone());
    put("country", input.country.clone());
    put("nationality", input.nationality.clone().unwrap_or_default());
    put(
        "birth_date",
        input.birth_date.map(|d| d.to_string()).unwrap_or_default(),
    );
    put(
        "promo",
        input.promo_year.map(|y| y.to_string()).unwrap_or_default(),
    );
    put(
        "programme",
        input
            .programme_id
            .map(|x| x.to_string())
            .unwrap_or_default(),
    );
    put(
        "organisation",
        input
            .organisation_id
            .map(|x| x.to_string())
            .unwrap_or_default(),
    );
    put("job_title", input.job_title.clone().unwrap_or_default());
    for (r, _) in &input.roles {
        put("role", r.as_str().into());
    }
    for k in TagKind::ALL {
        let list: Vec<&str> = input
            .tags
            .iter()
            .filter(|(kind, _)| *kind == k)
            .map(|(_, v)| v.as_str())
            .collect();
        put(k.as_str(), list.join(", "));
    }
    put(
        "external_ref",
        input.external_ref.clone().unwrap_or_default(),
    );
    put("site", input.site.clone().unwrap_or_default());
    put(
        "preferred_channel",
        input
            .preferred_channel
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
    );
    if input.gdpr_consent {
        put("gdpr_consent", "1".into());
    }
    if input.sms_consent {
        put("sms_consent", "1".into());
    }
    put("notes", input.notes.clone().unwrap_or_default());
    put("status", input.status.as_str().into());
    put("recipient_type", input.recipient_type.as_str().into());
    FormPairs(v)
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Reads the form over `base` (the stored record, or an empty one): the
/// parts the form does not show (other experiences and education) are kept.
fn parse(
    f: &FormPairs,
    mut p: PersonInput,
    p_: &Page,
) -> Result<PersonInput, Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut bad = |field: &str, code: &str| {
        errors.push((field.to_owned(), p_.t(&format!("err-{code}"))));
    };
    p.first_name = f.get("first_name").trim().to_owned();
    p.last_name = f.get("last_name").trim().to_owned();
    for (name, value) in [("first_name", &p.first_name), ("last_name", &p.last_name)] {
        if value.is_empty() {
            bad(name, "required");
        } else if value.chars().count() > 100 {
            bad(name, "too-long");
        }
    }
    p.civility = match f.get("civility").trim() {
        "" => String::new(),
        c => match Civility::parse(c) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                bad("civility", e.code());
                String::new()
            }
        },
    };
    p.emails.clear();
    for i in 0..EMAIL_ROWS {
        let raw = f.get(&format!("email{i}"));
        if raw.trim().is_empty() {
            continue;
        }
        match Email::parse(raw) {
            Ok(email) => {
                if p.emails.iter().any(|e| e.email.key() == email.key()) {
                    bad(&format!("email{i}"), "duplicate");
                } else {
                    p.emails.push(EmailEntry {
                        email,
                        accepts: f.has(&format!("email{i}_accepts")),
                    });
                }
            }
            Err(e) => bad(&format!("email{i}"), e.code()),
        }
    }
    p.phones.clear();
    let principal = f.get("phone_principal");
    for i in 0..PHONE_ROWS {
        let raw = f.get(&format!("phone{i}"));
        if raw.trim().is_empty() {
            continue;
        }
        match Phone::parse(raw, Country::France) {
            Ok(phone) => p.phones.push(PhoneEntry {
                phone,
                kind: PhoneKind::parse(f.get(&format!("phone{i}_kind")))
                    .unwrap_or(PhoneKind::Mobile),
                principal: principal == i.to_string(),
                accepts_contact: f.has(&format!("phone{i}_accepts")),
            }),
            Err(e) => bad(&format!("phone{i}"), e.code()),
        }
    }
    if !p.phones.is_empty() && !p.phones.iter().any(|x| x.principal) {
        p.phones[0].principal = true;
    }
    p.addresses.clear();
    if let Some(line1) = opt(f.get("line1")) {
        p.addresses.push(AddressEntry {
            line1,
            line2: opt(f.get("line2")),
            postcode: f.get("postcode").trim().to_owned(),
            city: f.get("city").trim().to_owned(),
            country: f.get("country").trim().to_owned(),
        });
    }
    p.city = f.get("city").trim().to_owned();
    p.country = f.get("country").trim().to_owned();
    p.nationality = opt(f.get("nationality"));
    p.birth_date = match f.get("birth_date").trim() {
        "" => None,
        s => match amicale_people::Date::parse(s) {
            Ok(d) => NaiveDate::from_ymd_opt(d.year(), d.month(), d.day()),
            Err(e) => {
                bad("birth_date", e.code());
                None
            }
        },
    };
    p.promo_year = match f.get("promo").trim() {
        "" => None,
        s => match PromoYear::parse(s) {
            Ok(y) => Some(y),
            Err(e) => {
                bad("promo", e.code());
                None
            }
        },
    };
    p.programme_id = f.get("programme").parse().ok();
    p.organisation_id = f.get("organisation").parse().ok();
    p.job_title = opt(f.get("job_title"));
    let roles: Vec<CommunityRole> = f
        .all("role")
        .iter()
        .filter_map(|r| CommunityRole::parse(r).ok())
        .collect();
    p.roles.retain(|(r, _)| roles.contains(r));
    for r in roles {
        if !p.roles.iter().any(|(x, _)| *x == r) {
            p.roles.push((r, p.programme_id));
        }
    }
    p.tags.clear();
    for k in TagKind::ALL {
        for v in f.get(k.as_str()).split([',', ';']) {
            if !v.trim().is_empty() {
                p.tags.push((k, v.trim().to_owned()));
            }
        }
    }
    p.external_ref = opt(f.get("external_ref"));
    p.site = opt(f.get("site"));
    p.preferred_channel = Channel::parse(f.get("preferred_channel"));
    p.gdpr_consent = f.has("gdpr_consent");
    p.sms_consent = f.has("sms_consent");
    // Control characters would travel into mail headers, merge fields and
    // exports: every text field refuses them (the notes keep their lines).
    let lines = [
        "first_name",
        "last_name",
        "line1",
        "line2",
        "postcode",
        "city",
        "country",
        "nationality",
        "job_title",
        "external_ref",
        "site",
    ];
    let tags = TagKind::ALL.iter().map(|k| k.as_str());
    for name in lines.into_iter().chain(tags) {
        if let Err(e) = amicale_people::check_line(f.get(name).trim()) {
            bad(name, e.code());
        }
    }
    p.notes = match Text::parse(f.get("notes")) {
        Ok(t) if t.as_str().is_empty() => None,
        Ok(t) => Some(t.into_string()),
        Err(e) => {
            bad("notes", e.code());
            None
        }
    };
    if p.notes.as_ref().is_some_and(|n| n.chars().count() > 5000) {
        bad("notes", "too-long");
    }
    // Both are lists a browser always posts; left out (a script's form),
    // the record's kind stays the usual one. Anything else is an error.
    match f.get("status") {
        "" => p.status = Status::Active,
        s => match Status::parse(s) {
            Some(s) => p.status = s,
            None => bad("status", "invalid"),
        },
    }
    match f.get("recipient_type") {
        "" => p.recipient_type = RecipientType::Member,
        r => match RecipientType::parse(r) {
            Some(r) => p.recipient_type = r,
            None => bad("recipient_type", "invalid"),
        },
    }
    if errors.is_empty() {
        Ok(p)
    } else {
        Err(errors)
    }
}

/// E-mails and the external reference must not belong to someone else.
async fn taken(
    state: &AppState,
    p: &PersonInput,
    own: Option<i64>,
    page: &Page,
) -> AppResult<Vec<(String, String)>> {
    let mut errors = Vec::new();
    let keys: Vec<String> = p.emails.iter().map(|e| e.email.key()).collect();
    let found = store::ids_by_email(&state.db, keys).await?;
    for (i, e) in p.emails.iter().enumerate() {
        if found.get(&e.email.key()).is_some_and(|id| Some(*id) != own) {
            errors.push((format!("email{i}"), page.t("err-email-taken")));
        }
    }
    if let Some(r) = &p.external_ref {
        let found = store::ids_by_external_ref(&state.db, vec![r.clone()]).await?;
        if found.get(r).is_some_and(|id| Some(*id) != own) {
            errors.push(("external_ref".into(), page.t("err-ref-taken")));
        }
    }
    Ok(errors)
}

pub async fn new_form(
    State(state): State<AppState>,
    _: Require<CreatePeople>,
    p: Page,
) -> AppResult<Response> {
    let (programmes, organisations) = choices(&state).await?;
    render(&FormTpl {
        p: &p,
        id: None,
        f: FormPairs(vec![
            ("email0_accepts".into(), "1".into()),
            ("status".into(), "active".into()),
        ]),
        errors: vec![],
        programmes,
        organisations,
        saved: false,
        notice: None,
        has_photo: false,
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Persons, ViewPeople>,
    p: Page,
    RawQuery(query): RawQuery,
) -> AppResult<Response> {
    let rec = store::load(&state.db, id).await?;
    let (programmes, organisations) = choices(&state).await?;
    let saved = query.as_deref() == Some("saved");
    let notice = query
        .as_deref()
        .filter(|q| q.starts_with("photo-"))
        .map(|q| p.t(q));
    let has_photo = !crate::people::photos::with_photo(&state, &[id])
        .await?
        .is_empty();
    render(&FormTpl {
        p: &p,
        id: Some(id),
        f: pairs_of(&store::input_of(&rec)?),
        errors: vec![],
        programmes,
        organisations,
        saved,
        notice,
        has_photo,
    })
}

async fn save(state: AppState, p: Page, id: Option<i64>, f: FormPairs) -> AppResult<Response> {
    let base = match id {
        Some(id) => store::input_of(&store::load(&state.db, id).await?)?,
        None => PersonInput::new("", ""),
    };
    let parsed = parse(&f, base, &p);
    let errors = match &parsed {
        Ok(input) => taken(&state, input, id, &p).await?,
        Err(e) => e.clone(),
    };
    if !errors.is_empty() {
        let (programmes, organisations) = choices(&state).await?;
        return render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormTpl {
                p: &p,
                id,
                f,
                errors,
                programmes,
                organisations,
                saved: false,
                notice: None,
                has_photo: false,
            },
        );
    }
    let input = parsed.map_err(|_| AppError::Internal("checked above".into()))?;
    let names = Names::load(&state.db).await?;
    let txn = state.db.begin().await?;
    let id = match id {
        Some(id) => {
            store::update(&txn, id, &input, &names).await?;
            id
        }
        None => store::create(&txn, &input, &names).await?,
    };
    txn.commit().await?;
    Ok(Redirect::to(&format!("/admin/people/{id}?saved")).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    _: Require<CreatePeople>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    save(state, p, None, f).await
}

pub async fn update(
    State(state): State<AppState>,
    InScope { id, .. }: InScope<Persons, EditPeople>,
    p: Page,
    f: FormPairs,
) -> AppResult<Response> {
    save(state, p, Some(id), f).await
}
