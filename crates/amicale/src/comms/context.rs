//! The merge data of real sends: every field of the catalogue is present
//! (strict templates never fail on a field the recipient lacks; it is
//! empty), and filled from the database for the person, the participant,
//! the event, the network and the sender. Sample values never reach a real
//! recipient.

use std::collections::HashMap;

use amicale_merge::catalogue::{self, FieldType};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use crate::app::AppState;
use crate::comms::eligibility::Category;
use crate::error::AppResult;
use amicale_kernel::Locale;
use amicale_store::entities::{
    events, organisations, participations, person_addresses, person_emails, person_phones, persons,
    programmes, users,
};

/// Every namespace of the catalogue with each field empty.
pub fn blank() -> Map<String, Value> {
    let mut root = Map::new();
    for f in catalogue::all() {
        let empty = match f.ty {
            FieldType::List => Value::Array(Vec::new()),
            FieldType::Boolean => Value::Bool(false),
            FieldType::Number => Value::Null,
            _ => Value::from(""),
        };
        if f.namespace.is_empty() {
            root.insert(f.name.to_owned(), empty);
        } else if let Value::Object(ns) = root
            .entry(f.namespace.to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            ns.insert(f.name.to_owned(), empty);
        }
    }
    root
}

/// A person's values, loaded in bulk.
#[derive(Debug, Clone, Default)]
pub struct PersonData {
    pub person: Option<persons::Model>,
    pub email: String,
    pub phone: String,
    pub mobile: String,
    pub address: String,
    pub postal_code: String,
    pub city: String,
    pub programme: String,
    pub company: String,
    /// The language of the person's account, when they have one.
    pub locale: Option<Locale>,
    /// Whether the reference e-mail accepts e-mails.
    pub email_accepts: bool,
    /// The principal phone and whether it accepts contact.
    pub principal: Option<(String, bool)>,
    /// The referent contact of the person's organisation, if it has one.
    pub org_referent: Option<i64>,
}

impl PersonData {
    /// The value of `person.<name>` / `participant.<name>`; `None` for
    /// names that are not person fields.
    fn field(&self, name: &str) -> Option<Value> {
        let p = self.person.as_ref()?;
        Some(match name {
            "civility" => json!(p.civility),
            "first_name" => json!(p.first_name),
            "last_name" => json!(p.last_name),
            "email" => json!(self.email),
            "phone" => json!(self.phone),
            "mobile" => json!(self.mobile),
            "address" => json!(self.address),
            "postal_code" => json!(self.postal_code),
            "city" => json!(if self.city.is_empty() {
                &p.city
            } else {
                &self.city
            }),
            "country" => json!(p.country),
            "birth_date" => json!(p.birth_date.map(|d| d.to_string()).unwrap_or_default()),
            "promo_year" => p.promo_year.map_or(Value::Null, |y| json!(y)),
            "programme" => json!(self.programme),
            "company" => json!(self.company),
            "job_title" => json!(p.job_title.clone().unwrap_or_default()),
            _ => return None,
        })
    }

    pub fn fill(&self, ns: &mut Map<String, Value>) {
        let keys: Vec<String> = ns.keys().cloned().collect();
        for k in keys {
            if let Some(v) = self.field(&k) {
                ns.insert(k, v);
            }
        }
    }
}

pub async fn people<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> AppResult<HashMap<i64, PersonData>> {
    let mut out: HashMap<i64, PersonData> = HashMap::with_capacity(ids.len());
    let programmes: HashMap<i64, String> = programmes::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    for chunk in ids.chunks(500) {
        let rows = persons::Entity::find()
            .filter(persons::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        let org_ids: Vec<i64> = rows.iter().filter_map(|p| p.organisation_id).collect();
        let orgs: HashMap<i64, (String, Option<i64>)> = if org_ids.is_empty() {
            HashMap::new()
        } else {
            organisations::Entity::find()
                .filter(organisations::Column::Id.is_in(org_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, (o.name, o.referent_person_id)))
                .collect()
        };
        for p in rows {
            out.insert(
                p.id,
                PersonData {
                    programme: p
                        .programme_id
                        .and_then(|i| programmes.get(&i).cloned())
                        .unwrap_or_default(),
                    company: p
                        .organisation_id
                        .and_then(|i| orgs.get(&i).map(|o| o.0.clone()))
                        .unwrap_or_default(),
                    org_referent: p
                        .organisation_id
                        .and_then(|i| orgs.get(&i).and_then(|o| o.1)),
                    person: Some(p),
                    ..Default::default()
                },
            );
        }
        let user_ids: Vec<i64> = chunk
            .iter()
            .filter_map(|id| out.get(id))
            .filter_map(|d| d.person.as_ref().and_then(|p| p.user_id))
            .collect();
        if !user_ids.is_empty() {
            let langs: HashMap<i64, Option<Locale>> = users::Entity::find()
                .filter(users::Column::Id.is_in(user_ids))
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id, Locale::parse(&u.locale)))
                .collect();
            for id in chunk {
                if let Some(d) = out.get_mut(id)
                    && let Some(uid) = d.person.as_ref().and_then(|p| p.user_id)
                {
                    d.locale = langs.get(&uid).copied().flatten();
                }
            }
        }
        for e in person_emails::Entity::find()
            .filter(person_emails::Column::PersonId.is_in(chunk.iter().copied()))
            .filter(person_emails::Column::IsReference.eq(true))
            .all(db)
            .await?
        {
            if let Some(d) = out.get_mut(&e.person_id) {
                d.email = e.address;
                d.email_accepts = e.accepts_email;
            }
        }
        for ph in person_phones::Entity::find()
            .filter(person_phones::Column::PersonId.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            if let Some(d) = out.get_mut(&ph.person_id) {
                if ph.is_principal {
                    d.principal = Some((ph.number.clone(), ph.accepts_contact));
                }
                if ph.is_principal || d.phone.is_empty() {
                    d.phone = ph.number.clone();
                }
                if ph.kind == "mobile" && (ph.is_principal || d.mobile.is_empty()) {
                    d.mobile = ph.number;
                }
            }
        }
        for a in person_addresses::Entity::find()
            .filter(person_addresses::Column::PersonId.is_in(chunk.iter().copied()))
            .filter(person_addresses::Column::IsReference.eq(true))
            .all(db)
            .await?
        {
            if let Some(d) = out.get_mut(&a.person_id) {
                d.address = match &a.line2 {
                    Some(l2) if !l2.is_empty() => format!("{}, {l2}", a.line1),
                    _ => a.line1.clone(),
                };
                d.postal_code = a.postcode;
                d.city = a.city;
            }
        }
    }
    Ok(out)
}

/// Local wall-clock time in the network zone, as merge dates expect it.
pub fn local(state: &AppState, t: DateTime<Utc>) -> String {
    t.with_timezone(&state.tz)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The `event.*` values of one event, given its programme's name and its
/// first facilitator.
pub fn event_map(
    state: &AppState,
    e: &events::Model,
    programme: &str,
    facilitator: Option<&users::Model>,
    l: Locale,
) -> Map<String, Value> {
    let (ffirst, flast) = facilitator
        .map(|u| match u.display_name.split_once(' ') {
            Some((a, b)) => (a.to_owned(), b.to_owned()),
            None => (u.display_name.clone(), String::new()),
        })
        .unwrap_or_default();
    let mut m = Map::new();
    for f in catalogue::all().iter().filter(|f| f.namespace == "event") {
        let v = match f.name {
            "title" => json!(e.title),
            "type" => json!(e.event_type),
            "nature" => json!(l.t(&format!("event-nature-{}", e.nature))),
            "start" => json!(local(state, e.starts_at)),
            "end" => json!(local(state, e.ends_at)),
            "place" => json!(e.site),
            "address" => json!(e.address),
            "postal_code" => json!(e.postal_code),
            "city" => json!(e.city),
            "video_link" => json!(e.video_link),
            "programme" => json!(programme),
            "step" => json!(e.step),
            "facilitator_first_name" => json!(ffirst),
            "facilitator_last_name" => json!(flast),
            "facilitator_email" => json!(facilitator.map(|u| u.email.clone()).unwrap_or_default()),
            _ => json!(""),
        };
        m.insert(f.name.to_owned(), v);
    }
    m
}

/// Keeps only the top-level names a template reads: the stored data of a
/// message is what its rendering needs, not every namespace.
pub fn prune(root: &mut Map<String, Value>, roots: Option<&std::collections::BTreeSet<String>>) {
    if let Some(keep) = roots {
        root.retain(|k, _| keep.contains(k));
    }
}

/// The top-level names a template version reads in any of its parts
/// (newsletters also read the unsubscribe link of their layout); `None`
/// when a part does not parse, which keeps every name.
pub fn roots_of(
    state: &AppState,
    kind: amicale_delivery::templates::model::TemplateKind,
    v: &amicale_store::entities::template_versions::Model,
) -> Option<std::collections::BTreeSet<String>> {
    use amicale_merge::Kind;
    let mut out = std::collections::BTreeSet::new();
    let parts = [
        (v.subject_fr.as_str(), Kind::Text),
        (v.body_fr.as_str(), Kind::Html),
        (v.text_fr.as_str(), Kind::Text),
        (v.subject_en.as_deref().unwrap_or(""), Kind::Text),
        (v.body_en.as_deref().unwrap_or(""), Kind::Html),
        (v.text_en.as_deref().unwrap_or(""), Kind::Text),
    ];
    for (src, k) in parts {
        out.extend(state.merge.roots(src, k).ok()?);
    }
    if kind == amicale_delivery::templates::model::TemplateKind::Newsletter {
        out.insert("network".into());
    }
    // Every e-mail carries its unsubscribe link in a List-Unsubscribe
    // header, whether or not the template shows it.
    if kind != amicale_delivery::templates::model::TemplateKind::Sms {
        out.insert("unsubscribe_url".into());
    }
    Some(out)
}

/// The participant namespace: the person's fields plus attendance.
pub fn participant_values(
    d: &PersonData,
    p: &participations::Model,
    l: Locale,
) -> Map<String, Value> {
    let mut ns = match blank().remove("participant") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    d.fill(&mut ns);
    if ns.contains_key("presence") {
        let presence = if p.presence.is_empty() {
            String::new()
        } else {
            l.t(&format!("presence-{}", p.presence))
        };
        ns.insert("presence".into(), json!(presence));
    }
    if ns.contains_key("confirmed") {
        ns.insert("confirmed".into(), json!(p.confirmed));
    }
    ns
}

/// The network's own values, and the sender (a staff user, or the network
/// itself for automatic sends).
pub fn common(state: &AppState, sender: Option<&users::Model>) -> Map<String, Value> {
    let mut root = blank();
    if let Some(Value::Object(net)) = root.get_mut("network") {
        for (k, v) in [
            ("name", json!(state.config.network_name)),
            ("url", json!(state.base_url)),
            ("contact_email", json!(state.mail_from.email.to_string())),
        ] {
            if net.contains_key(k) {
                net.insert(k.into(), v);
            }
        }
    }
    if let Some(Value::Object(s)) = root.get_mut("sender") {
        let (name, email) = match sender {
            Some(u) => (u.display_name.clone(), u.email.clone()),
            None => (
                state.config.network_name.clone(),
                state.mail_from.email.to_string(),
            ),
        };
        for (k, v) in [
            ("name", json!(name)),
            ("first_name", json!(name.split(' ').next().unwrap_or(""))),
            ("email", json!(email)),
        ] {
            if s.contains_key(k) {
                s.insert(k.into(), v);
            }
        }
    }
    root
}

/// The signed link of the unsubscribe page for one address and category:
/// it works without an account and cannot be forged for another address.
pub fn unsubscribe_url(state: &AppState, address: &str, category: Category) -> String {
    let data = format!("{}\n{}", address.trim().to_lowercase(), category.as_str());
    let sig = state.secret.sign("unsubscribe", data.as_bytes());
    format!(
        "{}/unsubscribe/{}.{sig}",
        state.base_url,
        URL_SAFE_NO_PAD.encode(data.as_bytes())
    )
}

/// Reads a token made by [`unsubscribe_url`].
pub fn read_unsubscribe(state: &AppState, token: &str) -> Option<(String, Category)> {
    let (data, sig) = token.split_once('.')?;
    let data = URL_SAFE_NO_PAD.decode(data).ok()?;
    if !state.secret.verify("unsubscribe", &data, sig) {
        return None;
    }
    let text = String::from_utf8(data).ok()?;
    let (address, cat) = text.split_once('\n')?;
    Some((address.to_owned(), Category::parse(cat)?))
}
