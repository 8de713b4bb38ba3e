//! Converter from JUNGO2's signets (`${personne/personne_civilite}`,
//! `${action_date# j F Y à H:i}`,
//! `${tableN.action_beneficiaire_personne/personne_prenom}`) to merge
//! fields, so that a network moving from JUNGO2 keeps its templates.
//!
//! JUNGO2 signets name an object and an attribute. `personne/…` is the
//! recipient of a person-triggered send (`person.*`);
//! `action_beneficiaire_personne/…` is the participant of an event-triggered
//! send, and its per-participant forms `tableN.…` and `tab.…` (JUNGO2 §2.c:
//! "informations différentes selon les participants") are the same
//! `participant.*` here, since every participant receives their own copy.
//! `action_*` attributes, `action_site/…` and `action_animateur_intervenant/…`
//! are the event's. Text after `#` is a PHP date format and becomes the
//! `date` filter.
//!
//! Unknown signets are kept verbatim in the output and reported with their
//! position, never dropped. Literal `{{`, `{%` and `{#` of the source are
//! escaped so they print as written.

use crate::catalogue::{self, FieldType};

/// The result of a conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The template in Amicale's syntax.
    pub output: String,
    /// Signets that could not be converted, in source order; they are left
    /// verbatim in `output`.
    pub unknown: Vec<UnknownSignet>,
}

/// A signet the converter does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSignet {
    /// The signet's text between `${` and `}` (the rest of the line when it
    /// is not closed).
    pub signet: String,
    /// 1-based line of its `$`.
    pub line: usize,
    /// 1-based column (in characters) of its `$`.
    pub column: usize,
}

/// A signet never spans lines and is short; a `${` without a `}` within this
/// many characters is not a signet.
const MAX_SIGNET_LEN: usize = 200;

fn person_attribute(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "personne_civilite" => "civility",
        "personne_nom" => "last_name",
        "personne_prenom" => "first_name",
        "personne_email"
        | "personne_mail"
        | "personne_courriel"
        | "personne_email_principal"
        | "personne_mail_principal" => "email",
        "personne_telephone" | "personne_tel" | "personne_telephone_fixe" | "personne_fixe" => {
            "phone"
        }
        "personne_portable"
        | "personne_mobile"
        | "personne_telephone_portable"
        | "personne_telephone_mobile" => "mobile",
        "personne_adresse" | "personne_adresse_ligne1" | "personne_adresse_rue" => "address",
        "personne_adresse_cp"
        | "personne_adresse_code_postal"
        | "personne_code_postal"
        | "personne_cp" => "postal_code",
        "personne_adresse_ville" | "personne_ville" => "city",
        "personne_adresse_pays" | "personne_pays" => "country",
        "personne_date_naissance" | "personne_naissance" => "birth_date",
        _ => return None,
    })
}

fn facilitator_attribute(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "personne_prenom" => "event.facilitator_first_name",
        "personne_nom" => "event.facilitator_last_name",
        "personne_email"
        | "personne_mail"
        | "personne_courriel"
        | "personne_email_principal"
        | "personne_mail_principal" => "event.facilitator_email",
        _ => return None,
    })
}

fn site_attribute(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "site_nom" | "site_libelle" | "site_intitule" => "event.place",
        "site_adresse" | "site_adresse_ligne1" | "site_adresse_rue" => "event.address",
        "site_adresse_cp" | "site_adresse_code_postal" | "site_cp" | "site_code_postal" => {
            "event.postal_code"
        }
        "site_adresse_ville" | "site_ville" => "event.city",
        _ => return None,
    })
}

fn action_attribute(attr: &str) -> Option<&'static str> {
    Some(match attr {
        "action_date" | "action_date_debut" | "action_debut" => "event.start",
        "action_date_fin" | "action_fin" => "event.end",
        "action_objet" | "action_titre" | "action_intitule" | "action_libelle" | "action_nom" => {
            "event.title"
        }
        "action_type" | "action_type_action" => "event.type",
        "action_nature" => "event.nature",
        "action_etape" => "event.step",
        "action_lien_visio" | "action_visio" | "action_lien_visioconference" => "event.video_link",
        "action_ods" | "action_offre_service" | "action_programme" => "event.programme",
        "action_lieu" => "event.place",
        _ => return None,
    })
}

/// Strips JUNGO2's per-participant table prefix (`tableN.`, `table1.`,
/// `tab.`, `tabN.`).
fn strip_table_prefix(path: &str) -> &str {
    for stem in ["table", "tab"] {
        if let Some(rest) = path.strip_prefix(stem) {
            let rest = rest
                .strip_prefix('n')
                .unwrap_or_else(|| rest.trim_start_matches(|c: char| c.is_ascii_digit()));
            if let Some(rest) = rest.strip_prefix('.') {
                return rest.trim_start();
            }
        }
    }
    path
}

/// Maps a signet path (without format) to a merge-field path.
fn map_path(path: &str) -> Option<String> {
    let lower = path.trim().to_lowercase();
    let path = strip_table_prefix(&lower);
    match path.split_once('/') {
        Some((object, attr)) => {
            let (object, attr) = (object.trim(), attr.trim());
            match object {
                "personne" => person_attribute(attr).map(|f| format!("person.{f}")),
                "action_beneficiaire_personne" => {
                    person_attribute(attr).map(|f| format!("participant.{f}"))
                }
                "action_animateur_intervenant" => facilitator_attribute(attr).map(str::to_owned),
                "action_site" => site_attribute(attr).map(str::to_owned),
                _ => None,
            }
        }
        None => action_attribute(path).map(str::to_owned),
    }
}

/// A JUNGO2 date format inside a double-quoted template string.
fn quote(format: &str) -> String {
    let mut out = String::with_capacity(format.len() + 2);
    out.push('"');
    for c in format.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Converts one signet's inner text to a template tag, or `None` when it is
/// unknown.
fn convert_signet(inner: &str) -> Option<String> {
    let (path, format) = match inner.split_once('#') {
        Some((path, format)) => (path, Some(format.trim())),
        None => (inner, None),
    };
    let target = map_path(path)?;
    let ty = catalogue::find(&target)?.ty;
    let is_date = matches!(ty, FieldType::Date | FieldType::DateTime);
    Some(match (format, is_date) {
        (Some(f), true) if !f.is_empty() => format!("{{{{ {target} | date({}) }}}}", quote(f)),
        // A format on a field that is not a date has no meaning.
        (Some(_), false) => return None,
        // JUNGO2 printed bare dates the French way.
        (_, true) if ty == FieldType::DateTime => {
            format!("{{{{ {target} | date(\"d/m/Y H:i\") }}}}")
        }
        (_, true) => format!("{{{{ {target} | date(\"d/m/Y\") }}}}"),
        (_, false) => format!("{{{{ {target} }}}}"),
    })
}

enum Piece {
    Literal(String),
    Tag(String),
}

/// Converts a JUNGO2 template to Amicale's syntax.
pub fn convert(source: &str) -> Conversion {
    let mut pieces: Vec<Piece> = Vec::new();
    let mut unknown = Vec::new();
    let mut literal = String::new();
    let (mut line, mut column) = (1usize, 1usize);
    let mut rest = source;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("${") {
            let body = &rest[2..];
            let end = body
                .char_indices()
                .take(MAX_SIGNET_LEN)
                .find(|&(_, c)| matches!(c, '}' | '\n' | '{'))
                .filter(|&(_, c)| c == '}')
                .map(|(i, _)| i);
            let (inner, consumed) = match end {
                Some(i) => (&body[..i], 2 + i + 1),
                None => {
                    let line_end = body.find('\n').unwrap_or(body.len());
                    let shown = body[..line_end]
                        .chars()
                        .take(MAX_SIGNET_LEN)
                        .collect::<String>();
                    unknown.push(UnknownSignet {
                        signet: shown.trim().to_owned(),
                        line,
                        column,
                    });
                    literal.push_str("${");
                    rest = body;
                    column += 2;
                    continue;
                }
            };
            match convert_signet(inner) {
                Some(tag) => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Tag(tag));
                }
                None => {
                    unknown.push(UnknownSignet {
                        signet: inner.trim().to_owned(),
                        line,
                        column,
                    });
                    literal.push_str(&rest[..consumed]);
                }
            }
            column += rest[..consumed].chars().count();
            rest = &rest[consumed..];
            continue;
        }
        literal.push(c);
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Conversion {
        output: assemble(&pieces),
        unknown,
    }
}

/// Joins the pieces, escaping every `{` of literal text that would open a
/// tag, including one that ends a literal right before a generated tag.
fn assemble(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Tag(tag) => out.push_str(tag),
            Piece::Literal(text) => {
                let tag_follows = matches!(pieces.get(i + 1), Some(Piece::Tag(_)));
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    let opens = match chars.peek() {
                        Some(next) => matches!(next, '{' | '%' | '#'),
                        None => tag_follows,
                    };
                    if c == '{' && opens {
                        out.push_str("{{ \"{\" }}");
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths() {
        assert_eq!(
            map_path("personne/personne_civilite").as_deref(),
            Some("person.civility")
        );
        assert_eq!(
            map_path("tableN.action_beneficiaire_personne/personne_prenom").as_deref(),
            Some("participant.first_name")
        );
        assert_eq!(
            map_path("tab.action_beneficiaire_personne/personne_nom").as_deref(),
            Some("participant.last_name")
        );
        assert_eq!(
            map_path("table2.action_beneficiaire_personne/personne_nom").as_deref(),
            Some("participant.last_name")
        );
        assert_eq!(
            map_path("action_site/site_adresse_ville").as_deref(),
            Some("event.city")
        );
        assert_eq!(map_path("action_date").as_deref(), Some("event.start"));
        assert_eq!(map_path("personne/personne_surnom"), None);
        assert_eq!(map_path("tableau.personne/personne_nom"), None);
    }

    #[test]
    fn every_mapped_target_is_in_the_catalogue() {
        let attrs = [
            "personne_civilite",
            "personne_nom",
            "personne_prenom",
            "personne_email",
            "personne_telephone",
            "personne_portable",
            "personne_adresse",
            "personne_adresse_cp",
            "personne_adresse_ville",
            "personne_pays",
            "personne_date_naissance",
        ];
        for attr in attrs {
            for object in ["personne", "action_beneficiaire_personne"] {
                let target = map_path(&format!("{object}/{attr}")).unwrap();
                assert!(catalogue::find(&target).is_some(), "{target}");
            }
        }
        for signet in [
            "action_date",
            "action_date_fin",
            "action_objet",
            "action_type",
            "action_nature",
            "action_etape",
            "action_lien_visio",
            "action_ods",
            "action_site/site_nom",
            "action_site/site_adresse",
            "action_site/site_adresse_cp",
            "action_animateur_intervenant/personne_prenom",
            "action_animateur_intervenant/personne_nom",
            "action_animateur_intervenant/personne_email",
        ] {
            let target = map_path(signet).unwrap();
            assert!(catalogue::find(&target).is_some(), "{target}");
        }
    }
}
