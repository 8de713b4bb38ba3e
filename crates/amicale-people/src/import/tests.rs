use super::*;

const FULL_HEADERS: [&str; 27] = [
    "Prénom",
    "Nom",
    "E-mail",
    "Promo",
    "Cursus",
    "Campus",
    "Rôle",
    "Civilité",
    "Téléphone",
    "Ville",
    "Pays",
    "Nationalité",
    "Date de naissance",
    "Entreprise",
    "Poste",
    "Référence externe",
    "Antenne",
    "Compétences",
    "Centres d'intérêt",
    "Sports",
    "Langues",
    "Notes",
    "Établissement",
    "Discipline",
    "Diplôme",
    "Consentement RGPD",
    "Accepte les SMS",
];

fn map(headers: &[&str]) -> HeaderMap {
    HeaderMap::from_headers(headers).unwrap_or_else(|e| panic!("{e}"))
}

fn basic() -> HeaderMap {
    map(&["Prénom", "Nom", "Email", "Référence externe"])
}

#[test]
fn every_key_and_template_header_is_recognised() {
    for field in ImportField::ALL {
        assert_eq!(
            ImportField::from_header(field.key()),
            Some(*field),
            "{field}"
        );
        assert_eq!(
            ImportField::from_header(&field.key().to_uppercase()),
            Some(*field)
        );
    }
    for (header, field) in FULL_HEADERS.iter().zip(ImportField::ALL) {
        assert_eq!(ImportField::from_header(header), Some(*field), "{header}");
    }
    assert_eq!(ImportField::ALL.len(), 27);
}

#[test]
fn keys_are_unique_snake_case() {
    for (i, field) in ImportField::ALL.iter().enumerate() {
        assert_eq!(field.index(), i, "ALL must follow declaration order");
        let key = field.key();
        assert!(
            key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{key}"
        );
        assert!(ImportField::ALL[i + 1..].iter().all(|f| f.key() != key));
        assert_eq!(field.to_string(), key);
    }
}

#[test]
fn header_synonyms() {
    use ImportField as F;
    let cases: &[(&str, ImportField)] = &[
        ("Prénom", F::FirstName),
        ("prenom", F::FirstName),
        ("PRÉNOM", F::FirstName),
        ("first name", F::FirstName),
        ("FirstName", F::FirstName),
        ("first_name", F::FirstName),
        ("First-Name", F::FirstName),
        ("Given name", F::FirstName),
        ("\u{FEFF}Prénom", F::FirstName),
        ("  Prénom * ", F::FirstName),
        ("Nom", F::LastName),
        ("Nom de famille", F::LastName),
        ("last name", F::LastName),
        ("Surname", F::LastName),
        ("E-mail", F::Email),
        ("email", F::Email),
        ("Courriel", F::Email),
        ("Adresse e-mail", F::Email),
        ("Adresse mail", F::Email),
        ("mail", F::Email),
        ("Mél", F::Email),
        ("E-mail address", F::Email),
        ("Promo", F::Promo),
        ("Promotion", F::Promo),
        ("Année de promotion", F::Promo),
        ("year", F::Promo),
        ("Graduation year", F::Promo),
        ("promo year", F::Promo),
        ("Cursus", F::Cursus),
        ("Programme", F::Cursus),
        ("program", F::Cursus),
        ("Formation", F::Cursus),
        ("Campus", F::Campus),
        ("Rôle", F::Role),
        ("role", F::Role),
        ("Statut", F::Role),
        ("Civilité", F::Civility),
        ("Title", F::Civility),
        ("civility", F::Civility),
        ("Téléphone", F::Phone),
        ("Tél.", F::Phone),
        ("phone", F::Phone),
        ("Mobile", F::Phone),
        ("Portable", F::Phone),
        ("Ville", F::City),
        ("City", F::City),
        ("Pays", F::Country),
        ("country", F::Country),
        ("Nationalité", F::Nationality),
        ("nationality", F::Nationality),
        ("Date de naissance", F::BirthDate),
        ("birth date", F::BirthDate),
        ("Date of birth", F::BirthDate),
        ("Entreprise", F::Company),
        ("Société", F::Company),
        ("company", F::Company),
        ("Employer", F::Company),
        ("Poste", F::JobTitle),
        ("Fonction", F::JobTitle),
        ("Job title", F::JobTitle),
        ("position", F::JobTitle),
        ("Référence externe", F::ExternalRef),
        ("Identifiant externe", F::ExternalRef),
        ("external ref", F::ExternalRef),
        ("External ID", F::ExternalRef),
        ("ID", F::ExternalRef),
        ("Antenne", F::Site),
        ("site", F::Site),
        ("Compétences", F::Skills),
        ("skills", F::Skills),
        ("Centres d'intérêt", F::Interests),
        ("Centres d’intérêts", F::Interests),
        ("Intérêts", F::Interests),
        ("interests", F::Interests),
        ("Sports", F::Sports),
        ("Langues", F::Languages),
        ("languages", F::Languages),
        ("Notes", F::Notes),
        ("Établissement", F::Establishment),
        ("ETABLISSEMENT", F::Establishment),
        ("school", F::Establishment),
        ("establishment", F::Establishment),
        ("Discipline", F::Discipline),
        ("field", F::Discipline),
        ("Major", F::Discipline),
        ("Diplôme", F::Diploma),
        ("degree", F::Diploma),
        ("diploma", F::Diploma),
        ("Consentement RGPD", F::GdprConsent),
        ("GDPR consent", F::GdprConsent),
        ("Accepte les SMS", F::SmsConsent),
        ("SMS consent", F::SmsConsent),
    ];
    for (header, field) in cases {
        assert_eq!(ImportField::from_header(header), Some(*field), "{header:?}");
    }
    for header in ["", " ", "Nom complet", "Name", "Adresse", "Colonne 1", "*"] {
        assert_eq!(ImportField::from_header(header), None, "{header:?}");
    }
}

#[test]
fn header_map_full_file() {
    let m = map(&FULL_HEADERS);
    assert!(m.ignored.is_empty());
    for (i, field) in ImportField::ALL.iter().enumerate() {
        assert_eq!(m.column(*field), Some(i));
    }
    assert_eq!(m.fields().count(), 27);
    assert_eq!(m.default_country(), Country::France);
}

#[test]
fn header_map_ignores_unknown_and_blank_headers() {
    let m = map(&[
        "Nom",
        "Commentaire interne",
        "Prénom",
        "",
        "  ",
        "Mail",
        "Colonne X",
    ]);
    assert_eq!(
        m.ignored,
        ["Commentaire interne", "Colonne X"].map(String::from)
    );
    assert_eq!(m.column(ImportField::LastName), Some(0));
    assert_eq!(m.column(ImportField::FirstName), Some(2));
    assert_eq!(m.column(ImportField::Email), Some(5));
    assert_eq!(m.column(ImportField::Phone), None);
    let fields: Vec<_> = m.fields().collect();
    assert_eq!(
        fields,
        [
            (ImportField::FirstName, 2),
            (ImportField::LastName, 0),
            (ImportField::Email, 5)
        ]
    );
}

#[test]
fn external_ref_alone_identifies_rows() {
    let m = map(&["first name", "last name", "external id"]);
    assert_eq!(m.column(ImportField::Email), None);
    let row = m.parse_row(&["Ana", "Silva", "X-42"]).unwrap();
    assert_eq!(row.external_ref.as_deref(), Some("X-42"));
    assert_eq!(row.email, None);
}

#[test]
fn header_errors_are_all_reported() {
    let err = HeaderMap::from_headers(&["Email", "Courriel", "Ville", "Pays", "city", "Foo"])
        .unwrap_err();
    assert_eq!(
        err.duplicates,
        [
            (ImportField::Email, vec![0, 1]),
            (ImportField::City, vec![2, 4])
        ]
    );
    assert_eq!(err.missing, [ImportField::FirstName, ImportField::LastName]);
    assert!(!err.missing_email_or_external_ref);
    assert_eq!(err.ignored, ["Foo"]);
    assert!(err.to_string().contains("missing first_name"));

    let err = HeaderMap::from_headers(&["Prénom", "Nom", "Ville"]).unwrap_err();
    assert!(err.duplicates.is_empty());
    assert!(err.missing.is_empty());
    assert!(err.missing_email_or_external_ref);

    let err = HeaderMap::from_headers::<&str>(&[]).unwrap_err();
    assert_eq!(err.missing.len(), 2);
    assert!(err.missing_email_or_external_ref);
}

#[test]
fn header_map_takes_owned_strings() {
    let headers: Vec<String> = vec!["Prénom".into(), "Nom".into(), "Email".into()];
    let m = HeaderMap::from_headers(&headers).unwrap();
    let cells: Vec<String> = vec!["Ana".into(), "Silva".into(), "ana@example.org".into()];
    assert!(m.parse_row(&cells).is_ok());
}

#[test]
fn full_valid_row() {
    let m = map(&FULL_HEADERS);
    let cells = [
        " Hélène ",
        "Dupré",
        "Helene.Dupre@Exemple.FR",
        "2015",
        "Ingénieur",
        "Lyon",
        "Diplômée; Enseignante, diplômé",
        "Mme",
        "06 12 34 56 78",
        "Lyon",
        "France",
        "Française",
        "29/02/2000",
        "Société Générale",
        "Cheffe de projet",
        "EXT-001",
        "Rhône-Alpes",
        "Rust, SQL ; rust,,",
        "Voile; lecture",
        "Tennis",
        "Français, Anglais",
        "Rencontrée au gala.\nÀ recontacter.",
        "École Centrale",
        "Informatique",
        "Master",
        "oui",
        "X",
    ];
    let row = m.parse_row(&cells).unwrap();
    assert_eq!(row.first_name, "Hélène");
    assert_eq!(row.last_name, "Dupré");
    assert_eq!(
        row.email.as_ref().map(Email::as_str),
        Some("Helene.Dupre@exemple.fr")
    );
    assert_eq!(row.promo.map(PromoYear::get), Some(2015));
    assert_eq!(row.cursus.as_deref(), Some("Ingénieur"));
    assert_eq!(row.campus.as_deref(), Some("Lyon"));
    assert_eq!(row.roles, [CommunityRole::Alumni, CommunityRole::Teacher]);
    assert_eq!(row.civility, Some(Civility::Mrs));
    assert_eq!(row.phone.as_ref().map(Phone::e164), Some("+33612345678"));
    assert_eq!(row.city.as_deref(), Some("Lyon"));
    assert_eq!(row.country.as_deref(), Some("France"));
    assert_eq!(row.nationality.as_deref(), Some("Française"));
    assert_eq!(row.birth_date, Date::new(2000, 2, 29).ok());
    assert_eq!(row.company.as_deref(), Some("Société Générale"));
    assert_eq!(row.job_title.as_deref(), Some("Cheffe de projet"));
    assert_eq!(row.external_ref.as_deref(), Some("EXT-001"));
    assert_eq!(row.site.as_deref(), Some("Rhône-Alpes"));
    assert_eq!(row.skills, ["Rust", "SQL"]);
    assert_eq!(row.interests, ["Voile", "lecture"]);
    assert_eq!(row.sports, ["Tennis"]);
    assert_eq!(row.languages, ["Français", "Anglais"]);
    assert_eq!(
        row.notes.as_deref(),
        Some("Rencontrée au gala.\nÀ recontacter.")
    );
    assert_eq!(row.establishment.as_deref(), Some("École Centrale"));
    assert_eq!(row.discipline.as_deref(), Some("Informatique"));
    assert_eq!(row.diploma.as_deref(), Some("Master"));
    assert!(row.gdpr_consent);
    assert!(row.sms_consent);
}

#[test]
fn minimal_row_and_short_rows() {
    let m = map(&FULL_HEADERS);
    // Spreadsheets drop trailing empty cells.
    let row = m
        .parse_row(&["Jean", "Martin", "jean@example.org"])
        .unwrap();
    assert_eq!(row.promo, None);
    assert!(row.roles.is_empty());
    assert!(row.skills.is_empty());
    assert_eq!(row.notes, None);
    assert!(!row.gdpr_consent);
    assert!(!row.sms_consent);
    // Extra cells beyond the header are not read.
    let m = basic();
    assert!(
        m.parse_row(&["Jean", "Martin", "", "R1", "surplus"])
            .is_ok()
    );
}

#[test]
fn every_bad_field_is_reported() {
    let m = map(&FULL_HEADERS);
    let mut cells = [""; 27];
    cells[0] = "Jean";
    cells[2] = "jean@@example.org";
    cells[3] = "1850";
    cells[6] = "alumni, directeur";
    cells[7] = "Dr";
    cells[8] = "06 12";
    cells[12] = "31/02/2000";
    let long = "x".repeat(201);
    cells[13] = &long;
    let notes = "n".repeat(5001);
    cells[21] = &notes;
    cells[25] = "peut-être";
    cells[26] = "2";
    let errors = m.parse_row(&cells).unwrap_err();
    use ImportField as F;
    assert_eq!(
        errors,
        [
            (F::LastName, FieldError::Required),
            (F::Email, FieldError::EmailInvalid),
            (F::Promo, FieldError::PromoOutOfRange),
            (F::Role, FieldError::RoleUnknown),
            (F::Civility, FieldError::CivilityUnknown),
            (F::Phone, FieldError::PhoneInvalid),
            (F::BirthDate, FieldError::DateInvalid),
            (F::Company, FieldError::TooLong),
            (F::Notes, FieldError::TooLong),
            (F::GdprConsent, FieldError::BoolInvalid),
            (F::SmsConsent, FieldError::BoolInvalid),
        ]
    );
}

#[test]
fn errors_follow_column_order() {
    let m = map(&["Promo", "Nom", "Prénom", "Email"]);
    let errors = m.parse_row(&["abc", "", "", "x"]).unwrap_err();
    assert_eq!(
        errors,
        [
            (ImportField::Promo, FieldError::NotANumber),
            (ImportField::LastName, FieldError::Required),
            (ImportField::FirstName, FieldError::Required),
            (ImportField::Email, FieldError::EmailInvalid),
        ]
    );
}

#[test]
fn email_or_external_ref_required() {
    let m = basic();
    assert_eq!(
        m.parse_row(&["Jean", "Martin", "", ""]).unwrap_err(),
        [(ImportField::Email, FieldError::Required)]
    );
    assert_eq!(
        m.parse_row(&["Jean", "Martin", "  ", " "]).unwrap_err(),
        [(ImportField::Email, FieldError::Required)]
    );
    let row = m.parse_row(&["Jean", "Martin", "", "R1"]).unwrap();
    assert_eq!(row.email, None);
    assert_eq!(row.external_ref.as_deref(), Some("R1"));
    // A bad e-mail is reported as bad, not as missing.
    assert_eq!(
        m.parse_row(&["Jean", "Martin", "jean", ""]).unwrap_err(),
        [(ImportField::Email, FieldError::EmailInvalid)]
    );
    // Without an e-mail column, the error still points at the e-mail field,
    // after the fields that have columns.
    let m = map(&["Nom", "ID", "Prénom"]);
    assert_eq!(
        m.parse_row(&["", "", "Jean"]).unwrap_err(),
        [
            (ImportField::LastName, FieldError::Required),
            (ImportField::Email, FieldError::Required)
        ]
    );
}

#[test]
fn names_are_trimmed_and_bounded() {
    let m = basic();
    let row = m
        .parse_row(&["  Jean-Pierre\t", " Le Gall ", "jp@example.org", ""])
        .unwrap();
    assert_eq!(
        (row.first_name.as_str(), row.last_name.as_str()),
        ("Jean-Pierre", "Le Gall")
    );
    let at_limit = "é".repeat(MAX_TEXT_CHARS);
    assert!(m.parse_row(&[&at_limit, "X", "a@b.fr", ""]).is_ok());
    let over = "é".repeat(MAX_TEXT_CHARS + 1);
    assert_eq!(
        m.parse_row(&[&over, "X", "a@b.fr", &over]).unwrap_err(),
        [
            (ImportField::FirstName, FieldError::TooLong),
            (ImportField::ExternalRef, FieldError::TooLong)
        ]
    );
}

#[test]
fn roles_cell() {
    let m = map(&["Prénom", "Nom", "Email", "Rôle"]);
    let roles = |cell: &str| m.parse_row(&["A", "B", "a@b.fr", cell]).map(|r| r.roles);
    assert_eq!(roles(""), Ok(vec![]));
    assert_eq!(roles("Étudiant"), Ok(vec![CommunityRole::Student]));
    assert_eq!(
        roles("alumni;Recruteur , partenaire"),
        Ok(vec![
            CommunityRole::Alumni,
            CommunityRole::Recruiter,
            CommunityRole::Partner
        ])
    );
    assert_eq!(
        roles("Ancien ; diplômé ; ALUMNI"),
        Ok(vec![CommunityRole::Alumni])
    );
    assert_eq!(roles(" ; , "), Ok(vec![]));
    // Several unknown roles are still one error on the field.
    assert_eq!(
        roles("pilote, astronaute, staff"),
        Err(vec![(ImportField::Role, FieldError::RoleUnknown)])
    );
}

#[test]
fn list_cells() {
    let m = map(&["Prénom", "Nom", "Email", "Compétences", "Langues"]);
    let row = m
        .parse_row(&[
            "A",
            "B",
            "a@b.fr",
            " Gestion de projet ;Rust,rust , RUST; ; C++",
            "Français;français;FRANCAIS",
        ])
        .unwrap();
    assert_eq!(row.skills, ["Gestion de projet", "Rust", "C++"]);
    assert_eq!(row.languages, ["Français"]);
    // Symbols tell skills apart.
    let row = m
        .parse_row(&["A", "B", "a@b.fr", "C++, C#, C, c++", "+, +, -"])
        .unwrap();
    assert_eq!(row.skills, ["C++", "C#", "C"]);
    assert_eq!(row.languages, ["+", "-"]);
    let long = format!("ok, {}", "s".repeat(MAX_TEXT_CHARS + 1));
    assert_eq!(
        m.parse_row(&["A", "B", "a@b.fr", &long, ""]).unwrap_err(),
        [(ImportField::Skills, FieldError::TooLong)]
    );
}

#[test]
fn boolean_cells() {
    for s in [
        "oui", "OUI", "Oui", "yes", "Y", "o", "true", "TRUE", "vrai", "1", "x", "X", "✓", " oui ",
    ] {
        assert_eq!(parse_bool(s), Ok(true), "{s:?}");
    }
    for s in ["", "  ", "non", "NON", "no", "n", "false", "faux", "0"] {
        assert_eq!(parse_bool(s), Ok(false), "{s:?}");
    }
    for s in ["peut-être", "2", "oui non", "-", "✗", "nope"] {
        assert_eq!(parse_bool(s), Err(FieldError::BoolInvalid), "{s:?}");
    }
}

#[test]
fn dates_in_rows() {
    let m = map(&["Prénom", "Nom", "Email", "Date de naissance"]);
    let date = |cell: &str| {
        m.parse_row(&["A", "B", "a@b.fr", cell])
            .map(|r| r.birth_date)
    };
    assert_eq!(date("29/02/2000"), Ok(Date::new(2000, 2, 29).ok()));
    assert_eq!(date("2000-02-29"), Ok(Date::new(2000, 2, 29).ok()));
    assert_eq!(date(""), Ok(None));
    assert_eq!(
        date("31/02/2000"),
        Err(vec![(ImportField::BirthDate, FieldError::DateInvalid)])
    );
    assert_eq!(
        date("29/02/2001"),
        Err(vec![(ImportField::BirthDate, FieldError::DateInvalid)])
    );
}

#[test]
fn phone_default_country() {
    let m = map(&["Prénom", "Nom", "Email", "Mobile"]);
    let row = m
        .parse_row(&["A", "B", "a@b.fr", "06 12 34 56 78"])
        .unwrap();
    assert_eq!(
        row.phone.map(Phone::into_string).as_deref(),
        Some("+33612345678")
    );
    let be = m.with_default_country(Country::Belgium);
    assert_eq!(be.default_country(), Country::Belgium);
    let row = be
        .parse_row(&["A", "B", "a@b.fr", "0470 12 34 56"])
        .unwrap();
    assert_eq!(
        row.phone.map(Phone::into_string).as_deref(),
        Some("+32470123456")
    );
}

#[test]
fn duplicates_within_the_file() {
    let m = basic();
    let rows: Vec<ImportRow> = [
        ["Jean", "Martin", "Jean.Martin@example.org", "A1"],
        ["Ana", "Silva", "ana@example.org", ""],
        ["J.", "Martin", "jean.martin@EXAMPLE.org", ""],
        ["Paul", "Durand", "", "A1"],
        ["Lea", "Roux", "ana@example.org", "A1"],
        ["Zoé", "Petit", "", "a1"],
    ]
    .iter()
    .map(|cells| m.parse_row(cells).unwrap())
    .collect();
    // Row numbers as a spreadsheet shows them: the header is row 1.
    let found = duplicate_keys(rows.iter().enumerate().map(|(i, r)| (i + 2, r)));
    let dup = |row, field, first_row| DuplicateInFile {
        row,
        field,
        first_row,
    };
    assert_eq!(
        found,
        [
            dup(4, ImportField::Email, 2),
            dup(5, ImportField::ExternalRef, 2),
            dup(6, ImportField::Email, 3),
            dup(6, ImportField::ExternalRef, 2),
        ]
    );
    assert!(duplicate_keys(core::iter::empty()).is_empty());
}

#[test]
fn header_map_round_trips_template_keys() {
    // A file written from the keys (the downloadable template) reads back.
    let keys: Vec<&str> = ImportField::ALL.iter().map(|f| f.key()).collect();
    let m = map(&keys);
    assert!(m.ignored.is_empty());
    assert_eq!(m.fields().count(), ImportField::ALL.len());
}

#[test]
fn control_characters_are_refused_in_every_text_field() {
    let m = map(&["Prénom", "Nom", "E-mail", "Ville", "Compétences", "Notes"]);
    let errors = m
        .parse_row(&[
            "Ann\rBob",
            "Dupré",
            "a@b.fr",
            "Par\u{1b}is",
            "Rust,C\u{0}",
            "ok",
        ])
        .unwrap_err();
    let codes: Vec<_> = errors.iter().map(|(f, e)| (f.key(), e.code())).collect();
    assert_eq!(
        codes,
        [
            ("first_name", "control-char"),
            ("city", "control-char"),
            ("skills", "control-char")
        ]
    );
    // Notes span lines: CRLF is read as a newline, a lone CR is refused.
    let row = m
        .parse_row(&["Ann", "Bob", "a@b.fr", "", "", "one\r\ntwo\tthree"])
        .unwrap();
    assert_eq!(row.notes.as_deref(), Some("one\ntwo\tthree"));
    let errors = m
        .parse_row(&["Ann", "Bob", "a@b.fr", "", "", "one\rtwo"])
        .unwrap_err();
    assert_eq!(errors, [(ImportField::Notes, FieldError::ControlChar)]);
}
