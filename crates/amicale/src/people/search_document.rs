//! The searchable text of a person: free words for the quick search, plus
//! field-tagged words for the advanced criteria, both folded (lower case, no
//! accents) by the same function on every backend.
//!
//! A tagged word is the field's code, a `0`, then a folded word: the company
//! "Société Générale" adds `co0societe co0generale`. The full-text index of
//! either backend then answers "company starts with société" as a prefix
//! query on `co0societe`, accent- and case-insensitively, with no join.
//! The `0` keeps tags apart from natural words, which never hold a letter
//! pair followed by a digit followed by a letter at their start.

use amicale_people::fold;

/// An advanced-search field and its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    LastName,
    FirstName,
    Establishment,
    Promo,
    Discipline,
    Skill,
    Company,
    Sector,
    Partner,
    Country,
    Nationality,
    City,
    Interest,
    Sport,
    Language,
    Programme,
}

impl Field {
    pub fn tag(self) -> &'static str {
        match self {
            Field::LastName => "ln",
            Field::FirstName => "fn",
            Field::Establishment => "es",
            Field::Promo => "pr",
            Field::Discipline => "di",
            Field::Skill => "sk",
            Field::Company => "co",
            Field::Sector => "se",
            Field::Partner => "pa",
            Field::Country => "cy",
            Field::Nationality => "na",
            Field::City => "ci",
            Field::Interest => "in",
            Field::Sport => "sp",
            Field::Language => "la",
            Field::Programme => "pg",
        }
    }
}

/// What a person's searchable text is made of.
#[derive(Debug, Default, Clone)]
pub struct Doc<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub emails: Vec<&'a str>,
    pub city: &'a str,
    pub country: &'a str,
    pub nationality: &'a str,
    pub job_title: &'a str,
    pub site: &'a str,
    pub external_ref: &'a str,
    pub promo_years: Vec<i32>,
    pub programmes: Vec<&'a str>,
    pub establishments: Vec<&'a str>,
    pub disciplines: Vec<&'a str>,
    pub companies: Vec<&'a str>,
    pub sectors: Vec<&'a str>,
    pub partner_ids: Vec<i64>,
    pub skills: Vec<&'a str>,
    pub interests: Vec<&'a str>,
    pub sports: Vec<&'a str>,
    pub languages: Vec<&'a str>,
}

struct Builder {
    out: String,
}

impl Builder {
    fn free(&mut self, s: &str) {
        let f = fold(s);
        if !f.is_empty() {
            self.out.push_str(&f);
            self.out.push(' ');
        }
    }

    fn tagged(&mut self, field: Field, s: &str) {
        self.free(s);
        for w in fold(s).split(' ').filter(|w| !w.is_empty()) {
            self.out.push_str(field.tag());
            self.out.push('0');
            self.out.push_str(w);
            self.out.push(' ');
        }
    }
}

impl Doc<'_> {
    pub fn search_text(&self) -> String {
        let mut b = Builder {
            out: String::with_capacity(256),
        };
        b.tagged(Field::FirstName, self.first_name);
        b.tagged(Field::LastName, self.last_name);
        for e in &self.emails {
            b.free(e);
        }
        b.tagged(Field::City, self.city);
        b.tagged(Field::Country, self.country);
        b.tagged(Field::Nationality, self.nationality);
        b.free(self.job_title);
        b.free(self.site);
        b.free(self.external_ref);
        for y in &self.promo_years {
            b.tagged(Field::Promo, &y.to_string());
        }
        let lists: [(Field, &Vec<&str>); 9] = [
            (Field::Programme, &self.programmes),
            (Field::Establishment, &self.establishments),
            (Field::Discipline, &self.disciplines),
            (Field::Company, &self.companies),
            (Field::Sector, &self.sectors),
            (Field::Skill, &self.skills),
            (Field::Interest, &self.interests),
            (Field::Sport, &self.sports),
            (Field::Language, &self.languages),
        ];
        for (field, values) in lists {
            for v in values {
                b.tagged(field, v);
            }
        }
        for id in &self.partner_ids {
            b.out.push_str(Field::Partner.tag());
            b.out.push('0');
            b.out.push_str(&id.to_string());
            b.out.push(' ');
        }
        b.out.truncate(b.out.trim_end().len());
        b.out
    }
}

/// The key persons are sorted by: last name then first name, folded, so
/// "Élodie" sorts with the E's.
pub fn sort_key(first: &str, last: &str) -> String {
    format!("{} {}", fold(last), fold(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_words_are_folded() {
        let d = Doc {
            first_name: "Hélène",
            last_name: "Dupré",
            companies: vec!["Société Générale"],
            partner_ids: vec![7],
            promo_years: vec![2010],
            ..Default::default()
        };
        let t = d.search_text();
        for w in [
            "helene",
            "fn0helene",
            "ln0dupre",
            "co0societe",
            "co0generale",
            "pa07",
            "pr02010",
        ] {
            assert!(t.split(' ').any(|x| x == w), "{w} missing in {t}");
        }
        assert!(!t.ends_with(' '));
    }

    #[test]
    fn sort_key_ignores_accents() {
        assert!(sort_key("Zoé", "Élodie") < sort_key("A", "Fabre"));
    }
}
