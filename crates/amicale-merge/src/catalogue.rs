//! The catalogue of merge fields: every field a template may use, with its
//! type, a description in French and English, an example value and the
//! triggers under which it is available.
//!
//! JUNGO2 (guide §2.c) distinguishes two kinds of sends, and so do we:
//! person-triggered sends (a campaign, a message from a person's record) know
//! a recipient and use `person.*`; event-triggered sends (from an event's
//! record, automatic reminders) know an event and its participants and use
//! `event.*`, `participant.*` (the participant receiving this copy) and
//! `participants` (everybody, for collective events).

use std::sync::LazyLock;

use serde_json::{Map, Value as Json};

use crate::{Locale, Trigger};

/// The type of a merge field's value, which tells the editor which filters
/// make sense (`date` for dates, `phone` for phones…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Free text.
    Text,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A date and wall-clock time in the network's zone, `YYYY-MM-DD HH:MM`.
    DateTime,
    /// An e-mail address.
    Email,
    /// A telephone number, preferably E.164 (`+33612345678`).
    Phone,
    /// A number.
    Number,
    /// A web address.
    Url,
    /// Yes or no.
    Boolean,
    /// A list of records to loop over (`participants`).
    List,
}

/// One merge field of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Namespace (`person`, `event`…); empty for top-level names such as
    /// `unsubscribe_url` and `participants`.
    pub namespace: &'static str,
    /// Name within the namespace.
    pub name: &'static str,
    /// Type of the value.
    pub ty: FieldType,
    /// Description in French.
    pub fr: &'static str,
    /// Description in English.
    pub en: &'static str,
    /// Example value, as it appears in the sample context.
    pub example: &'static str,
    /// Triggers under which the field is available.
    pub triggers: &'static [Trigger],
}

impl Field {
    /// The path written in templates, e.g. `person.first_name`.
    pub fn path(&self) -> String {
        if self.namespace.is_empty() {
            self.name.to_owned()
        } else {
            format!("{}.{}", self.namespace, self.name)
        }
    }

    /// Whether the field may be used by a template sent under every one of
    /// `triggers`.
    pub fn fits(&self, triggers: &[Trigger]) -> bool {
        triggers.iter().all(|t| self.triggers.contains(t))
    }
}

/// Namespaces that hold fields (`person.first_name`); `participants` and
/// `unsubscribe_url` are top-level names instead.
pub const NAMESPACES: [&str; 7] = [
    "person",
    "event",
    "participant",
    "org",
    "offer",
    "network",
    "sender",
];

const PERSON: &[Trigger] = &[Trigger::Person];
const EVENT: &[Trigger] = &[Trigger::Event];
const BOTH: &[Trigger] = &[Trigger::Person, Trigger::Event];

/// (name, type, fr, en, example) of the fields a person and a participant share.
type Row = (
    &'static str,
    FieldType,
    &'static str,
    &'static str,
    &'static str,
);

const PERSON_ROWS: &[Row] = &[
    (
        "civility",
        FieldType::Text,
        "Civilité",
        "Title (Mr, Ms…)",
        "Mme",
    ),
    (
        "first_name",
        FieldType::Text,
        "Prénom",
        "First name",
        "Hélène",
    ),
    ("last_name", FieldType::Text, "Nom", "Last name", "Dupré"),
    (
        "email",
        FieldType::Email,
        "Adresse e-mail de référence",
        "Reference e-mail address",
        "helene.dupre@example.org",
    ),
    (
        "phone",
        FieldType::Phone,
        "Téléphone fixe",
        "Landline",
        "+33145678901",
    ),
    (
        "mobile",
        FieldType::Phone,
        "Téléphone mobile",
        "Mobile phone",
        "+33612345678",
    ),
    (
        "address",
        FieldType::Text,
        "Adresse (rue)",
        "Street address",
        "12 rue des Lilas",
    ),
    (
        "postal_code",
        FieldType::Text,
        "Code postal",
        "Postal code",
        "75014",
    ),
    ("city", FieldType::Text, "Ville", "City", "Paris"),
    ("country", FieldType::Text, "Pays", "Country", "France"),
    (
        "birth_date",
        FieldType::Date,
        "Date de naissance",
        "Date of birth",
        "1990-05-04",
    ),
    (
        "promo_year",
        FieldType::Number,
        "Année de promotion",
        "Graduation year",
        "2012",
    ),
    (
        "programme",
        FieldType::Text,
        "Formation ou programme suivi",
        "Programme followed",
        "Master Entrepreneuriat",
    ),
    (
        "company",
        FieldType::Text,
        "Entreprise",
        "Company",
        "Fournil Dupré SARL",
    ),
    (
        "job_title",
        FieldType::Text,
        "Fonction",
        "Job title",
        "Gérante",
    ),
];

const PARTICIPANT_ROWS: &[Row] = &[
    (
        "presence",
        FieldType::Text,
        "Présence à l'événement (présent, absent, excusé)",
        "Attendance (present, absent, excused)",
        "présente",
    ),
    (
        "confirmed",
        FieldType::Boolean,
        "Inscription confirmée",
        "Registration confirmed",
        "true",
    ),
];

const EVENT_ROWS: &[Row] = &[
    (
        "title",
        FieldType::Text,
        "Intitulé (objet) de l'événement",
        "Event title (subject)",
        "Atelier « Cartes en main »",
    ),
    (
        "type",
        FieldType::Text,
        "Type d'événement",
        "Event type",
        "Atelier",
    ),
    (
        "nature",
        FieldType::Text,
        "Nature (individuelle ou collective)",
        "Nature (individual or collective)",
        "Collective",
    ),
    (
        "start",
        FieldType::DateTime,
        "Date et heure de début",
        "Start date and time",
        "2026-03-12 14:30",
    ),
    (
        "end",
        FieldType::DateTime,
        "Date et heure de fin",
        "End date and time",
        "2026-03-12 16:00",
    ),
    (
        "place",
        FieldType::Text,
        "Lieu (nom du site)",
        "Venue (site name)",
        "Maison des entrepreneurs",
    ),
    (
        "address",
        FieldType::Text,
        "Adresse du lieu",
        "Venue street address",
        "168 rue Raymond Losserand",
    ),
    (
        "postal_code",
        FieldType::Text,
        "Code postal du lieu",
        "Venue postal code",
        "75014",
    ),
    (
        "city",
        FieldType::Text,
        "Ville du lieu",
        "Venue city",
        "Paris",
    ),
    (
        "video_link",
        FieldType::Url,
        "Lien de visioconférence",
        "Video-conference link",
        "https://visio.example.org/cartes-en-main",
    ),
    (
        "programme",
        FieldType::Text,
        "Programme (offre de service) de l'événement",
        "Programme (service offer) of the event",
        "Activ'Créa",
    ),
    (
        "step",
        FieldType::Text,
        "Étape du parcours",
        "Step of the pathway",
        "Émergence",
    ),
    (
        "facilitator_first_name",
        FieldType::Text,
        "Prénom de l'animateur",
        "Facilitator's first name",
        "Paul",
    ),
    (
        "facilitator_last_name",
        FieldType::Text,
        "Nom de l'animateur",
        "Facilitator's last name",
        "Martin",
    ),
    (
        "facilitator_email",
        FieldType::Email,
        "E-mail de l'animateur",
        "Facilitator's e-mail",
        "paul.martin@example.org",
    ),
];

const ORG_ROWS: &[Row] = &[
    (
        "name",
        FieldType::Text,
        "Nom de l'organisation partenaire",
        "Partner organisation name",
        "Fournil Dupré SARL",
    ),
    (
        "website",
        FieldType::Url,
        "Site web de l'organisation",
        "Organisation website",
        "https://fournil-dupre.example.org",
    ),
    (
        "city",
        FieldType::Text,
        "Ville de l'organisation",
        "Organisation city",
        "Lyon",
    ),
];

const OFFER_ROWS: &[Row] = &[
    (
        "title",
        FieldType::Text,
        "Intitulé de l'offre",
        "Offer title",
        "Chargé(e) de clientèle",
    ),
    (
        "reference",
        FieldType::Text,
        "Référence de l'offre",
        "Offer reference",
        "OF-2026-0042",
    ),
    (
        "url",
        FieldType::Url,
        "Lien vers l'offre",
        "Link to the offer",
        "https://amicale.example.org/offres/42",
    ),
];

const NETWORK_ROWS: &[Row] = &[
    (
        "name",
        FieldType::Text,
        "Nom du réseau",
        "Network name",
        "BGE Paris",
    ),
    (
        "url",
        FieldType::Url,
        "Adresse du site du réseau",
        "Network website",
        "https://amicale.example.org",
    ),
    (
        "contact_email",
        FieldType::Email,
        "E-mail de contact du réseau",
        "Network contact e-mail",
        "contact@amicale.example.org",
    ),
];

const SENDER_ROWS: &[Row] = &[
    (
        "name",
        FieldType::Text,
        "Nom de l'expéditeur",
        "Sender name",
        "Claire Lefèvre",
    ),
    (
        "email",
        FieldType::Email,
        "E-mail de l'expéditeur",
        "Sender e-mail",
        "claire.lefevre@amicale.example.org",
    ),
];

const TOP_ROWS: &[(Row, &[Trigger])] = &[
    (
        (
            "participants",
            FieldType::List,
            "Liste des participants (boucle : {% for p in participants %}{{ p.first_name }}{% endfor %})",
            "List of participants (loop: {% for p in participants %}{{ p.first_name }}{% endfor %})",
            "3 participants",
        ),
        EVENT,
    ),
    (
        (
            "unsubscribe_url",
            FieldType::Url,
            "Lien de désinscription",
            "Unsubscribe link",
            "https://amicale.example.org/desinscription/3f9a2c",
        ),
        BOTH,
    ),
];

fn push(out: &mut Vec<Field>, namespace: &'static str, rows: &[Row], triggers: &'static [Trigger]) {
    out.extend(rows.iter().map(|&(name, ty, fr, en, example)| Field {
        namespace,
        name,
        ty,
        fr,
        en,
        example,
        triggers,
    }));
}

static FIELDS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    let mut out = Vec::with_capacity(80);
    push(&mut out, "person", PERSON_ROWS, PERSON);
    push(&mut out, "event", EVENT_ROWS, EVENT);
    push(&mut out, "participant", PERSON_ROWS, EVENT);
    push(&mut out, "participant", PARTICIPANT_ROWS, EVENT);
    // The organisation and the offer are what a campaign is about; an
    // event's own organiser is the network, so only `org` also makes sense
    // when an event triggers the send.
    push(&mut out, "org", ORG_ROWS, BOTH);
    push(&mut out, "offer", OFFER_ROWS, PERSON);
    push(&mut out, "network", NETWORK_ROWS, BOTH);
    push(&mut out, "sender", SENDER_ROWS, BOTH);
    for &(row, triggers) in TOP_ROWS {
        push(&mut out, "", &[row], triggers);
    }
    out
});

/// Every merge field, grouped by namespace.
pub fn all() -> &'static [Field] {
    &FIELDS
}

/// Looks up a field by its template path (`person.first_name`,
/// `unsubscribe_url`).
pub fn find(path: &str) -> Option<&'static Field> {
    let (namespace, name) = path.split_once('.').unwrap_or(("", path));
    all()
        .iter()
        .find(|f| f.namespace == namespace && f.name == name)
}

/// Whether `name` is a namespace of fields (`person`, `event`…).
pub fn is_namespace(name: &str) -> bool {
    NAMESPACES.contains(&name)
}

// A few examples read oddly in an English preview; everything else (names,
// addresses) is the same in both languages.
fn english_example(field: &Field) -> Option<&'static str> {
    Some(match (field.namespace, field.name) {
        ("person" | "participant", "civility") => "Ms",
        ("person" | "participant", "job_title") => "Manager",
        ("participant", "presence") => "present",
        ("event", "title") => "“Cards in hand” workshop",
        ("event", "type") => "Workshop",
        ("event", "step") => "Emergence",
        ("offer", "title") => "Customer account manager",
        _ => return None,
    })
}

fn example_value(field: &Field, locale: Locale) -> Json {
    let text = match locale {
        Locale::En => english_example(field).unwrap_or(field.example),
        Locale::Fr => field.example,
    };
    match field.ty {
        FieldType::Number => text
            .parse::<i64>()
            .map_or_else(|_| Json::from(text), Json::from),
        FieldType::Boolean => Json::Bool(text == "true"),
        _ => Json::from(text),
    }
}

// Two more participants so that a preview of a collective event shows a loop.
const OTHER_PARTICIPANTS: [[(&str, &str); 5]; 2] = [
    [
        ("civility", "M."),
        ("first_name", "Karim"),
        ("last_name", "Benali"),
        ("email", "karim.benali@example.org"),
        ("mobile", "+33698765432"),
    ],
    [
        ("civility", "Mme"),
        ("first_name", "Sophie"),
        ("last_name", "Laurent"),
        ("email", "sophie.laurent@example.org"),
        ("mobile", "+33711223344"),
    ],
];

/// A realistic context holding every field of the catalogue with its example
/// value (French names, an event on 12 March 2026 at 14:30), for previews,
/// the catalogue page and tests. `participants` holds the participant plus
/// two others.
pub fn sample_context(locale: Locale) -> Json {
    let mut root = Map::new();
    for field in all() {
        if field.ty == FieldType::List {
            continue;
        }
        let value = example_value(field, locale);
        if field.namespace.is_empty() {
            root.insert(field.name.to_owned(), value);
        } else if let Json::Object(ns) = root
            .entry(field.namespace.to_owned())
            .or_insert_with(|| Json::Object(Map::new()))
        {
            ns.insert(field.name.to_owned(), value);
        }
    }
    let me = root.get("participant").cloned().unwrap_or(Json::Null);
    let mut participants = vec![me.clone()];
    for other in OTHER_PARTICIPANTS {
        let mut p = me.clone();
        if let Json::Object(map) = &mut p {
            for (k, v) in other {
                map.insert(k.to_owned(), Json::from(v));
            }
        }
        participants.push(p);
    }
    root.insert("participants".to_owned(), Json::Array(participants));
    Json::Object(root)
}
