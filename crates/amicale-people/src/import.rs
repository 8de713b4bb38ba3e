//! Spreadsheet (CSV/XLSX) import of members: recognising the columns whatever
//! language and spelling the file uses, then validating each row completely so
//! that the import report lists every problem at once.

use core::fmt;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use crate::normalise::{fold, fold_keeping_symbols};
use crate::{
    Civility, CommunityRole, Country, Date, Email, FieldError, Line, Phone, PromoYear, Text,
};

/// Longest value of a plain text field, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest notes, in characters.
pub const MAX_NOTES_CHARS: usize = 5000;

/// A column a member file may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportField {
    /// Prénom.
    FirstName,
    /// Nom de famille.
    LastName,
    /// Adresse e-mail.
    Email,
    /// Année de promotion.
    Promo,
    /// Cursus, programme.
    Cursus,
    /// Campus.
    Campus,
    /// Rôle(s) dans la communauté.
    Role,
    /// Civilité.
    Civility,
    /// Téléphone.
    Phone,
    /// Ville.
    City,
    /// Pays.
    Country,
    /// Nationalité.
    Nationality,
    /// Date de naissance.
    BirthDate,
    /// Entreprise.
    Company,
    /// Poste.
    JobTitle,
    /// Identifier of the person in another system.
    ExternalRef,
    /// Antenne (local chapter).
    Site,
    /// Compétences (list).
    Skills,
    /// Centres d'intérêt (list).
    Interests,
    /// Sports (list).
    Sports,
    /// Langues (list).
    Languages,
    /// Notes.
    Notes,
    /// Établissement.
    Establishment,
    /// Discipline.
    Discipline,
    /// Diplôme.
    Diploma,
    /// Consentement RGPD (yes/no).
    GdprConsent,
    /// Accepte les SMS (yes/no).
    SmsConsent,
}

/// Number of [`ImportField`] variants.
const FIELD_COUNT: usize = ImportField::ALL.len();

impl ImportField {
    /// Every field, in the order of a template file.
    pub const ALL: &'static [Self] = &[
        Self::FirstName,
        Self::LastName,
        Self::Email,
        Self::Promo,
        Self::Cursus,
        Self::Campus,
        Self::Role,
        Self::Civility,
        Self::Phone,
        Self::City,
        Self::Country,
        Self::Nationality,
        Self::BirthDate,
        Self::Company,
        Self::JobTitle,
        Self::ExternalRef,
        Self::Site,
        Self::Skills,
        Self::Interests,
        Self::Sports,
        Self::Languages,
        Self::Notes,
        Self::Establishment,
        Self::Discipline,
        Self::Diploma,
        Self::GdprConsent,
        Self::SmsConsent,
    ];

    /// Stable snake_case key, for the template file's headers, translation
    /// keys and logs.
    pub const fn key(self) -> &'static str {
        match self {
            Self::FirstName => "first_name",
            Self::LastName => "last_name",
            Self::Email => "email",
            Self::Promo => "promo",
            Self::Cursus => "cursus",
            Self::Campus => "campus",
            Self::Role => "role",
            Self::Civility => "civility",
            Self::Phone => "phone",
            Self::City => "city",
            Self::Country => "country",
            Self::Nationality => "nationality",
            Self::BirthDate => "birth_date",
            Self::Company => "company",
            Self::JobTitle => "job_title",
            Self::ExternalRef => "external_ref",
            Self::Site => "site",
            Self::Skills => "skills",
            Self::Interests => "interests",
            Self::Sports => "sports",
            Self::Languages => "languages",
            Self::Notes => "notes",
            Self::Establishment => "establishment",
            Self::Discipline => "discipline",
            Self::Diploma => "diploma",
            Self::GdprConsent => "gdpr_consent",
            Self::SmsConsent => "sms_consent",
        }
    }

    /// Recognises a column header, French or English, ignoring case, accents,
    /// spaces and punctuation (`Prénom`, `first_name`, `First Name`,
    /// `FIRSTNAME` are all [`Self::FirstName`]); the [`Self::key`] of every
    /// field is recognised too.
    pub fn from_header(header: &str) -> Option<Self> {
        let mut compact = fold(header);
        // Spaces are dropped, not just collapsed, so that "first name",
        // "first_name" and "firstname" meet.
        compact.retain(|c| c != ' ');
        Some(match compact.as_str() {
            "prenom" | "firstname" | "givenname" | "forename" => Self::FirstName,
            "nom" | "nomdefamille" | "lastname" | "surname" | "familyname" => Self::LastName,
            "email" | "mail" | "courriel" | "mel" | "adresseemail" | "adressemail"
            | "adressecourriel" | "emailaddress" => Self::Email,
            "promo" | "promotion" | "anneedepromotion" | "anneedepromo" | "anneepromo"
            | "anneedediplome" | "year" | "graduationyear" | "promoyear" | "classyear"
            | "classof" => Self::Promo,
            "cursus" | "programme" | "program" | "formation" | "parcours" => Self::Cursus,
            "campus" => Self::Campus,
            "role" | "roles" | "statut" | "status" | "communityrole" => Self::Role,
            "civilite" | "title" | "civility" | "salutation" => Self::Civility,
            "telephone" | "tel" | "phone" | "phonenumber" | "mobile" | "portable"
            | "telephoneportable" | "telephonemobile" | "mobilephone" | "numerodetelephone" => {
                Self::Phone
            }
            "ville" | "city" | "town" => Self::City,
            "pays" | "country" => Self::Country,
            "nationalite" | "nationality" => Self::Nationality,
            "datedenaissance" | "datenaissance" | "naissance" | "birthdate" | "dateofbirth"
            | "dob" => Self::BirthDate,
            "entreprise" | "societe" | "company" | "employer" | "employeur" | "organisation"
            | "organization" => Self::Company,
            "poste" | "fonction" | "jobtitle" | "position" | "intituledeposte" | "job" => {
                Self::JobTitle
            }
            "referenceexterne" | "refexterne" | "identifiantexterne" | "idexterne"
            | "externalref" | "externalreference" | "externalid" | "id" | "identifiant"
            | "matricule" => Self::ExternalRef,
            "antenne" | "site" | "chapter" => Self::Site,
            "competences" | "skills" => Self::Skills,
            "centresdinteret" | "centresdinterets" | "centredinteret" | "interets" | "interet"
            | "interests" | "hobbies" => Self::Interests,
            "sports" | "sport" => Self::Sports,
            "langues" | "langue" | "languesparlees" | "languages" | "spokenlanguages" => {
                Self::Languages
            }
            "notes" | "note" | "commentaire" | "commentaires" | "comments" => Self::Notes,
            "etablissement" | "ecole" | "school" | "establishment" | "institution" => {
                Self::Establishment
            }
            "discipline" | "field" | "fieldofstudy" | "major" | "filiere" | "specialite" => {
                Self::Discipline
            }
            "diplome" | "degree" | "diploma" => Self::Diploma,
            "consentementrgpd" | "rgpd" | "gdprconsent" | "gdpr" => Self::GdprConsent,
            "acceptelessms" | "acceptesms" | "consentementsms" | "smsconsent" | "sms" => {
                Self::SmsConsent
            }
            _ => return None,
        })
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for ImportField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why the header line of a file cannot be imported. Every problem is listed,
/// so the user fixes the file once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderError {
    /// Fields given by more than one column, with those columns (0-based).
    pub duplicates: Vec<(ImportField, Vec<usize>)>,
    /// Required fields without a column ([`ImportField::FirstName`],
    /// [`ImportField::LastName`]).
    pub missing: Vec<ImportField>,
    /// Neither an e-mail nor an external reference column: rows could not be
    /// matched to existing persons.
    pub missing_email_or_external_ref: bool,
    /// Headers that match no field, as written (they are not an error on
    /// their own, but the user will want to see them next to the errors).
    pub ignored: Vec<String>,
}

// For logs; users get a localised report built from the fields.
impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid header line:")?;
        for (field, columns) in &self.duplicates {
            write!(f, " duplicate {field} {columns:?};")?;
        }
        for field in &self.missing {
            write!(f, " missing {field};")?;
        }
        if self.missing_email_or_external_ref {
            f.write_str(" missing email or external_ref;")?;
        }
        Ok(())
    }
}

impl std::error::Error for HeaderError {}

/// Which column holds which field, from a file's header line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMap {
    columns: [Option<usize>; FIELD_COUNT],
    /// Headers that match no field, as written; their columns are not read.
    pub ignored: Vec<String>,
    default_country: Country,
}

impl HeaderMap {
    /// Recognises the header line. Blank headers (trailing separators) are
    /// skipped silently; other unknown headers end up in
    /// [`HeaderMap::ignored`]. Phone numbers are read as French unless
    /// [`Self::with_default_country`] says otherwise.
    ///
    /// # Errors
    ///
    /// A [`HeaderError`] when a field has several columns or a required column
    /// is missing.
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> Result<Self, HeaderError> {
        let mut found: [Vec<usize>; FIELD_COUNT] = [const { Vec::new() }; FIELD_COUNT];
        let mut ignored = Vec::new();
        for (column, header) in headers.iter().enumerate() {
            let header = header.as_ref().trim();
            match ImportField::from_header(header) {
                Some(field) => found[field.index()].push(column),
                None if fold(header).is_empty() => {}
                None => ignored.push(header.to_owned()),
            }
        }
        let mut error = HeaderError::default();
        for field in ImportField::ALL {
            let columns = &found[field.index()];
            if columns.len() > 1 {
                error.duplicates.push((*field, columns.clone()));
            }
        }
        for field in [ImportField::FirstName, ImportField::LastName] {
            if found[field.index()].is_empty() {
                error.missing.push(field);
            }
        }
        error.missing_email_or_external_ref = found[ImportField::Email.index()].is_empty()
            && found[ImportField::ExternalRef.index()].is_empty();
        if !error.duplicates.is_empty()
            || !error.missing.is_empty()
            || error.missing_email_or_external_ref
        {
            error.ignored = ignored;
            return Err(error);
        }
        Ok(Self {
            columns: found.map(|columns| columns.first().copied()),
            ignored,
            default_country: Country::France,
        })
    }

    /// Sets the country of phone numbers written without an international
    /// prefix.
    #[must_use]
    pub const fn with_default_country(mut self, country: Country) -> Self {
        self.default_country = country;
        self
    }

    /// Country of phone numbers written without an international prefix.
    pub const fn default_country(&self) -> Country {
        self.default_country
    }

    /// The 0-based column of `field`, if the file has one. Lets the
    /// application tell "column absent" (keep the stored value) from "cell
    /// empty" when updating existing persons.
    pub const fn column(&self, field: ImportField) -> Option<usize> {
        self.columns[field.index()]
    }

    /// Fields present in the file with their column, in field order.
    pub fn fields(&self) -> impl Iterator<Item = (ImportField, usize)> + '_ {
        ImportField::ALL
            .iter()
            .filter_map(|f| self.column(*f).map(|c| (*f, c)))
    }

    /// Validates one data row. Missing trailing cells count as empty.
    ///
    /// # Errors
    ///
    /// Every invalid field of the row, each once, in column order (a field
    /// without a column, such as the e-mail required in place of a missing
    /// external reference, comes last).
    pub fn parse_row<S: AsRef<str>>(
        &self,
        cells: &[S],
    ) -> Result<ImportRow, Vec<(ImportField, FieldError)>> {
        use ImportField as F;
        let mut r = RowReader {
            map: self,
            cells,
            errors: Vec::new(),
        };
        let first_name = r.required(F::FirstName);
        let last_name = r.required(F::LastName);
        let email = r.parsed(F::Email, Email::parse);
        let external_ref = r.text(F::ExternalRef, MAX_TEXT_CHARS);
        if r.cell(F::Email).is_empty() && r.cell(F::ExternalRef).is_empty() {
            r.errors.push((F::Email, FieldError::Required));
        }
        let country = self.default_country;
        let row = ImportRow {
            first_name,
            last_name,
            email,
            external_ref,
            promo: r.parsed(F::Promo, PromoYear::parse),
            cursus: r.text(F::Cursus, MAX_TEXT_CHARS),
            campus: r.text(F::Campus, MAX_TEXT_CHARS),
            roles: r.roles(),
            civility: r.parsed(F::Civility, Civility::parse),
            phone: r.parsed(F::Phone, |s| Phone::parse(s, country)),
            city: r.text(F::City, MAX_TEXT_CHARS),
            country: r.text(F::Country, MAX_TEXT_CHARS),
            nationality: r.text(F::Nationality, MAX_TEXT_CHARS),
            birth_date: r.parsed(F::BirthDate, Date::parse),
            company: r.text(F::Company, MAX_TEXT_CHARS),
            job_title: r.text(F::JobTitle, MAX_TEXT_CHARS),
            site: r.text(F::Site, MAX_TEXT_CHARS),
            skills: r.list(F::Skills),
            interests: r.list(F::Interests),
            sports: r.list(F::Sports),
            languages: r.list(F::Languages),
            notes: r.text(F::Notes, MAX_NOTES_CHARS),
            establishment: r.text(F::Establishment, MAX_TEXT_CHARS),
            discipline: r.text(F::Discipline, MAX_TEXT_CHARS),
            diploma: r.text(F::Diploma, MAX_TEXT_CHARS),
            gdpr_consent: r.boolean(F::GdprConsent),
            sms_consent: r.boolean(F::SmsConsent),
        };
        if r.errors.is_empty() {
            Ok(row)
        } else {
            let mut errors = r.errors;
            errors.sort_by_key(|(f, _)| self.column(*f).unwrap_or(usize::MAX));
            Err(errors)
        }
    }
}

/// One valid data row of a member file.
///
/// A plain record: each typed value is valid by construction and text values
/// are trimmed, non-empty and within their length limit. Yes/no fields read
/// `false` when their cell is empty or their column absent (see
/// [`HeaderMap::column`] to tell the two apart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// Prénom, never empty.
    pub first_name: String,
    /// Nom, never empty.
    pub last_name: String,
    /// E-mail address; when absent, [`Self::external_ref`] is present.
    pub email: Option<Email>,
    /// Identifier in another system; when absent, [`Self::email`] is present.
    pub external_ref: Option<String>,
    /// Promotion year.
    pub promo: Option<PromoYear>,
    /// Cursus.
    pub cursus: Option<String>,
    /// Campus.
    pub campus: Option<String>,
    /// Roles, without repeats, in the order given; empty when the cell is.
    pub roles: Vec<CommunityRole>,
    /// Civility.
    pub civility: Option<Civility>,
    /// Phone number.
    pub phone: Option<Phone>,
    /// City.
    pub city: Option<String>,
    /// Country, as written.
    pub country: Option<String>,
    /// Nationality, as written.
    pub nationality: Option<String>,
    /// Birth date.
    pub birth_date: Option<Date>,
    /// Company.
    pub company: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Site (antenne).
    pub site: Option<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Interests.
    pub interests: Vec<String>,
    /// Sports.
    pub sports: Vec<String>,
    /// Languages.
    pub languages: Vec<String>,
    /// Notes, up to [`MAX_NOTES_CHARS`] characters.
    pub notes: Option<String>,
    /// Establishment.
    pub establishment: Option<String>,
    /// Discipline.
    pub discipline: Option<String>,
    /// Diploma.
    pub diploma: Option<String>,
    /// GDPR consent given.
    pub gdpr_consent: bool,
    /// Accepts SMS.
    pub sms_consent: bool,
}

/// Reads the cells of one row, collecting errors instead of stopping at the
/// first so that the report is complete.
struct RowReader<'a, S> {
    map: &'a HeaderMap,
    cells: &'a [S],
    errors: Vec<(ImportField, FieldError)>,
}

impl<S: AsRef<str>> RowReader<'_, S> {
    fn cell(&self, field: ImportField) -> &str {
        self.map
            .column(field)
            .and_then(|c| self.cells.get(c))
            .map_or("", |s| s.as_ref().trim())
    }

    fn fail<T>(&mut self, field: ImportField, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.errors.push((field, e));
                None
            }
        }
    }

    /// A mandatory text; on error the empty string is returned, unseen since
    /// the row is then refused.
    fn required(&mut self, field: ImportField) -> String {
        let s = self.cell(field);
        let result = if s.is_empty() {
            Err(FieldError::Required)
        } else {
            Line::parse_max(s, MAX_TEXT_CHARS).map(Line::into_string)
        };
        self.fail(field, result).unwrap_or_default()
    }

    fn text(&mut self, field: ImportField, max_chars: usize) -> Option<String> {
        let s = self.cell(field);
        if s.is_empty() {
            return None;
        }
        // Notes alone may span lines; every other field is one line.
        let result = if field == ImportField::Notes {
            Text::parse_max(s, max_chars).map(Text::into_string)
        } else {
            Line::parse_max(s, max_chars).map(Line::into_string)
        };
        self.fail(field, result)
    }

    fn parsed<T>(
        &mut self,
        field: ImportField,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        let s = self.cell(field);
        if s.is_empty() {
            return None;
        }
        let result = parse(s);
        self.fail(field, result)
    }

    fn roles(&mut self) -> Vec<CommunityRole> {
        let mut roles = Vec::new();
        let mut error = None;
        for item in split_list(self.cell(ImportField::Role)) {
            match CommunityRole::parse(item) {
                Ok(role) if !roles.contains(&role) => roles.push(role),
                Ok(_) => {}
                Err(e) => error = error.or(Some(e)),
            }
        }
        if let Some(e) = error {
            self.errors.push((ImportField::Role, e));
        }
        roles
    }

    fn list(&mut self, field: ImportField) -> Vec<String> {
        let mut items: Vec<String> = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut error = None;
        for item in split_list(self.cell(field)) {
            if let Err(e) = Line::parse_max(item, MAX_TEXT_CHARS) {
                error = error.or(Some(e));
                continue;
            }
            // "Français, francais" is one language, but "C++, C#" are two
            // skills: symbols are significant.
            let key = fold_keeping_symbols(item);
            if !keys.contains(&key) {
                keys.push(key);
                items.push(item.to_owned());
            }
        }
        if let Some(e) = error {
            self.errors.push((field, e));
        }
        items
    }

    fn boolean(&mut self, field: ImportField) -> bool {
        let result = parse_bool(self.cell(field));
        self.fail(field, result).unwrap_or(false)
    }
}

/// Items of a list cell, separated by `,` or `;`, trimmed, empty ones dropped.
fn split_list(cell: &str) -> impl Iterator<Item = &str> {
    cell.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads a yes/no cell: `oui`, `yes`, `true`, `vrai`, `1`, `x`, `o`, `y`, `✓`
/// are yes; `non`, `no`, `false`, `faux`, `0`, `n` and the empty cell are no
/// (an unticked box is left empty), ignoring case and accents.
///
/// # Errors
///
/// [`FieldError::BoolInvalid`] for anything else.
pub fn parse_bool(input: &str) -> Result<bool, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(false);
    }
    if matches!(s, "✓" | "✔" | "☑") {
        return Ok(true);
    }
    match fold(s).as_str() {
        "oui" | "o" | "yes" | "y" | "true" | "vrai" | "1" | "x" => Ok(true),
        "non" | "n" | "no" | "false" | "faux" | "0" => Ok(false),
        _ => Err(FieldError::BoolInvalid),
    }
}

/// A row repeating the e-mail or external reference of an earlier row of the
/// same file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateInFile {
    /// The repeating row.
    pub row: usize,
    /// [`ImportField::Email`] or [`ImportField::ExternalRef`].
    pub field: ImportField,
    /// The first row holding that value.
    pub first_row: usize,
}

/// Finds rows whose e-mail (compared by [`Email::key`]) or external reference
/// (compared exactly, since other systems' identifiers may be case-sensitive)
/// already appeared in an earlier row. Row numbers are the caller's (file
/// line numbers, typically).
///
/// A row repeating both values is reported twice, once per field, since the
/// earlier rows may differ. Results follow the input order.
pub fn duplicate_keys<'a, I>(rows: I) -> Vec<DuplicateInFile>
where
    I: IntoIterator<Item = (usize, &'a ImportRow)>,
{
    let mut emails: HashMap<String, usize> = HashMap::new();
    let mut refs: HashMap<&'a str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (row, r) in rows {
        if let Some(email) = &r.email {
            match emails.entry(email.key()) {
                Entry::Occupied(e) => out.push(DuplicateInFile {
                    row,
                    field: ImportField::Email,
                    first_row: *e.get(),
                }),
                Entry::Vacant(e) => {
                    e.insert(row);
                }
            }
        }
        if let Some(external_ref) = r.external_ref.as_deref() {
            match refs.entry(external_ref) {
                Entry::Occupied(e) => out.push(DuplicateInFile {
                    row,
                    field: ImportField::ExternalRef,
                    first_row: *e.get(),
                }),
                Entry::Vacant(e) => {
                    e.insert(row);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
