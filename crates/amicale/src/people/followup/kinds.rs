//! What staff record about a person they accompany: each kind of
//! follow-up row is described once (its table and typed fields), and the
//! form, the list and the campaign filters are driven by that
//! description. Coded values come from fixed lists so that a filter on
//! "job seeker" finds every job seeker, whatever the spelling of the day.

/// How a field is entered and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Date,
    Text,
    /// A yes/no box.
    Flag,
    /// One code of a fixed list; labels are `fu-{field}-{code}`.
    Choice(&'static [&'static str]),
    /// A programme ("ODS") of the network.
    Programme,
    /// A staff user.
    Staff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub input: Input,
    pub required: bool,
}

/// A kind of follow-up row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// In URLs and locale keys: `fu-{slug}-title`.
    pub slug: &'static str,
    pub table: &'static str,
    /// Newest first by this column, then by id.
    pub order: &'static str,
    pub fields: &'static [Field],
}

impl Kind {
    pub fn by_slug(slug: &str) -> Option<&'static Kind> {
        KINDS.iter().copied().find(|k| k.slug == slug)
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// INSEE's employment statuses as JUNGO2's "statut dans l'emploi" uses them.
pub const EMPLOYMENT_STATUS: &[&str] = &[
    "employed",
    "fixed_term",
    "self_employed",
    "job_seeker",
    "long_term_job_seeker",
    "student",
    "inactive",
    "retired",
];

/// The socio-professional categories (PCS, first level).
pub const SOCIO_CATEGORY: &[&str] = &[
    "farmer",
    "craft_trade_business",
    "executive",
    "intermediate",
    "employee",
    "worker",
    "retired",
    "no_activity",
];

/// The French qualification levels (3 = CAP … 8 = doctorate).
pub const EDUCATION_LEVEL: &[&str] = &[
    "none", "level3", "level4", "level5", "level6", "level7", "level8",
];

pub const PROJECT_STATE: &[&str] = &[
    "idea",
    "study",
    "financing",
    "launched",
    "on_hold",
    "abandoned",
];

pub const PRESCRIPTION_CHANNEL: &[&str] = &[
    "employment_agency",
    "mission_locale",
    "cap_emploi",
    "department",
    "chamber",
    "bank",
    "network",
    "word_of_mouth",
    "website",
    "other",
];

const fn f(name: &'static str, input: Input, required: bool) -> Field {
    Field {
        name,
        input,
        required,
    }
}

pub const SITUATION: Kind = Kind {
    slug: "situations",
    table: "person_situations",
    order: "situation_date",
    fields: &[
        f("situation_date", Input::Date, true),
        f("employment_status", Input::Choice(EMPLOYMENT_STATUS), false),
        f("socio_category", Input::Choice(SOCIO_CATEGORY), false),
        f("education_level", Input::Choice(EDUCATION_LEVEL), false),
        f("disability", Input::Flag, false),
        f("minimum_income", Input::Flag, false),
        f("priority_area", Input::Flag, false),
    ],
};

pub const PROJECT: Kind = Kind {
    slug: "projects",
    table: "person_projects",
    order: "created_at",
    fields: &[
        f("title", Input::Text, true),
        f("state", Input::Choice(PROJECT_STATE), true),
        f("sector", Input::Text, false),
        f("start_date", Input::Date, false),
    ],
};

pub const ENROLMENT: Kind = Kind {
    slug: "enrolments",
    table: "person_enrolments",
    order: "start_date",
    fields: &[
        f("programme_id", Input::Programme, true),
        f("step", Input::Text, false),
        f("resource", Input::Text, false),
        f("start_date", Input::Date, false),
        f("end_date", Input::Date, false),
        f(
            "prescription_channel",
            Input::Choice(PRESCRIPTION_CHANNEL),
            false,
        ),
    ],
};

pub const TASK: Kind = Kind {
    slug: "tasks",
    table: "person_tasks",
    order: "due_date",
    fields: &[
        f("title", Input::Text, true),
        f("due_date", Input::Date, false),
        f("assignee_user_id", Input::Staff, false),
        f("done", Input::Flag, false),
    ],
};

pub const KINDS: [&Kind; 4] = [&SITUATION, &PROJECT, &ENROLMENT, &TASK];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_fields_are_unique() {
        let mut slugs: Vec<_> = KINDS.iter().map(|k| k.slug).collect();
        slugs.dedup();
        assert_eq!(slugs.len(), KINDS.len());
        for k in KINDS {
            let mut names: Vec<_> = k.fields.iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), k.fields.len(), "{}", k.slug);
            assert!(k.fields.iter().any(|f| f.required), "{}", k.slug);
        }
        assert_eq!(Kind::by_slug("projects"), Some(&PROJECT));
        assert_eq!(Kind::by_slug("persons"), None);
    }
}
