//! Rendering a template version for one recipient, and checking a template's
//! merge fields before it is saved.

use amicale_merge::{Kind, Trigger, catalogue};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Map, Value, json};

use crate::state::Engine;
use crate::templates::layout;
use crate::templates::model::{SendingMode, TemplateKind, Variant};
use amicale_kernel::Locale;
use amicale_store::entities::{organisations, persons, programmes, template_versions, users};
use amicale_store::error::{AppError, AppResult};

pub fn merge_locale(l: Locale) -> amicale_merge::Locale {
    match l {
        Locale::Fr => amicale_merge::Locale::Fr,
        Locale::En => amicale_merge::Locale::En,
    }
}

/// The triggers of a set of modes: a template must suit every one of them.
pub fn triggers(modes: &[SendingMode]) -> Vec<Trigger> {
    let mut t: Vec<Trigger> = Vec::new();
    for m in modes {
        if !t.contains(&m.trigger()) {
            t.push(m.trigger());
        }
    }
    t
}

/// A problem of one part of the form, ready to show next to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartError {
    pub field: &'static str,
    pub message: String,
}

/// Checks every part of a variant against each trigger of the template.
pub fn check_variant(
    kind: TemplateKind,
    v: &Variant,
    lang: &'static str,
    modes: &[SendingMode],
    ui: Locale,
) -> Vec<PartError> {
    let mut errors = Vec::new();
    let parts: Vec<(&'static str, &str, Kind)> = match kind {
        TemplateKind::Sms => vec![("body", v.body.as_str(), Kind::Text)],
        _ => vec![
            ("subject", v.subject.as_str(), Kind::Text),
            ("body", v.body.as_str(), Kind::Html),
            ("text", v.text.as_str(), Kind::Text),
        ],
    };
    for (part, source, k) in parts {
        let field: &'static str = match (part, lang) {
            ("subject", "fr") => "subject_fr",
            ("subject", _) => "subject_en",
            ("body", "fr") => "body_fr",
            ("body", _) => "body_en",
            (_, "fr") => "text_fr",
            _ => "text_en",
        };
        if let Some(construct) = crate::templates::sanitize::unsafe_construct(source) {
            errors.push(PartError {
                field,
                message: ui.t1("template-unsafe-construct", "construct", construct),
            });
            continue;
        }
        for t in triggers(modes) {
            if let Err(problems) = amicale_merge::validate(source, k, &[t]) {
                for p in problems {
                    let message = p.to_string();
                    if !errors
                        .iter()
                        .any(|e: &PartError| e.field == field && e.message == message)
                    {
                        errors.push(PartError { field, message });
                    }
                }
            }
        }
    }
    errors
}

/// The variant a recipient of language `l` receives: theirs, else French.
pub fn variant_for(v: &template_versions::Model, l: Locale) -> Variant {
    match (l, &v.body_en) {
        (Locale::En, Some(body)) if !body.trim().is_empty() => Variant {
            subject: v.subject_en.clone().unwrap_or_default(),
            body: body.clone(),
            text: v.text_en.clone().unwrap_or_default(),
        },
        _ => Variant {
            subject: v.subject_fr.clone(),
            body: v.body_fr.clone(),
            text: v.text_fr.clone(),
        },
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: Option<String>,
    pub text: String,
}

/// Renders a variant for one context. Errors carry the merge engine's message
/// (a field missing from this recipient's data, fuel exhausted…).
pub fn render(
    state: &Engine,
    kind: TemplateKind,
    v: &Variant,
    ctx: &Value,
    l: Locale,
) -> Result<Rendered, amicale_merge::MergeError> {
    let ml = merge_locale(l);
    let engine = &state.merge;
    // Converted once for the message's two or three parts.
    let ctx = amicale_merge::Value::from_serialize(ctx);
    let part = |source: &str, k: Kind| engine.render_value(source, k, ml, &ctx);
    match kind {
        TemplateKind::Sms => Ok(Rendered {
            subject: String::new(),
            html: None,
            text: part(&v.body, Kind::Text)?,
        }),
        TemplateKind::Email => Ok(Rendered {
            subject: part(&v.subject, Kind::Text)?,
            // Cleaned again once merged, unless the source proves it
            // needless: see `sanitize::clean_merged`.
            html: Some(crate::templates::sanitize::clean_merged(
                &v.body,
                part(&v.body, Kind::Html)?,
            )),
            text: part(&v.text, Kind::Text)?,
        }),
        TemplateKind::Newsletter => {
            // The layout is laid out and merged around a marker; the body is
            // merged and cleaned on its own, as an e-mail's is (the whole
            // page would lose its layout to the allow-list), then put in
            // place. No merge pass reads merged text again.
            const SLOT: &str = "AMICALE0NEWSLETTER0BODY0SLOT";
            let page = layout::newsletter(&state.config.network_name, &v.subject, SLOT, l)
                .map_err(|e| amicale_merge::MergeError {
                    message: e.to_string(),
                    line: None,
                    column: None,
                    kind: amicale_merge::ErrorKind::Render,
                })?;
            let page = part(&page, Kind::Html)?;
            let body =
                crate::templates::sanitize::clean_merged(&v.body, part(&v.body, Kind::Html)?);
            Ok(Rendered {
                subject: part(&v.subject, Kind::Text)?,
                html: Some(page.replacen(SLOT, &body, 1)),
                text: part(&v.text, Kind::Text)?,
            })
        }
    }
}

fn put(obj: &mut Map<String, Value>, key: &str, value: Value) {
    // Only fields the catalogue knows: the context never grows names a
    // template could not have been validated against.
    if obj.contains_key(key) {
        obj.insert(key.to_owned(), value);
    }
}

/// The catalogue's sample values, with the person and participant replaced by
/// a real person when one is given, and the sender and network set for real.
pub async fn context(
    state: &Engine,
    person_id: Option<i64>,
    sender: &users::Model,
    l: Locale,
) -> AppResult<(Value, Option<String>)> {
    let mut ctx = catalogue::sample_context(merge_locale(l));
    let mut name = None;
    if let Some(id) = person_id {
        let p = persons::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
        let fields = person_fields(&state.db, &p).await?;
        name = Some(format!("{} {}", p.first_name, p.last_name));
        for ns in ["person", "participant"] {
            if let Some(Value::Object(obj)) = ctx.get_mut(ns) {
                for (k, v) in &fields {
                    put(obj, k, v.clone());
                }
            }
        }
    }
    if let Some(Value::Object(sender_obj)) = ctx.get_mut("sender") {
        put(sender_obj, "name", json!(sender.display_name));
        put(sender_obj, "first_name", json!(sender.display_name));
        put(sender_obj, "email", json!(sender.email));
    }
    if let Some(Value::Object(net)) = ctx.get_mut("network") {
        put(net, "name", json!(state.config.network_name));
        put(net, "url", json!(state.base_url));
        put(
            net,
            "contact_email",
            json!(state.mail_from.email.to_string()),
        );
    }
    Ok((ctx, name))
}

async fn person_fields(
    db: &DatabaseConnection,
    p: &persons::Model,
) -> AppResult<Vec<(&'static str, Value)>> {
    let programme = match p.programme_id {
        Some(id) => programmes::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|x| x.name),
        None => None,
    };
    let company = match p.organisation_id {
        Some(id) => organisations::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|x| x.name),
        None => None,
    };
    Ok(vec![
        ("civility", json!(p.civility)),
        ("first_name", json!(p.first_name)),
        ("last_name", json!(p.last_name)),
        ("email", json!(p.email.clone().unwrap_or_default())),
        ("city", json!(p.city)),
        ("country", json!(p.country)),
        ("promo_year", p.promo_year.map_or(Value::Null, |y| json!(y))),
        ("programme", json!(programme.unwrap_or_default())),
        ("company", json!(company.unwrap_or_default())),
        ("job_title", json!(p.job_title.clone().unwrap_or_default())),
    ])
}
