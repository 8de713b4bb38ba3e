//! Demo templates: one of each kind, and a JUNGO2 template imported as a
//! network moving from JUNGO2 would.

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use crate::comms::templates::store::{self, TemplateInput};
use crate::comms::templates::{import, plaintext, render};
use crate::error::{AppError, AppResult};
use amicale_delivery::templates::model::{RecipientType, SendingMode, TemplateKind, Variant};
use amicale_kernel::Locale;
use amicale_store::entities::templates;

const RAPPEL_J1: &str = "Objet : Rappel réunion J-1 Message : <p>Bonjour ${tab.action_beneficiaire_personne/personne_civilite} ${tab.action_beneficiaire_personne/personne_prenom} ${tab.action_beneficiaire_personne/personne_nom},</p><p>Votre prochain rendez-vous téléphonique est programmé le ${action_date# l j F Y à H:i} avec ${action_animateur_intervenant/personne_prenom} ${action_animateur_intervenant/personne_nom}.</p>";

fn email(subject: &str, body: &str) -> Variant {
    Variant {
        subject: subject.into(),
        text: plaintext::from_html(body),
        body: body.into(),
    }
}

pub async fn load(db: &DatabaseConnection, admin: i64) -> AppResult<()> {
    if templates::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let all_people = vec![RecipientType::Member, RecipientType::Beneficiary];
    let items = vec![
        (
            TemplateKind::Email,
            TemplateInput {
                name: "Convocation à un atelier".into(),
                active: true,
                recipient_types: all_people.clone(),
                modes: vec![SendingMode::EventPage, SendingMode::Automatic],
                fr: email(
                    "Convocation : {{ event.title }}",
                    "<p>Bonjour {{ participant.civility }} {{ participant.last_name }},</p><p>Nous avons le plaisir de vous convier à l'atelier <strong>{{ event.title }}</strong> le {{ event.start | date(\"l j F Y à H:i\") }}, {{ event.place }}, {{ event.city }}.</p><p>Animation : {{ event.facilitator_first_name }} {{ event.facilitator_last_name }}.</p><p>À bientôt,<br>{{ sender.name }}</p>",
                ),
                en: Some(email(
                    "Invitation: {{ event.title }}",
                    "<p>Dear {{ participant.first_name }},</p><p>You are invited to the workshop <strong>{{ event.title }}</strong> on {{ event.start | date(\"l j F Y, g:i A\") }}, {{ event.place }}, {{ event.city }}.</p><p>See you soon,<br>{{ sender.name }}</p>",
                )),
                text_edited: false,
            },
        ),
        (
            TemplateKind::Newsletter,
            TemplateInput {
                name: "Lettre d'information des diplômés".into(),
                active: true,
                recipient_types: vec![RecipientType::Member],
                modes: vec![SendingMode::Campaign],
                fr: email(
                    "Les nouvelles du réseau {{ network.name }}",
                    "<h2>Bonjour {{ person.first_name }} !</h2><p>Voici les nouvelles de votre réseau : nouvelles offres d'emploi, prochains afterworks et portraits de diplômés de la promo {{ person.promo_year }}.</p><ul><li>Afterwork à Lyon le mois prochain</li><li>Trois nouvelles offres en alternance</li></ul><p><a href=\"{{ network.url }}\">Retrouvez tout sur la plateforme</a></p>",
                ),
                en: None,
                text_edited: false,
            },
        ),
        (
            TemplateKind::Sms,
            TemplateInput {
                name: "Rappel de rendez-vous (SMS)".into(),
                active: true,
                recipient_types: all_people,
                modes: vec![SendingMode::EventPage, SendingMode::Automatic],
                fr: Variant {
                    subject: String::new(),
                    body: "Bonjour {{ participant.first_name }}, RDV le {{ event.start | date(\"d/m/Y à H:i\") }} - {{ event.place }}. Répondez STOP pour ne plus recevoir de SMS.".into(),
                    text: String::new(),
                },
                en: None,
                text_edited: false,
            },
        ),
    ];
    for (kind, input) in items {
        // The demo must show templates a user could have saved: same checks.
        let mut problems = render::check_variant(kind, &input.fr, "fr", &input.modes, Locale::En);
        if let Some(en) = &input.en {
            problems.extend(render::check_variant(
                kind,
                en,
                "en",
                &input.modes,
                Locale::En,
            ));
        }
        if !problems.is_empty() {
            let list: Vec<String> = problems.into_iter().map(|p| p.message).collect();
            return Err(AppError::Internal(format!(
                "demo template {}: {}",
                input.name,
                list.join("; ")
            )));
        }
        store::create(db, kind, &input, Some(admin)).await?;
    }
    let imported = import::prepare("Rappel réunion J-1.txt", RAPPEL_J1, Locale::Fr)
        .map_err(|e| AppError::Internal(format!("demo JUNGO2 template: {}", e.join("; "))))?;
    store::create(db, TemplateKind::Email, &imported, Some(admin)).await?;
    Ok(())
}
