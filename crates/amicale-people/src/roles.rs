//! Community roles and civilities, with the many ways member files spell them.

use core::fmt;
use core::str::FromStr;

use crate::FieldError;
use crate::normalise::fold;

/// A member's relation to the school.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommunityRole {
    /// Currently enrolled.
    Student,
    /// Graduated or former student.
    Alumni,
    /// Teaching staff.
    Teacher,
    /// Non-teaching staff.
    Staff,
    /// Recruiter of a company hiring from the network.
    Recruiter,
    /// Representative of a partner organisation.
    Partner,
}

impl CommunityRole {
    /// Every role, in the order shown in menus.
    pub const ALL: &'static [Self] = &[
        Self::Student,
        Self::Alumni,
        Self::Teacher,
        Self::Staff,
        Self::Recruiter,
        Self::Partner,
    ];

    /// Stable code, as stored in `persons.community_role`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Student => "student",
            Self::Alumni => "alumni",
            Self::Teacher => "teacher",
            Self::Staff => "staff",
            Self::Recruiter => "recruiter",
            Self::Partner => "partner",
        }
    }

    /// Reads a code, a French or English label or a common variant,
    /// ignoring case, accents, plural and inclusive-writing suffixes
    /// (`étudiant·e`, `diplômé(e)s`).
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty, [`FieldError::RoleUnknown`]
    /// otherwise.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let folded = fold(input);
        if folded.is_empty() {
            return Err(if input.trim().is_empty() {
                FieldError::Required
            } else {
                FieldError::RoleUnknown
            });
        }
        let word = strip_inclusive_suffix(&folded);
        Ok(match word {
            "student" | "students" | "etudiant" | "etudiante" | "etudiants" | "etudiantes"
            | "eleve" | "eleves" => Self::Student,
            "alumni"
            | "alumnus"
            | "alumna"
            | "alumnae"
            | "alum"
            | "graduate"
            | "graduates"
            | "diplome"
            | "diplomee"
            | "diplomes"
            | "diplomees"
            | "ancien"
            | "ancienne"
            | "anciens"
            | "anciennes"
            | "ancien eleve"
            | "ancienne eleve"
            | "anciens eleves"
            | "anciennes eleves"
            | "ancien etudiant"
            | "ancienne etudiante"
            | "anciens etudiants"
            | "anciennes etudiantes" => Self::Alumni,
            "teacher"
            | "teachers"
            | "faculty"
            | "professor"
            | "lecturer"
            | "enseignant"
            | "enseignante"
            | "enseignants"
            | "enseignantes"
            | "professeur"
            | "professeure"
            | "professeurs"
            | "professeures"
            | "prof"
            | "profs"
            | "enseignant chercheur"
            | "enseignante chercheuse"
            | "enseignants chercheurs" => Self::Teacher,
            "staff"
            | "staff member"
            | "employee"
            | "employees"
            | "personnel"
            | "membre du personnel"
            | "employe"
            | "employes"
            | "salarie"
            | "salariee"
            | "salaries"
            | "salariees" => Self::Staff,
            "recruiter" | "recruiters" | "recruteur" | "recruteuse" | "recruteurs"
            | "recruteuses" => Self::Recruiter,
            "partner" | "partners" | "partenaire" | "partenaires" => Self::Partner,
            _ => return Err(FieldError::RoleUnknown),
        })
    }
}

/// Removes the feminine/plural marks of French inclusive writing, which
/// [`fold`] has turned into separate words (`diplômé·e·s` → `diplome e s`,
/// `ancien·ne` → `ancien ne`).
fn strip_inclusive_suffix(folded: &str) -> &str {
    [" e s", " es", " e", " ne s", " nes", " ne"]
        .iter()
        .find_map(|suffix| folded.strip_suffix(suffix))
        .unwrap_or(folded)
}

impl fmt::Display for CommunityRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CommunityRole {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// How to address a member in letters and e-mails.
///
/// The stored code is the French abbreviation itself (`M.`, `Mme`), which is
/// what `persons.civility` already holds and what mail-merge templates print;
/// [`Civility::Other`] is stored as an empty string and means "no title":
/// greetings then use the name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Civility {
    /// Monsieur / Mr.
    Mr,
    /// Madame / Mrs / Ms (French uses one title for every woman).
    Mrs,
    /// Neither: neutral (Mx) or declined.
    Other,
}

impl Civility {
    /// Every civility, in the order shown in menus.
    pub const ALL: &'static [Self] = &[Self::Mr, Self::Mrs, Self::Other];

    /// Stored code: `"M."`, `"Mme"` or `""`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mr => "M.",
            Self::Mrs => "Mme",
            Self::Other => "",
        }
    }

    /// Reads back a stored code exactly as [`Self::as_str`] wrote it.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// Reads what users and spreadsheets write: `M`, `M.`, `Mr`, `Monsieur`,
    /// `Mme`, `Madame`, `Mrs`, `Ms`, `Mlle`, `Mademoiselle`, `Miss` or `Mx`,
    /// `Autre`, `Other`, ignoring case, accents and dots.
    ///
    /// # Errors
    ///
    /// [`FieldError::Required`] when empty (an unknown civility is a missing
    /// value, not [`Self::Other`]), [`FieldError::CivilityUnknown`] otherwise.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        if input.trim().is_empty() {
            return Err(FieldError::Required);
        }
        Ok(match fold(input).as_str() {
            "m" | "mr" | "monsieur" | "mister" | "sir" => Self::Mr,
            // "Mlle" is no longer used officially in France; it reads as "Mme".
            "mme" | "madame" | "mrs" | "ms" | "mlle" | "mademoiselle" | "miss" => Self::Mrs,
            "mx" | "autre" | "other" | "neutre" | "neutral" => Self::Other,
            _ => return Err(FieldError::CivilityUnknown),
        })
    }
}

impl fmt::Display for Civility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Civility {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_codes_round_trip() {
        for role in CommunityRole::ALL {
            assert_eq!(CommunityRole::parse(role.as_str()), Ok(*role));
            assert_eq!(role.to_string().parse::<CommunityRole>(), Ok(*role));
        }
        assert_eq!(CommunityRole::ALL.len(), 6);
    }

    #[test]
    fn role_french_labels_and_variants() {
        use CommunityRole::*;
        let cases = [
            ("Étudiant", Student),
            ("etudiant", Student),
            ("ÉTUDIANTE", Student),
            ("élève", Student),
            ("Student", Student),
            ("étudiant·e", Student),
            ("étudiant(e)", Student),
            ("Diplômé", Alumni),
            ("diplome", Alumni),
            ("Diplômée", Alumni),
            ("diplômé·e·s", Alumni),
            ("diplômé.e", Alumni),
            ("Ancien", Alumni),
            ("Ancienne", Alumni),
            ("ancien·ne", Alumni),
            ("ancien(ne)s", Alumni),
            ("ancien élève", Alumni),
            ("Alumnus", Alumni),
            ("ALUMNI", Alumni),
            ("graduate", Alumni),
            ("Enseignant", Teacher),
            ("enseignante", Teacher),
            ("Professeur", Teacher),
            ("professeure", Teacher),
            ("teacher", Teacher),
            ("Faculty", Teacher),
            ("enseignant-chercheur", Teacher),
            ("Personnel", Staff),
            ("staff", Staff),
            ("Employé", Staff),
            ("employée", Staff),
            ("Recruteur", Recruiter),
            ("recruteuse", Recruiter),
            ("Recruiter", Recruiter),
            ("Partenaire", Partner),
            ("partner", Partner),
            ("  PARTENAIRES ", Partner),
        ];
        for (input, role) in cases {
            assert_eq!(CommunityRole::parse(input), Ok(role), "{input:?}");
        }
    }

    #[test]
    fn role_errors() {
        assert_eq!(CommunityRole::parse(""), Err(FieldError::Required));
        assert_eq!(CommunityRole::parse("  "), Err(FieldError::Required));
        for s in ["admin", "étudiant alumni", "-", "stud", "e"] {
            assert_eq!(
                CommunityRole::parse(s),
                Err(FieldError::RoleUnknown),
                "{s:?}"
            );
        }
    }

    #[test]
    fn civility_variants() {
        use Civility::*;
        for (input, c) in [
            ("M", Mr),
            ("M.", Mr),
            ("m.", Mr),
            ("Mr", Mr),
            ("Mr.", Mr),
            ("Monsieur", Mr),
            ("MONSIEUR", Mr),
            ("Mme", Mrs),
            ("Mme.", Mrs),
            ("Madame", Mrs),
            ("Mrs", Mrs),
            ("Ms", Mrs),
            ("Ms.", Mrs),
            ("Mlle", Mrs),
            ("Mademoiselle", Mrs),
            ("Mx", Other),
            ("Autre", Other),
            ("other", Other),
        ] {
            assert_eq!(Civility::parse(input), Ok(c), "{input:?}");
        }
        assert_eq!(Civility::parse(""), Err(FieldError::Required));
        assert_eq!(Civility::parse("Dr"), Err(FieldError::CivilityUnknown));
        assert_eq!(Civility::parse("."), Err(FieldError::CivilityUnknown));
        assert_eq!(
            Civility::parse("M. et Mme"),
            Err(FieldError::CivilityUnknown)
        );
    }

    #[test]
    fn civility_codes() {
        assert_eq!(Civility::Mr.as_str(), "M.");
        assert_eq!(Civility::Mrs.as_str(), "Mme");
        assert_eq!(Civility::Other.as_str(), "");
        for c in Civility::ALL {
            assert_eq!(Civility::from_code(c.as_str()), Some(*c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Civility::parse(Civility::Mr.as_str()), Ok(Civility::Mr));
        assert_eq!(Civility::parse(Civility::Mrs.as_str()), Ok(Civility::Mrs));
        assert_eq!(Civility::from_code("Monsieur"), None);
    }
}
